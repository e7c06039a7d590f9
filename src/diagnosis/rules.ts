import type { Trait } from './traits.js';
import type { Where } from '../model/diagnosis.js';
export type { Where } from '../model/diagnosis.js';

/**
 * The diagnosis table: one row per known cause of a relay pattern. A row
 * matches the *pattern* of a run (what relayed and what was refused, where,
 * from which vantage) and the MTA that answered, and gives the likely cause,
 * the settings involved (gate mode looks them up in the configuration), the
 * fix and the MTA's documentation. Rows are data: each has its provenance and
 * a test against a real MTA configured that way (__tests__/diagnosis*.test.ts).
 *
 * Text is Markdown-safe plain text written here, with `backticks` for code; no
 * server text ever goes into a row.
 */

interface DiagnosisMatch {
  /**
   * `everything`: a plain attempt (outside sender, own HELO, outside recipient) relayed.
   * A trait list: nothing plain relayed, and every vector that relayed has one of these traits.
   * Absent: any pattern.
   */
  relayed?: 'everything' | readonly Trait[];
  where?: Where;
  /**
   * trusted: judged as a loopback/private/CGNAT client, which servers trust by design; outside: any other (incl. XCLIENT's outsider);
   * proxied: judged as such a client although we connected to a public address from elsewhere (src/diagnosis/vantage.ts proxiedView).
   */
  vantage?: 'trusted' | 'outside' | 'proxied';
}

export interface DiagnosisRule {
  id: string;
  /** The MTA (as src/mta/evidence.ts names it) whose settings the row names; null: any MTA, used when no row of the MTA fits. */
  mta: string | null;
  match: DiagnosisMatch;
  cause: string;
  /** Settings involved: main.cf parameters, master.cf `-o` names, restriction names; gate mode finds their lines. */
  settings: readonly string[];
  fix: string;
  docs: string;
  provenance: string;
}

const PF_ACCESS = 'https://www.postfix.org/SMTPD_ACCESS_README.html';
const PF_RELAY = 'https://www.postfix.org/postconf.5.html#smtpd_relay_restrictions';
const EXIM_ACL = 'https://www.exim.org/exim-html-current/doc/html/spec_html/ch-access_control_lists.html';
const SENDMAIL_ANTISPAM = 'https://www.sendmail.org/~ca/email/doc8.12/cf/m4/anti_spam.html';
const SMTPD_CONF = 'https://man.openbsd.org/smtpd.conf.5';
const RESTRICTIONS = ['smtpd_relay_restrictions', 'smtpd_recipient_restrictions'];

export const DIAGNOSIS_RULES: readonly DiagnosisRule[] = [
  // ---- Postfix
  {
    id: 'postfix-service-override',
    mta: 'Postfix',
    match: { where: 'some-services' },
    cause: 'Only some services of this Postfix relay: the master.cf entry of the service overrides the restrictions (`-o smtpd_relay_restrictions=…` or `-o smtpd_recipient_restrictions=…`) without ending in `reject` for unauthenticated clients, or the service trusts more clients (`-o mynetworks=…`).',
    settings: [...RESTRICTIONS, 'mynetworks', 'smtpd_client_restrictions'],
    // Issue 21: the AUTH-only override is right for submission and wrong for the MX, which it would make refuse its own mail.
    fix: 'On a submission service (587, 465): relay only for authenticated clients, `-o smtpd_relay_restrictions=permit_sasl_authenticated,reject` (and `-o smtpd_client_restrictions=permit_sasl_authenticated,reject`) on its master.cf line. On the MX service (port 25) never that: it must keep accepting mail for its own domains from anyone; end its relay restrictions in `reject_unauth_destination` and narrow `mynetworks` (or its `-o mynetworks=`) to the hosts that may relay.',
    docs: 'https://www.postfix.org/master.5.html',
    provenance: 'Postfix master.cf as shipped (submission: -o smtpd_relay_restrictions=permit_sasl_authenticated,reject); master(5) "-o name=value"',
  },
  {
    id: 'postfix-ipv6-mynetworks',
    mta: 'Postfix',
    match: { where: 'ipv6-only' },
    cause: 'Only IPv6 clients may relay: `mynetworks` has an IPv6 entry wider than meant (`[::]/0` matches every IPv6 client, `[::ffff:0.0.0.0]/96` every IPv4-mapped one).',
    settings: ['mynetworks', 'mynetworks_style', ...RESTRICTIONS],
    fix: 'List only the IPv6 networks you trust in `mynetworks` (e.g. `[::1]/128`), never `[::]/0`.',
    docs: 'https://www.postfix.org/postconf.5.html#mynetworks',
    provenance: 'Postfix postconf(5) mynetworks (IPv6 entries in [brackets]); IPV6_README "mynetworks"',
  },
  {
    id: 'postfix-trusted-network',
    mta: 'Postfix',
    match: { relayed: 'everything', vantage: 'trusted' },
    cause: 'Postfix relays for the network this check ran from: the client is in `mynetworks` (by default the server\'s own subnets: `mynetworks_style = host` on Debian, `subnet` upstream before 3.0), and `permit_mynetworks` comes before `reject_unauth_destination`.',
    settings: ['mynetworks', 'mynetworks_style', ...RESTRICTIONS],
    fix: 'When that network is yours this is by design (test as an outsider, above). When it is not, list only the hosts that may relay in `mynetworks`, e.g. `127.0.0.0/8 [::1]/128`.',
    docs: 'https://www.postfix.org/postconf.5.html#mynetworks',
    provenance: 'Postfix postconf(5) mynetworks, mynetworks_style; SMTPD_ACCESS_README "relay" restrictions',
  },
  {
    id: 'postfix-no-relay-check',
    mta: 'Postfix',
    match: { relayed: 'everything', vantage: 'outside' },
    cause: 'Postfix relays for an outside client: `smtpd_relay_restrictions` (and `smtpd_recipient_restrictions`) has no `reject_unauth_destination` or `defer_unauth_destination`, or a `permit` (or `permit_mynetworks` with a `mynetworks` that covers everyone, such as `0.0.0.0/0`) comes before it.',
    settings: [...RESTRICTIONS, 'mynetworks'],
    fix: '`smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination`, with `mynetworks` limited to hosts you trust.',
    docs: PF_RELAY,
    provenance: 'Postfix postconf(5) smtpd_relay_restrictions (default permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination); SMTPD_ACCESS_README',
  },
  {
    id: 'postfix-sender-access',
    mta: 'Postfix',
    match: { relayed: ['own-sender'] },
    cause: 'Postfix relays for senders in its own domain: a `check_sender_access` entry returning `OK` for the domain (Postfix also matches its subdomains and host names, and completes a bare sender with `myorigin`) before `reject_unauth_destination`. Anyone can write that sender.',
    settings: [...RESTRICTIONS, 'check_sender_access', 'smtpd_sender_restrictions'],
    fix: 'Remove the `OK` for your own domain, or move `check_sender_access` after `reject_unauth_destination`; let your own users relay with `permit_sasl_authenticated`.',
    docs: PF_ACCESS,
    provenance: 'Postfix SMTPD_ACCESS_README "Dangerous use of smtpd_recipient_restrictions" (sender whitelists before reject_unauth_destination); access(5) parent-domain matching',
  },
  {
    id: 'postfix-null-sender',
    mta: 'Postfix',
    match: { relayed: ['null-sender'] },
    cause: 'Postfix relays bounces: a `check_sender_access` entry for the null sender `<>` (the key `smtpd_null_access_lookup_key`) returns `OK` before `reject_unauth_destination`.',
    settings: [...RESTRICTIONS, 'check_sender_access', 'smtpd_null_access_lookup_key'],
    fix: 'Remove the `<> OK` entry; bounces need no relay permission, only delivery to your own domains.',
    docs: 'https://www.postfix.org/access.5.html',
    provenance: 'Postfix access(5) "the null sender address is looked up as <>" (smtpd_null_access_lookup_key)',
  },
  {
    id: 'postfix-helo-access',
    mta: 'Postfix',
    match: { relayed: ['helo'] },
    cause: 'Postfix relays for clients that say a given HELO name (localhost, its own name): a `check_helo_access` entry returning `OK` (or `permit`) before `reject_unauth_destination`. The client chooses its HELO name.',
    settings: [...RESTRICTIONS, 'check_helo_access', 'smtpd_helo_restrictions'],
    fix: 'Never return `OK` for a HELO name before `reject_unauth_destination`; reject forged names (`REJECT` for your own names) instead.',
    docs: PF_ACCESS,
    provenance: 'Postfix SMTPD_ACCESS_README "Dangerous use of smtpd_recipient_restrictions" (check_helo_access localhost.localdomain PERMIT)',
  },
  // No Postfix row for "only routing forms relay": smtpd looks up the *resolved* recipient
  // (user%elsewhere@mydomain becomes user@elsewhere before check_recipient_access and
  // reject_unauth_destination judge it), so a recipient-domain OK does not open it
  // (measured: __tests__/diagnosis-postfix.test.ts). Such a run falls to any-routing-forms.
  {
    id: 'postfix-role-accounts',
    mta: 'Postfix',
    match: { relayed: ['role'] },
    cause: "Postfix relays to other domains' role mailboxes: a `check_recipient_access` entry such as `/^postmaster@/ OK` (a widely copied anti-spam recipe) matches postmaster@ of every domain, before `reject_unauth_destination`.",
    settings: [...RESTRICTIONS, 'check_recipient_access'],
    fix: 'Anchor role-account entries to your own domains (`postmaster@example.org OK`), or move them after `reject_unauth_destination`.',
    docs: PF_ACCESS,
    provenance: 'Jim Seymour, Postfix anti-UCE cheat sheet, recipient_checks.pcre (its own warning: before reject_unauth_destination it opens the relay)',
  },

  // ---- Postfix, identity tricks (src/battery/tricks.ts): the client claimed to be someone trusted.
  {
    id: 'postfix-xclient-hosts',
    mta: 'Postfix',
    match: { relayed: ['xclient'] },
    cause: 'Anyone can claim to be trusted: Postfix offers XCLIENT to this client (`smtpd_authorized_xclient_hosts` covers it), so it claimed to be 127.0.0.1 and was let through as that address (in `mynetworks`). XCLIENT is meant for a content filter or proxy on the same host, never for the Internet.',
    settings: ['smtpd_authorized_xclient_hosts', 'mynetworks'],
    fix: '`smtpd_authorized_xclient_hosts` lists only the proxies that need it (e.g. `127.0.0.1`, or empty); never a network outsiders come from, never `0.0.0.0/0` or `static:all`.',
    docs: 'https://www.postfix.org/XCLIENT_README.html',
    provenance: 'Postfix XCLIENT_README ("by default, no clients are allowed to specify XCLIENT"); postconf(5) smtpd_authorized_xclient_hosts; measured on Postfix 3.7 (__tests__/identity-tricks.test.ts)',
  },
  {
    id: 'postfix-upstream-proxy',
    mta: 'Postfix',
    match: { relayed: ['proxy'] },
    cause: 'Anyone who reaches this port can claim to be trusted: it reads a PROXY protocol header from every client (`smtpd_upstream_proxy_protocol = haproxy`, or `postscreen_upstream_proxy_protocol` in front of it) and judges the address the header names; a header claiming 127.0.0.1 made the client part of `mynetworks`.',
    settings: ['smtpd_upstream_proxy_protocol', 'postscreen_upstream_proxy_protocol', 'mynetworks'],
    fix: 'Let only the proxy reach a PROXY-protocol port (firewall it to the proxy\'s address), and keep the proxy\'s own addresses out of `mynetworks` on that service (`-o mynetworks=` in master.cf).',
    docs: 'https://www.postfix.org/postconf.5.html#smtpd_upstream_proxy_protocol',
    provenance: 'Postfix postconf(5) smtpd_upstream_proxy_protocol; HAProxy proxy-protocol.txt §1 ("the receiver must be configured to only receive this protocol from trusted sources"); measured on Postfix 3.7',
  },
  {
    id: 'postfix-sasl-empty-credentials',
    mta: 'Postfix',
    match: { relayed: ['auth'] },
    cause: 'Any client can authenticate: the SASL backend behind Postfix (Cyrus `pwcheck_method`, a Dovecot `passdb`) accepted a made-up user with an empty password, and `permit_sasl_authenticated` then lets it relay. (An ANONYMOUS login alone never relays in Postfix: `permit_sasl_authenticated` ignores that mechanism.)',
    settings: ['smtpd_sasl_type', 'smtpd_sasl_path', 'smtpd_sasl_security_options', ...RESTRICTIONS],
    fix: 'Make the backend refuse empty passwords and unknown users (Dovecot: no `nopassword` passdb; Cyrus: a real `pwcheck_method`), and keep `smtpd_sasl_security_options = noanonymous`.',
    docs: 'https://www.postfix.org/SASL_README.html',
    provenance: 'Postfix SASL_README; smtpd_sasl_glue.c permit_sasl_auth (anonymous excluded); Dovecot passdb nopassword; measured on Postfix 3.7 with a backend that accepts anything',
  },
  // ---- Exim
  {
    id: 'exim-tls-encrypted',
    mta: 'Exim',
    match: { where: 'tls-only' },
    cause: 'Exim relays for any client that starts TLS: an `accept encrypted = *` (or a `hosts_require_tls`-style trust in TLS) in the RCPT ACL before the relay check. STARTTLS proves nothing about who the client is.',
    settings: ['acl_smtp_rcpt', 'encrypted'],
    fix: 'Require authentication for relaying (`accept authenticated = *`), not encryption.',
    docs: EXIM_ACL,
    provenance: 'Exim specification, ACL condition "encrypted" (true for any TLS session)',
  },
  {
    id: 'exim-relay-from-hosts',
    mta: 'Exim',
    match: { relayed: 'everything' },
    cause: 'Exim relays for this client: it is in `relay_from_hosts` (the RCPT ACL\'s `accept hosts = +relay_from_hosts`), or the RCPT ACL accepts before `require domains = +local_domains : +relay_to_domains` (or has no such check).',
    settings: ['relay_from_hosts', 'relay_to_domains', 'acl_smtp_rcpt'],
    fix: 'List only the hosts that may relay in `hostlist relay_from_hosts`; keep the default ACL\'s `require message = relay not permitted / domains = +local_domains : +relay_to_domains` before any `accept` for other clients.',
    docs: EXIM_ACL,
    provenance: 'Exim default configuration, acl_check_rcpt (relay_from_hosts, "relay not permitted")',
  },
  {
    id: 'exim-sender-accept',
    mta: 'Exim',
    match: { relayed: ['own-sender'] },
    cause: 'Exim relays for senders in its own domain: an `accept senders = …` (or `sender_domains = …`) in the RCPT ACL before the relay check. Anyone can write that sender.',
    settings: ['acl_smtp_rcpt', 'senders', 'sender_domains'],
    fix: 'Remove the `accept senders` statement or move it after the relay check; let your users relay with `accept authenticated = *`.',
    docs: EXIM_ACL,
    provenance: 'Exim specification, ACL conditions "senders" and "sender_domains" (the envelope sender, as the client gives it)',
  },

  // ---- Sendmail
  {
    id: 'sendmail-promiscuous',
    mta: 'Sendmail',
    match: { relayed: 'everything' },
    cause: 'Sendmail relays for this client: `FEATURE(promiscuous_relay)`, or the client is allowed to relay (an access map `Connect:` or `To:` entry with `RELAY`, class R (`relay-domains`), or, from this host, the local host itself).',
    settings: ['promiscuous_relay', 'access_db', 'relay-domains', 'RELAY_DOMAIN'],
    fix: 'Remove `FEATURE(promiscuous_relay)` and any `Connect:… RELAY` entry for networks you do not control; let users relay through SMTP AUTH.',
    docs: SENDMAIL_ANTISPAM,
    provenance: 'Sendmail cf/README "ANTI-SPAM CONFIGURATION CONTROL" (promiscuous_relay, access_db RELAY, class R)',
  },
  {
    id: 'sendmail-relay-local-from',
    mta: 'Sendmail',
    match: { relayed: ['own-sender'] },
    cause: 'Sendmail relays for senders in its own domain: `FEATURE(relay_local_from)` (or `relay_mail_from` with a `From:` RELAY entry) trusts the MAIL FROM address, which anyone can write.',
    settings: ['relay_local_from', 'relay_mail_from', 'access_db'],
    fix: 'Remove `FEATURE(relay_local_from)` / `relay_mail_from`; let users relay through SMTP AUTH.',
    docs: SENDMAIL_ANTISPAM,
    provenance: 'Sendmail cf/README FEATURE(relay_local_from) ("this can be easily forged")',
  },
  // No row for FEATURE(loose_relay_check): measured, Sendmail accepts user%elsewhere@relaydomain
  // and hands it unchanged to the relay domain's server (src/verdict/routing.ts), so the run is
  // inconclusive there, not open; nothing relayed, nothing to diagnose.
  // ---- OpenSMTPD
  {
    id: 'opensmtpd-match-any',
    mta: 'OpenSMTPD',
    match: { relayed: 'everything' },
    cause: 'OpenSMTPD relays for this client: a `match from any for any action <relay>` rule (or `from src` naming this client, or `from local` when testing from the host itself) reaches a relay action.',
    settings: ['match', 'action'],
    fix: 'Relay rules take `from local` or `from any auth`; `match from any` takes `for domain <yours>` only.',
    docs: SMTPD_CONF,
    provenance: 'OpenSMTPD smtpd.conf(5) "match" rules (from any / from local / auth; for any / for domain)',
  },
  {
    id: 'opensmtpd-mail-from',
    mta: 'OpenSMTPD',
    match: { relayed: ['own-sender'] },
    cause: 'OpenSMTPD relays for senders in its own domain: a `match from any mail-from "@yourdomain" for any action <relay>` rule trusts the MAIL FROM address, which anyone can write.',
    settings: ['match', 'mail-from'],
    fix: 'Add `auth` to that rule (`match from any auth mail-from …`), or drop it.',
    docs: SMTPD_CONF,
    provenance: 'OpenSMTPD smtpd.conf(5) match option "mail-from"',
  },

  // ---- any MTA (when the MTA is unknown or none of its rows fits)
  {
    // Wins over every other row (src/diagnosis/diagnose.ts specificity): the MTA's own trusted-network row would read "by design".
    id: 'any-proxied-client',
    mta: null,
    match: { relayed: 'everything', vantage: 'proxied' },
    cause:
      'The server does not see its clients: something in front of it re-originates every connection (Docker\'s userland proxy, which it falls back to for IPv6 when the containers have none or when its iptables rules are off; a Kubernetes Service with `externalTrafficPolicy: Cluster`; a swarm ingress or load balancer), so every outside client arrives as the address in between, and the server trusts that address (Postfix `mynetworks`, Exim `relay_from_hosts`, Sendmail `Connect:` RELAY, OpenSMTPD `match from src`).',
    settings: ['mynetworks', 'relay_from_hosts', 'userland-proxy', 'externalTrafficPolicy'],
    fix:
      'Let the server see the real client: Docker: `"userland-proxy": false` in `/etc/docker/daemon.json`, and IPv6 in Docker (`"ipv6": true` with a ULA prefix) or the port published on IPv4 only (`0.0.0.0:25:25`); Kubernetes: `externalTrafficPolicy: Local` on the Service (or the PROXY protocol from the load balancer). Then narrow the trusted networks to the hosts that relay (`mynetworks = 127.0.0.0/8 [::1]/128`, not the whole `172.16.0.0/12`).',
    docs: 'https://docs.docker.com/reference/cli/dockerd/',
    provenance:
      'docker-mailserver #128 and #1405 (PERMIT_DOCKER with IPv6 on the host but not in Docker); mailcow-dockerized #758 and #1145 (every client logged as 172.22.1.1, userland proxy); Mailu #3680 (default setup with IPv6 disabled: open relay, userland-proxy must be off); anonaddy/docker #205 (IPv6 clients rewritten to a local address); Mailu helm-charts #210 (the cluster network trusted; clients arrive as its addresses)',
  },
  {
    id: 'any-tls-only',
    mta: null,
    match: { where: 'tls-only' },
    cause: 'It relays only inside TLS: the server trusts encrypted sessions (or client certificates it does not verify) more than plaintext ones. Starting TLS proves nothing about who the client is.',
    settings: [],
    fix: 'Grant relaying for authentication (SMTP AUTH, verified client certificates), never for encryption alone.',
    docs: 'https://www.rfc-editor.org/rfc/rfc3207#section-4.1',
    provenance: 'RFC 3207 §4.1 (a server must not consider a TLS session by itself as permission to relay)',
  },
  {
    id: 'any-trusted-network',
    mta: null,
    match: { relayed: 'everything', vantage: 'trusted' },
    cause: 'The server relays for the network this check ran from: it trusts that network (Postfix `mynetworks`, Exim `relay_from_hosts`, Sendmail `Connect:` RELAY, OpenSMTPD `from local`).',
    settings: [],
    fix: 'If this network is not meant to relay, narrow the server\'s trusted networks to the hosts that need them.',
    docs: PF_ACCESS,
    provenance: 'RFC 5321 §3.6.2 (relaying at the server\'s discretion); the trusted-network settings of Postfix, Exim, Sendmail, OpenSMTPD',
  },
  {
    id: 'any-no-relay-check',
    mta: null,
    match: { relayed: 'everything', vantage: 'outside' },
    cause: 'The server relays for an outside client, whoever it is: it has no relay check, or trusts every network.',
    settings: [],
    fix: 'Accept mail for other domains only from authenticated clients; accept mail from anyone only for your own domains.',
    docs: 'https://www.rfc-editor.org/rfc/rfc2505#section-2.1',
    provenance: 'RFC 2505 §2 (anti-spam recommendations for MTAs: relay only for known clients)',
  },
  {
    id: 'any-sender-trust',
    mta: null,
    match: { relayed: ['own-sender', 'host-sender', 'null-sender'] },
    cause: 'It relays for some sender addresses (its own domain, localhost, its address, or the null sender) and refuses others. The client writes MAIL FROM as it likes.',
    settings: [],
    fix: 'Grant relaying by who the client is (its address, SMTP AUTH), never by the sender address.',
    docs: 'https://www.rfc-editor.org/rfc/rfc2505#section-2.1',
    provenance: 'RFC 2505 §2.1 (relay checks must not trust the envelope sender)',
  },
  {
    id: 'any-helo-trust',
    mta: null,
    match: { relayed: ['helo'] },
    cause: 'It relays for some HELO names (localhost, its own name) and refuses others. The client chooses its HELO name.',
    settings: [],
    fix: 'Never grant relaying by HELO name.',
    docs: 'https://www.rfc-editor.org/rfc/rfc5321#section-4.1.4',
    provenance: 'RFC 5321 §4.1.4 (the HELO name must not be used to refuse or accept mail on its own)',
  },
  {
    id: 'any-after-local',
    mta: null,
    match: { relayed: ['after-local'] },
    cause: 'It relays an outside recipient only after an accepted local one in the same message: it decides relaying once per message (a per-message flag set by the first recipient, such as an Exim `acl_m` variable), not at every `RCPT TO`.',
    settings: [],
    fix: 'Judge every `RCPT TO` on its own: each outside recipient needs relay permission, whatever came before it.',
    docs: 'https://www.rfc-editor.org/rfc/rfc5321#section-3.3',
    provenance: 'RFC 5321 §3.3 (each RCPT is accepted or refused on its own); Exim specification, ACL variables acl_m (kept for the message)',
  },
  {
    id: 'any-routing-forms',
    mta: null,
    match: { relayed: ['routing'] },
    cause: 'It relays addresses that hide the destination in the local part or a route (percent hack, bang path, source route, quoting): its relay check and its address rewriting disagree.',
    settings: [],
    fix: 'Judge relaying on the address as it will be routed; disable the percent hack and bang paths where nobody needs them.',
    docs: 'https://www.rfc-editor.org/rfc/rfc2505#section-2.1',
    provenance: 'RFC 2505 §2.1 ("%" and "!" must be checked); RFC 1123 §5.2.16',
  },
  {
    id: 'any-xclient-open',
    mta: null,
    match: { relayed: ['xclient'] },
    cause: 'Anyone can claim to be trusted: the server offers XCLIENT to this client, which claimed to be 127.0.0.1 and was let through as that address.',
    settings: ['smtpd_authorized_xclient_hosts'],
    fix: 'Offer XCLIENT only to the proxies that need it: Postfix `smtpd_authorized_xclient_hosts`, Exim `hosts_xclient`, Haraka `xclient.hosts`.',
    docs: 'https://www.postfix.org/XCLIENT_README.html',
    provenance: 'Postfix XCLIENT_README; Exim 4.98 hosts_xclient; Haraka xclient plugin (config/xclient.hosts)',
  },
  {
    id: 'any-proxy-exposed',
    mta: null,
    match: { relayed: ['proxy'] },
    cause: 'Anyone who reaches this port can claim to be trusted: it believes the address a PROXY protocol header names, from any client.',
    settings: [],
    fix: 'Accept PROXY headers only from the proxy (Haraka `haproxy_hosts`, a firewall in front of Postfix or nginx), and do not trust loopback on a proxied port.',
    docs: 'https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt',
    provenance: 'HAProxy proxy-protocol.txt §1; Haraka haproxy_hosts; Mailu #1560; chrj/smtpd PR #71',
  },
  {
    id: 'any-auth-with-nothing',
    mta: null,
    match: { relayed: ['auth'] },
    cause: 'Any client can authenticate: AUTH with no credential (ANONYMOUS, or a made-up user with an empty password) was accepted, and the server relays for authenticated clients.',
    settings: ['smtpd_sasl_security_options'],
    fix: 'Refuse the ANONYMOUS mechanism and empty passwords in the authentication backend; relay only for real accounts.',
    docs: 'https://www.rfc-editor.org/rfc/rfc4954',
    provenance: 'RFC 4954; RFC 4505 §3 (ANONYMOUS grants no privileges by itself); Cyrus SASL libanonymous',
  },
];