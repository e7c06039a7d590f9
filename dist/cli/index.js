#!/usr/bin/env node
import './sourcemap-register.cjs';import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 318:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var _cli_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(356);
// The CLI's entry for ncc and `npm run`: cli.ts stays importable without side effects.

process.exitCode = await (0,_cli_js__WEBPACK_IMPORTED_MODULE_0__/* .runCli */ .ak)(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    isTty: Boolean(process.stdout.isTTY),
    stderrIsTty: Boolean(process.stderr.isTTY),
});

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 356:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  ak: () => (/* binding */ runCli)
});

// UNUSED EXPORTS: EXIT, USAGE, main

;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
var external_node_fs_default = /*#__PURE__*/__nccwpck_require__.n(external_node_fs_namespaceObject);
;// CONCATENATED MODULE: external "node:util"
const external_node_util_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
var external_node_path_default = /*#__PURE__*/__nccwpck_require__.n(external_node_path_namespaceObject);
;// CONCATENATED MODULE: ./src/diagnosis/rules.ts
const PF_ACCESS = 'https://www.postfix.org/SMTPD_ACCESS_README.html';
const PF_RELAY = 'https://www.postfix.org/postconf.5.html#smtpd_relay_restrictions';
const EXIM_ACL = 'https://www.exim.org/exim-html-current/doc/html/spec_html/ch-access_control_lists.html';
const SENDMAIL_ANTISPAM = 'https://www.sendmail.org/~ca/email/doc8.12/cf/m4/anti_spam.html';
const SMTPD_CONF = 'https://man.openbsd.org/smtpd.conf.5';
const RESTRICTIONS = ['smtpd_relay_restrictions', 'smtpd_recipient_restrictions'];
const DIAGNOSIS_RULES = [
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
        cause: 'The server does not see its clients: something in front of it re-originates every connection (Docker\'s userland proxy, which it falls back to for IPv6 when the containers have none or when its iptables rules are off; a Kubernetes Service with `externalTrafficPolicy: Cluster`; a swarm ingress or load balancer), so every outside client arrives as the address in between, and the server trusts that address (Postfix `mynetworks`, Exim `relay_from_hosts`, Sendmail `Connect:` RELAY, OpenSMTPD `match from src`).',
        settings: ['mynetworks', 'relay_from_hosts', 'userland-proxy', 'externalTrafficPolicy'],
        fix: 'Let the server see the real client: Docker: `"userland-proxy": false` in `/etc/docker/daemon.json`, and IPv6 in Docker (`"ipv6": true` with a ULA prefix) or the port published on IPv4 only (`0.0.0.0:25:25`); Kubernetes: `externalTrafficPolicy: Local` on the Service (or the PROXY protocol from the load balancer). Then narrow the trusted networks to the hosts that relay (`mynetworks = 127.0.0.0/8 [::1]/128`, not the whole `172.16.0.0/12`).',
        docs: 'https://docs.docker.com/reference/cli/dockerd/',
        provenance: 'docker-mailserver #128 and #1405 (PERMIT_DOCKER with IPv6 on the host but not in Docker); mailcow-dockerized #758 and #1145 (every client logged as 172.22.1.1, userland proxy); Mailu #3680 (default setup with IPv6 disabled: open relay, userland-proxy must be off); anonaddy/docker #205 (IPv6 clients rewritten to a local address); Mailu helm-charts #210 (the cluster network trusted; clients arrive as its addresses)',
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

;// CONCATENATED MODULE: ./src/diagnosis/traits.ts
const NMAP_ROUTING = ['routing', 'host-sender'];
/** Traits by vector id (src/battery/vectors.ts); the ids are a public contract. */
const VECTOR_TRAITS = {
    'null-sender': ['null-sender'],
    'external-sender': [],
    'server-name-sender': ['own-sender'],
    'literal-sender': ['host-sender'],
    // nmap's routing forms all send from the server's address literal.
    'percent-hack-literal': NMAP_ROUTING,
    'percent-hack-server-name': NMAP_ROUTING,
    'quoted-address': NMAP_ROUTING,
    'quoted-percent': NMAP_ROUTING,
    'double-at-literal': NMAP_ROUTING,
    'quoted-at-literal': NMAP_ROUTING,
    'double-at-server-name': NMAP_ROUTING,
    'source-route-literal': NMAP_ROUTING,
    'source-route-server-name': NMAP_ROUTING,
    'bang-path': NMAP_ROUTING,
    'bang-path-literal': NMAP_ROUTING,
    'bang-path-server-name': NMAP_ROUTING,
    'literal-recipient': ['local', 'host-sender'],
    'own-domain-sender': ['own-sender'],
    'own-domain-postmaster-sender': ['own-sender'],
    'localhost-sender': ['host-sender'],
    // Postfix completes a bare sender with myorigin, Exim with qualify_domain: the server's own domain.
    'bare-user-sender': ['own-sender'],
    'recipient-as-sender': [],
    'server-name-sender-quoted-recipient': ['own-sender', 'routing'],
    'null-sender-upper-case-domain': ['null-sender', 'syntax'],
    'helo-localhost': ['helo'],
    'helo-localhost-localhost-sender': ['helo', 'host-sender'],
    'helo-server-name': ['helo', 'own-sender'],
    'helo-localhost-localdomain': ['helo'],
    'helo-literal': ['helo', 'host-sender'],
    'helo-own-domain': ['helo', 'own-sender'],
    'helo-loopback-literal': ['helo', 'null-sender'],
    'unbracketed-recipient': ['syntax'],
    'unbracketed-paths': ['syntax'],
    'spaced-paths': ['syntax'],
    'spaces-inside-brackets': ['syntax'],
    'trailing-at': ['syntax', 'routing'],
    'percent-trailing-at': ['syntax', 'routing'],
    'upper-case-domain': ['syntax'],
    'trailing-dot-domain': ['syntax'],
    'quoted-local-part-own-domain': ['routing'],
    'quoted-percent-own-domain': ['routing'],
    'percent-hack-own-domain': ['routing'],
    'double-percent-hack': ['routing'],
    'bang-path-own-domain': ['routing'],
    'source-route-own-domain': ['routing'],
    'source-route-two-hops': ['routing'],
    'percent-hack-null-sender': ['routing', 'null-sender'],
    'percent-hack-ipv6-literal': ['routing'],
    'ipv6-literal-sender': ['host-sender'],
    'source-route-ipv6-literal': ['routing'],
    'untagged-ipv6-literal': ['routing'],
    'role-postmaster-external': ['role'],
    'role-abuse-external': ['role'],
    'role-hostmaster-external': ['role'],
    'role-postmaster-null-sender': ['role', 'null-sender'],
    'external-after-postmaster': ['after-local'],
    'external-after-postmaster-null-sender': ['after-local', 'null-sender'],
    'external-after-postmaster-server-name': ['after-local'],
    'external-after-postmaster-bare': ['after-local'],
    // The identity tricks (src/battery/tricks.ts): the plain attempt after a claim of identity.
    'xclient-loopback': ['xclient'],
    'auth-anonymous': ['auth'],
    'auth-plain-empty': ['auth'],
    'auth-login-empty': ['auth'],
    // The PROXY control names an outside address: a plain attempt through the header.
    'proxy-v1-outsider': [],
    'proxy-v1-loopback': ['proxy'],
    'proxy-v2-loopback': ['proxy'],
};
/** The traits of a vector; input vectors by their id's prefix; a vector not in the table has none (a plain attempt). */
function traitsOf(vector) {
    if (/^input-sender-\d+$/.test(vector))
        return ['input-sender'];
    if (/^input-helo-\d+$/.test(vector))
        return ['helo'];
    return VECTOR_TRAITS[vector] ?? [];
}
/** Words for a trait, completing "relays only for …". */
const TRAIT_TEXT = {
    'null-sender': 'the null sender (bounces)',
    'own-sender': "senders in the server's own domain or at its host name",
    'host-sender': "senders at localhost or at the server's address literal",
    helo: 'some HELO names (localhost, its own name)',
    routing: 'addresses that hide the destination in the local part (percent hack, bang path, source route, quoting)',
    syntax: 'malformed addresses (no brackets, spaces, case, trailing dot)',
    role: "other domains' role mailboxes (postmaster@, abuse@, hostmaster@)",
    'after-local': 'an outside recipient after an accepted local one',
    'input-sender': 'the sender given in the `sender` input',
    local: 'local delivery',
    xclient: 'a client that claims to be 127.0.0.1 through XCLIENT (anyone can)',
    proxy: 'a client that claims to be 127.0.0.1 in a PROXY protocol header (anyone who reaches the port can)',
    auth: 'a client that authenticates with no credential (anyone can)',
};

;// CONCATENATED MODULE: external "node:net"
const external_node_net_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");
var external_node_net_default = /*#__PURE__*/__nccwpck_require__.n(external_node_net_namespaceObject);
;// CONCATENATED MODULE: ./src/mta/echo.ts

// An address literal's inside: IPv4, or IPv6 after "IPv6:" (RFC 5321 §4.1.3).
const ADDR = String.raw `(?:IPv6:)?([0-9A-Fa-f:.]+)`;
const ECHO_RULES = [
    {
        id: 'exim-hello',
        mta: 'Exim',
        pattern: new RegExp(String.raw `^250[- ]\S+ Hello (?:\S+ )+\[${ADDR}\]$`),
        example: '250-mx.exim.test Hello relay-check.example [127.0.0.1]',
        seen: '127.0.0.1',
        provenance: 'Exim 4.96, measured (__tests__/exim.test.ts); Exim specification ch. "SMTP processing": the EHLO reply names the client host and its IP address',
    },
    {
        // Sendmail and OpenSMTPD word it alike, so the line alone cannot tell them apart (the evidence table does).
        id: 'hello-pleased-to-meet-you',
        mta: null,
        // "(may be forged)" follows the address when Sendmail finds the client's reverse DNS does not check out.
        pattern: new RegExp(String.raw `^250[- ]\S+ Hello \S+ \[${ADDR}\](?: \(may be forged\))?, pleased to meet you$`),
        example: '250-mx.sendmail.test Hello client.outside.test [127.0.0.1], pleased to meet you',
        alsoSeen: ['250-mx.opensmtpd.test Hello relay-check.example [127.0.0.1], pleased to meet you'],
        seen: '127.0.0.1',
        provenance: 'Sendmail 8.17.1.9 and OpenSMTPD 7, measured (__tests__/sendmail.test.ts, opensmtpd.test.ts); sendmail/srvrsmtp.c "Hello %s, pleased to meet you" (the client name and [address]); OpenSMTPD smtp_session.c, the same words after the HELO name and [address]',
    },
    {
        id: 'gmail-at-your-service',
        mta: null,
        pattern: new RegExp(String.raw `^250[- ]\S+ at your service, \[${ADDR}\]$`),
        example: '250-mx.google.com at your service, [78.37.209.105]',
        seen: '78.37.209.105',
        provenance: 'Google\'s SMTP servers; a published telnet session with smtp.gmail.com (ehlo.me, 2008)',
    },
    {
        id: 'postfix-silent',
        mta: 'Postfix',
        pattern: null,
        example: '250-mx.postfix.test',
        seen: null,
        provenance: 'Postfix smtpd/smtpd.c ehlo_cmd: the first line is "250-" and myhostname only; Postfix logs the client as "connect from name[address]" instead',
    },
    {
        // The last resort: an address literal anywhere in the first line (a greeting text written by hand).
        id: 'any-address-literal',
        mta: null,
        pattern: new RegExp(String.raw `^250[- ].*\[${ADDR}\]`),
        example: '250-mail.example.net Hello [192.0.2.7]',
        seen: '192.0.2.7',
        provenance: 'RFC 5321 §4.1.1.1 (the EHLO reply\'s free text); RFC 5321 §4.1.3 address literals',
    },
];
/** The address an EHLO reply's first line names, and the row that read it; null when no row finds one. */
function echoedAddress(firstLine, rules = ECHO_RULES) {
    for (const r of rules) {
        const m = r.pattern?.exec(firstLine);
        if (m && external_node_net_default().isIP(m[1]))
            return { address: m[1], rule: r.id };
    }
    return null;
}
/** The row saying this MTA names no address (Postfix), if the table has one. */
function silentRow(mta, rules = ECHO_RULES) {
    return rules.find((r) => r.pattern === null && r.mta === mta) ?? null;
}

;// CONCATENATED MODULE: ./src/diagnosis/vantage.ts


/** What kind of network an address is in; null for what is not an address. */
function networkKind(address) {
    let a = address.toLowerCase().replace(/^\[|\]$/g, '').replace(/^ipv6:/, '');
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    if (mapped)
        a = mapped[1];
    if (external_node_net_default().isIPv4(a)) {
        const [x, y, z] = a.split('.').map(Number);
        if (x === 127)
            return 'loopback';
        if (x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168))
            return 'private';
        if (x === 100 && y >= 64 && y <= 127)
            return 'cgnat';
        if (x === 169 && y === 254)
            return 'link-local';
        // RFC 5737: relay-check's own stand-in for an outsider (203.0.113.10).
        if ((x === 192 && y === 0 && z === 2) || (x === 198 && y === 51 && z === 100) || (x === 203 && y === 0 && z === 113))
            return 'documentation';
        return 'public';
    }
    if (external_node_net_default().isIPv6(a)) {
        if (a === '::1')
            return 'loopback';
        if (/^f[cd]/.test(a))
            return 'private';
        if (/^fe[89ab]/.test(a))
            return 'link-local';
        if (/^2001:0?db8:/.test(a))
            return 'documentation';
        return 'public';
    }
    return null;
}
/** Networks servers commonly trust by default: a relay accepted from there may be by design. */
function trustedByDefault(kind) {
    return kind === 'loopback' || kind === 'private' || kind === 'cgnat' || kind === 'link-local';
}
/** The lines of the last EHLO exchange: after XCLIENT or STARTTLS the server greets anew. */
function lastEhlo(opening) {
    const ehloAt = opening.map((l, i) => (l.dir === 'C' && /^EHLO /i.test(l.text) ? i : -1)).filter((i) => i >= 0);
    const start = ehloAt.at(-1);
    if (start === undefined)
        return null;
    const reply = opening.slice(start + 1).find((l) => l.dir === 'S' && /^\d{3}[- ]/.test(l.text));
    return { name: opening[start].text.slice(5).trim(), firstLine: reply && /^250[- ]/.test(reply.text) ? reply.text : null };
}
/** The address an EHLO reply's first line names ("250-mx Hello name [192.0.2.1]"), and the echo row that read it. */
function echoInEhlo(opening) {
    const line = lastEhlo(opening)?.firstLine;
    return line ? echoedAddress(line) : null;
}
const bare = (a) => a.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
/**
 * Whether the address the server saw was made by something in between: a trusted-by-default
 * address that is not ours, for a connection to a public address (a runner on the Docker host
 * that connects to the container's bridge address is seen as the gateway, and rightly).
 */
function proxiedView(target, connectedFrom, seenAs) {
    if (seenAs === null || target === null)
        return false;
    const to = networkKind(target);
    if (to === null || trustedByDefault(to) || !trustedByDefault(networkKind(seenAs)))
        return false;
    return connectedFrom === null || bare(connectedFrom) !== bare(seenAs);
}
/** Whether XCLIENT was sent and accepted in this opening (Postfix answers 220 with a new greeting). */
function xclientAccepted(opening) {
    const i = opening.findIndex((l) => l.dir === 'C' && /^XCLIENT /i.test(l.text));
    return i >= 0 && opening.slice(i + 1).find((l) => l.dir === 'S')?.text.startsWith('220') === true;
}
function vantageOf(t, clientAddress) {
    const connectedFrom = t.localAddress ?? null;
    const echo = echoInEhlo(t.opening);
    const seenAs = echo?.address ?? null;
    const xclient = clientAddress !== null && xclientAccepted(t.opening) ? clientAddress : null;
    const effective = xclient ?? seenAs ?? connectedFrom;
    return {
        connectedFrom,
        seenAs,
        echo: echo?.rule ?? null,
        helo: lastEhlo(t.opening)?.name ?? null,
        at: t.at ?? null,
        proxied: xclient === null && proxiedView(t.target ?? null, connectedFrom, seenAs),
        xclient,
        effective,
        network: effective === null ? null : networkKind(effective),
    };
}
/** What an address the server saw stands for, in words: "a container bridge gateway". */
function seenAsKind(address) {
    const kind = networkKind(address);
    const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(address)?.slice(1).map(Number);
    // Docker gives each bridge network a /16 out of 172.16.0.0/12 (172.17.0.0/16 for the default bridge) and its host end .0.1.
    if (v4 && v4[0] === 172 && v4[1] >= 16 && v4[1] <= 31 && v4[2] === 0 && v4[3] === 1)
        return 'a container bridge gateway';
    if (v4 && v4[0] === 172 && v4[1] === 17)
        return "an address on Docker's default bridge";
    if (kind === 'loopback')
        return "a loopback address: a proxy on the server's own host";
    if (kind === 'cgnat')
        return 'a carrier-grade NAT address';
    if (kind === 'link-local')
        return 'a link-local address';
    return 'a private address: a load balancer, an ingress or a NAT in front of the server';
}
/**
 * The sentence said first when `proxied`: the server judged every outside client as the
 * address in between. Plain text with `backticks` for code (renderers escape the rest).
 */
function proxiedSentence(v) {
    if (!v.proxied || v.seenAs === null)
        return null;
    return `The server saw you as ${v.seenAs} (${seenAsKind(v.seenAs)}): every outside client arrives as this address; if it is trusted (\`mynetworks\`, \`relay_from_hosts\`, \`Connect: RELAY\`, \`match from src\`), anyone can relay.`;
}
/**
 * When the server named no address: "unknown", and what finds our session in its log (our EHLO
 * name and the time; Postfix logs "connect from name[address]" as the session opens).
 */
function unseenSentence(v, mta) {
    if (v.seenAs !== null || v.xclient !== null)
        return null;
    const why = silentRow(mta) ? `${mta} names no address in its EHLO reply` : 'it named no address in its EHLO reply';
    const find = [v.helo ? `EHLO \`${v.helo}\`` : null, v.at ? `at ${v.at}` : null].filter((x) => x !== null).join(', ');
    return `unknown (${why}); to find it, look for this session in the server's log${find ? ` (${find})` : ''}${mta === 'Postfix' ? ': Postfix logs `connect from name[address]` as it opens' : ''}`;
}

;// CONCATENATED MODULE: ./src/diagnosis/diagnose.ts



const placeOf = (t) => `${t.service ?? (t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`)}${t.transport === 'plain' ? '' : ` (${t.transport})`}`;
const relayedIn = (t) => new Set(t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector));
const deniedIn = (t) => new Set(t.attempts.filter((a) => a.outcome === 'denied').map((a) => a.vector));
/** The pattern of one host's targets (every address, port and transport of it). */
function relayPattern(targets) {
    const relayedSet = new Set(targets.flatMap((t) => [...relayedIn(t)]));
    const relayed = [...relayedSet].sort();
    const everything = relayed.some((v) => traitsOf(v).length === 0);
    const all = ['null-sender', 'own-sender', 'host-sender', 'helo', 'routing', 'syntax', 'role', 'after-local', 'input-sender', 'local', 'xclient', 'proxy', 'auth'];
    const shared = everything || relayed.length === 0 ? [] : all.filter((tr) => relayed.every((v) => traitsOf(v).includes(tr)));
    const opening = targets.filter((t) => relayedIn(t).size > 0);
    // A place refused what relayed elsewhere: the comparison that makes a "where".
    const refusing = targets.filter((t) => relayedIn(t).size === 0 && [...deniedIn(t)].some((v) => relayedSet.has(v)));
    const where = [];
    const sameService = (a, b) => a.address === b.address && a.port === b.port;
    if (opening.length > 0 && opening.every((t) => t.transport !== 'plain') && refusing.some((r) => r.transport === 'plain' && opening.some((o) => sameService(o, r))))
        where.push('tls-only');
    if (opening.length > 0 && opening.every((t) => t.family === 6) && refusing.some((r) => r.family === 4))
        where.push('ipv6-only');
    const ports = (ts) => new Set(ts.map((t) => `${t.port}`));
    const openPorts = ports(opening);
    // Another port of the same address refused it: a per-service setting (master.cf), not the address.
    if (opening.length > 0 && refusing.some((r) => !openPorts.has(`${r.port}`) && opening.some((o) => o.address === r.address)))
        where.push('some-services');
    return { relayed, everything, shared, where, relayedOn: [...new Set(opening.map(placeOf))], refusedOn: [...new Set(refusing.map(placeOf))] };
}
/** Whether a row fits a pattern and vantage. */
function ruleFits(rule, p, trusted, proxied) {
    const m = rule.match;
    if (p.relayed.length === 0)
        return false;
    if (m.where !== undefined && !p.where.includes(m.where))
        return false;
    if (m.vantage === 'proxied' && !proxied)
        return false;
    if ((m.vantage === 'trusted' || m.vantage === 'outside') && (m.vantage === 'trusted') !== trusted)
        return false;
    if (m.relayed === 'everything')
        return p.everything;
    if (m.relayed !== undefined) {
        const traits = m.relayed;
        return !p.everything && p.relayed.every((v) => traitsOf(v).some((t) => traits.includes(t)));
    }
    return true;
}
/**
 * How closely a row fits: knowing *where* counts most (the where is the finding),
 * then knowing what relayed, then being the MTA's own row, then the vantage;
 * a narrower trait list beats a wider one.
 */
function specificity(r) {
    const m = r.match;
    const traits = Array.isArray(m.relayed) ? m.relayed.length : 0;
    // A proxied view explains everything else: the server judged a stranger as the proxy.
    if (m.vantage === 'proxied')
        return 16;
    return (m.where ? 8 : 0) + (m.relayed !== undefined ? 4 : 0) + (r.mta !== null ? 2 : 0) + (m.vantage ? 1 : 0) - Math.max(0, traits - 1) / 10;
}
/** The rows of this MTA or of any MTA that fit, the most specific only. */
function matchRules(p, mta, trusted, rules = DIAGNOSIS_RULES, proxied = false) {
    const fits = rules.filter((r) => (r.mta === null || r.mta === mta) && ruleFits(r, p, trusted, proxied));
    if (fits.length === 0)
        return [];
    const best = Math.max(...fits.map(specificity));
    return fits.filter((r) => specificity(r) === best);
}
/** The MTA a host answered as: the best-evidenced identification among its targets; weak evidence counts as unknown. */
function hostMta(targets) {
    const rank = { high: 3, medium: 2, low: 1, none: 0 };
    const known = targets.map((t) => t.mta).filter((m) => m !== undefined && m.name !== 'unknown' && rank[m.confidence] >= 2);
    known.sort((a, b) => rank[b.confidence] - rank[a.confidence]);
    return known[0]?.name ?? 'unknown';
}
function whereText(p) {
    if (p.where.includes('tls-only'))
        return ', only inside TLS (the same attempts in plaintext were refused)';
    if (p.where.includes('ipv6-only'))
        return ', only over IPv6 (the same attempts over IPv4 were refused)';
    if (p.where.includes('some-services')) {
        // Per service, whatever the transports: "only on submission (587) (refused on smtp (25))".
        const service = (xs) => [...new Set(xs.map((x) => x.replace(/ \((starttls|implicit)\)$/, '')))].join(', ');
        return `, only on ${service(p.relayedOn)} (refused on ${service(p.refusedOn)})`;
    }
    return '';
}
function summaryOf(mta, p) {
    const who = mta === 'unknown' ? 'The server' : mta;
    if (p.everything)
        return `${who} relays for this client whatever it sends${whereText(p)}.`;
    if (p.shared.length > 0)
        return `${who} relays only for ${p.shared.map((t) => TRAIT_TEXT[t]).join(' and ')}${whereText(p)}.`;
    return `${who} relays some forms and refuses the plain attempt${whereText(p)}: ${p.relayed.slice(0, 6).join(', ')}${p.relayed.length > 6 ? `, ${p.relayed.length - 6} more` : ''}.`;
}
function vantageWarning(v, mta) {
    if (!v || v.xclient !== null || !trustedByDefault(v.network))
        return null;
    const proxied = proxiedSentence(v);
    if (proxied)
        return proxied;
    const kind = v.network === 'loopback' ? 'a loopback address' : v.network === 'cgnat' ? 'a carrier-grade NAT address' : `a ${v.network} address`;
    const where = mta === 'Postfix' ? 'Postfix `mynetworks`' : mta === 'Exim' ? 'Exim `relay_from_hosts`' : 'Postfix `mynetworks`, Exim `relay_from_hosts`';
    return `This ran from ${v.effective ?? 'an unknown address'} (${kind}) without \`client-address\`, which a server may simply trust (${where}). To test as an outsider, set \`client-address: 203.0.113.10\` (Postfix XCLIENT, allowed by \`smtpd_authorized_xclient_hosts\`) or run from outside that network.`;
}
/**
 * Why each host that relayed relays: its pattern read through the diagnosis
 * table. Hosts are diagnosed apart (a fleet's hosts have different configs);
 * the addresses, ports and transports of one host are compared with each other.
 */
function diagnose(targets, rules = DIAGNOSIS_RULES) {
    const byHost = new Map();
    for (const t of targets)
        byHost.set(t.host, [...(byHost.get(t.host) ?? []), t]);
    const out = [];
    for (const [host, ts] of byHost) {
        const pattern = relayPattern(ts);
        if (pattern.relayed.length === 0)
            continue;
        const relaying = ts.filter((t) => relayedIn(t).size > 0);
        const mta = hostMta(relaying.length > 0 ? relaying : ts);
        const vantage = relaying.find((t) => t.vantage)?.vantage ?? null;
        const trusted = vantage !== null && vantage.xclient === null && trustedByDefault(vantage.network);
        const findings = matchRules(pattern, mta, trusted, rules, vantage?.proxied === true).map((r) => ({ rule: r.id, mta: r.mta, cause: r.cause, settings: r.settings, fix: r.fix, docs: r.docs, provenance: r.provenance }));
        out.push({
            host,
            mta,
            pattern,
            summary: summaryOf(mta, pattern),
            findings,
            unmatched: findings.length === 0
                ? `No known cause fits this pattern (${pattern.relayed.length} vector(s) relayed${pattern.everything ? '' : ', the plain attempt was refused'}); relay-check will not guess. The relayed attempts below show exactly what got through.`
                : null,
            vantage,
            // A narrow pattern (the plain attempt refused) shows the network is not simply trusted.
            vantageWarning: pattern.everything ? vantageWarning(vantage, mta) : null,
        });
    }
    return out;
}

;// CONCATENATED MODULE: ./src/battery/vectors.ts
const NMAP = 'nmap smtp-open-relay.nse test';
const MSF = 'Metasploit smtp_relay EXTENDED test';
const MAILRADAR = 'mailradar.com open relay test';
const MAIL_ABUSE = 'mail-abuse.org relay test';
// Jim Seymour's Postfix anti-UCE cheat sheet, recipient_checks.pcre (mirrored on the Mandriva wiki):
// `/^postmaster\@/ OK`, `/^hostmaster\@/ OK`, `/^abuse\@/ OK`, with its own warning that the map
// makes an open relay when placed before reject_unauth_destination.
const ROLE_RECIPE = 'anti-UCE cheat sheet recipient_checks.pcre role-account OK (open relay before reject_unauth_destination)';
const VECTORS = [
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
function inputVectors(opts) {
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

;// CONCATENATED MODULE: ./src/model/report.ts
/**
 * The Report: plain data, the same object the JSON file holds. Every renderer
 * (job summary, annotations, terminal) reads this and nothing else, so they
 * cannot disagree. Bump SCHEMA_VERSION on any incompatible change.
 */
const SCHEMA_VERSION = 1;
function countAttempts(attempts) {
    const c = { tests: 0, relayed: 0, denied: 0, inconclusive: 0, skipped: 0 };
    for (const a of attempts) {
        c[a.outcome]++;
        if (a.outcome !== 'skipped')
            c.tests++;
    }
    return c;
}
function sumCounts(all) {
    const c = { tests: 0, relayed: 0, denied: 0, inconclusive: 0, skipped: 0 };
    for (const x of all)
        for (const k of Object.keys(c))
            c[k] += x[k];
    return c;
}

;// CONCATENATED MODULE: ./src/battery/tricks.ts
/**
 * The identity tricks: ways a client claims to be someone the server trusts,
 * each followed by the plain relay attempt (relay-check's outside sender to the
 * outside recipient). They run only where the server offers the door (XCLIENT,
 * AUTH, a port that expects a PROXY header), and the control of each is the
 * same attempt without the trick: the battery's plain attempt, or for PROXY
 * the same header naming an outside address.
 *
 * Safety: no real credential and no guessed password is ever sent. The AUTH
 * tricks send nothing (ANONYMOUS) or a made-up user with an empty password.
 */
/** The address the XCLIENT and PROXY tricks claim: loopback, which servers trust by default. */
const CLAIMED_ADDRESS = '127.0.0.1';
/**
 * The PROXY control's address: TEST-NET-3 (RFC 5737), in nobody's trusted networks, and not
 * in Debian Sendmail's stock `Connect:192.0.2` refusal.
 */
const PROXY_OUTSIDER = '203.0.113.77';
const XCLIENT_README = 'Postfix XCLIENT_README (smtpd_authorized_xclient_hosts: "by default, no clients are allowed to specify XCLIENT")';
const HAPROXY_SPEC = 'HAProxy PROXY protocol specification (proxy-protocol.txt)';
const IDENTITY_TRICKS = [
    {
        id: 'xclient-loopback',
        door: 'xclient',
        description: 'XCLIENT offered to us: claim to be 127.0.0.1, then the plain relay attempt',
        provenance: `${XCLIENT_README}; issue 23 §2`,
        example: 'XCLIENT ADDR=127.0.0.1',
    },
    {
        id: 'auth-anonymous',
        door: 'auth',
        mechanism: 'ANONYMOUS',
        description: 'AUTH ANONYMOUS (no credential at all), then the plain relay attempt',
        provenance: 'RFC 4505 (ANONYMOUS SASL mechanism); Cyrus SASL libanonymous with an empty smtpd_sasl_security_options',
        example: 'AUTH ANONYMOUS cmVsYXktY2hlY2s=',
    },
    {
        id: 'auth-plain-empty',
        door: 'auth',
        mechanism: 'PLAIN',
        description: 'AUTH PLAIN as a made-up user with an empty password, then the plain relay attempt',
        provenance: 'RFC 4616 (PLAIN); RFC 4954 (SMTP AUTH); backends that accept empty credentials',
        example: 'AUTH PLAIN AHJlbGF5LWNoZWNrLW5vYm9keS0xYTJiM2M0ZAA=',
    },
    {
        id: 'auth-login-empty',
        door: 'auth',
        mechanism: 'LOGIN',
        description: 'AUTH LOGIN as a made-up user with an empty password, then the plain relay attempt',
        provenance: 'draft-murchison-sasl-login (LOGIN); RFC 4954; backends that accept empty credentials',
        example: 'AUTH LOGIN / cmVsYXktY2hlY2stbm9ib2R5LTFhMmIzYzRk / (empty line)',
    },
    {
        id: 'proxy-v1-outsider',
        door: 'proxy',
        proxy: { version: 1, claims: 'outsider' },
        description: 'Control: a PROXY v1 header naming an outside address, then the plain relay attempt',
        provenance: `${HAPROXY_SPEC} §2.1; the control of the PROXY tricks`,
        example: 'PROXY TCP4 203.0.113.77 127.0.0.1 40000 25',
    },
    {
        id: 'proxy-v1-loopback',
        door: 'proxy',
        proxy: { version: 1, claims: 'loopback' },
        description: 'A PROXY v1 (text) header claiming 127.0.0.1 before the greeting, then the plain relay attempt',
        provenance: `${HAPROXY_SPEC} §2.1; Postfix smtpd_upstream_proxy_protocol = haproxy exposed directly; Haraka haproxy_hosts`,
        example: 'PROXY TCP4 127.0.0.1 127.0.0.1 40000 25',
    },
    {
        id: 'proxy-v2-loopback',
        door: 'proxy',
        proxy: { version: 2, claims: 'loopback' },
        description: 'A PROXY v2 (binary) header claiming 127.0.0.1 before the greeting, then the plain relay attempt',
        provenance: `${HAPROXY_SPEC} §2.2; Postfix 3.5+ reads v2 with smtpd_upstream_proxy_protocol = haproxy`,
        example: '0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A 21 11 00 0C 7F 00 00 01 …',
    },
];
const PROXY_SIGNS = [
    {
        id: 'postfix-proxy-timeout',
        refusal: /^421 4\.3\.0 \S+ Server local error$/,
        example: '421 4.3.0 mx.relay-check.test Server local error',
        provenance: 'Postfix 3.7 smtpd with smtpd_upstream_proxy_protocol = haproxy, after smtpd_upstream_proxy_timeout (5 s) without a header; measured (log: "warning: haproxy read: timeout error")',
    },
    {
        id: 'names-proxy-protocol',
        refusal: /^4\d\d\b.*\bproxy\b/i,
        example: '421 PROXY protocol header expected',
        provenance: 'issue 23 §2 (a 421 naming the proxy protocol)',
    },
    {
        id: 'silent',
        silent: true,
        example: '(connected, no greeting within connect-timeout)',
        provenance: 'Postfix postscreen_upstream_proxy_protocol; Haraka and nginx listeners that wait for the header; issue 23 §2',
    },
];
/** The sign a refusal (or silence) matches, if any. */
function proxySign(refusal, silent) {
    return PROXY_SIGNS.find((s) => (s.silent === true ? silent : refusal !== null && s.refusal !== undefined && s.refusal.test(refusal)));
}

;// CONCATENATED MODULE: ./src/verdict/run.ts
function tallyOf(t) {
    const ran = t.attempts.some((a) => a.outcome !== 'skipped' && a.reply !== null);
    return {
        host: t.host,
        address: t.address,
        port: t.port,
        reachable: t.reachable,
        tested: t.reachable && ran,
        relayed: t.counts.relayed,
        inconclusive: t.counts.inconclusive,
        transport: t.transport,
        why: t.error ?? t.attempts[0]?.reason ?? 'no attempt ran',
    };
}
/** One address and port, whatever the transport: plaintext and STARTTLS runs test the same service. */
const serviceKey = (t) => `${t.address || t.host}|${t.port}`;
/**
 * Runs that leave their address and port less than tested. A run whose session
 * was set up but that ran nothing on purpose is covered by a tested run of
 * another transport on the same address and port: the plaintext run of a server
 * that demands STARTTLS (its attempts ran inside TLS), the STARTTLS run after
 * plaintext relayed (inside TLS that cannot change). A run whose session could
 * not be set up is never covered: a server that offers STARTTLS and fails the
 * handshake was tested in plaintext only, and what it does inside TLS is
 * unknown (issue 21 §2).
 */
function untested(targets) {
    const tested = new Set(targets.filter((t) => t.tested).map(serviceKey));
    const seen = new Set();
    return targets.filter((t) => {
        if (t.tested || (t.reachable && tested.has(serviceKey(t))))
            return false;
        const k = `${serviceKey(t)}|${t.transport ?? ''}`;
        if (seen.has(k))
            return false;
        seen.add(k);
        return true;
    });
}
/**
 * One sentence for a run untested() lists, the same in the warnings and in
 * `strict`'s reasons, so the two never disagree.
 */
function untestedNote(t) {
    const where = `${t.address || t.host} port ${t.port}`;
    const why = t.why ?? (t.reachable ? 'no attempt ran' : 'unreachable');
    if (t.transport === 'starttls' && !t.reachable)
        return `${where}: STARTTLS could not be entered (${why}), so nothing was tested inside it`;
    return `${where}${t.reachable && t.transport ? ` (${t.transport})` : ''} was not tested: ${why}`;
}
/** SPEC §3: open when anything relayed; inconclusive when nothing did but something is unknown or untested. */
function runVerdict(targets) {
    // Nothing tested proves nothing.
    if (targets.length === 0)
        return 'inconclusive';
    if (targets.some((t) => t.relayed > 0))
        return 'open';
    if (targets.some((t) => t.inconclusive > 0) || untested(targets).length > 0)
        return 'inconclusive';
    return 'closed';
}
function targetVerdict(t) {
    return runVerdict([t]);
}
/**
 * Why the step fails under the given strictness; empty when it passes.
 * An untested address is only fatal under `normal` when no address of the
 * same host and port was tested (IPv6 on GitHub-hosted runners); a transport
 * offered but not entered (STARTTLS that failed) beside a tested one is a
 * warning under `normal` and fatal under `strict`.
 */
function failureReasons(targets, strictness) {
    const reasons = [];
    const relayed = targets.reduce((n, t) => n + t.relayed, 0);
    if (relayed > 0) {
        reasons.push(strictness === 'relaxed'
            ? `${relayed} relay attempt(s) were accepted through DATA: the server is an open relay`
            : `${relayed} relay attempt(s) were accepted: the server is an open relay`);
    }
    if (strictness === 'relaxed')
        return reasons;
    const groups = new Map();
    for (const t of targets) {
        const key = t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
        groups.set(key, [...(groups.get(key) ?? []), t]);
    }
    for (const [key, group] of groups) {
        if (group.every((t) => !t.tested)) {
            reasons.push(group.some((t) => t.reachable) ? `${key}: no relay attempt could be run on any address` : `${key}: no address could be reached`);
        }
        else if (strictness === 'strict') {
            for (const t of untested(group))
                reasons.push(strictReason(t));
        }
    }
    if (strictness === 'strict') {
        const inconclusive = targets.reduce((n, t) => n + t.inconclusive, 0);
        if (inconclusive > 0)
            reasons.push(`${inconclusive} attempt(s) were inconclusive (strictness: strict)`);
    }
    return reasons;
}
function strictReason(t) {
    if (t.transport === 'starttls' && !t.reachable)
        return untestedNote(t);
    return `${t.address || t.host} port ${t.port} ${t.reachable ? 'was reached but not tested' : 'could not be reached'}`;
}

;// CONCATENATED MODULE: ./src/battery/render.ts

/**
 * The domain an envelope address is finally addressed to: source routes and
 * quoted local parts removed, then what follows the last @; '' when there is none.
 */
function finalDomain(path) {
    const bare = path
        .trim()
        .replace(/^<\s*|\s*>$/g, '')
        .replace(/^@[^:]*:/, '')
        .replace(/"(?:[^"\\]|\\.)*"/g, 'q')
        // user@ext@ is read as user@ext by the servers it fools (OpenSMTPD issue 754).
        .replace(/@$/, '');
    const at = bare.lastIndexOf('@');
    return at < 0 ? '' : bare.slice(at + 1).toLowerCase();
}
/** RFC 5321 §4.1.3 address literal: IPv6 needs the `IPv6:` tag. */
function addressLiteral(address) {
    return external_node_net_default().isIPv6(address) ? `[IPv6:${address}]` : `[${address}]`;
}
const PLACEHOLDER = /\{([a-zA-Z0-9]+)\}/g;
/** Fills one template; returns the name of the first placeholder it cannot fill. */
function fill(template, values) {
    let missing;
    const text = template.replace(PLACEHOLDER, (whole, name) => {
        if (!(name in values))
            throw new Error(`unknown placeholder ${whole} in template "${template}"`);
        const v = values[name];
        if (v === undefined) {
            missing ??= name;
            return whole;
        }
        return v;
    });
    return missing ? { missing } : { text };
}
const WHY_MISSING = {
    srv: 'the server gave no host name in its greeting, EHLO reply or certificate, and was named by an address: set `host` to its name, or `domain`',
    mydomain: 'the mail domain is unknown: set the `domain` input (the server gave no host name to derive it from)',
    untagged6: 'only meaningful on an IPv6 address',
};
/**
 * Placeholders a server may leave unfilled although the vectors that need them apply to it:
 * its name and mail domain. A vector skipped for want of one is untested, not irrelevant
 * (unlike {untagged6} on an IPv4 target), so it cannot leave a run closed.
 */
const NAME_PLACEHOLDERS = new Set(['srv', 'mydomain']);
/** IPv6 literal for any target: its own address, or the IPv4-mapped form (RFC 4291 §2.5.5.2). */
function ipv6Literal(address) {
    return external_node_net_default().isIPv6(address) ? `[IPv6:${address}]` : `[IPv6:::ffff:${address}]`;
}
/**
 * The mail domain when the user gave none: the parent of the server's name
 * when it has one below a registrable-looking domain (mx.example.org →
 * example.org), else the name itself. The server-name vectors cover the name.
 */
function mailDomain(srv) {
    if (!srv)
        return undefined;
    const labels = srv.split('.');
    if (labels.length < 3)
        return srv;
    const parent = labels.slice(1);
    // mx.co.uk must not become co.uk: a common second-level public suffix is no mail domain.
    const publicSuffix = parent.length === 2 && /^(co|com|net|org|ac|gov|edu|ne|or|go)$/.test(parent[0]) && /^[a-z]{2}$/i.test(parent[1]);
    return publicSuffix ? srv : parent.join('.');
}
function renderVector(vector, ctx) {
    const values = {
        user: ctx.user,
        domain: ctx.domain,
        probe: ctx.probe,
        helo: ctx.helo,
        literal: addressLiteral(ctx.address),
        srv: ctx.srv,
        mydomain: ctx.mydomain,
        domainUpper: ctx.domain.toUpperCase(),
        literal6: ipv6Literal(ctx.address),
        untagged6: external_node_net_default().isIPv6(ctx.address) ? `[${ctx.address}]` : undefined,
    };
    const parts = [vector.helo ?? '{helo}', vector.mailFrom, ...vector.rcptTo].map((t) => fill(t, values));
    for (const p of parts) {
        if ('missing' in p) {
            return { ok: false, vector, reason: `needs {${p.missing}}: ${WHY_MISSING[p.missing] ?? 'no value for it'}`, missing: p.missing };
        }
    }
    const [helo, mailFrom, ...rcptTo] = parts.map((p) => p.text);
    const attempt = { vector, helo, mailFrom, rcptTo };
    const via = routedVia(vector.rcptTo[vector.rcptTo.length - 1]);
    if (via !== undefined)
        attempt.routedVia = via === '' ? '' : fill(via, values).text.toLowerCase();
    return { ok: true, attempt };
}
/** Placeholders that name the server itself: a destination there is routed through it. */
const SERVER_PLACEHOLDERS = /^\{(srv|mydomain|literal|literal6|untagged6)\}$/;
/**
 * Whether a recipient template is addressed to the server itself, decided on
 * the template and not on the values: a plain `{user}@{domain}` is the external
 * destination even when the server's guessed mail domain happens to equal it.
 * Returns the placeholder it is addressed to ('' for an unqualified local part).
 */
function routedVia(template) {
    const d = finalDomain(template);
    if (d === '')
        return '';
    return SERVER_PLACEHOLDERS.test(d) ? d : undefined;
}
/**
 * The host name a server announces: the first word after the code in the
 * greeting, else in the EHLO reply, when it looks like a domain name.
 */
function serverName(...lines) {
    for (const line of lines) {
        const word = line?.trim().split(/\s+/)[0];
        if (word && /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+\.?$/i.test(word)) {
            return word.replace(/\.$/, '');
        }
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/smtp/limits.ts
/**
 * Every limit that protects relay-check from a broken or hostile server, and
 * every limit that protects a server from relay-check, in one place. RFC 5321
 * §4.5.3.1 caps a reply line at 512 octets; real servers stay far below that,
 * so the caps leave room without letting one server eat the runner.
 */
const LIMITS = {
    /** Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512; be generous). */
    maxLineBytes: 4096,
    /** Most lines in one multi-line reply (EHLO lists ~20 at most in practice). */
    maxLinesPerReply: 200,
    /** Most bytes one session may send us in total. */
    maxSessionBytes: 1024 * 1024,
    /**
     * Wait for a reply to MAIL, RCPT, RSET or DATA, in ms, always cut at the run's
     * deadline. RFC 5321 §4.5.3.2 asks clients to wait 5 minutes for MAIL and RCPT:
     * servers answer slowly on purpose (sender-verification callouts, Exim `delay`,
     * tarpits). The greeting, EHLO, STARTTLS and XCLIENT are bounded by
     * `connect-timeout` instead: a server that will not even set up a session is
     * not worth minutes.
     */
    replyTimeoutMs: 300_000,
    /**
     * A reply later than this, after at least one refusal on its connection, is
     * read as the server's error sleep (Postfix smtpd_error_sleep_time, default
     * 1 s, often 10 s). Loopback and internet round trips stay far below it.
     */
    slowReplyMs: 700,
    /** Time given to QUIT before the socket is simply destroyed. */
    quitTimeoutMs: 1_000,
};
/**
 * Postfix slows every reply once a connection made `smtpd_soft_error_limit`
 * (default 10) errors and drops it at `smtpd_hard_error_limit` (20). Stay under
 * the soft limit by default; the budget learner finds a lower one from the server.
 */
const DEFAULT_ERROR_BUDGET = 8;
/** Connections per address that carry attempts at the same time: enough to hide latency, few enough to be polite. */
const CONNECTIONS_PER_ADDRESS = 4;
/**
 * Connections per address and pass at a server that limits new connections per client
 * (Sendmail's ClientRate: Debian's stock sendmail.mc allows 15 per 10 minutes, counted over
 * every run in the window): a plaintext and a STARTTLS pass of two runs fit in eight.
 */
const FRUGAL_CONNECTIONS = 3;
/**
 * Postfix's `smtpd_client_connection_count_limit` default: sessions one client
 * address may hold at one smtpd service. It counts sessions the server still
 * holds, including ones the client already left while the server sleeps.
 */
const POSTFIX_CONNECTION_COUNT_LIMIT = 50;
/**
 * Of those, the share relay-check keeps free: the runner may share its address
 * with other clients (NAT, other jobs), and many servers set the limit lower.
 */
const CONNECTION_SLOT_MARGIN = 40;
/**
 * Sessions relay-check holds at one server (address and port) at any time,
 * counting the ones it left that the server has not closed yet. A lower limit
 * is learned from a `421 … too many connections` greeting.
 */
const SESSION_SLOTS = POSTFIX_CONNECTION_COUNT_LIMIT - CONNECTION_SLOT_MARGIN;
/**
 * How long a session we left is assumed to live when the server does not close
 * it: three of the longest error sleeps seen in the wild
 * (`smtpd_error_sleep_time = 10s`), since a session left mid-pipeline sleeps
 * once per command still queued.
 */
const RETIRED_SESSION_LIFETIME_MS = 30_000;
/**
 * Wait before trying again after `421 … too many connections` when none of our
 * own sessions is there to free a slot (someone else holds them); grows per
 * refusal up to the maximum.
 */
const SLOT_WAIT_MS = 1_000;
const SLOT_WAIT_MAX_MS = 5_000;
/**
 * Most recipients in one transaction: the least RFC 5321 §4.5.3.1.8 has every
 * server accept (Postfix smtpd_recipient_limit: 1000). A server with a lower
 * limit answers "452 too many recipients" past it; the vectors over it go again
 * in smaller transactions (ServerState.recipientLimit). Refusals never pile up:
 * a transaction starts no vector once its connection reached the error budget.
 */
const MAX_RCPTS_PER_TRANSACTION = 100;
/** Addresses tested at the same time in one run. */
const TARGET_CONCURRENCY = 32;

;// CONCATENATED MODULE: ./src/smtp/identity.ts

/**
 * The wire side of the identity tricks (src/battery/tricks.ts): PROXY protocol
 * headers, XCLIENT, and AUTH with nothing. Each only talks and returns what the
 * server said; what it means is decided elsewhere.
 */
/** The PROXY protocol v2 signature (HAProxy proxy-protocol.txt §2.2). */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/**
 * A PROXY header saying a TCP/IPv4 client `source` connected to `destination`. v1 is
 * one text line; v2 is binary: signature, version 2 + PROXY (0x21), TCP over IPv4
 * (0x11), 12 bytes of addresses and ports.
 */
function proxyHeader(version, source, destination, sourcePort, destinationPort) {
    if (!external_node_net_default().isIPv4(source) || !external_node_net_default().isIPv4(destination))
        throw new Error('proxyHeader: IPv4 addresses only');
    const v1 = `PROXY TCP4 ${source} ${destination} ${sourcePort} ${destinationPort}`;
    if (version === 1)
        return { bytes: Buffer.from(`${v1}\r\n`, 'latin1'), text: v1 };
    const body = Buffer.alloc(12);
    Buffer.from(source.split('.').map(Number)).copy(body, 0);
    Buffer.from(destination.split('.').map(Number)).copy(body, 4);
    body.writeUInt16BE(sourcePort, 8);
    body.writeUInt16BE(destinationPort, 10);
    const head = Buffer.from([0x21, 0x11, 0x00, body.length]);
    return { bytes: Buffer.concat([V2_SIGNATURE, head, body]), text: `(PROXY v2 binary header: TCP4 ${source}:${sourcePort} → ${destination}:${destinationPort})` };
}
/** XCLIENT as `address`, then EHLO again (the server starts a new session): the refusal when it is not 220. */
async function xclientAs(session, address, helo, timeoutMs) {
    const addr = external_node_net_default().isIPv6(address) ? `IPV6:${address}` : address;
    const reply = await session.command(`XCLIENT ADDR=${addr}`, timeoutMs);
    if (reply.code !== 220)
        return { reply };
    return { reply, ehlo: await session.hello(helo) };
}
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
/**
 * AUTH with nothing: ANONYMOUS with a trace string (RFC 4505 §2), or PLAIN / LOGIN as
 * `user` with an empty password. The last reply: 235 means authenticated. Never sends
 * a password.
 */
async function authWithNothing(session, mechanism, user, timeoutMs) {
    if (mechanism === 'ANONYMOUS')
        return session.command(`AUTH ANONYMOUS ${b64('relay-check')}`, timeoutMs);
    if (mechanism === 'PLAIN')
        return session.command(`AUTH PLAIN ${b64(`\0${user}\0`)}`, timeoutMs);
    const first = await session.command('AUTH LOGIN', timeoutMs);
    if (first.code !== 334)
        return first;
    const second = await session.command(b64(user), timeoutMs);
    if (second.code !== 334)
        return second;
    // The empty password: a zero-length response is an empty line (RFC 4954 §4).
    return session.command('', timeoutMs);
}
/** The SASL mechanisms an EHLO reply offers (`250-AUTH PLAIN LOGIN`, and the old `AUTH=` form). */
function authMechanisms(ehloLines) {
    const out = new Set();
    for (const l of ehloLines) {
        const m = /^AUTH[ =](.*)$/i.exec(l.trim());
        if (m)
            for (const mech of m[1].trim().split(/\s+/))
                if (mech)
                    out.add(mech.toUpperCase());
    }
    return [...out];
}

;// CONCATENATED MODULE: ./src/smtp/reply.ts

class ProtocolError extends Error {
    kind;
    constructor(message, kind) {
        super(message);
        this.kind = kind;
        this.name = 'ProtocolError';
    }
}
/** A server line as it may be stored and shown: no control characters, bounded. */
function sanitizeLine(line, max = 512) {
    // eslint-disable-next-line no-control-regex
    const clean = line.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    return clean.length > max ? `${clean.slice(0, max)}…[${clean.length - max} more]` : clean;
}
const LINE = /^(\d{3})([ -]?)(.*)$/s;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;
/** Splits an enhanced status code off the start of a reply text when its class matches the code. */
function splitEnhanced(code, text) {
    const m = ENHANCED.exec(text);
    if (!m || Number(m[1]) !== Math.floor(code / 100))
        return { rest: text };
    return { enhanced: `${m[1]}.${m[2]}.${m[3]}`, rest: text.slice(m[0].length).trimStart() };
}
/** Reply as one readable line, for reports: "454 4.7.1 <x>: Relay access denied". */
function formatReply(r) {
    return r.raw.join(' / ');
}
/** Full text of a reply without codes, for classification by wording. */
function replyText(r) {
    return r.lines.join('\n');
}
/**
 * Incremental reply reader: feed it bytes as they arrive, take complete replies.
 * It enforces the caps of LIMITS so a hostile server cannot grow memory without
 * bound, and throws ProtocolError on anything that is not an SMTP reply.
 */
class ReplyReader {
    limits;
    buffer = '';
    pending;
    total = 0;
    constructor(limits = LIMITS) {
        this.limits = limits;
    }
    /** Returns every reply completed by this chunk, in order. */
    feed(chunk) {
        const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
        this.total += text.length;
        if (this.total > this.limits.maxSessionBytes) {
            throw new ProtocolError(`server sent more than ${this.limits.maxSessionBytes} bytes in one session`, 'too-many-bytes');
        }
        this.buffer += text;
        const out = [];
        let nl;
        while ((nl = this.buffer.indexOf('\n')) >= 0) {
            const line = this.buffer.slice(0, nl).replace(/\r$/, '');
            this.buffer = this.buffer.slice(nl + 1);
            if (line.length > this.limits.maxLineBytes)
                throw this.tooLong();
            const reply = this.line(line);
            if (reply)
                out.push(reply);
        }
        // A trailing CR may be half of the line's CRLF: it does not count toward the line.
        const pending = this.buffer.endsWith('\r') ? this.buffer.length - 1 : this.buffer.length;
        if (pending > this.limits.maxLineBytes)
            throw this.tooLong();
        return out;
    }
    /** True while a multi-line reply has started but not ended. */
    get midReply() {
        return this.pending !== undefined || this.buffer.length > 0;
    }
    tooLong() {
        return new ProtocolError(`reply line longer than ${this.limits.maxLineBytes} bytes`, 'line-too-long');
    }
    line(line) {
        const m = LINE.exec(line);
        if (!m)
            throw new ProtocolError(`malformed reply line: ${sanitizeLine(line, 80)}`, 'malformed');
        const code = Number(m[1]);
        const sep = m[2];
        if (code < 200 || code > 599)
            throw new ProtocolError(`reply code ${m[1]} out of range`, 'malformed');
        if (sep === '' && m[3] !== '')
            throw new ProtocolError(`malformed reply line: ${sanitizeLine(line, 80)}`, 'malformed');
        if (this.pending && this.pending.code !== code) {
            throw new ProtocolError(`reply code changed from ${this.pending.code} to ${code} inside a multi-line reply`, 'malformed');
        }
        const p = (this.pending ??= { code, raw: [], texts: [] });
        p.raw.push(sanitizeLine(line));
        p.texts.push(sanitizeLine(m[3]));
        if (p.raw.length > this.limits.maxLinesPerReply) {
            throw new ProtocolError(`reply longer than ${this.limits.maxLinesPerReply} lines`, 'too-many-lines');
        }
        if (sep === '-')
            return undefined;
        this.pending = undefined;
        const { enhanced, rest } = splitEnhanced(code, p.texts[0]);
        const lines = [rest, ...p.texts.slice(1).map((t) => splitEnhanced(code, t).rest)];
        return enhanced ? { code, enhanced, lines, raw: p.raw } : { code, lines, raw: p.raw };
    }
}
/** Parses a complete reply from text (tests, the classification table's examples). */
function parseReply(text) {
    const reader = new ReplyReader();
    const replies = reader.feed(text.endsWith('\n') ? text : `${text}\r\n`);
    if (replies.length !== 1 || reader.midReply)
        throw new ProtocolError('expected exactly one complete reply', 'malformed');
    return replies[0];
}

;// CONCATENATED MODULE: external "node:tls"
const external_node_tls_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");
var external_node_tls_default = /*#__PURE__*/__nccwpck_require__.n(external_node_tls_namespaceObject);
;// CONCATENATED MODULE: ./src/smtp/session.ts




/** Why a session could not go on; carries what the user needs to see. */
class SessionError extends Error {
    kind;
    /** What was said before the failure, when the session is gone with it. */
    transcript = [];
    /** The server's reply that ended it, when one did. */
    reply;
    constructor(kind, message) {
        super(message);
        this.kind = kind;
        this.name = 'SessionError';
    }
}
/**
 * The client side of every TLS session. A relay test is not a TLS audit: a server
 * that only speaks TLS 1.0 or 1.1 (with the SHA-1 signatures and short keys that
 * come with them) still relays or refuses inside it, so it is entered and its
 * protocol reported as legacy. Node's defaults (minVersion TLSv1.2) end such a
 * handshake with "tlsv1 alert protocol version", which left the server untested
 * inside TLS. The ClientHello still offers TLS 1.3 first, so a current server
 * negotiates as before. OpenSSL's DEFAULT list has no anonymous or NULL ciphers,
 * so the server still shows its certificate. Measured: a Postfix limited to
 * TLSv1 or to TLSv1.1 completes the handshake with these settings, and with
 * Node's defaults does not, on Node 20.20 (OpenSSL 3.0.19) and Node 24.22
 * (OpenSSL 3.5.9) alike (__tests__/postfix-tls.test.ts; docs/mta-notes.md, "Legacy TLS").
 * At security level 0 the certificate check no longer refuses short keys or
 * SHA-1 signatures, so `verified` can be kinder than a default client there.
 */
const TEST_TLS = { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0', rejectUnauthorized: false };
/** Protocols RFC 8996 deprecates. */
const LEGACY_PROTOCOLS = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1'];
/**
 * One SMTP conversation over TCP. It only talks and listens: it records a
 * transcript and returns replies, and never decides what a reply means.
 */
class SmtpSession {
    socket;
    opts;
    transcript = [];
    started = Date.now();
    queue = [];
    waiter;
    failure;
    readTimer;
    ended = false;
    reader;
    /** TLS details once the session is encrypted. */
    tls;
    markGone = () => undefined;
    /** Settles once the socket is closed, by either side: the server no longer holds the session. */
    gone = new Promise((resolve) => (this.markGone = resolve));
    constructor(socket, opts) {
        this.socket = socket;
        this.opts = opts;
        this.reader = new ReplyReader(opts.limits ?? LIMITS);
        this.attach(socket);
    }
    attach(socket) {
        socket.on('data', (chunk) => this.onData(chunk));
        socket.on('error', (err) => this.fail(errorFromSocket(err, this.opts)));
        socket.on('close', () => {
            this.ended = true;
            this.fail(new SessionError('closed', 'the server closed the connection'));
            this.markGone();
        });
    }
    /**
     * STARTTLS (RFC 3207). Returns the server's reply; the session is encrypted
     * only when it was 220. Anything the server sent before the handshake is
     * thrown away (the STARTTLS command-injection flaw, CVE-2011-0411).
     */
    async startTls(timeoutMs) {
        const reply = await this.command('STARTTLS', timeoutMs ?? this.opts.connectTimeoutMs);
        if (reply.code !== 220)
            return reply;
        const plain = this.socket;
        plain.removeAllListeners('data');
        plain.removeAllListeners('close');
        plain.removeAllListeners('error');
        // Errors of the plain socket now surface through the TLS socket; its close
        // still says the server let the session go (a TLS socket may not emit close
        // after a half-close).
        plain.on('error', () => undefined);
        plain.on('close', () => this.markGone());
        this.queue.length = 0;
        this.reader = new ReplyReader(this.opts.limits ?? LIMITS);
        const secure = external_node_tls_default().connect({ ...TEST_TLS, socket: plain, servername: this.opts.serverName });
        this.socket = secure;
        this.attach(secure);
        const limit = this.limitTo(timeoutMs ?? this.opts.connectTimeoutMs);
        await this.handshake(secure, limit);
        await ticketsOrSoon(secure);
        this.note(`STARTTLS: ${describeTls(this.tls)}`);
        return reply;
    }
    handshake(secure, limit) {
        return new Promise((resolve, reject) => {
            const t = setTimeout(() => {
                const err = new SessionError('tls', `TLS handshake did not finish within ${(limit / 1000).toFixed(1)} s`);
                this.fail(err);
                this.destroy();
                reject(err);
            }, limit);
            secure.once('secureConnect', () => {
                clearTimeout(t);
                this.tls = tlsInfo(secure, this.opts.serverName);
                resolve();
            });
            secure.once('error', (e) => {
                clearTimeout(t);
                const err = new SessionError('tls', `TLS handshake failed: ${tlsReason(e)}`);
                this.fail(err);
                reject(err);
            });
        });
    }
    /** Connects and reads the complete greeting before anything is sent (postscreen drops early talkers). */
    static async connect(opts) {
        const socket = opts.implicitTls
            ? external_node_tls_default().connect({ ...TEST_TLS, host: opts.address, port: opts.port, servername: opts.serverName })
            : new (external_node_net_default()).Socket();
        // Every command is one write that waits for its reply: Nagle's algorithm would hold a
        // write back until the last one is acknowledged, and the peer's delayed ACK (40 ms on
        // Linux) then adds to every exchange that follows a TLS handshake's last flight.
        if (socket instanceof (external_node_net_default()).Socket)
            socket.setNoDelay(true);
        const session = new SmtpSession(socket, opts);
        session.note(`connect ${formatAddress(opts.address, opts.port)}${opts.implicitTls ? ' (implicit TLS)' : ''}`);
        let tcpUp = false;
        const connected = new Promise((resolve, reject) => {
            socket.once(opts.implicitTls ? 'secureConnect' : 'connect', () => {
                tcpUp = true;
                if (opts.preamble && !opts.implicitTls) {
                    session.transcript.push({ dir: 'C', text: sanitizeLine(opts.preamble.text), at: Date.now() - session.started });
                    socket.write(opts.preamble.bytes);
                }
                if (socket instanceof (external_node_tls_default()).TLSSocket) {
                    session.tls = tlsInfo(socket, opts.serverName);
                    session.note(`TLS: ${describeTls(session.tls)}`);
                }
                resolve();
            });
            // A refused or unroutable connection must end now, not at the connect timeout.
            socket.once('close', () => {
                if (!tcpUp)
                    reject(session.failure ?? new SessionError('closed', 'the connection closed before it was established'));
            });
        });
        if (!opts.implicitTls)
            socket.connect({ host: opts.address, port: opts.port });
        const limit = session.limitTo(opts.connectTimeoutMs);
        try {
            const greeting = await withTimeout(connected.then(() => session.read(limit + 100)), limit, () => tcpUp
                ? new SessionError('timeout', `connected, but no complete greeting within ${(opts.connectTimeoutMs / 1000).toFixed(1)} s`)
                : new SessionError('connect-timeout', `no connection within ${(opts.connectTimeoutMs / 1000).toFixed(1)} s`));
            return { session, greeting };
        }
        catch (e) {
            session.destroy();
            const err = session.failure ?? asSessionError(e);
            err.transcript = session.transcript;
            throw err;
        }
    }
    /** Sends one command and waits for its reply. */
    async command(line, timeoutMs) {
        this.write([line]);
        return this.next(timeoutMs);
    }
    /**
     * Sends commands in one write without waiting (RFC 2920 PIPELINING when there
     * are several: the caller must only do that when the server advertised it).
     * Read their replies with next().
     */
    send(lines) {
        this.write(lines);
    }
    /** The next reply, waiting at most timeoutMs (the reply timeout by default) and never past the deadline. */
    next(timeoutMs) {
        return this.read(this.limitTo(timeoutMs ?? this.opts.replyTimeoutMs ?? LIMITS.replyTimeoutMs));
    }
    /** EHLO, falling back to HELO when the server refuses EHLO (RFC 5321 §3.2); bounded like the greeting. */
    async hello(name) {
        const reply = await this.command(`EHLO ${name}`, this.opts.connectTimeoutMs);
        if (reply.code >= 200 && reply.code < 300) {
            return { verb: 'EHLO', reply, extensions: parseExtensions(reply) };
        }
        if (reply.code === 421)
            return { verb: 'EHLO', reply, extensions: new Map() };
        const helo = await this.command(`HELO ${name}`, this.opts.connectTimeoutMs);
        return { verb: 'HELO', reply: helo, extensions: new Map() };
    }
    /**
     * Polite goodbye: QUIT with a short wait, then the socket is gone either way.
     *
     * `wait: false` is for a server that now delays every reply (Postfix's error
     * sleep after its soft error limit) or still owes replies: our end is closed
     * without a QUIT, since the server would hold the session (and its process)
     * through one more sleep just to answer it, while end of input ends it at
     * once. The socket stays open for reading until the server closes it, or
     * lingerMs passed: `gone` says when the server let the session go.
     */
    async quit(opts = { wait: true }) {
        if (!opts.wait) {
            if (!this.closed) {
                this.note('closing without QUIT: the server delays its replies');
                this.socket.end();
                // Neither this timer nor the half-closed socket may keep the process alive.
                setTimeout(() => this.destroy(), opts.lingerMs ?? LIMITS.quitTimeoutMs).unref();
                this.socket.unref();
                // A reply we stopped waiting for may still be awaited (to settle the budget): not at the cost of the process's exit.
                this.readTimer?.unref();
            }
            else {
                this.destroy();
            }
            this.ended = true;
            return;
        }
        if (!this.ended && !this.failure) {
            try {
                await this.command('QUIT', LIMITS.quitTimeoutMs);
            }
            catch {
                // The server may hang up first or sleep on errors; we are leaving anyway.
            }
        }
        this.destroy();
    }
    destroy() {
        if (!this.socket.destroyed)
            this.socket.destroy();
        this.ended = true;
        // A socket destroyed before it ever connected may not emit close on every path.
        this.markGone();
    }
    get closed() {
        return this.ended || this.failure !== undefined;
    }
    /** Our end of the connection: the address the server sees us connect from (before any NAT). */
    get localAddress() {
        return this.socket.localAddress ?? null;
    }
    /** Milliseconds until the run's deadline, or Infinity. */
    limitTo(ms) {
        const left = this.opts.deadline === undefined ? Infinity : this.opts.deadline - Date.now();
        return Math.max(0, Math.min(ms, left));
    }
    note(text) {
        this.transcript.push({ dir: '*', text, at: Date.now() - this.started });
    }
    write(lines) {
        if (this.failure)
            throw this.failure;
        for (const l of lines.flatMap((x) => x.split('\r\n')))
            this.transcript.push({ dir: 'C', text: sanitizeLine(l), at: Date.now() - this.started });
        this.socket.write(lines.map((l) => `${l}\r\n`).join(''));
    }
    onData(chunk) {
        let replies;
        try {
            replies = this.reader.feed(chunk);
        }
        catch (e) {
            const msg = e instanceof ProtocolError ? e.message : String(e);
            this.fail(new SessionError('protocol', msg));
            this.destroy();
            return;
        }
        for (const r of replies) {
            for (const raw of r.raw)
                this.transcript.push({ dir: 'S', text: raw, at: Date.now() - this.started });
            if (this.waiter) {
                const w = this.waiter;
                this.waiter = undefined;
                w.resolve(r);
            }
            else {
                this.queue.push(r);
            }
        }
    }
    fail(err) {
        if (!this.failure) {
            this.failure = err;
            this.note(`${err.kind}: ${err.message}`);
        }
        if (this.waiter) {
            const w = this.waiter;
            this.waiter = undefined;
            w.reject(this.failure);
        }
    }
    read(timeoutMs, kind = 'timeout') {
        const queued = this.queue.shift();
        if (queued)
            return Promise.resolve(queued);
        if (this.failure)
            return Promise.reject(this.failure);
        const deadlineHit = this.opts.deadline !== undefined && Date.now() >= this.opts.deadline;
        if (deadlineHit || timeoutMs <= 0) {
            return Promise.reject(new SessionError('deadline', 'the run deadline was reached'));
        }
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.readTimer = undefined;
                this.waiter = undefined;
                const atDeadline = this.opts.deadline !== undefined && Date.now() >= this.opts.deadline - 5;
                const err = atDeadline
                    ? new SessionError('deadline', 'the run deadline was reached')
                    : new SessionError(kind, `no complete reply within ${(timeoutMs / 1000).toFixed(1)} s`);
                this.fail(err);
                this.destroy();
                reject(err);
            }, timeoutMs);
            this.readTimer = timer;
            this.waiter = {
                resolve: (r) => {
                    clearTimeout(timer);
                    resolve(r);
                },
                reject: (e) => {
                    clearTimeout(timer);
                    reject(e);
                },
            };
        });
    }
}
function tlsInfo(s, serverName) {
    const cert = s.getPeerCertificate();
    let verifyError = s.authorized ? null : String(s.authorizationError ?? 'not trusted');
    if (!verifyError && serverName && cert && Object.keys(cert).length > 0) {
        verifyError = external_node_tls_default().checkServerIdentity(serverName, cert)?.message ?? null;
    }
    const subject = cert?.subject?.CN;
    const protocol = s.getProtocol() ?? null;
    return {
        protocol,
        legacy: protocol !== null && LEGACY_PROTOCOLS.includes(protocol),
        cipher: s.getCipher()?.name ?? null,
        verified: verifyError === null,
        verifyError,
        subject: typeof subject === 'string' ? subject : Array.isArray(subject) ? subject.join(', ') : null,
    };
}
function describeTls(t) {
    if (!t)
        return 'none';
    return `${t.protocol ?? '?'}${t.legacy ? ' (legacy)' : ''} ${t.cipher ?? '?'}, certificate ${t.subject ? `CN=${t.subject} ` : ''}${t.verified ? 'verifies' : `would not verify (${t.verifyError})`}`;
}
function parseExtensions(reply) {
    const ext = new Map();
    for (const line of reply.lines.slice(1)) {
        const [kw, ...params] = line.trim().split(/\s+/);
        if (kw)
            ext.set(kw.toUpperCase(), params.join(' '));
    }
    return ext;
}
function formatAddress(address, port) {
    return external_node_net_default().isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}
function errorFromSocket(err, opts) {
    const where = formatAddress(opts.address, opts.port);
    switch (err.code) {
        case 'ECONNREFUSED':
            return new SessionError('connect-refused', `connection to ${where} refused`);
        case 'ENETUNREACH':
        case 'EHOSTUNREACH':
        case 'EADDRNOTAVAIL':
        case 'EAFNOSUPPORT':
            return new SessionError('unreachable', `no route to ${where} (${err.code})`);
        case 'ECONNRESET':
        case 'EPIPE':
            return new SessionError('closed', `connection reset by the server (${err.code})`);
        default:
            // An implicit-TLS handshake fails here, not in handshake(): the same words as STARTTLS's.
            if (err.code?.startsWith('ERR_SSL_'))
                return new SessionError('tls', `${where}: TLS handshake failed: ${tlsReason(err)}`);
            return new SessionError('closed', `${where}: ${err.message}`);
    }
}
/**
 * OpenSSL's reason without its address-and-file dump: "80CC…:error:0A00042E:SSL
 * routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1601:SSL
 * alert number 70" says "tlsv1 alert protocol version (SSL alert number 70)".
 */
function tlsReason(e) {
    const m = /:SSL routines:[^:]*:([^:]+):[^\n]*?(SSL alert number \d+)?\s*$/.exec(e.message);
    if (!m)
        return e.message.trim();
    return m[2] ? `${m[1]} (${m[2]})` : m[1];
}
function asSessionError(e) {
    return e instanceof SessionError ? e : new SessionError('protocol', e instanceof Error ? e.message : String(e));
}
function withTimeout(p, ms, onTimeout) {
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(onTimeout()), ms);
        p.then((v) => {
            clearTimeout(t);
            resolve(v);
        }, (e) => {
            clearTimeout(t);
            reject(asSessionError(e));
        });
    });
}
/**
 * How long to wait for a TLS 1.3 server's session tickets before speaking.
 * The server sends them right after the handshake; a command written before
 * they arrive leaves them unacknowledged, and a server that writes with
 * Nagle's algorithm on (Postfix) then holds its reply until the client's
 * delayed ACK: 40 ms on Linux, on every STARTTLS session.
 */
const TLS_TICKET_WAIT_MS = 20;
/** Resolves once the first session ticket came (its ACK then rides on our next command), or after TLS_TICKET_WAIT_MS. */
function ticketsOrSoon(secure) {
    if (secure.getProtocol() !== 'TLSv1.3')
        return Promise.resolve();
    return new Promise((resolve) => {
        const done = () => {
            clearTimeout(t);
            secure.off('session', done);
            // Not from inside the event: it is emitted while the TLS layer is still reading the
            // record, and a write made there (the next command) never reached the server.
            setImmediate(resolve);
        };
        const t = setTimeout(done, TLS_TICKET_WAIT_MS);
        secure.on('session', done);
    });
}

;// CONCATENATED MODULE: ./src/verdict/replies.ts
const REPLY_RULES = [
    // --- accepted ---
    { id: 'accepted', outcome: 'relayed', reason: 'accepted (2xx)', codes: [200, 299], example: '250 2.1.5 Ok', alsoSeen: ['250 2.1.5 Destination address valid: Recipient ok', '251 2.1.5 User not local; will forward', '250 Accepted'], provenance: 'RFC 5321 §4.2.1; Postfix; OpenSMTPD; Exim' },
    // --- the session ended or must be resumed ---
    { id: 'service-closing', outcome: 'inconclusive', reason: 'the server closed the session (421)', codes: [421, 421], example: '421 4.7.0 mx.example.org Error: too many errors', provenance: 'Postfix smtpd_hard_error_limit' },
    // --- not relay denials although they look like policy ---
    { id: 'greylisted', outcome: 'inconclusive', reason: 'greylisted: deferred until a retry', codes: [400, 499], text: /grey ?list|gray ?list/i, example: '450 4.2.0 <relay-check@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html', provenance: 'postgrey' },
    { id: 'greylisted-code', outcome: 'inconclusive', reason: 'greylisted: deferred until a retry', codes: [400, 499], enhanced: /^4\.2\.0$/, example: '451 4.2.0 Try again later', provenance: 'RFC 3463 4.2.0 (greylisting MTAs)' },
    { id: 'starttls-required', outcome: 'inconclusive', subject: 'client', reason: 'the server demands STARTTLS before it will talk about mail', codes: [530, 530], text: /starttls/i, example: '530 5.7.0 Must issue a STARTTLS command first', provenance: 'Postfix smtpd_tls_security_level=encrypt' },
    // --- relay denials by wording (work with or without enhanced codes); before the
    // rate-limit and blocklist rows, whose words also appear in relay denials ---
    { id: 'exchange-online-relay', outcome: 'denied', relayDecision: true, reason: 'relay denied', enhanced: /^5\.7\.64$/, example: '550 5.7.64 TenantAttribution; Relay Access Denied [SN1NAM02FT0.eop-nam02.prod.protection.outlook.com]', provenance: 'Exchange Online' },
    { id: 'postfix-relay-denied', outcome: 'denied', relayDecision: true, reason: 'relay denied', text: /relay access denied/i, example: '454 4.7.1 <relay-check@example.com>: Relay access denied', alsoSeen: ['554 5.7.1 <relay-check@example.com>: Relay access denied'], provenance: 'Postfix defer_unauth_destination (stock), reject_unauth_destination' },
    { id: 'exim-relay-not-permitted', outcome: 'denied', relayDecision: true, reason: 'relay denied', text: /relay(ing)? not permitted/i, example: '550 relay not permitted', provenance: 'Exim default ACL' },
    { id: 'sendmail-relaying-denied', outcome: 'denied', relayDecision: true, reason: 'relay denied', text: /relaying denied/i, example: '550 5.7.1 <relay-check@example.com>... Relaying denied. Proper authentication required.', alsoSeen: ['550 5.7.1 <relay-check@example.com>... Relaying denied'], provenance: 'Sendmail (confRELAY_MSG; the stock text is "Relaying denied", measured: Sendmail 8.17.1.9, __tests__/sendmail.test.ts)' },
    { id: 'qmail-rcpthosts', outcome: 'denied', relayDecision: true, reason: 'relay denied (qmail rcpthosts)', text: /rcpthosts/i, example: "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", provenance: 'qmail-smtpd' },
    { id: 'exchange-unable-to-relay', outcome: 'denied', relayDecision: true, reason: 'relay denied', text: /unable to relay/i, example: '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain', alsoSeen: ['550 5.7.1 Unable to relay'], provenance: 'Microsoft Exchange 2013+' },
    { id: 'generic-relay-wording', outcome: 'denied', relayDecision: true, reason: 'relay denied', text: /we do not relay|relaying (is )?not allowed|no relaying|not (allowed|authorized) to relay|relay(ing)? (is )?(prohibited|refused|forbidden)/i, example: '550 we do not relay', provenance: 'various (mailradar transcripts)' },
    // Haraka sends it when no rcpt plugin took the recipient and the client may not relay: its
    // relay denial, with no enhanced code and no word of relaying (else "refused (permanent failure)").
    { id: 'haraka-cannot-deliver', outcome: 'denied', relayDecision: true, reason: 'relay denied', codes: [500, 599], text: /^I cannot deliver mail for </i, example: '550 I cannot deliver mail for <relay-check@example.com>', alsoSeen: ['550 I cannot deliver mail for <relay-check%example.com@[127.0.0.1]>', '550 I cannot deliver mail for <postmaster>'], provenance: 'Haraka connection.js rcpt_respond (rcpt_to.in_host_list passes over a domain not in host_list, the relay plugin did not set relaying); measured once by hand: Haraka 3.3.4 (npm), default plugins, on loopback, for outside domains, an outside domain behind a source route, [127.0.0.1] and a bare local part (not a CI test)' },
    // --- the client: refused for who the runner is (inconclusive: another client may
    // still relay), or refused for every client it does not trust (a denial) ---
    { id: 'client-blocklisted', outcome: 'inconclusive', subject: 'client', reason: "the runner's address is on a blocklist, so the relay policy was never reached: run from an address that is not listed", text: /\bblocked using\b|\bis in an? (black|block) ?list at\b|\bon our block ?list\b|\bbanned sending ip\b/i, example: '554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.7', alsoSeen: ['550 5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org', '554 Service unavailable; Client host [192.0.2.7] blocked using dnsbl.sorbs.net; See: http://www.dnsbl.sorbs.net/lookup.shtml', '550 rejected because 192.0.2.7 is in a black list at zen.spamhaus.org', "550 5.7.1 Unfortunately, messages from [192.0.2.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150)."], provenance: 'Postfix reject_rbl_client and postscreen_dnsbl_sites (default reply); Exim dnslists default message; Outlook.com S3150' },
    { id: 'client-no-reverse-dns', outcome: 'inconclusive', subject: 'client', reason: 'the runner has no (forward-confirmed) reverse DNS name, so the relay policy was never reached: run from an address with one', text: /cannot find your (reverse )?hostname|reverse (dns|lookup|hostname) (fail|mismatch|required|not found)/i, example: '450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.7]', alsoSeen: ['450 4.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.7]', '550 Client host rejected: cannot find your hostname, [192.0.2.7]'], provenance: 'Postfix reject_unknown_client_hostname, reject_unknown_reverse_client_hostname (unknown_client_reject_code 450)' },
    { id: 'client-reputation', outcome: 'inconclusive', subject: 'client', reason: "the runner's address was refused for its reputation, so the relay policy was never reached: run from another address", codes: [400, 599], text: /\b(poor|bad|low) (ip |sender |sending )?reputation\b|\breputation (score|of the sending)\b/i, example: "554 Your access to this mail system has been rejected due to the sending MTA's poor reputation. If you believe that this failure is in error, please contact the intended recipient via alternate means.", provenance: 'GoDaddy (secureserver.net) inbound MX, as quoted in bounce reports (SmarterTools KB a3500 "554 Error - MTA Poor Reputation"); IronPort SenderBase reputation filtering' },
    // postscreen's enforce action (a client on its access list, or over the DNSBL threshold) lets the
    // session go on and answers every RCPT so: the smtpd and its relay policy behind it are never asked.
    { id: 'postscreen-enforce', outcome: 'inconclusive', subject: 'client', reason: "postscreen refuses the runner's address (its access list or DNSBL score, action enforce), so the relay policy behind it was never reached: run from an address postscreen lets through", codes: [500, 599], enhanced: /^5\.3\.2$/, text: /service currently unavailable/i, example: '550 5.3.2 Service currently unavailable', provenance: 'Postfix postscreen(8) postscreen_denylist_action / postscreen_dnsbl_action = enforce ("Reject attempts to deliver mail with a 550 SMTP reply", postconf(5)); measured: Postfix 3.7 with postscreen_access_list = cidr:{ 203.0.113.10 reject } (__tests__/evidence.test.ts)' },
    // RFC 7372: the sender or client failed an authentication check. About who sends, not where to.
    { id: 'sender-authentication', outcome: 'inconclusive', subject: 'sender', reason: "the sender failed an authentication check of its domain (SPF, DKIM, DMARC: RFC 7372), so the relay was not tested: set `sender` to an address the server would accept from the runner", enhanced: /^[45]\.7\.2[346]$/, example: '550 5.7.23 <relay-check@example.com>: Recipient address rejected: Message rejected due to: SPF fail - not authorized. Please see http://www.open-spf.org/Why?s=mfrom;id=relay-check@example.com;ip=192.0.2.7;r=<UNKNOWN>', alsoSeen: ['550 5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.'], provenance: 'RFC 7372 §3.2 (5.7.23 SPF validation failed, 5.7.24 SPF validation error, 5.7.26 multiple authentication checks failed; 5.7.27, null MX, is the sender-verification row\'s); postfix-policyd-spf-python reject text; Gmail bulk-sender requirements (2024)' },
    { id: 'client-reverse-dns-code', outcome: 'inconclusive', subject: 'client', reason: 'the runner failed a reverse DNS check (RFC 7372 5.7.25), so the relay policy was never reached: run from an address with a reverse DNS name', enhanced: /^[45]\.7\.25$/, example: '550 5.7.25 Reverse DNS validation failed', provenance: 'RFC 7372 §3.2 (5.7.25 reverse DNS validation failed)' },
    { id: 'rate-limited', outcome: 'inconclusive', subject: 'client', reason: 'rate or concurrency limit for the runner: try again later', codes: [400, 499], text: /too many (recipients|connections|messages|errors|sessions)|rate limit|exceeded .*\b(rate|limit)\b|try again later/i, example: '450 4.7.1 Error: too many recipients from 192.0.2.7', alsoSeen: ['452 4.3.2 Too many connections from 192.0.2.7', '450 4.7.1 <relay-check@example.com>: Recipient address rejected: Rate limit exceeded, try again later'], provenance: 'Postfix smtpd_client_recipient_rate_limit / anvil; smtpd_client_connection_count_limit' },
    // Postfix answers `reject` and an access-map REJECT without text with "Access denied":
    // nothing in it names the runner, so it refuses every client it does not trust.
    { id: 'client-refused-auth-only', outcome: 'denied', subject: 'client', when: { auth: true }, reason: 'every unauthenticated client is refused and the service offers AUTH: it relays only for authenticated clients', codes: [500, 599], text: /client host rejected: access denied/i, example: '554 5.7.1 <unknown[203.0.113.10]>: Client host rejected: Access denied', provenance: 'Postfix submission/smtps services: -o smtpd_client_restrictions=permit_sasl_authenticated,reject (docker-mailserver, iRedMail, Debian master.cf template)' },
    { id: 'client-refused', outcome: 'denied', subject: 'client', evidence: 'control', reason: 'every client the server does not trust is refused ("Access denied" names nothing about the runner): it relays for no outside client', codes: [500, 599], text: /client host rejected: access denied/i, example: '554 5.7.1 <unknown[203.0.113.10]>: Client host rejected: Access denied', provenance: 'Postfix smtpd_client_restrictions = permit_mynetworks, reject (iRedMail content-filter re-injection service)' },
    { id: 'client-rejected', outcome: 'inconclusive', subject: 'client', reason: 'the client (the runner) was refused for who it is, not the relay: another client may still relay', text: /client host rejected|client host .* blocked|your (ip|host|address|network|country) .*(blocked|rejected|listed|not (allowed|accepted))/i, example: '554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: Your network is not allowed to send mail here', alsoSeen: ['450 4.7.1 <unknown[192.0.2.7]>: Client host rejected: Access denied'], provenance: 'Postfix check_client_access with a REJECT text or DEFER (access(5))' },
    { id: 'postscreen-reconnect', outcome: 'inconclusive', reason: 'the server asks the client to reconnect later', enhanced: /^4\.3\.2$/, example: '450 4.3.2 Service currently unavailable', provenance: 'Postfix postscreen after deep protocol tests' },
    // --- the sender: refused for its form or as not valid here (a denial of that form),
    // or refused by checks on our sender domain and the DNS (inconclusive) ---
    { id: 'sender-form-refused', outcome: 'denied', subject: 'sender', reason: 'the sender form was refused (not fully qualified): the server cannot be used to relay with it', text: /sender address rejected: need fully-qualified/i, example: '504 5.5.2 <relay-check@localhost>: Sender address rejected: need fully-qualified address', alsoSeen: ['504 5.5.2 <relay-check>: Sender address rejected: need fully-qualified address'], provenance: 'Postfix reject_non_fqdn_sender (Mail-in-a-Box, iRedMail)' },
    { id: 'sender-not-valid-here', outcome: 'denied', subject: 'sender', reason: 'the sender was refused as not valid here (the server knows it is no sender of its own)', codes: [500, 599], text: /sender address rejected: (user unknown|not owned by|not logged in|access denied)/i, example: '550 5.1.0 <relay-check@example.net>: Sender address rejected: User unknown in virtual mailbox table', alsoSeen: ['550 5.1.0 <relay-check@mail.example.net>: Sender address rejected: User unknown in local recipient table', '553 5.7.1 <relay-check@example.net>: Sender address rejected: not owned by user alice', '553 5.7.1 <relay-check@example.net>: Sender address rejected: not logged in', '554 5.7.1 <relay-check@[127.0.0.1]>: Sender address rejected: Access denied'], provenance: 'Postfix reject_unlisted_sender, reject_sender_login_mismatch / reject_unauthenticated_sender_login_mismatch, check_sender_access REJECT' },
    { id: 'sender-verification', outcome: 'inconclusive', subject: 'sender', reason: 'the sender was refused by a DNS or verification check of its domain, so the relay was not tested: set `sender` to an address the server would accept', stages: ['mail', 'rcpt'], text: /sender address rejected: (domain not found|undeliverable|unverified|.*does not accept mail)|sender verify (failed|defer)|unverifiable sender/i, example: '450 4.1.8 <relay-check@example.com>: Sender address rejected: Domain not found', alsoSeen: ['550 5.7.27 <relay-check@example.com>: Sender address rejected: Domain example.com does not accept mail (nullMX)', '450 4.1.7 <relay-check@example.com>: Sender address rejected: unverified address: host example.com[192.0.2.1] said: 550 5.1.1 no such user', '550-Verification failed for <relay-check@example.com>\r\n550 Sender verify failed'], provenance: 'Postfix reject_unknown_sender_domain (null MX: RFC 7505) / reject_unverified_sender; Exim verify = sender' },
    { id: 'sender-verification-code', outcome: 'inconclusive', subject: 'sender', reason: 'the sender domain was refused by the DNS, so the relay was not tested: set `sender` to an address the server would accept', enhanced: /^[45]\.1\.8$/, example: '553 5.1.8 <relay-check@nonexistent.invalid>... Domain of sender address relay-check@nonexistent.invalid does not exist', provenance: 'Sendmail' },
    // Haraka's default mail_from.is_resolvable: the sender domain has no MX or address, a null
    // MX (5.7.27, which policy-5.7 would read as a denial) or a DNS error.
    { id: 'haraka-sender-dns', outcome: 'inconclusive', subject: 'sender', reason: 'the sender domain was refused by a DNS check (no MX, a null MX, or a resolver error), so the relay was not tested: set `sender` to an address the server would accept', stages: ['mail'], text: /^(no mx for your from address|null mx: \S+ does not send mail|temp\. resolver error\b)/i, example: '550 No MX for your FROM address', alsoSeen: ['550 5.7.27 Null MX: nullmx.test does not send mail', '450 Temp. resolver error (EBADNAME)'], provenance: 'Haraka plugin mail_from.is_resolvable (in the stock config/plugins; [reject] no_mx=deny); measured once by hand: Haraka 3.3.4 (npm) with no DNS for the sender domain, a null MX answer for nullmx.test put into its resolver by a preload (no DNS here), and a literal sender [127.0.0.1] (EBADNAME) (not a CI test)' },
    { id: 'sender-deferred', outcome: 'inconclusive', subject: 'sender', reason: 'the sender was deferred (temporary), so the relay was not tested: set `sender` to an address the server would accept', codes: [400, 499], text: /sender address rejected/i, example: '450 4.7.1 <relay-check@example.com>: Sender address rejected: Access denied', provenance: 'Postfix check_sender_access DEFER / defer_if_reject' },
    // Sendmail refuses a route form it will not parse with 5.1.2, the code of a refused
    // recipient domain: the wording decides before the code does.
    { id: 'sendmail-route-refused', outcome: 'denied', reason: 'address form refused (Sendmail will not take this route form)', codes: [500, 599], text: /\.\.\. (invalid route address|hostname required)$/i, example: '553 5.1.2 <relay-check@example.com@>... Invalid route address', alsoSeen: ['553 5.1.3 <relay-check@example.com@[127.0.0.1]>... Invalid route address', '553 5.1.3 <relay-check%example.com@>... Hostname required'], provenance: 'Sendmail 8.17.1.9 (Debian sendmail-bin), measured on loopback: parseaddr "Invalid route address" / "Hostname required"' },
    { id: 'recipient-domain', outcome: 'inconclusive', reason: 'the recipient domain was refused, not the relay: it may still be open to real domains (set `recipient` to a mailbox you own)', enhanced: /^[45]\.1\.(2|10)$/, example: '556 5.1.10 <relay-check@example.com>: Recipient address rejected: Domain example.com does not accept mail (nullMX)', alsoSeen: ['450 4.1.2 <relay-check@example.com>: Recipient address rejected: Domain not found'], provenance: 'Postfix reject_unknown_recipient_domain / null MX (RFC 7505)' },
    { id: 'recipient-domain-unknown', outcome: 'inconclusive', reason: 'the recipient domain was refused, not the relay: it may still be open to real domains', codes: [400, 499], text: /domain not found/i, stages: ['rcpt'], example: '450 <relay-check@example.com>: Recipient address rejected: Domain not found', provenance: 'Postfix reject_unknown_recipient_domain, smtpd_enhanced_status_codes = no' },
    { id: 'local-problem', outcome: 'inconclusive', reason: 'temporary failure on the server (lookup or configuration), not a relay decision', codes: [400, 499], enhanced: /^4\.3\.[05]$/, example: '451 4.3.0 <relay-check@example.com>: Temporary lookup failure', alsoSeen: ['451 4.3.5 Server configuration problem'], provenance: 'Postfix, missing alias database' },
    // --- authentication required: the server only relays for authenticated users ---
    { id: 'auth-required', outcome: 'denied', subject: 'client', evidence: 'control', reason: 'authentication required', codes: [500, 599], enhanced: /^5\.7\.(0|57)$/, text: /auth/i, example: '530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM', provenance: 'Microsoft Exchange' },
    { id: 'auth-required-530', outcome: 'denied', subject: 'client', evidence: 'control', reason: 'authentication required', codes: [530, 530], example: '530 Authentication required', provenance: 'RFC 4954 §6 (no enhanced code)' },
    // --- refused forms and recipients ---
    { id: 'unknown-user', outcome: 'denied', reason: 'unknown local user', enhanced: /^5\.1\.1$/, example: '550 5.1.1 <relay-check@mx.example.org>: Recipient address rejected: User unknown in local recipient table', provenance: 'Postfix local_recipient_maps' },
    { id: 'bad-syntax', outcome: 'denied', reason: 'address form refused as bad syntax', enhanced: /^5\.(1\.[37]|5\.[24])$/, example: '501 5.1.3 Bad recipient address syntax', provenance: 'Postfix' },
    { id: 'domain-literals', outcome: 'denied', reason: 'address form refused (domain literals not allowed)', text: /domain literals? not allowed/i, example: '501 <relay-check@[192.0.2.1]>: domain literals not allowed', provenance: 'Exim' },
    { id: 'syntax-code', outcome: 'denied', reason: 'address form refused as bad syntax', codes: [500, 501], example: '501 Syntax error in parameters', provenance: 'RFC 5321 §4.2.2' },
    { id: 'opensmtpd-invalid-recipient', outcome: 'denied', reason: 'recipient refused', codes: [500, 599], text: /invalid recipient/i, example: '550 Invalid recipient: <relay-check@example.com>', alsoSeen: ['550 Invalid recipient: <relay-check%example.com@[127.0.0.1]>', '550 Invalid recipient: <someone@opensmtpd.test>'], provenance: 'OpenSMTPD; measured: OpenSMTPD 6.8.0p2 sends it (no enhanced code) when no match rule takes the address, which is how it denies relaying, and for an unknown local user' },
    { id: 'bad-sequence', outcome: 'inconclusive', reason: 'command out of sequence (an earlier command failed)', codes: [503, 503], example: '503 5.5.1 Error: need MAIL command', provenance: 'Postfix after a refused MAIL FROM' },
    { id: 'policy-5.7', outcome: 'denied', evidence: 'control', reason: 'refused by policy', codes: [500, 599], enhanced: /^5\.7\.\d+$/, example: '554 5.7.1 <relay-check@example.com>: Recipient address rejected: Access denied', provenance: 'Postfix check_recipient_access REJECT' },
    // --- catch-alls ---
    { id: 'permanent-other', outcome: 'denied', evidence: 'control', reason: 'refused (permanent failure)', codes: [500, 599], example: '550 Requested action not taken: mailbox unavailable', provenance: 'RFC 5321 §4.2.2' },
    { id: 'temporary-other', outcome: 'inconclusive', reason: 'temporary failure that is not a relay denial', codes: [400, 499], example: '451 Requested action aborted: local error in processing', provenance: 'RFC 5321 §4.2.2' },
    { id: 'unexpected', outcome: 'inconclusive', reason: 'unexpected reply code', example: '354 End data with <CR><LF>.<CR><LF>', provenance: 'RFC 5321 (a reply that answers no RCPT)' },
];

;// CONCATENATED MODULE: ./src/verdict/classify.ts


function ruleMatches(rule, reply, stage, seen = {}) {
    if (rule.stages && !rule.stages.includes(stage))
        return false;
    if (rule.when?.auth !== undefined && rule.when.auth !== (seen.auth ?? false))
        return false;
    if (rule.codes && (reply.code < rule.codes[0] || reply.code > rule.codes[1]))
        return false;
    if (rule.enhanced && !(reply.enhanced && rule.enhanced.test(reply.enhanced)))
        return false;
    if (rule.text && !rule.text.test(replyText(reply)))
        return false;
    return true;
}
/**
 * What a reply is about: the row says so when it knows; else Postfix's wording
 * ("Sender address rejected", "Client host rejected": with smtpd_delay_reject
 * both come at RCPT); else the command it answered.
 */
function subjectOf(rule, reply, stage) {
    if (rule?.subject)
        return rule.subject;
    const text = replyText(reply);
    if (/sender address rejected/i.test(text))
        return 'sender';
    if (/client host rejected/i.test(text))
        return 'client';
    return stage === 'mail' ? 'sender' : stage === 'data' ? 'message' : 'recipient';
}
/** What one reply means, by the first matching row of the table. */
function classifyReply(reply, stage, rules = REPLY_RULES, seen = {}) {
    const rule = rules.find((r) => ruleMatches(r, reply, stage, seen));
    const subject = subjectOf(rule, reply, stage);
    // The table ends in catch-alls, so this only happens with a custom table.
    if (!rule)
        return { outcome: 'inconclusive', reason: `unclassified reply ${reply.code}`, rule: 'none', subject };
    return { outcome: rule.outcome, reason: rule.reason, rule: rule.id, subject };
}
const isOk = (r) => r.code >= 200 && r.code < 300;
/**
 * One attempt's result. A refused MAIL FROM decides by its own reply (a sender
 * form refused is a denial; a sender failing verification proves nothing).
 * Otherwise the relay destination's reply (the last RCPT) decides: local
 * recipients before it only set the stage, and their refusal is noted. With
 * `confirm`, acceptance must also survive DATA.
 */
function classifyAttempt(r, confirm, seen = {}) {
    if (!isOk(r.mail)) {
        const c = classifyReply(r.mail, 'mail', REPLY_RULES, seen);
        const outcome = c.outcome === 'relayed' ? 'inconclusive' : c.outcome;
        return { ...c, outcome, reason: `MAIL FROM refused: ${c.reason}`, decisive: r.mail, stage: 'mail' };
    }
    const last = r.rcpt[r.rcptCount - 1];
    if (!last || r.rcpt.length !== r.rcptCount) {
        // Callers send every RCPT once MAIL is accepted; anything else is a bug in the caller.
        throw new Error(`classifyAttempt: expected ${r.rcptCount} RCPT replies, got ${r.rcpt.length}`);
    }
    const refusedLocal = r.rcpt.slice(0, -1).find((x) => !isOk(x));
    const note = refusedLocal ? ` (the local recipient before it was refused: ${refusedLocal.code})` : '';
    if (!isOk(last)) {
        const c = classifyReply(last, 'rcpt', REPLY_RULES, seen);
        return { ...c, reason: `${c.reason}${note}`, decisive: last, stage: 'rcpt' };
    }
    if (r.localDestination) {
        return { outcome: 'inconclusive', reason: `a recipient at the server itself was accepted (${last.code}): local delivery, which is not relaying unless that mailbox forwards`, rule: 'accepted-local', subject: 'recipient', decisive: last, stage: 'rcpt' };
    }
    if (!confirm)
        return { outcome: 'relayed', reason: `RCPT TO accepted (${last.code})${note}`, rule: 'accepted', subject: 'recipient', decisive: last, stage: 'rcpt' };
    const dataReply = r.dataCommand ?? r.data;
    if (!dataReply)
        throw new Error('classifyAttempt: confirmation needs the DATA replies');
    if (isOk(dataReply))
        return { outcome: 'relayed', reason: `message accepted at end of DATA (${dataReply.code})`, rule: 'accepted', subject: 'message', decisive: dataReply, stage: 'data' };
    const c = classifyReply(dataReply, 'data');
    const outcome = c.outcome === 'relayed' ? 'inconclusive' : c.outcome;
    return { ...c, outcome, reason: `RCPT accepted but the message was refused: ${c.reason}`, decisive: dataReply, stage: 'data' };
}

;// CONCATENATED MODULE: ./src/smtp/setup.ts





const ok = (r) => r.code >= 200 && r.code < 300;
/**
 * Why a session could not become the client `client`, as one sentence of fact.
 * It names no input: the report is read by the action and the CLI alike, and
 * each renderer words the fix (authorize the runner, or drop the client
 * address) its own way (src/report/summary.ts untestedAdvice).
 */
function xclientAdvice(client, why) {
    return `XCLIENT as ${client}: ${why}`;
}
/**
 * A session ready for MAIL FROM: connected, greeted, EHLO'd, and when asked
 * inside STARTTLS and speaking as another client through XCLIENT (each
 * followed by a fresh EHLO). Anything short of that throws a SessionError
 * that carries the transcript, so the report can show what the server said.
 */
async function openSession(opts) {
    const { session, greeting } = await SmtpSession.connect(opts);
    const refuse = async (why, kind = 'closed', reply) => {
        await session.quit();
        const err = new SessionError(kind, why);
        err.transcript = session.transcript;
        err.reply = reply;
        throw err;
    };
    if (!ok(greeting))
        await refuse(`the server refused the session: ${formatReply(greeting)}`);
    let ehlo;
    try {
        ehlo = await session.hello(opts.helo);
        if (ok(ehlo.reply) && opts.starttls) {
            if (!ehlo.extensions.has('STARTTLS'))
                return await refuse('the server does not offer STARTTLS', 'tls');
            const r = await session.startTls();
            if (r.code !== 220)
                return await refuse(`STARTTLS refused: ${formatReply(r)}`, 'tls');
            ehlo = await session.hello(opts.helo);
        }
        if (ok(ehlo.reply) && opts.clientAddress) {
            // Postfix XCLIENT: the server applies the policy it would apply to that client.
            if (!ehlo.extensions.has('XCLIENT')) {
                return await refuse(xclientAdvice(opts.clientAddress, 'the server does not offer XCLIENT to this client'), 'xclient');
            }
            const addr = external_node_net_default().isIPv6(opts.clientAddress) ? `IPV6:${opts.clientAddress}` : opts.clientAddress;
            const r = await session.command(`XCLIENT ADDR=${addr} NAME=[UNAVAILABLE]`, opts.connectTimeoutMs);
            if (r.code !== 220) {
                // XCLIENT worked, and the outside client it made us is refused at once (Postfix with
                // smtpd_delay_reject = no and a client restriction): that is the server's policy answer.
                const c = classifyReply(r, 'mail', REPLY_RULES, { auth: ehlo.extensions.has('AUTH') });
                if (c.outcome === 'denied' && c.subject === 'client')
                    return await refuse(`the outside client ${opts.clientAddress} is refused before any mail command: ${formatReply(r)}`, 'client-refused', r);
                return await refuse(xclientAdvice(opts.clientAddress, `refused: ${formatReply(r)}`), 'xclient');
            }
            ehlo = await session.hello(opts.helo);
        }
    }
    catch (e) {
        if (e instanceof SessionError)
            e.transcript = session.transcript;
        throw e;
    }
    if (!ok(ehlo.reply))
        await refuse(`${ehlo.verb} ${opts.helo} refused: ${formatReply(ehlo.reply)}`);
    return { session, greeting, ehlo };
}

;// CONCATENATED MODULE: ./src/schedule/connect.ts








/** A refusal of a new connection for the sessions or connections we already have (Postfix, Sendmail). */
const CONNECTION_LIMIT = /too many connections|connection rate limit/i;
/** The same, naming a rate explicitly (Sendmail "421 4.3.2 Connection rate limit exceeded."): no short wait helps. */
const RATE_LIMIT = /connection rate limit/i;
/** The source port a proxy's header names for our sessions: any ephemeral port will do. */
const PROXY_SOURCE_PORT = 40_025;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const connect_asSessionError = (e) => (e instanceof SessionError ? e : new SessionError('protocol', String(e)));
/** How to open a session on the target (greeting, EHLO, STARTTLS, XCLIENT) as `clientAddress`. */
function setupFor(spec, opts, helo, clientAddress) {
    // Behind a PROXY-protocol port the client is named in the header, as the proxy would name it.
    const proxied = opts.viaProxy === true && spec.transport !== 'implicit' && external_node_net_default().isIPv4(spec.address) && (clientAddress === undefined || external_node_net_default().isIPv4(clientAddress));
    return {
        ...(proxied ? { preamble: proxyHeader(1, clientAddress ?? '127.0.0.1', spec.address, PROXY_SOURCE_PORT, spec.port) } : {}),
        address: spec.address,
        port: spec.port,
        connectTimeoutMs: opts.connectTimeoutMs,
        replyTimeoutMs: opts.replyTimeoutMs,
        deadline: opts.deadline,
        implicitTls: spec.transport === 'implicit',
        serverName: external_node_net_default().isIP(spec.host) ? undefined : spec.host,
        helo,
        starttls: spec.transport === 'starttls',
        clientAddress: proxied ? undefined : clientAddress,
    };
}
/** Says another HELO on an open connection (RFC 5321 §4.1.4: EHLO again resets the session's state); a failure retires it. */
async function rehello(conn, helo) {
    try {
        const ehlo = await conn.session.hello(helo);
        if (ehlo.reply.code < 200 || ehlo.reply.code >= 300)
            return;
        conn.helo = helo;
        conn.ehlo = ehlo;
        conn.transactions = 0;
    }
    catch {
        // The caller sees the HELO unchanged (or the session closed) and retires the connection.
    }
}
/** One run's connections to the target, taken from the server's pool. */
class Connections {
    spec;
    opts;
    report;
    state;
    /** Connections this run holds open now: with a per-client connection rate, they carry the work. */
    live = 0;
    constructor(spec, opts, report, state) {
        this.spec = spec;
        this.opts = opts;
        this.report = report;
        this.state = state;
    }
    /** A session from the pool: waits for a free slot, and for another one after "421 too many connections". */
    async open(helo) {
        const { pool } = this.state;
        for (let refusals = 1;; refusals++) {
            const slot = await pool.acquire(this.opts.deadline);
            if (!slot)
                throw new SessionError('deadline', 'the run deadline was reached while waiting for a free connection slot');
            const index = ++this.report.connections;
            try {
                const { session, greeting, ehlo } = await openSession(setupFor(this.spec, this.opts, helo, this.opts.clientAddress));
                this.noteSession(index, session, greeting, ehlo);
                this.live++;
                return { session, index, helo, ehlo, errors: 0, transactions: 0, slot, abandoned: false };
            }
            catch (e) {
                const err = connect_asSessionError(e);
                if (!CONNECTION_LIMIT.test(err.message)) {
                    slot.release();
                    throw err;
                }
                // Postfix counts sessions we left while it sleeps out its error delay
                // (smtpd_client_connection_count_limit): wait for one of ours to end, or a while
                // when none of ours is there, and try again.
                const wait = pool.tooMany(refusals);
                slot.release();
                if (wait !== undefined)
                    await this.waitOutRate(err, wait);
            }
        }
    }
    /**
     * None of ours was held: not a count of our sessions but a rate of new ones (Postfix
     * smtpd_client_connection_rate_limit, Sendmail ClientRate). Each try is another
     * connection it counts: the ones we hold carry the work; only the last one waits.
     */
    async waitOutRate(err, wait) {
        this.state.learner.beFrugal(`the server limits new connections per client (${err.reply ? formatReply(err.reply) : err.message})`);
        if (this.live > 0)
            throw new SessionError('rate-limited', err.message);
        if (RATE_LIMIT.test(err.message) || Date.now() + wait >= this.opts.deadline)
            throw err;
        await sleep(wait);
    }
    /** What a new session tells the report: the greeting and TLS of the first one, and all the first connection says. */
    noteSession(index, session, greeting, ehlo) {
        const { report, spec } = this;
        report.greeting ??= formatReply(greeting);
        report.tls ??= session.tls ?? null;
        if (index !== 1)
            return;
        report.opening = [...session.transcript];
        // A bare greeting (a container id, a product banner) names nothing: the certificate's
        // name or the name the user connected to stand in, so the vectors that need it still run.
        report.serverName = serverName(greeting.lines[0], ehlo.reply.lines[0], session.tls?.subject ?? undefined, external_node_net_default().isIP(spec.host) ? undefined : spec.host) ?? null;
        report.extensions = [...ehlo.extensions.keys()];
        // The time to the second: what an admin greps the server's log for when it named no address.
        const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        report.vantage = vantageOf({ localAddress: session.localAddress, opening: report.opening, target: report.address || null, at }, this.opts.clientAddress ?? null);
    }
    /** Leaves a connection; its slot stays taken until the server lets the session go. */
    async leave(conn) {
        const { learner } = this.state;
        // Past the error budget (or with replies still owed) QUIT would be answered after an
        // error sleep: say it, close our side, and let the server end the session in its time.
        const wait = !conn.abandoned && !learner.maySleep(conn.errors);
        this.live--;
        learner.release(conn);
        await conn.session.quit({ wait, lingerMs: RETIRED_SESSION_LIFETIME_MS });
        conn.slot.retire(conn.session.gone);
    }
}

;// CONCATENATED MODULE: ./src/mta/evidence.ts
/**
 * The MTA-evidence table: what in a server's answers points at which MTA.
 * Rows are data, like the reply table (src/verdict/replies.ts): each carries a
 * real example it was written for and where that text comes from, and a test
 * walks every row. A banner can be changed by the operator, so nothing here is
 * proof; the weights say how hard a pattern is to produce by accident.
 */
const EVIDENCE_RULES = [
    // --- greetings that name the MTA ---
    { id: 'postfix-greeting', mta: 'Postfix', source: 'greeting', pattern: /^220[ -]\S+ ESMTP Postfix\b/im, weight: 3, what: 'the greeting names Postfix', example: '220 mx.example.org ESMTP Postfix (Debian/GNU)', provenance: 'Postfix smtpd_banner default "$myhostname ESMTP $mail_name" (postconf(5)); Debian appends "(Debian/GNU)"' },
    { id: 'postscreen-multiline-greeting', mta: 'Postfix', source: 'greeting', pattern: /^220-[^\n]*\n(?:[^\n]*\n)*220 /, weight: 1, what: 'a multi-line 220- greeting (postscreen greet pause: it sends 220- and waits to catch clients that talk early)', example: '220-mx.example.org ESMTP\n220 mx.example.org ESMTP', provenance: 'Postfix POSTSCREEN_README "Pregreet test" (postscreen_greet_banner, postscreen_greet_wait)' },
    { id: 'exim-greeting', mta: 'Exim', source: 'greeting', pattern: /^220[ -]\S+ ESMTP Exim (\d[\w.]*)/im, versionGroup: 1, weight: 3, what: 'the greeting names Exim and its version', example: '220 mx.exim.test ESMTP Exim 4.96 Wed, 02 Dec 2026 04:24:22 +0000', provenance: 'Exim smtp_banner default "$smtp_active_hostname ESMTP Exim $version_number $tod_full" (Exim spec, main options)' },
    { id: 'sendmail-greeting', mta: 'Sendmail', source: 'greeting', pattern: /^220[ -]\S+ ESMTP Sendmail (\d[\w.]*)/im, versionGroup: 1, weight: 3, what: 'the greeting names Sendmail and its version', example: '220 mx.sendmail.test ESMTP Sendmail 8.17.1.9/8.17.1.9; Wed, 2 Dec 2026 04:34:38 GMT', provenance: 'Sendmail SmtpGreetingMessage default "$j Sendmail $v/$Z; $b"; measured on Debian sendmail-bin 8.17.1.9' },
    { id: 'opensmtpd-greeting', mta: 'OpenSMTPD', source: 'greeting', pattern: /^220[ -]\S+ ESMTP OpenSMTPD\b/im, weight: 3, what: 'the greeting names OpenSMTPD', example: '220 mx.opensmtpd.test ESMTP OpenSMTPD', provenance: 'OpenSMTPD smtp_session.c banner "%s ESMTP OpenSMTPD" (no version shown); measured: OpenSMTPD 6.8.0p2 (Debian opensmtpd), listen … hostname mx.opensmtpd.test' },
    { id: 'exchange-greeting', mta: 'Microsoft Exchange', source: 'greeting', pattern: /^220[ -]\S+ Microsoft ESMTP MAIL Service(?:, Version: (\d[\d.]*))?/im, versionGroup: 1, weight: 3, what: 'the greeting names the Microsoft ESMTP MAIL Service', example: '220 EX01.contoso.com Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2024 10:00:00 +0000', provenance: 'Microsoft Exchange 2013+ receive connector default banner (older IIS SMTP: "Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready at")' },
    { id: 'haraka-greeting', mta: 'Haraka', source: 'greeting', pattern: /^220[ -]\S+ ESMTP Haraka(?:\/(\d[\w.]*))?/im, versionGroup: 1, weight: 3, what: 'the greeting names Haraka', example: '220 mx.haraka.test ESMTP Haraka/3.3.4 ready (E69F5C)', provenance: 'Haraka connection.js greeting "<me> ESMTP Haraka/<version> ready", then the first uuid.banner_chars (6 in the stock connection.ini) of the session id; measured once by hand: Haraka 3.3.4 (npm), default plugins, on loopback (not a CI test)' },
    { id: 'qmail-greeting', mta: 'qmail', source: 'greeting', pattern: /^220[ -]\S+ ESMTP qmail\b|\bnetqmail\b/im, weight: 3, what: 'the greeting names qmail', example: '220 mail.example.org ESMTP qmail 1.03', provenance: 'notqmail/netqmail smtpgreeting control file as commonly set' },
    // --- EHLO keywords and their order ---
    { id: 'postfix-ehlo-order', mta: 'Postfix', source: 'ehlo', pattern: /^PIPELINING SIZE( VRFY)? ETRN\b/i, weight: 2, what: 'EHLO keywords in Postfix order (PIPELINING, SIZE, VRFY, ETRN first)', example: 'PIPELINING SIZE VRFY ETRN STARTTLS ENHANCEDSTATUSCODES 8BITMIME DSN SMTPUTF8 CHUNKING', provenance: 'Postfix smtpd.c ehlo_cmd (fixed order of the EHLO reply lines)' },
    { id: 'sendmail-ehlo-verb', mta: 'Sendmail', source: 'ehlo', pattern: /\bVERB\b.*\bDELIVERBY\b/i, weight: 2, what: 'EHLO offers VERB and DELIVERBY (Sendmail extensions)', example: 'ENHANCEDSTATUSCODES PIPELINING EXPN VERB 8BITMIME SIZE DSN ETRN AUTH DELIVERBY HELP', provenance: 'Sendmail srvrsmtp.c; measured on Debian sendmail-bin 8.17.1.9' },
    { id: 'opensmtpd-ehlo-order', mta: 'OpenSMTPD', source: 'ehlo', pattern: /^8BITMIME ENHANCEDSTATUSCODES SIZE\b/i, weight: 2, what: 'EHLO keywords in OpenSMTPD order (8BITMIME, ENHANCEDSTATUSCODES, SIZE first)', example: '8BITMIME ENHANCEDSTATUSCODES SIZE DSN HELP', provenance: 'OpenSMTPD smtp_session.c EHLO reply (fixed order: 8BITMIME, ENHANCEDSTATUSCODES, SIZE, DSN, then STARTTLS/AUTH when offered, HELP); measured: OpenSMTPD 6.8.0p2 without TLS or AUTH' },
    { id: 'exchange-ehlo', mta: 'Microsoft Exchange', source: 'ehlo', pattern: /\b(X-EXPS|XEXCH50|X-ANONYMOUSTLS|XRDST|XSHADOWREQUEST|X-EXCHANGEAUTH)\b/i, weight: 2, what: 'EHLO offers Exchange-only extensions (X-ANONYMOUSTLS, XEXCH50, XRDST …)', example: 'SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS AUTH X-EXPS 8BITMIME BINARYMIME CHUNKING XRDST', provenance: 'Microsoft Exchange 2013+ receive connector EHLO (MS-OXSMTP)' },
    { id: 'haraka-ehlo-order', mta: 'Haraka', source: 'ehlo', pattern: /^PIPELINING 8BITMIME( SMTPUTF8)? SIZE\b/i, weight: 2, what: 'EHLO keywords in Haraka order (PIPELINING, 8BITMIME, SMTPUTF8, SIZE first)', example: 'PIPELINING 8BITMIME SMTPUTF8 SIZE', provenance: 'Haraka connection.js ehlo_respond (fixed order: PIPELINING, 8BITMIME, SMTPUTF8 unless smtp.ini smtputf8=false, SIZE; plugins append STARTTLS, AUTH … after); measured once by hand: Haraka 3.3.4 (npm), default plugins, without TLS or AUTH (not a CI test)' },
    // --- the wording and shape of replies ---
    { id: 'postfix-relay-access-denied', mta: 'Postfix', source: 'reply', pattern: /^[45]\d\d [45]\.7\.1 <[^>]*>: Relay access denied$/, weight: 2, what: 'Postfix\'s "<address>: Relay access denied"', example: '554 5.7.1 <relay-check@example.com>: Relay access denied', provenance: 'Postfix smtpd_check.c reject_unauth_destination / defer_unauth_destination' },
    { id: 'postfix-address-rejected', mta: 'Postfix', source: 'reply', pattern: /^[45]\d\d [45]\.\d\.\d+ <[^>]*>: (Recipient|Sender) address rejected: /, weight: 2, what: 'Postfix\'s "<address>: Recipient address rejected:" shape', example: '550 5.1.1 <nobody@mx.example.org>: Recipient address rejected: User unknown in local recipient table', provenance: 'Postfix smtpd_check.c (reply shape "<%s>: %s address rejected: %s")' },
    { id: 'exim-relay-not-permitted', mta: 'Exim', source: 'reply', pattern: /^550 relay not permitted$/, weight: 2, what: 'Exim\'s "550 relay not permitted" (no enhanced code)', example: '550 relay not permitted', provenance: 'Exim default configuration, acl_check_rcpt' },
    { id: 'exim-domain-literals', mta: 'Exim', source: 'reply', pattern: /^501 <[^>]*>: domain literals not allowed$/, weight: 2, what: 'Exim\'s "domain literals not allowed"', example: '501 <relay-check@[127.0.0.1]>: domain literals not allowed', provenance: 'Exim smtp_in.c (allow_domain_literals = false)' },
    { id: 'sendmail-address-dots', mta: 'Sendmail', source: 'reply', pattern: /^\d{3} \d\.\d\.\d+ <[^>]*>\.\.\. /, weight: 2, what: 'Sendmail\'s "<address>... " reply shape', example: '250 2.1.5 <relay-check@example.com>... Recipient ok', provenance: 'Sendmail (usrerr/message "%s... %s"); measured on Debian sendmail-bin 8.17.1.9' },
    { id: 'opensmtpd-invalid-recipient', mta: 'OpenSMTPD', source: 'reply', pattern: /^550 Invalid recipient: </, weight: 2, what: 'OpenSMTPD\'s "550 Invalid recipient: <address>"', example: '550 Invalid recipient: <relay-check@example.com>', provenance: 'OpenSMTPD smtp_session.c; measured: OpenSMTPD 6.8.0p2, for an address no match rule takes (its relay denial: no enhanced code) and for an unknown local user alike' },
    { id: 'opensmtpd-destination-valid', mta: 'OpenSMTPD', source: 'reply', pattern: /^250 2\.1\.5 Destination address valid: Recipient ok$/, weight: 2, what: 'OpenSMTPD\'s "Destination address valid: Recipient ok"', example: '250 2.1.5 Destination address valid: Recipient ok', provenance: 'OpenSMTPD smtp_session.c; measured: OpenSMTPD 6.8.0p2 (local and relayed recipients alike)' },
    { id: 'opensmtpd-address-syntax', mta: 'OpenSMTPD', source: 'reply', pattern: /^5\d\d 5\.1\.\d (Recipient|Sender) address syntax error$/, weight: 2, what: 'OpenSMTPD\'s "Recipient address syntax error" / "Sender address syntax error"', example: '501 5.1.3 Recipient address syntax error', provenance: 'OpenSMTPD smtp_session.c; measured: OpenSMTPD 6.8.0p2 answers quoted local parts holding @ or %, <u@ext@>, a trailing-dot domain and unbracketed paths so (MAIL: "553 5.1.0 Sender address syntax error")' },
    { id: 'exchange-5.7.54', mta: 'Microsoft Exchange', source: 'reply', pattern: /\b5\.7\.54 SMTP; Unable to relay\b/, weight: 2, what: 'Exchange\'s "5.7.54 SMTP; Unable to relay"', example: '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain', provenance: 'Microsoft Exchange 2013+ (NDR 5.7.54)' },
    { id: 'exchange-online-5.7.64', mta: 'Exchange Online', source: 'reply', pattern: /\b5\.7\.64 TenantAttribution;/, weight: 3, what: 'Exchange Online\'s "5.7.64 TenantAttribution"', example: '550 5.7.64 TenantAttribution; Relay Access Denied [SN1NAM02FT0.eop-nam02.prod.protection.outlook.com]', provenance: 'Exchange Online Protection (NDR 5.7.64)' },
    { id: 'qmail-rcpthosts', mta: 'qmail', source: 'reply', pattern: /allowed rcpthosts \(#5\.7\.1\)/, weight: 2, what: 'qmail\'s "not in my list of allowed rcpthosts (#5.7.1)"', example: "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", provenance: 'qmail-smtpd.c err_nogateway' },
    { id: 'haraka-cannot-deliver', mta: 'Haraka', source: 'reply', pattern: /^550 I cannot deliver mail for </, weight: 2, what: 'Haraka\'s "I cannot deliver mail for <address>"', example: '550 I cannot deliver mail for <relay-check@example.com>', provenance: 'Haraka connection.js rcpt_respond: the reply when no rcpt plugin took the recipient and the client is not relaying (rcpt_to.in_host_list passes over a domain not in host_list); measured once by hand: Haraka 3.3.4 (npm), default plugins, on loopback (not a CI test)' },
    { id: 'haraka-recipient-ok', mta: 'Haraka', source: 'reply', pattern: /^250 (recipient|sender) <[^>]*> OK$/, weight: 2, what: 'Haraka\'s "250 recipient <address> OK"', example: '250 recipient <relay-check@example.com> OK', provenance: 'Haraka connection.js rcpt_ok_respond / mail_respond ("recipient <%s> OK", "sender <%s> OK"); measured once by hand: Haraka 3.3.4 (npm) with relay_acl_allow 127.0.0.1/32, and for a local domain (not a CI test)' },
    { id: 'haraka-invalid-address', mta: 'Haraka', source: 'reply', pattern: /^501 Invalid (MAIL FROM|RCPT TO) address <.*>: Invalid RFC-5321 address at position \d+/, weight: 2, what: 'Haraka\'s "Invalid RCPT TO address <…>: Invalid RFC-5321 address at position N"', example: '501 Invalid RCPT TO address <relay-check@example.com@>: Invalid RFC-5321 address at position 24: expected ">"', provenance: 'Haraka connection.js cmd_mail / cmd_rcpt (address-rfc2821 parse error); measured once by hand: Haraka 3.3.4 (npm), for a trailing @, quoted paths without a domain, bang paths and bad syntax (not a CI test)' },
];

;// CONCATENATED MODULE: ./src/mta/identify.ts

/** Bounded: a hostile server can send many replies; a few of each row are enough. */
const MAX_REPLIES = 500;
function textsFor(rule, input) {
    if (rule.source === 'greeting')
        return input.greeting.length > 0 ? [input.greeting.join('\n')] : [];
    if (rule.source === 'ehlo')
        return input.extensions.length > 0 ? [input.extensions.join(' ')] : [];
    return input.replies.slice(0, MAX_REPLIES).filter((r) => r !== null);
}
/**
 * Which MTA answered, by the evidence table. Each row counts once (its weight)
 * however often it matched; the MTA with the most weight wins. Rows pointing at
 * different MTAs with equal weight leave it unknown: guessing would be worse.
 */
function identifyMta(input, rules = EVIDENCE_RULES) {
    const hits = [];
    for (const rule of rules) {
        for (const text of textsFor(rule, input)) {
            const m = rule.pattern.exec(text);
            if (!m)
                continue;
            const version = rule.versionGroup !== undefined ? (m[rule.versionGroup] ?? null) : null;
            hits.push({ rule, seen: text.length > 300 ? `${text.slice(0, 300)}…` : text, version });
            break;
        }
    }
    const score = new Map();
    for (const h of hits)
        score.set(h.rule.mta, (score.get(h.rule.mta) ?? 0) + h.rule.weight);
    const ranked = [...score.entries()].sort((a, b) => b[1] - a[1]);
    const evidence = (of) => of.map((h) => ({ rule: h.rule.id, what: h.rule.what, seen: h.seen }));
    if (ranked.length === 0 || (ranked.length > 1 && ranked[0][1] === ranked[1][1])) {
        return { name: 'unknown', version: null, confidence: 'none', evidence: evidence(hits) };
    }
    const [name, points] = ranked[0];
    const mine = hits.filter((h) => h.rule.mta === name);
    const named = mine.some((h) => h.rule.weight === 3);
    // Another MTA's hints beside the winner's lower the confidence: a proxy or a rewritten banner.
    const contested = ranked.length > 1;
    const confidence = named && points >= 4 && !contested ? 'high' : points >= 3 || (named && !contested) ? 'medium' : 'low';
    return { name, version: mine.find((h) => h.version !== null)?.version ?? null, confidence, evidence: evidence(hits) };
}
/**
 * The evidence for the identified MTA that comes from what the server did (its
 * EHLO keywords in that MTA's fixed order, its reply shapes) rather than from what
 * its greeting says: a banner is one setting and can name any MTA, while the order
 * of EHLO lines and the wording of replies come from the MTA's code. Empty when the
 * MTA is known from its greeting alone.
 */
function behaviouralEvidence(m, rules = EVIDENCE_RULES) {
    const byId = new Map(rules.map((r) => [r.id, r]));
    return m.evidence.filter((e) => {
        const row = byId.get(e.rule);
        return row !== undefined && row.mta === m.name && row.source !== 'greeting';
    });
}

;// CONCATENATED MODULE: ./src/schedule/plan.ts

/**
 * The plain attempt: an outside sender to an outside recipient under relay-check's own HELO.
 * Only this one stops the run when it relays (stopWhenOpen): another vector that trusts nothing
 * either (recipient-as-sender) may be accepted for its one sender address, which says nothing
 * of what else the server relays.
 */
const PLAIN_ATTEMPT = 'external-sender';
function isPlainAttempt(v) {
    return v.id === PLAIN_ATTEMPT;
}
/**
 * The positive control's mailboxes (RFC 5321 §4.5.1: postmaster at every domain a server
 * serves must be accepted): postmaster@ the `domain` input and @ the domain of the server's
 * name where it differs, and the `local-recipient` input.
 */
function positiveMailboxes(domain, srv, local) {
    const domains = [...new Set([domain, mailDomain(srv)].filter((d) => d !== undefined && d.includes('.')).map((d) => d.toLowerCase()))];
    return [...domains.map((d) => `<postmaster@${d}>`), ...(local ? [`<${local}>`] : [])];
}
const POSITIVE_VECTOR = { id: 'positive-control', description: 'Positive control: a mailbox the server must accept', provenance: 'RFC 5321 §4.5.1; CheckTLS relay test', mailFrom: '', rcptTo: [] };
/** The positive control before anything is asked: one unanswered probe per mailbox. */
function newPositiveControl(mailboxes) {
    return {
        accepted: null,
        sender: null,
        probes: mailboxes.map((mailbox) => ({ mailbox, accepted: null, reply: null, rule: null })),
        note: mailboxes.length === 0 ? 'not asked: no mail domain is known (the server gave no host name with a domain in it, and `domain` is not set)' : null,
    };
}
/**
 * Vectors into jobs, in the order they run: the plain attempts, then the positive control
 * (asked early, before refusals can spend the error budget, with the plain sender; a refused
 * sender is retried like a vector's), then the rest. A vector that cannot be rendered for this
 * server gets its result at once.
 */
function planJobs(p) {
    const jobs = [];
    const results = new Map();
    const positiveJobs = p.mailboxes.map((m) => ({ rendered: { vector: POSITIVE_VECTOR, helo: p.helo, mailFrom: p.plainSender, rcptTo: [m] }, tries: 0, earlier: [], positive: m }));
    const ordered = p.plainFirst ? [...p.vectors.filter(isPlainAttempt), ...p.vectors.filter((v) => !isPlainAttempt(v))] : p.vectors;
    let positiveQueued = false;
    for (const v of ordered) {
        if (!positiveQueued && !isPlainAttempt(v)) {
            jobs.push(...positiveJobs);
            positiveQueued = true;
        }
        const r = renderVector(v, { user: p.recipient.user, domain: p.recipient.domain, probe: p.probe, helo: p.helo, address: p.address, srv: p.srv, mydomain: p.mydomain });
        if (r.ok)
            jobs.push({ rendered: r.attempt, tries: 0, earlier: [] });
        // Without the server's name these vectors still apply, untested: inconclusive, not skipped.
        else if (NAME_PLACEHOLDERS.has(r.missing))
            results.set(v.id, notRun(v, `not tested: ${r.reason}`));
        else
            results.set(v.id, { ...notRun(v, r.reason), outcome: 'skipped' });
    }
    if (!positiveQueued)
        jobs.push(...positiveJobs);
    return { jobs, results };
}
/**
 * A control probe for a server name an accepted routing trick was addressed to: a mailbox
 * that cannot exist there. It is sent with the sender the trick was accepted with: a server
 * that refuses relay-check's plain sender (a DNS check on it, say) would refuse the control
 * at MAIL and prove nothing about the mailbox.
 */
function controlJob(d, sender, nonce, helo) {
    const mailbox = d === '' ? `<relay-check-nx-${nonce}>` : `<relay-check-nx-${nonce}@${d}>`;
    const vector = { id: `control:${d || 'unqualified'}`, description: 'Control: a mailbox that does not exist', provenance: 'relay-check control probe', mailFrom: '', rcptTo: [] };
    return { control: { domain: d, mailbox, accepted: null, reply: null }, job: { rendered: { vector, helo, mailFrom: sender, rcptTo: [mailbox] }, tries: 0, earlier: [], control: d } };
}
/**
 * Which of the server's own names the recipient's domain is, if any: its host
 * name, the `domain` input, or the mail domain guessed from its name when the
 * user chose the recipient (the default's reserved domain is never a server's).
 */
function ownDomain(rcptDomain, srv, domain, guessed) {
    const d = rcptDomain.toLowerCase();
    if (srv !== undefined && d === srv.toLowerCase())
        return `at ${srv}, the name the server gives itself`;
    if (domain !== undefined && d === domain)
        return `in ${domain}, the mail domain the server serves`;
    if (guessed !== undefined && d === guessed.toLowerCase())
        return `in ${guessed}, the domain of the server's name ${srv ?? ''} (set \`domain\` if it does not serve ${guessed})`;
    return undefined;
}
/**
 * Whether a vector exists for more than its sender (a recipient form, a HELO
 * name, a local recipient first): when its sender is refused, that part was
 * never evaluated and is worth a retry with a sender the server accepts.
 */
function testsMoreThanSender(v) {
    return v.helo !== undefined || v.rcptTo.length !== 1 || v.rcptTo[0] !== '<{user}@{domain}>';
}
function notRun(v, reason) {
    return {
        routedVia: null,
        vector: v.id,
        description: v.description,
        provenance: v.provenance,
        helo: null,
        mailFrom: null,
        rcptTo: [],
        outcome: 'inconclusive',
        reason,
        rule: null,
        reply: null,
        stage: null,
        connection: null,
        tries: 0,
        transcript: [],
    };
}

;// CONCATENATED MODULE: ./src/verdict/routing.ts

const ROUTING_RULES = [
    // Sendmail accepts these forms at a name where any mailbox goes only at a domain it relays to
    // (class R, with FEATURE(loose_relay_check); or any domain under promiscuous_relay or an access
    // To: RELAY), and there it does not route them itself: it hands the address unchanged to that
    // domain's own server. At its own (class w) names it routes them itself, but checks the routed
    // address first and refuses it ("Relaying denied") unless a plain external recipient would relay
    // too. So the next hop decides: inconclusive, saying which server to test.
    { mta: 'Sendmail', form: 'percent', decision: 'inconclusive', why: 'Sendmail does not route user%host@domain itself at a domain it relays to: it passes the address unchanged to that domain\'s own mail server, which decides whether to route it on to host (FEATURE(loose_relay_check) lets it through; without it Sendmail checks user@host and refuses it); test that server, or remove loose_relay_check', provenance: 'Sendmail cf/README FEATURE(loose_relay_check); cf/m4/proto.m4 ParseRecipient; measured: Sendmail 8.17.1.9 with loose_relay_check and RELAY_DOMAIN sendmail.test answers <u%example.com@sendmail.test> with 250 2.1.5 and resolves it to "mailer esmtp, host sendmail.test, user u%example.com@sendmail.test" (-bt /parse); without loose_relay_check 550 5.7.1 Relaying denied; at its own name (class w) 550 5.7.1 Relaying denied with or without it (__tests__/sendmail.test.ts)' },
    { mta: 'Sendmail', form: 'bang', decision: 'inconclusive', why: 'Sendmail does not route host!user@domain itself at a domain it relays to: it passes the address unchanged to that domain\'s own mail server, which decides whether to route it on to host; test that server, or remove loose_relay_check', provenance: 'Sendmail cf/README FEATURE(loose_relay_check); measured: Sendmail 8.17.1.9 with loose_relay_check and RELAY_DOMAIN sendmail.test answers <example.com!u@sendmail.test> with 250 2.1.5 and resolves it to "mailer esmtp, host sendmail.test, user example.com!u@sendmail.test"; without loose_relay_check, and at its own name, 550 5.7.1 Relaying denied (__tests__/sendmail.test.ts)' },
    { mta: 'Sendmail', form: 'quoted', decision: 'inconclusive', why: 'Sendmail does not route "user@host"@domain itself at a domain it relays to: it passes the address unchanged to that domain\'s own mail server, which decides whether to route it on to host; test that server, or remove loose_relay_check', provenance: 'measured: Sendmail 8.17.1.9 with loose_relay_check and RELAY_DOMAIN sendmail.test answers <"u@example.com"@sendmail.test> with 250 2.1.5 and resolves it to "mailer esmtp, host sendmail.test, user \\"u@example.com\\"@sendmail.test"; without loose_relay_check, and at its own name, 550 5.7.1 Relaying denied (__tests__/sendmail.test.ts)' },
    { mta: 'Haraka', form: 'percent', decision: 'inconclusive', why: 'Haraka does not rewrite user%host@domain: it accepts or refuses by the domain alone (rcpt_to.in_host_list) and hands the address unchanged to its queue plugin (smtp_forward to an inner server, a mailbox store), which decides; test that server', provenance: "measured once by hand: Haraka 3.3.4 (npm) with rcpt_to.in_host_list answers <u%example.com@haraka.test> with \"250 recipient … OK\" and queues it unchanged (core has no percent-hack or bang-path rewriting)" },
    { mta: 'Haraka', form: 'bang', decision: 'inconclusive', why: 'Haraka does not rewrite host!user@domain: it accepts or refuses by the domain alone (rcpt_to.in_host_list) and hands the address unchanged to its queue plugin (smtp_forward to an inner server, a mailbox store), which decides; test that server', provenance: "measured once by hand: Haraka 3.3.4 (npm) with rcpt_to.in_host_list answers <example.com!u@haraka.test> with \"250 recipient … OK\" and queues it unchanged (core has no percent-hack or bang-path rewriting)" },
    { mta: 'Haraka', form: 'quoted', decision: 'inconclusive', why: 'Haraka does not rewrite a quoted local part: it accepts or refuses by the domain alone (rcpt_to.in_host_list) and hands the address unchanged to its queue plugin (smtp_forward to an inner server, a mailbox store), which decides; test that server', provenance: "measured once by hand: Haraka 3.3.4 (npm) with rcpt_to.in_host_list answers <\"u@example.com\"@haraka.test> with \"250 recipient … OK\" and queues it unchanged (core has no percent-hack or bang-path rewriting)" },
    { mta: 'Postfix', form: 'percent', decision: 'relayed', rewrites: 'by-setting', why: 'Postfix rewrites user%host@domain to user@host (allow_percent_hack = yes by default) before reject_unauth_destination judges it: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) allow_percent_hack; trivial-rewrite(8) "local" context (rewriting before resolving)' },
    { mta: 'Postfix', form: 'bang', decision: 'relayed', rewrites: 'by-setting', why: 'Postfix rewrites host!user to user@host (swap_bangpath = yes by default) before reject_unauth_destination judges it: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) swap_bangpath; trivial-rewrite(8)' },
    { mta: 'Postfix', form: 'source-route', decision: 'relayed', why: 'Postfix strips a source route (@a:user@host to user@host) before the relay check: an accepted one was judged as mail to host', provenance: 'Postfix trivial-rewrite(8) "strip source routed addresses (@site,@site:user@domain) to user@domain form"' },
    { mta: 'Postfix', form: 'quoted', decision: 'relayed', rewrites: 'by-setting', why: 'Postfix looks inside a quoted local part ("user@host"@domain is resolved as user@host, resolve_dequoted_address = yes by default) before the relay check: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) resolve_dequoted_address; measured: Postfix 3.7 answers <"relay-check@example.com"> with "454 4.7.1 <relay-check@example.com>: Relay access denied" (the dequoted address judged)' },
    { mta: 'Exim', form: 'percent', decision: 'skipped', why: 'Exim does not perform the percent hack unless percent_hack_domains names the domain (unset by default): user%host is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, main option percent_hack_domains (default unset)' },
    { mta: 'Exim', form: 'bang', decision: 'skipped', why: 'Exim does not route bang paths: host!user is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, "Address processing" (no UUCP bang-path routing)' },
    { mta: 'Exim', form: 'quoted', decision: 'skipped', why: 'Exim takes a quoted local part as it stands: "user@host" is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, RFC 5321 local parts; measured: Exim 4.96 with a catch-all local domain (__tests__/exim.test.ts)' },
    { mta: 'Exim', form: 'source-route', decision: 'relayed', why: 'Exim discards a source route and acts on the final address, which its relay ACL judged: an accepted one was accepted for host', provenance: 'Exim specification, "Source routes" (RFC 5321 §C: routes are ignored)' },
    { mta: 'OpenSMTPD', form: 'percent', decision: 'skipped', why: 'OpenSMTPD does not perform the percent hack: user%host is a local part here, and the mail is delivered locally', provenance: 'OpenSMTPD smtpd.conf(5) (no percent-hack routing); measured: OpenSMTPD 6.8.0p2 with a catch-all virtual domain queues <u%example.com@its domain> for local delivery (envelope dispatcher local, dest unchanged; __tests__/opensmtpd.test.ts)' },
    { mta: 'OpenSMTPD', form: 'bang', decision: 'skipped', why: 'OpenSMTPD does not route bang paths: host!user is a local part here, and the mail is delivered locally', provenance: 'OpenSMTPD smtpd.conf(5) (no UUCP routing); measured: OpenSMTPD 6.8.0p2 with a catch-all virtual domain queues <example.com!u@its domain> for local delivery (envelope dispatcher local, dest unchanged; __tests__/opensmtpd.test.ts)' },
    { mta: 'OpenSMTPD', form: 'source-route', decision: 'relayed', why: 'OpenSMTPD strips a source route (@a:user@host to user@host) before its match rules judge the address: an accepted one was accepted for host', provenance: 'measured: OpenSMTPD 6.8.0p2 answers <@its domain:u@example.com> with "550 Invalid recipient: <u@example.com>" (the route stripped; __tests__/opensmtpd.test.ts)' },
];
/** The routing form of a recipient path, if it has one. */
function routingForm(rcpt) {
    const path = rcpt.trim().replace(/^<\s*/, '').replace(/\s*>$/, '');
    if (/^@[^:]*:/.test(path))
        return 'source-route';
    if (path.startsWith('"'))
        return 'quoted';
    const at = path.lastIndexOf('@');
    const local = at < 0 ? path : path.slice(0, at);
    if (local.includes('%'))
        return 'percent';
    if (local.includes('!'))
        return 'bang';
    return undefined;
}
/**
 * The outside address a routed form stands for, as Postfix reads it with its defaults:
 * `"user@host"@domain` dequoted (resolve_dequoted_address), `user%host@domain` and
 * `user%host%domain2@domain` by the percent hack to user@host, `host!user@domain` by
 * swap_bangpath to user@host. Null for a form with no such reading.
 */
function rewrittenAddress(rcpt) {
    const path = rcpt.trim().replace(/^<\s*/, '').replace(/\s*>$/, '');
    const quoted = /^"([^"]*)"/.exec(path);
    const at = path.lastIndexOf('@');
    const local = quoted ? quoted[1] : at < 0 ? path : path.slice(0, at);
    if (quoted && /^[^@%!]+@[^@%!]+$/.test(local))
        return local.toLowerCase();
    const hops = local.split('%');
    if (hops.length >= 2 && hops.every((h) => h !== '' && !/[@!]/.test(h)))
        return `${hops[0]}@${hops[1]}`.toLowerCase();
    const bang = /^([^%!@]+)!([^%!@]+)$/.exec(local);
    return bang ? `${bang[2]}@${bang[1]}`.toLowerCase() : null;
}
/** What an accepted routing form at a catch-all name means on this MTA. */
function routingDecision(rcpt, mta, rules = ROUTING_RULES) {
    const form = routingForm(rcpt);
    if (!mta || mta.name === 'unknown')
        return { decision: 'inconclusive', why: 'the MTA could not be identified, and whether it routes this form onward depends on the MTA' };
    if (mta.confidence === 'low' || mta.confidence === 'none')
        return { decision: 'inconclusive', why: `the MTA looks like ${mta.name} on weak evidence only, and whether it routes this form onward depends on the MTA` };
    const row = form === undefined ? undefined : rules.find((r) => r.mta === mta.name && r.form === form);
    if (!row)
        return { decision: 'inconclusive', why: `whether ${mta.name} routes this ${form ?? 'address'} form onward is not known to relay-check` };
    // Not counting an accepted form makes the verdict milder: that takes more than a banner. Counting it (relayed) does not.
    if (row.decision === 'skipped' && behaviouralEvidence(mta).length === 0) {
        return { decision: 'inconclusive', why: `only the greeting says ${mta.name} (a banner is one setting and can name any MTA), and nothing the server did (EHLO keyword order, reply wording) showed it; if it is ${mta.name}: ${row.why}` };
    }
    const rewritten = row.rewrites === 'by-setting' ? rewrittenAddress(rcpt) : null;
    return { decision: row.decision, why: row.why, ...(rewritten ? { rewritten } : {}) };
}

;// CONCATENATED MODULE: ./src/verdict/controls.ts

/**
 * Final word on an attempt once the controls and the MTA are known. An
 * accepted local mailbox is local delivery: skipped. An accepted trick
 * addressed to a server name that accepts any mailbox cannot be told from
 * local delivery by its reply: the routing table (./routing.ts) decides by
 * what the MTA does with the form; where it cannot, the attempt counts as
 * inconclusive (not dropped from the counts: `strict` must see it).
 */
function settle(a, controls, mta, twin) {
    if (a.outcome === 'inconclusive' && a.rule === 'accepted-local') {
        return { ...a, outcome: 'skipped', reason: `not a relay test here: ${a.reason}` };
    }
    const c = a.routedVia === null ? undefined : controls.get(a.routedVia);
    if (a.outcome === 'relayed' && c?.accepted === true) {
        const where = c.domain === '' ? 'as an unqualified local part' : `at ${c.domain}`;
        const accepted = `accepted, but the server accepts any mailbox ${where} (control ${c.mailbox} was accepted: ${c.reply ?? ''})`;
        const d = routingDecision(a.rcptTo[a.rcptTo.length - 1] ?? '', mta);
        // Postfix judges user%host@its-name as user@host only while allow_percent_hack (swap_bangpath) is on. Its plain
        // twin refused means the form was not rewritten: a local mailbox at a catch-all (measured with allow_percent_hack = no).
        const plain = d.decision === 'relayed' && d.rewritten ? twin?.(a.mailFrom, d.rewritten) : undefined;
        if (plain?.outcome === 'denied') {
            return { ...a, outcome: 'inconclusive', rule: 'accepted-catch-all', reason: `${accepted}: ${mta?.name ?? 'the MTA'} judges this form as ${d.rewritten} only while it rewrites it (allow_percent_hack, swap_bangpath, resolve_dequoted_address), and ${plain.vector} to ${d.rewritten} with the same sender was refused (${plain.reply ?? 'refused'}): so it was not rewritten and went to a local mailbox; gate mode (\`postfix-config\`) proves where it goes` };
        }
        if (d.decision === 'relayed')
            return { ...a, rule: 'accepted-routed', reason: `${accepted}; it relays: ${d.why}` };
        if (d.decision === 'skipped')
            return { ...a, outcome: 'skipped', rule: 'accepted-not-routed', reason: `not a relay test here: ${accepted}; ${d.why}` };
        return { ...a, outcome: 'inconclusive', rule: 'accepted-catch-all', reason: `${accepted}: ${d.why}` };
    }
    if (a.outcome === 'relayed' && c !== undefined && c.accepted === null) {
        // Addressed to the server itself and the control said nothing: the acceptance may be local delivery.
        const where = c.domain === '' ? 'as an unqualified local part' : `at ${c.domain}`;
        return { ...a, outcome: 'inconclusive', rule: 'accepted-control-undecided', reason: `accepted, but whether the server accepts any mailbox ${where} is unknown: the control ${c.mailbox} got ${c.reply ?? 'no answer'}` };
    }
    return a;
}

;// CONCATENATED MODULE: ./src/verdict/evidence.ts



/** Rows of the reply table whose refusals need the evidence (ReplyRule.evidence). */
const NEEDS_EVIDENCE = new Set(REPLY_RULES.filter((r) => r.evidence === 'control').map((r) => r.id));
/** Rows that refuse a recipient as a relay: a positive control refused so was asked at a domain the server does not serve. */
const RELAY_DENIALS = new Set(REPLY_RULES.filter((r) => r.relayDecision === true).map((r) => r.id));
/** The rule id an attempt gets when its refusal proves nothing for want of evidence. */
const UNPROVEN = 'refusal-without-evidence';
function needsEvidence(rule) {
    return rule !== null && NEEDS_EVIDENCE.has(rule);
}
/** Whether the refusals of this service count as relay denials: its own mail gets in, it offers AUTH, or every outsider is refused. */
function hasEvidence(s) {
    return s.controls.some((c) => c?.accepted === true) || s.auth || s.controls.some((c) => c?.elsewhere?.accepted === false);
}
/** Why a catch-all refusal proves nothing here, in the server's own words. */
function missingEvidence(s) {
    const refused = s.controls.find((c) => c?.accepted === false);
    const elsewhere = s.controls.find((c) => c?.elsewhere?.accepted === true)?.elsewhere;
    if (refused && elsewhere) {
        return `the server refuses this client everything, its own postmaster included, but accepts that mail from ${elsewhere.address} (${elsewhere.reply ?? 'accepted'}): the refusal is about the address tested from, not about relaying, and other clients may relay`;
    }
    if (refused) {
        const refusals = refused.probes.filter((x) => x.accepted === false);
        const p = refusals[0] ?? refused.probes[0];
        if (refusals.length > 0 && refusals.every((x) => RELAY_DENIALS.has(x.rule ?? ''))) {
            return `the positive control was refused as a relay (${p.mailbox}: ${p.reply ?? 'refused'}): that is not a domain this server serves, so nothing shows it takes mail from this client; set \`domain\` to the mail domain it serves (or \`local-recipient\`)`;
        }
        return `the server refuses this client everything, its own postmaster included (${p?.mailbox ?? 'postmaster'}: ${p?.reply ?? 'refused'}): the refusal says nothing about relaying`;
    }
    const note = s.controls.find((c) => c?.note)?.note;
    return `nothing in the reply is about relaying, and whether the server accepts mail for its own domain from this client is unknown${note ? ` (${note})` : ''}: the refusal proves nothing about relaying`;
}
/**
 * An attempt after the evidence rule: a denial by a catch-all row stays a
 * denial where the service shows evidence, or becomes inconclusive saying what is missing.
 */
function weigh(a, s) {
    if (a.outcome !== 'denied' || !needsEvidence(a.rule) || hasEvidence(s))
        return a;
    return { ...a, outcome: 'inconclusive', rule: UNPROVEN, reason: `refused (${a.reason}, by the row ${a.rule ?? '?'}), but ${missingEvidence(s)}` };
}
/**
 * The evidence rule over one service: every transport (plaintext, STARTTLS) of one address and
 * port, which judge the same client with the same policy. Counts and verdicts follow.
 */
function weighService(targets) {
    const s = { controls: targets.map((t) => t.positiveControl), auth: targets.some((t) => t.extensions.includes('AUTH')) };
    return targets.map((t) => {
        const attempts = t.attempts.map((a) => weigh(a, s));
        if (attempts.every((a, i) => a === t.attempts[i]))
            return t;
        const weighed = { ...t, attempts, counts: countAttempts(attempts) };
        return { ...weighed, verdict: targetVerdict(tallyOf(weighed)) };
    });
}

;// CONCATENATED MODULE: ./src/schedule/settle.ts








/**
 * An outside address no mail server trusts, for the second look at a server that refuses the
 * client everything (through XCLIENT): k.root-servers.net's, which is in no bogon or
 * documentation list (a filter of those would refuse it for what it is) and in nobody's mynetworks.
 */
const SECOND_OUTSIDER = '193.0.14.129';
/** The sender to retry a recipient form with: one the server accepted and that did not relay by itself. */
function fallbackSender(accepted, plain) {
    const neutral = [...accepted].filter(([, relayed]) => !relayed).map(([s]) => s);
    return neutral.find((s) => s === plain) ?? neutral.find((s) => s !== '<>') ?? neutral[0] ?? [...accepted.keys()][0];
}
/**
 * The vectors whose sender was refused go back on the queue with a sender the server
 * accepted (their recipient form or HELO was never evaluated), or are recorded with why not.
 * True when any went back, for a second pass.
 */
function retryRefusedSenders(run) {
    if (run.senderRefused.length === 0)
        return false;
    const sender = fallbackSender(run.acceptedSenders, run.plainSender);
    for (const job of run.senderRefused.splice(0)) {
        const refusal = job.senderRefusal;
        if (!refusal)
            continue;
        if (run.stop !== undefined) {
            run.record(job, undefined, { ...refusal.fields, reason: `${refusal.fields.reason}; the recipient form was not retried with another sender: the plain attempt relayed` }, []);
        }
        else if (sender !== undefined && sender !== refusal.mailFrom && Date.now() < run.opts.deadline) {
            job.rendered = { ...job.rendered, mailFrom: sender };
            job.tries = 0;
            run.queue.push(job);
        }
        else {
            const why = sender === undefined ? 'no sender got as far as a recipient decision on this server in this run' : 'the run deadline was reached';
            run.record(job, undefined, { ...refusal.fields, reason: `${refusal.fields.reason}; the recipient form was not tried: ${why} (set \`sender\` to an address the server accepts)` }, []);
        }
    }
    return run.queue.size > 0;
}
/**
 * The run's answers into the report: the controls, the positive control (and the second
 * outsider's look where it refused everything), the MTA, and each vector settled by them.
 */
async function settleTarget(run, pausesBefore) {
    const { report, positive, results, controls, opts, spec } = run;
    const { learner } = run.state;
    report.errorBudget = learner.shown;
    if (run.stop !== undefined)
        report.stopped = { after: run.stop.after, notRun: run.notRunOpen };
    if (learner.pauses > pausesBefore)
        report.pauses = learner.pauses - pausesBefore;
    report.controls = [...controls.values()];
    positive.accepted = positive.probes.some((p) => p.accepted === true) ? true : positive.probes.some((p) => p.accepted === false) ? false : null;
    report.positiveControl = positive;
    // Refused everything, its own postmaster included, while testing as another client: ask as a
    // second outsider whether that refusal is about the address tested from or about every outsider.
    const catchAll = [...results.values()].some((a) => a.outcome === 'denied' && needsEvidence(a.rule));
    if (positive.accepted === false && catchAll && opts.clientAddress !== undefined && !report.extensions.includes('AUTH') && Date.now() < opts.deadline) {
        positive.elsewhere = await askElsewhere(spec, opts, positive.probes[0].mailbox, positive.sender ?? run.plainSender);
    }
    // Before settle: whether an accepted routing form relays depends on the MTA.
    if (report.greeting !== null) {
        report.mta = identifyMta({
            greeting: report.opening.filter((l) => l.dir === 'S' && /^220[ -]/.test(l.text)).map((l) => l.text),
            extensions: report.extensions,
            replies: [...[...results.values()].map((a) => a.reply), ...report.controls.map((c) => c.reply)],
        });
    }
    // Plain attempts by sender and recipient, for a routed form's plain twin (src/verdict/controls.ts).
    const bare = (m) => (m ?? '').replace(/^\s*<|>\s*$/g, '').toLowerCase();
    const plain = new Map([...results.values()].filter((x) => x.rcptTo.length === 1 && x.routedVia === null).map((x) => [`${bare(x.mailFrom)} ${bare(x.rcptTo[0])}`, x]));
    const twin = (mailFrom, address) => plain.get(`${bare(mailFrom)} ${address}`);
    report.attempts = opts.vectors.map((v) => settle(results.get(v.id) ?? notRun(v, 'not run'), controls, report.mta, twin));
}
/**
 * The positive control asked as SECOND_OUTSIDER through XCLIENT, on a connection of its own
 * (RCPT only): refused there too, the server refuses every outside client; accepted, its
 * refusals were about the address tested from.
 */
async function askElsewhere(spec, opts, mailbox, sender) {
    const address = SECOND_OUTSIDER;
    let session;
    try {
        ({ session } = await openSession(setupFor(spec, opts, opts.helo, address)));
        const mail = await session.command(`MAIL FROM:${sender}`);
        // A refused sender says nothing about the mailbox, unless the refusal is of the client.
        if (mail.code >= 300)
            return { address, accepted: classifyReply(mail, 'mail').subject === 'client' ? false : null, reply: formatReply(mail) };
        const rcpt = await session.command(`RCPT TO:${mailbox}`);
        return { address, accepted: rcpt.code < 300, reply: formatReply(rcpt) };
    }
    catch (e) {
        const err = connect_asSessionError(e);
        if (err.kind === 'client-refused' && err.reply)
            return { address, accepted: false, reply: formatReply(err.reply) };
        return { address, accepted: null, reply: err.message };
    }
    finally {
        await session?.quit();
    }
}

;// CONCATENATED MODULE: ./src/schedule/first.ts








// The first connection tells us the server's name, which the templates need: what follows
// reads what it said, or says why there was none.
/** The outside client is refused for everything: every vector is denied by that one answer. */
async function clientRefused(report, err, refusal, spec, opts) {
    const auth = err.transcript.some((l) => l.dir === 'S' && /^250[- ]AUTH\b/i.test(l.text));
    const c = classifyReply(refusal, 'mail', REPLY_RULES, { auth });
    const reply = formatReply(refusal);
    report.reachable = true;
    report.opening = err.transcript;
    report.attempts = opts.vectors.map((v) => ({ ...notRun(v, ''), outcome: 'denied', reason: `${c.reason} (${err.message.replace(/:.*$/, '')})`, rule: c.rule, reply, tries: 1, connection: 1 }));
    // Nothing was asked, and nothing could be: the refusal covers the postmaster too (RFC 5321
    // §4.5.1's bare <postmaster> when no domain is known).
    const greeting = err.transcript.find((l) => l.dir === 'S' && /^220[ -]/.test(l.text))?.text.slice(4);
    const mailboxes = positiveMailboxes(opts.domain, serverName(greeting), opts.localRecipient);
    if (mailboxes.length === 0)
        mailboxes.push('<postmaster>');
    report.positiveControl = { accepted: false, sender: null, probes: mailboxes.map((mailbox) => ({ mailbox, accepted: false, reply, rule: c.rule })), note: 'the client was refused before any mail command' };
    if (opts.clientAddress !== undefined && !report.opening.some((l) => l.dir === 'S' && /^250[- ]AUTH\b/i.test(l.text))) {
        report.positiveControl.elsewhere = await askElsewhere(spec, opts, mailboxes[0], `<${opts.probe}@${opts.recipient.domain}>`);
    }
}
/**
 * No SMTP session, so nothing was tested here: the address counts as not
 * reached whether TCP failed or the server would not talk (errorKind says which).
 */
function unreached(report, err, learner) {
    report.reachable = false;
    report.error = err.message;
    report.errorKind = err.kind;
    if (CONNECTION_LIMIT.test(err.message) && learner.frugal !== undefined) {
        // Said once, in the server's words, with when to try again: earlier runs spent the window.
        report.error = `${err.message}: the server limits new connections per client, and earlier connections (other runs too) used up its window; run again once it has passed (Sendmail: ConnectionRateWindowSize, 60 s by default, 10 minutes in Debian's sendmail.mc; Postfix: anvil_rate_time_unit, 60 s)`;
        report.errorKind = 'rate-limited';
    }
    report.opening = err.transcript;
}
/**
 * Sendmail's stock rate control counts every new connection of a client over a window (Debian:
 * 15 per 10 minutes, all runs together) and it has no error sleep to spread refusals against:
 * known from its greeting, it gets few connections with more on each.
 */
function frugalForSendmail(report, learner) {
    if (identifyMta({ greeting: report.greeting ? [report.greeting] : [], extensions: report.extensions, replies: [] }).name === 'Sendmail') {
        learner.beFrugal('Sendmail counts new connections per client (ClientRate; Debian\'s stock sendmail.mc allows 15 per 10 minutes)');
    }
}
/** The server's mail domain: the `domain` input, or guessed from the server's name. */
function mydomainOf(report, opts) {
    return opts.domain ?? mailDomain(report.serverName ?? undefined);
}
/**
 * The recipient is one of the server's own: every "relay" here would be local delivery, so
 * say so rather than report an open relay. True when the run stops here.
 */
function recipientIsLocal(report, opts, mydomain) {
    const own = ownDomain(opts.recipient.domain, report.serverName ?? undefined, opts.domain, opts.recipientGiven ? mydomain : undefined);
    if (!own)
        return false;
    report.error = `cannot test: the recipient ${opts.recipient.address} is ${own}, so accepting it is local delivery; set \`recipient\` to a mailbox outside the server's domains`;
    report.errorKind = 'recipient-local';
    report.attempts = opts.vectors.map((v) => ({ ...notRun(v, report.error ?? ''), outcome: 'skipped' }));
    return true;
}

;// CONCATENATED MODULE: external "node:crypto"
const external_node_crypto_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");
var external_node_crypto_default = /*#__PURE__*/__nccwpck_require__.n(external_node_crypto_namespaceObject);
;// CONCATENATED MODULE: ./src/schedule/queue.ts
/** Tries of one attempt when the server interrupts it (421, a drop): the first, and one retry on a new connection. */
const MAX_TRIES = 2;
/** Abandoned connections an attempt may ride without it counting as a try: the budget settles after the first. */
const FREE_ABANDONS = 2;
/** First wait before retrying a greylisted attempt; doubles up to the maximum. */
const GREYLIST_BACKOFF_MS = 5_000;
const GREYLIST_BACKOFF_MAX_MS = 60_000;
/** Wait before the n-th retry (1-based) of a greylisted attempt. */
function greylistBackoff(n) {
    return Math.min(GREYLIST_BACKOFF_MS * 2 ** (n - 1), GREYLIST_BACKOFF_MAX_MS);
}
/**
 * Which jobs may share a transaction: those with the same key. Undefined for
 * a job that must have its own: several RCPTs mean "external after an
 * accepted local one", whose point is that nothing but that local recipient
 * comes before; a local recipient would put every later RCPT after an
 * accepted local one; a greylist retry repeats the triple the greylist saw,
 * alone. Control probes share only with each other (catch-all probes apart
 * from positive ones), so no vector's RCPT comes after a mailbox that tests
 * for a catch-all or one the server must accept.
 */
function groupKey(j) {
    const r = j.rendered;
    if (j.greylisted !== undefined || r.rcptTo.length !== 1 || r.vector.local)
        return undefined;
    return JSON.stringify([j.positive !== undefined ? 'positive' : j.control === undefined ? 'vector' : 'control', r.helo, r.mailFrom]);
}
/**
 * The order of a shared transaction's RCPTs: plain external recipients first,
 * then routing forms (percent hack, bang path, source route, quoted forms at
 * one of the server's names), which a catch-all may accept as local delivery.
 * So no plain external recipient is ever judged after an accepted local one.
 * Stable: the queue's order otherwise.
 */
function transactionOrder(jobs) {
    const routed = (j) => (j.rendered.routedVia === undefined ? 0 : 1);
    return jobs.map((j, i) => ({ j, i })).sort((a, b) => routed(a.j) - routed(b.j) || a.i - b.i).map(({ j }) => j);
}
/**
 * The attempts still to run, in order. take() hands out a transaction's worth:
 * the first ready job (preferring the HELO of the connection at hand, which
 * saves a reconnect), then ready jobs sharing its HELO and sender, so a
 * server opens one queue file per transaction rather than per vector (Postfix's
 * inflow control pauses before each new one once arrivals outpace deliveries).
 */
class AttemptQueue {
    jobs = [];
    emptied = [];
    get size() {
        return this.jobs.length;
    }
    push(...jobs) {
        this.jobs.push(...jobs);
    }
    /** Back to the front: an interrupted attempt goes first on the next connection. */
    unshift(...jobs) {
        this.jobs.unshift(...jobs);
    }
    /** The first job ready at `now`, removed from the queue; the connection's HELO first. */
    next(helo, now) {
        const ready = (j) => (j.notBefore ?? 0) <= now;
        let idx = this.jobs.findIndex((j) => ready(j) && j.rendered.helo === helo);
        if (idx < 0)
            idx = this.jobs.findIndex(ready);
        if (idx < 0)
            return undefined;
        const [job] = this.jobs.splice(idx, 1);
        this.removed();
        return job;
    }
    /** Up to `max` more ready jobs that can share `first`'s transaction, removed from the queue. */
    companions(first, max, now) {
        const key = groupKey(first);
        if (max <= 0 || key === undefined)
            return [];
        const out = [];
        this.jobs = this.jobs.filter((j) => {
            const fits = out.length < max && (j.notBefore ?? 0) <= now && groupKey(j) === key;
            if (fits)
                out.push(j);
            return !fits;
        });
        this.removed();
        return out;
    }
    /** Settles once the queue is empty (at once when it is): nothing is left for another connection to run. */
    whenEmpty() {
        if (this.jobs.length === 0)
            return Promise.resolve();
        return new Promise((resolve) => this.emptied.push(resolve));
    }
    removed() {
        if (this.jobs.length > 0)
            return;
        for (const w of this.emptied.splice(0))
            w();
    }
    /** When the next waiting job becomes ready (Date.now() scale). */
    nextWake() {
        return Math.min(...this.jobs.map((j) => j.notBefore ?? 0));
    }
    /** Whether every job left would go in `job`'s transaction (false for a job that must run alone). */
    allShare(job) {
        const key = groupKey(job);
        return key !== undefined && this.jobs.every((j) => groupKey(j) === key);
    }
    /** The jobs that match, removed (in order). */
    take(match) {
        const out = this.jobs.filter(match);
        this.jobs = this.jobs.filter((j) => !match(j));
        this.removed();
        return out;
    }
    /** Everything left, removed. */
    drain() {
        const all = this.jobs.splice(0);
        this.removed();
        return all;
    }
}

;// CONCATENATED MODULE: ./src/schedule/transaction.ts



const transaction_ok = (r) => r.code >= 200 && r.code < 300;
/**
 * RFC 5321 §4.5.3.1.10: "452 Too many recipients" (Postfix: "452 4.5.3 Error:
 * too many recipients", past smtpd_recipient_limit) is no answer about the
 * recipient: the client sends it again in a new transaction.
 */
function tooManyRecipients(r) {
    return r.code === 452 && (r.enhanced === '4.5.3' || /too many recipients/i.test(r.lines.join(' ')));
}
const SLOW = Symbol('slow');
const GAVE_UP = Symbol('gave up');
/** The reply; SLOW when it has not come within ms; GAVE_UP when `giveUp` settles first. */
function within(p, ms, giveUp) {
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => resolve(SLOW), Math.max(0, ms));
        void giveUp?.then(() => {
            clearTimeout(t);
            resolve(GAVE_UP);
        });
        p.then((r) => {
            clearTimeout(t);
            resolve(r);
        }, (e) => {
            clearTimeout(t);
            reject(e);
        });
    });
}
/** RSET (after the first transaction on the connection), one MAIL FROM, then every vector's RCPTs. */
function buildCommands(conn, vectors) {
    const cmds = [];
    if (conn.transactions > 0)
        cmds.push({ line: 'RSET', verb: 'RSET' });
    cmds.push({ line: `MAIL FROM:${vectors[0].mailFrom}`, verb: 'MAIL' });
    vectors.forEach((v, i) => {
        for (const r of v.rcptTo)
            cmds.push({ line: `RCPT TO:${r}`, verb: 'RCPT', vector: i });
    });
    return cmds;
}
/**
 * One transaction on an open connection: RSET (after the first), one MAIL
 * FROM, then the RCPTs of every vector given (they share the HELO and the
 * sender), and in `relaxed` DATA with a labelled test message (one vector
 * only). Each vector is decided by its own RCPT replies. Pipelined when the
 * server offers it (RFC 2920), as far as the budget learner says no reply in
 * the batch can be slept on; one command at a time otherwise.
 *
 * A vector's first RCPT is not sent once the connection made as many
 * refusals as the learner's budget: the rest are left untried (untriedFrom)
 * for a fresh connection, so no connection takes more refusals than the
 * budget however many vectors share the transaction.
 *
 * A reply that could be delayed by error sleep is waited for only until it is
 * overdue: then the connection is abandoned, since every later reply would
 * come one error sleep apart.
 */
async function transaction(conn, vectors, opts, learner, confirm, 
/**
 * Settles when waiting for a reply that may be slept on is no longer worth
 * it (nothing else is left to run): the connection is then given up at once,
 * and the reply, should it come, still teaches the learner.
 */
giveUp) {
    const exchange = new Exchange(conn, vectors, learner, giveUp);
    if (vectors.length === 0)
        return { verdicts: exchange.verdicts };
    if (confirm && vectors.length !== 1)
        throw new Error('transaction: DATA confirmation takes one vector per transaction');
    const cmds = buildCommands(conn, vectors);
    conn.transactions++;
    await exchange.send(cmds);
    const mail = exchange.markUntried();
    if (mail === undefined || mail.code === 421)
        return exchange.outcome;
    return exchange.classify(mail, confirm, opts);
}
/** The state of one transaction on the wire: the commands, the replies so far, and how it ended. */
class Exchange {
    conn;
    vectors;
    learner;
    giveUp;
    verdicts;
    outcome;
    cmds = [];
    replies = [];
    idle = false;
    gaveUp = false;
    /** The next command to send or read. */
    i = 0;
    mailRefused = false;
    /** Commands written so far: a vector whose first RCPT is not among them was never tried. */
    written = 0;
    /** The first vector the server answered "too many recipients". */
    overLimit;
    /** Refusals on the connection when each vector's first RCPT was answered. */
    vectorStart = new Map();
    constructor(conn, vectors, learner, giveUp) {
        this.conn = conn;
        this.vectors = vectors;
        this.learner = learner;
        this.giveUp = giveUp;
        this.verdicts = vectors.map(() => undefined);
        this.outcome = { verdicts: this.verdicts };
        void giveUp?.then(() => (this.idle = true));
    }
    startsVector(i) {
        return this.cmds[i].vector !== undefined && this.cmds[i - 1]?.vector !== this.cmds[i].vector;
    }
    /**
     * Refusals this connection would have made by the last RCPT of the vector starting at
     * cmds[i], were every one of its RCPTs refused (issue 25: a two-RCPT vector started one
     * refusal short of the limit made its second RCPT wait out the error sleep).
     */
    worstAfter(i) {
        return this.conn.errors + this.vectors[this.cmds[i].vector ?? 0].rcptTo.length;
    }
    /** Whether the command at i may be sent on this connection (only a vector's first RCPT may not). */
    mayStart(i) {
        const { conn, learner } = this;
        // Each RCPT may be refused: a new vector starts only while the budget has room for all
        // of its RCPTs (on a connection without refusals it always starts: another connection
        // would be no better), and a started one is finished (see readAlone).
        if (this.startsVector(i) && conn.errors > 0 && this.worstAfter(i) > learner.budget)
            return false;
        // Past the floor only the learner's one explorer goes on; another connection
        // stops where no reply can be slept on, and leaves the rest to a fresh one.
        // Nor when nothing else is left to run: a fresh connection answers at once, while a
        // reply that may be slept on would be given up on at once (see giveUp).
        if (this.startsVector(i) && conn.errors > 0 && learner.maySleep(this.worstAfter(i) - 1) && (this.idle || !learner.explore(conn)))
            return false;
        return true;
    }
    /** Sends the commands in batches and reads their replies, until all are answered or something stops the transaction. */
    async send(cmds) {
        this.cmds = cmds;
        try {
            while (this.i < cmds.length && this.mayStart(this.i)) {
                if (!(await this.sendBatch()))
                    break;
            }
        }
        catch (e) {
            if (!(e instanceof SessionError))
                throw e;
            this.outcome = { verdicts: this.verdicts, interrupted: e };
        }
    }
    /** One batch out, its replies in; false when the transaction goes no further on this connection. */
    async sendBatch() {
        const { conn, learner, cmds, replies } = this;
        // Postfix holds pipelined replies back while it sleeps before a later one, so
        // replies inside a batch cannot be timed one by one. A batch carries only commands
        // whose replies cannot be slept on even if each reply before them were a refusal
        // (errors before them below the learner's floor); a command that might be slept on
        // goes alone, and is timed exactly.
        const pipelining = conn.ehlo.extensions.has('PIPELINING');
        const size = pipelining ? Math.max(1, Math.min(cmds.length - this.i, learner.floor - conn.errors)) : 1;
        const batch = cmds.slice(this.i, this.i + size);
        const sentAt = Date.now();
        conn.session.send(batch.map((c) => c.line));
        this.written = this.i + batch.length;
        for (let b = 0; b < batch.length; b++, this.i++) {
            if (!(await this.readReply(size, sentAt)))
                return false;
        }
        if (this.overLimit !== undefined)
            return false;
        const i = this.i;
        // The whole batch came at once: no reply in it was slept on.
        if (size > 1 && Date.now() - sentAt <= LIMITS.slowReplyMs)
            learner.fast(conn.errors - (replies[i - 1].code >= 400 ? 1 : 0));
        // A slow batch was not slept on either (a batch stays below the floor): with an accepted
        // RCPT in it, that is a pause before a new queue file (Postfix in_flow_delay) or a callout.
        else if (size > 1 && batch.some((c, b) => c.verb === 'RCPT' && transaction_ok(replies[i - batch.length + b])))
            learner.slowAccepted('RCPT');
        // A refused MAIL makes every RCPT a pointless error; a refused RCPT does not stop
        // the next one (the relay destination's own reply decides).
        return !this.mailRefused;
    }
    /** The reply to cmds[i], counted; false when it ends the transaction (overdue, or 421). */
    async readReply(size, sentAt) {
        const { conn, cmds, i } = this;
        if (this.startsVector(i))
            this.vectorStart.set(cmds[i].vector ?? -1, conn.errors);
        const r = size === 1 ? await this.readAlone(i, sentAt) : await conn.session.next();
        if (r === SLOW) {
            conn.abandoned = true;
            this.outcome = { verdicts: this.verdicts, abandoned: true, ...(this.gaveUp ? { gaveUp: this.gaveUp } : {}) };
            return false;
        }
        this.replies.push(r);
        if (r.code === 421) {
            this.outcome = { verdicts: this.verdicts, interrupted: r };
            return false;
        }
        if (r.code >= 400)
            conn.errors++;
        if (cmds[i].verb === 'MAIL' && !transaction_ok(r))
            this.mailRefused = true;
        // Past the server's recipient limit: this vector and the rest go in another
        // transaction (a vector alone is decided by the reply like any other).
        const v = cmds[i].vector;
        if (v !== undefined && v > 0 && this.overLimit === undefined && tooManyRecipients(r))
            this.overLimit = v;
        return true;
    }
    /**
     * Reads the reply to cmds[i], sent alone at sentAt, racing the error sleep
     * when the refusals before it could have started one: SLOW when it is
     * overdue. Its timing is exact, so a fast one raises the learner's floor.
     */
    async readAlone(i, sentAt) {
        const { conn, learner, cmds } = this;
        const errors = conn.errors;
        const p = conn.session.next();
        // Past the first RCPT of a vector that began on a connection without refusals, its own
        // refusals put it over: another connection would sleep just the same, so wait the sleep
        // out (and learn from it). One that began after refusals would not sleep on a fresh one.
        const c = cmds[i];
        const firstOfVector = c.vector === undefined || cmds[i - 1]?.vector !== c.vector;
        const race = learner.maySleep(errors) && (firstOfVector || (this.vectorStart.get(c.vector ?? -1) ?? 0) > 0);
        const r = race ? await within(p, LIMITS.slowReplyMs - (Date.now() - sentAt), this.giveUp) : await p;
        if (r === GAVE_UP) {
            // Not overdue yet, so no suspicion: the reply's timing, if it comes, says what it was.
            this.gaveUp = true;
            learner.gaveUp();
            p.then((late) => {
                learner.answered();
                learner.late(errors, Date.now() - sentAt, { code: late.code, command: c.verb });
            }, () => undefined);
            return SLOW;
        }
        if (r === SLOW) {
            const id = learner.suspect(errors);
            // Settle the suspicion when the reply finally comes on the session we leave.
            p.then((late) => learner.settle(id, { code: late.code, command: c.verb }), () => learner.settle(id, undefined));
            return SLOW;
        }
        learner.late(errors, Date.now() - sentAt, { code: r.code, command: c.verb });
        return r;
    }
    /** Marks the vectors never tried (untriedFrom, recipientLimit); returns the reply to MAIL, if any came. */
    markUntried() {
        const { cmds, vectors, outcome, overLimit } = this;
        const mail = this.replies[cmds.findIndex((c) => c.verb === 'MAIL')];
        // Vectors from here on were never tried: their first RCPT was not written, or hit the limit.
        const firstUnwritten = cmds.findIndex((_, i) => i >= this.written && this.startsVector(i));
        const untried = Math.min(firstUnwritten < 0 ? vectors.length : (cmds[firstUnwritten].vector ?? vectors.length), overLimit ?? vectors.length);
        if (mail !== undefined && transaction_ok(mail) && untried < vectors.length) {
            outcome.untriedFrom = untried;
            if (overLimit !== undefined)
                outcome.recipientLimit = cmds.slice(0, cmds.findIndex((c) => c.vector === overLimit)).filter((c) => c.verb === 'RCPT').length;
        }
        return mail;
    }
    /** Each tried vector's verdict from its own replies (and, in relaxed mode, DATA's). */
    async classify(mail, confirm, opts) {
        const { conn, vectors, verdicts, outcome } = this;
        const seen = { auth: conn.ehlo.extensions.has('AUTH') };
        for (let v = 0; v < (outcome.untriedFrom ?? vectors.length); v++) {
            const a = vectors[v];
            if (!transaction_ok(mail)) {
                verdicts[v] = classifyAttempt({ mail, rcpt: [], rcptCount: a.rcptTo.length, localDestination: a.vector.local }, false, seen);
                continue;
            }
            const rcpt = this.cmds.flatMap((c, i) => (c.vector === v ? [this.replies[i]] : [])).filter((r) => r !== undefined);
            if (rcpt.length !== a.rcptTo.length || rcpt.some((r) => r.code === 421))
                continue;
            let data;
            let dataCommand;
            if (confirm && rcpt.length > 0 && rcpt.every(transaction_ok) && !a.vector.local && outcome.interrupted === undefined && !outcome.abandoned) {
                const sent = await this.confirmData(a, opts);
                if ('verdicts' in sent)
                    return sent;
                ({ data, dataCommand } = sent);
            }
            verdicts[v] = classifyAttempt({ mail, rcpt, rcptCount: a.rcptTo.length, data, dataCommand, localDestination: a.vector.local }, confirm, seen);
        }
        return outcome;
    }
    /** DATA and the test message (relaxed mode): the replies, or the outcome when the server ended the session. */
    async confirmData(a, opts) {
        const s = this.conn.session;
        try {
            const d = await s.command('DATA');
            const data = d.code === 354 ? await s.command(testMessage(a, opts)) : undefined;
            const decisive = data ?? d;
            if (decisive.code >= 400 && decisive.code !== 421)
                this.conn.errors++;
            if (decisive.code === 421)
                return { verdicts: this.verdicts, interrupted: decisive };
            return d.code === 354 ? { data } : { dataCommand: d };
        }
        catch (e) {
            if (e instanceof SessionError)
                return { verdicts: this.verdicts, interrupted: e };
            throw e;
        }
    }
}
/** The classic manual test's message: clearly labelled, dot-stuffed, ended by "." alone. */
function testMessage(a, opts) {
    const envelope = a.mailFrom.replace(/^\s*<?|>?\s*$/g, '');
    // The null sender or a bare user makes no From address: use the probe's own.
    const from = envelope.includes('@') ? envelope : `${opts.probe}@${opts.recipient.domain}`;
    const lines = [
        `From: relay-check <${from}>`,
        `To: <${opts.recipient.address}>`,
        `Subject: relay-check open relay test (${a.vector.id})`,
        `Date: ${new Date().toUTCString()}`,
        `X-Relay-Check-Vector: ${a.vector.id}`,
        '',
        'This message was sent by relay-check, an open relay test.',
        `The server accepted it for an outside recipient using the vector "${a.vector.id}":`,
        `${a.vector.description}.`,
        'If you received it, the server that relayed it is an open relay.',
    ].map((l) => (l.startsWith('.') ? `.${l}` : l));
    return [...lines, '.'].join('\r\n');
}

;// CONCATENATED MODULE: ./src/schedule/run.ts








/** A connection idle longer than this while waiting for greylists is closed and reopened later. */
const IDLE_QUIT_MS = 10_000;
/**
 * The state one run against an address shares between its workers: the queue of jobs,
 * what each vector and control got, and what stops or holds the run.
 */
class TargetRun {
    spec;
    opts;
    report;
    state;
    connections;
    mailboxes;
    queue = new AttemptQueue();
    results = new Map();
    positive;
    /**
     * A control probe per server name that an accepted routing trick was addressed
     * to: a mailbox that cannot exist there. A server that accepts it accepts
     * anything at that name, so the trick proves nothing about relaying. Only
     * run when needed, so a closed server never pays for them.
     */
    controls = new Map();
    nonce = (0,external_node_crypto_namespaceObject.randomBytes)(4).toString('hex');
    /** Senders the server let through to a recipient decision, and whether that relayed. */
    acceptedSenders = new Map();
    /** Attempts whose sender was refused: retried with an accepted sender after the first pass. */
    senderRefused = [];
    plainSender;
    /** stopWhenOpen: the plain attempt that relayed, and why nothing more runs. */
    stop;
    notRunOpen = 0;
    tlsDemanded;
    /** Until the first transaction (the plain attempt's) is answered, the other connections wait. */
    holding;
    resolveHold = () => undefined;
    hold;
    constructor(spec, opts, report, state, connections, mailboxes) {
        this.spec = spec;
        this.opts = opts;
        this.report = report;
        this.state = state;
        this.connections = connections;
        this.mailboxes = mailboxes;
        this.plainSender = `<${opts.probe}@${opts.recipient.domain}>`;
        this.positive = newPositiveControl(mailboxes);
        this.holding = opts.stopWhenOpen === true && opts.vectors.some(isPlainAttempt);
        this.hold = this.holding ? new Promise((resolve) => (this.resolveHold = resolve)) : Promise.resolve();
    }
    /** Vectors into the queue (see planJobs). */
    plan(mydomain) {
        const { opts } = this;
        const input = {
            vectors: opts.vectors,
            recipient: opts.recipient,
            probe: opts.probe,
            helo: opts.helo,
            address: this.spec.address,
            srv: this.report.serverName ?? undefined,
            mydomain,
            plainFirst: opts.stopWhenOpen === true,
            mailboxes: this.mailboxes,
            plainSender: this.plainSender,
        };
        const { jobs, results } = planJobs(input);
        for (const [id, r] of results)
            this.results.set(id, r);
        this.queue.push(...jobs);
    }
    /** The first pass over the queue, on the first connection; nothing runs when plaintext already relayed. */
    async firstPass(first) {
        if (this.opts.relayedInPlaintext !== undefined) {
            const after = this.opts.relayedInPlaintext;
            this.stop = { after, reason: `not run: the plain attempt (${after}) already relayed in plaintext on this port, so the server relays for this client whatever it sends; inside STARTTLS that cannot change, and each transaction would open another queue file on an open server` };
            for (const j of this.queue.drain())
                this.skipOpen(j);
        }
        await this.pass(first, true);
    }
    /** Workers over the queue until it is empty. */
    async pass(initial, lead) {
        const { learner } = this.state;
        const workers = Math.max(1, Math.min(learner.frugal !== undefined ? FRUGAL_CONNECTIONS : CONNECTIONS_PER_ADDRESS, this.queue.size));
        // Followers only while there is a plain attempt to wait for (not with fullBattery, nor in the sender-fallback pass).
        const wait = lead && this.holding;
        await Promise.all(Array.from({ length: workers }, (_, i) => (i === 0 ? this.worker(initial, lead) : wait ? this.follower() : this.worker(undefined))));
    }
    releaseHold() {
        this.holding = false;
        this.resolveHold();
    }
    /** A worker that waits for the plain attempt's answer, its connection opened meanwhile so only that transaction is waited for. */
    async follower() {
        let conn;
        try {
            conn = await this.connections.open(this.opts.helo);
        }
        catch {
            // The worker opens its own when it has something to run.
        }
        await this.hold;
        await this.worker(conn);
    }
    async worker(initial, lead = false) {
        const lane = { conn: initial, lead };
        try {
            for (let more = true; more;)
                more = await this.step(lane);
        }
        finally {
            if (lead)
                this.releaseHold();
            await this.retire(lane);
        }
    }
    async retire(lane) {
        if (lane.conn)
            await this.connections.leave(lane.conn);
        lane.conn = undefined;
    }
    /** One job taken and run (or set aside); false when this worker has nothing more to do. */
    async step(lane) {
        if (this.queue.size === 0)
            return false;
        const now = Date.now();
        const job = this.queue.next(lane.conn?.helo, now);
        if (!job) {
            await this.awaitGreylists(lane, now);
            return true;
        }
        if (this.setAside(job))
            return true;
        await this.fitConnection(lane, job);
        if (!lane.conn) {
            const opened = await this.openFor(lane, job);
            if (opened !== true)
                return opened === false;
        }
        await this.runTransaction(lane, job);
        return true;
    }
    /** Only greylisted attempts are left, waiting for their retry time. */
    async awaitGreylists(lane, now) {
        const wake = this.queue.nextWake();
        if (lane.conn && wake - now > IDLE_QUIT_MS)
            await this.retire(lane);
        await sleep(Math.max(0, Math.min(wake, this.opts.deadline) - now));
        if (Date.now() >= this.opts.deadline)
            for (const j of this.queue.drain())
                this.notRunAtDeadline(j);
    }
    /** A job that is not to run: past the deadline, after the plain attempt relayed, or in plaintext where TLS is demanded. */
    setAside(job) {
        if (Date.now() >= this.opts.deadline) {
            this.notRunAtDeadline(job);
            return true;
        }
        if (this.stop !== undefined && job.control === undefined) {
            this.skipOpen(job);
            return true;
        }
        if (this.tlsDemanded) {
            // Every plaintext attempt would get the same 530 and count as an error.
            this.record(job, undefined, { reason: `not run: ${this.tlsDemanded}`, rule: 'starttls-required' }, []);
            return true;
        }
        return false;
    }
    /** Keeps the lane's connection for this job, says another HELO on it, or retires it. */
    async fitConnection(lane, job) {
        const conn = lane.conn;
        const { learner } = this.state;
        const budget = learner.budget;
        // Every RCPT of the job may be refused: it goes on a connection with room for all of
        // them, or a fresh one, so none of its replies comes after an error sleep.
        const full = conn !== undefined && conn.errors > 0 && conn.errors + job.rendered.rcptTo.length > budget;
        // Past the floor, a connection goes on only as the learner's explorer (see explore),
        // and not even then when this transaction is all that is left: exploring would be given
        // up at once (see transaction's idle), leaving a command the server sleeps on and a
        // session it holds, with its slot, for the whole error sleep. A fresh one answers at once.
        const lastWork = this.queue.size === 0 || this.queue.allShare(job);
        // Every RCPT of the job may be refused: the last one's reply comes after all the others.
        const capped = conn !== undefined && conn.errors > 0 && learner.maySleep(conn.errors + job.rendered.rcptTo.length - 1) && (lastWork || !learner.explore(conn));
        // Where new connections are dear, another HELO is said on the connection at hand.
        if (conn && conn.helo !== job.rendered.helo && learner.frugal !== undefined && !conn.session.closed && !full && !capped && conn.errors < budget) {
            const before = conn.session.transcript.length;
            await rehello(conn, job.rendered.helo);
            job.earlier.push(...conn.session.transcript.slice(before));
        }
        if (conn && (conn.helo !== job.rendered.helo || conn.errors >= budget || full || capped || conn.session.closed))
            await this.retire(lane);
    }
    /** A new connection for the job: true when open; false to take the next job; undefined when this worker stops. */
    async openFor(lane, job) {
        try {
            lane.conn = await this.connections.open(job.rendered.helo);
            return true;
        }
        catch (e) {
            const err = connect_asSessionError(e);
            // Refused for the connection rate while others of ours are open: they take the job.
            if (err.kind === 'rate-limited') {
                this.queue.unshift(job);
                return undefined;
            }
            job.tries++;
            if (job.tries < MAX_TRIES && err.kind !== 'deadline')
                this.queue.unshift(job);
            else
                this.record(job, undefined, { reason: err.kind === 'deadline' ? 'not run: the run deadline was reached' : `not run: ${err.message}` }, []);
            return false;
        }
    }
    /** The job and the companions that share its transaction, run on the lane's connection, and what came of it. */
    async runTransaction(lane, job) {
        const conn = lane.conn;
        if (!conn)
            return;
        const { opts, queue, state, report } = this;
        const { learner } = state;
        // Vectors sharing the HELO and the sender share one transaction, so an accepting
        // server opens one queue file for them rather than one each. The transaction itself
        // stops starting vectors at the error budget; those it never tried come back.
        // Relaxed mode confirms each accepted vector with its own message: one per transaction.
        // Frugal: few connections, so a transaction carries no more than its share, and every
        // connection has work (Sendmail throttles each refused RCPT past the third per session).
        const recipients = Math.min(state.recipientLimit, MAX_RCPTS_PER_TRANSACTION, learner.frugal !== undefined ? Math.max(1, Math.ceil(queue.size / FRUGAL_CONNECTIONS)) : MAX_RCPTS_PER_TRANSACTION);
        // While the others wait, the plain attempt goes alone: its answer is all they wait for
        // (a closed server's refusal comes at once, with no companion's reply to sleep on).
        const alone = opts.confirm || (lane.lead && this.holding);
        const txn = transactionOrder([job, ...(alone ? [] : queue.companions(job, recipients - 1, Date.now()))]);
        for (const j of txn)
            j.tries++;
        const mark = conn.session.transcript.length;
        report.transactions = (report.transactions ?? 0) + 1;
        // Control probes (positive ones too) never send DATA: they only ask whether a mailbox is accepted.
        const res = await transaction(conn, txn.map((j) => j.rendered), opts, learner, opts.confirm && txn[0].control === undefined && txn[0].positive === undefined, queue.whenEmpty());
        await this.afterTransaction(lane, conn, txn, res, conn.session.transcript.slice(mark));
    }
    /** Each tried job decided; the untried and the unanswered back on the queue. */
    async afterTransaction(lane, conn, txn, res, transcript) {
        const { state, queue } = this;
        if (res.recipientLimit !== undefined)
            state.recipientLimit = Math.max(1, Math.min(state.recipientLimit, res.recipientLimit));
        // Never tried (budget reached, session gone before their RCPT, over the recipient
        // limit): back to the front, with no try spent.
        const untried = txn.slice(res.untriedFrom ?? txn.length);
        for (const j of untried)
            j.tries--;
        const tried = txn.slice(0, res.untriedFrom ?? txn.length);
        tried.forEach((j, i) => {
            const v = res.verdicts[i];
            if (v)
                this.decide(j, conn, v, transcript);
        });
        const undecided = [...tried.filter((_, i) => res.verdicts[i] === undefined)];
        queue.unshift(...untried);
        if (lane.lead)
            this.releaseHold();
        // Nothing could start here (no room left for even the first vector): a fresh connection can.
        if (res.untriedFrom === 0 && !res.abandoned && !res.interrupted)
            await this.retire(lane);
        if (res.abandoned) {
            this.requeueAbandoned(undecided, conn, res, transcript);
            await this.retire(lane);
            return;
        }
        if (res.interrupted) {
            // A drop after refusals means the server's limit is lower than our budget.
            state.learner.dropped(conn.errors);
            await this.retire(lane);
            this.requeueInterrupted(undecided, res.interrupted, transcript);
        }
    }
    /**
     * The server began sleeping before its replies: those RCPTs were never answered,
     * so they go again, untried, on a connection with room in the budget.
     */
    requeueAbandoned(undecided, conn, res, transcript) {
        for (const j of undecided) {
            // Given up on by our choice (nothing else was left to run), not for the server's
            // delay: no try spent and no abandon counted.
            const free = res.gaveUp === true || (j.abandons = (j.abandons ?? 0) + 1) <= FREE_ABANDONS;
            if (free)
                j.tries--;
            const why = res.gaveUp
                ? `reply not waited for after ${conn.errors} refusal(s) on this connection (it might be slept on, and nothing else was left to run); tried again on a new connection`
                : `reply overdue after ${conn.errors} refusal(s) on this connection (the server's error sleep); not answered, tried again on a new connection`;
            j.earlier.push(...transcript, { dir: '*', text: why, at: transcript[transcript.length - 1]?.at ?? 0 });
        }
        const spent = undecided.filter((j) => j.tries >= MAX_TRIES);
        for (const j of spent)
            this.record(j, undefined, { reason: `interrupted: the server kept delaying its reply after ${conn.errors} refusal(s) (error sleep)` }, transcript);
        this.queue.unshift(...undecided.filter((j) => j.tries < MAX_TRIES));
    }
    /** The server ended the session: each undecided job tried once more on a new connection, or recorded as interrupted. */
    requeueInterrupted(undecided, interrupted, transcript) {
        const why = interrupted instanceof SessionError ? interrupted.message : `server closing: ${formatReply(interrupted)}`;
        const deadline = interrupted instanceof SessionError && interrupted.kind === 'deadline';
        const again = [];
        for (const j of undecided) {
            if (j.tries < MAX_TRIES && !deadline) {
                j.earlier.push(...transcript, { dir: '*', text: `interrupted (${why}); retrying on a new connection`, at: transcript[transcript.length - 1]?.at ?? 0 });
                again.push(j);
            }
            else {
                this.record(j, undefined, { reason: deadline ? 'not run: the run deadline was reached' : `interrupted twice: ${why}`, stage: null }, transcript);
            }
        }
        this.queue.unshift(...again);
    }
    /** What one vector's answer means for it: recorded, retried after a greylist, or kept for the sender-fallback pass. */
    decide(job, conn, v, transcript) {
        if (v.rule === 'greylisted' || v.rule === 'greylisted-code')
            return this.retryGreylisted(job, conn, v, transcript);
        const reason = job.greylisted ? `${v.reason}, after ${job.greylisted.tries} greylist deferral(s)` : v.reason;
        const fields = { outcome: v.outcome, reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
        // An accepted positive control shows the sender is accepted, not that it relays.
        const relayed = v.outcome === 'relayed' && job.positive === undefined;
        if (v.subject === 'recipient' || v.outcome === 'relayed')
            this.acceptedSenders.set(job.rendered.mailFrom, (this.acceptedSenders.get(job.rendered.mailFrom) ?? false) || relayed);
        if (v.subject === 'sender' && v.outcome !== 'relayed' && !job.senderRefusal && job.control === undefined && testsMoreThanSender(job.rendered.vector)) {
            // The sender was refused (its form, or checks of its domain), so the recipient form
            // or HELO this vector exists for was never evaluated: retry it once with a sender
            // the server accepted, when one is known after the first pass.
            job.senderRefusal = { mailFrom: job.rendered.mailFrom, fields: { ...fields, connection: conn.index } };
            job.earlier.push(...transcript);
            this.senderRefused.push(job);
            return;
        }
        const refusal = job.senderRefusal;
        if (refusal)
            fields.reason += ` (the vector's sender ${refusal.mailFrom} was refused: ${refusal.fields.reply}; the recipient form was then tried with ${job.rendered.mailFrom}, a sender this server accepted)`;
        this.record(job, conn, fields, transcript);
        if (v.outcome === 'relayed' && job.control === undefined && job.rendered.routedVia !== undefined)
            this.needControl(job.rendered.routedVia, job.rendered.mailFrom);
        if (this.opts.stopWhenOpen && this.stop === undefined && v.outcome === 'relayed' && job.control === undefined && isPlainAttempt(job.rendered.vector)) {
            const after = job.rendered.vector.id;
            this.stop = { after, reason: `not run: the plain attempt (${after}) relayed, so this server relays for this client whatever it sends; no further transaction was started, since on an open server each one opens a queue file (and Postfix's in_flow_delay then slows its real mail)` };
            for (const j of this.queue.take((j) => j.control === undefined))
                this.skipOpen(j);
        }
        if (v.rule === 'starttls-required')
            this.tlsDemanded = `the server demands STARTTLS (${formatReply(v.decisive)})`;
    }
    /**
     * A greylist defers a (client, sender, recipient) triple it has not seen: the same
     * triple retried after the delay goes through, so retry while the deadline allows.
     */
    retryGreylisted(job, conn, v, transcript) {
        const fields = { outcome: v.outcome, reason: v.reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
        const g = (job.greylisted ??= { tries: 0, fields, connection: conn.index });
        g.tries++;
        g.fields = fields;
        g.connection = conn.index;
        job.earlier.push(...transcript);
        const backoff = greylistBackoff(g.tries);
        if (Date.now() + backoff < this.opts.deadline) {
            job.notBefore = Date.now() + backoff;
            job.tries = 0;
            this.queue.push(job);
        }
        else {
            this.notRunAtDeadline(job);
        }
    }
    /** A control probe for a name a routing trick relayed to, once per name (see controls). */
    needControl(d, sender) {
        if (this.controls.has(d))
            return;
        const { control, job } = controlJob(d, sender, this.nonce, this.opts.helo);
        this.controls.set(d, control);
        this.queue.push(job);
    }
    /** One job's result: a positive or a catch-all control's answer, or a vector's attempt. */
    record(job, conn, fields, transcript) {
        const { vector, helo, mailFrom, rcptTo } = job.rendered;
        if (job.positive !== undefined) {
            const p = this.positive.probes.find((x) => x.mailbox === job.positive);
            if (p) {
                p.reply = fields.reply ?? fields.reason ?? null;
                // Any refusal counts, temporary ones too: what matters is whether this client's mail gets in.
                p.accepted = fields.outcome === 'relayed' ? true : fields.reply ? false : null;
                p.rule = p.accepted === false ? (fields.rule ?? null) : null;
                this.positive.sender = mailFrom;
            }
            return;
        }
        if (job.control !== undefined) {
            const c = this.controls.get(job.control);
            if (c) {
                c.reply = fields.reply ?? fields.reason ?? null;
                // Only a refusal of the mailbox itself (at RCPT) says the name does not take any mailbox.
                c.accepted = fields.outcome === 'relayed' ? true : fields.outcome === 'denied' && fields.stage === 'rcpt' ? false : null;
            }
            return;
        }
        this.results.set(vector.id, {
            vector: vector.id,
            description: vector.description,
            provenance: vector.provenance,
            helo,
            mailFrom,
            rcptTo,
            outcome: 'inconclusive',
            reason: '',
            rule: null,
            reply: null,
            stage: null,
            connection: conn?.index ?? null,
            tries: job.tries,
            transcript: [...job.earlier, ...transcript],
            routedVia: job.rendered.routedVia ?? null,
            ...fields,
        });
    }
    skipOpen(job) {
        if (job.positive !== undefined) {
            this.positive.note = `not asked: the plain attempt (${this.stop?.after ?? PLAIN_ATTEMPT}) relayed, which needs no control`;
            return;
        }
        this.notRunOpen++;
        this.record(job, undefined, { outcome: 'skipped', reason: this.stop?.reason ?? 'not run' }, []);
    }
    notRunAtDeadline(job) {
        const g = job.greylisted;
        if (!g)
            return this.record(job, undefined, { reason: 'not run: the run deadline was reached' }, []);
        this.record(job, undefined, { ...g.fields, connection: g.connection, reason: `greylisted: still deferred after ${g.tries} tries when the run's deadline came (raise \`timeout\` above the greylist delay)` }, []);
    }
}

;// CONCATENATED MODULE: ./src/schedule/budget.ts

/** Refusals per connection while frugal, until the server shows its hard limit by ending a session: more than any battery needs. */
const FRUGAL_BUDGET = 1000;
/**
 * How many refusals one connection to a server may take before its replies
 * slow down, learned from reply timings and shared by every connection to that
 * server.
 *
 * Postfix's error sleep (measured, Postfix 3.7): with `smtpd_soft_error_limit`
 * k, the reply after each of the first k refusals of a session comes at once;
 * every reply after that, whatever it is (the next refusal, a 250 to RSET, the
 * 221 to QUIT), comes after `smtpd_error_sleep_time`. So the reply after e
 * refusals is slow exactly when e >= k: a fast one proves k > e, the first slow
 * one after e refusals proves k <= e. The learner keeps both bounds: `floor`
 * (k >= floor: replies this early on a connection cannot sleep) and `budget`
 * (k <= budget as far as we know: retire a connection once it made that many).
 *
 * What a slow reply does not say: a slow reply with no refusal before it on its
 * connection is not error sleep (callouts, tarpits); a slow 2xx to MAIL or RCPT
 * is not either (Postfix's cleanup waiting out `in_flow_delay` before a new
 * queue file, sender or recipient verification). The scheduler reports a
 * suspected sleep while the reply is still outstanding (it stops waiting for
 * it), and settles the suspicion when that reply finally comes: a 2xx to MAIL
 * or RCPT takes it back.
 */
class BudgetLearner {
    settled;
    floorValue = 1;
    suspected = new Map();
    nextId = 1;
    /** Slow 2xx replies to RCPT: Postfix's inflow control pausing before a new queue file, or a callout. */
    pauses = 0;
    /** The one connection that may send a command whose reply may be slept on (see explore). */
    explorer;
    /**
     * Set when the server limits new connections per client (why, in its words or ours): a
     * fresh connection is then the dear thing, not a slow reply. Connections are kept until the
     * server ends them (its hard limit, learned from the drop), and delayed replies are waited
     * out instead of raced (Sendmail sleeps a second per refused RCPT past confBAD_RCPT_THROTTLE;
     * Postfix smtpd_error_sleep_time).
     */
    frugal;
    /** Refusals after which the server ended a session (421 or a drop): its hard limit, as far as seen. */
    hard = Number.POSITIVE_INFINITY;
    beFrugal(why) {
        this.frugal ??= why;
    }
    constructor(initial = DEFAULT_ERROR_BUDGET) {
        this.settled = Math.max(1, initial);
    }
    /** Refusals a connection may take before it is retired. */
    get budget() {
        if (this.frugal !== undefined)
            return Math.max(1, Math.min(this.hard - 1, FRUGAL_BUDGET));
        return Math.max(1, Math.min(this.settled, ...this.suspected.values()));
    }
    /** Refusals known to be answered at once: k >= floor. */
    get floor() {
        return Math.min(this.floorValue, this.budget);
    }
    /** Whether a reply after `errors` refusals on its connection may be delayed by error sleep. */
    maySleep(errors) {
        // Frugal: a delayed reply is waited for, not raced (see frugal).
        return this.frugal === undefined && errors >= 1 && errors >= this.floor;
    }
    /** A reply came at once after `errors` refusals on its connection. */
    fast(errors) {
        if (errors + 1 > this.floorValue)
            this.floorValue = errors + 1;
        // A fast reply after e refusals contradicts a suspicion that k <= e.
        for (const [id, bound] of this.suspected)
            if (bound <= errors)
                this.suspected.delete(id);
    }
    /**
     * A reply after `errors` refusals is overdue: probably error sleep, so the
     * budget is `errors` from now on, for every connection, until settle() says
     * otherwise. Returns the suspicion's id, or undefined when it cannot be sleep.
     */
    suspect(errors) {
        if (!this.maySleep(errors))
            return undefined;
        const id = this.nextId++;
        this.suspected.set(id, errors);
        return id;
    }
    /**
     * The overdue reply came (or never will: `reply` undefined). A refusal, a
     * reply to RSET or QUIT, or none at all confirms the sleep; a 2xx to MAIL or
     * RCPT was a pause of another kind, and the budget goes back.
     */
    settle(id, reply) {
        if (id === undefined)
            return;
        const bound = this.suspected.get(id);
        if (bound === undefined)
            return;
        this.suspected.delete(id);
        const otherPause = reply !== undefined && reply.code < 400 && /^(MAIL|RCPT)$/.test(reply.command);
        if (otherPause) {
            if (reply.command === 'RCPT')
                this.pauses++;
            return;
        }
        this.settled = Math.min(this.settled, Math.max(1, bound));
    }
    /** A slow reply that arrived while it could not be error sleep: counted when it is an accepted RCPT. */
    slowAccepted(command) {
        if (command === 'RCPT')
            this.pauses++;
    }
    /**
     * Whether `owner` (a connection) may send a command whose reply may be
     * slept on, i.e. find out whether the limit is above what is known. One
     * connection at a time: when the limit is low every such reply costs a wait
     * of LIMITS.slowReplyMs before it counts as overdue, and connections that
     * all learn it at once all wait. The others stay at the floor meanwhile,
     * where no reply is slept on.
     */
    explore(owner) {
        this.explorer ??= owner;
        return this.explorer === owner;
    }
    /** The connection is gone: another may explore. */
    release(owner) {
        if (this.explorer === owner)
            this.explorer = undefined;
    }
    /**
     * An explorer gave up on a reply before it was overdue (nothing else was
     * left to run): whether the limit is above the floor is still open, and the
     * floor is what was used.
     */
    gaveUp() {
        this.undecided++;
    }
    undecided = 0;
    /** Refusals per connection as far as the server showed them: the floor while an exploration is undecided, else the budget. */
    get shown() {
        return this.undecided > 0 ? this.floor : this.budget;
    }
    /** The reply an explorer gave up on came after all (see late): one open question fewer. */
    answered() {
        if (this.undecided > 0)
            this.undecided--;
    }
    /**
     * A reply came elapsedMs after it was asked for, after `errors` refusals on
     * its connection: what its timing says (also for one we had stopped waiting
     * for before it was overdue).
     */
    late(errors, elapsedMs, reply) {
        if (elapsedMs <= LIMITS.slowReplyMs)
            this.fast(errors);
        else if (this.maySleep(errors))
            this.settle(this.suspect(errors), reply);
        else if (reply.code < 400)
            this.slowAccepted(reply.command);
    }
    /** The server ended the session (421 or a drop) after `errors` refusals: its hard limit is no higher. */
    dropped(errors) {
        if (errors >= 1)
            this.hard = Math.min(this.hard, errors);
        if (errors >= 1)
            this.settled = Math.min(this.settled, errors);
        if (this.floorValue > this.settled)
            this.floorValue = this.settled;
    }
}

;// CONCATENATED MODULE: ./src/schedule/pool.ts

/**
 * The sessions relay-check holds at one server, active or left behind, kept
 * under a limit: at most `activeLimit` carrying attempts, at most `limit` in
 * all. A session we left still counts until the server closes it, because the
 * server counts it (Postfix smtpd_client_connection_count_limit). A
 * `421 … too many connections` greeting lowers the limit to what we held.
 */
class ConnectionPool {
    limitValue;
    activeLimit;
    active = 0;
    retired = 0;
    waiters = [];
    /** Most sessions held at once, for tests and the bench. */
    peak = 0;
    /** How often the server refused a session for too many connections. */
    refusals = 0;
    constructor(limitValue = SESSION_SLOTS, activeLimit = CONNECTIONS_PER_ADDRESS) {
        this.limitValue = limitValue;
        this.activeLimit = activeLimit;
    }
    /** Sessions the server may be holding for us now. */
    get occupied() {
        return this.active + this.retired;
    }
    get limit() {
        return this.limitValue;
    }
    free() {
        return this.occupied < this.limitValue && this.active < this.activeLimit;
    }
    /**
     * A slot, once one is free; undefined when the deadline (Date.now() scale)
     * comes first. Waiters are served in order.
     */
    acquire(deadline) {
        if (this.free() && this.waiters.length === 0)
            return Promise.resolve(this.claim());
        return new Promise((resolve) => {
            const waiter = (slot) => {
                clearTimeout(t);
                resolve(slot);
            };
            const t = setTimeout(() => {
                this.waiters = this.waiters.filter((w) => w !== waiter);
                resolve(undefined);
            }, Math.max(0, deadline - Date.now()));
            this.waiters.push(waiter);
        });
    }
    claim() {
        this.active++;
        this.peak = Math.max(this.peak, this.occupied);
        let state = 'active';
        const drop = () => {
            if (state === 'active')
                this.active--;
            else if (state === 'retired')
                this.retired--;
            else
                return;
            state = 'free';
            this.wake();
        };
        return {
            release: drop,
            retire: (gone, lifetimeMs = RETIRED_SESSION_LIFETIME_MS) => {
                if (state !== 'active')
                    return;
                state = 'retired';
                this.active--;
                this.retired++;
                // The active count went down: another session may start if the total allows.
                this.wake();
                const t = setTimeout(drop, lifetimeMs);
                t.unref();
                const done = () => {
                    clearTimeout(t);
                    drop();
                };
                void gone.then(done, done);
            },
        };
    }
    /**
     * The server refused a session for too many connections while we held
     * `occupied` (that refused one included): its limit for us is what we held
     * besides it, when that is at least one. Returns how long to wait before
     * trying again when none of ours can free a slot (someone else holds them).
     */
    tooMany(attempt) {
        this.refusals++;
        const others = this.occupied - 1;
        if (others >= 1) {
            this.limitValue = Math.min(this.limitValue, others);
            return undefined;
        }
        return Math.min(SLOT_WAIT_MS * attempt, SLOT_WAIT_MAX_MS);
    }
    /** Hands free slots to waiters, claiming each before the waiter resumes so no one else can take it. */
    wake() {
        while (this.waiters.length > 0 && this.free()) {
            const w = this.waiters.shift();
            if (w)
                w(this.claim());
        }
    }
}

;// CONCATENATED MODULE: ./src/schedule/servers.ts



/**
 * One per server for the whole process, not per run or per transport: the
 * plaintext and the STARTTLS pass meet the same smtpd limits, and sessions a
 * finished run left behind still occupy the server's slots when the next run
 * starts.
 */
const servers = new Map();
function serverState(address, port) {
    const key = `${address}|${port}`;
    let s = servers.get(key);
    if (!s) {
        s = { pool: new ConnectionPool(), learner: new BudgetLearner(), recipientLimit: MAX_RCPTS_PER_TRANSACTION };
        servers.set(key, s);
    }
    return s;
}

;// CONCATENATED MODULE: ./src/schedule/tricks.ts










/**
 * The identity tricks on one target, after its battery: each where the server offers the
 * door, on a connection of its own, followed by the plain relay attempt. The control of each
 * is the same attempt without the trick (the battery's plain attempt; for PROXY, the same
 * header naming an outside address): where the control relayed, the trick proves nothing
 * more and is not run (every accepted transaction costs an open server a queue file).
 * XCLIENT and AUTH here; XFORWARD is only reported.
 */
async function identityTricks(spec, opts, report, state) {
    const doors = doorsOf(report, null);
    if (doors.xforward !== null)
        doors.notes.push(`${where(spec)}: XFORWARD is offered to this client (${doors.xforward || 'no attributes named'}): in Postfix it changes what is logged for the session, not whom the server trusts; no verdict (smtpd_authorized_xforward_hosts)`);
    const tricks = applicable(report, opts);
    if (tricks.length > 0 || doors.xforward !== null)
        report.doors = doors;
    report.attempts.push(...(await runList(tricks, spec, opts, report, state, doors)));
}
/**
 * The PROXY tricks (v1 and v2 headers claiming 127.0.0.1, after their control: a header
 * naming an outside address) on a plaintext IPv4 port, for `reason`: the sign the plain
 * connection showed, or the input. The port may have given no session at all without one.
 */
async function proxyTricks(spec, opts, report, state, reason) {
    if (spec.transport !== 'plain' || !external_node_net_default().isIPv4(spec.address))
        return;
    const doors = report.doors ?? doorsOf(report, reason);
    doors.proxy = reason;
    report.doors = doors;
    const attempts = await runList(IDENTITY_TRICKS.filter((t) => t.door === 'proxy'), spec, opts, report, state, doors);
    report.attempts.push(...attempts);
    // Without a header the port gave no session: the MTA is known only from the tricks' own.
    report.mta ??= mtaOfSessions(attempts);
}
/** Which MTA answered the trick sessions (their greeting, EHLO keywords and replies); undefined when none got a greeting. */
function mtaOfSessions(attempts) {
    const lines = attempts.flatMap((a) => a.transcript.filter((l) => l.dir === 'S').map((l) => l.text));
    const greeting = lines.filter((l) => /^220[ -]/.test(l)).slice(0, 1);
    if (greeting.length === 0)
        return undefined;
    const extensions = [...new Set(lines.filter((l) => /^250-/.test(l)).map((l) => l.slice(4).split(/\s+/)[0].toUpperCase()))];
    return identifyMta({ greeting, extensions, replies: attempts.map((a) => a.reply) });
}
async function runList(tricks, spec, opts, report, state, doors) {
    const plain = report.attempts.find((a) => a.vector === PLAIN_ATTEMPT);
    const out = [];
    for (const trick of tricks) {
        const control = trick.door === 'proxy' ? out.find((a) => a.vector === 'proxy-v1-outsider') : plain;
        if (trick.door !== 'proxy' && opts.relayedInPlaintext !== undefined) {
            out.push(skipped(trick, `not run: the plain attempt (${opts.relayedInPlaintext}), the same attempt without the trick, already relayed in plaintext on this port`));
            continue;
        }
        if (control?.outcome === 'relayed') {
            out.push(skipped(trick, `not run: its control (${control.vector}, the same attempt without the trick) relayed, so the trick proves nothing more${trick.door === 'proxy' ? ': this port relays for anyone who sends a PROXY header' : ''}`));
            continue;
        }
        if (trick.door === 'proxy' && control !== undefined && control.outcome === 'inconclusive' && control.reply === null) {
            // No session after the control's header either: another header would only wait as long.
            out.push({ ...notRun(vectorOf(trick), `not run: the control's header got no session either (${control.reason.replace(/^not run: /, '')})`), helo: opts.helo });
            continue;
        }
        if (Date.now() >= opts.deadline) {
            out.push({ ...notRun(vectorOf(trick), 'not run: the run deadline was reached'), helo: opts.helo });
            continue;
        }
        out.push(await tryTrick(trick, spec, opts, report, state, doors));
    }
    return out;
}
/** The XCLIENT and AUTH tricks whose door this target showed, in the table's order. */
function applicable(report, opts) {
    if (!report.reachable)
        return [];
    // Failed logins are what fail2ban's postfix-sasl jail counts (maxretry 5 by default): an
    // empty password goes to the backend once per port, by PLAIN, or by LOGIN where PLAIN is
    // not offered (the same password check decides both), and not again inside STARTTLS
    // when plaintext already tried it.
    const offered = report.extensions.includes('AUTH') && opts.authTriedInPlaintext !== true ? authMechanisms(lastEhloLines(report)) : [];
    const mechs = offered.includes('PLAIN') ? offered.filter((m) => m !== 'LOGIN') : offered;
    // With client-address the session is XCLIENT's outsider: XCLIENT still offered means that outsider may claim anything too.
    const xclient = report.extensions.includes('XCLIENT') && opts.clientAddress !== CLAIMED_ADDRESS;
    return IDENTITY_TRICKS.filter((t) => {
        if (t.door === 'proxy')
            return false;
        if (t.door === 'xclient')
            return xclient;
        return t.mechanism !== undefined && mechs.includes(t.mechanism);
    });
}
function doorsOf(report, proxy) {
    const line = lastEhloLines(report).find((l) => /^XFORWARD\b/i.test(l));
    return { xforward: report.extensions.includes('XFORWARD') ? (line?.replace(/^XFORWARD\s*/i, '') ?? '') : null, proxy, notes: [] };
}
/** The keyword lines of the last EHLO reply of the first connection (after STARTTLS and XCLIENT). */
function lastEhloLines(report) {
    const lines = [];
    for (const l of report.opening) {
        if (l.dir === 'C' && /^EHLO /i.test(l.text))
            lines.length = 0;
        else if (l.dir === 'S' && /^250[- ]/.test(l.text))
            lines.push(l.text.slice(4));
    }
    return lines.slice(1);
}
const where = (spec) => `${external_node_net_default().isIPv6(spec.address) ? `[${spec.address}]` : spec.address}:${spec.port}${spec.transport === 'plain' ? '' : ` (${spec.transport})`}`;
function vectorOf(trick) {
    return { id: trick.id, description: trick.description, provenance: trick.provenance, mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}@{domain}>'] };
}
function skipped(trick, reason) {
    return { ...notRun(vectorOf(trick), reason), outcome: 'skipped' };
}
/** The plain attempt (see PLAIN_ATTEMPT) under the trick's id: the same sender, recipient and HELO. */
function rendered(trick, opts) {
    return { vector: vectorOf(trick), helo: opts.helo, mailFrom: `<${opts.probe}@${opts.recipient.domain}>`, rcptTo: [`<${opts.recipient.user}@${opts.recipient.domain}>`] };
}
/** One trick on a connection of its own: the door, then the relay attempt, as one attempt of the report. */
async function tryTrick(trick, spec, opts, report, state, doors) {
    const attempt = rendered(trick, opts);
    const base = { ...notRun(attempt.vector, ''), helo: attempt.helo, mailFrom: attempt.mailFrom, rcptTo: attempt.rcptTo, tries: 1 };
    const slot = await state.pool.acquire(opts.deadline);
    if (!slot)
        return { ...base, tries: 0, reason: 'not run: the run deadline was reached while waiting for a free connection slot' };
    const index = ++report.connections;
    let session;
    try {
        // The PROXY tricks write their own header, and speak as no one else.
        const setup = trick.door === 'proxy' ? setupFor(spec, { ...opts, viaProxy: false }, opts.helo, undefined) : setupFor(spec, opts, opts.helo, opts.clientAddress);
        const opened = await openSession(trick.proxy ? { ...setup, preamble: proxyFor(trick, spec) } : setup);
        session = opened.session;
        const door = await openDoor(trick, session, opened.ehlo, opts);
        if ('refused' in door)
            return { ...base, connection: index, transcript: [...session.transcript], outcome: 'denied', reason: `the server refused the trick: ${door.refused}`, rule: 'identity-refused', reply: door.refused };
        const conn = { session, index, helo: opts.helo, ehlo: door.ehlo, errors: 0, transactions: 0, slot, abandoned: false };
        const res = await transaction(conn, [attempt], opts, state.learner, opts.confirm);
        const v = res.verdicts[0];
        const transcript = [...session.transcript];
        if (!v)
            return { ...base, connection: index, transcript, reason: `interrupted: ${res.interrupted instanceof Error ? res.interrupted.message : res.interrupted ? formatReply(res.interrupted) : 'no reply decided it'}` };
        const fields = { outcome: v.outcome, reason: v.reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
        if (v.outcome === 'relayed')
            fields.reason = `${v.reason} ${RELAYED_BECAUSE[trick.door](door.said)}`;
        else if (trick.door === 'auth')
            doors.notes.push(authNote(spec, trick, door.said, fields.reply));
        return { ...base, ...fields, connection: index, transcript };
    }
    catch (e) {
        const err = connect_asSessionError(e);
        const transcript = err.transcript.length > 0 ? err.transcript : [...(session?.transcript ?? [])];
        // A port that does not read PROXY headers ends the session (the v2 signature holds "QUIT\n" for that) or refuses it.
        if (trick.door === 'proxy' && (err.kind === 'closed' || err.kind === 'protocol')) {
            return { ...base, connection: index, transcript, outcome: 'denied', reason: `the server does not take a PROXY header from this client: ${err.message}`, rule: 'identity-refused', reply: err.reply ? formatReply(err.reply) : null };
        }
        return { ...base, connection: index, transcript, reason: `not run: ${err.message}` };
    }
    finally {
        await session?.quit();
        if (session)
            slot.retire(session.gone);
        else
            slot.release();
    }
}
function authNote(spec, trick, said, reply) {
    const anonymous = trick.mechanism === 'ANONYMOUS' ? ' Postfix never lets an ANONYMOUS login relay (permit_sasl_authenticated ignores that mechanism); turn it off all the same (smtpd_sasl_security_options = noanonymous).' : ' Whatever accepts an empty password here (the SASL backend) lets anyone log in.';
    return `${where(spec)}: AUTH ${trick.mechanism ?? ''} with no credential was accepted (${said}); the relay attempt after it was refused (${reply}).${anonymous}`;
}
const RELAYED_BECAUSE = {
    xclient: (said) => `after XCLIENT ADDR=${CLAIMED_ADDRESS} (${said}): this client may claim any address, so anyone can claim to be trusted`,
    auth: (said) => `after AUTH with no credential (${said}): any client can authenticate`,
    proxy: () => `after a PROXY header claiming ${CLAIMED_ADDRESS}: anyone who reaches this port can claim to be trusted`,
};
/** The PROXY header of a trick: from the claimed (or the outside) address to the target. */
function proxyFor(trick, spec) {
    const source = trick.proxy?.claims === 'outsider' ? PROXY_OUTSIDER : CLAIMED_ADDRESS;
    // A source port as a proxy would pick one: ephemeral, any.
    return proxyHeader(trick.proxy?.version ?? 1, source, spec.address, 40_000 + ((0,external_node_crypto_namespaceObject.randomBytes)(2).readUInt16BE(0) % 20_000), spec.port);
}
/** Through the door: the EHLO to run the attempt under and what the door said, or the refusal. */
async function openDoor(trick, session, ehlo, opts) {
    if (trick.door === 'proxy') {
        // A server that greets without waiting for the header reads it as a command and answers
        // it (502): every reply after that belongs to the command before. Nothing here can be trusted.
        const answered = session.transcript.find((l) => l.dir === 'S' && /^5\d\d[ -]/.test(l.text));
        if (answered || ehlo.verb === 'HELO')
            return { refused: `the header was read as a command (${answered?.text ?? 'EHLO refused'})` };
        return { ehlo, said: '' };
    }
    if (trick.door === 'xclient') {
        const r = await xclientAs(session, CLAIMED_ADDRESS, opts.helo, opts.connectTimeoutMs);
        if (!r.ehlo || r.ehlo.reply.code >= 300)
            return { refused: formatReply(r.ehlo?.reply ?? r.reply) };
        return { ehlo: r.ehlo, said: formatReply(r.reply) };
    }
    // A user that cannot exist anywhere: never a real account, never a guessed password.
    const user = `relay-check-nobody-${(0,external_node_crypto_namespaceObject.randomBytes)(4).toString('hex')}`;
    const r = await authWithNothing(session, trick.mechanism ?? 'PLAIN', user, opts.connectTimeoutMs);
    if (r.code !== 235)
        return { refused: formatReply(r) };
    return { ehlo, said: formatReply(r) };
}

;// CONCATENATED MODULE: ./src/schedule/target.ts












/**
 * Runs the battery against one address: takes connections from the server's
 * pool, spreads transactions over them, keeps each under the error budget the
 * learner has for the server, resumes after drops, and returns one result per
 * vector. Never throws for anything the server does.
 *
 * In order: open a session (the first connection names the server), plan (vectors into
 * jobs), run (workers over the queue, then the sender-fallback pass), settle (controls,
 * the MTA, each vector's result).
 */
async function runTarget(spec, opts) {
    const started = Date.now();
    const state = serverState(spec.address, spec.port);
    const { learner } = state;
    // The learner is the server's, shared by every run against it: this run's pauses are the difference.
    const pausesBefore = learner.pauses;
    const report = emptyReport(spec, learner.budget);
    const connections = new Connections(spec, opts, report, state);
    // Open a session: the first connection tells us the server's name, which the templates need.
    let first;
    try {
        first = await connections.open(opts.helo);
        report.reachable = true;
    }
    catch (e) {
        const err = connect_asSessionError(e);
        if (err.kind === 'client-refused' && err.reply)
            await clientRefused(report, err, err.reply, spec, opts);
        else
            unreached(report, err, learner);
        return finish(report, started);
    }
    frugalForSendmail(report, learner);
    const mydomain = mydomainOf(report, opts);
    if (recipientIsLocal(report, opts, mydomain)) {
        await connections.leave(first);
        return finish(report, started);
    }
    // Plan, run, settle.
    const run = new TargetRun(spec, opts, report, state, connections, positiveMailboxes(opts.domain, report.serverName ?? undefined, opts.localRecipient));
    run.plan(mydomain);
    await run.firstPass(first);
    if (retryRefusedSenders(run))
        await run.pass(undefined, false);
    await settleTarget(run, pausesBefore);
    await identityTricks(spec, opts, report, state);
    return finish(report, started);
}
/**
 * The PROXY tricks on a plaintext run already finished (the engine decides when: the sign
 * the plain connection showed, or `proxy-protocol: try`), its counts and verdict again.
 */
async function withProxyTricks(report, spec, opts, reason) {
    const started = Date.now() - report.durationMs;
    await proxyTricks(spec, opts, report, serverState(spec.address, spec.port), reason);
    return finish(report, started);
}
function finish(report, started) {
    report.counts = countAttempts(report.attempts);
    report.durationMs = Date.now() - started;
    report.verdict = targetVerdict(tallyOf(report));
    return report;
}
function emptyReport(spec, errorBudget) {
    return {
        host: spec.host,
        address: spec.address,
        family: external_node_net_default().isIPv6(spec.address) ? 6 : 4,
        port: spec.port,
        transport: spec.transport,
        tls: null,
        reachable: false,
        error: null,
        errorKind: null,
        greeting: null,
        serverName: null,
        extensions: [],
        opening: [],
        connections: 0,
        transactions: 0,
        controls: [],
        errorBudget,
        durationMs: 0,
        verdict: 'inconclusive',
        counts: countAttempts([]),
        attempts: [],
    };
}
/**
 * `tls: auto` on a port other than 465: the plaintext connection got no byte of
 * a greeting in time. A server in implicit-TLS (wrapper) mode waits silently
 * for a ClientHello, so that is worth one TLS handshake before giving up.
 */
function silentGreeting(t) {
    return !t.reachable && t.errorKind === 'timeout' && t.greeting === null && !t.opening.some((l) => l.dir === 'S');
}

;// CONCATENATED MODULE: ./src/settings.ts


const INPUT_NAMES = [
    'host',
    'domain',
    'port',
    'strictness',
    'tls',
    'recipient',
    'sender',
    'local-recipient',
    'helo',
    'client-address',
    'proxy-protocol',
    'postfix-config',
    'postfix-overrides',
    'exim-config',
    'base-ref',
    'timeout',
    'connect-timeout',
    'report-path',
    'comment',
    'issue',
    'github-token',
];
const DEFAULTS = {
    port: '25',
    strictness: 'normal',
    tls: 'auto',
    'proxy-protocol': 'auto',
    recipient: 'relay-check@example.com',
    timeout: '120',
    'connect-timeout': '10',
    'report-path': 'relay-check-report.json',
    comment: 'false',
    issue: 'false',
};
/** `client-address` in gate mode when none is given: TEST-NET-3, which no real mynetworks holds. */
const GATE_CLIENT_ADDRESS = '203.0.113.10';
const settings_ACTION_NAMING = {
    name: (input) => `\`${input}\``,
    set: (input, value) => `\`${input}: ${value}\``,
    error: (input) => `Input '${input}': `,
};
const CLI_NAMING = {
    name: (input) => (input === 'host' ? 'HOST' : `--${input}`),
    set: (input, value) => (input === 'host' ? value : `--${input} ${value}`),
    error: (input) => `${CLI_NAMING.name(input)}: `,
};
/** A bad input: the message names the input and fits on one line. `message` is the action's wording; describe() any other. */
class InputError extends Error {
    input;
    detail;
    constructor(input, detail) {
        super(`${settings_ACTION_NAMING.error(input)}${typeof detail === 'string' ? detail : detail(settings_ACTION_NAMING)}`);
        this.input = input;
        this.detail = detail;
        this.name = 'InputError';
    }
    /** The message as `n` names inputs. */
    describe(n) {
        return `${n.error(this.input)}${typeof this.detail === 'string' ? this.detail : this.detail(n)}`;
    }
}
const LIST_SEPARATORS = /[\s,]+/;
// Lists may be written one per line in YAML; every other control character is refused.
// C0, DEL and C1 (U+0080–U+009F: some terminals read U+009B as an escape sequence).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_NEWLINE = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
const MULTILINE_INPUTS = new Set(['host', 'port', 'helo', 'sender']);
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
function isHostName(name) {
    const n = name.endsWith('.') ? name.slice(0, -1) : name;
    if (n.length === 0 || n.length > 253)
        return false;
    const labels = n.split('.');
    // An all-numeric last label is a mistyped address (1.2.3.999), not a name.
    if (/^\d+$/.test(labels[labels.length - 1]))
        return false;
    return labels.every((l) => LABEL.test(l));
}
function parsePort(input, text) {
    if (!/^\d{1,5}$/.test(text))
        throw new InputError(input, `"${text}" is not a port number (1-65535)`);
    const port = Number(text);
    if (port < 1 || port > 65535)
        throw new InputError(input, `port ${port} is outside 1-65535`);
    return port;
}
function parseHost(token) {
    const bad = (why) => {
        throw new InputError('host', `"${token}" ${why}`);
    };
    let m = /^\[([^\]]*)\](?::(.*))?$/.exec(token);
    if (m) {
        if (!external_node_net_default().isIPv6(m[1]))
            bad('is not an IPv6 address in brackets');
        const spec = { input: token, host: m[1], kind: 'ipv6' };
        if (m[2] !== undefined)
            spec.port = parsePort('host', m[2]);
        return spec;
    }
    if (external_node_net_default().isIPv6(token))
        return { input: token, host: token, kind: 'ipv6' };
    if (token.split(':').length > 2)
        bad('is not a valid IPv6 address (write [address]:port to add a port)');
    m = /^([^:]+)(?::(.*))?$/.exec(token);
    if (!m)
        return bad('is not a host name or address');
    const host = m[1];
    const spec = external_node_net_default().isIPv4(host)
        ? { input: token, host, kind: 'ipv4' }
        : /^[\d.]+$/.test(host)
            ? bad('is not a valid IPv4 address')
            : isHostName(host)
                ? { input: token, host: host.replace(/\.$/, ''), kind: 'name' }
                : bad('is not a valid host name or address');
    if (m[2] !== undefined)
        spec.port = parsePort('host', m[2]);
    return spec;
}
function parseSeconds(input, text) {
    if (!/^\d+(\.\d+)?$/.test(text))
        throw new InputError(input, `"${text}" is not a number of seconds`);
    const s = Number(text);
    const ms = Math.round(s * 1000);
    if (ms < 1 || s > 86_400)
        throw new InputError(input, `${text} s is outside 0.001-86400 s`);
    return ms;
}
function oneOf(input, text, values) {
    const v = text.toLowerCase();
    if (!values.includes(v))
        throw new InputError(input, `"${text}" is not one of ${values.join(', ')}`);
    return v;
}
/** A plain address (dot-atom local part; no braces, which the templates use). */
function parseAddress(input, text) {
    const m = /^([A-Za-z0-9!#$%&'*+/=?^_`|~.-]{1,64})@([^@]+)$/.exec(text);
    if (!m || m[1].startsWith('.') || m[1].endsWith('.') || m[1].includes('..') || !isHostName(m[2])) {
        throw new InputError(input, `"${text}" is not a plain mail address like user@example.com`);
    }
    return { address: text, user: m[1], domain: m[2].replace(/\.$/, '') };
}
function parseRecipient(text) {
    return parseAddress('recipient', text);
}
/** A HELO name: a host name or an address literal ([192.0.2.1], [IPv6:…]). */
function parseHelo(text) {
    const lit = /^\[(IPv6:)?([^\]]+)\]$/i.exec(text);
    if (lit ? (lit[1] ? external_node_net_default().isIPv6(lit[2]) : external_node_net_default().isIPv4(lit[2])) : isHostName(text))
        return text;
    throw new InputError('helo', `"${text}" is not a host name or an address literal like [192.0.2.1]`);
}
/**
 * Whether the recipient is in one of the server's own domains, as far as the
 * inputs tell before connecting: the `domain` input or a subdomain of it; else
 * a host name or the domain it sits in (mx.corp.test serves corp.test). The
 * default recipient is never checked against host names: its domain is reserved.
 */
function recipientOwnDomain(rcptDomain, domain, hosts, n = settings_ACTION_NAMING) {
    const d = rcptDomain.toLowerCase();
    if (domain !== undefined) {
        return d === domain || d.endsWith(`.${domain}`) ? `in ${domain}, the mail domain the server serves (${n.name('domain')})` : undefined;
    }
    for (const h of hosts) {
        if (h.kind !== 'name')
            continue;
        const name = h.host.toLowerCase().replace(/\.$/, '');
        if (d === name)
            return `at ${name}, the host under test`;
        if (mailDomain(name) === d && d !== name)
            return `in ${d}, the domain of host ${name} (set ${n.name('domain')} if the server does not serve ${d})`;
    }
    return undefined;
}
/**
 * A commit or ref for git: a name or object id, with `~`/`^` suffixes. Never a
 * leading `-` (git would read an option), `:` (it is joined as `<ref>:<path>`),
 * `..` (a range), `@{` (reflog syntax) or whitespace.
 */
function parseBaseRef(text) {
    if (text.length > 255 || !/^[A-Za-z0-9_][A-Za-z0-9._/~^@-]*$/.test(text) || text.includes('..') || text.includes('@{') || /(^|\/)\.|\.lock(\/|$)|\/$/.test(text)) {
        throw new InputError('base-ref', `"${text}" is not a commit or ref (a branch, tag or commit id like main, v1.2 or 3f2c1ab)`);
    }
    return text;
}
/** Validates every input; throws InputError on the first bad one. No I/O. */
function parseSettings(raw) {
    const get = (name) => {
        const value = raw[name] ?? '';
        const control = MULTILINE_INPUTS.has(name) ? CONTROL_EXCEPT_NEWLINE : CONTROL;
        if (control.test(value))
            throw new InputError(name, 'contains a control character');
        const trimmed = value.trim();
        if (trimmed === '' && name in DEFAULTS)
            return DEFAULTS[name];
        return trimmed;
    };
    for (const name of INPUT_NAMES)
        get(name);
    const hostText = get('host');
    const hosts = hostText.split(LIST_SEPARATORS).filter(Boolean).map(parseHost);
    // Without host, the domain's MX hosts are tested (the engine resolves them).
    const postfixConfig = get('postfix-config');
    const postfixOverrides = get('postfix-overrides');
    if (postfixConfig !== '' && hosts.length > 0)
        throw new InputError('postfix-config', (n) => `tests a configuration on a private Postfix: leave ${n.name('host')} empty`);
    if (postfixOverrides !== '' && postfixConfig === '')
        throw new InputError('postfix-overrides', (n) => `applies to a ${n.name('postfix-config')} directory: set that too`);
    const eximConfig = get('exim-config');
    if (eximConfig !== '' && postfixConfig !== '')
        throw new InputError('exim-config', (n) => `tests an Exim configuration: leave ${n.name('postfix-config')} empty (one gate per step)`);
    if (eximConfig !== '' && hosts.length > 0)
        throw new InputError('exim-config', (n) => `tests a configuration through Exim's host checking: leave ${n.name('host')} empty`);
    const gated = postfixConfig !== '' || eximConfig !== '';
    const baseRef = get('base-ref');
    if (baseRef !== '' && !gated)
        throw new InputError('base-ref', (n) => `compares a ${n.name('postfix-config')} or ${n.name('exim-config')} directory with that commit: set one too`);
    if (baseRef !== '')
        parseBaseRef(baseRef);
    if (hosts.length === 0 && get('domain') === '' && !gated) {
        throw new InputError('host', (n) => (hostText === '' ? `is required unless ${n.name('domain')} or ${n.name('postfix-config')} is set: name the mail server(s) to test` : 'names no host: only separators were given'));
    }
    const ports = [...new Set(get('port').split(LIST_SEPARATORS).filter(Boolean).map((p) => parsePort('port', p)))];
    if (ports.length === 0)
        throw new InputError('port', 'is empty');
    const strictness = oneOf('strictness', get('strictness'), ['relaxed', 'normal', 'strict']);
    const tls = oneOf('tls', get('tls'), ['auto', 'none', 'starttls', 'implicit']);
    const proxyProtocol = oneOf('proxy-protocol', get('proxy-protocol'), ['auto', 'try', 'off']);
    const comment = oneOf('comment', get('comment'), ['true', 'false']) === 'true';
    const issue = oneOf('issue', get('issue'), ['true', 'false']) === 'true';
    // The gate's instance lives on random loopback ports for one run: there is no server to keep watching.
    if (issue && postfixConfig !== '')
        throw new InputError('issue', (n) => `watches the servers named in ${n.name('host')} or ${n.name('domain')}; a ${n.name('postfix-config')} gate has none (use ${n.name('comment')} on its pull request)`);
    const reportPath = get('report-path');
    const domainText = get('domain');
    if (domainText !== '' && !isHostName(domainText))
        throw new InputError('domain', `"${domainText}" is not a domain name`);
    // In gate mode the battery runs as an outside client: a documentation address no mynetworks trusts (RFC 5737).
    const client = get('client-address') || (gated ? GATE_CLIENT_ADDRESS : '');
    if (client !== '' && !external_node_net_default().isIP(client))
        throw new InputError('client-address', `"${client}" is not an IPv4 or IPv6 address`);
    const list = (name) => [...new Set(get(name).split(LIST_SEPARATORS).filter(Boolean))];
    const recipient = parseRecipient(get('recipient'));
    const domain = domainText !== '' ? domainText.replace(/\.$/, '').toLowerCase() : undefined;
    const own = (n) => recipientOwnDomain(recipient.domain, domain, recipient.address !== DEFAULTS.recipient ? hosts : [], n);
    if (own(settings_ACTION_NAMING))
        throw new InputError('recipient', (n) => `"${recipient.address}" is ${own(n)}: accepting it is local delivery, not a relay; name a mailbox outside the server's domains`);
    return {
        hosts,
        ports,
        strictness,
        tls,
        recipient,
        ...(domain !== undefined ? { domain } : {}),
        senders: list('sender').map((x) => parseAddress('sender', x).address),
        ...(get('local-recipient') !== '' ? { localRecipient: parseAddress('local-recipient', get('local-recipient')).address } : {}),
        helos: list('helo').map(parseHelo),
        ...(client !== '' ? { clientAddress: client } : {}),
        proxyProtocol,
        ...(postfixConfig !== '' ? { postfixConfig } : {}),
        ...(postfixOverrides !== '' ? { postfixOverrides } : {}),
        ...(eximConfig !== '' ? { eximConfig } : {}),
        ...(baseRef !== '' ? { baseRef } : {}),
        timeoutMs: parseSeconds('timeout', get('timeout')),
        connectTimeoutMs: parseSeconds('connect-timeout', get('connect-timeout')),
        reportPath,
        comment,
        issue,
    };
}

;// CONCATENATED MODULE: external "node:dns/promises"
const promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:dns/promises");
var promises_default = /*#__PURE__*/__nccwpck_require__.n(promises_namespaceObject);
;// CONCATENATED MODULE: ./src/targets.ts


const systemLookup = async (name) => {
    const all = await promises_default().lookup(name, { all: true, verbatim: true });
    return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};
const systemResolver = {
    lookup: systemLookup,
    resolveMx: (domain) => promises_default().resolveMx(domain),
};
/** A resolver that asks the given DNS servers ("127.0.0.1:5353") for everything, A/AAAA included. */
function resolverAt(servers) {
    const r = new dns.Resolver({ timeout: 2000, tries: 2 });
    r.setServers(servers);
    const settle = async (p) => {
        try {
            return await p;
        }
        catch (e) {
            if (['ENODATA', 'ENOTFOUND'].includes(e.code ?? ''))
                return [];
            throw e;
        }
    };
    return {
        resolveMx: (domain) => r.resolveMx(domain),
        lookup: async (name) => {
            const [v4, v6] = await Promise.all([settle(r.resolve4(name)), settle(r.resolve6(name))]);
            if (v4.length + v6.length === 0)
                throw Object.assign(new Error(`${name} has no A or AAAA record`), { code: 'ENOTFOUND' });
            return [...v4.map((address) => ({ address, family: 4 })), ...v6.map((address) => ({ address, family: 6 }))];
        },
    };
}
/**
 * The hosts that receive mail for a domain: its MX hosts by preference, or the
 * domain itself when it has no MX (RFC 5321 §5.1). A null MX (RFC 7505) means
 * the domain takes no mail at all: there is nothing to test.
 */
async function mxHosts(domain, resolver) {
    let mx;
    try {
        // Only the two fields the report's schema has: Node 24's resolver adds `type: 'MX'`.
        mx = (await resolver.resolveMx(domain)).map(({ exchange, priority }) => ({ exchange, priority }));
    }
    catch (e) {
        const code = e.code;
        if (code === 'ENODATA' || code === 'ENOTFOUND')
            return { domain, mx: [], implicit: true };
        throw new Error(`MX lookup for ${domain} failed (${code ?? (e instanceof Error ? e.message : String(e))})`);
    }
    if (mx.length === 0)
        return { domain, mx: [], implicit: true };
    if (mx.length === 1 && (mx[0].exchange === '' || mx[0].exchange === '.')) {
        throw new Error(`${domain} publishes a null MX (RFC 7505): it accepts no mail, so there is no server to test`);
    }
    return { domain, mx: [...mx].sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange)), implicit: false };
}
/** host × port → one entry per address; a name is tested on every address it has. */
async function planTargets(settings, lookup) {
    const out = [];
    const seen = new Set();
    for (const h of settings.hosts) {
        let addresses;
        let error;
        if (h.kind !== 'name') {
            addresses = [h.host];
        }
        else {
            try {
                addresses = [...new Set((await lookup(h.host)).map((a) => a.address))];
                if (addresses.length === 0)
                    error = `${h.host} has no A or AAAA address`;
            }
            catch (e) {
                addresses = [];
                const code = e.code;
                error = `${h.host} did not resolve (${code ?? (e instanceof Error ? e.message : String(e))})`;
            }
        }
        for (const port of h.port !== undefined ? [h.port] : settings.ports) {
            if (error) {
                out.push({ host: h.host, port, error });
                continue;
            }
            for (const address of addresses) {
                const key = `${external_node_net_default().isIPv6(address) ? `[${address}]` : address}:${port}`;
                if (seen.has(key))
                    continue;
                seen.add(key);
                out.push({ host: h.host, port, address });
            }
        }
    }
    return out;
}

;// CONCATENATED MODULE: ./src/version.ts
/** Kept in step with package.json by a test. */
const VERSION = '0.1.0';

;// CONCATENATED MODULE: ./src/engine.ts











/** relay-check's own HELO name: a name under a reserved domain (RFC 2606), never a real host. */
const DEFAULT_HELO = 'relay-check.example.net';
const PROBE_USER = 'relay-check';
/**
 * The engine: settings in, Report out. It knows nothing of GitHub, terminals
 * or Markdown, and never throws for anything a server does.
 *
 * In order: discover the hosts (MX), plan the targets (addresses and ports), run them in
 * lanes, assemble the report.
 */
async function run(settings, services = {}) {
    const started = Date.now();
    const resolver = services.resolver ?? systemResolver;
    const found = await discoverHosts(settings, resolver);
    const planned = await planTargets({ hosts: found.hosts, ports: settings.ports }, resolver.lookup);
    const options = targetOptions(settings, services, started + settings.timeoutMs);
    const targets = await runLanes(planned, options, settings, services);
    return assembleReport(settings, started, targets, found);
}
/** The hosts to test: those given, or the domain's MX hosts (the domain itself when it has none). */
async function discoverHosts(settings, resolver) {
    const found = { hosts: settings.hosts, discovery: null, error: null };
    if (found.hosts.length > 0 || !settings.domain)
        return found;
    try {
        const discovery = await mxHosts(settings.domain, resolver);
        const names = discovery.implicit ? [settings.domain] : discovery.mx.map((m) => m.exchange);
        return { ...found, discovery, hosts: names.map((n) => ({ input: n, host: n, kind: 'name' })) };
    }
    catch (e) {
        return { ...found, error: e instanceof Error ? e.message : String(e) };
    }
}
function targetOptions(settings, services, deadline) {
    return {
        vectors: [...(services.vectors ?? VECTORS), ...inputVectors(settings)],
        recipient: settings.recipient,
        probe: PROBE_USER,
        domain: settings.domain,
        recipientGiven: settings.recipient.address !== DEFAULTS.recipient,
        clientAddress: settings.clientAddress,
        helo: DEFAULT_HELO,
        confirm: settings.strictness === 'relaxed',
        connectTimeoutMs: settings.connectTimeoutMs,
        deadline,
        stopWhenOpen: services.fullBattery !== true,
        ...(settings.localRecipient !== undefined ? { localRecipient: settings.localRecipient } : {}),
    };
}
/** Every planned target, TARGET_CONCURRENCY at a time; the reports in the planned order. */
async function runLanes(planned, options, settings, services) {
    let next = 0;
    let done = 0;
    const perPlanned = new Array(planned.length);
    const lane = async () => {
        while (next < planned.length) {
            const i = next++;
            perPlanned[i] = await testPlanned(planned[i], options, settings, services);
            const service = services.serviceFor?.(planned[i].port);
            if (service !== undefined)
                for (const t of perPlanned[i])
                    t.service = service;
            done++;
            for (const t of perPlanned[i])
                services.onTarget?.(t, done, planned.length);
        }
    };
    await Promise.all(Array.from({ length: Math.min(TARGET_CONCURRENCY, planned.length) }, lane));
    return perPlanned.flat();
}
/** One planned address and port: one report per transport tested on it. */
async function testPlanned(p, shared, settings, services) {
    if (!p.address)
        return [unresolved(p)];
    const options = services.proxied?.(p.port) === true ? { ...shared, viaProxy: true } : shared;
    const spec = { host: p.host, address: p.address, port: p.port };
    const fixed = FIXED_TRANSPORT[services.tlsFor?.(p.port) ?? settings.tls];
    if (fixed) {
        const only = await runTarget({ ...spec, transport: fixed }, options);
        return weighService([fixed === 'plain' ? await proxyIfExpected(only, { ...spec, transport: fixed }, options, settings) : only]);
    }
    if (p.port === 465)
        return weighService([await runTarget({ ...spec, transport: 'implicit' }, options)]);
    // auto: plaintext first; then again inside STARTTLS when the server offers it.
    const first = await runTarget({ ...spec, transport: 'plain' }, options);
    if (silentGreeting(first)) {
        // No greeting in plaintext: try implicit TLS on a fresh connection, then a PROXY header, before giving up.
        const implicit = await runTarget({ ...spec, transport: 'implicit' }, options);
        if (implicit.reachable)
            return weighService([{ ...implicit, tlsDetected: true }]);
        return weighService([await proxyIfExpected(first, { ...spec, transport: 'plain' }, options, settings)]);
    }
    const plain = await proxyIfExpected(first, { ...spec, transport: 'plain' }, options, settings);
    if (!plain.extensions.includes('STARTTLS'))
        return weighService([plain]);
    // Plaintext already relays whatever it is sent: inside STARTTLS only the session is set up.
    const authTried = plain.attempts.some((a) => a.vector.startsWith('auth-') && a.outcome !== 'skipped');
    const secure = await runTarget({ ...spec, transport: 'starttls' }, { ...options, ...(plain.stopped ? { relayedInPlaintext: plain.stopped.after } : {}), ...(authTried ? { authTriedInPlaintext: true } : {}) });
    // One service on two transports: the evidence of either (its positive control, AUTH) counts for both.
    const [weighedPlain, weighedSecure] = weighService([plain, secure]);
    return [deferToTls(weighedPlain, weighedSecure), weighedSecure];
}
/**
 * The PROXY tricks on a plaintext run, when the input asks (`try`) or the port showed it
 * expects a header (`auto`: no greeting in time, or a refusal of the PROXY_SIGNS table).
 * The same run when they do not apply.
 */
async function proxyIfExpected(plain, spec, options, settings) {
    if (options.viaProxy === true)
        return withProxyTricks(plain, spec, options, 'the service reads a PROXY protocol header from every client (smtpd_upstream_proxy_protocol = haproxy)');
    if (settings.proxyProtocol === 'off')
        return plain;
    const refusal = plain.reachable ? null : (plain.opening.find((l) => l.dir === 'S')?.text ?? null);
    const sign = plain.reachable ? undefined : proxySign(refusal, silentGreeting(plain));
    if (settings.proxyProtocol === 'auto' && !sign)
        return plain;
    const reason = sign ? `the plaintext connection looks like a port that waits for a PROXY header (${sign.silent ? 'no greeting in time' : refusal ?? ''}; sign ${sign.id})` : 'asked for by `proxy-protocol: try`';
    return withProxyTricks(plain, spec, options, reason);
}
function assembleReport(settings, started, targets, found) {
    return {
        schemaVersion: SCHEMA_VERSION,
        tool: { name: 'relay-check', version: VERSION },
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        settings: {
            hosts: settings.hosts.map((h) => h.input),
            ports: settings.ports,
            strictness: settings.strictness,
            tls: settings.tls,
            recipient: settings.recipient.address,
            domain: settings.domain ?? null,
            clientAddress: settings.clientAddress ?? null,
            senders: settings.senders,
            helos: settings.helos,
            timeoutMs: settings.timeoutMs,
            connectTimeoutMs: settings.connectTimeoutMs,
        },
        discovery: found.discovery,
        ...judged(targets, settings.strictness, found.error),
    };
}
/** Everything the report decides from its targets: verdict, failure, warnings, counts, diagnosis. */
function judged(targets, strictness, discoveryError) {
    const tallies = targets.map(tallyOf);
    // Asked to test as another client and could not: the whole premise of the run is gone.
    const failReasons = [
        ...failureReasons(tallies, strictness),
        ...[...new Set(targets.filter((t) => t.errorKind === 'xclient').map((t) => t.error ?? 'XCLIENT failed'))],
        ...(discoveryError ? [discoveryError] : []),
    ];
    // The runs that make the verdict inconclusive for want of a test, said as strict says them;
    // then what the identity tricks found that decides nothing (XFORWARD, an AUTH with nothing accepted).
    const warnings = [...untested(tallies).map(untestedNote), ...targets.flatMap((t) => t.doors?.notes ?? [])];
    return { verdict: runVerdict(tallies), failed: failReasons.length > 0, failReasons, warnings, counts: sumCounts(targets.map((t) => t.counts)), targets, diagnosis: diagnose(targets) };
}
/**
 * The report again after attempts were decided anew (gate mode: by where the private
 * instance put them): each changed target's counts and verdict, then the run's.
 */
function rejudge(report, targets) {
    const recounted = targets.map((t, i) => {
        if (t === report.targets[i])
            return t;
        const counted = { ...t, counts: countAttempts(t.attempts) };
        return { ...counted, verdict: targetVerdict(tallyOf(counted)) };
    });
    return { ...report, ...judged(recounted, report.settings.strictness, null) };
}
const FIXED_TRANSPORT = {
    auto: undefined,
    none: 'plain',
    starttls: 'starttls',
    implicit: 'implicit',
};
/**
 * In `auto`, a server that demands STARTTLS refuses every plaintext attempt with
 * 530; those attempts were run again inside TLS, so in plaintext they are
 * skipped (with why) rather than left inconclusive.
 */
function deferToTls(plain, secure) {
    const demanded = plain.attempts.some((a) => a.rule === 'starttls-required');
    if (!demanded)
        return plain;
    const where = secure.reachable ? 'was tested inside STARTTLS' : `could not be tested inside STARTTLS either (${secure.error ?? 'no session'})`;
    const attempts = plain.attempts.map((a) => a.rule === 'starttls-required' ? { ...a, outcome: 'skipped', reason: `the server demands STARTTLS first; this vector ${where}` } : a);
    const deferred = { ...plain, attempts, counts: countAttempts(attempts) };
    // Nothing ran in plaintext: this row stands for the service, which the STARTTLS run decided.
    return { ...deferred, verdict: runVerdict([tallyOf(deferred), tallyOf(secure)]) };
}
function unresolved(p) {
    return {
        host: p.host,
        address: '',
        family: null,
        port: p.port,
        transport: 'plain',
        tls: null,
        reachable: false,
        error: p.error ?? 'not resolved',
        errorKind: 'unresolved',
        greeting: null,
        serverName: null,
        extensions: [],
        opening: [],
        connections: 0,
        controls: [],
        errorBudget: 0,
        durationMs: 0,
        verdict: 'inconclusive',
        counts: countAttempts([]),
        attempts: [],
    };
}

;// CONCATENATED MODULE: external "node:child_process"
const external_node_child_process_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:child_process");
;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");
var external_node_os_default = /*#__PURE__*/__nccwpck_require__.n(external_node_os_namespaceObject);
;// CONCATENATED MODULE: ./src/gate/postfix-files.ts
/**
 * main.cf and master.cf as data, with the line each entry starts on, so that
 * every change made for the runner and every refusal can point at the file and
 * line a pull request changed. Pure: text in, structures out, text back.
 */
/** postconf(5): a logical line starts at column 0; lines starting with white space continue it; # lines are comments. */
function parseMainCf(text) {
    const params = [];
    let current;
    text.split(/\r?\n/).forEach((raw, i) => {
        if (/^\s*#/.test(raw) || raw.trim() === '') {
            // A comment or blank line ends nothing in postconf(5): a continuation may follow it.
            return;
        }
        if (/^\s/.test(raw)) {
            if (current)
                current.value = `${current.value} ${raw.trim()}`.trim();
            return;
        }
        // `service/type/name` is the postfix-overrides form of a master.cf -o (postconf -P).
        const m = /^([A-Za-z0-9_./-]+)\s*=\s*(.*)$/.exec(raw);
        if (!m) {
            current = undefined;
            return;
        }
        current = { name: m[1], value: m[2].trim(), line: i + 1 };
        params.push(current);
    });
    return params;
}
/**
 * master.cf(5): eight fields then the command's arguments; lines starting with
 * white space continue the entry. `-o { name = value with spaces }` is kept as
 * one argument (Postfix 3.0 syntax).
 */
function parseMasterCf(text) {
    const entries = [];
    text.split(/\r?\n/).forEach((raw, i) => {
        if (/^\s*#/.test(raw) || raw.trim() === '')
            return;
        if (/^\s/.test(raw) && entries.length > 0) {
            entries[entries.length - 1].text += ` ${raw.trim()}`;
            return;
        }
        entries.push({ text: raw.trim(), line: i + 1 });
    });
    return entries.flatMap(({ text, line }) => {
        const words = splitArgs(text);
        if (words.length < 8)
            return [];
        const [service, type, priv, unpriv, chroot, wakeup, maxproc, command, ...args] = words;
        return [{ service, type, private: priv, unpriv, chroot, wakeup, maxproc, command, args, line }];
    });
}
/** Splits on white space, keeping `{ … }` groups (with their braces) as one word. */
function splitArgs(text) {
    const out = [];
    let i = 0;
    while (i < text.length) {
        if (/\s/.test(text[i])) {
            i++;
            continue;
        }
        if (text[i] === '{') {
            let depth = 0;
            let j = i;
            for (; j < text.length; j++) {
                if (text[j] === '{')
                    depth++;
                else if (text[j] === '}' && --depth === 0)
                    break;
            }
            out.push(text.slice(i, j + 1));
            i = j + 1;
            continue;
        }
        let j = i;
        while (j < text.length && !/\s/.test(text[j]))
            j++;
        out.push(text.slice(i, j));
        i = j;
    }
    return out;
}
/** The `-o` overrides of a service as name/value pairs (braced or plain), with their index in args. */
function serviceOverrides(s) {
    const out = [];
    for (let i = 0; i < s.args.length - 1; i++) {
        if (s.args[i] !== '-o')
            continue;
        const raw = s.args[i + 1];
        const body = raw.startsWith('{') ? raw.slice(1, -1).trim() : raw;
        const eq = body.indexOf('=');
        if (eq > 0)
            out.push({ name: body.slice(0, eq).trim(), value: body.slice(eq + 1).trim(), index: i + 1 });
    }
    return out;
}
/** An `-o` argument for a value: braced when it holds white space or commas. */
function overrideArg(name, value) {
    return /[\s,]/.test(value) ? `{ ${name} = ${value} }` : `${name}=${value}`;
}
function formatMasterService(s) {
    const head = [s.service, s.type, s.private, s.unpriv, s.chroot, s.wakeup, s.maxproc, s.command].join(' ');
    return [head, ...argLines(s.args)].join('\n');
}
/** Arguments one per continuation line, `-o` kept with its value. */
function argLines(args) {
    const lines = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '-o' && i + 1 < args.length) {
            lines.push(`  -o ${args[i + 1]}`);
            i++;
        }
        else
            lines.push(`  ${args[i]}`);
    }
    return lines;
}
/** A main.cf value as it is written back: Postfix reads a value up to the end of the logical line. */
function formatMainCf(params) {
    return [...params].map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}

;// CONCATENATED MODULE: ./src/gate/run.ts

/**
 * A command run without blocking the event loop: spawnSync of `postfix start` once
 * stalled a caller's timers for the child's whole run (the SIGTERM gate test's flake).
 * Like spawnSync with a timeout: SIGTERM at `timeout` ms, `input` written to stdin.
 */
function run_run(cmd, args, opts) {
    return new Promise((resolve) => {
        const child = (0,external_node_child_process_namespaceObject.spawn)(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let error;
        let started = true;
        child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
        child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
        const timer = setTimeout(() => {
            error = new Error(`${cmd} timed out after ${opts.timeout} ms`);
            child.kill('SIGTERM');
            // A daemon it started may hold the pipes open: stop reading so that 'close' comes.
            child.stdout.destroy();
            child.stderr.destroy();
        }, opts.timeout);
        child.on('error', (e) => {
            started = false;
            error ??= e;
        });
        // A command that exits without reading its input must not fail the write (EPIPE).
        child.stdin.on('error', () => undefined);
        child.stdin.end(opts.input);
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ status: started ? code : null, stdout, stderr, ...(error ? { error } : {}) });
        });
    });
}

;// CONCATENATED MODULE: ./src/gate/sandbox.ts


/** Map types whose lookups need a server or a database the runner does not have. */
const SERVER_MAPS = new Set(['mysql', 'pgsql', 'ldap', 'sqlite', 'socketmap', 'tcp', 'memcache', 'nis', 'nisplus', 'netinfo']);
/** Map types named by a file path. */
const FILE_MAPS = new Set(['btree', 'cdb', 'cidr', 'dbm', 'hash', 'lmdb', 'pcre', 'regexp', 'sdbm', 'texthash']);
/** File maps that must be compiled with postmap/postalias before Postfix can read them. */
const INDEXED_MAPS = new Set(['btree', 'cdb', 'dbm', 'hash', 'lmdb', 'sdbm']);
/** Debian packages that add a map type to Postfix. */
const PACKAGE_OF = { pcre: 'postfix-pcre', lmdb: 'postfix-lmdb', cdb: 'postfix-cdb' };
/** Parameters whose maps are alias files (postalias, not postmap). */
const ALIAS_PARAMS = new Set(['alias_maps', 'alias_database']);
/**
 * Postfix's address classes (ADDRESS_CLASS_README) and the parameter naming each one's
 * transport. Each becomes discard(8) with a next hop of its own: discard logs the next hop as
 * its reason (`status=sent (relay-check-relay-…)`), so the maillog says which class a
 * recipient resolved to (SAFETY: nothing may leave the runner).
 */
const DELIVERY_CLASSES = { local_transport: 'local', virtual_transport: 'virtual', relay_transport: 'relay', default_transport: 'default' };
const TRANSPORTS = Object.keys(DELIVERY_CLASSES);
/** The discard next hop of a class in an instance: the text discard(8) logs for it. */
function classNexthop(tag, cls) {
    return `relay-check-${cls}-${tag}`;
}
function classTransport(tag, t) {
    return `discard:${classNexthop(tag, DELIVERY_CLASSES[t])}`;
}
/** Parameters that route mail elsewhere; emptied so only the transports above remain. */
const ROUTING = ['transport_maps', 'relayhost', 'sender_dependent_relayhost_maps', 'sender_dependent_default_transport_maps', 'mailbox_transport', 'mailbox_transport_maps', 'mailbox_command', 'mailbox_command_maps', 'fallback_transport', 'fallback_transport_maps', 'content_filter'];
/**
 * Postfix's own daemons that deliver nothing and run nothing a configuration names: the only
 * master.cf commands kept. Every other unix service (the delivery agents smtp, lmtp, local,
 * virtual; pipe and spawn, which run commands; anything else) becomes discard(8), so whatever
 * points at it (a transport, content_filter, a header_checks FILTER, a wakeup) reaches a discard.
 */
const SAFE_DAEMONS = new Set(['smtpd', 'postscreen', 'tlsproxy', 'dnsblog', 'pickup', 'cleanup', 'qmgr', 'oqmgr', 'nqmgr', 'tlsmgr', 'trivial-rewrite', 'bounce', 'verify', 'flush', 'proxymap', 'showq', 'error', 'discard', 'anvil', 'scache', 'postlogd']);
/**
 * Parameters that run a command or hand mail to a program outside Postfix, in main.cf or as a
 * service's `-o`: emptied. debugger_command runs as root when a master.cf service carries -D;
 * smtpd_proxy_filter passes every message through a server before it is queued;
 * smtpd_milter_maps names milters per client.
 */
const HOOKS = {
    debugger_command: { why: 'it runs a command (master.cf -D): nothing from a configuration runs here', tested: true },
    smtpd_proxy_filter: { why: 'a before-queue content filter is a server that cannot be reached from a runner: not tested here', tested: false },
    smtpd_milter_maps: { why: 'milters cannot be reached from a runner: not tested here', tested: false },
};
/** Parameters naming places of the production host: this machine's installation stands in. */
const INSTALL_PATHS = ['daemon_directory', 'command_directory', 'shlib_directory', 'meta_directory', 'sendmail_path', 'newaliases_path', 'mailq_path', 'manpage_directory', 'html_directory', 'readme_directory', 'sample_directory', 'multi_instance_directories', 'multi_instance_wrapper', 'multi_instance_enable'];
const TLS_PAIR = { cert: ['smtpd_tls_cert_file', 'smtpd_tls_dcert_file', 'smtpd_tls_eccert_file'], key: ['smtpd_tls_key_file', 'smtpd_tls_dkey_file', 'smtpd_tls_eckey_file'] };
const TLS_OPTIONAL = ['smtpd_tls_CAfile', 'smtpd_tls_CApath', 'smtpd_tls_dh1024_param_file', 'smtpd_tls_dh512_param_file', 'smtp_tls_CAfile', 'smtp_tls_CApath', 'smtp_tls_cert_file', 'smtp_tls_key_file', 'smtp_tls_chain_files'];
const MILTERS = ['smtpd_milters', 'non_smtpd_milters'];
/** Well-known ports of master.cf service names (services(5)); anything else is as written. */
const SERVICE_PORTS = { smtp: '25', submission: '587', submissions: '465', smtps: '465', ssmtp: '465' };
/** Postfix's own unix services, chroot off, for a directory without master.cf (as in Debian's master.cf). */
const DEFAULT_MASTER_CF = `smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
/** Services the instance needs whatever master.cf says (maillog_file needs postlogd; discard delivers). */
const REQUIRED_SERVICES = {
    postlog: 'postlog   unix-dgram n  -       n       -       1       postlogd',
    discard: 'discard   unix  -       -       n       -       -       discard',
};
function isListener(s) {
    return s.type === 'inet' && (s.command === 'smtpd' || s.command === 'postscreen');
}
/** How many free ports the sandbox needs. */
function listenerCount(master) {
    return master === null ? 1 : master.filter(isListener).length;
}
/** `type:name` references in a value; `proxy:type:name` counts as the inner map. */
function mapRefs(value) {
    const out = [];
    const re = /(?<![\w$])(proxy:)?([a-z][a-z0-9]*):((?:\/|\$\{?config_directory\}?\/)[^\s,{}]*|inet:[^\s,{}]+|unix:[^\s,{}]+|[A-Za-z][^\s,{}]*)/g;
    for (const m of value.matchAll(re)) {
        const type = m[2];
        if (!FILE_MAPS.has(type) && !SERVER_MAPS.has(type))
            continue;
        out.push({ whole: m[0], proxy: m[1] !== undefined, type, name: m[3] });
    }
    return out;
}
/**
 * Restriction items as Postfix reads them (comma or white space separated),
 * braced groups kept whole; `check_policy_service` and its argument removed.
 */
function withoutPolicyServices(value) {
    const items = restrictionItems(value);
    const kept = [];
    const removed = [];
    for (let i = 0; i < items.length; i++) {
        if (items[i] === 'check_policy_service' && i + 1 < items.length) {
            removed.push(`check_policy_service ${items[i + 1]}`);
            i++;
        }
        else
            kept.push(items[i]);
    }
    return { value: removed.length ? kept.join(', ') : value, removed };
}
/** Items of a restriction list: separated by commas or white space outside `{ … }`. */
function restrictionItems(value) {
    const out = [];
    let cur = '';
    let depth = 0;
    for (const ch of value) {
        if (ch === '{')
            depth++;
        if (ch === '}')
            depth = Math.max(0, depth - 1);
        if (depth === 0 && (ch === ',' || /\s/.test(ch))) {
            if (cur)
                out.push(cur);
            cur = '';
        }
        else
            cur += ch;
    }
    if (cur)
        out.push(cur);
    return out;
}
/** Parameters that name certificate and key files. */
const TLS_FILES = [...TLS_PAIR.cert, ...TLS_PAIR.key, 'smtpd_tls_chain_files', ...TLS_OPTIONAL];
/** The sandbox as it is being built: main.cf's values, where each came from, and what was changed or refused. */
class Draft {
    input;
    values = new Map();
    where = new Map();
    changes = [];
    refusals = [];
    build = [];
    create = [];
    constructor(input) {
        this.input = input;
    }
    at(name) {
        return this.where.get(name) ?? { file: 'main.cf', line: null };
    }
    /** Sets a main.cf value and lists the change, unless the value is already that. */
    set(name, value, change, tested = true) {
        if (this.values.get(name) === value)
            return;
        this.values.set(name, value);
        this.changes.push({ ...this.at(name), subject: name, change, tested });
    }
    /** The instance's copy of a file the configuration names, if the configuration directory has it. */
    resolveFile(file) {
        const rel = file.replace(/^\$\{?config_directory\}?\//, '').replace(/^\/etc\/postfix\//, '');
        if (this.input.files.has(rel))
            return external_node_path_default().join(this.input.instance.conf, rel);
        const base = external_node_path_default().basename(file);
        if (this.input.files.has(base))
            return external_node_path_default().join(this.input.instance.conf, base);
        return undefined;
    }
}
function buildSandbox(input) {
    const d = new Draft(input);
    const forServices = readParameters(d);
    ownPlaces(d);
    nothingDelivered(d);
    // The battery runs as an outside client through XCLIENT from loopback.
    const xclientHosts = d.values.get('smtpd_authorized_xclient_hosts') ?? '';
    d.set('smtpd_authorized_xclient_hosts', gateXclientHosts(xclientHosts), xclientChange(xclientHosts));
    withoutUnreachableChecks(d);
    filesOutside(d);
    saslStandIn(d);
    for (const [name, value] of [...d.values])
        d.values.set(name, fixMaps(d, name, value, d.at(name)));
    certificates(d);
    const { master, services } = sandboxMaster(d, forServices);
    // SAFETY: whatever the files and overrides said, nothing can be delivered and nothing runs.
    for (const t of TRANSPORTS)
        if (d.values.get(t) !== classTransport(input.classTag, t))
            throw new Error(`sandbox: ${t} is not its class's discard`);
    for (const name of Object.keys(HOOKS))
        if (d.values.get(name))
            throw new Error(`sandbox: ${name} is set`);
    for (const s of master) {
        if (!SAFE_DAEMONS.has(s.command))
            throw new Error(`sandbox: ${s.service} runs ${s.command}`);
        if (s.args.some((a, i) => a !== '-o' && s.args[i - 1] !== '-o'))
            throw new Error(`sandbox: ${s.service} keeps an argument other than -o`);
        if (serviceOverrides(s).some((o) => o.value !== '' && (o.name in HOOKS || ROUTING.includes(o.name))))
            throw new Error(`sandbox: ${s.service} keeps a routing or hook override`);
    }
    return { main: d.values, master, services, changes: d.changes, refusals: d.refusals, build: d.build, create: d.create, origins: d.where };
}
/**
 * The gate speaks through XCLIENT from loopback; the configuration's own list stays after
 * it, so an outside client it authorizes (the gate's client address, once XCLIENT made us
 * that) is still offered XCLIENT, and the XCLIENT identity trick tests what the
 * repository's value allows (src/schedule/tricks.ts). Postfix judges the list again for
 * the address XCLIENT gave (measured on 3.7: XCLIENT is no longer offered to an outsider
 * the list does not cover).
 */
function gateXclientHosts(value) {
    const own = value.trim();
    return own === '' || own === '127.0.0.0/8' ? '127.0.0.0/8' : `127.0.0.0/8, ${own}`;
}
function xclientChange(value) {
    const own = value.trim();
    if (own === '' || own === '127.0.0.0/8')
        return `${own || '(none)'} → 127.0.0.0/8: relay-check tests as an outside client through XCLIENT`;
    return `${own} → 127.0.0.0/8, ${own}: relay-check tests as an outside client through XCLIENT from loopback; the configuration's own list is kept after it, so the XCLIENT identity trick tests whom it authorizes`;
}
/** main.cf with line numbers, then the team's overrides on top (as postconf -e would); those for a master.cf service are returned. */
function readParameters(d) {
    for (const p of d.input.main) {
        d.values.set(p.name, p.value);
        d.where.set(p.name, { file: 'main.cf', line: p.line });
    }
    const forServices = [];
    const file = d.input.overridesFile;
    for (const o of d.input.overrides) {
        const parts = o.name.split('/');
        if (parts.length === 3) {
            forServices.push({ service: parts[0], type: parts[1], name: parts[2], value: o.value, line: o.line });
            continue;
        }
        d.values.set(o.name, o.value);
        d.where.set(o.name, { file, line: o.line });
        d.changes.push({ file, line: o.line, subject: o.name, change: `set by postfix-overrides: ${o.name} = ${o.value}`, tested: true });
    }
    return forServices;
}
/** The instance's own queue, data and log; this machine's installation and accounts; loopback only. */
function ownPlaces(d) {
    const { values, input } = d;
    for (const [name, value] of [
        ['queue_directory', input.instance.queue],
        ['data_directory', input.instance.data],
        ['maillog_file', input.instance.log],
    ]) {
        const before = values.get(name);
        values.set(name, value);
        if (before !== undefined)
            d.changes.push({ ...d.at(name), subject: name, change: `${before} → the private instance's own (${external_node_path_default().basename(value)})`, tested: true });
    }
    values.set('maillog_file_prefixes', `/var, /dev/stdout, ${external_node_path_default().dirname(input.instance.log)}`);
    for (const name of INSTALL_PATHS) {
        if (values.has(name)) {
            d.changes.push({ ...d.at(name), subject: name, change: `${values.get(name)} → this machine's Postfix installation`, tested: true });
            values.delete(name);
        }
    }
    for (const [name, v] of [['mail_owner', 'postfix'], ['setgid_group', 'postdrop']]) {
        if (values.has(name) && values.get(name) !== v)
            d.set(name, v, `${values.get(name)} → ${v} (this machine's Postfix accounts)`);
    }
    d.set('inet_interfaces', 'loopback-only', `${values.get('inet_interfaces') ?? 'all'} → loopback-only: the runner listens on 127.0.0.1 only`);
    d.set('inet_protocols', 'ipv4', `${values.get('inet_protocols') ?? 'all'} → ipv4 (the services listen on 127.0.0.1)`);
}
/** SAFETY: every transport a discard, every other route emptied. */
function nothingDelivered(d) {
    const defaulted = [];
    for (const t of TRANSPORTS) {
        const before = d.values.get(t);
        d.values.set(t, classTransport(d.input.classTag, t));
        if (before === undefined)
            defaulted.push(t);
        else
            d.changes.push({ ...d.at(t), subject: t, change: `${before} → discard: with the ${DELIVERY_CLASSES[t]} class's own next hop (nothing leaves the runner; the log names the class)`, tested: true });
    }
    if (defaulted.length)
        d.changes.push({ file: 'main.cf', line: null, subject: defaulted.join(', '), change: 'set to discard:, each class with its own next hop (nothing leaves the runner; the log names the class)', tested: true });
    for (const [name, hook] of Object.entries(HOOKS)) {
        const before = d.values.get(name);
        if (before)
            d.set(name, '', `${before} → empty: ${hook.why}`, hook.tested);
    }
    for (const name of ROUTING) {
        const before = d.values.get(name);
        if (before !== undefined && before !== '') {
            d.values.set(name, '');
            d.changes.push({ ...d.at(name), subject: name, change: `${before} → empty: every transport is discard: here`, tested: name !== 'content_filter' });
        }
    }
}
/**
 * Parameters whose value may be read from a file (`/file/name`): Debian's stock
 * `myorigin = /etc/mailname`, lists such as `mydestination = /etc/postfix/local-domains`.
 * A file outside the configuration directory is not on the runner: the directory's own
 * copy stands in when it has one; for myorigin, Postfix's default ($myhostname) does
 * (it decides no relaying). Either way the change is reported. Left alone, Postfix
 * stops the gate with "/etc/mailname: cannot open file" and no line to look at.
 */
const FILE_VALUED = ['myorigin', 'mydestination', 'mynetworks', 'relay_domains', 'permit_mx_backup_networks', 'virtual_alias_domains', 'virtual_mailbox_domains'];
function filesOutside(d) {
    for (const name of FILE_VALUED) {
        const value = d.values.get(name);
        if (value === undefined)
            continue;
        const tokens = value.split(/[\s,]+/).filter((t) => t.startsWith('/'));
        let next = value;
        const said = [];
        for (const t of tokens) {
            const copy = d.resolveFile(t);
            if (copy !== undefined) {
                next = next.replace(t, copy);
                said.push(`${t} → the copy in the configuration directory (${external_node_path_default().basename(copy)})`);
            }
            else if (name === 'myorigin') {
                next = '$myhostname';
                said.push(`${t} is not in the configuration directory → $myhostname, Postfix's default (myorigin decides no relaying)`);
            }
        }
        if (next !== value)
            d.set(name, next, said.join('; '));
    }
}
/** Milters, DNS blocklists and policy services cannot be reached from a runner: taken out, listed as not tested. */
function withoutUnreachableChecks(d) {
    const { values } = d;
    for (const m of MILTERS) {
        const v = values.get(m);
        if (v)
            d.set(m, '', `milters ${v} not tested here (they cannot be reached from a runner)`, false);
    }
    if (MILTERS.some((m) => d.input.main.some((p) => p.name === m && p.value !== '')) || values.has('milter_default_action')) {
        d.set('milter_default_action', 'accept', `${values.get('milter_default_action') ?? 'tempfail'} → accept (milters are not tested here)`, false);
    }
    if (values.get('postscreen_dnsbl_sites'))
        d.set('postscreen_dnsbl_sites', '', `DNS blocklists ${values.get('postscreen_dnsbl_sites')} not tested here (no DNS on a runner)`, false);
    for (const [name, value] of [...values]) {
        const { value: next, removed } = withoutPolicyServices(value);
        if (removed.length === 0)
            continue;
        values.set(name, next);
        for (const r of removed)
            d.changes.push({ ...d.at(name), subject: name, change: `${r} not tested here (a policy service cannot be reached from a runner)`, tested: false });
    }
}
/** SASL: Dovecot's socket is not on a runner; Cyrus with no accounts stands in. */
function saslStandIn(d) {
    const { values } = d;
    const inUse = values.get('smtpd_sasl_auth_enable') === 'yes' || (d.input.master ?? []).some((s) => serviceOverrides(s).some((o) => o.name === 'smtpd_sasl_auth_enable' && o.value === 'yes'));
    if (!inUse)
        return;
    if ((values.get('smtpd_sasl_type') ?? 'cyrus') !== 'cyrus') {
        d.set('smtpd_sasl_type', 'cyrus', `${values.get('smtpd_sasl_type')} → cyrus with no accounts: AUTH is offered, every login fails`);
        d.set('smtpd_sasl_path', 'smtpd', `${values.get('smtpd_sasl_path') ?? ''} → smtpd (Cyrus)`);
    }
    values.set('cyrus_sasl_config_path', external_node_path_default().join(d.input.instance.conf, 'sasl'));
    // ANONYMOUS as Debian's libsasl2-modules offers it: whether Postfix offers it is then the
    // configuration's smtpd_sasl_security_options, which the AUTH identity trick tests.
    d.create.push({ file: 'sasl/smtpd.conf', content: 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: /nonexistent/relay-check-sasldb2\nmech_list: PLAIN LOGIN ANONYMOUS\n' });
}
/** A value with its maps pointed at the instance's copies (and queued for postmap/postalias); a map that cannot be had is a refusal. */
function fixMaps(d, name, value, origin) {
    let out = value;
    for (const ref of mapRefs(value)) {
        if (SERVER_MAPS.has(ref.type)) {
            d.refusals.push({ ...origin, subject: name, change: `${name} uses ${ref.whole}, which needs a server or database a runner does not have: stand it in with postfix-overrides (for example ${name} = texthash:test/${name})`, tested: false });
            continue;
        }
        if (!d.input.mapTypes.has(ref.type)) {
            d.refusals.push({ ...origin, subject: name, change: `${name} uses the map type ${ref.type}:, which this Postfix does not support${PACKAGE_OF[ref.type] ? ` (install the Debian package ${PACKAGE_OF[ref.type]})` : ''}`, tested: false });
            continue;
        }
        const file = d.resolveFile(ref.name);
        if (!file) {
            if (ALIAS_PARAMS.has(name) && /(^|\/)aliases$/.test(ref.name))
                out = out.replace(ref.whole, aliasesStandIn(d, name, ref, origin));
            else
                d.refusals.push({ ...origin, subject: name, change: `${name} names ${ref.name}, which is not in the configuration directory: add the file or override ${name} in postfix-overrides`, tested: false });
            continue;
        }
        const next = `${ref.proxy ? 'proxy:' : ''}${ref.type}:${file}`;
        if (next !== ref.whole) {
            out = out.replace(ref.whole, next);
            if (!/^\$\{?config_directory/.test(ref.name))
                d.changes.push({ ...origin, subject: name, change: `${ref.name} → the copy in the configuration directory`, tested: true });
        }
        if (INDEXED_MAPS.has(ref.type) && !d.build.some((b) => b.map === `${ref.type}:${file}`)) {
            d.build.push({ command: ALIAS_PARAMS.has(name) ? 'postalias' : 'postmap', map: `${ref.type}:${file}` });
        }
    }
    return out;
}
/** Local recipient validation reads the aliases; Debian's default holds postmaster only. Returns the reference to write. */
function aliasesStandIn(d, name, ref, origin) {
    const stand = external_node_path_default().join(d.input.instance.conf, 'aliases');
    if (!d.create.some((c) => c.file === 'aliases'))
        d.create.push({ file: 'aliases', content: 'postmaster: root\n' });
    d.changes.push({ ...origin, subject: name, change: `${ref.name} is not in the configuration directory: an aliases file with postmaster only stands in`, tested: true });
    if (INDEXED_MAPS.has(ref.type))
        d.build.push({ command: 'postalias', map: `${ref.type}:${stand}` });
    return `${ref.proxy ? 'proxy:' : ''}${ref.type}:${stand}`;
}
/** Certificates name files of the production host: the directory's copy, else a throwaway pair stands in. */
function tlsStandIn(d, name, value) {
    if (value === '')
        return undefined;
    const { cert, key } = d.input.instance;
    if (name === 'smtpd_tls_chain_files') {
        const files = value.split(/[\s,]+/).filter(Boolean);
        if (files.every((f) => d.resolveFile(f)))
            return { value: files.map((f) => d.resolveFile(f)).join(', '), change: `${value} → the copies in the configuration directory` };
        return { value: `${key}, ${cert}`, change: `${value} → a throwaway self-signed pair (STARTTLS and implicit TLS are still tested)` };
    }
    const local = d.resolveFile(value);
    if (local)
        return { value: local, change: `${value} → the copy in the configuration directory` };
    if (TLS_PAIR.cert.includes(name))
        return { value: cert, change: `${value} → a throwaway self-signed certificate (STARTTLS and implicit TLS are still tested)` };
    if (TLS_PAIR.key.includes(name))
        return { value: key, change: `${value} → the throwaway key` };
    if (TLS_OPTIONAL.includes(name))
        return { value: '', change: `${value} is not on a runner: left out` };
    return undefined;
}
function certificates(d) {
    for (const name of TLS_FILES) {
        const v = d.values.get(name);
        const t = v === undefined ? undefined : tlsStandIn(d, name, v);
        if (t)
            d.set(name, t.value, t.change);
    }
    // Debian's "No configuration" main.cf has no TLS at all; a service that asks for it needs a pair.
    if (!TLS_PAIR.cert.some((n) => d.values.get(n)) && !d.values.get('smtpd_tls_chain_files')) {
        d.values.set('smtpd_tls_cert_file', d.input.instance.cert);
        d.values.set('smtpd_tls_key_file', d.input.instance.key);
    }
}
/** master.cf for the instance: chroot off, overrides made safe, listeners on their loopback ports, delivery agents discard(8). */
function sandboxMaster(d, forServices) {
    const { input } = d;
    const master = (input.master ?? parseDefault()).map((s) => ({ ...s, args: [...s.args] }));
    if (input.master === null)
        d.changes.push({ file: 'master.cf', line: null, subject: 'master.cf', change: "the directory has no master.cf: Debian's default services stand in (smtp on port 25)", tested: true });
    const services = [];
    const chrooted = [];
    const replaced = [];
    const disabled = [];
    for (const s of master) {
        if (s.chroot !== 'n') {
            if (s.chroot === 'y' || s.chroot === '-')
                chrooted.push(s.service);
            s.chroot = 'n';
        }
        const origin = { file: 'master.cf', line: input.master === null ? null : s.line };
        // The team's overrides first, so they are made safe like the file's own.
        applyFileOverrides(d, s, forServices);
        safeServiceOverrides(d, s, origin);
        if (isListener(s))
            services.push(placeListener(d, s, origin, services.length));
        else if (s.type === 'inet') {
            disabled.push(s);
            d.changes.push({ ...origin, subject: s.service, change: `inet service ${s.service} (${s.command}) is not SMTP: not started here`, tested: false });
        }
        else if (!SAFE_DAEMONS.has(s.command)) {
            if (s.type === 'unix')
                replaced.push(toDiscard(s));
            else {
                disabled.push(s);
                d.changes.push({ ...origin, subject: s.service, change: `${s.type} service ${s.service} runs ${s.command}, which is not one of Postfix's own daemons: not started here`, tested: true });
            }
        }
        onlyOverrides(d, s, origin);
    }
    if (chrooted.length)
        d.changes.push({ file: 'master.cf', line: null, subject: 'chroot', change: `chroot off for ${chrooted.join(', ')} (the jail is not populated on a runner)`, tested: true });
    if (replaced.length)
        d.changes.push({ file: 'master.cf', line: null, subject: 'delivery agents', change: `${replaced.join(', ')} deliver to discard(8): nothing leaves the runner and no command runs`, tested: true });
    const kept = withRequiredServices(d, master.filter((s) => !disabled.includes(s)));
    if (services.length === 0)
        d.refusals.push({ file: 'master.cf', line: null, subject: 'master.cf', change: 'no inet smtpd or postscreen service: there is nothing to test', tested: false });
    return { master: kept, services };
}
/** A unix service that is not one of Postfix's own safe daemons becomes discard(8), with no wakeup; returns how it is named in the change. */
function toDiscard(s) {
    const was = `${s.service} (${s.command}${s.wakeup !== '-' && s.wakeup !== '0' ? `, woken every ${s.wakeup}` : ''})`;
    s.command = 'discard';
    s.wakeup = '-';
    s.args = keepOverrides(s.args);
    return was;
}
/** Arguments other than `-o` (`-D` runs debugger_command as root, `-v`, a pipe's argv) are dropped. */
function onlyOverrides(d, s, origin) {
    const kept = keepOverrides(s.args);
    if (kept.length === s.args.length)
        return;
    const dropped = s.args.filter((a, i) => a !== '-o' && s.args[i - 1] !== '-o');
    d.changes.push({ ...origin, subject: s.service, change: `argument(s) ${dropped.join(' ')} dropped: only -o overrides are kept (-D would run debugger_command)`, tested: true });
    s.args = kept;
}
/** A service's own `-o` overrides, made safe as main.cf's values are. */
function safeServiceOverrides(d, s, origin) {
    for (const o of serviceOverrides(s)) {
        const subject = `${s.service} -o ${o.name}`;
        let v = fixMaps(d, `${s.service}/${s.type} -o ${o.name}`, o.value, origin);
        if (MILTERS.includes(o.name) && v !== '') {
            d.changes.push({ ...origin, subject, change: `milters ${v} not tested here`, tested: false });
            v = '';
        }
        const policy = withoutPolicyServices(v);
        for (const r of policy.removed)
            d.changes.push({ ...origin, subject, change: `${r} not tested here (a policy service cannot be reached from a runner)`, tested: false });
        v = policy.value;
        const tls = TLS_FILES.includes(o.name) ? tlsStandIn(d, o.name, v) : undefined;
        if (tls) {
            d.changes.push({ ...origin, subject, change: tls.change, tested: true });
            v = tls.value;
        }
        if (o.name === 'smtpd_sasl_type' && v !== 'cyrus') {
            d.changes.push({ ...origin, subject: `${s.service} -o smtpd_sasl_type`, change: `${v} → cyrus with no accounts`, tested: true });
            v = 'cyrus';
        }
        if (o.name === 'smtpd_sasl_path' && d.values.get('smtpd_sasl_type') === 'cyrus')
            v = 'smtpd';
        if (o.name === 'smtpd_authorized_xclient_hosts' && v !== gateXclientHosts(v)) {
            d.changes.push({ ...origin, subject, change: xclientChange(v), tested: true });
            v = gateXclientHosts(v);
        }
        const transport = TRANSPORTS.find((t) => t === o.name);
        if (transport)
            v = classTransport(d.input.classTag, transport);
        else if (ROUTING.includes(o.name))
            v = '';
        else if (o.name in HOOKS && v !== '') {
            d.changes.push({ ...origin, subject, change: `${v} → empty: ${HOOKS[o.name].why}`, tested: HOOKS[o.name].tested });
            v = '';
        }
        if (v !== o.value)
            s.args[o.index] = overrideArg(o.name, v);
    }
}
/** postfix-overrides' `service/type/name` lines for this service, replacing or adding `-o`. */
function applyFileOverrides(d, s, forServices) {
    for (const f of forServices.filter((x) => x.service === s.service && x.type === s.type)) {
        const existing = serviceOverrides(s).find((o) => o.name === f.name);
        if (existing)
            s.args[existing.index] = overrideArg(f.name, f.value);
        else
            s.args.push('-o', overrideArg(f.name, f.value));
        d.changes.push({ file: d.input.overridesFile, line: f.line, subject: `${s.service}/${s.type} -o ${f.name}`, change: `set by postfix-overrides: ${f.value}`, tested: true });
    }
}
/** An smtpd or postscreen listener moved to the nth free loopback port, described as it was in production. */
function placeListener(d, s, origin, nth) {
    const port = d.input.ports[nth];
    if (port === undefined)
        throw new Error('buildSandbox: fewer ports than listeners (see listenerCount)');
    const own = (n) => serviceOverrides(s).find((o) => o.name === n)?.value ?? d.values.get(n);
    const wrapper = own('smtpd_tls_wrappermode') === 'yes';
    const tlsRequired = !wrapper && (own('smtpd_tls_security_level') === 'encrypt' || own('smtpd_enforce_tls') === 'yes');
    const proxy = own(s.command === 'postscreen' ? 'postscreen_upstream_proxy_protocol' : 'smtpd_upstream_proxy_protocol') === 'haproxy';
    const original = SERVICE_PORTS[s.service] ?? s.service;
    // A listener written as host:port is best known by its syslog name (postfix/submission).
    const syslog = serviceOverrides(s).find((o) => o.name === 'syslog_name')?.value.split('/').pop();
    const name = /[:.]/.test(s.service) && syslog && !syslog.includes('$') ? syslog : s.service;
    d.changes.push({ ...origin, subject: s.service, change: `${name} (${original}) → 127.0.0.1:${port}`, tested: true });
    s.service = `127.0.0.1:${port}`;
    return { name, original, command: s.command, wrapper, tlsRequired, proxy, port, line: s.line };
}
function withRequiredServices(d, kept) {
    for (const [name, line] of Object.entries(REQUIRED_SERVICES)) {
        if (!kept.some((s) => s.service === name && s.type !== 'inet')) {
            const [svc] = parseLine(line);
            kept.push(svc);
            d.changes.push({ file: 'master.cf', line: null, subject: name, change: `added ${name} (${svc.command}): the private instance needs it`, tested: true });
        }
    }
    return kept;
}
function keepOverrides(args) {
    const out = [];
    for (let i = 0; i < args.length; i++)
        if (args[i] === '-o' && i + 1 < args.length)
            out.push('-o', args[++i]);
    return out;
}
function parseLine(line) {
    const [service, type, priv, unpriv, chroot, wakeup, maxproc, command, ...args] = splitArgs(line);
    return [{ service, type, private: priv, unpriv, chroot, wakeup, maxproc, command, args, line: 0 }];
}
function parseDefault() {
    return DEFAULT_MASTER_CF.trim()
        .split('\n')
        .flatMap((l) => parseLine(l));
}

;// CONCATENATED MODULE: ./src/gate/instance.ts











/**
 * A private Postfix built from a configuration directory of the repository:
 * its own config, queue, data and log in a temporary directory, every smtpd
 * service on a free 127.0.0.1 port, every transport a discard. It never reads
 * or writes /etc/postfix and never touches a Postfix already running here.
 */
/** A gate that cannot start: one line that names the input, with the file and line when there is one. */
class GateError extends Error {
    input;
    problems;
    constructor(input, detail, 
    /** The configuration problems behind it, each with its file and line (annotations). */
    problems = []) {
        super(`Input '${input}': ${detail}`);
        this.input = input;
        this.problems = problems;
        this.name = 'GateError';
    }
}
const POSTFIX_BIN = process.env.RELAY_CHECK_POSTFIX || '/usr/sbin/postfix';
const CMD_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;
/** A command as root, without blocking the event loop (see run.ts). */
function exec(r, cmd, args, input) {
    const [bin, ...rest] = [...r.prefix, cmd, ...args];
    return run_run(bin, rest, { timeout: CMD_TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
}
/** The same, blocking: only for exit hooks, which cannot wait. */
function execNow(r, cmd, args) {
    const [bin, ...rest] = [...r.prefix, cmd, ...args];
    (0,external_node_child_process_namespaceObject.spawnSync)(bin, rest, { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
}
/** Root, or a working `sudo -n`: the Postfix master must start as root. */
function runner(uid = process.getuid?.(), sudoWorks = () => (0,external_node_child_process_namespaceObject.spawnSync)('sudo', ['-n', 'true'], { encoding: 'utf8', timeout: 10_000 }).status === 0) {
    if (uid === 0)
        return { prefix: [] };
    if (sudoWorks())
        return { prefix: ['sudo', '-n'] };
    throw new GateError('postfix-config', 'the Postfix master must start as root: run as root or where `sudo -n` works');
}
/** What to do about Postfix on this machine: use it, install it, or say what to install. */
function postfixPlan(m, bin = POSTFIX_BIN) {
    if (m.postfix)
        return 'present';
    if (m.debian && m.aptGet)
        return 'install';
    return new GateError('postfix-config', `${bin} not found: install Postfix (on Debian or Ubuntu, the package "postfix")`);
}
/** Postfix, installed from Debian's package when missing on a Debian or Ubuntu machine. */
async function ensurePostfix(r, log) {
    const plan = postfixPlan({ postfix: external_node_fs_default().existsSync(POSTFIX_BIN), debian: external_node_fs_default().existsSync('/etc/debian_version'), aptGet: external_node_fs_default().existsSync('/usr/bin/apt-get') });
    if (plan === 'present')
        return;
    if (plan instanceof GateError)
        throw plan;
    const preset = await exec(r, 'debconf-set-selections', [], 'postfix postfix/main_mailer_type select No configuration\n');
    const env = ['env', 'DEBIAN_FRONTEND=noninteractive'];
    const update = preset.status === 0 ? await exec(r, env[0], [...env.slice(1), 'apt-get', 'update', '-qq']) : preset;
    const install = update.status === 0 ? await exec(r, env[0], [...env.slice(1), 'apt-get', 'install', '-y', '-qq', 'postfix']) : update;
    log('Installing Postfix (Debian package "postfix", debconf "No configuration")', [preset, update, install].flatMap((s) => `${s.stdout}${s.stderr}`.split('\n')).filter((l) => l.trim() !== ''));
    if (install.status !== 0 || !external_node_fs_default().existsSync(POSTFIX_BIN)) {
        throw new GateError('postfix-config', `installing Postfix failed: ${(install.stderr || install.error?.message || 'no output').trim().split('\n').pop()}`);
    }
}
/** A configuration directory is small; more than this is a directory that is not one (the repository root, say). */
const MAX_CONFIG_FILES = 2_000;
/** Files of the configuration directory, relative paths, without the directory's own VCS noise. */
function listFiles(dir) {
    const out = [];
    const walk = (rel) => {
        for (const e of external_node_fs_default().readdirSync(external_node_path_default().join(dir, rel), { withFileTypes: true })) {
            if (e.name.startsWith('.git') || e.name === 'node_modules')
                continue;
            const r = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory())
                walk(r);
            else if (e.isFile())
                out.push(r);
            if (out.length > MAX_CONFIG_FILES) {
                throw new GateError('postfix-config', `${dir} holds more than ${MAX_CONFIG_FILES} files: name the directory that holds main.cf, not a larger tree`);
            }
        }
    };
    walk('');
    return out;
}
function readParams(file, input) {
    try {
        return parseMainCf(external_node_fs_default().readFileSync(file, 'utf8'));
    }
    catch (e) {
        throw new GateError(input, `cannot read ${file}: ${e.message}`);
    }
}
/** Checks what can be checked before anything starts: the directory, main.cf, the overrides file. */
function checkGateInputs(o) {
    let st;
    try {
        st = external_node_fs_default().statSync(o.configDir);
    }
    catch {
        throw new GateError('postfix-config', `${o.configDir} does not exist`);
    }
    if (!st.isDirectory())
        throw new GateError('postfix-config', `${o.configDir} is not a directory`);
    if (!external_node_fs_default().existsSync(external_node_path_default().join(o.configDir, 'main.cf')))
        throw new GateError('postfix-config', `${o.configDir} has no main.cf`);
    if (o.overridesFile !== undefined && !external_node_fs_default().existsSync(o.overridesFile))
        throw new GateError('postfix-config', `${o.overridesFile} does not exist`);
}
/** Builds, checks and starts the private instance; stops it again on any failure. */
async function startGate(o) {
    const log = o.log ?? (() => undefined);
    checkGateInputs(o);
    const r = runner();
    await ensurePostfix(r, log);
    const dir = external_node_fs_default().mkdtempSync(external_node_path_default().join(external_node_os_default().tmpdir(), 'relay-check-gate-'));
    const inst = { dir, stopped: false, r };
    live.add(inst);
    installHooks();
    o.onDir?.(dir);
    log(`private Postfix instance in ${dir}`);
    try {
        const at = await instancePlaces(r, dir);
        const config = copyConfiguration(o, at.conf);
        const sb = await sandboxFor(r, o, config, at);
        const lines = writeInstance(sb, at.conf);
        const host = await postconf(r, at.conf, ['myhostname', 'mydomain']);
        const [myhostname, mydomain] = host.split('\n');
        await makePair(r, at.cert, at.key, myhostname || 'localhost');
        await buildMaps(r, sb.build, at.conf);
        await postfixCheck(r, at.conf, o.configDir, lines, sb.master);
        await startPostfix(r, at, o.configDir, sb.services);
        return {
            dir,
            postfixVersion: await postconf(r, at.conf, ['mail_version']),
            services: sb.services,
            changes: sb.changes,
            mydomain: mydomain ?? '',
            myhostname: myhostname ?? '',
            classTag: config.classTag,
            maillog: () => readOr(at.log),
            stop: () => stopInstance(inst),
        };
    }
    catch (e) {
        await stopInstance(inst);
        throw e;
    }
}
async function instancePlaces(r, dir) {
    external_node_fs_default().chmodSync(dir, 0o755);
    const at = { conf: external_node_path_default().join(dir, 'conf'), queue: external_node_path_default().join(dir, 'queue'), data: external_node_path_default().join(dir, 'data'), log: external_node_path_default().join(dir, 'maillog'), cert: external_node_path_default().join(dir, 'tls-cert.pem'), key: external_node_path_default().join(dir, 'tls-key.pem') };
    for (const d of [at.conf, at.queue, at.data])
        external_node_fs_default().mkdirSync(d, { mode: 0o755 });
    const chown = await exec(r, 'chown', ['postfix:postfix', at.data]);
    if (chown.status !== 0)
        throw new GateError('postfix-config', `cannot prepare the instance (chown postfix ${at.data}): ${chown.stderr.trim()}`);
    return at;
}
/** The repository's files into the instance, as they are (main.cf and master.cf are written later), and parsed. */
function copyConfiguration(o, conf) {
    const files = listFiles(o.configDir);
    for (const f of files) {
        const to = external_node_path_default().join(conf, f);
        external_node_fs_default().mkdirSync(external_node_path_default().dirname(to), { recursive: true });
        external_node_fs_default().copyFileSync(external_node_path_default().join(o.configDir, f), to);
    }
    const main = readParams(external_node_path_default().join(o.configDir, 'main.cf'), 'postfix-config');
    const masterFile = external_node_path_default().join(o.configDir, 'master.cf');
    const master = external_node_fs_default().existsSync(masterFile) ? parseMasterCf(external_node_fs_default().readFileSync(masterFile, 'utf8')) : null;
    const overrides = o.overridesFile ? readParams(o.overridesFile, 'postfix-overrides') : [];
    // A stand-in map named by a relative path may live beside the overrides file or in the
    // checkout rather than in the configuration directory: copy it into the instance.
    for (const ref of overrides.flatMap((p) => mapRefs(p.value))) {
        if (/^[/$]/.test(ref.name) || ref.name.split('/').includes('..') || files.includes(ref.name))
            continue;
        const from = [external_node_path_default().resolve(external_node_path_default().dirname(o.overridesFile ?? '.'), ref.name), external_node_path_default().resolve(ref.name)].find((f) => external_node_fs_default().existsSync(f) && external_node_fs_default().statSync(f).isFile());
        if (!from)
            continue;
        external_node_fs_default().mkdirSync(external_node_path_default().dirname(external_node_path_default().join(conf, ref.name)), { recursive: true });
        external_node_fs_default().copyFileSync(from, external_node_path_default().join(conf, ref.name));
        files.push(ref.name);
    }
    return { files, main, master, overrides, classTag: external_node_crypto_default().randomBytes(6).toString('hex') };
}
/** The sandbox for this machine's map types and free ports; a configuration it refuses stops the gate. */
async function sandboxFor(r, o, c, at) {
    // postconf -m needs some main.cf in the directory it is pointed at.
    external_node_fs_default().writeFileSync(external_node_path_default().join(at.conf, 'main.cf'), '');
    const mapTypes = new Set((await exec(r, 'postconf', ['-c', at.conf, '-m'])).stdout.split('\n').map((x) => x.trim()).filter(Boolean));
    const ports = [];
    for (let i = 0; i < listenerCount(c.master); i++)
        ports.push(await freePort(ports));
    const sb = buildSandbox({
        main: c.main,
        master: c.master,
        overrides: c.overrides,
        overridesFile: o.overridesFile ? external_node_path_default().basename(o.overridesFile) : 'postfix-overrides',
        files: new Set(c.files),
        mapTypes,
        instance: at,
        ports,
        classTag: c.classTag,
    });
    if (sb.refusals.length > 0) {
        throw new GateError('postfix-config', sb.refusals.map((x) => `${x.file}${x.line ? `:${x.line}` : ''}: ${x.change}`).join('; '), sb.refusals);
    }
    return sb;
}
/** main.cf, master.cf and the stand-in files into the instance; returns where each written line came from. */
function writeInstance(sb, conf) {
    external_node_fs_default().writeFileSync(external_node_path_default().join(conf, 'main.cf'), formatMainCf(sb.main));
    const masterText = sb.master.map(formatMasterService);
    external_node_fs_default().writeFileSync(external_node_path_default().join(conf, 'master.cf'), masterText.join('\n') + '\n');
    const lines = { 'main.cf': [...sb.main.keys()].map((k) => sb.origins.get(k) ?? { file: 'main.cf', line: null }), 'master.cf': [] };
    sb.master.forEach((s, i) => {
        for (let n = 0; n < masterText[i].split('\n').length; n++)
            lines['master.cf'].push({ file: 'master.cf', line: s.line || null });
    });
    for (const c of sb.create) {
        external_node_fs_default().mkdirSync(external_node_path_default().dirname(external_node_path_default().join(conf, c.file)), { recursive: true });
        external_node_fs_default().writeFileSync(external_node_path_default().join(conf, c.file), c.content);
    }
    // Postfix waits for a configuration file written in the last second to settle before
    // reading it; the files are complete, so date them back and start at once.
    const past = new Date(Date.now() - 60_000);
    for (const f of ['main.cf', 'master.cf'])
        external_node_fs_default().utimesSync(external_node_path_default().join(conf, f), past, past);
    return lines;
}
/** Values as this Postfix computes them for the instance, one a line. */
async function postconf(r, conf, names) {
    return (await exec(r, 'postconf', ['-c', conf, '-h', ...names])).stdout.trim();
}
async function buildMaps(r, build, conf) {
    for (const b of build) {
        const made = await exec(r, b.command === 'postalias' ? 'postalias' : 'postmap', ['-c', conf, b.map]);
        if (made.status !== 0)
            throw new GateError('postfix-config', `${b.command} ${b.map.replace(conf + '/', '')} failed: ${firstLine(made.stderr)}`);
    }
}
/** `postfix check`: a complaint stops the gate, pointed at the repository's file and line. */
async function postfixCheck(r, conf, configDir, lines, master) {
    const check = await exec(r, POSTFIX_BIN, ['-c', conf, 'check']);
    const complaints = `${check.stderr}${check.stdout}`.split('\n').filter((l) => /fatal|error/i.test(l));
    if (check.status === 0 && complaints.length === 0)
        return;
    const problems = problemsOf(complaints, conf, lines, master);
    const at = problems.find((p) => p.line !== null);
    throw new GateError('postfix-config', `postfix check refuses the configuration${at ? ` (${at.file} line ${at.line})` : ''}: ${postfixWords(complaints.join(' | ') || check.stderr, conf, configDir)}`, problems);
}
/** `postfix start`, then every listener's greeting, then proof that the ports are this master's. */
async function startPostfix(r, at, configDir, services) {
    const started = await exec(r, POSTFIX_BIN, ['-c', at.conf, 'start']);
    if (started.status !== 0)
        throw new GateError('postfix-config', `postfix start failed: ${postfixWords(`${started.stderr} ${tailOf(at.log)}`, at.conf, configDir)}`);
    for (const s of services)
        await waitForGreeting(s, at.log, at.conf, configDir);
    // A greeting proves that a server listens on the port, not that it is ours: had another
    // process taken a port between freePort and Postfix's bind, our master would have died
    // on it and the battery would test that other server.
    const pid = masterPid(external_node_path_default().dirname(at.conf));
    const bind = readOr(at.log).split('\n').find((l) => /fatal: bind\b|fatal:.*Address already in use/i.test(l));
    if (bind || pid === undefined || !alive(pid)) {
        throw new GateError('postfix-config', `the private Postfix did not keep its ports (${bind ? postfixWords(bind.replace(/^.*?fatal:\s*/, ''), at.conf, configDir) : 'its master is not running'}); another process took one of them: run the check again`);
    }
}
function firstLine(s) {
    return (s.trim().split('\n')[0] ?? '').trim();
}
/** Postfix's own words, with instance paths written as the repository's. */
function postfixWords(text, conf, configDir) {
    return text.replaceAll(conf, configDir).replace(/\s+/g, ' ').trim().slice(0, 600) || 'no reason given';
}
/**
 * `postfix check` names the instance's files and lines ("/tmp/…/conf/master.cf: line 12: …");
 * the written line maps back to the repository's file and line.
 */
function problemsOf(complaints, conf, lines, master) {
    const esc = conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return complaints.map((l) => {
        const m = new RegExp(`${esc}/(main\\.cf|master\\.cf)[,:]? line (\\d+)`).exec(l);
        // postconf quotes a bad master.cf entry without a line number: find it by its text.
        const quoted = /in "([^"]+)"/.exec(l)?.[1]?.replace(/\s+/g, ' ');
        const entry = quoted === undefined ? undefined : master.find((s) => quoted.startsWith(`${s.service} ${s.type} `));
        const origin = m ? lines[m[1]]?.[Number(m[2]) - 1] : entry ? { file: 'master.cf', line: entry.line || null } : undefined;
        return { file: origin?.file ?? m?.[1] ?? 'main.cf', line: origin?.line ?? null, subject: 'postfix check', change: l.replaceAll(conf + '/', '').replace(/^.*?(fatal|error):\s*/i, '').trim(), tested: false };
    });
}
async function makePair(r, cert, key, cn) {
    const made = await exec(r, 'openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn.replace(/[^A-Za-z0-9.-]/g, '') || 'localhost'}`, '-days', '2', '-keyout', key, '-out', cert]);
    if (made.status !== 0)
        throw new GateError('postfix-config', `cannot make the throwaway TLS pair (openssl): ${firstLine(made.stderr || made.error?.message || '')}`);
}
function readOr(file) {
    try {
        return external_node_fs_default().readFileSync(file, 'utf8');
    }
    catch {
        return '';
    }
}
function tailOf(file) {
    return readOr(file)
        .split('\n')
        .filter((l) => /fatal|panic|error/i.test(l))
        .slice(-3)
        .join(' | ');
}
function freePort(taken) {
    return new Promise((resolve, reject) => {
        const srv = external_node_net_default().createServer();
        srv.once('error', reject);
        srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
            const port = srv.address().port;
            srv.close(() => (taken.includes(port) ? freePort(taken).then(resolve, reject) : resolve(port)));
        });
    });
}
/** Until a complete 220 arrives (through TLS for wrapper mode); postscreen may hold it for its greet wait. */
async function waitForGreeting(s, log, conf, configDir) {
    const until = Date.now() + READY_TIMEOUT_MS;
    let last = '';
    while (Date.now() < until) {
        last = await greet(s.port, s.wrapper, Math.min(10_000, until - Date.now()), s.proxy);
        if (last === 'ok')
            return;
        if (/fatal:/.test(readOr(log)))
            break;
        await new Promise((res) => setTimeout(res, 200));
    }
    throw new GateError('postfix-config', `service ${s.name} (master.cf line ${s.line}) never greeted on 127.0.0.1:${s.port} (${last}): ${postfixWords(tailOf(log), conf, configDir)}`);
}
function greet(port, wrapper, timeoutMs, proxy) {
    return new Promise((resolve) => {
        const socket = wrapper ? external_node_tls_default().connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : external_node_net_default().connect({ host: '127.0.0.1', port });
        // A PROXY-protocol service greets only after the header, as its proxy would send it.
        if (proxy && !wrapper)
            socket.write(proxyHeader(1, '127.0.0.1', '127.0.0.1', 40_000, port).bytes);
        let buf = '';
        const done = (why) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(why);
        };
        const timer = setTimeout(() => done(`no greeting within ${timeoutMs} ms`), timeoutMs);
        socket.on('error', (e) => done(e.code ?? e.message));
        socket.on('data', (c) => {
            buf += c.toString('latin1');
            if (/(^|\r\n)220 [^\r\n]*\r\n/.test(buf)) {
                socket.write('QUIT\r\n');
                done('ok');
            }
            else if (/(^|\r\n)[45]\d\d [^\r\n]*\r\n/.test(buf))
                done(`refused: ${buf.trim().slice(0, 200)}`);
        });
        socket.on('close', () => done(`closed (got ${JSON.stringify(buf.slice(0, 100))})`));
    });
}
const live = new Set();
let hooked = false;
function installHooks() {
    if (hooked)
        return;
    hooked = true;
    process.once('exit', () => {
        for (const i of live)
            killNow(i.dir, i.r);
    });
    for (const sig of ['SIGTERM', 'SIGINT']) {
        process.once(sig, () => {
            for (const i of live)
                killNow(i.dir, i.r);
            process.exit(sig === 'SIGINT' ? 130 : 143);
        });
    }
}
/** The master's pid from data/master.lock or queue/pid/master.pid. */
function masterPid(dir) {
    for (const f of [external_node_path_default().join(dir, 'data', 'master.lock'), external_node_path_default().join(dir, 'queue', 'pid', 'master.pid')]) {
        const n = Number.parseInt(readOr(f).trim(), 10);
        if (Number.isInteger(n) && n > 1)
            return n;
    }
    return undefined;
}
function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (e) {
        // EPERM: it exists but is not ours to signal (sudo case).
        return e.code === 'EPERM';
    }
}
/** Synchronous last resort (exit hooks cannot wait): SIGKILL the master, remove the directory. */
function killNow(dir, r = { prefix: process.getuid?.() === 0 ? [] : ['sudo', '-n'] }) {
    const pid = masterPid(dir);
    if (pid !== undefined && alive(pid))
        execNow(r, 'kill', ['-KILL', String(pid)]);
    // Its children follow the master; give them a moment, then remove the instance.
    execNow(r, 'rm', ['-rf', dir]);
}
async function stopInstance(i) {
    if (i.stopped)
        return;
    i.stopped = true;
    const conf = external_node_path_default().join(i.dir, 'conf');
    const pid = masterPid(i.dir);
    // abort, not stop: a throwaway instance has no mail to finish, and stop waits for its children.
    if (external_node_fs_default().existsSync(external_node_path_default().join(conf, 'main.cf')) && pid !== undefined)
        await exec(i.r, POSTFIX_BIN, ['-c', conf, 'abort']);
    if (pid !== undefined) {
        const until = Date.now() + 5_000;
        while (alive(pid) && Date.now() < until)
            await new Promise((res) => setTimeout(res, 100));
        if (alive(pid))
            await exec(i.r, 'kill', ['-KILL', String(pid)]);
    }
    await exec(i.r, 'rm', ['-rf', i.dir]);
    live.delete(i);
}

;// CONCATENATED MODULE: ./src/gate/base.ts





/**
 * Base against head: the configuration directory as it was at the pull
 * request's base commit, read from git into a temporary directory (never
 * checked out over the working tree), so that it can run on a second private
 * Postfix; and the pure comparison of the two runs, per master.cf service and
 * vector.
 */
// --- which base ---
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/**
 * The base commit of a pull_request event; undefined for any other event. Not
 * pull_request_target: there actions/checkout checks out the base itself, so the
 * work tree would be compared with itself (`base-ref` can still name one).
 */
function pullRequestBase(eventName, payload) {
    if (eventName !== 'pull_request')
        return undefined;
    const pr = payload?.pull_request;
    const sha = pr?.base?.sha;
    // Only a full object name: it goes on a git command line.
    return typeof sha === 'string' && SHA.test(sha) ? sha : undefined;
}
const GIT_TIMEOUT_MS = 60_000;
/** As instance.ts allows in a configuration directory: more is not one. */
const MAX_FILES = 2_000;
function git(cwd, args) {
    // No prompt for credentials (a runner has no terminal); the checkout's own credentials still apply.
    const r = (0,external_node_child_process_namespaceObject.spawnSync)('git', ['-C', cwd, ...args], { timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    return { ok: r.status === 0, out: r.stdout ?? Buffer.alloc(0), err: `${r.stderr?.toString() ?? ''}${r.error?.message ?? ''}`.trim() };
}
const base_text = (g) => g.out.toString('utf8').trim();
/** The commit a ref names, if this clone has it. */
function resolve(root, ref) {
    const g = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    return g.ok ? base_text(g) : undefined;
}
/**
 * The commit, fetched once from origin when the clone lacks it: actions/checkout
 * fetches only the merge commit by default (fetch-depth 1), without its parents.
 */
function resolveOrFetch(root, ref, log) {
    const have = resolve(root, ref);
    if (have !== undefined)
        return have;
    log(`base ${ref} is not in this clone: git fetch --depth=1 origin ${ref}`);
    const fetched = git(root, ['fetch', '--depth=1', '--no-tags', '--quiet', 'origin', ref]);
    if (!fetched.ok)
        return undefined;
    // A sha is in the clone now; a branch or tag name is in FETCH_HEAD, which is what was fetched.
    return resolve(root, ref) ?? resolve(root, 'FETCH_HEAD');
}
/** Path segments listFiles (instance.ts) leaves out of a configuration directory, left out here too. */
function base_skipped(rel) {
    return rel.split('/').some((s) => s.startsWith('.git') || s === 'node_modules');
}
/** `git ls-tree -r -z` entries: mode, type, object and path, for plain files only (no symlinks, no submodules). */
function parseLsTree(out) {
    return out
        .split('\0')
        .filter(Boolean)
        .map((e) => /^(\d+) (\w+) ([0-9a-f]+)\t([\s\S]+)$/.exec(e))
        .filter((m) => m !== null && m[2] === 'blob' && (m[1] === '100644' || m[1] === '100755'))
        .map((m) => ({ oid: m[3], path: m[4] }));
}
/**
 * The configuration directory at `ref`, written to a temporary directory: every
 * file git holds under it (main.cf, master.cf and the map files beside them).
 * "new" when the directory (or its main.cf) is not there at the base: the pull
 * request adds it. "unavailable" with a warning when the base cannot be had.
 */
/** `holdsConfig`: whether the directory's files at the base are a configuration at all (Postfix: a main.cf; the Exim gate passes its own). */
function checkoutBase(configDir, ref, log = () => undefined, holdsConfig = (p) => p.includes('main.cf')) {
    const unavailable = (warning, commit = ref) => ({ status: 'unavailable', commit, warning: `base not compared: ${warning}` });
    const top = git(configDir, ['rev-parse', '--show-toplevel']);
    if (!top.ok)
        return unavailable(`${configDir} is not in a git repository (${top.err.split('\n')[0] || 'git failed'})`);
    const root = base_text(top);
    // Where the directory sits in the repository, as git names it (symlinks and `..` resolved).
    const prefix = base_text(git(configDir, ['rev-parse', '--show-prefix'])).replace(/\/+$/, '');
    const commit = resolveOrFetch(root, ref, log);
    if (commit === undefined)
        return unavailable(`commit ${ref} not available; use actions/checkout with fetch-depth: 0`);
    const tree = `${commit}:${prefix}`;
    if (base_text(git(root, ['cat-file', '-t', tree])) !== 'tree')
        return { status: 'new', commit };
    const ls = git(root, ['ls-tree', '-r', '-z', tree]);
    if (!ls.ok)
        return unavailable(`git ls-tree ${tree} failed: ${ls.err.split('\n')[0]}`, commit);
    const files = parseLsTree(ls.out.toString('utf8')).filter((f) => !base_skipped(f.path));
    if (!holdsConfig(files.map((f) => f.path)))
        return { status: 'new', commit };
    if (files.length > MAX_FILES)
        return unavailable(`${prefix || '.'} at ${commit.slice(0, 12)} holds more than ${MAX_FILES} files`, commit);
    const dir = external_node_fs_default().mkdtempSync(external_node_path_default().join(external_node_os_default().tmpdir(), 'relay-check-base-'));
    const remove = () => {
        process.off('exit', remove);
        external_node_fs_default().rmSync(dir, { recursive: true, force: true });
    };
    // The instance has its exit hooks; these files need one too (SIGTERM ends in process.exit).
    process.on('exit', remove);
    try {
        for (const f of files) {
            // By object name, which is what `git show <commit>:<path>` prints, without parsing the path as a revision.
            const blob = git(root, ['cat-file', 'blob', f.oid]);
            if (!blob.ok)
                throw new Error(`git cat-file ${f.path} failed: ${blob.err.split('\n')[0]}`);
            const to = external_node_path_default().join(dir, f.path);
            // git never stores `..` or absolute paths, but the files land outside the repository: check anyway.
            if (!to.startsWith(dir + (external_node_path_default()).sep))
                throw new Error(`${f.path} leaves the directory`);
            external_node_fs_default().mkdirSync(external_node_path_default().dirname(to), { recursive: true });
            external_node_fs_default().writeFileSync(to, blob.out);
        }
    }
    catch (e) {
        remove();
        return unavailable(e.message, commit);
    }
    log(`base ${commit.slice(0, 12)}: ${files.length} file(s) of ${prefix || '.'} from git`);
    return { status: 'files', commit, dir, remove };
}
// --- the comparison (pure) ---
/** Worst first: a vector that relayed on any transport of a service relayed on that service. */
const RANK = { relayed: 3, inconclusive: 2, denied: 1, skipped: 0 };
/** Each master.cf service's outcome per vector, merged over its transports, in the order the report has them. */
function outcomesByService(r) {
    const nameOf = new Map((r.gate?.services ?? []).map((s) => [s.port, s.name]));
    const out = new Map();
    for (const t of r.targets) {
        const service = nameOf.get(t.port) ?? String(t.port);
        const m = out.get(service) ?? new Map();
        out.set(service, m);
        for (const a of t.attempts) {
            const prev = m.get(a.vector);
            if (prev === undefined || RANK[a.outcome] > RANK[prev])
                m.set(a.vector, a.outcome);
        }
    }
    return out;
}
/** Head against base for one vector; null where it did not run (a service only one side has). */
function changeOf(head, base) {
    const h = head === 'relayed';
    const b = base === 'relayed';
    return h && b ? 'unchanged-open' : h ? 'opened' : b ? 'closed' : 'unchanged';
}
/** One row per service and vector of either side: head's services first, then those only the base has. */
function compareOutcomes(head, base) {
    const rows = [];
    const services = [...new Set([...head.keys(), ...base.keys()])];
    for (const service of services) {
        const h = head.get(service) ?? new Map();
        const b = base.get(service) ?? new Map();
        for (const vector of new Set([...h.keys(), ...b.keys()])) {
            const ho = h.get(vector) ?? null;
            const bo = b.get(vector) ?? null;
            rows.push({ service, vector, head: ho, base: bo, change: changeOf(ho, bo) });
        }
    }
    return rows;
}
/** The report's `gate.base` for two runs. */
function compareRuns(commit, configDir, head, base) {
    return baseReport(commit, configDir, 'compared', compareOutcomes(outcomesByService(head), outcomesByService(base)));
}
function baseReport(commit, configDir, status, changes = [], warning) {
    const n = (c) => changes.filter((x) => x.change === c).length;
    return { commit, configDir, status, ...(warning !== undefined ? { warning } : {}), changes, opened: n('opened'), closed: n('closed'), predates: n('unchanged-open') };
}
/**
 * The same directory at the base commit, tested by `runBase` after the head's instance
 * is gone (one instance at a time: no port collisions, the runner's two cores not shared).
 * The base never decides the step: what fails is what the head does. A base that does not
 * start (a configuration the MTA refused then) leaves nothing to compare; the head's result stands.
 */
async function againstBase(head, configDir, ref, o) {
    const at = checkoutBase(configDir, ref, o.log, o.holdsConfig);
    if (at.status === 'new')
        return baseReport(at.commit, configDir, 'new');
    if (at.status === 'unavailable')
        return baseReport(at.commit, configDir, 'unavailable', [], at.warning);
    try {
        o.log?.(`testing the base configuration (commit ${at.commit.slice(0, 12)}) ${o.how}`);
        return compareRuns(at.commit, configDir, head, await o.runBase(at.dir));
    }
    catch (e) {
        if (!(e instanceof GateError))
            throw e;
        return baseReport(at.commit, configDir, 'unavailable', [], `base not compared: the configuration at commit ${at.commit.slice(0, 12)} does not start: ${e.message.replaceAll(at.dir, `${configDir}@${at.commit.slice(0, 12)}`)}`);
    }
    finally {
        at.remove();
    }
}

;// CONCATENATED MODULE: ./src/gate/effective.ts



/**
 * Gate mode: why a service relayed, read from the private instance's
 * *effective* configuration (postconf with defaults and `$name` expanded,
 * `postconf -P` for the service's master.cf overrides) rather than guessed
 * from the pattern of what relayed. The restriction lists of the service are
 * walked as smtpd walks them at RCPT TO (smtpd_delay_reject = yes, Postfix's
 * default: client, HELO, sender, relay, recipient), for the client address
 * the gate actually tested as, and the element that let the relay through
 * is named. Evaluation is pure; reading the instance and its maps is not.
 */
/** The lists smtpd applies at RCPT TO, in its order (postconf(5) smtpd_delay_reject). */
const RESTRICTION_LISTS = ['smtpd_client_restrictions', 'smtpd_helo_restrictions', 'smtpd_sender_restrictions', 'smtpd_relay_restrictions', 'smtpd_recipient_restrictions'];
const READ = [...RESTRICTION_LISTS, 'mynetworks', 'relay_domains', 'mydestination', 'smtpd_null_access_lookup_key'];
/** Elements that refuse a recipient outside the server's domains: what a relay list must reach. */
const RELAY_CHECKS = ['reject_unauth_destination', 'defer_unauth_destination'];
/** Elements that refuse whatever reaches them. */
const REFUSE_ALL = ['reject', 'defer', 'defer_all'];
/** Elements grouped with the table each check names: `check_sender_access hash:/x` is one. */
function elementGroups(value) {
    const out = [];
    for (const item of restrictionItems(value)) {
        const last = out[out.length - 1];
        if (last !== undefined && /^[a-z0-9_]+:/.test(item) && /^check_\w+_access$/.test(last.split(' ')[0]))
            out[out.length - 1] = `${last} ${item}`;
        else
            out.push(item);
    }
    return out;
}
function ipv4(a) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
    return m && m.slice(1).every((x) => Number(x) < 256) ? m.slice(1).reduce((n, x) => n * 256 + Number(x), 0) : null;
}
/** Whether one mynetworks entry (`net/len`, `[v6]/len`, an address) covers the client; IPv4 clients only, and the IPv6 "everyone" forms. */
function entryCovers(entry, client) {
    const e = entry.replace(/^\[|\]/g, '');
    if (/^(::|::ffff:0\.0\.0\.0|::ffff:0:0)\/(0|96)$/.test(e))
        return true;
    const [net, bits] = e.split('/');
    const n = ipv4(net);
    const c = ipv4(client);
    if (n === null || c === null)
        return false;
    const len = bits === undefined ? 32 : Number(bits);
    if (!Number.isInteger(len) || len < 0 || len > 32)
        return false;
    if (len === 0)
        return true;
    const mask = len >= 32 ? 0xffffffff : ~((1 << (32 - len)) - 1) >>> 0;
    return ((n & mask) >>> 0) === ((c & mask) >>> 0);
}
const listEntries = (value) => value.split(/[\s,]+/).filter(Boolean);
/** Keys smtpd looks up for an address in an access table (access(5)): the address, the domain and its parents, `user@`. */
function addressKeys(address, nullKey = '<>') {
    if (address === '')
        return [nullKey];
    const at = address.lastIndexOf('@');
    if (at < 0)
        return [address];
    const domain = address.slice(at + 1);
    const labels = domain.split('.');
    const parents = labels.slice(1, -1).map((_, i) => labels.slice(i + 1).join('.'));
    return [address, domain, ...parents.flatMap((p) => [p, `.${p}`]), address.slice(0, at + 1)];
}
/** Keys for a client address (access(5) "client address patterns"): the address, then its shorter octet prefixes. */
function clientKeys(client) {
    const parts = client.split('.');
    return parts.length === 4 ? [client, parts.slice(0, 3).join('.'), parts.slice(0, 2).join('.'), parts[0]] : [client];
}
function accessKeys(check, ctx, nullKey) {
    if (check === 'check_client_access')
        return clientKeys(ctx.client);
    if (check === 'check_helo_access')
        return ctx.helo ? addressKeys(ctx.helo).filter((k) => !k.endsWith('@')) : [];
    if (check === 'check_sender_access')
        return ctx.sender === null ? [] : addressKeys(ctx.sender, nullKey);
    if (check === 'check_recipient_access')
        return addressKeys(ctx.recipient);
    return [];
}
const domainOf = (address) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
/** Whether a domain list (relay_domains, mydestination, expanded) names the domain; a table in it is not read here. */
function domainListHas(value, domain, parentMatches = true) {
    return listEntries(value).some((e) => {
        const x = e.toLowerCase();
        return x === domain || (parentMatches && x.startsWith('.') ? domain.endsWith(x) : parentMatches && domain.endsWith(`.${x}`));
    });
}
function accessResult(value) {
    const v = value.trim().split(/\s+/)[0].toUpperCase();
    if (['OK', 'PERMIT', 'RELAY'].includes(v) || /^2\d\d$/.test(v))
        return 'permit';
    if (['REJECT', 'DEFER', 'DEFER_IF_PERMIT', 'DISCARD'].includes(v) || /^[45]\d\d$/.test(v))
        return 'refuse';
    if (['DUNNO', 'WARN', 'INFO', 'PREPEND', 'HOLD', 'FILTER', 'REDIRECT', 'BCC'].includes(v))
        return 'dunno';
    return 'unknown';
}
/** One element, for one attempt: permits, refuses, says nothing, or cannot be judged here. */
function step(list, element, eff, ctx, lookup) {
    // A check may name several tables (`check_recipient_access texthash:a texthash:b`): Postfix asks them in order.
    const [name, ...tables] = element.split(' ');
    if (name === 'permit')
        return { result: 'permit', cause: { kind: 'permit', list, element, detail: 'permit' } };
    if (REFUSE_ALL.includes(name))
        return { result: 'refuse' };
    if (name === 'permit_mynetworks') {
        const wide = listEntries(eff.get('mynetworks') ?? '').filter((e) => entryCovers(e, ctx.client));
        return wide.length > 0 ? { result: 'permit', cause: { kind: 'mynetworks', list, element, detail: wide.join(' ') } } : { result: 'dunno' };
    }
    if (RELAY_CHECKS.includes(name) || name === 'permit_auth_destination') {
        const d = domainOf(ctx.recipient);
        const local = domainListHas(eff.get('mydestination') ?? '', d, false);
        const relay = !local && domainListHas(eff.get('relay_domains') ?? '', d);
        if (relay)
            return { result: name === 'permit_auth_destination' ? 'permit' : 'dunno', cause: { kind: 'relay-domains', list, element, detail: d } };
        if (local)
            return { result: name === 'permit_auth_destination' ? 'permit' : 'dunno' };
        return { result: name === 'permit_auth_destination' ? 'dunno' : 'refuse' };
    }
    if (/^check_\w+_access$/.test(name) && tables.length > 0) {
        const keys = accessKeys(name, ctx, eff.get('smtpd_null_access_lookup_key') || '<>');
        if (keys.length === 0)
            return { result: 'unknown' };
        for (const table of tables) {
            const hit = lookup(table, keys);
            if (hit === 'error')
                return { result: 'unknown' };
            if (hit === 'none')
                continue;
            const result = accessResult(hit.value);
            return result === 'permit' ? { result, cause: { kind: 'access-map', list, element, detail: `${hit.key} ${hit.value}`, table } } : { result };
        }
        return { result: 'dunno' };
    }
    // Authentication, client certificates, DNS lists, MX checks: the gate's client has none of them.
    if (/^(permit_sasl_authenticated|permit_tls_clientcerts|permit_tls_all_clientcerts|permit_inet_interfaces|permit_mx_backup|permit_dnswl_client|permit_rhswl_client|check_\w+_(mx|ns|a)_access)$/.test(name))
        return { result: 'dunno' };
    if (/^(reject_|warn_if_reject|sleep$|defer_if_|check_policy_service)/.test(name))
        return { result: 'dunno' };
    return { result: 'unknown' };
}
/**
 * Why this attempt relayed on a service with these effective values: in the
 * relay and recipient lists that hold a relay check, the element that permitted
 * before it (or `relay_domains` naming the recipient's domain); when neither
 * list holds one, that. null when something on the way cannot be judged here (a
 * restriction class, a table that cannot be read), or when by this reading the
 * attempt should have been refused (then the pattern diagnosis speaks instead).
 */
function causeOf(eff, ctx, lookup) {
    const causes = [];
    let checked = false;
    for (const list of RESTRICTION_LISTS) {
        const groups = elementGroups(eff.get(list) ?? '');
        const relayList = list === 'smtpd_relay_restrictions' || list === 'smtpd_recipient_restrictions';
        let permitted;
        for (const g of groups) {
            const s = step(list, g, eff, ctx, lookup);
            if (s.result === 'unknown' || s.result === 'refuse')
                return null;
            if (s.cause?.kind === 'relay-domains' && !causes.some((c) => c.kind === 'relay-domains'))
                causes.push(s.cause);
            if (s.result === 'permit') {
                permitted = s.cause;
                break;
            }
        }
        if (!relayList || !groups.some((g) => RELAY_CHECKS.includes(g) || REFUSE_ALL.includes(g)))
            continue;
        checked = true;
        if (permitted && permitted.kind !== 'relay-domains')
            causes.push(permitted);
    }
    if (!checked)
        causes.push({ kind: 'no-relay-check', list: 'smtpd_relay_restrictions', element: '', detail: 'neither smtpd_relay_restrictions nor smtpd_recipient_restrictions reaches reject_unauth_destination' });
    return causes.length > 0 ? causes : null;
}
/** Reads the effective configuration of an instance's conf directory: main values, and per master.cf service the `-o` overrides. */
async function readEffective(conf) {
    const main = new Map();
    const postconf = async (args) => (await run_run('postconf', ['-c', conf, ...args], { timeout: 30_000 })).stdout;
    for (const line of (await postconf(['-x', ...READ])).split('\n')) {
        const m = /^([a-z0-9_]+) = ?(.*)$/.exec(line);
        if (m)
            main.set(m[1], m[2].trim());
    }
    const services = new Map();
    for (const line of (await postconf(['-P', '-x'])).split('\n')) {
        const m = /^(.+)\/inet\/([a-z0-9_]+) = ?(.*)$/.exec(line);
        if (!m)
            continue;
        const s = services.get(m[1]) ?? new Map();
        s.set(m[2], m[3].trim());
        services.set(m[1], s);
    }
    return { main, services };
}
/** The effective values of one service: its overrides over main. */
function serviceEffective(e, service) {
    return new Map([...e.main, ...(e.services.get(service) ?? new Map())]);
}
/** Access table lookups with postmap -q on the instance's own (built) tables; a failing table is "cannot be judged". */
function postmapLookup(conf) {
    // Every relayed attempt is read: the same table and key come up again and again.
    const seen = new Map();
    const one = (table, key) => {
        const id = `${table}\0${key}`;
        if (!seen.has(id)) {
            const r = (0,external_node_child_process_namespaceObject.spawnSync)('postmap', ['-c', conf, '-q', key, table], { encoding: 'utf8', timeout: 10_000 });
            seen.set(id, r.status === 0 ? (r.stdout.trim().split('\n')[0] ?? '') : r.status === 1 ? null : 'error');
        }
        return seen.get(id) ?? null;
    };
    return (table, keys) => {
        for (const key of keys) {
            const v = one(table, key);
            if (v === 'error')
                return 'error';
            if (v !== null)
                return { key, value: v };
        }
        return 'none';
    };
}

;// CONCATENATED MODULE: ./src/gate/fix.ts




const fix_RELAY_CHECKS = ['reject_unauth_destination', 'defer_unauth_destination'];
function mainParam(files, name) {
    return [...files.main].reverse().find((p) => p.name === name);
}
function optionLine(files, s, name) {
    const lines = files.masterText?.split(/\r?\n/) ?? [];
    for (let i = s.line - 1; i < lines.length; i++) {
        if (i > s.line - 1 && !/^\s/.test(lines[i]) && lines[i].trim() !== '' && !/^\s*#/.test(lines[i]))
            break;
        if (new RegExp(`-o\\s*\\{?\\s*${name}\\s*=`).test(lines[i]))
            return i + 1;
    }
    return s.line;
}
/**
 * The effective value of a parameter for a service: its `-o` override (one
 * `$name` reference followed into main.cf, as Debian's submission entry does),
 * else main.cf; undefined when neither sets it (Postfix's default applies).
 */
function settingFor(files, service, name) {
    const s = files.master?.find((m) => m.service === service && (m.command === 'smtpd' || m.command === 'postscreen'));
    const o = s ? serviceOverrides(s).find((x) => x.name === name) : undefined;
    if (s && o) {
        const ref = /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(o.value);
        const target = ref ? mainParam(files, ref[1]) : undefined;
        if (target)
            return { value: target.value, place: { file: 'main.cf', line: target.line, setting: target.name, value: target.value }, overrideName: target.name };
        return { value: o.value, place: { file: 'master.cf', line: optionLine(files, s, name), setting: `${s.service}/${s.type} -o ${name}`, value: o.value }, overrideName: `${s.service}/${s.type}/${name}` };
    }
    const p = mainParam(files, name);
    return p ? { value: p.value, place: { file: 'main.cf', line: p.line, setting: name, value: p.value }, overrideName: name } : undefined;
}
/** Restriction items grouped with their table arguments: `check_sender_access hash:/x` is one. */
function restrictionGroups(value) {
    const out = [];
    for (const item of restrictionItems(value)) {
        if (out.length > 0 && /^[a-z0-9_]+:/.test(item) && /^check_\w+_access$|^check_\w+_\w+_access$/.test(out[out.length - 1].split(' ')[0]))
            out[out.length - 1] += ` ${item}`;
        else
            out.push(item);
    }
    return out;
}
/** The list with the matching groups moved after the relay check (inserted when missing). */
function moveAfterRelayCheck(value, matches) {
    const groups = restrictionGroups(value);
    const check = groups.findIndex((g) => fix_RELAY_CHECKS.includes(g));
    const before = (check < 0 ? groups : groups.slice(0, check)).filter(matches);
    if (before.length === 0)
        return null;
    const rest = groups.filter((g) => !before.includes(g));
    const at = rest.findIndex((g) => fix_RELAY_CHECKS.includes(g));
    const withCheck = at < 0 ? [...rest, 'reject_unauth_destination'] : rest;
    const i = withCheck.findIndex((g) => fix_RELAY_CHECKS.includes(g));
    return [...withCheck.slice(0, i + 1), ...before, ...withCheck.slice(i + 1)].join(', ');
}
/** Whether a mynetworks entry covers the client the gate tested as (or every IPv6 client). */
function coversOutsider(entry, client = GATE_CLIENT_ADDRESS) {
    return entryCovers(entry, client);
}
/** The lines of a logical main.cf or master.cf line starting at `line`: it and its indented continuations. */
function logicalLines(text, line) {
    const lines = (text ?? '').split(/\r?\n/);
    const out = lines[line - 1] === undefined ? [] : [lines[line - 1]];
    for (let i = line; i < lines.length && /^\s+\S/.test(lines[i]) && !/^\s*#/.test(lines[i]) && !/^\s*-o\b/.test(lines[i]); i++)
        out.push(lines[i]);
    return out;
}
/** The edit that gives a setting a new value where it is written: the main.cf parameter, or the master.cf `-o` on its line. */
function editOf(files, place, name, after) {
    if (place.file === 'master.cf') {
        const text = (files.masterText ?? '').split(/\r?\n/)[place.line - 1] ?? '';
        const opt = name.split('/').pop() ?? name;
        const re = new RegExp(`-o\\s+(\\{\\s*${opt}\\s*=[^}]*\\}|${opt}=\\S*)`);
        const arg = masterArg(opt, after);
        const changed = re.test(text) ? text.replace(re, `-o ${arg}`) : `${text}\n  -o ${arg}`;
        return { file: 'master.cf', line: place.line, remove: [text], add: changed.split('\n') };
    }
    const remove = files.mainText ? logicalLines(files.mainText, place.line) : [`${place.setting} = ${place.value}`];
    const lead = /^(\S+?\s*=\s*)/.exec(remove[0] ?? '')?.[1] ?? `${name} = `;
    return { file: place.file, line: place.line, remove, add: [`${lead}${after}`] };
}
/** A new `-o` for a service that has none of that name: inserted after its master.cf entry's first line. */
function insertOption(files, service, name, value) {
    const head = (files.masterText ?? '').split(/\r?\n/)[service.line - 1] ?? '';
    return { file: 'master.cf', line: service.line, remove: [head], add: [head, `  -o ${masterArg(name, value)}`] };
}
/** An `-o` argument as master.cf entries are usually written: commas, no spaces (`-o mynetworks=127.0.0.0/8,[::1]/128`); braced only when it must be. */
function masterArg(name, value) {
    return value.includes('{') || value.includes('}') ? overrideArg(name, value) : `${name}=${value.trim().replace(/\s*,\s*|\s+/g, ',')}`;
}
/** Edits as a unified diff, one `---`/`+++` block per file, hunks in line order with their line numbers. */
function unifiedDiff(edits) {
    const out = [];
    for (const file of [...new Set(edits.map((e) => e.file))]) {
        out.push(`--- ${file}`, `+++ ${file}`);
        let shift = 0;
        for (const e of edits.filter((x) => x.file === file).sort((a, b) => a.line - b.line)) {
            const range = (start, n) => (n === 1 ? `${start}` : `${n === 0 ? start - 1 : start},${n}`);
            out.push(`@@ -${range(e.line, e.remove.length)} +${range(e.line + shift, e.add.length)} @@`);
            // Lines both sides keep (an entry's head when an option is inserted) are context.
            const common = e.remove.length > 0 && e.add[0] === e.remove[0] ? 1 : 0;
            for (let i = 0; i < common; i++)
                out.push(` ${e.remove[i]}`);
            for (const l of e.remove.slice(common))
                out.push(`-${l}`);
            for (const l of e.add.slice(common))
                out.push(`+${l}`);
            shift += e.add.length - e.remove.length;
        }
    }
    return out.join('\n');
}
function diffOf(files, place, name, after) {
    return unifiedDiff([editOf(files, place, name, after)]);
}
const ACCESS_OF = {
    'postfix-sender-access': { check: /^check_sender_access\b/, key: (d) => new RegExp(`^\\s*${d.replace(/\./g, '\\.')}\\s+OK\\b`, 'i') },
    'postfix-null-sender': { check: /^check_sender_access\b/, key: () => /^\s*<>\s+OK\b/i },
    'postfix-helo-access': { check: /^check_helo_access\b/, key: () => /^\s*\S+\s+(OK|PERMIT)\b/i },
    'postfix-role-accounts': { check: /^check_recipient_access\b/, key: () => /^\s*\S*(postmaster|abuse|hostmaster)\S*\s+OK\b/i },
};
/** The line of a map file (named by the group's table) that returns OK for what relayed. */
function mapPlace(files, group, key) {
    for (const table of group.split(' ').slice(1)) {
        const name = table.replace(/^[a-z0-9_]+:/, '');
        const map = files.mapText(name);
        if (!map)
            continue;
        const lines = map.text.split(/\r?\n/);
        const i = lines.findIndex((l) => key.test(l));
        if (i >= 0)
            return { file: map.file, line: i + 1, setting: `${map.file}: ${lines[i].trim().split(/\s+/)[0]}`, value: lines[i].trim() };
    }
    return null;
}
/** What to change for one finding of a diagnosis, on one service; null when relay-check cannot say. */
function proposeFix(rule, service, files, mydomain, client = GATE_CLIENT_ADDRESS) {
    const access = ACCESS_OF[rule];
    if (access) {
        for (const list of ['smtpd_relay_restrictions', 'smtpd_recipient_restrictions']) {
            const s = settingFor(files, service, list);
            if (!s)
                continue;
            const moved = moveAfterRelayCheck(s.value, (g) => access.check.test(g));
            if (moved === null)
                continue;
            const group = restrictionGroups(s.value).find((g) => access.check.test(g)) ?? '';
            const map = mapPlace(files, group, access.key(mydomain));
            return { rule, services: [service], places: [s.place, ...(map ? [map] : [])], overrides: [`${s.overrideName} = ${moved}`], diff: diffOf(files, s.place, list, moved) };
        }
        return null;
    }
    if (rule === 'postfix-no-relay-check' || rule === 'postfix-ipv6-mynetworks' || rule === 'postfix-service-override') {
        const nets = settingFor(files, service, 'mynetworks');
        const wide = nets ? nets.value.split(/[\s,]+/).filter(Boolean).filter((e) => coversOutsider(e, client)) : [];
        if (rule === 'postfix-service-override') {
            const name = `${service}/inet/smtpd_relay_restrictions`;
            const now = settingFor(files, service, 'smtpd_relay_restrictions');
            const place = nets && wide.length > 0 && nets.place.file === 'master.cf' ? nets.place : now?.place ?? nets?.place;
            if (!place)
                return null;
            const after = 'permit_sasl_authenticated, reject';
            const entry = files.master?.find((m) => m.service === service && m.type === 'inet');
            const own = now?.place.file === 'master.cf' ? now.place : undefined;
            const edit = own ? editOf(files, own, 'smtpd_relay_restrictions', after) : entry ? insertOption(files, entry, 'smtpd_relay_restrictions', after) : null;
            if (!edit)
                return null;
            return { rule, services: [service], places: [place], overrides: [`${name} = ${after}`], diff: unifiedDiff([edit]) };
        }
        if (nets && wide.length > 0) {
            const kept = nets.value.split(/[\s,]+/).filter(Boolean).filter((e) => !coversOutsider(e, client));
            const after = kept.length > 0 ? kept.join(', ') : '127.0.0.0/8, [::1]/128';
            return { rule, services: [service], places: [nets.place], overrides: [`${nets.overrideName} = ${after}`], diff: diffOf(files, nets.place, 'mynetworks', after) };
        }
        const list = settingFor(files, service, 'smtpd_relay_restrictions');
        if (list && !restrictionGroups(list.value).some((g) => fix_RELAY_CHECKS.includes(g))) {
            const after = `${restrictionGroups(list.value).filter((g) => g !== 'permit').join(', ')}, reject_unauth_destination`.replace(/^, /, '');
            return { rule, services: [service], places: [list.place], overrides: [`${list.overrideName} = ${after}`], diff: diffOf(files, list.place, 'smtpd_relay_restrictions', after) };
        }
    }
    return null;
}
/** The fixes a diagnosis proposes, one per finding and relaying service, in order. */
function proposeFixes(d, services, files, mydomain, client = GATE_CLIENT_ADDRESS) {
    const out = [];
    for (const f of d.findings) {
        for (const service of services) {
            const fix = proposeFix(f.rule, service, files, mydomain, client);
            const same = fix && out.find((x) => x.overrides.join('\n') === fix.overrides.join('\n'));
            if (same)
                same.services.push(service);
            else if (fix)
                out.push(fix);
        }
    }
    return out;
}

;// CONCATENATED MODULE: ./src/gate/cause.ts




/**
 * Gate mode: the cause of a service's relaying as the effective configuration
 * shows it (src/gate/effective.ts), placed on the line of the repository that
 * sets it, with the smallest change at that line.
 */
const cause_bare = (a) => (a === null ? null : a.replace(/^\s*<?|>?\s*$/g, ''));
/** The distinct causes of one service's relayed attempts (each attempt read as smtpd reads it). */
function serviceCauses(service, attempts, eff, client, lookup, files) {
    const out = [];
    for (const a of attempts.filter((x) => x.outcome === 'relayed')) {
        const recipient = cause_bare(a.rcptTo[a.rcptTo.length - 1] ?? null);
        if (!recipient)
            continue;
        const causes = causeOf(eff, { client, helo: a.helo, sender: cause_bare(a.mailFrom), recipient }, lookup);
        for (const c of causes ?? []) {
            const placed = placeCause(service, c, client, files, a.vector);
            if (!out.some((x) => x.kind === placed.kind && x.list === placed.list && x.element === placed.element))
                out.push(placed);
        }
    }
    return out;
}
function sentenceOf(raw, client) {
    // Configuration text goes inside `code`: a backtick in it would end the span early.
    const c = { ...raw, detail: raw.detail.replace(/`/g, "'"), element: raw.element.replace(/`/g, "'") };
    const list = `\`${c.list}\``;
    switch (c.kind) {
        case 'mynetworks':
            return loopbackClient(client)
                ? `\`mynetworks\` covers ${client} (\`${c.detail}\`), so \`permit_mynetworks\` in ${list} permits it before the relay check. ${client} is loopback, trusted by design (local programs submit through it): the relay is open only if outside clients arrive as ${client}, which is a forwarder in front of Postfix hiding their address.`
                : `\`mynetworks\` covers the outside client ${client} (\`${c.detail}\`), so \`permit_mynetworks\` in ${list} permits it before the relay check.`;
        case 'access-map':
            return `The access table entry \`${c.detail}\` (\`${c.element.split(' ')[0]}\` in ${list}) permits it before the relay check.`;
        case 'permit':
            return `\`permit\` in ${list} comes before the relay check: it permits every client.`;
        case 'relay-domains':
            return `\`relay_domains\` names ${c.detail}, the domain the relayed attempt was addressed to: Postfix relays to it for any client.`;
        case 'no-relay-check':
            return 'Neither `smtpd_relay_restrictions` nor `smtpd_recipient_restrictions` of this service reaches `reject_unauth_destination`.';
    }
}
/** The line of a map file whose key is the one that matched. */
function mapLine(files, table, key) {
    const name = table.replace(/^[a-z0-9_]+:/, '');
    for (const candidate of [name, `/etc/postfix/${external_node_path_default().basename(name)}`, external_node_path_default().basename(name)]) {
        const map = files.mapText(candidate);
        if (!map)
            continue;
        const lines = map.text.split(/\r?\n/);
        const i = lines.findIndex((l) => !/^\s*#/.test(l) && l.trim().split(/\s+/)[0]?.toLowerCase() === key.toLowerCase());
        if (i >= 0)
            return { file: map.file, line: i + 1, setting: `${map.file}: ${key}`, value: lines[i].trim() };
    }
    return null;
}
function placeCause(service, c, client, files, vector) {
    const base = { service, kind: c.kind, list: c.list, element: c.element, ...(c.table ? { table: c.table } : {}), client, sentence: sentenceOf(c, client), vector };
    const at = (name) => {
        const s = settingFor(files, service, name);
        return s ? [s.place] : [];
    };
    if (c.kind === 'mynetworks')
        return { ...base, places: at('mynetworks') };
    if (c.kind === 'relay-domains')
        return { ...base, places: at('relay_domains') };
    if (c.kind === 'access-map') {
        const key = c.detail.split(' ')[0];
        const s = settingFor(files, service, c.list);
        const group = s ? elementGroups(s.value).find((g) => sameCheck(g, c.element)) : undefined;
        const table = group ? (group.split(' ').slice(1).find((t) => sameTable(t, c.table ?? '')) ?? group.split(' ')[1] ?? '') : '';
        const map = group ? mapLine(files, table, key) : null;
        return { ...base, places: [...(s ? [s.place] : []), ...(map ? [map] : [])] };
    }
    return { ...base, places: at(c.list) };
}
/** The same table in the repository's text and in the instance (whose table paths are the instance's copies). */
const sameTable = (repo, instance) => external_node_path_default().basename(repo.replace(/^[a-z0-9_]+:/, '')) === external_node_path_default().basename(instance.replace(/^[a-z0-9_]+:/, ''));
/** The same access check in the repository's text and in the instance. */
function sameCheck(repo, instance) {
    const [a, ta = ''] = repo.split(' ');
    const [b, tb = ''] = instance.split(' ');
    return a === b && sameTable(ta, tb);
}
const isCheck = (g) => RELAY_CHECKS.includes(g);
/** A list with `remove` taken out before its relay check (or a `reject` that refuses everything), and a relay check appended when it has none. */
function withCheck(value, remove) {
    const stops = (g) => isCheck(g) || REFUSE_ALL.includes(g);
    const groups = elementGroups(value);
    const at = groups.findIndex(stops);
    const kept = groups.filter((g, i) => !(remove(g) && (at < 0 || i < at)));
    return (kept.some(stops) ? kept : [...kept, 'reject_unauth_destination']).join(', ');
}
/**
 * A list with the matching access check moved after the relay check. Of a check
 * that names several tables only the one that answered moves (the others keep
 * their place: a maintenance REJECT table must still come first).
 */
function moved(value, match, table) {
    const groups = elementGroups(value);
    const at = groups.findIndex(isCheck);
    if (at < 0)
        return null;
    const before = groups.slice(0, at).filter(match);
    if (before.length === 0)
        return null;
    const split = (g) => {
        const [check, ...tables] = g.split(' ');
        const hit = table === undefined ? undefined : tables.find((t) => sameTable(t, table));
        if (tables.length < 2 || hit === undefined)
            return { stay: null, go: g };
        return { stay: [check, ...tables.filter((t) => t !== hit)].join(' '), go: `${check} ${hit}` };
    };
    const rest = groups.flatMap((g) => (before.includes(g) ? (split(g).stay === null ? [] : [split(g).stay]) : [g]));
    const i = rest.findIndex(isCheck);
    return [...rest.slice(0, i + 1), ...before.map((g) => split(g).go), ...rest.slice(i + 1)].join(', ');
}
/** A `$name` standing for a whole element (a list kept in another parameter): the text at this line is not the list. */
const hasListReference = (value) => elementGroups(value).some((g) => g.startsWith('$'));
/**
 * Mail-in-a-Box #1586: a box behind LXC port forwarding saw every client as 127.0.0.1. Taking
 * loopback out of mynetworks there would cut off the box's own programs and still leave the
 * forwarder lying about every client: the fix belongs in front of Postfix, so none is proposed here.
 */
const loopbackClient = (client) => networkKind(client) === 'loopback';
const LOOPBACK_FIX = 'Keep the client\'s real address in front of Postfix: a port forward or proxy that re-originates connections from loopback (LXC proxy devices without `nat=true`, Docker\'s userland proxy, a TCP forwarder) makes every outside client look local; forward with the address kept (NAT, or the PROXY protocol with `smtpd_upstream_proxy_protocol`/`postscreen_upstream_proxy_protocol`). No main.cf change is proposed: loopback belongs in `mynetworks`.';
/**
 * The smallest change at the line that causes it: `mynetworks` narrowed to the
 * entries that do not cover the outside client (loopback when none is left),
 * the access check moved after the relay check, `permit` taken out, a relay
 * check added. null when the line cannot be changed as text (a table, a `$name`).
 */
function fixForCause(c, files) {
    if (c.kind === 'mynetworks' && loopbackClient(c.client))
        return null;
    const name = c.kind === 'mynetworks' ? 'mynetworks' : c.kind === 'relay-domains' ? null : c.list;
    if (name === null)
        return null;
    const s = settingFor(files, c.service, name);
    // A `$name` inside a table path (`texthash:$config_directory/x`) moves with its element unchanged; a `$name` that is itself
    // an element, or any in mynetworks (whose entries are matched as addresses here), cannot be edited as text.
    if (!s || hasListReference(s.value) || (name === 'mynetworks' && (s.value.includes('$') || /(^|[\s,])[a-z]+:\//.test(s.value))))
        return null;
    let after;
    if (c.kind === 'mynetworks') {
        const kept = listEntries(s.value).filter((e) => !entryCovers(e, c.client));
        after = (kept.length > 0 ? kept : ['127.0.0.0/8', '[::1]/128']).join(s.value.includes(',') ? ', ' : ' ');
    }
    else if (c.kind === 'access-map')
        after = moved(s.value, (g) => sameCheck(g, c.element), c.table);
    else if (c.kind === 'permit')
        after = withCheck(s.value, (g) => g === 'permit');
    else
        after = withCheck(s.value, () => false);
    if (after === null || after === s.value)
        return null;
    const edit = editOf(files, s.place, name, after);
    return { rule: causeRule(c), services: [c.service], places: c.places.length > 0 ? c.places : [s.place], overrides: [`${s.overrideName} = ${after}`], diff: unifiedDiff([edit]) };
}
/** The rule id a cause's finding and fix share (annotations pair them by it). */
const causeRule = (c) => `gate-cause-${c.kind}`;
const DOCS = {
    mynetworks: 'https://www.postfix.org/postconf.5.html#mynetworks',
    'access-map': 'https://www.postfix.org/SMTPD_ACCESS_README.html',
    permit: 'https://www.postfix.org/postconf.5.html#smtpd_relay_restrictions',
    'no-relay-check': 'https://www.postfix.org/postconf.5.html#smtpd_relay_restrictions',
    'relay-domains': 'https://www.postfix.org/postconf.5.html#relay_domains',
    'relay-hosts': 'https://www.exim.org/exim-html-current/doc/html/spec_html/ch-access_control_lists.html',
};
const FIX_TEXT = {
    mynetworks: 'List only the hosts that may relay in `mynetworks` (e.g. `127.0.0.0/8 [::1]/128`) on that line.',
    'access-map': 'Remove the `OK` entry, or move the check after `reject_unauth_destination`.',
    permit: 'Take `permit` out of the list before `reject_unauth_destination`.',
    'no-relay-check': 'End the list in `reject_unauth_destination` (after `permit_mynetworks, permit_sasl_authenticated`).',
    'relay-domains': 'List in `relay_domains` only the domains this server is a backup MX or gateway for.',
    'relay-hosts': 'List only the hosts that may relay in the `accept hosts = …` list (Exim `relay_from_hosts`, Debian `dc_relay_nets`).',
};
/**
 * Gate mode: the diagnosis with the causes the effective configuration showed in
 * place of the pattern table's guesses. The pattern (only some services relay, …)
 * stays the summary; the table's rows stay only for services with no cause found.
 */
function withCauses(d, causes, relaying) {
    if (causes.length === 0)
        return d;
    const findings = [];
    const seen = new Set();
    for (const c of causes) {
        const key = `${c.kind} ${c.places[0] ? `${c.places[0].file}:${c.places[0].line}` : c.list}`;
        if (seen.has(key))
            continue;
        seen.add(key);
        const on = [...new Set(causes.filter((x) => `${x.kind} ${x.places[0] ? `${x.places[0].file}:${x.places[0].line}` : x.list}` === key).map((x) => x.service))];
        const where = c.places[0] ? ` Set at \`${c.places[0].file}\` line ${c.places[0].line}.` : ' Set by a Postfix default.';
        findings.push({
            rule: causeRule(c),
            mta: 'Postfix',
            cause: `On ${on.join(', ')}: ${c.sentence}${where}`,
            settings: [...new Set([c.list, ...(c.kind === 'mynetworks' ? ['mynetworks'] : c.kind === 'relay-domains' ? ['relay_domains'] : [])])],
            fix: c.kind === 'mynetworks' && loopbackClient(c.client) ? LOOPBACK_FIX : FIX_TEXT[c.kind],
            docs: DOCS[c.kind],
            provenance: 'the private instance\'s effective configuration (postconf -x, postconf -P), its restriction lists walked as smtpd walks them at RCPT TO for the client address tested',
        });
    }
    const unexplained = relaying.some((s) => !causes.some((c) => c.service === s));
    return { ...d, findings: [...findings, ...(unexplained ? d.findings : [])], unmatched: null };
}

;// CONCATENATED MODULE: ./src/verdict/route-proof.ts
/**
 * Gate mode: an accepted attempt decided by where the private instance really
 * put its relay destination, not by the reply. The reply to RCPT cannot tell
 * local delivery from relaying (a catch-all domain takes `user%ext@domain` as
 * readily as its own mailboxes); the instance's log can. Where the log showed
 * nothing, the attempt stays as the reply and the controls decided it.
 */
/** Rules of an attempt whose relay destination was accepted at RCPT (or through DATA), whatever the controls then made of it. */
const ACCEPTED_RULES = new Set(['accepted', 'accepted-local', 'accepted-routed', 'accepted-not-routed', 'accepted-catch-all', 'accepted-control-undecided']);
function acceptedAttempt(a) {
    return a.rule !== null && ACCEPTED_RULES.has(a.rule);
}
const CLASS_TEXT = {
    default: 'the default transport (mail for a domain it is not final for)',
    relay: 'the relay transport (mail for relay_domains, which it passes on)',
    local: 'the local transport (a domain it is final for; what local(8) would do with it, aliases and .forward, is not run here)',
    virtual: 'the virtual mailbox transport (a domain it keeps mailboxes for)',
    bounced: 'no transport: it returned the message to the sender itself (status=bounced)',
};
/** The rule of an attempt the instance's log showed delivered locally: accepted, and no relay. */
const ROUTED_LOCAL = 'routed-local';
/** The attempt with its proof; decided by it where the log showed the class. */
function withRouteProof(a, proof) {
    if (proof.relays === null || proof.class === null)
        return { ...a, route: proof };
    const quoted = `Postfix's log: ${proof.line ?? ''}`;
    if (proof.relays) {
        return { ...a, route: proof, outcome: 'relayed', rule: 'routed-onward', reason: `accepted, and the private instance handed ${proof.recipient ?? 'it'} to ${CLASS_TEXT[proof.class]}: it relays. ${quoted}` };
    }
    const where = proof.class === 'bounced' ? CLASS_TEXT.bounced : `delivered ${proof.recipient ?? 'it'} to ${CLASS_TEXT[proof.class]}`;
    return { ...a, route: proof, outcome: 'skipped', rule: ROUTED_LOCAL, reason: `not a relay: accepted, and the private instance ${where}. ${quoted}` };
}

;// CONCATENATED MODULE: ./src/gate/prove.ts









/** The configuration's files as the fix finder reads them. */
function configFiles(configDir) {
    const read = (f) => (external_node_fs_default().existsSync(external_node_path_default().join(configDir, f)) ? external_node_fs_default().readFileSync(external_node_path_default().join(configDir, f), 'utf8') : null);
    const masterText = read('master.cf');
    const mainText = read('main.cf');
    return {
        main: parseMainCf(mainText ?? ''),
        mainText,
        master: masterText === null ? null : parseMasterCf(masterText),
        masterText,
        mapText: (name) => {
            // The configuration directory stands for /etc/postfix (as the sandbox maps it).
            const rel = name.startsWith('/etc/postfix/') ? name.slice('/etc/postfix/'.length) : name.startsWith('/') ? null : name;
            if (rel === null || rel.split('/').includes('..'))
                return null;
            const text = read(rel);
            return text === null ? null : { file: rel, text };
        },
    };
}
const serviceName = (label) => label?.replace(/ \(.*\)$/, '');
/** The fixes to prove: each cause's change where the effective configuration named one, else the diagnosis table's. */
function fixesFor(report, files, mydomain, client) {
    const relaying = [...new Set(report.targets.filter((t) => t.counts.relayed > 0).map((t) => serviceName(t.service)).filter((s) => s !== undefined))];
    const causes = report.gate?.causes ?? [];
    const out = [];
    const add = (fix) => {
        const same = out.find((x) => x.overrides.join('\n') === fix.overrides.join('\n'));
        if (same)
            same.services.push(...fix.services.filter((s) => !same.services.includes(s)));
        else
            out.push(fix);
    };
    for (const c of causes) {
        const fix = fixForCause(c, files);
        if (fix)
            add(fix);
    }
    const unexplained = relaying.filter((s) => !causes.some((c) => c.service === s));
    for (const fix of (report.diagnosis ?? []).flatMap((d) => proposeFixes(d, unexplained, files, mydomain, client)))
        add(fix);
    return out;
}
/** Condition 1: every re-run attempt on the fix's services denied; what was not, said. */
function deniedAll(again, mine, rerun) {
    const on = again.targets.filter(mine);
    const still = [...new Set(on.flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)))];
    // Where it ran: a plaintext attempt skipped because the service demands STARTTLS ran inside it.
    // Accepted but shown by the instance's log to be delivered locally (proof by routing) is no relay either.
    const local = (a) => a.outcome === 'skipped' && a.rule === ROUTED_LOCAL;
    const ran = (v) => on.flatMap((t) => t.attempts.filter((a) => a.vector === v && (a.outcome !== 'skipped' || local(a))));
    const notDenied = rerun.filter((v) => !still.includes(v) && (ran(v).length === 0 || ran(v).some((a) => a.outcome !== 'denied' && !local(a))));
    const why = [];
    if (notDenied.length > 0) {
        why.push(`${notDenied.length} of the ${rerun.length} attempt(s) that relayed were not denied on the fixed copy (not run or inconclusive: ${notDenied.slice(0, 5).join(', ')}${notDenied.length > 5 ? ', …' : ''})`);
    }
    return { still, why };
}
const bareBox = (m) => m.replace(/^<|>$/g, '');
/**
 * Condition 2: every service still takes, from the outside client, the own-domain
 * mailboxes it took before: the engine's positive control (postmaster@ the domain,
 * and input local-recipient; RCPT only) on the same service and transport. Port 25
 * whose control was not decided before cannot be shown to stay open for mail.
 */
function ownMailKept(before, after) {
    const rows = [];
    const why = [];
    for (const t of before.targets) {
        const u = after.targets.find((x) => x.service === t.service && x.transport === t.transport);
        const label = `${t.service ?? t.port} (${t.transport})`;
        const control = t.positiveControl;
        // A submission service (AUTH offered, not the MX) that took the outsider's mail only because it
        // relayed for it: refusing that client on the fixed copy is the fix, not a deaf server.
        if (t.counts.relayed > 0 && offersAuth(t) && !isMx(before, t))
            continue;
        if (control?.accepted !== true) {
            // Refused before as well (a submission port): nothing to keep.
            if (control?.accepted === false)
                continue;
            if (u?.positiveControl?.accepted === false)
                why.push(`${label} refuses its own domain's mail from an outside client on the fixed copy, and whether it took it before is not known`);
            else if (/ \(25\)$/.test(t.service ?? ''))
                why.push(`whether ${label} takes its own domain's mail from an outside client is not known (${control?.note ?? 'no positive control'}), so the fix cannot be shown to keep it`);
            continue;
        }
        for (const p of control.probes.filter((x) => x.accepted === true)) {
            const q = u?.positiveControl?.probes.find((x) => x.mailbox === p.mailbox);
            rows.push({ service: serviceName(t.service) ?? String(t.port), mailbox: bareBox(p.mailbox), before: true, after: q?.accepted ?? null, reply: q?.reply ?? u?.positiveControl?.note ?? null });
            if (q?.accepted !== true)
                why.push(`${label} no longer accepts ${bareBox(p.mailbox)} from an outside client${q?.reply ? ` (${q.reply})` : ': not asked on the fixed copy'}`);
        }
    }
    // One row per service and mailbox: accepted after only where every transport still accepts it.
    const merged = new Map();
    for (const r of rows) {
        const k = `${r.service} ${r.mailbox}`;
        const m = merged.get(k);
        merged.set(k, m ? { ...m, after: m.after === true && r.after === true ? true : m.after === false || r.after === false ? false : null, reply: m.after === true ? r.reply : m.reply } : r);
    }
    return { rows: [...merged.values()], why: [...new Set(why)] };
}
const offersAuth = (t) => t.extensions.some((e) => /^AUTH\b/i.test(e));
/** The service that receives the domain's mail: port 25 in master.cf, the `smtp` service, or postscreen in front of an smtpd. */
function isMx(report, t) {
    const name = serviceName(t.service);
    const s = report.gate?.services.find((x) => x.name === name);
    return name === 'smtp' || / \(25\)$/.test(t.service ?? '') || s?.command === 'postscreen' || /(^|:)25$/.test(s?.original ?? '');
}
/** Condition 3: every service and transport that offered AUTH still offers it. */
function authKept(before, after) {
    const auth = offersAuth;
    return before.targets
        .filter(auth)
        .filter((t) => !after.targets.some((u) => u.service === t.service && u.transport === t.transport && auth(u)))
        .map((t) => `${t.service ?? t.port} (${t.transport}) no longer offers AUTH`);
}
/**
 * Proves each fix: the same configuration with the fix as extra
 * postfix-overrides, on a new private instance, running only the vectors that
 * relayed (each target asks its positive control too). `rerunGate` runs one
 * fixed copy (gate.ts runFixedCopy).
 */
async function proveFixes(settings, report, mydomain, services, rerunGate) {
    const configDir = settings.postfixConfig;
    if (configDir === undefined)
        return [];
    const files = configFiles(configDir);
    const out = [];
    for (const fix of fixesFor(report, files, mydomain, settings.clientAddress ?? GATE_CLIENT_ADDRESS))
        out.push(await proveFix(settings, report, fix, services, rerunGate));
    return out;
}
/** One proposed change on a fixed copy, judged by the three conditions (see VerifiedFix.verified). */
async function proveFix(settings, report, fix, services, rerunGate) {
    const mine = (t) => fix.services.includes(serviceName(t.service) ?? '');
    const rerun = [...new Set(report.targets.filter(mine).flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)))];
    const dir = external_node_fs_default().mkdtempSync(external_node_path_default().join(external_node_os_default().tmpdir(), 'relay-check-fix-'));
    try {
        const file = external_node_path_default().join(dir, 'overrides.cf');
        const before = settings.postfixOverrides ? external_node_fs_default().readFileSync(settings.postfixOverrides, 'utf8').replace(/\n?$/, '\n') : '';
        // Later lines win: the fix goes after the team's own overrides.
        external_node_fs_default().writeFileSync(file, `${before}${fix.overrides.join('\n')}\n`);
        const vectors = (services.vectors ?? VECTORS).filter((v) => rerun.includes(v.id));
        const again = await rerunGate({ ...settings, postfixOverrides: file }, { ...services, vectors, onTarget: undefined });
        const ran = again.targets.some((t) => mine(t) && t.counts.tests > 0);
        const denied = deniedAll(again, mine, rerun);
        const own = ownMailKept(report, again);
        const why = [...denied.why, ...own.why, ...authKept(report, again)];
        const error = ran ? null : `the fixed copy could not be tested: ${again.targets.find(mine)?.error ?? 'no attempt ran'}`;
        return { ...fix, rerun, stillRelayed: denied.still, verified: ran && denied.still.length === 0 && why.length === 0, error, notVerified: why, ownMail: own.rows };
    }
    catch (e) {
        return { ...fix, rerun, stillRelayed: [], verified: false, error: `the fixed copy did not start: ${e instanceof Error ? e.message : String(e)}` };
    }
    finally {
        external_node_fs_default().rmSync(dir, { recursive: true, force: true });
    }
}

;// CONCATENATED MODULE: ./src/gate/exim/cause.ts
/** The last run of `acl` at top level that ended in ACCEPT, statement by statement; null when there is none. */
function acceptedRun(commentary, acl) {
    const end = commentary.findLastIndex((l) => l === `>>> end of ACL "${acl}": ACCEPT`);
    if (end < 0)
        return null;
    const start = commentary.slice(0, end).findLastIndex((l) => l === `>>> using ACL "${acl}"`);
    if (start < 0)
        return null;
    const out = [];
    for (const l of commentary.slice(start + 1, end)) {
        // Top level only: a nested ACL's lines are indented.
        if (!/^>>> \S/.test(l))
            continue;
        const p = /^>>> processing "(\w+)" \(.* (\d+)\)$/.exec(l);
        if (p) {
            out.push({ verb: p[1], line: Number(p[2]), checks: [], succeeded: false });
            continue;
        }
        const cur = out.at(-1);
        if (!cur)
            continue;
        const check = /^>>> check (.*)$/.exec(l);
        if (check)
            cur.checks.push({ condition: check[1], matched: null, list: null });
        const m = /^>>> .* in "(.*)"\? yes \(matched "(.*?)"(?: - cached)?\)$/.exec(l);
        const last = cur.checks.at(-1);
        if (m && last) {
            // Exim reports the item that matched, then each named list (`+relay_from_hosts`) that held it.
            if (m[2].startsWith('+'))
                last.list = m[2].slice(1);
            else
                last.matched ??= m[2];
        }
        if (/^>>> \w+: condition test succeeded in ACL /.test(l))
            cur.succeeded = true;
    }
    return out;
}
/** The cause of one relayed attempt, from its replayed session's commentary. */
function eximCause(i) {
    const run = acceptedRun(i.commentary, i.acl);
    const accepted = run?.filter((s) => s.verb === 'accept' && s.succeeded).at(-1);
    if (!run || !accepted)
        return null;
    const at = (line, setting) => {
        const r = i.lines[line - 1]?.repo;
        return r?.file && r.line !== null ? [{ file: r.file, line: r.line, setting, value: i.lines[line - 1].text.trim() }] : [];
    };
    const statement = `${i.acl}: accept`;
    const base = { service: i.service, client: i.client, vector: i.vector };
    const hosts = accepted.checks.find((c) => /^hosts\s*=/.test(c.condition) && (c.matched !== null || c.list !== null));
    if (hosts) {
        const list = hosts.list ?? hosts.condition.replace(/^hosts\s*=\s*/, '');
        // A list matched before in the session says only "- cached": the item is in its first match.
        const element = hosts.matched ?? firstHostMatch(i.commentary) ?? `+${list}`;
        const named = hosts.list !== null ? [...definition(i.lines, 'hostlist', hosts.list), ...ue4ccLine(i.ue4cc, hosts.list === 'relay_from_hosts' ? 'dc_relay_nets' : null)] : [];
        const all = element === '*' || /^(0\.0\.0\.0\/0|::\/0)$/.test(element);
        return {
            ...base,
            kind: 'relay-hosts',
            list,
            element,
            sentence: `the RCPT ACL \`${i.acl}\` accepts at \`accept ${hosts.condition}\`: the client ${i.client} is in it (matched \`${element}\`${hosts.list !== null ? ` in \`${hosts.list}\`` : ''})${all ? ', which matches every client' : ''}, before any check of the recipient's domain`,
            // The value that matched first: Debian's dc_relay_nets, else the list's definition, else the statement.
            places: [...named.reverse(), ...at(accepted.line, statement)],
        };
    }
    const domains = run.find((s) => s.succeeded && s.checks.some((c) => /^domains\s*=/.test(c.condition) && c.list === 'relay_to_domains'));
    if (domains) {
        const check = domains.checks.find((c) => c.list === 'relay_to_domains');
        return {
            ...base,
            kind: 'relay-domains',
            list: 'relay_to_domains',
            element: check?.matched ?? '',
            sentence: `the recipient's domain is in \`relay_to_domains\` (matched \`${check?.matched ?? ''}\`)${check?.matched === '*' ? ', which is every domain' : ''}: \`${i.acl}\` lets it through \`${domains.verb} ${check?.condition ?? ''}\``,
            places: [...ue4ccLine(i.ue4cc, 'dc_relay_domains'), ...definition(i.lines, 'domainlist', 'relay_to_domains'), ...at(domains.line, `${i.acl}: ${domains.verb}`)],
        };
    }
    return {
        ...base,
        kind: 'no-relay-check',
        list: i.acl,
        element: 'accept',
        sentence: `the RCPT ACL \`${i.acl}\` accepts the outside recipient at this \`accept\` without requiring \`domains = +local_domains : +relay_to_domains\` first`,
        places: at(accepted.line, statement),
    };
}
function firstHostMatch(commentary) {
    for (const l of commentary) {
        const m = /^>>> host in ".*"\? yes \(matched "([^+"][^"]*)"\)$/.exec(l);
        if (m)
            return m[1];
    }
    return null;
}
/** Where a named list is defined (`hostlist relay_from_hosts = …`), at its repository line. */
function definition(lines, type, name) {
    const re = new RegExp(`^\\s*(?:hide\\s+)?${type}\\s+${name}\\s*=`);
    const hit = lines.find((l) => re.test(l.text) && l.repo?.file && l.repo.line !== null);
    return hit?.repo?.file && hit.repo.line !== null ? [{ file: hit.repo.file, line: hit.repo.line, setting: `${type} ${name}`, value: hit.text.trim() }] : [];
}
/** Debian's setting behind a list (dc_relay_nets for relay_from_hosts), at its line of update-exim4.conf.conf. */
function ue4ccLine(ue4cc, name) {
    if (!ue4cc || name === null)
        return [];
    const k = ue4cc.findIndex((l) => new RegExp(`^\\s*${name}=`).test(l));
    return k < 0 ? [] : [{ file: 'update-exim4.conf.conf', line: k + 1, setting: name, value: ue4cc[k].trim() }];
}
const EXIM_ACL_DOC = 'https://www.exim.org/exim-html-current/doc/html/spec_html/ch-access_control_lists.html';
const EXIM_FIX = {
    'relay-hosts': (c) => {
        if (c.places[0]?.setting === 'dc_relay_nets')
            return 'List in `dc_relay_nets` only the networks that may relay (empty: only localhost), then `update-exim4.conf`.';
        if (/^[\w-]+$/.test(c.list))
            return `List in \`${c.list}\` only the hosts that may relay; \`${c.element}\` takes in more.`;
        return `Narrow that \`hosts =\` list to the hosts that may relay: \`${c.element}\` takes in more.`;
    },
    'relay-domains': (c) => (c.places[0]?.setting === 'dc_relay_domains' ? 'List in `dc_relay_domains` only the domains this server is a backup MX or gateway for (never `*`).' : 'List in `relay_to_domains` only the domains this server is a backup MX or gateway for (never `*`).'),
    'no-relay-check': () => 'Before that `accept`, `require domains = +local_domains : +relay_to_domains` (Exim\'s default configuration has it after `accept hosts = +relay_from_hosts` and `accept authenticated = *`).',
};
/** The diagnosis findings an Exim gate's causes make: one per place, in place of the pattern table's guesses. */
function eximFindings(causes) {
    const seen = new Set();
    return causes.flatMap((c) => {
        const key = `${c.kind} ${c.places[0] ? `${c.places[0].file}:${c.places[0].line}` : c.list}`;
        if (seen.has(key) || c.kind === 'mynetworks' || c.kind === 'access-map' || c.kind === 'permit')
            return [];
        seen.add(key);
        const where = c.places[0] ? ` Set at \`${c.places[0].file}\` line ${c.places[0].line}.` : '';
        return [
            {
                rule: `gate-cause-${c.kind}`,
                mta: 'Exim',
                cause: `On ${c.service}: ${c.sentence}.${where}`,
                settings: [...new Set([c.list, ...c.places.map((p) => p.setting)])],
                fix: EXIM_FIX[c.kind](c),
                docs: EXIM_ACL_DOC,
                provenance: "Exim's own account of the RCPT ACL run that accepted the relayed recipient (host checking, exim -bh, replayed for that attempt), each statement at its line of the repository",
            },
        ];
    });
}

;// CONCATENATED MODULE: ./src/gate/exim/config.ts



/** A line of update-exim4.conf.conf the gate will not pass to a shell, or a form it cannot read. */
class EximConfigError extends Error {
    problems;
    constructor(message, problems = []) {
        super(message);
        this.problems = problems;
        this.name = 'EximConfigError';
    }
}
const PLAIN_NAMES = ['configure', 'exim.conf', 'exim4.conf'];
const UE4CC = 'update-exim4.conf.conf';
const config_CMD_TIMEOUT_MS = 30_000;
/** Which form the directory holds, or null. */
function eximForm(dir) {
    for (const name of PLAIN_NAMES)
        if (isFile(external_node_path_default().join(dir, name)))
            return { form: 'configure', file: name };
    if (!isFile(external_node_path_default().join(dir, UE4CC)))
        return null;
    const split = /^\s*dc_use_split_config\s*=\s*['"]?true['"]?\s*$/im.test(external_node_fs_default().readFileSync(external_node_path_default().join(dir, UE4CC), 'utf8'));
    return { form: split ? 'split' : 'template', file: UE4CC };
}
/** Whether a directory's file list (as git lists it) holds a form the gate reads. */
function holdsEximConfig(paths) {
    return paths.some((p) => PLAIN_NAMES.includes(p) || p === UE4CC);
}
/** How deep the link check looks into the directory (conf.d/SECTION/FILE is two levels). */
const MAX_DEPTH = 4;
/**
 * A symbolic link in the directory that leads out of it is refused: Debian's script
 * (run by the gate's user) and the gate would read the runner's file through it, and
 * Exim's error messages could quote it into the report.
 */
function refuseOutsideLinks(dir, at = dir, depth = 0) {
    const root = external_node_fs_default().realpathSync(dir);
    for (const e of external_node_fs_default().readdirSync(at, { withFileTypes: true })) {
        const p = external_node_path_default().join(at, e.name);
        if (e.name.startsWith('.git'))
            continue;
        if (e.isSymbolicLink()) {
            let real = '';
            try {
                real = external_node_fs_default().realpathSync(p);
            }
            catch {
                // A dangling link reads nothing.
                continue;
            }
            if (real !== root && !real.startsWith(`${root}${(external_node_path_default()).sep}`))
                throw new EximConfigError(`${external_node_path_default().relative(dir, p)} is a link out of the directory (to ${real}): refused`, [{ file: external_node_path_default().relative(dir, p), line: null, change: 'a symbolic link out of the configuration directory: the gate reads only the directory' }]);
        }
        else if (e.isDirectory() && depth < MAX_DEPTH)
            refuseOutsideLinks(dir, p, depth + 1);
    }
}
function isFile(p) {
    try {
        return external_node_fs_default().statSync(p).isFile();
    }
    catch {
        return false;
    }
}
/** Debian's check_ascii_pipe keeps these characters in a value; the gate refuses any other (no quote, `$`, backtick or backslash reaches the shell). */
const SAFE_VALUE = /^[-0-9A-Za-z/.!*@_~:;<> [\]]*$/;
const ASSIGNMENT = /^\s*(dc_[a-z0-9_]+|CFILEMODE|ue4c_keepcomments)=(?:'([^']*)'|"([^"$`\\]*)"|([^\s'"$`\\;&|()<>]*))\s*$/;
/** update-exim4.conf.conf as plain assignments the shell can only assign; refused lines with their numbers. */
function safeUe4cc(text) {
    const out = [];
    const refused = [];
    text.split('\n').forEach((raw, i) => {
        if (/^\s*(#.*)?$/.test(raw))
            return;
        const m = ASSIGNMENT.exec(raw);
        const value = m ? (m[2] ?? m[3] ?? m[4] ?? '') : undefined;
        if (!m || value === undefined || !SAFE_VALUE.test(value)) {
            // Only Debian's own names: any other (PATH, IFS, the script's own variables) would steer the script that sources the file.
            refused.push({ line: i + 1, change: "not a plain dc_…='value' line (or CFILEMODE, ue4c_keepcomments): update-exim4.conf runs this file as a shell script, so the gate passes on only Debian's settings with plain values" });
            return;
        }
        out.push(`${m[1]}='${value}'`);
    });
    return { text: `${out.join('\n')}\n`, refused };
}
/** Reads the directory's configuration (running Debian's script into `work` for its forms). */
async function readEximSource(dir, work, eximRoot) {
    const found = eximForm(dir);
    if (found === null)
        throw new EximConfigError(`no Exim configuration in ${dir}: expected a plain ${PLAIN_NAMES.map((n) => `\`${n}\``).join(', ')} file, or Debian's update-exim4.conf.conf with exim4.conf.template or conf.d/`);
    refuseOutsideLinks(dir);
    if (found.form === 'configure') {
        const lines = external_node_fs_default().readFileSync(external_node_path_default().join(dir, found.file), 'utf8').split('\n');
        return { form: 'configure', lines: lines.map((text, i) => ({ text, file: found.file, line: i + 1 })), changes: [] };
    }
    return debianSource(dir, work, eximRoot, found.form);
}
async function debianSource(dir, work, eximRoot, form) {
    const ue = safeUe4cc(external_node_fs_default().readFileSync(external_node_path_default().join(dir, UE4CC), 'utf8'));
    if (ue.refused.length > 0)
        throw new EximConfigError(`${UE4CC} has lines the gate will not pass to a shell`, ue.refused.map((r) => ({ file: UE4CC, ...r })));
    const conf = external_node_path_default().join(work, 'debian');
    // The whole directory: Debian's configuration reads its own files there (CONFDIR/local_host_blacklist, …).
    external_node_fs_default().cpSync(dir, conf, { recursive: true, verbatimSymlinks: true, filter: (src) => !external_node_path_default().basename(src).startsWith('.git') });
    external_node_fs_default().writeFileSync(external_node_path_default().join(conf, UE4CC), ue.text);
    const changes = [];
    if (form === 'split') {
        if (!external_node_fs_default().existsSync(external_node_path_default().join(dir, 'conf.d')))
            throw new EximConfigError(`${UE4CC} sets dc_use_split_config='true' but there is no conf.d/ beside it`, [{ file: UE4CC, line: null, change: 'no conf.d/' }]);
        external_node_fs_default().cpSync(external_node_path_default().join(dir, 'conf.d'), external_node_path_default().join(conf, 'conf.d'), { recursive: true, dereference: false, verbatimSymlinks: true });
    }
    else {
        if (!isFile(external_node_path_default().join(dir, 'exim4.conf.template')))
            throw new EximConfigError(`${UE4CC} selects the unsplit configuration but there is no exim4.conf.template beside it`, [{ file: UE4CC, line: null, change: 'no exim4.conf.template' }]);
        external_node_fs_default().copyFileSync(external_node_path_default().join(dir, 'exim4.conf.template'), external_node_path_default().join(conf, 'exim4.conf.template'));
    }
    if (isFile(external_node_path_default().join(dir, 'exim4.conf.localmacros')))
        external_node_fs_default().copyFileSync(external_node_path_default().join(dir, 'exim4.conf.localmacros'), external_node_path_default().join(conf, 'exim4.conf.localmacros'));
    const mailname = isFile(external_node_path_default().join(dir, 'mailname')) ? external_node_fs_default().readFileSync(external_node_path_default().join(dir, 'mailname'), 'utf8') : 'relay-check.invalid\n';
    if (!isFile(external_node_path_default().join(dir, 'mailname')))
        changes.push({ file: UE4CC, line: null, subject: '/etc/mailname', change: 'the directory has no `mailname`: relay-check.invalid stands in for /etc/mailname' });
    external_node_fs_default().writeFileSync(external_node_path_default().join(conf, 'mailname'), mailname);
    const out = external_node_path_default().join(work, 'exim4.conf.generated');
    await generate(conf, out, eximRoot);
    const generated = external_node_fs_default().readFileSync(out, 'utf8').split('\n');
    const first = /^[-A-Za-z0-9.]+/.exec(mailname.trim())?.[0].toLowerCase();
    changes.push({ file: UE4CC, line: null, subject: 'CONFDIR', change: 'a private copy of the directory stands in for /etc/exim4 (the files Debian\'s configuration reads there, such as local_host_blacklist, are the directory\'s)' });
    return { form, lines: traceLines(generated, form === 'split' ? splitChunks(generated, conf) : templateChunks(dir)), changes, confdir: conf, ...(first ? { mailname: first } : {}) };
}
/** Debian's update-exim4.conf, its fixed paths pointed at `conf`, writing `out`. */
async function generate(conf, out, eximRoot) {
    const original = external_node_path_default().join(eximRoot, 'usr/sbin/update-exim4.conf');
    if (!isFile(original))
        throw new EximConfigError(`Debian's update-exim4.conf is not at ${original} (part of the exim4-config package)`);
    const script = external_node_fs_default().readFileSync(original, 'utf8')
        .replaceAll('/etc/mailname', external_node_path_default().join(conf, 'mailname'))
        .replaceAll('/etc/exim4/exim4.conf.localmacros', external_node_path_default().join(conf, 'exim4.conf.localmacros'))
        .replaceAll('/etc/exim4/exim4.conf', external_node_path_default().join(conf, 'no-exim4.conf'))
        // As root it would give the file to the group Debian-exim, which a runner may not have.
        .replace('if [ "$(id -u)" = "0" ]; then', 'if false; then');
    const copy = external_node_path_default().join(conf, '..', 'update-exim4.conf');
    external_node_fs_default().writeFileSync(copy, script, { mode: 0o700 });
    // No environment of the runner's: the script's commands are the system's.
    const r = await run_run('env', ['-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'sh', copy, '--keepcomments', '-d', conf, '-o', out], { timeout: config_CMD_TIMEOUT_MS });
    if (r.status !== 0)
        throw new EximConfigError(`Debian's update-exim4.conf could not generate the configuration: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop() ?? ''}`);
}
/** The split form: each conf.d file follows its `### /…/conf.d/SECTION/FILE` header. */
function splitChunks(generated, conf) {
    const chunks = [];
    generated.forEach((l, i) => {
        const m = /^### (\/.*)$/.exec(l);
        if (!m || !m[1].startsWith(`${conf}/conf.d/`))
            return;
        const rel = external_node_path_default().relative(conf, m[1]);
        chunks.push({ file: rel, lines: external_node_fs_default().readFileSync(m[1], 'utf8').split('\n'), from: i + 1 });
    });
    return chunks;
}
/** The unsplit form: exim4.conf.localmacros (when there is one), then exim4.conf.template. */
function templateChunks(dir) {
    return ['exim4.conf.localmacros', 'exim4.conf.template'].filter((f) => isFile(external_node_path_default().join(dir, f))).map((file) => ({ file, lines: external_node_fs_default().readFileSync(external_node_path_default().join(dir, file), 'utf8').split('\n'), from: 0 }));
}
/**
 * Each generated line with the repository line it is a copy of. The script only copies
 * files in order and adds lines (its header, the macros after `UPEX4CmacrosUPEX4C`, the
 * `###` markers), so each source line is found at or after the previous one's place.
 */
function traceLines(generated, chunks) {
    const out = generated.map((text) => ({ text, file: null, line: null }));
    let at = 0;
    for (const c of chunks) {
        at = Math.max(at, c.from);
        c.lines.forEach((text, k) => {
            for (let j = at; j < generated.length; j++) {
                if (generated[j] !== text)
                    continue;
                out[j] = { text, file: c.file, line: k + 1 };
                at = j + 1;
                return;
            }
        });
    }
    return out;
}

;// CONCATENATED MODULE: ./src/gate/exim/fix.ts


/** How far below an ACL statement's verb its conditions are looked for. */
const STATEMENT_LINES = 8;
const fix_escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `text` with `element` taken out of the list it is in, with one separator; null when it is not there as a list item. */
function withoutItem(text, element) {
    const item = fix_escape(element);
    // An item stands between the start of the value ('=', a quote, `<;`) or a separator, and a separator or the end.
    const re = new RegExp(`(\\s*[:;]\\s*)${item}(?=\\s*(?:[:;'"]|$))|([='"]\\s*(?:<;\\s*)?)${item}\\s*(?:[:;]\\s*)?(?=\\S|$)`);
    const m = re.exec(text);
    if (!m)
        return null;
    return text.slice(0, m.index) + (m[2] ?? '') + text.slice(m.index + m[0].length);
}
/** The one-line edit that takes the matched item out, on the first line of the cause that holds it. */
function editFor(c, read) {
    if (c.kind !== 'relay-hosts' && c.kind !== 'relay-domains')
        return null;
    if (c.element === '' || c.element.startsWith('+'))
        return null;
    const candidates = [];
    for (const p of c.places) {
        candidates.push({ file: p.file, line: p.line });
        // An ACL statement's conditions follow its verb on the next lines (Debian's style).
        if (/: (accept|require)$/.test(p.setting))
            for (let k = 1; k <= STATEMENT_LINES; k++)
                candidates.push({ file: p.file, line: p.line + k });
    }
    for (const at of candidates) {
        const text = read(at.file)?.[at.line - 1];
        if (text === undefined || !/=/.test(text))
            continue;
        const after = withoutItem(text, c.element);
        if (after !== null)
            return { file: at.file, line: at.line, before: text, after };
    }
    return null;
}
/** The proposal for a cause, in the shape the Postfix gate proves (no postfix-overrides: the edit is the change). */
function eximFix(c, configDir) {
    const edit = editFor(c, (file) => {
        const p = external_node_path_default().join(configDir, file);
        return external_node_fs_default().existsSync(p) ? external_node_fs_default().readFileSync(p, 'utf8').split('\n') : null;
    });
    if (edit === null)
        return null;
    const diff = [`--- ${edit.file}`, `+++ ${edit.file}`, `@@ -${edit.line} +${edit.line} @@`, `-${edit.before}`, `+${edit.after}`].join('\n');
    return {
        fix: { rule: `gate-cause-${c.kind}`, services: [c.service.replace(/ \(.*\)$/, '')], places: c.places.filter((p) => p.file === edit.file && p.line === edit.line).concat(c.places.filter((p) => !(p.file === edit.file && p.line === edit.line))), overrides: [], diff },
        edit,
    };
}
/** A copy of the configuration directory with the edit made. */
function applyEdit(configDir, to, edit) {
    external_node_fs_default().cpSync(configDir, to, { recursive: true, verbatimSymlinks: true });
    const file = external_node_path_default().join(to, edit.file);
    const lines = external_node_fs_default().readFileSync(file, 'utf8').split('\n');
    lines[edit.line - 1] = edit.after;
    external_node_fs_default().writeFileSync(file, lines.join('\n'));
}

;// CONCATENATED MODULE: external "node:url"
const external_node_url_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");
;// CONCATENATED MODULE: ./src/gate/exim/host-check.ts


/**
 * Exim's host-checking mode (`exim -bh ADDRESS`, the Exim specification's "-bh" and
 * `exim_checkaccess`) behind a loopback listener: every connection the engine opens
 * is one `-bh` process, whose standard input and output carry the SMTP session "as
 * if from ADDRESS", through the configuration's ACLs, with nothing delivered. The
 * engine's sessions, pool and budget run unchanged over it, as over a socket; the
 * listener only joins the socket to the child's stdio.
 *
 * What -bh writes beside SMTP (measured on Exim 4.96): a banner on standard output
 * before the greeting ("**** SMTP testing session as if from host 203.0.113.10", an
 * empty line) and "**** SMTP testing: that is not a real message id!" after DATA;
 * its commentary (">>> processing "accept" (/conf 123)", ">>> accept: condition test
 * succeeded in ACL "acl_check_rcpt"") and "LOG:" lines on standard error. The
 * banner lines never reach the client. The cause (cause.ts) replays a relayed attempt in a
 * session of its own and reads that one's standard error.
 */
/** How long a session's -bh process may outlive its connection before it is stopped. */
const CHILD_GRACE_MS = 2_000;
/** A line -bh writes on standard output that is not SMTP (the banner, the DATA note). */
function isHostCheckBanner(line) {
    return line.startsWith('**** ') || line === '';
}
/**
 * Standard output of -bh without its banner lines: SMTP replies only (a reply line is
 * never empty, and none starts with "**** "). Keeps a partial last line for the next chunk.
 */
class BannerFilter {
    partial = '';
    feed(chunk) {
        const lines = (this.partial + chunk).split('\n');
        this.partial = lines.pop() ?? '';
        let out = '';
        for (const raw of lines) {
            const line = raw.replace(/\r$/, '');
            if (!isHostCheckBanner(line))
                out += `${line}\r\n`;
        }
        return out;
    }
}
/** Starts the listener on 127.0.0.1 (an ephemeral port). */
async function listenHostCheck(cmd) {
    const live = new Map();
    const server = external_node_net_default().createServer((socket) => {
        const child = serve(socket, cmd);
        live.set(socket, child);
        child.on('close', () => live.delete(socket));
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
    });
    const port = server.address().port;
    return {
        port,
        close: async () => {
            const closed = new Promise((resolve) => server.close(() => resolve()));
            await Promise.all([...live.values()].map((c) => ended(c)));
            for (const socket of live.keys())
                socket.destroy();
            await closed;
        },
    };
}
/** One connection: one -bh process, the socket joined to its stdio; its commentary (standard error) read and let go. */
function serve(socket, cmd) {
    const [bin, ...args] = cmd.argv;
    const child = (0,external_node_child_process_namespaceObject.spawn)(bin, args, { env: cmd.env, stdio: ['pipe', 'pipe', 'pipe'] });
    socket.setNoDelay(true);
    const filter = new BannerFilter();
    child.stdout.setEncoding('latin1').on('data', (c) => {
        const out = filter.feed(c);
        if (out !== '' && !socket.destroyed)
            socket.write(Buffer.from(out, 'latin1'));
    });
    // Read, or a chatty session would block on a full pipe.
    child.stderr.resume();
    socket.on('data', (d) => {
        if (child.stdin.writable)
            child.stdin.write(d);
    });
    child.stdin.on('error', () => undefined);
    socket.on('error', () => undefined);
    // The client left: end of input ends the session; a process that lingers is stopped.
    socket.on('close', () => {
        child.stdin.end();
        setTimeout(() => child.kill('SIGTERM'), CHILD_GRACE_MS).unref();
    });
    child.on('error', () => socket.destroy());
    child.on('close', () => socket.end());
    return child;
}
function ended(child) {
    if (child.exitCode !== null || child.signalCode !== null)
        return Promise.resolve();
    return new Promise((resolve) => {
        child.once('close', () => resolve());
        child.stdin.end();
        setTimeout(() => child.kill('SIGTERM'), CHILD_GRACE_MS).unref();
    });
}

;// CONCATENATED MODULE: ./src/gate/exim/sandbox.ts
/**
 * The Exim configuration a gate runs: the repository's text with the options that
 * would reach outside the private place replaced (each replacement reported), every
 * transport a discard, and what could run a command or reach a socket refused. Pure
 * text functions: no I/O here.
 *
 * Exim refuses an option set twice ("option set for the second time"), so an owned
 * option is commented out where the configuration sets it and set once by us; a
 * configuration that sets one through a macro fails to start rather than win.
 */
/**
 * Main options the gate sets itself, with why. The private places keep the runner's
 * own spool and logs out of it; queue_only keeps an accepted message where it was
 * taken (host checking delivers nothing anyway); no TLS on a stdio session.
 */
const OWNED_MAIN = [
    { name: 'spool_directory', value: (p) => p.spool, why: 'a private spool' },
    { name: 'log_file_path', value: (p) => `${p.log}/%slog`, why: 'private logs' },
    { name: 'exim_path', value: (p) => p.bin, why: 'the Exim the gate runs' },
    { name: 'exim_user', value: (p) => String(p.user.uid), why: 'the sessions run as nobody, who owns the private spool' },
    { name: 'exim_group', value: (p) => String(p.user.gid), why: 'the sessions run as nobody, who owns the private spool' },
    { name: 'keep_environment', value: () => '', why: 'the runner environment is not passed on' },
    { name: 'add_environment', value: () => '', why: 'the runner environment is not passed on' },
    { name: 'queue_only', value: () => 'true', why: 'nothing is delivered: an accepted message stays queued' },
    { name: 'system_filter', value: () => '', why: 'no system filter runs' },
    { name: 'tls_advertise_hosts', value: () => '', why: 'host checking (-bh) has no TLS: STARTTLS is not offered and `encrypted` conditions are not tested' },
];
/** Options that run code as Exim starts: refused, not neutralised (the light daemon has no Perl; another build would run it). */
const REFUSED_MAIN = ['perl_startup', 'perl_at_start'];
/**
 * Options of the dnslookup and manualroute routers only (Exim specification, chapters
 * "The dnslookup router" and "The manualroute router"): an `accept` router refuses them.
 */
const LOOKUP_ROUTER_OPTIONS = new Set(['check_secondary_mx', 'check_srv', 'fail_defer_domains', 'ipv4_only', 'ipv4_prefer', 'mx_domains', 'mx_fail_domains', 'qualify_single', 'rewrite_headers', 'same_domain_copy_routing', 'search_parents', 'srv_fail_domains', 'widen_domains', 'host_all_ignored', 'host_find_failed', 'hosts_randomize', 'route_data', 'route_list']);
const MAIN_OPTION = /^\s*(?:hide\s+)?(?:no_|not_)?([a-z][a-z0-9_]*)\s*(?:=|$)/;
const SECTION = /^\s*begin\s+([a-z]+)\s*$/;
/** The sections of a configuration as `begin NAME` lines divide them; `main` before the first. */
function sectionOf(lines) {
    let section = 'main';
    return lines.map((l) => {
        const m = SECTION.exec(l.text);
        if (m)
            section = m[1];
        return section;
    });
}
/** The continuation lines of line i (Exim joins a line ending in a backslash with the next). */
function continued(lines, i) {
    let j = i;
    while (j < lines.length - 1 && /\\\s*$/.test(lines[j].text))
        j++;
    return j;
}
const commented = (l) => ({ text: `# relay-check: ${l.text}`, from: l.from });
const added = (text) => ({ text, from: null });
/**
 * The configuration as the gate runs it. Returns the lines with their origin and
 * every change; throws a list of refusals (a line each) when the text sets an option
 * that runs code at start.
 */
function sandboxExim(input, places) {
    const owned = ownedOptions(places);
    const changes = [];
    const refusals = [];
    const sections = sectionOf(input);
    const out = [];
    const transports = new Set();
    let router = '';
    let mainEnded = false;
    for (let i = 0; i < input.length; i++) {
        const l = input[i];
        const section = sections[i];
        if (section !== 'main' && !mainEnded) {
            out.push(...ownedMain(owned, places));
            mainEnded = true;
        }
        if (section === 'main') {
            const name = MAIN_OPTION.exec(l.text)?.[1];
            if (name !== undefined && REFUSED_MAIN.includes(name))
                refusals.push({ line: l.from, subject: name, change: `\`${name}\` runs Perl as Exim starts: refused (remove it for the gate)` });
            const mine = owned.find((o) => o.name === name);
            if (mine) {
                const end = continued(input, i);
                for (let j = i; j <= end; j++)
                    out.push(commented(input[j]));
                changes.push({ line: l.from, subject: mine.name, change: `set by the gate instead: ${mine.why}` });
                i = end;
                continue;
            }
            out.push(l);
            continue;
        }
        if (section === 'routers') {
            const name = /^\s*([A-Za-z][\w-]*)\s*:\s*$/.exec(l.text)?.[1];
            if (name !== undefined)
                router = name;
            const driver = /^(\s*driver\s*=\s*)(dnslookup|manualroute)\s*$/.exec(l.text);
            if (driver) {
                out.push({ text: `${driver[1]}accept`, from: l.from });
                changes.push({ line: l.from, subject: `router ${router}`, change: `${driver[2]} replaced by accept: the gate has no DNS, so a domain that reaches it is taken as routable (as one with an MX would be); its address goes to a discard` });
                continue;
            }
            const option = /^\s*(?:no_|not_)?([a-z][a-z0-9_]*)\b/.exec(l.text)?.[1];
            if (option !== undefined && LOOKUP_ROUTER_OPTIONS.has(option)) {
                const end = continued(input, i);
                for (let j = i; j <= end; j++)
                    out.push(commented(input[j]));
                i = end;
                continue;
            }
        }
        if (section === 'transports') {
            const name = /^\s*([A-Za-z][\w-]*)\s*:\s*$/.exec(l.text)?.[1];
            if (name !== undefined && !transports.has(name)) {
                transports.add(name);
                changes.push({ line: l.from, subject: `transport ${name}`, change: 'replaced by a discard (appendfile to /dev/null): nothing leaves' });
            }
            out.push(SECTION.test(l.text) ? l : commented(l));
            continue;
        }
        out.push(l);
    }
    if (!mainEnded)
        out.push(...ownedMain(owned, places));
    if (places.primaryHostname !== undefined && !changes.some((c) => c.subject === 'primary_hostname'))
        changes.push({ line: null, subject: 'primary_hostname', change: `${places.primaryHostname} (the directory's mailname) stands in for the machine's own name, which Debian's configuration takes from the host` });
    return { lines: withTransports(out, [...transports]), changes, refusals };
}
function ownedOptions(places) {
    const name = places.primaryHostname;
    return name === undefined ? [...OWNED_MAIN] : [...OWNED_MAIN, { name: 'primary_hostname', value: () => name, why: "the directory's mailname stands in for the machine's name" }];
}
function ownedMain(owned, places) {
    return [added("# relay-check: the gate's own settings"), ...owned.map((o) => added(`${o.name} = ${o.value(places)}`))];
}
/** Every transport of the configuration, by its name, as a discard, right after `begin transports`. */
function withTransports(lines, names) {
    const at = lines.findIndex((l) => /^\s*begin\s+transports\s*$/.test(l.text));
    if (at < 0)
        return lines;
    const discards = names.flatMap((n) => [added(`${n}:`), added('  driver = appendfile'), added('  file = /dev/null'), added('  user = nobody'), added('')]);
    return [...lines.slice(0, at + 1), ...discards, ...lines.slice(at + 1)];
}
const FORBIDDEN = [
    { pattern: /\$\{\s*run\b/, what: '`${run…}` runs a command' },
    { pattern: /\$\{\s*perl\b/, what: '`${perl…}` runs Perl' },
    { pattern: /\$\{\s*dlfunc\b/, what: '`${dlfunc…}` loads a library' },
    { pattern: /\$\{\s*readsocket\b/, what: '`${readsocket…}` reaches a socket' },
    { pattern: /\$\{\s*readfile\b/, what: '`${readfile…}` reads a file of the runner' },
    { pattern: /\$\{\s*expand\s*:/, what: '`${expand:…}` expands built text (a way around the other refusals)' },
    { pattern: /^\s*driver\s*=\s*queryprogram\b/, what: 'a `queryprogram` router runs a command when an address is verified' },
    { pattern: /^\s*perl_(?:startup|at_start)\b/, what: '`perl_startup` runs Perl as Exim starts' },
    { pattern: /^\s*acl_[a-z_]+\s*=\s*(?:\/|.*\$)/, what: 'an ACL read from a file at run time (or chosen by an expansion) cannot be checked' },
    { pattern: /(?:^|\s)!?acl\s*=\s*(?:\/|.*\$)/, what: 'an ACL read from a file at run time (or chosen by an expansion) cannot be checked' },
    // Content scanning runs a scanner the configuration names (`av_scanner = cmdline:…` with `malware =`), no `${run` needed.
    // exim4-daemon-light has no content scanning (it refuses the option itself); these guard a heavy build.
    { pattern: /^\s*(?:av_scanner|spamd_address)\s*=/, what: '`av_scanner`/`spamd_address` names a scanner to run or reach' },
    { pattern: /(?:^|\s)!?(?:malware|spam)\s*=/, what: 'a `malware`/`spam` ACL condition runs or reaches a content scanner' },
];
/**
 * Refusals in the configuration as Exim reads it. `exim -bP config` prints it with
 * macros expanded, `.ifdef` resolved and includes read, and cpp-like `# N "file"`
 * markers: a `${run` built from macros is seen here as it would run.
 */
function refusalsIn(printed) {
    const out = [];
    let file = null;
    let router;
    let section = 'main';
    const closeRouter = () => {
        if (router?.filter && router.verifies)
            out.push({ file: router.file, what: `router \`${router.name}\` runs a filter when an address is verified (\`allow_filter\` without \`no_verify\`)`, text: `${router.name}:` });
        router = undefined;
    };
    for (const raw of printed.split('\n')) {
        const marker = /^# (\d+) "(.*)"$/.exec(raw);
        if (marker) {
            file = marker[2];
            continue;
        }
        const text = raw.trim();
        const s = /^begin\s+([a-z]+)$/.exec(text);
        if (s) {
            closeRouter();
            section = s[1];
            continue;
        }
        for (const f of FORBIDDEN)
            if (f.pattern.test(text))
                out.push({ file, what: f.what, text });
        if (section !== 'routers')
            continue;
        const name = /^([A-Za-z][\w-]*):$/.exec(text)?.[1];
        if (name !== undefined) {
            closeRouter();
            router = { name, filter: false, verifies: true, file };
        }
        else if (router !== undefined) {
            if (/^allow_filter\b(?!\s*=\s*false)/.test(text))
                router.filter = true;
            if (/^no_verify\b|^no_verify_recipient\b|^verify\s*=\s*false\b|^verify_recipient\s*=\s*false\b/.test(text))
                router.verifies = false;
        }
    }
    closeRouter();
    return out;
}

;// CONCATENATED MODULE: ./src/gate/exim/instance.ts









/** A gate that cannot start: one line naming the input; the problems at the repository's lines. */
function refuse(detail, problems = []) {
    return new GateError('exim-config', detail, problems.map((p) => ({ ...p, subject: 'exim-config', tested: false })));
}
const instance_CMD_TIMEOUT_MS = 30_000;
/** Where .ci/install-exim unpacks Exim unless RELAY_CHECK_EXIM_DIR says otherwise. */
const UNPACKED_DIR = '/opt/relay-check-exim';
/** Downloading and unpacking Debian's packages: minutes on a slow mirror. */
const INSTALL_TIMEOUT_MS = 300_000;
/** Exim from .ci/install-exim's folder (RELAY_CHECK_EXIM_DIR alone when set, else /opt/relay-check-exim), else the system's. */
function lookExim() {
    const roots = process.env.RELAY_CHECK_EXIM_DIR ? [process.env.RELAY_CHECK_EXIM_DIR] : [UNPACKED_DIR, '/'];
    for (const root of roots) {
        const bin = external_node_path_default().join(root, 'usr/sbin/exim4');
        if (external_node_fs_default().existsSync(bin))
            return { root, bin, libPath: root === '/' ? '' : libraryPath(root) };
    }
    return null;
}
/** relay-check's own .ci/install-exim, beside the bundle (dist/) or the compiled sources (lib/src/gate/exim/). */
function installScript() {
    let dir = external_node_path_default().dirname((0,external_node_url_namespaceObject.fileURLToPath)(import.meta.url));
    for (let up = 0; up < 6; up++, dir = external_node_path_default().dirname(dir)) {
        const script = external_node_path_default().join(dir, '.ci', 'install-exim');
        if (external_node_fs_default().existsSync(script))
            return script;
    }
    return null;
}
/**
 * Exim, unpacked from Debian's packages when it is missing (as the Postfix gate installs
 * Postfix): .ci/install-exim downloads exim4-daemon-light and its companions and unpacks
 * them into a folder without installing them, so a Postfix on the machine stays as it is
 * (both packages provide mail-transport-agent).
 */
async function findExim(log) {
    const found = lookExim();
    if (found)
        return found;
    const script = installScript();
    if (script === null || !external_node_fs_default().existsSync('/usr/bin/apt-get'))
        throw refuse(`Exim not found: install Debian's exim4-daemon-light, or unpack it with relay-check's .ci/install-exim`);
    const dest = process.env.RELAY_CHECK_EXIM_DIR || UNPACKED_DIR;
    log?.(`Exim not found: unpacking Debian's exim4-daemon-light into ${dest} (.ci/install-exim; nothing is installed)`);
    const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
    const [cmd, ...args] = [...sudo, 'env', `RELAY_CHECK_EXIM_DIR=${dest}`, 'bash', script];
    const r = await run_run(cmd, args, { timeout: INSTALL_TIMEOUT_MS });
    log?.('install-exim', `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== ''));
    const after = lookExim();
    if (r.status !== 0 || after === null)
        throw refuse(`unpacking Exim failed: ${(r.stderr || r.error?.message || 'no output').trim().split('\n').pop() ?? ''}`);
    return after;
}
function libraryPath(root) {
    const dirs = [];
    for (const base of ['lib', 'usr/lib']) {
        const at = external_node_path_default().join(root, base);
        if (!external_node_fs_default().existsSync(at))
            continue;
        for (const n of external_node_fs_default().readdirSync(at).sort())
            if (n.includes('-linux-gnu'))
                dirs.push(external_node_path_default().join(at, n));
    }
    return dirs.join(':');
}
/** The account the sessions run as: `nobody`'s uid and gid from /etc/passwd. */
function nobody() {
    const line = external_node_fs_default().readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
    const [, , uid, gid] = line?.split(':') ?? [];
    if (uid === undefined || gid === undefined)
        throw refuse('there is no user `nobody` to run Exim as');
    return { uid: Number(uid), gid: Number(gid) };
}
/**
 * Folders an Exim lookup must not read, hidden under an empty tmpfs in the session's own
 * mount namespace: a configuration can name any file in a lookup (`${lookup{k}lsearch{/path}}`
 * in a deny message), and what `nobody` may read there lands in the report and the job
 * summary — the checkout's `.git/config` holds the job's token (actions/checkout's
 * persist-credentials). Not one that holds the instance itself.
 */
function hiddenDirs(inst) {
    const candidates = ['/home', '/root', '/run/user', process.env.GITHUB_WORKSPACE, process.env.RUNNER_TEMP, process.env.RUNNER_TOOL_CACHE, process.cwd()];
    const holds = (dir, p) => p === dir || p.startsWith(`${dir}${(external_node_path_default()).sep}`);
    return [...new Set(candidates.filter((d) => typeof d === 'string' && external_node_path_default().isAbsolute(d) && d !== '/'))]
        .map((d) => external_node_path_default().resolve(d))
        .filter((d) => external_node_fs_default().existsSync(d) && external_node_fs_default().statSync(d).isDirectory() && ![inst.conf, inst.bin, ...inst.libPath.split(':').filter(Boolean)].some((p) => holds(d, external_node_path_default().resolve(p))));
}
/** Mounts an empty tmpfs over each folder given, then runs the rest: `sh -c SCRIPT sh N dir… cmd…`. */
const HIDE = 'n=$1; shift; while [ "$n" -gt 0 ]; do mount -t tmpfs -o size=64k,mode=555 relay-check-hidden "$1" || exit 97; shift; n=$((n-1)); done; exec "$@"';
/** How each Exim command runs: in its own network and mount namespaces (private folders hidden), as nobody, with no environment but the library path. */
function eximArgv(inst, args, asRoot = false) {
    const who = nobody();
    const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
    const drop = asRoot ? [] : ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups'];
    const hide = hiddenDirs(inst);
    return [...sudo, 'unshare', '--net', '--mount', '--propagation', 'private', 'sh', '-c', HIDE, 'sh', String(hide.length), ...hide, ...drop, 'env', '-i', ...(inst.libPath ? [`LD_LIBRARY_PATH=${inst.libPath}`] : []), inst.bin, '-C', inst.conf, ...args];
}
async function exim(inst, args, asRoot = false) {
    const [cmd, ...rest] = eximArgv(inst, args, asRoot);
    return run_run(cmd, rest, { timeout: instance_CMD_TIMEOUT_MS });
}
/** Builds the private configuration, checks it, and starts the -bh listener. */
async function startEximGate(o) {
    const install = await findExim(o.log);
    const dir = external_node_fs_default().realpathSync(external_node_fs_default().mkdtempSync(external_node_path_default().join(external_node_os_default().tmpdir(), 'relay-check-exim-gate-')));
    o.onDir?.(dir);
    try {
        return await build(o, install, dir);
    }
    catch (e) {
        external_node_fs_default().rmSync(dir, { recursive: true, force: true });
        if (e instanceof EximConfigError)
            throw refuse(e.message, e.problems);
        throw e;
    }
}
async function build(o, install, dir) {
    external_node_fs_default().chmodSync(dir, 0o755);
    const who = nobody();
    for (const d of ['spool', 'log']) {
        const at = external_node_path_default().join(dir, d);
        external_node_fs_default().mkdirSync(at, { mode: 0o755 });
        try {
            external_node_fs_default().chownSync(at, who.uid, who.gid);
        }
        catch {
            // Not root (sudo -n runs Exim): nobody must still write there.
            external_node_fs_default().chmodSync(at, 0o777);
        }
    }
    // A copy without the set-uid bit: as nobody it stays nobody.
    const bin = external_node_path_default().join(dir, 'exim4');
    external_node_fs_default().copyFileSync(install.bin, bin);
    external_node_fs_default().chmodSync(bin, 0o755);
    const source = await readEximSource(o.configDir, external_node_path_default().join(dir, 'source'), install.root);
    // Debian's CONFDIR (`.ifndef CONFDIR`) defined first: the directory's copy, not the runner's /etc/exim4.
    const confdir = source.confdir === undefined ? [] : [{ text: `CONFDIR = ${source.confdir}`, from: null }];
    const sandbox = sandboxExim([...confdir, ...source.lines.map((l, i) => ({ text: l.text, from: i + 1 }))], { spool: external_node_path_default().join(dir, 'spool'), log: external_node_path_default().join(dir, 'log'), bin, user: who, ...(source.mailname ? { primaryHostname: source.mailname } : {}) });
    const repoOf = (from) => (from === null ? null : (source.lines[from - 1] ?? null));
    const atRepo = (from) => {
        const r = repoOf(from);
        return { file: r?.file ?? eximFileOf(source.form), line: r?.line ?? null };
    };
    if (sandbox.refusals.length > 0)
        throw refuse(`the configuration runs code as Exim starts: ${sandbox.refusals[0].change}`, sandbox.refusals.map((r) => ({ ...atRepo(r.line), change: r.change })));
    const conf = external_node_path_default().join(dir, 'exim.conf');
    external_node_fs_default().writeFileSync(conf, `${sandbox.lines.map((l) => l.text).join('\n')}\n`, { mode: 0o644 });
    const lines = sandbox.lines.map((l) => ({ ...l, repo: repoOf(l.from) }));
    const inst = { bin, libPath: install.libPath, conf };
    const tlsOnly = await checkConfig(inst, lines, source.form);
    const version = /Exim version (\S+)/.exec((await exim(inst, ['-bV'])).stdout)?.[1] ?? 'unknown';
    const names = await namesOf(inst);
    const hostCheckArgv = eximArgv(inst, ['-bh', o.client]);
    const listener = await listenHostCheck({ argv: hostCheckArgv, env: { PATH: process.env.PATH } });
    const changes = [
        ...source.changes.map((c) => ({ ...c, tested: true })),
        ...sandbox.changes.map((c) => ({ ...atRepo(c.line), subject: c.subject, change: c.change, tested: c.subject !== 'tls_advertise_hosts' })),
        ...tlsOnly.map((r) => ({ file: r.file ?? eximFileOf(source.form), line: r.line, subject: 'encrypted', change: 'an ACL condition on TLS: host checking (-bh) has no TLS, so what it decides is not tested here', tested: false })),
        { file: eximFileOf(source.form), line: null, subject: 'sessions', change: `each SMTP session is \`exim -bh ${o.client}\` (host checking: through the ACLs, nothing delivered), as nobody, in a network namespace of its own (no DNS, no callout, no socket reaches anything)`, tested: true },
    ];
    let stopped;
    return {
        dir,
        version,
        form: source.form,
        lines,
        changes,
        ...names,
        ...(source.form !== 'configure' ? { ue4cc: external_node_fs_default().readFileSync(external_node_path_default().join(o.configDir, 'update-exim4.conf.conf'), 'utf8').split('\n') } : {}),
        listener,
        hostCheckArgv,
        stop: () => (stopped ??= (async () => {
            await listener.close();
            external_node_fs_default().rmSync(dir, { recursive: true, force: true });
        })()),
    };
}
/** The repository file a change without a line concerns. */
function eximFileOf(form) {
    return form === 'configure' ? 'configure' : 'update-exim4.conf.conf';
}
/**
 * Exim parses the configuration (-bV), then the printed configuration is searched for
 * what the gate refuses. Returns the repository lines of ACL conditions on TLS
 * (`encrypted = …`), which host checking cannot exercise.
 */
async function checkConfig(inst, lines, form) {
    const v = await exim(inst, ['-bV']);
    const err = /configuration error in line (\d+) of (\S+):\s*\n?\s*(.*)/.exec(`${v.stderr}\n${v.stdout}`);
    if (v.status !== 0 || err) {
        const at = err && err[2] === inst.conf ? lines[Number(err[1]) - 1]?.repo : null;
        const what = err ? err[3].trim() : (v.stderr || v.stdout).trim().split('\n')[0];
        throw refuse(`Exim refuses the configuration: ${what}`, [{ file: at?.file ?? eximFileOf(form), line: at?.line ?? null, change: what }]);
    }
    // As root: for anyone else Exim prints a `hide` option as "<value not displayable>". Printing runs nothing.
    const printed = await exim(inst, ['-bP', 'config'], true);
    const refusals = refusalsIn(printed.stdout);
    const tls = /(^|\s)!?encrypted\s*=/;
    if (refusals.length === 0)
        return lines.filter((l) => l.repo?.file && !/^\s*#/.test(l.text) && tls.test(l.text)).map((l) => l.repo);
    const flat = (t) => t.replace(/\s+/g, ' ').trim();
    const problems = refusals.map((r) => {
        // The printed line has its macros expanded: the run line that says the same, else the one that starts as it does up to its first expansion.
        const prefix = flat(r.text.split('${')[0]);
        const hit = lines.find((l) => l.repo !== null && flat(l.text) === flat(r.text)) ?? lines.find((l) => l.repo !== null && prefix !== '' && flat(l.text).startsWith(prefix) && l.text.includes('$'));
        return { file: hit?.repo?.file ?? eximFileOf(form), line: hit?.repo?.line ?? null, change: `${r.what}: refused (${r.text.slice(0, 120)})` };
    });
    throw refuse(`the configuration would run something on the runner: ${problems[0].change}`, problems);
}
/** The configuration's local domains and the domain the own-domain vectors use. */
async function namesOf(inst) {
    const r = await exim(inst, ['-bP', 'primary_hostname', '+local_domains', 'acl_smtp_rcpt']);
    const rcptAcl = /^acl_smtp_rcpt = (.*)$/m.exec(r.stdout)?.[1].trim() ?? '';
    const primary = /^primary_hostname = (.*)$/m.exec(r.stdout)?.[1].trim() ?? '';
    const list = /^domainlist local_domains = (.*)$/m.exec(r.stdout)?.[1].trim() ?? '';
    const localDomains = list
        .replace(/^<(.)\s*/, '')
        .split(/\s*:\s*/)
        .map((d) => (d === '@' ? primary : d))
        .filter((d) => /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(d) && d.includes('.'));
    return { domain: localDomains[0] ?? primary, localDomains, rcptAcl };
}

;// CONCATENATED MODULE: ./src/gate/exim/gate.ts












/** The service name an Exim gate's one listener reports. */
const EXIM_SERVICE = 'smtp';
/**
 * Gate mode for an Exim configuration: the battery, unchanged, over `exim -bh`
 * sessions as an outside client. No XCLIENT: host checking itself is "as if from"
 * the client address.
 */
async function runEximGate(settings, services = {}, log, hooks = {}) {
    let report = await runEximInstance(settings, services, log, hooks);
    const causes = report.gate?.causes ?? [];
    if (report.gate !== undefined && causes.length > 0) {
        log?.('trying the proposed fix on a copy of the configuration');
        const fixes = await proveEximFixes(settings, report, causes, services, log, hooks);
        report = { ...report, gate: { ...report.gate, fixes } };
    }
    if (settings.baseRef === undefined || report.gate === undefined)
        return report;
    const base = await againstBase(report, settings.eximConfig, settings.baseRef, {
        how: 'through Exim host checking',
        log,
        holdsConfig: holdsEximConfig,
        runBase: (dir) => runEximInstance({ ...settings, eximConfig: dir, baseRef: undefined }, services, log, { onDir: hooks.onDir }),
    });
    return { ...report, gate: { ...report.gate, base } };
}
/** Each cause's edit on a copy of the directory, through a second -bh listener, judged as the Postfix gate judges a fix. */
async function proveEximFixes(settings, report, causes, services, log, hooks) {
    const configDir = settings.eximConfig;
    const out = [];
    for (const c of causes) {
        const proposal = eximFix(c, configDir);
        if (proposal === null || out.some((f) => f.diff === proposal.fix.diff))
            continue;
        const copy = external_node_fs_default().mkdtempSync(external_node_path_default().join(external_node_os_default().tmpdir(), 'relay-check-exim-fix-'));
        try {
            applyEdit(configDir, copy, proposal.edit);
            out.push(await proveFix(settings, report, proposal.fix, services, (s, v) => runEximInstance({ ...s, eximConfig: copy, baseRef: undefined }, v, log, { onDir: hooks.onDir })));
        }
        finally {
            external_node_fs_default().rmSync(copy, { recursive: true, force: true });
        }
    }
    return out;
}
/** One configuration directory through one private Exim. */
async function runEximInstance(settings, services, log, hooks) {
    const configDir = settings.eximConfig;
    if (configDir === undefined)
        throw new Error('runEximGate: no exim-config');
    const client = settings.clientAddress ?? GATE_CLIENT_ADDRESS;
    const inst = await startEximGate({ configDir, client, log, onDir: hooks.onDir });
    try {
        await hooks.beforeRun?.(inst);
        const port = inst.listener.port;
        const original = `exim -bh ${client}`;
        const report = await run({
            ...settings,
            hosts: [{ input: '127.0.0.1', host: '127.0.0.1', kind: 'ipv4' }],
            ports: [port],
            tls: 'none',
            // -bh is the client address: XCLIENT is Postfix's and Exim does not offer it.
            clientAddress: undefined,
            domain: settings.domain ?? (inst.domain || undefined),
        }, { ...services, fullBattery: true, serviceFor: (p) => (p === port ? `${EXIM_SERVICE} (${original})` : undefined) });
        const causes = report.counts.relayed > 0 ? await causesOf(inst, report, client, `${EXIM_SERVICE} (${original})`) : [];
        const gate = {
            configDir,
            commit: await commitOf(configDir),
            postfixVersion: '',
            exim: { version: inst.version, form: inst.form, client },
            services: [{ name: EXIM_SERVICE, original, command: 'exim', wrapper: false, tlsRequired: false, address: '127.0.0.1', port, line: 0 }],
            changes: inst.changes,
            ...(causes.length > 0 ? { causes } : {}),
        };
        const diagnosis = causes.length > 0 ? (report.diagnosis ?? []).map((d) => ({ ...d, findings: eximFindings(causes), unmatched: null })) : report.diagnosis;
        return { ...report, ...(diagnosis ? { diagnosis } : {}), settings: { ...report.settings, hosts: [], clientAddress: client }, gate };
    }
    finally {
        await inst.stop();
    }
}
/** Relayed attempts replayed for their cause: each is one short -bh session. */
const MAX_REPLAYS = 12;
/**
 * Why it relayed: each relayed attempt (up to MAX_REPLAYS) replayed alone in a -bh
 * session, so that Exim's account of its RCPT ACL run is that attempt's and no other's.
 */
async function causesOf(inst, report, client, service) {
    if (inst.rcptAcl === '')
        return [];
    const relayed = report.targets.flatMap((t) => t.attempts).filter((a) => a.outcome === 'relayed').slice(0, MAX_REPLAYS);
    const out = [];
    for (const a of relayed) {
        if (a.mailFrom === null || a.rcptTo.length === 0)
            continue;
        const path = (x) => (x.startsWith('<') ? x : `<${x}>`);
        const commands = [`EHLO ${a.helo ?? 'relay-check.example.net'}`, `MAIL FROM:${path(a.mailFrom)}`, ...a.rcptTo.map((r) => `RCPT TO:${path(r)}`), 'QUIT', ''];
        const [cmd, ...args] = inst.hostCheckArgv;
        const r = await run_run(cmd, args, { timeout: 30_000, input: commands.join('\r\n') });
        const cause = eximCause({ acl: inst.rcptAcl, commentary: r.stderr.split('\n'), lines: inst.lines, ...(inst.ue4cc ? { ue4cc: inst.ue4cc } : {}), client, vector: a.vector, service });
        if (cause && !out.some((c) => c.kind === cause.kind && c.list === cause.list && c.element === cause.element))
            out.push(cause);
    }
    return out;
}
/** The commit the configuration came from: the workflow's, else the repository's HEAD. */
async function commitOf(dir) {
    if (process.env.GITHUB_SHA)
        return process.env.GITHUB_SHA;
    const r = await run_run('git', ['-C', dir, 'rev-parse', 'HEAD'], { timeout: 5_000 });
    return r.status === 0 ? r.stdout.trim() : null;
}

;// CONCATENATED MODULE: ./src/gate/maillog.ts

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
function deliveryLines(log, queueId) {
    const re = new RegExp(`(\\S+\\[\\d+\\]: ${esc(queueId)}: to=<(.*?)>(?:, orig_to=<(.*?)>)?, relay=[^,]*, .*?status=([a-z]+) \\((.*)\\))\\s*$`, 'gm');
    return [...log.matchAll(re)].map((m) => ({ quoted: m[1], to: m[2], orig: m[3] ?? null, status: m[4], text: m[5] }));
}
/** cleanup's FILTER, REDIRECT, HOLD or DISCARD of the message, as it logged it. */
function diversion(log, queueId) {
    const m = new RegExp(`\\S+\\[\\d+\\]: ${esc(queueId)}: (filter|redirect|hold|discard): .*$`, 'm').exec(log);
    return m ? m[0] : null;
}
/** Whether the instance is done with the message: removed, every recipient logged, or held. */
function settled(log, queueId, recipients) {
    if (new RegExp(`: ${esc(queueId)}: removed\\s*$`, 'm').test(log))
        return true;
    if (deliveryLines(log, queueId).length >= recipients)
        return true;
    // A held message stays in the queue: nothing more will be logged.
    return diversion(log, queueId)?.includes(`${queueId}: hold: `) ?? false;
}
/** An address for comparing with Postfix's log: no angle brackets, source route or quotes, lower case. */
function maillog_bare(path) {
    return path
        .trim()
        .replace(/^<\s*|\s*>$/g, '')
        .replace(/^@[^:]*:/, '')
        .replace(/"/g, '')
        .toLowerCase();
}
/**
 * The lines about the relay destination (the last RCPT): by its own address (as to=, or as
 * orig_to= once rewritten, aliased or redirected), else those no earlier RCPT explains. A
 * copy the configuration adds (always_bcc, recipient_bcc_maps) has an address of its own and
 * does not speak for the destination.
 */
function destinationLines(lines, rcptTo) {
    const key = (l) => maillog_bare(l.orig ?? l.to);
    const dest = maillog_bare(rcptTo[rcptTo.length - 1] ?? '');
    const mine = lines.filter((l) => key(l) === dest || maillog_bare(l.to) === dest);
    if (mine.length > 0)
        return mine;
    const earlier = new Set(rcptTo.slice(0, -1).map(maillog_bare));
    return lines.filter((l) => !earlier.has(key(l)));
}
function classOf(l, tag) {
    if (l.status === 'bounced')
        return 'bounced';
    if (l.status !== 'sent')
        return null;
    const cls = Object.values(DELIVERY_CLASSES).find((c) => l.text === classNexthop(tag, c));
    return cls ?? null;
}
const RELAYS = { relay: true, default: true, local: false, virtual: false, bounced: false };
/**
 * Where the relay destination of one queued message went, from the instance's
 * maillog. A line counts only when it carries this instance's class tag (or is
 * Postfix's own bounce): a configuration cannot write a look-alike.
 */
function routeFromLog(log, queueId, rcptTo, tag) {
    const none = (note) => ({ class: null, relays: null, recipient: null, queueId, line: null, note });
    const lines = destinationLines(deliveryLines(log, queueId), rcptTo);
    const known = lines.map((l) => ({ l, cls: classOf(l, tag) })).filter((x) => x.cls !== null);
    // Several lines (an alias that expands to several addresses): any that leaves decides.
    const pick = known.find((x) => RELAYS[x.cls]) ?? known[0];
    if (pick)
        return { class: pick.cls, relays: RELAYS[pick.cls], recipient: pick.l.to, queueId, line: pick.l.quoted, note: null };
    const diverted = diversion(log, queueId);
    if (diverted)
        return none(`the configuration diverted the message before delivery, so its route is not shown: ${diverted}`);
    if (lines.length > 0)
        return none(`Postfix did not deliver it to one of the instance's classes: ${lines[0].quoted}`);
    return none(`the instance logged no delivery of queue id ${queueId} in time`);
}

;// CONCATENATED MODULE: ./src/gate/route.ts






/**
 * Proof by routing (gate mode only). Every attempt whose relay destination the
 * private instance accepted is sent again, as the same outside client with the
 * same HELO, sender and recipients, and this time through DATA with a small
 * fixed message: the instance is ours and delivers only to discard(8), so
 * nothing leaves the runner. The instance's maillog then says which delivery
 * class took the destination (maillog.ts), and that decides the attempt
 * (verdict/route-proof.ts). In `relaxed` the battery already went through DATA:
 * its queue id is read from the reply and nothing is sent again.
 */
/** Replies to the proof's commands; the instance is on loopback and has nothing else to do. */
const ROUTE_REPLY_TIMEOUT_MS = 30_000;
/** How long the instance may take to deliver every proof message to its discards. */
const ROUTE_LOG_WAIT_MS = 20_000;
const ROUTE_LOG_POLL_MS = 200;
/** Proof messages per run at most (a full battery on a wide-open configuration with several services stays below). */
const ROUTE_MAX_MESSAGES = 400;
/** The proof message: fixed, labelled, a few lines. */
const PROOF_MESSAGE = [
    'From: relay-check <relay-check@relay-check.example.net>',
    'Subject: relay-check routing proof',
    'X-Relay-Check: sent to a private Postfix on the runner, which delivers only to discard(8)',
    '',
    'relay-check reads where the instance routed this message from its log.',
    '.',
].join('\r\n');
const keyOf = (t, a) => JSON.stringify([t.port, a.helo, a.mailFrom, a.rcptTo]);
const route_ok = (r) => r.code >= 200 && r.code < 300;
const queuedAs = (r) => (r === null ? undefined : /queued as ([0-9A-Za-z]+)/.exec(r)?.[1]);
/** The report with every accepted attempt decided by where the instance put it. */
async function proveRoutes(report, o) {
    const jobs = new Map();
    for (const t of report.targets) {
        for (const a of t.attempts) {
            const key = keyOf(t, a);
            if (!acceptedAttempt(a) || a.mailFrom === null || jobs.has(key))
                continue;
            // relaxed: the battery's own message is in the instance already.
            jobs.set(key, { key, target: t, attempt: a, queueId: a.stage === 'data' ? queuedAs(a.reply) : undefined });
        }
    }
    if (jobs.size === 0)
        return report;
    const toSend = [...jobs.values()].filter((j) => j.queueId === undefined);
    for (const j of toSend.slice(ROUTE_MAX_MESSAGES))
        j.note = `not sent through DATA: more than ${ROUTE_MAX_MESSAGES} accepted attempts in one run`;
    const lanes = new Map();
    for (const j of toSend.slice(0, ROUTE_MAX_MESSAGES)) {
        const lane = `${j.target.port}|${j.target.transport}`;
        lanes.set(lane, [...(lanes.get(lane) ?? []), j]);
    }
    const started = Date.now();
    await Promise.all([...lanes.values()].map((lane) => sendLane(lane, o)));
    await waitForLog([...jobs.values()], o.maillog);
    const already = jobs.size - toSend.length;
    o.log?.(`routing proof: ${jobs.size} accepted attempt(s), ${toSend.length} sent through DATA now${already ? ` (${already} went through DATA in the battery)` : ''}; the private instance's log read in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const log = o.maillog();
    const proofs = new Map([...jobs].map(([k, j]) => [k, proofOf(j, log, o.tag)]));
    const targets = report.targets.map((t) => {
        const attempts = t.attempts.map((a) => {
            const p = acceptedAttempt(a) ? proofs.get(keyOf(t, a)) : undefined;
            return p ? withRouteProof(a, p) : a;
        });
        return attempts.every((a, i) => a === t.attempts[i]) ? t : { ...t, attempts };
    });
    return rejudge(report, targets);
}
function proofOf(j, log, tag) {
    if (j.queueId === undefined)
        return { class: null, relays: null, recipient: null, queueId: null, line: null, note: j.note ?? 'not sent through DATA' };
    return routeFromLog(log, j.queueId, j.attempt.rcptTo, tag);
}
/** One service and transport: the jobs one after another on one session, opened again once if it ends. */
async function sendLane(lane, o) {
    let session;
    for (const j of lane) {
        for (let attempt = 0; attempt < 2 && j.queueId === undefined; attempt++) {
            try {
                session ??= await route_open(j, o);
                j.note = undefined;
                await sendOne(session, j);
            }
            catch (e) {
                if (!(e instanceof SessionError))
                    throw e;
                j.note = `the session for the proof ended: ${e.message}`;
                session?.s.destroy();
                session = undefined;
            }
        }
    }
    await session?.s.quit({ wait: false });
}
async function route_open(j, o) {
    const helo = j.attempt.helo ?? DEFAULT_HELO;
    const { session } = await openSession({
        address: j.target.address,
        port: j.target.port,
        connectTimeoutMs: o.connectTimeoutMs,
        replyTimeoutMs: ROUTE_REPLY_TIMEOUT_MS,
        implicitTls: j.target.transport === 'implicit',
        starttls: j.target.transport === 'starttls',
        helo,
        clientAddress: o.clientAddress,
    });
    return { s: session, helo };
}
/** HELO as the attempt said it, MAIL, every RCPT, DATA and the message: the queue id, or why there is none. */
async function sendOne(session, j) {
    const { s } = session;
    const a = j.attempt;
    if (a.helo !== null && a.helo !== session.helo) {
        const e = await s.hello(a.helo);
        if (!route_ok(e.reply))
            return refused(j, s, `${e.verb} ${a.helo}`, e.reply);
        session.helo = a.helo;
    }
    const mail = await s.command(`MAIL FROM:${a.mailFrom ?? '<>'}`);
    if (!route_ok(mail))
        return refused(j, s, 'MAIL FROM', mail);
    let last;
    for (const r of a.rcptTo)
        last = await s.command(`RCPT TO:${r}`);
    if (last === undefined || !route_ok(last))
        return refused(j, s, 'the relay destination', last);
    const data = await s.command('DATA');
    if (data.code !== 354)
        return refused(j, s, 'DATA', data);
    const end = await s.command(PROOF_MESSAGE);
    j.queueId = route_ok(end) ? queuedAs(end.raw.join(' ')) : undefined;
    if (j.queueId === undefined)
        j.note = route_ok(end) ? `the message was accepted without a queue id (${formatReply(end)})` : `the message was refused at the end of DATA when sent for the proof (${formatReply(end)})`;
}
async function refused(j, s, what, r) {
    j.note = `${what} was refused when the attempt was sent again for the proof (${r ? formatReply(r) : 'no reply'})`;
    await s.command('RSET');
}
/** Until the instance is done with every message sent, or ROUTE_LOG_WAIT_MS. */
async function waitForLog(jobs, maillog) {
    const until = Date.now() + ROUTE_LOG_WAIT_MS;
    const pending = (log) => jobs.some((j) => j.queueId !== undefined && !settled(log, j.queueId, j.attempt.rcptTo.length));
    while (pending(maillog()) && Date.now() < until)
        await new Promise((res) => setTimeout(res, ROUTE_LOG_POLL_MS));
}

;// CONCATENATED MODULE: ./src/gate/gate.ts











/** The one call both entry points make: a running server, or a configuration on a private Postfix. */
function check(settings, services = {}, log, hooks = {}) {
    if (settings.eximConfig !== undefined)
        return runEximGate(settings, services, log, { onDir: hooks.onDir });
    return settings.postfixConfig === undefined ? run(settings, services) : runGate(settings, services, log, hooks);
}
/**
 * Gate mode: the configuration of a pull request tested on a private Postfix
 * built from it. The engine runs unchanged against every smtpd service of
 * the instance, as an outside client through XCLIENT; the instance is always
 * stopped and removed afterwards, whatever happened.
 */
async function runGate(settings, services = {}, log, hooks = {}) {
    let report = await runInstance(settings, services, log, hooks, 'head');
    const causes = report.gate?.causes ?? [];
    if (causes.length > 0) {
        const relaying = [...new Set(report.targets.filter((t) => t.counts.relayed > 0).map((t) => t.service?.replace(/ \(.*\)$/, '') ?? ''))];
        report = { ...report, diagnosis: (report.diagnosis ?? []).map((d) => withCauses(d, causes, relaying)) };
    }
    if (report.gate !== undefined && (report.diagnosis ?? []).some((d) => d.findings.length > 0)) {
        // The cause points at a setting: try its fix on a fixed copy, with only the attempts that relayed.
        log?.('trying the proposed fix on a copy of the configuration');
        const fixes = await proveFixes(settings, report, report.settings.domain ?? '', services, (s, v) => runFixedCopy(s, v, log, { onDir: hooks.onDir }));
        report = { ...report, gate: { ...report.gate, fixes } };
    }
    if (settings.baseRef === undefined || report.gate === undefined)
        return report;
    const base = await againstBase(report, settings.postfixConfig, settings.baseRef, {
        how: 'on a second private Postfix',
        log,
        runBase: (dir) => runInstance({ ...settings, postfixConfig: dir, baseRef: undefined }, services, log, { onDir: hooks.onDir }, 'base'),
    });
    return { ...report, gate: { ...report.gate, base } };
}
/** A fixed copy of the configuration (the fix in postfix-overrides) on its own instance. */
function runFixedCopy(settings, services, log, hooks = {}) {
    return runInstance(settings, services, log, hooks, 'fixed');
}
/** One configuration directory on one private instance; for the head, when something relayed, also why (the effective configuration). */
async function runInstance(settings, services, log, hooks, role) {
    const configDir = settings.postfixConfig;
    if (configDir === undefined)
        throw new Error('runGate: no postfix-config');
    const inst = await startGate({ configDir, overridesFile: settings.postfixOverrides, log, onDir: hooks.onDir });
    try {
        await hooks.beforeRun?.(inst);
        const wrapper = new Set(inst.services.filter((s) => s.wrapper).map((s) => s.port));
        const proxied = new Set(inst.services.filter((s) => s.proxy).map((s) => s.port));
        const byPort = new Map(inst.services.map((s) => [s.port, s]));
        const battery = await run({
            ...settings,
            hosts: [{ input: '127.0.0.1', host: '127.0.0.1', kind: 'ipv4' }],
            ports: inst.services.map((s) => s.port),
            // The configuration's own domain feeds the own-domain vectors, unless the user named one.
            domain: settings.domain ?? (inst.mydomain || undefined),
        }, {
            ...services,
            // A private instance: every vector runs even where the plain attempt relayed, so the
            // fix is proved against all of them and the base comparison sees each one.
            fullBattery: true,
            tlsFor: (port) => (wrapper.has(port) ? 'implicit' : undefined),
            // A PROXY-protocol service is reached as its proxy would reach it: a header naming the outside client.
            proxied: (port) => proxied.has(port),
            serviceFor: (port) => {
                const s = byPort.get(port);
                return s ? `${s.name} (${s.original})` : undefined;
            },
        });
        // Where each accepted attempt really went: the instance's log decides it (route.ts).
        const report = await proveRoutes(battery, { clientAddress: settings.clientAddress ?? GATE_CLIENT_ADDRESS, connectTimeoutMs: settings.connectTimeoutMs, tag: inst.classTag, maillog: inst.maillog, log });
        const causes = role === 'head' && report.counts.relayed > 0 ? await effectiveCauses(inst, report, settings.clientAddress ?? GATE_CLIENT_ADDRESS, configDir) : [];
        const gate = {
            configDir,
            commit: await gate_commitOf(configDir),
            postfixVersion: inst.postfixVersion,
            services: inst.services.map((s) => ({ name: s.name, original: s.original, command: s.command, wrapper: s.wrapper, tlsRequired: s.tlsRequired, address: '127.0.0.1', port: s.port, line: s.line })),
            changes: inst.changes,
            ...(causes.length > 0 ? { causes } : {}),
        };
        return { ...report, settings: { ...report.settings, hosts: [] }, gate };
    }
    finally {
        await inst.stop();
    }
}
/** Why each service that relayed relays, from the running instance's effective configuration (its maps looked up with postmap). */
async function effectiveCauses(inst, report, client, configDir) {
    const conf = external_node_path_default().join(inst.dir, 'conf');
    const eff = await readEffective(conf);
    const lookup = postmapLookup(conf);
    const files = configFiles(configDir);
    return inst.services.flatMap((s) => {
        const attempts = report.targets.filter((t) => t.port === s.port).flatMap((t) => t.attempts);
        if (!attempts.some((a) => a.outcome === 'relayed'))
            return [];
        // The instance's master.cf names each listener by its loopback address and port.
        return serviceCauses(s.name, attempts, serviceEffective(eff, `127.0.0.1:${s.port}`), client, lookup, files);
    });
}
/** The commit the configuration came from: the workflow's, else the repository's HEAD. */
async function gate_commitOf(dir) {
    if (process.env.GITHUB_SHA)
        return process.env.GITHUB_SHA;
    const r = await run_run('git', ['-C', dir, 'rev-parse', 'HEAD'], { timeout: 5_000 });
    return r.status === 0 ? r.stdout.trim() : null;
}

;// CONCATENATED MODULE: ./src/report/escape.ts
/**
 * Escaping for every place server text ends up. A banner is attacker-chosen:
 * in the job summary it must not open a tag, a link, a table cell or a code
 * span; in the log it must not start a workflow command (`::error::…`).
 */
// Characters that mean something to HTML or to GitHub-flavoured Markdown
// (tables, links, emphasis, code spans, headings, images, autolinks, mentions).
const MARKDOWN_ACTIVE = /[&<>"'|`[\]()*_~\\#!@{}:$]/g;
/** Text safe in Markdown and HTML, including inside a table cell. One line. */
function mdText(s) {
    return s
        .replace(/\r?\n/g, ' ')
        .replace(MARKDOWN_ACTIVE, (c) => `&#${c.charCodeAt(0)};`);
}
/** Text for a <pre> block: HTML-escaped, newlines kept. */
function preText(s) {
    return s.replace(/[&<>"'`|[\]()*_~\\#!@{}:$]/g, (c) => `&#${c.charCodeAt(0)};`);
}
/** Inline code that survives any content. */
function code(s) {
    return `<code>${mdText(s)}</code>`;
}
/** relay-check's own sentences with `backticks`: code spans become <code>, the rest is escaped. */
function inlineMd(s) {
    return s
        .split('`')
        .map((part, i) => (i % 2 === 1 ? code(part) : mdText(part)))
        .join('');
}
/**
 * A line for the runner's log. The runner reads a line as a workflow command
 * when it starts with `::` after leading whitespace; control characters could
 * start a new line. Both are defused; everything else stays readable.
 */
function logLine(s) {
    // eslint-disable-next-line no-control-regex
    const flat = s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    return /^\s*::/.test(flat) ? `\u2024${flat.replace(/^\s*/, '')}` : flat;
}

;// CONCATENATED MODULE: ./src/report/base.ts

/**
 * "Against the base": what the pull request did to the relay, per master.cf
 * service and vector, for the job summary and the terminal. Service names and
 * vector ids come from the repository's files: they go through mdText/code
 * here and termText in the terminal.
 */
const base_short = (commit) => commit.slice(0, 7);
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/**
 * The sentence that answers "did this pull request open it?". Plain text but for
 * what `esc` makes of the commit and the directory, the only parts not written
 * by relay-check (the summary passes mdText).
 */
function baseSentence(b, esc = (s) => s) {
    const at = `commit ${esc(base_short(b.commit))}`;
    if (b.status === 'new')
        return `new configuration: ${esc(b.configDir)} does not exist at the base (${at}), nothing to compare`;
    if (b.status === 'unavailable')
        return esc(b.warning ?? `base not compared (commit ${base_short(b.commit)})`);
    // Counted as distinct vectors on named services: a vector opened on smtp and submission is one trick, on two doors.
    const where = (c) => {
        const rows = b.changes.filter((x) => x.change === c);
        const services = [...new Set(rows.map((x) => x.service))].map(esc);
        const names = services.length <= 3 ? `${services.slice(0, -1).join(', ')}${services.length > 1 ? ' and ' : ''}${services[services.length - 1]}` : `${services.length} services`;
        return `${plural(new Set(rows.map((x) => x.vector)).size, 'vector')} on ${names}`;
    };
    const parts = [];
    if (b.opened > 0)
        parts.push(`this pull request opened ${where('opened')} that the base (${at}) refused`);
    if (b.predates > 0) {
        parts.push(b.opened > 0 ? `${where('unchanged-open')} relayed on the base already` : `already open on the base (${at}): this pull request did not open it (${where('unchanged-open')} relayed there too)`);
    }
    if (b.closed > 0)
        parts.push(`this pull request closed ${where('closed')} that relayed on the base`);
    return parts.length > 0 ? parts.join('; ') : `nothing relays on the base (${at}) or here: no relay was opened or closed`;
}
const CHANGE_LABEL = {
    opened: '**opened** by this pull request',
    'unchanged-open': 'already open on the base',
    closed: 'closed by this pull request',
};
/** At most this many vector ids in one cell; the JSON report has every row. */
const IDS_PER_CELL = 6;
/** Markdown lines for the job summary; none without a base comparison. */
function baseSummaryLines(g) {
    const b = g?.base;
    if (b === undefined)
        return [];
    const out = ['### Against the base', ''];
    if (b.status === 'unavailable')
        return [...out, '> [!WARNING]', `> ${baseSentence(b, mdText)}`];
    if (b.status === 'new')
        return [...out, `${code(b.configDir)} does not exist at the base (commit ${code(base_short(b.commit))}): a new configuration, nothing to compare.`];
    out.push(`${code(b.configDir)} at the base, commit ${code(base_short(b.commit))}, ${g?.exim ? 'through Exim host checking again' : 'on a second private Postfix'}: ${baseSentence(b, mdText)}.`);
    // An open relay fails the step wherever it came from; say so where it predates the pull request.
    if (b.predates > 0)
        out.push('', `An open relay fails the step even when it predates the pull request: fix it here.`);
    const head = new Set(b.changes.filter((c) => c.head !== null).map((c) => c.service));
    const base = new Set(b.changes.filter((c) => c.base !== null).map((c) => c.service));
    const only = (a, not) => [...a].filter((s) => !not.has(s));
    if (only(head, base).length > 0)
        out.push('', `Only in this pull request: ${only(head, base).map(code).join(', ')}.`);
    if (only(base, head).length > 0)
        out.push('', `Only on the base: ${only(base, head).map(code).join(', ')}.`);
    const rows = [];
    for (const change of ['opened', 'unchanged-open', 'closed']) {
        for (const service of new Set(b.changes.filter((c) => c.change === change).map((c) => c.service))) {
            const ids = b.changes.filter((c) => c.change === change && c.service === service).map((c) => c.vector);
            const cell = `${ids.slice(0, IDS_PER_CELL).map(code).join(', ')}${ids.length > IDS_PER_CELL ? `, ${ids.length - IDS_PER_CELL} more` : ''}`;
            rows.push(`| ${code(service)} | ${CHANGE_LABEL[change]} | ${ids.length}: ${cell} |`);
        }
    }
    if (rows.length > 0)
        out.push('', '| master.cf service | Relay | Vectors |', '| --- | --- | --- |', ...rows);
    return out;
}
/** One line for the terminal (plain text: the caller makes it inert); none without a base comparison. */
function baseTerminalLines(g) {
    const b = g?.base;
    return b === undefined ? [] : [`against the base: ${baseSentence(b)}`];
}

;// CONCATENATED MODULE: ./src/report/diagnosis.ts


/**
 * "Why it relays": the diagnosis of each host that relayed, for the job
 * summary (Markdown) and the terminal (plain lines). Rows of the diagnosis
 * table are relay-check's own text with `code`; the summary sentence and the
 * places hold host names and addresses, which are escaped like server text.
 */
const several = (r) => (r.diagnosis?.length ?? 0) > 1;
function findingMd(d) {
    if (d.findings.length === 0)
        return [inlineMd(d.unmatched ?? 'No known cause fits this pattern.')];
    const either = d.findings.length > 1;
    return d.findings.map((f, i) => 
    // Causes read from the configuration all hold at once; the table's rows are alternatives.
    `- ${f.rule.startsWith('gate-cause-') ? '**Cause:** ' : either ? `**${i === 0 ? 'Either' : 'Or'}:** ` : '**Likely cause:** '}${inlineMd(f.cause)}\n  **Fix:** ${inlineMd(f.fix)}` +
        `${f.settings.length > 0 ? ` Settings: ${f.settings.map((s) => inlineMd(`\`${s}\``)).join(', ')}.` : ''} See <${f.docs}>.`);
}
/**
 * The vantage warning in the reader's words. src/diagnosis decides when it is due
 * (d.vantageWarning is set) and words it for the action; the sentence is built
 * here again from d.vantage so the CLI can name --client-address.
 */
function vantageText(d, n) {
    if (!d.vantageWarning)
        return null;
    const v = d.vantage;
    if (!v)
        return d.vantageWarning;
    // The proxied view is said first, above the verdict (view.ts proxiedNotes), not again here.
    if (v.proxied)
        return null;
    const kind = v.network === 'loopback' ? 'a loopback address' : v.network === 'cgnat' ? 'a carrier-grade NAT address' : `a ${v.network ?? 'trusted'} address`;
    const where = d.mta === 'Postfix' ? 'Postfix `mynetworks`' : d.mta === 'Exim' ? 'Exim `relay_from_hosts`' : 'Postfix `mynetworks`, Exim `relay_from_hosts`';
    return `This ran from ${v.effective ?? 'an unknown address'} (${kind}) without ${n.name('client-address')}, which a server may simply trust (${where}). To test as an outsider, set ${n.set('client-address', GATE_CLIENT_ADDRESS)} (Postfix XCLIENT, allowed by \`smtpd_authorized_xclient_hosts\`) or run from outside that network.`;
}
/** What a verified fix proved, as a sentence (plain; services and vectors are the configuration's and the catalogue's). */
function fixVerdict(f) {
    const on = f.services.join(', ');
    if (f.error)
        return `Not verified: ${f.error}.`;
    // Services grouped by the mailboxes they still take: "smtp, 2525 still accept postmaster@… and root@…".
    const accepted = (f.ownMail ?? []).filter((m) => m.after === true);
    const byBoxes = new Map();
    for (const svc of [...new Set(accepted.map((m) => m.service))]) {
        const boxes = accepted.filter((m) => m.service === svc).map((m) => m.mailbox).join(' and ');
        byBoxes.set(boxes, [...(byBoxes.get(boxes) ?? []), svc]);
    }
    const kept = [...byBoxes].map(([boxes, svcs]) => `${svcs.join(', ')} still accept${svcs.length === 1 ? 's' : ''} ${boxes}`);
    if (f.verified)
        return `Verified on a copy: with this change, the ${f.rerun.length} attempt(s) that relayed on ${on} are all denied${kept.length > 0 ? `, and ${kept.join(', ')} from an outside client` : ''}.`;
    const why = [
        ...(f.stillRelayed.length > 0 ? [`${f.stillRelayed.length} of ${f.rerun.length} still relay on ${on} (${f.stillRelayed.slice(0, 5).join(', ')}${f.stillRelayed.length > 5 ? ', …' : ''})`] : []),
        ...(f.notVerified ?? []),
    ];
    return `Not verified: ${why.length > 0 ? why.join('; ') : 'the fixed copy proved nothing'}.`;
}
/** A unified diff in a fenced block: a fence longer than any run of backticks in it, so configuration text cannot close it. */
function diffBlock(diff) {
    const longest = Math.max(0, ...(diff.match(/`+/g) ?? []).map((m) => m.length));
    const fence = '`'.repeat(Math.max(3, longest + 1));
    return `${fence}diff\n${diff}\n${fence}`;
}
/** Gate mode: where in the configuration, what the fixed copy showed, and the change as a diff. Configuration text is escaped. */
function fixMd(f, configDir) {
    const where = f.places.map((p) => `${code(`${configDir.replace(/\/+$/, '')}/${p.file}:${p.line}`)} (${code(p.setting)})`).join(', ');
    return `**In the configuration:** ${where}. **${mdText(fixVerdict(f))}**\n\n${diffBlock(f.diff)}`;
}
/** The section's Markdown, or null when nothing relayed. */
function diagnosisMarkdown(r, n = settings_ACTION_NAMING) {
    const ds = r.diagnosis ?? [];
    if (ds.length === 0)
        return null;
    const parts = ['### Why it relays'];
    for (const d of ds) {
        parts.push(`${several(r) ? `${mdText(d.host)}: ` : ''}**${inlineMd(d.summary)}**`);
        const vantage = vantageText(d, n);
        if (vantage)
            parts.push(`> [!IMPORTANT]\n> ${inlineMd(vantage)}`);
        parts.push(findingMd(d).join('\n'));
    }
    for (const f of r.gate?.fixes ?? [])
        parts.push(fixMd(f, r.gate?.configDir ?? '.'));
    return parts.join('\n\n');
}
/** The same for the terminal: plain text, `code` marks dropped, to be wrapped by the caller. */
function diagnosisText(r, n = settings_ACTION_NAMING) {
    const plain = (s) => s.replace(/`/g, '');
    return (r.diagnosis ?? []).map((d) => ({
        head: `${several(r) ? `${d.host}: ` : ''}${d.summary}`,
        items: [
            ...(vantageText(d, n) ? [plain(vantageText(d, n) ?? '')] : []),
            ...(d.findings.length === 0
                ? [plain(d.unmatched ?? 'No known cause fits this pattern.')]
                : d.findings.map((f) => `${plain(f.cause)} Fix: ${plain(f.fix)} (${f.docs})`)),
        ],
    }));
}
/** Gate mode, for the terminal: each fix's places and verdict as a line, then its diff as it is (not wrapped). */
function fixText(r) {
    return (r.gate?.fixes ?? []).map((f) => ({ head: `${f.places.map((p) => `${p.file}:${p.line}`).join(', ')}: ${fixVerdict(f)}`, diff: f.diff.split('\n') }));
}

;// CONCATENATED MODULE: ./src/report/view.ts



const TRANSPORT_LABEL = { plain: 'plaintext', starttls: 'STARTTLS', implicit: 'implicit TLS' };
const FAMILY_LABEL = {
    plain: 'plain senders (outside, null)',
    senders: 'trusted-looking senders',
    helo: 'HELO names',
    routing: 'routing forms',
    syntax: 'syntax variants',
    roles: 'role mailboxes (postmaster@ …)',
    'after-local': 'outside after a local recipient',
    local: 'local delivery checks',
    other: 'other forms',
};
/**
 * The family of a vector, from its stable id (src/battery/vectors.ts names
 * them by family; the ids are a public contract, so this mapping stays valid).
 */
function familyOf(vector) {
    if (vector === 'null-sender' || vector === 'external-sender')
        return 'plain';
    if (/^(helo-|input-helo-)/.test(vector))
        return 'helo';
    if (vector.startsWith('external-after-'))
        return 'after-local';
    if (vector.startsWith('role-'))
        return 'roles';
    if (vector === 'literal-recipient')
        return 'local';
    if (/percent|bang|source-route|quoted|double-at|untagged/.test(vector))
        return 'routing';
    if (/unbracketed|spaced|spaces-inside|trailing-|upper-case/.test(vector))
        return 'syntax';
    if (/(-sender|^input-sender-\d+)$/.test(vector) || vector === 'recipient-as-sender')
        return 'senders';
    return 'other';
}
function addressLabel(t) {
    // Gate mode: the service as the configuration names it; the runner's port is in the gate section.
    if (t.service)
        return view_serviceName(t.service);
    if (!t.address)
        return `${t.host}:${t.port}`;
    const addr = formatAddress(t.address, t.port);
    return t.host === t.address ? addr : `${t.host} (${addr})`;
}
/** The label for details (log groups, transcripts): in gate mode also where the service ran on the runner. */
function detailLabel(t) {
    return t.service ? `${view_serviceName(t.service)}, run on ${formatAddress(t.address, t.port)}` : addressLabel(t);
}
/**
 * `smtp (25)` as the gate labels a service; a master.cf listener written as
 * host:port is its own port, so `127.0.0.1:2801 (127.0.0.1:2801)` says it once.
 */
function view_serviceName(service) {
    const m = /^(.*) \((.*)\)$/.exec(service);
    return m && m[1] === m[2] ? m[1] : service;
}
function untestedReason(runs) {
    for (const t of runs)
        if (!t.reachable && t.error)
            return t.error;
    for (const t of runs) {
        const ran = t.attempts.find((a) => a.outcome !== 'skipped');
        if (ran)
            return ran.reason;
    }
    return runs[0]?.attempts[0]?.reason ?? 'no attempt could be run';
}
/** One entry per address and port, in the report's order. */
function view_addresses(r) {
    const by = new Map();
    for (const t of r.targets) {
        const k = `${t.host}|${t.address}|${t.port}`;
        by.set(k, [...(by.get(k) ?? []), t]);
    }
    return [...by.values()].map((runs) => {
        const t = runs[0];
        const tallies = runs.map(tallyOf);
        const tested = tallies.some((x) => x.tested);
        const ids = (pred) => new Set(runs.flatMap((x) => x.attempts.filter(pred).map((a) => a.vector))).size;
        // Each vector counted once, by its worst outcome over the transports: relayed, then inconclusive, then denied.
        const worst = new Map();
        const rank = { relayed: 3, inconclusive: 2, denied: 1, skipped: 0 };
        for (const a of runs.flatMap((x) => x.attempts))
            if (rank[a.outcome] > rank[worst.get(a.vector) ?? 'skipped'])
                worst.set(a.vector, a.outcome);
        const count = (o) => [...worst.values()].filter((x) => x === o).length;
        return {
            host: t.host,
            address: t.address,
            port: t.port,
            family: t.family,
            label: addressLabel(t),
            runs,
            verdict: runVerdict(tallies),
            tested,
            untestedWhy: tested ? null : untestedReason(runs),
            vectors: ids((a) => a.outcome !== 'skipped'),
            relayedVectors: count('relayed'),
            inconclusiveVectors: count('inconclusive'),
            deniedVectors: count('denied'),
        };
    });
}
/** The HELO name most attempts used: relay-check's own. Only a vector that varies it shows its HELO. */
function usualHelo(r) {
    const n = new Map();
    for (const t of r.targets)
        for (const a of t.attempts)
            if (a.helo !== null)
                n.set(a.helo, (n.get(a.helo) ?? 0) + 1);
    let best = null;
    for (const [h, c] of n)
        if (best === null || c > (n.get(best) ?? 0))
            best = h;
    return best;
}
/**
 * The reason with what differs between transports for no reason a reader cares
 * about taken out: each control probe uses a fresh random mailbox.
 */
function sameReason(reason) {
    return reason.replace(/relay-check-nx-[0-9a-f]+/g, 'relay-check-nx-…');
}
/** Findings of the given outcomes, merged: same vector, commands, reply and reason → one finding. */
function findings(r, outcomes) {
    const helo = usualHelo(r);
    const out = new Map();
    for (const t of r.targets) {
        const label = addressLabel(t);
        for (const a of t.attempts) {
            if (!outcomes.includes(a.outcome))
                continue;
            const shownHelo = a.helo !== null && a.helo !== helo ? a.helo : null;
            const reason = sameReason(a.reason);
            const key = JSON.stringify([a.outcome, a.vector, shownHelo, a.mailFrom, a.rcptTo, a.reply, reason]);
            let f = out.get(key);
            if (!f) {
                f = {
                    vector: a.vector,
                    description: a.description,
                    provenance: a.provenance,
                    family: familyOf(a.vector),
                    outcome: a.outcome,
                    helo: shownHelo,
                    mailFrom: a.mailFrom,
                    rcptTo: a.rcptTo,
                    reply: a.reply,
                    reason,
                    stage: a.stage,
                    where: [],
                    count: 0,
                };
                out.set(key, f);
            }
            f.count++;
            const w = f.where.find((x) => x.label === label);
            if (w) {
                if (!w.transports.includes(t.transport))
                    w.transports.push(t.transport);
            }
            else
                f.where.push({ label, transports: [t.transport] });
        }
    }
    return [...out.values()];
}
/** "127.0.0.1:25 (plaintext, STARTTLS)"; several addresses joined, at most `max` named. */
function view_whereText(where, max = 3) {
    const one = (w) => `${w.label} (${w.transports.map((x) => TRANSPORT_LABEL[x]).join(', ')})`;
    const named = where.slice(0, max).map(one);
    if (where.length > max)
        named.push(`${where.length - max} more address(es)`);
    return named.join('; ');
}
/** Findings grouped by family, largest first. */
function byFamily(list) {
    const m = new Map();
    for (const f of list)
        m.set(f.family, [...(m.get(f.family) ?? []), f]);
    return [...m.entries()].map(([family, findings]) => ({ family, findings })).sort((a, b) => b.findings.length - a.findings.length);
}
/** Distinct vector ids of a list, in order. */
function vectorIds(list) {
    return [...new Set(list.map((f) => f.vector))];
}
function clientView(r, views) {
    const open = views.filter((v) => v.verdict === 'open');
    const privateOpen = open.filter((v) => trustedByDefault(networkKind(v.address)));
    const loopback = privateOpen.every((v) => v.address.startsWith('127.') || v.address === '::1' || v.address.startsWith('::ffff:127.'));
    return {
        clientAddress: r.settings.clientAddress,
        trustedNetwork: r.settings.clientAddress === null && privateOpen.length > 0,
        kind: loopback ? 'loopback' : 'private-network',
    };
}
/** Attempts that RCPT accepted and DATA then refused (only under `relaxed`, which sends DATA). */
function refusedAtData(r) {
    return r.targets.flatMap((t) => t.attempts.filter((a) => a.stage === 'data' && a.outcome !== 'relayed'));
}
/** Address and port pairs where no relay attempt ran on any transport (the `unreachable` output). */
function untestedAddresses(r) {
    return view_addresses(r).filter((v) => !v.tested);
}
/**
 * The reply and, when it adds something, the reason: "554 5.7.1 Relay access
 * denied" says "relay denied" already, so the words are not printed twice.
 */
function replyWithReason(reply, reason) {
    if (reply === null)
        return reason;
    const words = (s) => s.toLowerCase().match(/[a-z0-9]+/g) ?? [];
    const said = new Set(words(reply));
    const adds = words(reason).filter((w) => !['the', 'a', 'an', 'by', 'of'].includes(w) && !said.has(w));
    return adds.length === 0 ? reply : `${reply} (${reason})`;
}
/**
 * Why the step fails, without repeating what the verdict sentence already says:
 * verdict/run.ts puts the relayed count first when anything relayed (counted per
 * transport, which would contradict the per-vector sentence); the rest follow.
 */
function otherFailReasons(r) {
    const rest = r.counts.relayed > 0 ? r.failReasons.slice(1) : r.failReasons;
    // The verdict sentence names each untested address with its reason already; verdict/run.ts's
    // "HOST:PORT: no address could be reached" for it is not even true when XCLIENT was refused.
    const untested = untestedAddresses(r);
    const said = new Set(untested.flatMap((v) => v.runs.map((t) => t.error).filter((e) => e !== null)));
    const keys = untested.map((v) => `${v.host.includes(':') ? `[${v.host}]` : v.host}:${v.port}: `);
    return rest.filter((reason) => !said.has(reason) && !keys.some((k) => reason.startsWith(k)));
}
/** Skipped findings by reason, in order; each group a single line in every renderer. */
function skippedGroups(r) {
    const by = new Map();
    for (const f of findings(r, ['skipped'])) {
        const g = by.get(f.reason) ?? { reason: f.reason, vectors: [], where: [] };
        if (!g.vectors.includes(f.vector))
            g.vectors.push(f.vector);
        for (const w of f.where) {
            const have = g.where.find((x) => x.label === w.label);
            if (!have)
                g.where.push({ label: w.label, transports: [...w.transports] });
            else
                for (const t of w.transports)
                    if (!have.transports.includes(t))
                        have.transports.push(t);
        }
        by.set(f.reason, g);
    }
    return [...by.values()];
}
/** "a, b, c and 54 more": a list of vector ids that stays one line. */
function someIds(ids, show = 3) {
    return ids.length <= show ? ids.join(', ') : `${ids.slice(0, show).join(', ')} and ${ids.length - show} more`;
}
/** The MTA an address answered as, for the target tables: "Exim 4.96 (high confidence)", "unknown", or "—" when nothing was heard. */
function mtaLabel(v, gate) {
    // Gate mode: the MTA is the one relay-check built, not a guess from the banner.
    if (gate?.exim)
        return `Exim ${gate.exim.version}`;
    if (gate)
        return `Postfix ${gate.postfixVersion}`;
    const m = v.runs.find((t) => t.mta && t.mta.name !== 'unknown')?.mta ?? v.runs.find((t) => t.mta)?.mta;
    if (!m)
        return '—';
    if (m.name === 'unknown')
        return 'unknown';
    return `${m.name}${m.version ? ` ${m.version}` : ''} (${m.confidence} confidence)`;
}
/**
 * The positive control over an address's transports, in one sentence of plain text (renderers
 * escape it): whether the server accepts mail for its own domain from this client, with the reply.
 * Null when nothing was tested there.
 */
function ownMailText(v) {
    // An open relay needs no control: what relayed is the evidence.
    if (!v.tested || v.verdict === 'open')
        return null;
    const controls = v.runs.map((t) => t.positiveControl).filter((c) => c !== undefined);
    const probes = controls.flatMap((c) => c.probes);
    const accepted = probes.find((p) => p.accepted === true);
    if (accepted)
        return `accepts mail for its own domain from this client (${accepted.mailbox}: ${accepted.reply ?? 'accepted'})`;
    // A plaintext "530 Must issue a STARTTLS command first" says less than the refusal inside TLS.
    const refused = probes.find((p) => p.accepted === false && p.rule !== 'starttls-required') ?? probes.find((p) => p.accepted === false);
    const elsewhere = controls.find((c) => c.elsewhere)?.elsewhere;
    const second = elsewhere ? `; as ${elsewhere.address}: ${elsewhere.accepted === true ? 'accepted' : elsewhere.accepted === false ? 'refused' : 'no answer'} (${elsewhere.reply ?? ''})` : '';
    if (refused)
        return `refuses mail for its own domain from this client (${refused.mailbox}: ${refused.reply ?? 'refused'})${second}`;
    const note = controls.find((c) => c.note)?.note;
    return note ?? null;
}
/**
 * Said first: the server saw a proxy's address instead of ours (one sentence per address it
 * saw, however many targets). Plain text with `backticks`; renderers escape it.
 */
function proxiedNotes(r) {
    const said = new Map();
    for (const t of r.targets) {
        const s = t.vantage ? proxiedSentence(t.vantage) : null;
        if (s && t.vantage?.seenAs)
            said.set(t.vantage.seenAs, s);
    }
    return [...said.values()];
}
/**
 * The address the server named for this client, or, when it named none, that it is unknown and
 * how to find it (not for loopback targets: nothing stands between, and every run would say it).
 * Null under XCLIENT, which supplied the address itself. Plain text with `backticks`.
 */
function seenAsText(v) {
    const t = v.runs.find((x) => x.vantage);
    const seen = t?.vantage;
    if (!t || !seen || seen.xclient !== null)
        return null;
    if (seen.seenAs !== null)
        return `${seen.seenAs} (named in its EHLO reply)`;
    if (networkKind(v.address) === 'loopback')
        return null;
    return unseenSentence(seen, t.mta?.name ?? null);
}
/** Every routing proof of the run, once per service and vector: what did not relay first, then routing forms, then the rest. */
function routeRows(r) {
    const out = new Map();
    for (const t of r.targets) {
        for (const a of t.attempts) {
            if (!a.route)
                continue;
            const label = addressLabel(t);
            const key = JSON.stringify([label, a.vector]);
            if (!out.has(key))
                out.set(key, { label, vector: a.vector, family: familyOf(a.vector), rcpt: a.rcptTo[a.rcptTo.length - 1] ?? '', proof: a.route });
        }
    }
    const rank = (x) => (x.proof.relays === false ? 0 : x.proof.relays === null ? 1 : x.family === 'routing' ? 2 : 3);
    return [...out.values()].sort((a, b) => rank(a) - rank(b));
}
/** Where a proof says the mail went, in a few words. */
function routeText(p) {
    if (p.class === null)
        return 'not shown';
    const to = { default: 'default transport: relayed', relay: 'relay transport (relay_domains): relayed', local: 'local transport: not a relay', virtual: 'virtual mailbox transport: not a relay', bounced: 'bounced by the server itself: not a relay' };
    return to[p.class];
}

;// CONCATENATED MODULE: ./src/report/summary.ts








/** GitHub refuses a step summary over 1 MiB; stay well below it. */
const SUMMARY_LIMIT_BYTES = (/* unused pure expression or super */ null && (1024 * 1024 - 64 * 1024));
/** Past this many relayed vectors the relayed section shows families, and the full list folded. */
const FOLD_FINDINGS_OVER = 10;
const BANNER = {
    open: '❌ Open relay',
    closed: '✅ Not an open relay',
    inconclusive: '⚠️ Inconclusive',
};
function table(head, rows) {
    const line = (cells) => `| ${cells.join(' | ')} |`;
    return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
const summary_plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** "plaintext and STARTTLS": the transports of an address that gave a given answer. */
function transportsText(ts) {
    const names = ts.map((t) => TRANSPORT_LABEL[t]);
    return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
/** The label, with the address family named when the same host was tested over both. */
function spokenLabel(v, all) {
    const dual = all.some((o) => o.host === v.host && o.port === v.port && o.family !== v.family && o.family !== null);
    return dual && v.family ? `${v.label} over IPv${v.family}` : v.label;
}
/** What was found at one address, as a clause of the verdict sentence. */
function addressClause(v, all) {
    const name = spokenLabel(v, all);
    if (!v.tested)
        return `${name} could not be tested (${v.untestedWhy ?? 'unreachable'})`;
    if (v.verdict === 'open') {
        const where = v.runs.filter((t) => t.counts.relayed > 0).map((t) => t.transport);
        return `${name} relays: ${v.relayedVectors} of ${summary_plural(v.vectors, 'vector')} ${v.relayedVectors === 1 ? 'was' : 'were'} accepted${v.runs.length > 1 || where[0] !== 'plain' ? ` (${transportsText(where)})` : ''}`;
    }
    const over = v.runs.filter((t) => t.counts.tests > 0).map((t) => t.transport);
    const overText = over.length > 1 || (over[0] && over[0] !== 'plain') ? `, ${transportsText(over)}` : '';
    const refused = `${v.vectors === 1 ? 'its one vector was' : `all ${v.vectors} vectors were`} refused${overText}`;
    if (v.verdict === 'closed')
        return `${name} is closed (${refused})`;
    const missed = notEntered(v);
    if (v.inconclusiveVectors === 0 && missed)
        return `${name} relayed nothing (${refused}), but ${missed}`;
    return `${name} relayed nothing, but ${v.inconclusiveVectors} of ${summary_plural(v.vectors, 'vector')} proved nothing either way${missed ? `, and ${missed}` : ''}`;
}
/** A transport of a tested address whose session could not be set up (STARTTLS offered, handshake failed): what was not tested and why. */
function notEntered(v) {
    const missed = v.runs.filter((t) => !t.reachable);
    if (missed.length === 0)
        return null;
    return missed.map((t) => `${TRANSPORT_LABEL[t.transport]} could not be entered (${t.error ?? 'no session'}), so nothing was tested inside it`).join('; ');
}
const ORDER = { open: 0, inconclusive: 1, closed: 2 };
/**
 * What the verdict means, in one sentence that says what was found where
 * ("localhost ([::1]:25) over IPv6 relays…; localhost (127.0.0.1:25) over IPv4
 * is closed"). Plain text: the terminal prints it as it is, the summary escapes it.
 */
function headline(r) {
    const views = view_addresses(r);
    if (views.length === 0)
        return 'Nothing was tested: no address to test.';
    const sorted = [...views].sort((a, b) => (a.tested === b.tested ? ORDER[a.verdict] - ORDER[b.verdict] : a.tested ? -1 : 1));
    let clauses;
    if (views.length <= HEADLINE_NAMES_UP_TO) {
        clauses = sorted.map((v) => addressClause(v, views));
    }
    else {
        // A fleet: name the ones that matter, count the rest.
        const open = sorted.filter((v) => v.tested && v.verdict === 'open');
        const unknown = sorted.filter((v) => v.tested && v.verdict === 'inconclusive');
        const untested = sorted.filter((v) => !v.tested);
        const closed = sorted.filter((v) => v.tested && v.verdict === 'closed');
        const names = (list) => list.slice(0, 3).map((v) => v.label).join(', ') + (list.length > 3 ? ` and ${list.length - 3} more` : '');
        clauses = [
            open.length ? `${open.length} of ${views.length} addresses relay (${names(open)})` : '',
            unknown.length ? `${unknown.length} proved nothing either way (${names(unknown)})` : '',
            untested.length ? `${untested.length} could not be tested (${names(untested)})` : '',
            closed.length ? `${summary_plural(closed.length, 'address is', 'addresses are')} closed` : '',
        ].filter(Boolean);
    }
    const body = clauses.join('; ');
    if (r.verdict === 'open')
        return `${body}.`;
    if (r.verdict === 'closed')
        return `Not an open relay: ${body}.`;
    return `Nothing relayed, but the run could not prove the server closed: ${body}.`;
}
/**
 * What an open verdict proves about who may relay, without claiming more than
 * was shown: from a loopback or private address without `client-address`, only
 * that this client may relay. Plain text with `backticks` for code.
 */
function reachNote(r, besideDiagnosis = false) {
    if (r.verdict !== 'open')
        return null;
    const c = clientView(r, view_addresses(r));
    const via = r.gate?.exim ? 'Exim host checking, `exim -bh`' : 'XCLIENT';
    if (c.clientAddress && trustedByDefault(networkKind(c.clientAddress))) {
        return `It relayed for the client ${c.clientAddress} (${networkKind(c.clientAddress) === 'loopback' ? 'loopback' : 'a private address'}, tested through ${via}): anyone can send mail through this server if outside clients reach it as ${c.clientAddress} (a forwarder, proxy or container gateway in front of it that does not keep their address).`;
    }
    if (c.clientAddress)
        return `It relayed for an outside client (tested as ${c.clientAddress} through ${via}): anyone can send mail through this server.`;
    if (c.trustedNetwork) {
        // "Why it relays" says the same, with the address the server saw, right below.
        if (besideDiagnosis && (r.diagnosis ?? []).some((d) => d.vantageWarning))
            return null;
        const kind = c.kind === 'loopback' ? 'a loopback address' : 'a private-network address';
        return `Tested from ${kind}, which mail servers often trust by design: this proves that this client may relay, not yet that anyone can.`;
    }
    return 'Anyone who can connect from where this check ran can send mail through this server to any address.';
}
/** A note on attempts RCPT accepted and DATA refused (`relaxed` only). */
function dataNote(r) {
    const refused = refusedAtData(r);
    if (refused.length === 0)
        return null;
    return `${summary_plural(refused.length, 'attempt')} got RCPT TO accepted and the message then refused at DATA (${[...new Set(refused.map((a) => a.vector))].slice(0, 3).join(', ')}${refused.length > 3 ? ', …' : ''}): under \`relaxed\` that is not counted as a relay.`;
}
/**
 * Gate mode: every accepted attempt was sent through DATA to the private instance and decided
 * by where its log says the mail went. Plain text with `backticks` for code.
 */
function routeNote(r) {
    const rows = routeRows(r);
    if (rows.length === 0)
        return null;
    const n = (f) => rows.filter(f).length;
    const parts = [
        n((x) => x.proof.relays === true) ? `${n((x) => x.proof.relays === true)} handed to the relay or default transport (relayed)` : '',
        n((x) => x.proof.relays === false) ? `${n((x) => x.proof.relays === false)} delivered or returned by the server itself (not a relay)` : '',
        n((x) => x.proof.relays === null) ? `${n((x) => x.proof.relays === null)} not shown, decided by the reply` : '',
    ].filter(Boolean);
    return `Each accepted attempt was sent through DATA to the private instance, whose log says where the mail went: ${parts.join(', ')}.`;
}
/** Why vectors did not run where the plain attempt relayed. Plain text with `backticks` for code. */
function stopNote(r) {
    const stopped = r.targets.flatMap((t) => (t.stopped && t.stopped.notRun > 0 ? [t.stopped] : []));
    if (stopped.length === 0)
        return null;
    // Vectors, as the table counts them: one skipped on plaintext and inside STARTTLS is one vector not run.
    const notRun = notRunVectors(r);
    const after = [...new Set(stopped.map((s) => `\`${s.after}\``))].join(', ');
    return `relay-check stopped where the plain attempt (${after}) relayed: ${summary_plural(notRun, 'further vector was', 'further vectors were')} not run, since on an open server every transaction that gets a recipient accepted opens a queue file. Once the relay is closed the whole battery runs.`;
}
/** Distinct vectors that ran on no transport of an address where a run stopped early, summed over addresses. */
function notRunVectors(r) {
    return view_addresses(r).reduce((n, v) => {
        if (!v.runs.some((t) => t.stopped))
            return n;
        const ran = new Set(v.runs.flatMap((t) => t.attempts.filter((a) => a.outcome !== 'skipped').map((a) => a.vector)));
        // Skipped for the stop (src/schedule/target.ts words each such reason "not run: the plain attempt (ID) …"), not for want of an IPv6 address.
        const skipped = new Set(v.runs.flatMap((t) => (t.stopped ? t.attempts.filter((a) => a.outcome === 'skipped' && !ran.has(a.vector) && a.reason.startsWith(`not run: the plain attempt (${t.stopped?.after})`)).map((a) => a.vector) : [])));
        return n + skipped.size;
    }, 0);
}
/** Accepted recipients the server was slow to answer (Postfix in_flow_delay). Plain text with `backticks` for code. */
function pauseNote(r) {
    const pauses = r.targets.reduce((n, t) => n + (t.pauses ?? 0), 0);
    if (pauses === 0)
        return null;
    return `The server paused before accepting ${summary_plural(pauses, 'recipient')} (${LIMITS.slowReplyMs / 1000} s or more each): Postfix does this when mail arrives faster than it leaves (\`in_flow_delay\`, once its queue-file tokens are used up), and its real mail waits as long meanwhile.`;
}
const POSTFIX_DOC = 'https://www.postfix.org/SMTPD_ACCESS_README.html';
const POSTFIX_ADDR_DOC = 'https://www.postfix.org/ADDRESS_REWRITING_README.html';
/** Advice per family of relayed vector. Markdown from relay-check itself (no server text). */
const FAMILY_ADVICE = {
    plain: `**Relaying is not restricted for this client at all**: a plain message from outside to outside got through. Postfix: end \`smtpd_relay_restrictions\` in \`reject_unauth_destination\` and keep \`mynetworks\` to hosts you trust; Exim: \`acl_check_rcpt\` must \`require domains = +local_domains : +relay_to_domains\` for other hosts. See <${POSTFIX_DOC}>.`,
    senders: '**It trusts sender addresses**, which anyone can forge: remove `OK` results for senders (`check_sender_access`) before `reject_unauth_destination`; let clients that must relay authenticate.',
    helo: '**It trusts HELO names**, which the client chooses: remove `check_helo_access` entries returning `OK` before `reject_unauth_destination`.',
    routing: `**It forwards addresses hidden in the local part** (percent hack, bang paths, source routes, quoted addresses). Postfix: \`allow_percent_hack = no\`, \`swap_bangpath = no\`, \`resolve_dequoted_address = yes\`; Exim: empty \`percent_hack_domains\`. See <${POSTFIX_ADDR_DOC}>.`,
    syntax: '**It relays malformed addresses**: its parser and its relay check disagree. Postfix: `strict_rfc821_envelopes = yes`.',
    roles: "**It relays to other domains' role mailboxes**: an entry like `/^postmaster@/ OK` before `reject_unauth_destination` relays to every domain's postmaster; anchor it to your domains.",
    'after-local': '**It relays an outside recipient after a local one**: the relay check must run at every `RCPT TO`, not once per message.',
    local: '**A local-delivery check was accepted**: see the reply below.',
    other: '**Other forms relayed**: the table below has the exact commands.',
};
/** Gate mode: the change proved on a copy, as the first thing to do; a change that is not verified, with why. */
function fixAdvice(r) {
    const dir = (r.gate?.configDir ?? '.').replace(/\/+$/, '');
    return (r.gate?.fixes ?? []).map((f) => {
        const at = f.places[0];
        const where = at ? `${code(`${dir}/${at.file}`)} line ${at.line}` : code(dir);
        const to = f.diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).map((l) => l.slice(1).trim());
        return `${f.verified ? '**Change' : '**Not verified, do not apply as is: change'} ${where}** to ${to.map((l) => code(l)).join(', ') || 'the change below'}. ${mdText(fixVerdict(f))} The diff is shown with the cause.`;
    });
}
/** The "What to do" bullets that fit this run. Markdown from relay-check; inputs escaped. */
function adviceBullets(r, n = settings_ACTION_NAMING) {
    const views = view_addresses(r);
    const out = [];
    if (r.verdict === 'open') {
        const relayed = findings(r, ['relayed']);
        const c = clientView(r, views);
        const diagnoses = r.diagnosis ?? [];
        // "Why it relays" already says it, with the address the server saw.
        if (c.trustedNetwork && !diagnoses.some((d) => d.vantageWarning)) {
            out.push(`**Test as an outsider first**: ${c.kind === 'loopback' ? 'loopback' : 'a private network'} is trusted by Postfix \`mynetworks\` and Exim \`relay_from_hosts\`. Re-run with ${n.set('client-address', GATE_CLIENT_ADDRESS)} (Postfix XCLIENT, allowed by \`smtpd_authorized_xclient_hosts\`) or from outside your network.`);
        }
        // The diagnosis names cause and fix; advice by family is for what it could not explain.
        const explained = diagnoses.length > 0 && diagnoses.every((d) => d.findings.length > 0);
        const families = new Set(relayed.map((f) => f.family));
        // A plain outside-to-outside relay explains every other family: one fix, not seven.
        const fits = explained ? [] : families.has('plain') ? ['plain'] : byFamily(relayed).map((g) => g.family);
        out.push(...fixAdvice(r));
        for (const f of fits) {
            const ids = vectorIds(relayed.filter((x) => x.family === f));
            out.push(`${FAMILY_ADVICE[f]}${f === 'plain' ? '' : ` (${ids.slice(0, 4).map((i) => code(i)).join(', ')}${ids.length > 4 ? `, ${ids.length - 4} more` : ''})`}`);
        }
        out.push(r.settings.strictness === 'relaxed'
            ? 'Then re-run this check: the tables below name the exact commands that got through.'
            : `Relays are counted when \`RCPT TO\` is accepted; ${n.set('strictness', 'relaxed')} also sends a test message through \`DATA\` and counts only what got through. Fix, then re-run this check.`);
    }
    else if (r.verdict === 'inconclusive') {
        out.push(...untestedAdvice(views.filter((x) => !x.tested), n));
        for (const v of views.filter((x) => x.tested && x.runs.some((t) => t.transport === 'starttls' && !t.reachable))) {
            const why = v.runs.find((t) => t.transport === 'starttls' && !t.reachable)?.error ?? 'no session';
            // relay-check offers TLS 1.0 to 1.3 at any cipher strength (TEST_TLS): what fails here fails for most clients.
            out.push(`${mdText(v.label)} offers STARTTLS, but it could not be entered (${mdText(why)}), so nothing was tested inside it. relay-check accepts TLS 1.0 to 1.3 and weak ciphers, so most clients fail there too: fix the server's TLS (certificate, protocols, ciphers) or stop offering STARTTLS, or test plaintext only with ${n.set('tls', 'none')}.`);
        }
        // Vectors, as the table counts them: one inconclusive in plaintext and inside STARTTLS is one.
        const reasons = new Map();
        for (const f of findings(r, ['inconclusive']))
            reasons.set(f.reason, (reasons.get(f.reason) ?? new Set()).add(f.vector));
        for (const [reason, ids] of [...reasons].sort((a, b) => b[1].size - a[1].size).slice(0, 3))
            out.push(`${summary_plural(ids.size, 'vector')} proved nothing: ${mdText(reason)}.`);
        if (reasons.size > 3)
            out.push(`${reasons.size - 3} more reason(s) in the table below.`);
    }
    return out;
}
/**
 * What to do about addresses nothing was tested at. The verdict sentence said why
 * already: this says only the fix, once per kind of failure, and the IPv6 route
 * only to an IPv6 address.
 */
function untestedAdvice(untested, n) {
    const out = [];
    const xclient = untested.filter((v) => v.runs.some((t) => t.errorKind === 'xclient'));
    if (xclient.length > 0) {
        out.push(`Authorize the runner for XCLIENT on ${mdText(xclient.map((v) => v.label).join(', '))}: Postfix \`smtpd_authorized_xclient_hosts\` must list the address the check connects from (\`127.0.0.0/8\` when it runs on the server itself). Or run without ${n.name('client-address')}, as the runner's own address, which the server may trust.`);
    }
    const other = untested.filter((v) => !xclient.includes(v));
    if (other.length > 0) {
        const v6 = other.some((v) => v.family === 6);
        out.push(`Check that the runner can reach ${mdText(other.map((v) => v.label).join(', '))}${v6 ? ' (GitHub-hosted runners have no IPv6 route)' : ''}, or leave ${other.length === 1 ? 'it' : 'them'} out by naming the hosts to test in ${n.name('host')}.`);
    }
    return out;
}
/** `vector-id` and, in one code cell, `HELO x · MAIL FROM → RCPT TO`. */
function attemptCell(f) {
    const cmds = f.mailFrom === null ? null : `${f.helo !== null ? `HELO ${f.helo} · ` : ''}${f.mailFrom} → ${f.rcptTo.join(', ')}`;
    return `**${code(f.vector)}**${cmds ? `<br>${code(cmds)}` : ''}`;
}
function whereCell(f) {
    return mdText(view_whereText(f.where));
}
function replyCell(f, withReason) {
    if (f.reply === null)
        return mdText(f.reason);
    return withReason ? `${code(f.reply)}<br>${mdText(f.reason)}` : code(f.reply);
}
/** Adds text while it fits under a byte budget; remembers whether anything was left out. */
class Budget {
    limit;
    parts = [];
    used = 0;
    cut = false;
    constructor(limit) {
        this.limit = limit;
    }
    add(text) {
        const bytes = Buffer.byteLength(text) + 2;
        if (this.used + bytes > this.limit) {
            this.cut = true;
            return false;
        }
        this.used += bytes;
        this.parts.push(text);
        return true;
    }
    /** A table with as many rows as fit, and a line saying how many did not. */
    table(head, rows, prefix = '', suffix = '') {
        const reserve = 256;
        const kept = [];
        let size = Buffer.byteLength(prefix + suffix + table(head, [])) + reserve;
        for (const row of rows) {
            const bytes = Buffer.byteLength(row.join(' | ')) + 6;
            if (this.used + size + bytes > this.limit)
                break;
            size += bytes;
            kept.push(row);
        }
        const omitted = rows.length - kept.length;
        const note = omitted > 0 ? `\n\n_${omitted} more row(s) left out to stay under GitHub's 1 MiB summary limit; the JSON report has them all._` : '';
        if (omitted > 0)
            this.cut = true;
        this.add(`${prefix}${table(head, kept)}${note}${suffix}`);
    }
}
/**
 * Why a transport of a tested address ran nothing; null when it ran, or when the
 * run stopped there because plaintext relayed (the stop note says that once).
 */
function transportGap(t) {
    if (t.stopped)
        return null;
    if (!t.reachable)
        return t.error ?? 'unreachable';
    if (t.counts.tests === 0)
        return t.attempts.find((a) => a.outcome === 'skipped')?.reason ?? 'no attempt ran';
    return null;
}
/** TLS as the cell shows it. The gate's certificate is one it made itself: whether it verifies says nothing about production. */
function tlsText(tls, gate) {
    return gate ? `${tls.protocol ?? '?'}, test certificate` : describeTls(tls);
}
/** How each transport of an address went, for the targets table: short labels; the reasons go below the table. */
function transportCell(v, gate) {
    // The result cell says why nothing was tested; saying it twice hides the rest of the row.
    if (!v.tested)
        return '—';
    return v.runs
        .map((t) => {
        const name = TRANSPORT_LABEL[t.transport];
        if (t.stopped && t.counts.tests === 0)
            return `${name}: not run`;
        if (transportGap(t) !== null)
            return `${name}: not tested`;
        return t.tls ? `${name} <sub>${mdText(tlsText(t.tls, gate))}</sub>` : name;
    })
        .join('<br>');
}
/**
 * The reasons the transport cells left out, one per address and transport, as
 * plain text; none the verdict sentence gives already (a transport that could
 * not be entered, on an inconclusive address it names).
 */
function transportGaps(views) {
    return views
        .filter((v) => v.tested)
        .flatMap((v) => v.runs.flatMap((t) => {
        const gap = transportGap(t);
        const said = !t.reachable && v.verdict === 'inconclusive' && views.length <= HEADLINE_NAMES_UP_TO;
        return gap === null || said ? [] : [`${v.label}, ${TRANSPORT_LABEL[t.transport]} not tested: ${gap}`];
    }));
}
/** The verdict sentence names each untested address and why up to this many addresses (headline). */
const HEADLINE_NAMES_UP_TO = 4;
function resultCell(v, all) {
    // The verdict sentence said why, unless a fleet made it count instead of name.
    if (!v.tested)
        return all > HEADLINE_NAMES_UP_TO ? `**not tested**: ${mdText(v.untestedWhy ?? 'unreachable')}` : '**not tested**';
    return v.verdict === 'open' ? '**open relay**' : v.verdict;
}
/**
 * The job summary as Markdown. The first screen holds the answer: the banner,
 * one sentence of what was found where, the targets, and what to do. Then the
 * relayed attempts (one row per vector, folded by family when there are many),
 * the inconclusive ones by reason, and folded: every attempt and the
 * transcripts, one per address and transport. Every string that came from a
 * server or an input goes through mdText/code/preText. Sections are added in
 * order of importance and cut to stay under GitHub's limit.
 */
function renderSummary(r, limit = SUMMARY_LIMIT_BYTES, naming = ACTION_NAMING) {
    const out = new Budget(limit - 1024);
    const run = { r, views: addresses(r), naming };
    for (const section of SUMMARY_SECTIONS)
        section(out, run);
    let body = out.parts.join('\n\n');
    if (out.cut)
        body += `\n\n_This summary was cut to stay under GitHub's 1 MiB limit; the JSON report holds every attempt and transcript._`;
    return `${body}\n`;
}
/** The summary's sections in the order they are read, and in which the budget is spent. */
const SUMMARY_SECTIONS = [
    verdictSection,
    warningsSection,
    whyItRelaysSection,
    targetsSection,
    ownMailSection,
    seenAsSection,
    whatToDoSection,
    gateSections,
    relayedSection,
    inconclusiveSection,
    allAttemptsSection,
    transcriptsSection,
];
/** The banner, and the verdict sentence with its notes and whether the step passes. */
function verdictSection(out, { r }) {
    out.add(`## relay-check: ${BANNER[r.verdict]}`);
    // Said first: it changes what every verdict below means.
    for (const note of proxiedNotes(r))
        out.add(`> [!CAUTION]\n> ${inlineMd(note)}`);
    const notes = [reachNote(r, true), dataNote(r), routeNote(r), stopNote(r), pauseNote(r)].filter((x) => x !== null).map(inlineMd);
    out.add(`**${mdText(headline(r))}** ${notes.join(' ')}${notes.length ? ' ' : ''}` +
        (r.failed
            ? `The step fails (strictness ${code(r.settings.strictness)})${otherFailReasons(r).length ? `: ${mdText(otherFailReasons(r).join('; '))}` : ''}.`
            : `The step passes (strictness ${code(r.settings.strictness)}).`));
}
function warningsSection(out, { r, views }) {
    // Untested addresses are in the verdict sentence and the table; other warnings get a line each.
    const untested = new Set(views.filter((v) => !v.tested).map((v) => v.address || v.host));
    // A warning that is also why the step fails (strict: STARTTLS not entered) is said once, as the reason.
    const warnings = r.warnings.filter((w) => !r.failReasons.includes(w) && ![...untested].some((u) => u && w.startsWith(`${u} port`)));
    for (const w of warnings.slice(0, 20))
        out.add(`> [!WARNING]\n> ${mdText(w)}`);
}
function whyItRelaysSection(out, { r, naming }) {
    const why = diagnosisMarkdown(r, naming);
    if (why)
        out.add(why);
}
/** One row per address, and below it why a transport ran nothing. */
function targetsSection(out, { r, views }) {
    // Vectors, each counted once per address however many transports ran it (its worst outcome).
    out.table(['Target', 'MTA', 'Tested over', 'Vectors', 'Relayed', 'Denied', 'Inconclusive', 'Result'], views.map((v) => {
        const n = (x) => (v.tested ? String(x) : '—');
        return [mdText(v.label), mdText(mtaLabel(v, r.gate)), transportCell(v, r.gate !== undefined), n(v.vectors), n(v.relayedVectors), n(v.deniedVectors), n(v.inconclusiveVectors), resultCell(v, views.length)];
    }));
    const gaps = transportGaps(views);
    if (gaps.length > 0)
        out.add(gaps.map((g) => `- ${mdText(g)}`).join('\n'));
}
function ownMailSection(out, { views }) {
    // The positive control beside the table: what the refusals above are weighed against.
    const own = views.map((v) => [v, ownMailText(v)]).filter((x) => x[1] !== null);
    if (own.length > 0)
        out.add(`**Own mail** (positive control, RFC 5321 §4.5.1): ${own.map(([v, text]) => `${mdText(v.label)} ${mdText(text)}`).join('; ')}.`);
}
function seenAsSection(out, { views }) {
    const seen = views.map((v) => [v, seenAsText(v)]).filter((x) => x[1] !== null);
    if (seen.length > 0)
        out.add(`**Seen as** (the address the server judged): ${seen.map(([v, text]) => `${mdText(v.label)}: ${inlineMd(text)}`).join('; ')}.`);
}
function whatToDoSection(out, { r, naming }) {
    const advice = adviceBullets(r, naming);
    if (advice.length > 0)
        out.add(`### What to do\n\n${advice.map((a) => `- ${a}`).join('\n')}`);
}
/** Gate mode: the configuration tested, and what its base commit did. */
function gateSections(out, { r }) {
    if (r.gate)
        gateSection(out, r.gate);
    routeSection(out, r);
    if (r.gate?.base)
        out.add(baseSummaryLines(r.gate).join('\n'));
}
function relayedSection(out, { r }) {
    const relayed = findings(r, ['relayed']);
    if (relayed.length === 0)
        return;
    // Seen at one place only (the common case): say where once, in the heading, and give the reply the room.
    const places = new Set(relayed.map((f) => view_whereText(f.where)));
    const one = places.size === 1 ? [...places][0] : null;
    const head = one ? ['Attempt', 'Server reply'] : ['Attempt', 'Where', 'Server reply'];
    const rows = relayed.map((f) => (one ? [attemptCell(f), replyCell(f, f.stage === 'data')] : [attemptCell(f), whereCell(f), replyCell(f, f.stage === 'data')]));
    out.add(`### Relayed: ${summary_plural(vectorIds(relayed).length, 'vector')}${one ? ` on ${mdText(one)}` : ''}`);
    if (relayed.length > FOLD_FINDINGS_OVER) {
        out.table(['Family', 'Relayed', 'For example'], byFamily(relayed).map((g) => [mdText(FAMILY_LABEL[g.family]), String(vectorIds(g.findings).length), vectorIds(g.findings).slice(0, 3).map(code).join(', ')]));
        out.table(head, rows, `<details><summary>Every relayed attempt (${relayed.length})</summary>\n\n`, '\n\n</details>');
    }
    else {
        out.table(head, rows);
    }
}
function inconclusiveSection(out, { r }) {
    const inconclusive = findings(r, ['inconclusive']);
    if (inconclusive.length === 0)
        return;
    const byReason = new Map();
    for (const f of inconclusive)
        byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f]);
    out.add(`### Inconclusive: ${summary_plural(vectorIds(inconclusive).length, 'vector')}`);
    out.table(['Why nothing was proved', 'Where', 'Vectors'], [...byReason].map(([reason, list]) => {
        const ids = vectorIds(list);
        const where = list.flatMap((f) => f.where).filter((w, i, all) => all.findIndex((x) => x.label === w.label) === i);
        const example = list[0].reply !== null ? `<br>e.g. ${code(list[0].reply)}` : '';
        return [`${mdText(reason)}${example}`, mdText(view_whereText(where)), `${ids.length}: ${ids.slice(0, 4).map(code).join(', ')}${ids.length > 4 ? ', …' : ''}`];
    }));
}
function allAttemptsSection(out, { r }) {
    // Vectors a run did not start share one reason: one row with the count, not a row each.
    const all = findings(r, ['relayed', 'inconclusive', 'denied']);
    const skipped = skippedGroups(r).map((g) => [`${summary_plural(g.vectors.length, 'vector')}: ${mdText(someIds(g.vectors))}`, mdText(view_whereText(g.where)), 'skipped', mdText(g.reason)]);
    out.table(['Attempt', 'Where', 'Result', 'Server reply'], [...all.map((f) => [attemptCell(f), whereCell(f), f.outcome, replyCell(f, true)]), ...skipped], `<details><summary>All attempts (${summary_plural(all.length + skipped.length, 'row')}: one per vector and answer${skipped.length ? ', vectors not run one row per reason' : ''})</summary>\n\n`, '\n\n</details>');
}
/** One folded transcript per address and transport, while they fit. */
function transcriptsSection(out, { r }) {
    const blocks = r.targets.filter((t) => t.opening.length > 0 || t.attempts.some((a) => a.transcript.length > 0));
    if (blocks.length === 0 || !out.add('### Transcripts'))
        return;
    for (const t of blocks)
        if (!out.add(transcriptBlock(t)))
            break;
}
function transcriptBlock(t) {
    const lines = [
        ...t.opening.map((l) => `${l.dir} ${l.text}`),
        ...t.attempts.filter((a) => a.transcript.length > 0).flatMap((a) => ['', `# ${a.vector}: ${a.outcome}`, ...a.transcript.map((l) => `${l.dir} ${l.text}`)]),
    ];
    const ran = t.attempts.filter((a) => a.transcript.length > 0).length;
    const title = `${detailLabel(t)}, ${TRANSPORT_LABEL[t.transport]}: ${ran > 0 ? `greeting, EHLO and ${summary_plural(ran, 'attempt')}` : t.reachable ? 'greeting and EHLO; no attempt ran' : 'the connection, which failed'}`;
    return `<details><summary>${mdText(title)}</summary>\n\n<pre>${preText(lines.join('\n'))}</pre>\n\n</details>`;
}
/** How many routing proofs show before the rest is folded. */
const ROUTE_ROWS_SHOWN = 10;
/** Gate mode: where the instance put each accepted attempt, with Postfix's log line as the proof. */
function routeSection(out, r) {
    const rows = routeRows(r);
    if (rows.length === 0)
        return;
    out.add(`### Where the accepted mail went\n\nEach accepted attempt was sent through DATA to the private instance (every delivery class a discard with its own next hop); the delivery agent's log line names the class.`);
    const cells = rows.map((x) => [`${code(x.vector)}<br>${code(x.rcpt)}`, mdText(x.label), mdText(routeText(x.proof)), x.proof.line !== null ? code(x.proof.line) : mdText(x.proof.note ?? '')]);
    const head = ['Attempt', 'Service', 'Went to', "Postfix's log"];
    out.table(head, cells.slice(0, ROUTE_ROWS_SHOWN));
    if (cells.length > ROUTE_ROWS_SHOWN)
        out.table(head, cells.slice(ROUTE_ROWS_SHOWN), `<details><summary>${cells.length - ROUTE_ROWS_SHOWN} more</summary>\n\n`, '\n\n</details>');
}
/** Gate mode: what was built from the configuration, what could not be tested, what was changed. */
function gateSection(out, g) {
    const commit = g.commit ? `, commit ${code(g.commit.slice(0, 12))}` : '';
    if (g.exim) {
        const form = { configure: 'a plain Exim configuration', template: "Debian's exim4.conf.template, generated by Debian's update-exim4.conf", split: "Debian's split conf.d/, generated by Debian's update-exim4.conf" }[g.exim.form];
        out.add(`### Configuration tested\n\n${code(g.configDir)}${commit} (${form}) on Exim ${mdText(g.exim.version)} in host-checking mode (${code(`exim -bh ${g.exim.client}`)}: each session through the configuration's ACLs as if from that outside address, nothing delivered), every transport a discard.`);
    }
    else {
        out.add(`### Configuration tested\n\n${code(g.configDir)}${commit} on a private Postfix ${mdText(g.postfixVersion)}, every transport \`discard:\`, as an outside client through XCLIENT.`);
    }
    out.table([g.exim ? 'Service' : 'master.cf service', 'In production', 'Tested on'], g.services.map((s) => [`${code(s.name)} (${s.command}${s.wrapper ? ', implicit TLS' : s.tlsRequired ? ', STARTTLS required' : ''})`, code(s.original), code(`127.0.0.1:${s.port}`)]));
    const where = (c) => code(`${c.file}${c.line !== null ? `:${c.line}` : ''}`);
    const untested = g.changes.filter((c) => !c.tested);
    if (untested.length > 0)
        out.add(`> [!WARNING]\n> Not tested here (cannot run on a runner):\n${untested.map((c) => `> - ${where(c)} ${mdText(`${c.subject}: ${c.change}`)}`).join('\n')}`);
    const changed = g.changes.filter((c) => c.tested);
    out.table(['Where', 'Changed to run on a runner'], changed.map((c) => [where(c), mdText(`${c.subject}: ${c.change}`)]), `<details><summary>${changed.length} change(s) made to run it on a runner</summary>\n\n`, '\n\n</details>');
}

;// CONCATENATED MODULE: ./src/report/terminal.ts






const COLORS = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 };
/**
 * Text from a server or an input, made inert for a terminal: logLine escapes
 * C0 controls (ESC, CR, LF, BEL, …) and defuses `::` workflow commands (the
 * CLI may itself run in a workflow step); this adds C1 controls (U+0080–U+009F:
 * U+009B is a one-character CSI on terminals that honour 8-bit controls) and
 * the bidirectional overrides and isolates that can make a line display as
 * something other than what it holds.
 */
function termText(s) {
    // eslint-disable-next-line no-control-regex
    return logLine(s).replace(/[\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
        const n = c.charCodeAt(0);
        return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
    });
}
function paint(on, color, s) {
    return on ? `\x1b[${COLORS[color]}m${s}\x1b[0m` : s;
}
function pad(s, n) {
    return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
const VERDICT_COLOR = { open: 'red', closed: 'green', inconclusive: 'yellow' };
const OUTCOME_COLOR = { relayed: 'red', denied: 'green', inconclusive: 'yellow', skipped: 'dim' };
/** Width the default output wraps prose to: fits an 80-column terminal with the indent. */
const WRAP = 96;
/** Words to lines of at most `width` characters, each line prefixed (the first with `first`). */
function wrap(text, width, first, rest) {
    const out = [];
    let line = first;
    let empty = true;
    for (const word of text.split(/\s+/).filter(Boolean)) {
        if (!empty && line.length + 1 + word.length > width) {
            out.push(line);
            line = rest;
            empty = true;
        }
        line += `${empty ? '' : ' '}${word}`;
        empty = false;
    }
    if (!empty)
        out.push(line);
    return out;
}
/** Gate mode: each proposed change, its verdict wrapped, its diff as it is (removed lines red, added green). */
function fixLines({ r, c }) {
    const out = [];
    for (const f of fixText(r)) {
        out.push(...wrap(termText(`Change ${f.head}`), WRAP, '', '  '));
        for (const l of f.diff)
            out.push(paint(c, l.startsWith('-') && !l.startsWith('---') ? 'red' : l.startsWith('+') && !l.startsWith('+++') ? 'green' : 'dim', `    ${termText(l)}`));
    }
    return out;
}
/** relay-check's own Markdown advice for a terminal: no `backticks`, **bold**, <links> or entities. */
function plainAdvice(md) {
    return md
        .replace(/<code>([^<]*)<\/code>/g, '$1')
        .replace(/&#(\d+);/g, (_m, n) => String.fromCharCode(Number(n)))
        .replace(/\*\*/g, '')
        .replace(/`/g, '')
        .replace(/<(https?:[^>]+)>/g, '$1');
}
function cmds(f) {
    return f.mailFrom === null ? '' : `${f.helo !== null ? `HELO ${f.helo}  ` : ''}MAIL FROM:${f.mailFrom}  RCPT TO:${f.rcptTo.join(' ')}`;
}
/**
 * The CLI's readable report: the verdict, what to do, the targets, then the
 * relayed and inconclusive attempts merged across transports (by family when
 * there are many), so an open server fits on one screen; `verbose` lists every
 * attempt. Colour only when asked (the CLI asks on a TTY); every string from a
 * server or an input goes through termText, so it cannot move the cursor,
 * clear the screen or recolour the terminal.
 */
function renderTerminal(r, opts) {
    const run = { r, c: opts.color, naming: opts.naming ?? CLI_NAMING, views: view_addresses(r) };
    const parts = opts.verbose ? [...TERMINAL_HEAD, everyAttemptLines] : [...TERMINAL_HEAD, relayedLines, routeLines, inconclusiveLines, footerLines];
    return `${parts.flatMap((part) => part(run)).join('\n')}\n`;
}
/** The first screen, verbose or not: the answer, why, the targets and what to do. */
const TERMINAL_HEAD = [verdictLines, whyLines, fixLines, warningLines, targetTableLines, targetNoteLines, adviceLines];
/** The verdict line, the sentence of what was found where, its notes, and why the run fails. */
function verdictLines({ r, c }) {
    const out = [];
    const verdictWord = r.verdict === 'open' ? 'OPEN RELAY' : r.verdict === 'closed' ? 'NOT AN OPEN RELAY' : 'INCONCLUSIVE';
    out.push(paint(c, 'bold', `relay-check ${termText(r.tool.version)}: `) +
        paint(c, VERDICT_COLOR[r.verdict], verdictWord) +
        ` (strictness ${r.settings.strictness}: ${r.failed ? 'fails' : 'passes'})`);
    // Said first: it changes what every verdict below means.
    for (const note of proxiedNotes(r))
        out.push(...wrap(termText(note.replace(/`/g, '')), WRAP, '', '  ').map((l) => paint(c, 'red', l)));
    out.push(...wrap(termText(headline(r)), WRAP, '', ''));
    const reach = reachNote(r, true);
    if (reach)
        out.push(...wrap(termText(reach.replace(/`/g, '')), WRAP, '', ''));
    for (const note of [dataNote(r), routeNote(r), stopNote(r), pauseNote(r)])
        if (note)
            out.push(...wrap(termText(note.replace(/`/g, '')), WRAP, '', ''));
    for (const reason of otherFailReasons(r))
        out.push(paint(c, 'red', `  fails: ${termText(reason)}`));
    return out;
}
function whyLines({ r, c, naming }) {
    const out = [];
    for (const d of diagnosisText(r, naming)) {
        const [first, ...more] = wrap(termText(`Why: ${d.head}`), WRAP, '', '  ');
        out.push(paint(c, 'bold', first), ...more);
        for (const item of d.items)
            out.push(...wrap(termText(item), WRAP, '  - ', '    '));
    }
    return out;
}
/** Warnings not said elsewhere, what the gate's base commit did, and the blank line before the table. */
function warningLines({ r, c, views }) {
    const out = [];
    const untested = new Set(views.filter((v) => !v.tested).map((v) => v.address || v.host));
    for (const w of r.warnings)
        if (!r.failReasons.includes(w) && ![...untested].some((u) => u && w.startsWith(`${u} port`)))
            out.push(paint(c, 'yellow', `  warning: ${termText(w)}`));
    for (const l of baseTerminalLines(r.gate))
        out.push(...wrap(termText(l), WRAP, '', '  '));
    out.push('');
    return out;
}
function targetTableLines({ r, c, views }) {
    // Vectors, each counted once per address (its worst outcome over the transports), as in the job summary.
    const head = ['TARGET', 'MTA', 'TESTED OVER', 'VECTORS', 'RELAYED', 'DENIED', 'INCONCL', 'RESULT'];
    const rows = views.map((v) => {
        const over = v.runs.map(overLabel).join(', ');
        // The verdict sentence above says why, unless a fleet made it count instead of name.
        const why = views.length > HEADLINE_NAMES_UP_TO ? `: ${termText(v.untestedWhy ?? 'unreachable')}` : '';
        return [termText(v.label), termText(mtaLabel(v, r.gate)), over, String(v.vectors), String(v.relayedVectors), String(v.deniedVectors), String(v.inconclusiveVectors), v.tested ? v.verdict : `not tested${why}`];
    });
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (i === head.length - 1 ? 0 : row[i].length))));
    const out = [head.map((h, i) => pad(h, widths[i])).join('  ')];
    for (const row of rows) {
        const result = row[row.length - 1];
        const colored = paint(c, VERDICT_COLOR[result] ?? 'yellow', result);
        out.push([...row.slice(0, -1).map((x, i) => pad(x, widths[i])), colored].join('  '));
    }
    return out;
}
/** Under the table: why a transport ran nothing, and the positive control. */
function targetNoteLines({ views }) {
    const out = [];
    for (const g of transportGaps(views))
        out.push(...wrap(termText(g), WRAP, '  ', '    '));
    for (const v of views) {
        const own = ownMailText(v);
        if (own)
            out.push(...wrap(termText(`${views.length > 1 ? `${v.label}: ` : ''}own mail: ${own}`), WRAP, '  ', '    '));
        const seen = seenAsText(v);
        if (seen)
            out.push(...wrap(termText(`${views.length > 1 ? `${v.label}: ` : ''}seen as: ${seen.replace(/`/g, '')}`), WRAP, '  ', '    '));
    }
    return out;
}
function adviceLines({ r, c, naming }) {
    const advice = adviceBullets(r, naming);
    if (advice.length === 0)
        return [];
    const out = ['', paint(c, 'bold', 'What to do')];
    for (const a of advice)
        out.push(...wrap(termText(plainAdvice(a)), WRAP, '  - ', '    '));
    return out;
}
/** `verbose`: every attempt merged across transports, and the vectors not run, one entry per reason. */
function everyAttemptLines({ r, c }) {
    const all = findings(r, ['relayed', 'inconclusive', 'denied']);
    const skipped = skippedGroups(r);
    const ran = new Set(all.map((f) => f.vector));
    const notRun = new Set(skipped.flatMap((g) => g.vectors).filter((v) => !ran.has(v))).size;
    const out = ['', paint(c, 'bold', `Every attempt (${all.length}, merged across transports${notRun ? `; ${notRun} vector(s) not run` : ''})`)];
    const idWidth = Math.max(0, ...all.map((f) => f.vector.length));
    for (const f of all) {
        out.push(`  ${paint(c, OUTCOME_COLOR[f.outcome], pad(f.outcome, 12))} ${pad(termText(f.vector), idWidth)} ${termText(cmds(f))}`);
        out.push(`  ${' '.repeat(12)} ${paint(c, 'dim', termText(`${replyWithReason(f.reply, f.reason)} on ${view_whereText(f.where)}`))}`);
    }
    // Vectors not run for one reason are one entry with their count: the reason is the same for each.
    for (const g of skipped) {
        out.push(`  ${paint(c, OUTCOME_COLOR.skipped, pad('skipped', 12))} ${termText(`${g.vectors.length} vector(s): ${someIds(g.vectors)}${g.vectors.length > 3 ? ' (--json lists each)' : ''}`)}`);
        out.push(...wrap(termText(`${g.reason} on ${view_whereText(g.where)}`), WRAP, `  ${' '.repeat(12)} `, `  ${' '.repeat(12)} `).map((l) => paint(c, 'dim', l)));
    }
    return out;
}
/** The relayed vectors: each with its commands and reply when few, by family when many. */
function relayedLines({ r, c }) {
    const relayed = findings(r, ['relayed']);
    if (relayed.length === 0)
        return [];
    const ids = vectorIds(relayed);
    const heading = paint(c, 'bold', `Relayed: ${ids.length} vector${ids.length === 1 ? '' : 's'}`) + termText(` on ${view_whereText(mergeWhere(relayed))}`);
    return ['', heading, ...(relayed.length <= 10 ? relayedEach(relayed, c) : relayedByFamily(relayed, c))];
}
function relayedEach(relayed, c) {
    const out = [];
    const idWidth = Math.max(...relayed.map((f) => f.vector.length));
    for (const f of relayed) {
        const id = pad(termText(f.vector), idWidth);
        const commands = termText(cmds(f));
        const reply = termText(f.reply ?? f.reason);
        const head = `  ${paint(c, 'red', id)}  ${commands}`;
        // The reply on the same line when it fits, else under the commands.
        if (2 + id.length + 2 + commands.length + 2 + reply.length <= WRAP)
            out.push(`${head}  ${paint(c, 'dim', reply)}`);
        else
            out.push(head, ...wrap(reply, WRAP, ' '.repeat(idWidth + 4), ' '.repeat(idWidth + 4)).map((l) => paint(c, 'dim', l)));
    }
    return out;
}
function relayedByFamily(relayed, c) {
    const groups = byFamily(relayed);
    const labelWidth = Math.max(...groups.map((g) => FAMILY_LABEL[g.family].length + String(vectorIds(g.findings).length).length + 3));
    const out = groups.map((g) => {
        const gids = vectorIds(g.findings);
        const label = pad(`${FAMILY_LABEL[g.family]} (${gids.length})`, labelWidth);
        const { text, shown } = idsThatFit(gids, label.length);
        return `  ${paint(c, 'red', label)} ${text}${gids.length > shown ? `, +${gids.length - shown} more` : ''}`;
    });
    const replies = [...new Set(relayed.map((f) => f.reply ?? f.reason))];
    out.push(paint(c, 'dim', `  every one answered ${termText(replies.slice(0, 2).join(' / '))}${replies.length > 2 ? ' / …' : ''}; -v lists each with its commands`));
    return out;
}
/** As many ids as fit on one line after a label, leaving room to say how many more. */
function idsThatFit(gids, labelLength) {
    let shown = 0;
    let text = '';
    for (const id of gids) {
        const next = `${text}${shown ? ', ' : ''}${termText(id)}`;
        const more = gids.length - shown - 1 > 0 ? `, +${gids.length - shown - 1} more` : '';
        if (shown > 0 && 3 + labelLength + next.length + more.length > WRAP)
            break;
        text = next;
        shown++;
    }
    return { text, shown };
}
/** Routing proofs shown without -v: what did not relay and the routing forms come first. */
const ROUTE_LINES_SHOWN = 4;
/** Gate mode: where the instance put the accepted attempts, each with Postfix's log line. */
function routeLines({ r, c }) {
    const rows = routeRows(r);
    if (rows.length === 0)
        return [];
    const out = ['', paint(c, 'bold', "Where the accepted mail went (the private instance's log)")];
    for (const x of rows.slice(0, ROUTE_LINES_SHOWN)) {
        const color = x.proof.relays === true ? 'red' : x.proof.relays === false ? 'green' : 'yellow';
        const [first, ...more] = wrap(termText(`${x.vector} RCPT TO:${x.rcpt} on ${x.label}: ${routeText(x.proof)}`), WRAP, '  ', '    ');
        out.push(`  ${paint(c, color, termText(x.vector))}${first.slice(2 + termText(x.vector).length)}`, ...more);
        out.push(...wrap(termText(x.proof.line ?? x.proof.note ?? ''), WRAP, '      ', '      ').map((l) => paint(c, 'dim', l)));
    }
    if (rows.length > ROUTE_LINES_SHOWN)
        out.push(paint(c, 'dim', `  ${rows.length - ROUTE_LINES_SHOWN} more; -v gives each attempt's log line, --json its route`));
    return out;
}
/** The inconclusive vectors by reason, at most two lines of reason each. */
function inconclusiveLines({ r, c }) {
    const inconclusive = findings(r, ['inconclusive']);
    if (inconclusive.length === 0)
        return [];
    const byReason = new Map();
    for (const f of inconclusive)
        byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f]);
    const out = ['', paint(c, 'bold', `Inconclusive: ${vectorIds(inconclusive).length} vector(s)`)];
    for (const [reason, list] of byReason) {
        const ids = vectorIds(list);
        const shown = ids.slice(0, 3).join(', ') + (ids.length > 3 ? `, +${ids.length - 3} more` : '');
        out.push(`  ${paint(c, 'yellow', termText(shown))}`);
        // At most two lines per reason: the full text is in -v and --json.
        const lines = wrap(termText(reason), WRAP, '      ', '      ');
        out.push(...(lines.length > 2 ? [...lines.slice(0, 1), `${lines[1].slice(0, WRAP - 1)}…`] : lines));
    }
    return out;
}
function footerLines({ r, c }) {
    if (findings(r, ['relayed']).length + findings(r, ['inconclusive']).length === 0)
        return [];
    return ['', paint(c, 'dim', '-v lists every attempt; --json prints the full report with transcripts')];
}
/** Every address a list of findings was seen at, each once, with all its transports. */
function mergeWhere(list) {
    const out = [];
    for (const f of list) {
        for (const w of f.where) {
            const have = out.find((x) => x.label === w.label);
            if (!have)
                out.push({ label: w.label, transports: [...w.transports] });
            else
                for (const t of w.transports)
                    if (!have.transports.includes(t))
                        have.transports.push(t);
        }
    }
    return out;
}
/** One transport of an address for TESTED OVER: "STARTTLS", "STARTTLS (legacy TLSv1)", "STARTTLS (not tested)". */
function overLabel(t) {
    const name = TRANSPORT_LABEL[t.transport];
    if (!t.reachable || t.counts.tests === 0)
        return `${name} (${t.stopped ? 'not run' : 'not tested'})`;
    // Server text never reaches here: the protocol is the TLS library's name for it.
    return t.tls?.legacy ? `${name} (legacy ${t.tls.protocol ?? 'TLS'})` : name;
}

;// CONCATENATED MODULE: ./src/cli.ts







/**
 * The exit status is the action's pass/fail, under the same --strictness: a
 * script gets the answer the workflow step would give, with one meaning. A bug
 * in relay-check has a code of its own, so a script never reads it as bad usage.
 */
const EXIT = { pass: 0, relayed: 1, failed: 2, usage: 3, internal: 4 };
const USAGE = `relay-check ${VERSION}: prove a mail server is not an open relay

usage: relay-check HOST... [options]
       relay-check --domain DOMAIN [options]     (tests the domain's MX hosts)
       relay-check --postfix-config DIR [options] (tests a Postfix configuration)
       relay-check --exim-config DIR [options]    (tests an Exim configuration)

  HOST                   name, IPv4 or IPv6 address; name:port and [v6]:port allowed
  -p, --port N[,N]       ports to test (default 25)
  -s, --strictness S     relaxed | normal | strict (default normal)
      --tls MODE         auto | none | starttls | implicit (default auto: implicit on
                         465, else plaintext and again inside STARTTLS when offered)
  -d, --domain DOMAIN    the mail domain the server serves (own-domain vectors);
                         without HOST, its MX hosts are tested
      --recipient ADDR   external address relay attempts try to reach
                         (default relay-check@example.com)
      --sender ADDR[,..] extra senders to try
      --local-recipient ADDR  a mailbox the server must accept (positive control),
                         where postmaster@ its domain is handled elsewhere
      --helo NAME[,..]   extra HELO names to try
      --client-address IP  test as this client through Postfix XCLIENT
      --proxy-protocol M auto | try | off (default auto): the PROXY protocol trick
                         (a header claiming 127.0.0.1) where the port expects one
      --postfix-config DIR test a Postfix configuration (main.cf, master.cf, maps)
                           on a private Postfix built from it, instead of a host
      --postfix-overrides FILE  name = value lines applied over that configuration
      --exim-config DIR  test an Exim configuration (a plain configure file, or
                         Debian's update-exim4.conf.conf with exim4.conf.template
                         or conf.d/) through exim -bh as an outside client
      --base-ref REF     also test that configuration at commit REF (git) and say
                         which relays the change opened, closed or left open
      --timeout S        seconds for the whole run (default 120)
      --connect-timeout S  seconds for one connection and greeting (default 10)
      --report-path FILE also write the JSON report to FILE
      --json             print the JSON report instead of the table
  -v, --verbose          list every attempt, not only relayed and inconclusive ones
  -h, --help             this text

output: the verdict, what to do, the targets and the relayed and inconclusive
attempts by family on stdout (every attempt with -v), coloured on a terminal
unless NO_COLOR is set; a progress line on stderr when it is a terminal

exit status follows --strictness, as the action's pass/fail does:
  0  passes (closed; or inconclusive where the strictness allows it)
  1  fails because a relay attempt was accepted (an open relay)
  2  fails for another reason (inconclusive under strict, nothing reachable, ...)
  3  bad usage
  4  relay-check itself failed (a bug: please report it with the message)
`;
/** https://no-color.org: a non-empty NO_COLOR turns colours off. */
function wantsColor(io, env = process.env) {
    return io.isTty && !env.NO_COLOR;
}
/** The command line's flags; HOST arguments are positionals. */
const FLAGS = {
    port: { type: 'string', short: 'p' },
    strictness: { type: 'string', short: 's' },
    tls: { type: 'string' },
    domain: { type: 'string', short: 'd' },
    recipient: { type: 'string' },
    sender: { type: 'string' },
    'local-recipient': { type: 'string' },
    helo: { type: 'string' },
    'client-address': { type: 'string' },
    'proxy-protocol': { type: 'string' },
    'postfix-config': { type: 'string' },
    'postfix-overrides': { type: 'string' },
    'exim-config': { type: 'string' },
    'base-ref': { type: 'string' },
    timeout: { type: 'string' },
    'connect-timeout': { type: 'string' },
    'report-path': { type: 'string' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
};
// No return type written: node:util does not export the one parseArgs infers; Flags names it.
function parseFlags(args) {
    return (0,external_node_util_namespaceObject.parseArgs)({ args, allowPositionals: true, options: FLAGS });
}
/** Parses argv, runs the engine, prints, and returns the exit status. Never calls process.exit. */
async function main(argv, io) {
    const flags = readFlags(argv, io);
    if (typeof flags === 'number')
        return flags;
    const settings = settingsFrom(flags, io);
    if (settings === null)
        return EXIT.usage;
    const report = await runCheck(settings, io, flags.values.json === true);
    if (report === null)
        return EXIT.failed;
    const { values } = flags;
    if (values['report-path'])
        external_node_fs_default().writeFileSync(values['report-path'], `${JSON.stringify(report, null, 2)}\n`);
    io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderTerminal(report, { color: wantsColor(io), verbose: values.verbose, naming: CLI_NAMING }));
    return exitCode(report);
}
/** The flags, or the exit status when there is nothing to run: bad flags, --help, or no arguments at all. */
function readFlags(argv, io) {
    let flags;
    try {
        flags = parseFlags(argv);
    }
    catch (e) {
        io.stderr(`relay-check: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
        return EXIT.usage;
    }
    if (flags.values.help) {
        io.stdout(USAGE);
        return EXIT.pass;
    }
    if (argv.length === 0) {
        io.stderr(USAGE);
        return EXIT.usage;
    }
    return flags;
}
/** The flags as the action's inputs, parsed as the action parses them; null (said on stderr) when one is wrong. */
function settingsFrom({ values, positionals }, io) {
    const raw = {
        host: positionals.join(','),
        port: values.port,
        strictness: values.strictness,
        tls: values.tls,
        domain: values.domain,
        recipient: values.recipient,
        sender: values.sender,
        'local-recipient': values['local-recipient'],
        helo: values.helo,
        'client-address': values['client-address'],
        'proxy-protocol': values['proxy-protocol'],
        'postfix-config': values['postfix-config'],
        'postfix-overrides': values['postfix-overrides'],
        'exim-config': values['exim-config'],
        'base-ref': values['base-ref'],
        timeout: values.timeout,
        'connect-timeout': values['connect-timeout'],
    };
    try {
        return parseSettings(raw);
    }
    catch (e) {
        if (e instanceof InputError) {
            io.stderr(`relay-check: ${flagMessage(e)}\n`);
            return null;
        }
        throw e;
    }
}
/** Runs the check with a progress line; null (said on stderr) when the gate refuses the configuration. */
async function runCheck(settings, io, json) {
    // Progress on stderr, and only when stderr is a terminal: stdout stays the table or the JSON, and a log file gets no \r lines.
    const progress = (io.stderrIsTty ?? io.isTty) && !json ? startProgress(io) : null;
    try {
        return await check(settings, { onTarget: (_t, done, all) => progress?.update(done, all) }, (line, body) => io.stderr(`${[line, ...(body ?? []).map((l) => `  ${l}`)].join('\n')}\n`));
    }
    catch (e) {
        if (!(e instanceof GateError))
            throw e;
        // A configuration the gate refuses fails as the action's step would: it is not a usage error.
        io.stderr(`relay-check: ${gateMessage(e)}\n`);
        return null;
    }
    finally {
        progress?.stop();
    }
}
/**
 * main() with its unexpected exceptions turned into EXIT.internal: everything a
 * server or the user can do wrong is a verdict or a usage error, so what reaches
 * here is a bug in relay-check, and the message asks for a report.
 */
async function runCli(argv, io) {
    try {
        return await main(argv, io);
    }
    catch (e) {
        io.stderr(`relay-check failed, please report (exit ${EXIT.internal}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        return EXIT.internal;
    }
}
function exitCode(r) {
    if (!r.failed)
        return EXIT.pass;
    return r.verdict === 'open' ? EXIT.relayed : EXIT.failed;
}
/** A settings error as the command line names things: flags, and HOST for the positional argument. */
function flagMessage(e) {
    if (e.input === 'host' && /^Input 'host': is required unless/.test(e.message))
        return 'name a HOST to test, give --domain to test its MX hosts, or --postfix-config to test a configuration (relay-check --help)';
    return e.describe(CLI_NAMING);
}
/**
 * A configuration the gate refuses. GateError (src/gate) carries its input and
 * builds the action's "Input '…': " prefix itself; the CLI swaps that prefix,
 * which GateError defines, for the flag.
 */
function gateMessage(e) {
    const prefix = settings_ACTION_NAMING.error(e.input);
    return e.message.startsWith(prefix) ? `${CLI_NAMING.error(e.input)}${e.message.slice(prefix.length)}` : e.message;
}
/**
 * "testing 1 address: 0/1 done, 12 s": redrawn every second so a long run is
 * never silent. The engine reports finished addresses; the seconds show it is alive.
 */
function startProgress(io) {
    const started = Date.now();
    let done = 0;
    let all = 0;
    let shown = false;
    const draw = () => {
        const secs = Math.round((Date.now() - started) / 1000);
        const what = all === 0 ? 'testing' : `${done}/${all} addresses tested`;
        io.stderr(`\r\x1b[K${what}, ${secs} s`);
        shown = true;
    };
    const timer = setInterval(draw, 1000);
    timer.unref();
    return {
        update: (d, a) => {
            done = d;
            all = a;
            draw();
        },
        stop: () => {
            clearInterval(timer);
            if (shown)
                io.stderr('\r\x1b[K');
        },
    };
}


/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/compat get default export */
/******/ (() => {
/******/ 	// getDefaultExport function for compatibility with non-harmony modules
/******/ 	__nccwpck_require__.n = (module) => {
/******/ 		var getter = module && module.__esModule ?
/******/ 			() => (module['default']) :
/******/ 			() => (module);
/******/ 		__nccwpck_require__.d(getter, { a: getter });
/******/ 		return getter;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(318);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 

//# sourceMappingURL=index.js.map