/**
 * The reply-classification table: what a server's answer to a relay attempt
 * means. Rows are tried in order; the first that matches decides. Each row
 * carries a real reply it was written for (`example`) and where that reply
 * comes from; a test walks every row and checks its example lands on it.
 *
 * Enhanced status codes decide where they exist; wording decides where a
 * server sends none (Exim, OpenSMTPD, qmail) or where a code is ambiguous
 * (4.7.1 is a relay denial in Postfix but also a rate limit or a greylist).
 */
export type Outcome = 'relayed' | 'denied' | 'inconclusive';

/** At which command the reply came. */
export type Stage = 'mail' | 'rcpt' | 'data';

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
  /** A real reply this row was written for. */
  example: string;
  /** Other real replies that land on this row. */
  alsoSeen?: string[];
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
  { id: 'starttls-required', outcome: 'inconclusive', reason: 'the server demands STARTTLS before it will talk about mail', codes: [530, 530], text: /starttls/i, example: '530 5.7.0 Must issue a STARTTLS command first', provenance: 'Postfix smtpd_tls_security_level=encrypt' },
  // --- relay denials by wording (work with or without enhanced codes); before the
  // rate-limit and blocklist rows, whose words also appear in relay denials ---
  { id: 'exchange-online-relay', outcome: 'denied', reason: 'relay denied', enhanced: /^5\.7\.64$/, example: '550 5.7.64 TenantAttribution; Relay Access Denied [SN1NAM02FT0.eop-nam02.prod.protection.outlook.com]', provenance: 'Exchange Online' },
  { id: 'postfix-relay-denied', outcome: 'denied', reason: 'relay denied', text: /relay access denied/i, example: '454 4.7.1 <relay-check@example.com>: Relay access denied', alsoSeen: ['554 5.7.1 <relay-check@example.com>: Relay access denied'], provenance: 'Postfix defer_unauth_destination (stock), reject_unauth_destination' },
  { id: 'exim-relay-not-permitted', outcome: 'denied', reason: 'relay denied', text: /relay(ing)? not permitted/i, example: '550 relay not permitted', provenance: 'Exim default ACL' },
  { id: 'sendmail-relaying-denied', outcome: 'denied', reason: 'relay denied', text: /relaying denied/i, example: '550 5.7.1 <relay-check@example.com>... Relaying denied. Proper authentication required.', provenance: 'Sendmail' },
  { id: 'qmail-rcpthosts', outcome: 'denied', reason: 'relay denied (qmail rcpthosts)', text: /rcpthosts/i, example: "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", provenance: 'qmail-smtpd' },
  { id: 'exchange-unable-to-relay', outcome: 'denied', reason: 'relay denied', text: /unable to relay/i, example: '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain', alsoSeen: ['550 5.7.1 Unable to relay'], provenance: 'Microsoft Exchange 2013+' },
  { id: 'generic-relay-wording', outcome: 'denied', reason: 'relay denied', text: /we do not relay|relaying (is )?not allowed|no relaying|not (allowed|authorized) to relay|relay(ing)? (is )?(prohibited|refused|forbidden)/i, example: '550 we do not relay', provenance: 'various (mailradar transcripts)' },

  { id: 'client-blocked', outcome: 'inconclusive', reason: 'the client (the runner) is blocked by a DNS blocklist, not the relay policy', text: /blocked using|listed (at|in|by)|spamhaus|blocklist|blacklist/i, example: '550 5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org', provenance: 'Postfix postscreen / reject_rbl_client' },
  { id: 'rate-limited', outcome: 'inconclusive', reason: 'rate limited', text: /too many (recipients|connections|messages|errors)|rate limit|try again later/i, example: '450 4.7.1 Error: too many recipients from 192.0.2.7', provenance: 'Postfix smtpd_recipient_limit / anvil' },
  { id: 'postscreen-reconnect', outcome: 'inconclusive', reason: 'the server asks the client to reconnect later', enhanced: /^4\.3\.2$/, example: '450 4.3.2 Service currently unavailable', provenance: 'Postfix postscreen after deep protocol tests' },
  { id: 'sender-verification', outcome: 'inconclusive', reason: 'the sender was refused (sender verification or domain check), so the relay was not tested', stages: ['mail', 'rcpt'], text: /sender address rejected: (domain not found|undeliverable|unverified|need fully-qualified)|sender verify failed|unverifiable sender/i, example: '450 4.1.8 <relay-check@example.com>: Sender address rejected: Domain not found', provenance: 'Postfix reject_unknown_sender_domain / reject_unverified_sender' },
  { id: 'sender-verification-code', outcome: 'inconclusive', reason: 'the sender domain was refused, so the relay was not tested', enhanced: /^[45]\.1\.8$/, example: '553 5.1.8 <relay-check@nonexistent.invalid>... Domain of sender address does not exist', provenance: 'Sendmail' },
  { id: 'recipient-domain', outcome: 'inconclusive', reason: 'the recipient domain was refused, not the relay: it may still be open to real domains (set `recipient` to a mailbox you own)', enhanced: /^[45]\.1\.(2|10)$/, example: '556 5.1.10 <relay-check@example.com>: Recipient address rejected: Domain example.com does not accept mail (nullMX)', alsoSeen: ['450 4.1.2 <relay-check@example.com>: Recipient address rejected: Domain not found'], provenance: 'Postfix reject_unknown_recipient_domain / null MX (RFC 7505)' },
  { id: 'recipient-domain-unknown', outcome: 'inconclusive', reason: 'the recipient domain was refused, not the relay: it may still be open to real domains', codes: [400, 499], text: /domain not found/i, stages: ['rcpt'], example: '450 <relay-check@example.com>: Recipient address rejected: Domain not found', provenance: 'Postfix reject_unknown_recipient_domain, smtpd_enhanced_status_codes = no' },
  { id: 'local-problem', outcome: 'inconclusive', reason: 'temporary failure on the server (lookup or configuration), not a relay decision', codes: [400, 499], enhanced: /^4\.3\.[05]$/, example: '451 4.3.0 <relay-check@example.com>: Temporary lookup failure', alsoSeen: ['451 4.3.5 Server configuration problem'], provenance: 'Postfix, missing alias database' },

  // --- authentication required: the server only relays for authenticated users ---
  { id: 'auth-required', outcome: 'denied', reason: 'authentication required', codes: [500, 599], enhanced: /^5\.7\.(0|57)$/, text: /auth/i, example: '530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM', provenance: 'Microsoft Exchange' },
  { id: 'auth-required-530', outcome: 'denied', reason: 'authentication required', codes: [530, 530], example: '530 Authentication required', provenance: 'RFC 4954 §6 (no enhanced code)' },

  // --- refused forms and recipients ---
  { id: 'unknown-user', outcome: 'denied', reason: 'unknown local user', enhanced: /^5\.1\.1$/, example: '550 5.1.1 <relay-check@mx.example.org>: Recipient address rejected: User unknown in local recipient table', provenance: 'Postfix local_recipient_maps' },
  { id: 'bad-syntax', outcome: 'denied', reason: 'address form refused as bad syntax', enhanced: /^5\.(1\.[37]|5\.[24])$/, example: '501 5.1.3 Bad recipient address syntax', provenance: 'Postfix' },
  { id: 'domain-literals', outcome: 'denied', reason: 'address form refused (domain literals not allowed)', text: /domain literals? not allowed/i, example: '501 <relay-check@[192.0.2.1]>: domain literals not allowed', provenance: 'Exim' },
  { id: 'syntax-code', outcome: 'denied', reason: 'address form refused as bad syntax', codes: [500, 501], example: '501 Syntax error in parameters', provenance: 'RFC 5321 §4.2.2' },
  { id: 'opensmtpd-invalid-recipient', outcome: 'denied', reason: 'recipient refused', codes: [500, 599], text: /invalid recipient/i, example: '550 Invalid recipient: <relay-check@example.com>', provenance: 'OpenSMTPD' },
  { id: 'bad-sequence', outcome: 'inconclusive', reason: 'command out of sequence (an earlier command failed)', codes: [503, 503], example: '503 5.5.1 Error: need MAIL command', provenance: 'Postfix after a refused MAIL FROM' },
  { id: 'client-rejected', outcome: 'inconclusive', reason: 'the client (the runner) was rejected, not the relay: another client may still relay', text: /client host rejected|client host .* blocked|your (ip|host|address) .* (blocked|rejected|listed)/i, example: '450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.7]', alsoSeen: ['554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: Access denied'], provenance: 'Postfix reject_unknown_client_hostname / check_client_access' },
  { id: 'policy-5.7', outcome: 'denied', reason: 'refused by policy', codes: [500, 599], enhanced: /^5\.7\.\d+$/, example: '554 5.7.1 <relay-check@example.com>: Recipient address rejected: Access denied', provenance: 'Postfix check_recipient_access REJECT' },

  // --- catch-alls ---
  { id: 'permanent-other', outcome: 'denied', reason: 'refused (permanent failure)', codes: [500, 599], example: '550 Requested action not taken: mailbox unavailable', provenance: 'RFC 5321 §4.2.2' },
  { id: 'temporary-other', outcome: 'inconclusive', reason: 'temporary failure that is not a relay denial', codes: [400, 499], example: '451 Requested action aborted: local error in processing', provenance: 'RFC 5321 §4.2.2' },
  { id: 'unexpected', outcome: 'inconclusive', reason: 'unexpected reply code', example: '354 End data with <CR><LF>.<CR><LF>', provenance: 'RFC 5321 (a reply that answers no RCPT)' },
];
