/**
 * The relay vectors: one row per way a spammer tries to get a message through.
 *
 * Templates are what follows `MAIL FROM:` and `RCPT TO:` on the wire. The last
 * RCPT of a row is the relay destination; any before it are local recipients
 * that must be accepted first (the "external after local" family).
 *
 * Placeholders:
 *   {user} {domain}  the external recipient (input `recipient`), e.g. relay-check / example.com
 *   {probe}          local part of probe senders ("relay-check")
 *   {literal}        the server's address literal: [192.0.2.1] or [IPv6:2001:db8::1]
 *   {srv}            the host name the server gave in its greeting (or EHLO reply)
 *   {mydomain}       the mail domain the server serves: input `domain`, else derived from {srv}
 *   {domainUpper}    {domain} in upper case
 *   {literal6}       an IPv6 address literal for the server: its own, or the IPv4-mapped form
 *   {untagged6}      the server's IPv6 address in brackets without the `IPv6:` tag (IPv6 targets only)
 *   {helo}           relay-check's own HELO name
 */
export interface Vector {
  /** Stable kebab-case id: reports, annotations and users refer to it. */
  id: string;
  description: string;
  /** Where the form comes from. */
  provenance: string;
  /** HELO/EHLO name template; `{helo}` when absent. */
  helo?: string;
  mailFrom: string;
  rcptTo: string[];
  /** The last RCPT is the server's own mailbox: acceptance is local delivery, not a relay. */
  local?: boolean;
}

const NMAP = 'nmap smtp-open-relay.nse test';
const MSF = 'Metasploit smtp_relay EXTENDED test';
const MAILRADAR = 'mailradar.com open relay test';
const MAIL_ABUSE = 'mail-abuse.org relay test';
// Jim Seymour's Postfix anti-UCE cheat sheet, recipient_checks.pcre (mirrored on the Mandriva wiki):
// `/^postmaster\@/ OK`, `/^hostmaster\@/ OK`, `/^abuse\@/ OK`, with its own warning that the map
// makes an open relay when placed before reject_unauth_destination.
const ROLE_RECIPE = 'anti-UCE cheat sheet recipient_checks.pcre role-account OK (open relay before reject_unauth_destination)';

export const VECTORS: readonly Vector[] = [
  { id: 'null-sender', description: 'Null sender (bounce) to an external recipient', provenance: `${NMAP} 1`, mailFrom: '<>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'external-sender', description: 'External sender to an external recipient', provenance: `${NMAP} 2`, mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'server-name-sender', description: "Sender at the server's own host name", provenance: `${NMAP} 3`, mailFrom: '<{probe}@{srv}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'literal-sender', description: "Sender at the server's address literal", provenance: `${NMAP} 4`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'percent-hack-literal', description: 'Percent hack routed through the address literal', provenance: `${NMAP} 5; RFC 1123 §5.2.16`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{user}%{domain}@{literal}>'] },
  { id: 'percent-hack-server-name', description: "Percent hack routed through the server's name", provenance: `${NMAP} 6; RFC 1123 §5.2.16`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{user}%{domain}@{srv}>'] },
  { id: 'quoted-address', description: 'Whole external address quoted as a local part', provenance: `${NMAP} 7; RFC 5321 §4.1.2`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<"{user}@{domain}">'] },
  { id: 'quoted-percent', description: 'Quoted percent-hack local part', provenance: `${NMAP} 8`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<"{user}%{domain}">'] },
  { id: 'double-at-literal', description: 'External address followed by @ the address literal', provenance: `${NMAP} 9`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{user}@{domain}@{literal}>'] },
  { id: 'quoted-at-literal', description: 'Quoted external address at the address literal', provenance: `${NMAP} 10; RFC 5321 §4.1.2`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<"{user}@{domain}"@{literal}>'] },
  { id: 'double-at-server-name', description: "External address followed by @ the server's name", provenance: `${NMAP} 11`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{user}@{domain}@{srv}>'] },
  { id: 'source-route-literal', description: 'Source route through the address literal', provenance: `${NMAP} 12; RFC 5321 §4.1.2, RFC 2505 §2.1`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<@{literal}:{user}@{domain}>'] },
  { id: 'source-route-server-name', description: "Source route through the server's name", provenance: `${NMAP} 13; RFC 5321 §4.1.2`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<@{srv}:{user}@{domain}>'] },
  { id: 'bang-path', description: 'UUCP bang path', provenance: `${NMAP} 14; RFC 1123 §5.2.16`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{domain}!{user}>'] },
  { id: 'bang-path-literal', description: 'Bang path at the address literal', provenance: `${NMAP} 15`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{domain}!{user}@{literal}>'] },
  { id: 'bang-path-server-name', description: "Bang path at the server's name", provenance: `${NMAP} 16`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{domain}!{user}@{srv}>'] },

  // Metasploit's EXTENDED list repeats nmap's forms but for test 4, which aims at the literal itself.
  { id: 'literal-recipient', description: "Recipient at the server's address literal (local delivery; a 2xx is not a relay by itself)", provenance: `${MSF} 4`, mailFrom: '<{probe}@{literal}>', rcptTo: ['<{user}@{literal}>'], local: true },

  // Senders a server may trust: its own domain, host name, localhost, a bare user.
  { id: 'own-domain-sender', description: "Sender in the server's own mail domain", provenance: 'SPEC §4 own-domain senders; mail-abuse.org', mailFrom: '<{probe}@{mydomain}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'own-domain-postmaster-sender', description: 'Sender postmaster@ the mail domain', provenance: 'SPEC §4 own-domain senders', mailFrom: '<postmaster@{mydomain}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'localhost-sender', description: 'Sender at localhost', provenance: `${MAIL_ABUSE} (spamtest@localhost)`, mailFrom: '<{probe}@localhost>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'bare-user-sender', description: 'Sender with no domain', provenance: `${MAIL_ABUSE} (spamtest)`, mailFrom: '<{probe}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'recipient-as-sender', description: 'The external recipient as its own sender', provenance: `${MAIL_ABUSE} (nobody@D to nobody@D)`, mailFrom: '<{user}@{domain}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'server-name-sender-quoted-recipient', description: "Server-name sender to a quoted external address", provenance: `${MAIL_ABUSE} (spamtest@HOST to "nobody@D")`, mailFrom: '<{probe}@{srv}>', rcptTo: ['<"{user}@{domain}">'] },
  { id: 'null-sender-upper-case-domain', description: 'Null sender to an upper-case external domain', provenance: 'SPEC §4 upper-case domains', mailFrom: '<>', rcptTo: ['<{user}@{domainUpper}>'] },

  // HELO names a server may trust.
  { id: 'helo-localhost', description: 'HELO localhost', provenance: 'SPEC §4 HELO family; Postfix check_helo_access misconfigurations', helo: 'localhost', mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'helo-localhost-localhost-sender', description: 'HELO localhost with a localhost sender', provenance: 'SPEC §4 HELO family', helo: 'localhost', mailFrom: '<{probe}@localhost>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'helo-server-name', description: "HELO with the server's own name", provenance: 'SPEC §4 HELO family', helo: '{srv}', mailFrom: '<{probe}@{srv}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'helo-localhost-localdomain', description: 'HELO localhost.localdomain', provenance: 'Postfix SMTPD_ACCESS_README, "dangerous use" of check_helo_access (localhost.localdomain PERMIT before reject_unauth_destination)', helo: 'localhost.localdomain', mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'helo-literal', description: "HELO with the server's address literal", provenance: 'SPEC §4 HELO family', helo: '{literal}', mailFrom: '<{probe}@{literal}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'helo-own-domain', description: 'HELO with the mail domain and a postmaster sender', provenance: 'SPEC §4 HELO family', helo: '{mydomain}', mailFrom: '<postmaster@{mydomain}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'helo-loopback-literal', description: 'HELO [127.0.0.1] with the null sender', provenance: 'SPEC §4 HELO family', helo: '[127.0.0.1]', mailFrom: '<>', rcptTo: ['<{user}@{domain}>'] },

  // Path syntax that lax parsers get wrong.
  { id: 'unbracketed-recipient', description: 'Recipient without angle brackets', provenance: `${MAILRADAR} (RCPT TO: U@D)`, mailFrom: '<{probe}@{domain}>', rcptTo: [' {user}@{domain}'] },
  { id: 'unbracketed-paths', description: 'Sender and recipient without angle brackets or spaces', provenance: 'SPEC §4 unbracketed paths', mailFrom: '{probe}@{domain}', rcptTo: ['{user}@{domain}'] },
  { id: 'spaced-paths', description: 'A space after the colon of MAIL FROM and RCPT TO', provenance: 'SPEC §4 oddly spaced paths (RFC 5321 §4.1.1 forbids it)', mailFrom: ' <{probe}@{domain}>', rcptTo: [' <{user}@{domain}>'] },
  { id: 'spaces-inside-brackets', description: 'Spaces inside the angle brackets', provenance: 'SPEC §4 oddly spaced paths', mailFrom: '<{probe}@{domain}>', rcptTo: ['< {user}@{domain} >'] },
  { id: 'trailing-at', description: 'External address followed by a bare @', provenance: `${MAILRADAR} (<U@D@>); OpenSMTPD issue 754`, mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}@{domain}@>'] },
  { id: 'percent-trailing-at', description: 'Percent hack followed by a bare @', provenance: `${MAILRADAR} (<U%[IP]@>) adapted to the external domain`, mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}%{domain}@>'] },
  { id: 'upper-case-domain', description: 'External domain in upper case', provenance: 'SPEC §4 upper-case domains', mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}@{domainUpper}>'] },
  { id: 'trailing-dot-domain', description: 'External domain with a trailing dot', provenance: 'SPEC §4 trailing-dot domains', mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}@{domain}.>'] },
  { id: 'quoted-local-part-own-domain', description: 'Quoted external address at the mail domain', provenance: 'SPEC §4 quoted local parts; RFC 5321 §4.1.2', mailFrom: '<{probe}@{domain}>', rcptTo: ['<"{user}@{domain}"@{mydomain}>'] },
  { id: 'quoted-percent-own-domain', description: 'Quoted percent-hack local part at the mail domain', provenance: 'SPEC §4 quoted local parts', mailFrom: '<{probe}@{domain}>', rcptTo: ['<"{user}%{domain}"@{mydomain}>'] },

  // Routing tricks against the server's own domain (RFC 2505 §2.1 says relay checks must cover them).
  { id: 'percent-hack-own-domain', description: 'Percent hack routed through the mail domain', provenance: 'RFC 1123 §5.2.16; RFC 2505 §2.1', mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}%{domain}@{mydomain}>'] },
  { id: 'double-percent-hack', description: 'Two percent hops ending at the server', provenance: 'RFC 1123 §5.2.16', mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}%{domain}%{srv}@{literal}>'] },
  { id: 'bang-path-own-domain', description: 'Bang path at the mail domain', provenance: 'RFC 1123 §5.2.16; RFC 2505 §2.1', mailFrom: '<{probe}@{domain}>', rcptTo: ['<{domain}!{user}@{mydomain}>'] },
  { id: 'source-route-own-domain', description: 'Source route through the mail domain', provenance: 'RFC 5321 §4.1.2; RFC 2505 §2.1', mailFrom: '<{probe}@{domain}>', rcptTo: ['<@{mydomain}:{user}@{domain}>'] },
  { id: 'source-route-two-hops', description: 'Source route with two hops', provenance: 'RFC 5321 §4.1.2 (@a,@b:u@c); RFC 2505 §2.1', mailFrom: '<{probe}@{domain}>', rcptTo: ['<@{srv},@{mydomain}:{user}@{domain}>'] },
  { id: 'percent-hack-null-sender', description: 'Percent hack at the server name from the null sender', provenance: 'RFC 1123 §5.2.16', mailFrom: '<>', rcptTo: ['<{user}%{domain}@{srv}>'] },

  // IPv6 literals (RFC 5321 §4.1.3).
  { id: 'percent-hack-ipv6-literal', description: 'Percent hack through an IPv6 address literal of the server', provenance: 'RFC 5321 §4.1.3; SPEC §4 IPv6 literals', mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}%{domain}@{literal6}>'] },
  { id: 'ipv6-literal-sender', description: 'Sender at an IPv6 address literal of the server', provenance: 'RFC 5321 §4.1.3', mailFrom: '<{probe}@{literal6}>', rcptTo: ['<{user}@{domain}>'] },
  { id: 'source-route-ipv6-literal', description: 'Source route through an IPv6 address literal', provenance: 'RFC 5321 §4.1.2, §4.1.3', mailFrom: '<{probe}@{domain}>', rcptTo: ['<@{literal6}:{user}@{domain}>'] },
  { id: 'untagged-ipv6-literal', description: 'Percent hack through an IPv6 literal without the IPv6: tag, as nmap writes it', provenance: `${NMAP} 5 on IPv6 targets`, mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}%{domain}@{untagged6}>'] },

  // RFC 2142 role mailboxes of the external domain. A documented recipe lets complaints
  // through with check_recipient_access entries for postmaster@, hostmaster@, abuse@ that
  // match those mailboxes of every domain; before reject_unauth_destination they relay.
  { id: 'role-postmaster-external', description: 'External postmaster@ (RFC 2142 role mailbox) of the recipient domain', provenance: `RFC 2142 §2, RFC 5321 §4.5.1; ${ROLE_RECIPE}`, mailFrom: '<{probe}@{domain}>', rcptTo: ['<postmaster@{domain}>'] },
  { id: 'role-abuse-external', description: 'External abuse@ (RFC 2142 role mailbox) of the recipient domain', provenance: `RFC 2142 §2; ${ROLE_RECIPE}`, mailFrom: '<{probe}@{domain}>', rcptTo: ['<abuse@{domain}>'] },
  { id: 'role-hostmaster-external', description: 'External hostmaster@ (RFC 2142 role mailbox) of the recipient domain', provenance: `RFC 2142 §5; ${ROLE_RECIPE}`, mailFrom: '<{probe}@{domain}>', rcptTo: ['<hostmaster@{domain}>'] },
  { id: 'role-postmaster-null-sender', description: 'Null sender to the external postmaster@ (a bounce to a role mailbox)', provenance: `RFC 2142 §2; RFC 5321 §4.5.5; ${ROLE_RECIPE}`, mailFrom: '<>', rcptTo: ['<postmaster@{domain}>'] },

  // An external recipient after an accepted local one: some servers decide once per transaction.
  { id: 'external-after-postmaster', description: 'External recipient after postmaster@ the mail domain', provenance: 'SPEC §4 external after local', mailFrom: '<{probe}@{domain}>', rcptTo: ['<postmaster@{mydomain}>', '<{user}@{domain}>'] },
  { id: 'external-after-postmaster-null-sender', description: 'Null sender: external recipient after postmaster@ the mail domain', provenance: 'SPEC §4 external after local', mailFrom: '<>', rcptTo: ['<postmaster@{mydomain}>', '<{user}@{domain}>'] },
  { id: 'external-after-postmaster-server-name', description: "External recipient after postmaster@ the server's name", provenance: 'SPEC §4 external after local', mailFrom: '<{probe}@{domain}>', rcptTo: ['<postmaster@{srv}>', '<{user}@{domain}>'] },
  { id: 'external-after-postmaster-bare', description: 'External recipient after a bare postmaster (RFC 5321 §4.5.1)', provenance: 'RFC 5321 §4.5.1; SPEC §4 external after local', mailFrom: '<{probe}@{domain}>', rcptTo: ['<postmaster>', '<{user}@{domain}>'] },
];

/** Vectors made from the user's inputs `sender` and `helo`, after the catalogue. */
export function inputVectors(opts: { senders: readonly string[]; helos: readonly string[] }): Vector[] {
  return [
    ...opts.senders.map((s, i) => ({
      id: `input-sender-${i + 1}`,
      description: `Sender from the \`sender\` input: ${s}`,
      provenance: 'input `sender`',
      mailFrom: `<${s}>`,
      rcptTo: ['<{user}@{domain}>'],
    })),
    ...opts.helos.map((h, i) => ({
      id: `input-helo-${i + 1}`,
      description: `HELO from the \`helo\` input: ${h}`,
      provenance: 'input `helo`',
      helo: h,
      mailFrom: '<{probe}@{domain}>',
      rcptTo: ['<{user}@{domain}>'],
    })),
  ];
}
