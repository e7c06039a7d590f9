import type { Outcome, Stage, Subject } from '../model/verdict.js';
export type { Outcome, Stage, Subject } from '../model/verdict.js';
export interface ReplyRule {
  id: string;
  outcome: Outcome;
  /** Shown to the user: why this reply means this outcome. */
  reason: string;
  /** Reply code range, inclusive; any code when absent. */
  codes?: [number, number];
  /** Enhanced status code pattern, matched against "x.y.z". */
  enhanced?: RegExp;
  /** Wording pattern, matched against the reply's text (all lines). */
  text?: RegExp;
  /** Stages the rule applies to; all when absent. */
  stages?: Stage[];
  /**
   * What the run saw that this row needs: `auth` true only when the service
   * offered AUTH (EHLO), false only when it did not. Rows without it apply always.
   */
  when?: { auth?: boolean };
  /**
   * What the refusal is about, when the row knows better than the stage does
   * (Postfix delays sender and client refusals to RCPT: smtpd_delay_reject).
   * A sender refusal means the recipient form was not evaluated yet.
   */
  subject?: Subject;
  /** A real reply this row was written for. */
  example: string;
  /** Other real replies that land on this row. */
  alsoSeen?: string[];
  /**
   * `control`: the row names no relay decision (a catch-all, a text-less "Access denied"), so its
   * refusal counts as a relay denial only with evidence beside it: the positive control accepted,
   * AUTH offered, or a second outside client refused as well (src/verdict/evidence.ts). Without
   * it the attempt is inconclusive.
   */
  evidence?: 'control';
  /**
   * The reply names a relay decision in its own words (relay access denied, rcpthosts, 5.7.54,
   * 5.7.64): a denial on its own, and a positive control refused by it was asked at a domain the
   * server does not serve (src/verdict/evidence.ts).
   */
  relayDecision?: true;
  provenance: string;
}

export const REPLY_RULES: readonly ReplyRule[] = [
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
