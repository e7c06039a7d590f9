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
}

const NMAP = 'nmap smtp-open-relay.nse test';

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
];
