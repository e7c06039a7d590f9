/**
 * The MTA-evidence table: what in a server's answers points at which MTA.
 * Rows are data, like the reply table (src/verdict/replies.ts): each carries a
 * real example it was written for and where that text comes from, and a test
 * walks every row. A banner can be changed by the operator, so nothing here is
 * proof; the weights say how hard a pattern is to produce by accident.
 */

/** Where in the session the pattern is looked for. */
type EvidenceSource = 'greeting' | 'ehlo' | 'reply';

export interface EvidenceRule {
  id: string;
  /** The MTA this points at, as reported. */
  mta: string;
  source: EvidenceSource;
  /**
   * greeting: the greeting's lines as sent (with codes, joined by "\n");
   * ehlo: the EHLO keywords in the order offered, joined by " ";
   * reply: one reply as sent (its lines joined by " / ").
   */
  pattern: RegExp;
  /** 3: the MTA names itself; 2: a wording or shape specific to it; 1: a hint other MTAs share. */
  weight: 1 | 2 | 3;
  /** Capture group of `pattern` holding the version, when the pattern can show one. */
  versionGroup?: number;
  /** Shown to the user: what was seen. */
  what: string;
  /** A real text this row was written for (in the form `source` describes). */
  example: string;
  provenance: string;
}

export const EVIDENCE_RULES: readonly EvidenceRule[] = [
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
