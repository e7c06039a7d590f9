import { describe, expect, test } from '@jest/globals';
import { parseReply, type Reply } from '../src/smtp/reply.js';
import { REPLY_RULES, type ReplyRule, type Stage } from '../src/verdict/replies.js';
import { classifyAttempt, classifyReply, ruleMatches, type AttemptReplies, type Seen } from '../src/verdict/classify.js';
import { failureReasons, runVerdict, targetVerdict, type TargetTally } from '../src/verdict/run.js';

const stageOf = (row: ReplyRule): Stage => row.stages?.[0] ?? 'rcpt';

const seenOf = (row: ReplyRule): Seen => ({ auth: row.when?.auth ?? false });

/**
 * What each row's example must come to, written down here and not read from
 * the row: a row whose outcome is edited by mistake fails this test.
 */
const EXPECTED: Record<string, 'relayed' | 'denied' | 'inconclusive'> = {
  accepted: 'relayed',
  'service-closing': 'inconclusive',
  greylisted: 'inconclusive',
  'greylisted-code': 'inconclusive',
  'starttls-required': 'inconclusive',
  'exchange-online-relay': 'denied',
  'postfix-relay-denied': 'denied',
  'exim-relay-not-permitted': 'denied',
  'sendmail-relaying-denied': 'denied',
  'qmail-rcpthosts': 'denied',
  'exchange-unable-to-relay': 'denied',
  'generic-relay-wording': 'denied',
  'haraka-cannot-deliver': 'denied',
  'client-blocklisted': 'inconclusive',
  'client-no-reverse-dns': 'inconclusive',
  'client-reputation': 'inconclusive',
  'postscreen-enforce': 'inconclusive',
  'sender-authentication': 'inconclusive',
  'client-reverse-dns-code': 'inconclusive',
  'rate-limited': 'inconclusive',
  'client-refused-auth-only': 'denied',
  'client-refused': 'denied',
  'client-rejected': 'inconclusive',
  'postscreen-reconnect': 'inconclusive',
  'sender-form-refused': 'denied',
  'sender-not-valid-here': 'denied',
  'sender-verification': 'inconclusive',
  'sender-verification-code': 'inconclusive',
  'haraka-sender-dns': 'inconclusive',
  'sender-deferred': 'inconclusive',
  'sendmail-route-refused': 'denied',
  'recipient-domain': 'inconclusive',
  'recipient-domain-unknown': 'inconclusive',
  'local-problem': 'inconclusive',
  'auth-required': 'denied',
  'auth-required-530': 'denied',
  'unknown-user': 'denied',
  'bad-syntax': 'denied',
  'domain-literals': 'denied',
  'syntax-code': 'denied',
  'opensmtpd-invalid-recipient': 'denied',
  'bad-sequence': 'inconclusive',
  'policy-5.7': 'denied',
  'permanent-other': 'denied',
  'temporary-other': 'inconclusive',
  unexpected: 'inconclusive',
};

describe('REPLY_RULES: every row classifies its own examples', () => {
  test('every row has an independent expected outcome, and no expectation is stale', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(REPLY_RULES.map((r) => r.id).sort());
  });

  test.each(REPLY_RULES.map((row) => [row.id, row] as const))('%s: example', (_id, row) => {
    const c = classifyReply(parseReply(row.example), stageOf(row), REPLY_RULES, seenOf(row));
    expect({ rule: c.rule, outcome: c.outcome }).toEqual({ rule: row.id, outcome: EXPECTED[row.id] });
    expect(row.outcome).toBe(EXPECTED[row.id]);
    expect(c.reason).toBe(row.reason);
  });

  const also = REPLY_RULES.flatMap((row) => (row.alsoSeen ?? []).map((text) => [row.id, text, row] as const));
  test.each(also)('%s: also seen %j', (_id, text, row) => {
    const c = classifyReply(parseReply(text), stageOf(row), REPLY_RULES, seenOf(row));
    expect({ rule: c.rule, outcome: c.outcome }).toEqual({ rule: row.id, outcome: EXPECTED[row.id] });
  });

  test('the table is well formed', () => {
    const ids = REPLY_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of REPLY_RULES) {
      expect(r.id).toMatch(/^[a-z0-9.]+(-[a-z0-9.]+)*$/);
      expect(['relayed', 'denied', 'inconclusive']).toContain(r.outcome);
      expect(r.reason.length).toBeGreaterThan(0);
      expect(r.provenance.length).toBeGreaterThan(0);
      if (r.codes) expect(r.codes[0]).toBeLessThanOrEqual(r.codes[1]);
    }
  });

  test('only 2xx replies are ever "relayed"', () => {
    for (const r of REPLY_RULES.filter((x) => x.outcome === 'relayed')) {
      expect(r.codes?.[0]).toBeGreaterThanOrEqual(200);
      expect(r.codes?.[1]).toBeLessThanOrEqual(299);
    }
  });

  test('the table ends in catch-alls: every code 200-599 classifies by some row', () => {
    for (let code = 200; code <= 599; code++) {
      const c = classifyReply(parseReply(`${code} x`), 'rcpt');
      expect(c.rule).not.toBe('none');
      const expected = code < 300 ? 'relayed' : code >= 500 ? 'denied' : 'inconclusive';
      if (code !== 421 && code !== 530 && code !== 503) expect(`${code} ${c.outcome}`).toBe(`${code} ${expected}`);
    }
  });
});

describe('classifyReply: targeted cases (SPEC §3, REFERENCE.md)', () => {
  const cases: [string, string, 'relayed' | 'denied' | 'inconclusive', Stage?][] = [
    ['Postfix stock relay denial', '454 4.7.1 <relay-check@example.com>: Relay access denied', 'denied'],
    ['Postfix reject_unauth_destination', '554 5.7.1 <relay-check@example.com>: Relay access denied', 'denied'],
    ['Postfix rate limit (4.7.1, not a denial)', '450 4.7.1 Error: too many recipients from 192.0.2.7', 'inconclusive'],
    ['postgrey', '450 4.2.0 <x@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html', 'inconclusive'],
    ['greylist wording with 4.7.1', '451 4.7.1 Please try again later (greylisting)', 'inconclusive'],
    ['greylist wording with no enhanced code', '450 Greylisted for 5 minutes', 'inconclusive'],
    ['STARTTLS demanded', '530 5.7.0 Must issue a STARTTLS command first', 'inconclusive'],
    ['STARTTLS demanded at MAIL', '530 5.7.0 Must issue a STARTTLS command first', 'inconclusive', 'mail'],
    ['unknown local user', '550 5.1.1 <x@mx.example.org>: Recipient address rejected: User unknown in local recipient table', 'denied'],
    ['bad recipient syntax', '501 5.1.3 Bad recipient address syntax', 'denied'],
    ['bad sender syntax', '501 5.1.7 Bad sender address syntax', 'denied', 'mail'],
    ['421 too many errors', '421 4.7.0 mx.example.org Error: too many errors', 'inconclusive'],
    ['421 without enhanced code', '421 Service not available, closing transmission channel', 'inconclusive'],
    ['Postfix unknown recipient domain', '450 4.1.2 <x@example.com>: Recipient address rejected: Domain not found', 'inconclusive'],
    ['null MX', '556 5.1.10 <x@example.com>: Recipient address rejected: Domain example.com does not accept mail (nullMX)', 'inconclusive'],
    ['5.1.2 bad destination system', '550 5.1.2 <x@nonexistent.invalid>: Host or domain name not found', 'inconclusive'],
    ['postscreen blocked client', '550 5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org', 'inconclusive'],
    ['postscreen deep tests', '450 4.3.2 Service currently unavailable', 'inconclusive'],
    ['Exim', '550 relay not permitted', 'denied'],
    ['Exim domain literal', '501 <probe@[192.0.2.1]>: domain literals not allowed', 'denied', 'mail'],
    ['OpenSMTPD refused', '550 Invalid recipient: <x@example.com>', 'denied'],
    ['OpenSMTPD accepted', '250 2.1.5 Destination address valid: Recipient ok', 'relayed'],
    // Measured on OpenSMTPD 6.8.0p2 (__tests__/opensmtpd.test.ts).
    ['OpenSMTPD unknown local user', '550 Invalid recipient: <someone@opensmtpd.test>', 'denied'],
    ['OpenSMTPD bad recipient syntax', '501 5.1.3 Recipient address syntax error', 'denied'],
    ['OpenSMTPD bad sender syntax', '553 5.1.0 Sender address syntax error', 'denied', 'mail'],
    ['OpenSMTPD command out of sequence', '503 5.5.1 Invalid command: Command not allowed at this point.', 'inconclusive'],
    ['Sendmail', '550 5.7.1 <x@example.com>... Relaying denied', 'denied'],
    ['qmail', "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", 'denied'],
    ['Exchange 2013+', '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain', 'denied'],
    ['Exchange older', '550 5.7.1 Unable to relay', 'denied'],
    ['Exchange Online', '550 5.7.64 TenantAttribution; Relay Access Denied [SN1.outlook.com]', 'denied'],
    ['Exchange anonymous refused', '530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM', 'denied', 'mail'],
    ['auth required 530 5.7.0', '530 5.7.0 Authentication required', 'denied'],
    ['sender verification', '450 4.1.8 <probe@example.com>: Sender address rejected: Domain not found', 'inconclusive', 'mail'],
    ['sender verification at RCPT (Postfix smtpd_delay_reject)', '450 4.1.8 <probe@example.com>: Sender address rejected: Domain not found', 'inconclusive', 'rcpt'],
    ['251 will forward', '251 2.1.5 User not local; will forward', 'relayed'],
    // Measured once by hand on Haraka 3.3.4 (npm), default plugins (no CI test).
    ['Haraka relay denied', '550 I cannot deliver mail for <relay-check@example.com>', 'denied'],
    ['Haraka accepted (local domain, or relaying allowed)', '250 recipient <relay-check@example.com> OK', 'relayed'],
    ['Haraka bad recipient syntax', '501 Invalid RCPT TO address <relay-check@example.com@>: Invalid RFC-5321 address at position 24: expected ">"', 'denied'],
    ['Haraka quoted path without a domain', '501 Invalid RCPT TO address <"relay-check@example.com">: Invalid RFC-5321 address at position 26: expected "@"', 'denied'],
    ['Haraka bad sender syntax', '501 Invalid MAIL FROM address <relay-check>: Invalid RFC-5321 address at position 12: expected "@"', 'denied', 'mail'],
    ['Haraka sender without MX', '550 No MX for your FROM address', 'inconclusive', 'mail'],
    ['Haraka sender with a null MX (5.7.27 is no relay denial)', '550 5.7.27 Null MX: nullmx.test does not send mail', 'inconclusive', 'mail'],
    ['multi-line relay denial', '550-5.7.1 Relaying denied\r\n550 5.7.1 Contact postmaster', 'denied'],
    ['bad sequence', '503 5.5.1 Error: need MAIL command', 'inconclusive'],
    ['temporary lookup failure', '451 4.3.0 <x@example.com>: Temporary lookup failure', 'inconclusive'],
    ['generic temporary', '452 4.3.1 Insufficient system storage', 'inconclusive'],
    ['generic permanent', '554 Transaction failed', 'denied'],
  ];
  test.each(cases)('%s: %j → %s', (_name, text, outcome, stage = 'rcpt') => {
    expect(classifyReply(parseReply(text), stage).outcome).toBe(outcome);
  });

  // Issue 9: the stacks people run, and the review's rows that matched any code.
  test.each([
    ['reject_non_fqdn_sender at RCPT (smtpd_delay_reject)', '504 5.5.2 <relay-check@localhost>: Sender address rejected: need fully-qualified address', 'rcpt', false, 'denied', 'sender'],
    ['reject_non_fqdn_sender at MAIL', '504 5.5.2 <relay-check>: Sender address rejected: need fully-qualified address', 'mail', false, 'denied', 'sender'],
    ['sender not valid here', '550 5.1.0 <relay-check@[127.0.0.1]>: Sender address rejected: User unknown in local recipient table', 'rcpt', false, 'denied', 'sender'],
    ['sender null MX (our choice of sender domain)', '550 5.7.27 <relay-check@example.com>: Sender address rejected: Domain example.com does not accept mail (nullMX)', 'rcpt', false, 'inconclusive', 'sender'],
    ['sender deferred', '450 4.7.1 <relay-check@example.com>: Sender address rejected: Access denied', 'rcpt', false, 'inconclusive', 'sender'],
    ['submission port, AUTH offered', '554 5.7.1 <unknown[203.0.113.10]>: Client host rejected: Access denied', 'rcpt', true, 'denied', 'client'],
    ['generic client refusal, no AUTH', '554 5.7.1 <unknown[203.0.113.10]>: Client host rejected: Access denied', 'rcpt', false, 'denied', 'client'],
    ['client refusal deferred', '450 4.7.1 <unknown[203.0.113.10]>: Client host rejected: Access denied', 'rcpt', true, 'inconclusive', 'client'],
    ['no reverse DNS, even with AUTH', '450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.10]', 'rcpt', true, 'inconclusive', 'client'],
    ['DNS blocklist, even permanent', '554 5.7.1 Service unavailable; Client host [203.0.113.10] blocked using zen.spamhaus.org', 'rcpt', true, 'inconclusive', 'client'],
    ['"listed in" a recipient table is no blocklist', '554 5.7.1 <relay-check@example.com>: Recipient address rejected: not listed in relay_recipients', 'rcpt', false, 'denied', 'recipient'],
    ['a permanent "try again later" is no rate limit', '550 5.7.1 Relaying denied for you, try again later', 'rcpt', false, 'denied', 'recipient'],
    ['a permanent "too many" is a refusal', '554 5.7.1 too many recipients for an unauthenticated client', 'rcpt', false, 'denied', 'recipient'],
  ] as const)('%s: %j → %s', (_name, text, stage, auth, outcome, subject) => {
    const c = classifyReply(parseReply(text), stage, REPLY_RULES, { auth });
    expect({ outcome: c.outcome, subject: c.subject }).toEqual({ outcome, subject });
  });

  test('4.7.1 alone is not read as a relay denial', () => {
    const c = classifyReply(parseReply('450 4.7.1 <x@example.com>: Recipient address rejected: Access denied'), 'rcpt');
    expect(c.outcome).toBe('inconclusive');
  });

  test('a 2xx is accepted whatever its text says', () => {
    expect(classifyReply(parseReply('250 2.1.5 Ok, not greylisted, relay access denied'), 'rcpt').outcome).toBe('relayed');
  });

  test('a row restricted to some stages does not apply at others', () => {
    const reply = parseReply('450 <x@example.com>: Recipient address rejected: Domain not found');
    expect(classifyReply(reply, 'rcpt').rule).toBe('recipient-domain-unknown');
    expect(classifyReply(reply, 'mail').rule).not.toBe('recipient-domain-unknown');
  });

  test('a custom table without a match gives "none", inconclusive', () => {
    const c = classifyReply(parseReply('550 x'), 'rcpt', []);
    expect(c).toEqual({ outcome: 'inconclusive', reason: 'unclassified reply 550', rule: 'none', subject: 'recipient' });
  });

  test('ruleMatches checks codes, enhanced code, text and stage together', () => {
    const rule: ReplyRule = { id: 't', outcome: 'denied', reason: 'r', codes: [550, 554], enhanced: /^5\.7\.1$/, text: /relay/i, stages: ['rcpt'], example: '', provenance: '' };
    expect(ruleMatches(rule, parseReply('554 5.7.1 Relay no'), 'rcpt')).toBe(true);
    expect(ruleMatches(rule, parseReply('554 5.7.1 Relay no'), 'mail')).toBe(false);
    expect(ruleMatches(rule, parseReply('555 5.7.1 Relay no'), 'rcpt')).toBe(false);
    expect(ruleMatches(rule, parseReply('554 5.7.2 Relay no'), 'rcpt')).toBe(false);
    expect(ruleMatches(rule, parseReply('554 Relay no'), 'rcpt')).toBe(false);
    expect(ruleMatches(rule, parseReply('554 5.7.1 nope'), 'rcpt')).toBe(false);
    // Text is matched across all lines.
    expect(ruleMatches(rule, parseReply('554-5.7.1 first\r\n554 5.7.1 relay second'), 'rcpt')).toBe(true);
  });
});

// --- classifyAttempt -----------------------------------------------------------

const r = (text: string): Reply => parseReply(text);
const OK_MAIL = r('250 2.1.0 Ok');
const OK_RCPT = r('250 2.1.5 Ok');
const DENIED = r('554 5.7.1 <relay-check@example.com>: Relay access denied');

describe('classifyAttempt', () => {
  test('MAIL refused: the outcome comes from the MAIL reply, reason prefixed', () => {
    const v = classifyAttempt({ mail: r('501 5.1.7 Bad sender address syntax'), rcpt: [], rcptCount: 1 }, false);
    expect(v.outcome).toBe('denied');
    expect(v.stage).toBe('mail');
    expect(v.rule).toBe('bad-syntax');
    expect(v.reason).toBe('MAIL FROM refused: address form refused as bad syntax');
    expect(v.decisive.code).toBe(501);
  });

  test('MAIL refused by sender verification: inconclusive', () => {
    const mail = r('450 4.1.8 <probe@example.com>: Sender address rejected: Domain not found');
    const v = classifyAttempt({ mail, rcpt: [], rcptCount: 1 }, false);
    expect(v.outcome).toBe('inconclusive');
    expect(v.reason).toMatch(/^MAIL FROM refused: the sender was refused/);
    expect(v.decisive).toBe(mail);
  });

  test('MAIL refused with 530 STARTTLS: inconclusive', () => {
    const v = classifyAttempt({ mail: r('530 5.7.0 Must issue a STARTTLS command first'), rcpt: [], rcptCount: 1 }, true);
    expect(v.outcome).toBe('inconclusive');
    expect(v.stage).toBe('mail');
  });

  test('relay RCPT denied', () => {
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [DENIED], rcptCount: 1 }, false);
    expect(v).toMatchObject({ outcome: 'denied', rule: 'postfix-relay-denied', stage: 'rcpt', reason: 'relay denied' });
    expect(v.decisive).toBe(DENIED);
  });

  test('relay RCPT deferred by greylisting: inconclusive', () => {
    const g = r('450 4.2.0 <x>: Recipient address rejected: Greylisted');
    expect(classifyAttempt({ mail: OK_MAIL, rcpt: [g], rcptCount: 1 }, false).outcome).toBe('inconclusive');
  });

  // classify.ts sends every RCPT and lets the relay destination decide,
  // noting a refused local recipient before it. SPEC §3 defines "relayed" by
  // the external RCPT's 2xx, so an external 2xx after a refused local one is
  // still a relay.
  test('external accepted after a refused local RCPT: relayed, with the refusal noted', () => {
    const local = r('550 5.1.1 <postmaster@mx.example.org>: Recipient address rejected: User unknown');
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [local, OK_RCPT], rcptCount: 2 }, false);
    expect(v.outcome).toBe('relayed');
    expect(v.decisive).toBe(OK_RCPT);
    expect(v.reason).toMatch(/local recipient before it was refused: 550/);
  });

  test('external denied after a refused local RCPT: decided by the external reply, refusal noted', () => {
    const local = r('550 5.1.1 <postmaster@mx.example.org>: Recipient address rejected: User unknown');
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [local, DENIED], rcptCount: 2 }, false);
    expect(v.outcome).toBe('denied');
    expect(v.rule).toBe('postfix-relay-denied');
    expect(v.stage).toBe('rcpt');
    expect(v.decisive).toBe(DENIED);
    expect(v.reason).toBe('relay denied (the local recipient before it was refused: 550)');
  });

  test('external greylisted after a refused local RCPT: inconclusive', () => {
    const local = r('550 5.1.1 <postmaster@mx.example.org>: User unknown');
    const g = r('450 4.2.0 <x>: Recipient address rejected: Greylisted');
    expect(classifyAttempt({ mail: OK_MAIL, rcpt: [local, g], rcptCount: 2 }, false).outcome).toBe('inconclusive');
  });

  test('no note when the local recipient was accepted', () => {
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT, DENIED], rcptCount: 2 }, false);
    expect(v.reason).toBe('relay denied');
  });

  test('destination at the server itself (local) accepted: inconclusive, not a relay', () => {
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 1, localDestination: true }, false);
    expect(v.outcome).toBe('inconclusive');
    expect(v.rule).toBe('accepted-local');
    expect(v.reason).toMatch(/local delivery/);
    // Also with confirmation: it never gets as far as DATA.
    expect(classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 1, localDestination: true, data: r('250 2.0.0 queued') }, true).outcome).toBe('inconclusive');
  });

  test('destination at the server itself refused: decided by the reply like any other', () => {
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [r('550 5.1.1 <x@[127.0.0.1]>: User unknown')], rcptCount: 1, localDestination: true }, false);
    expect(v.outcome).toBe('denied');
  });

  test('external after an accepted local RCPT: the external reply decides', () => {
    expect(classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT, DENIED], rcptCount: 2 }, false)).toMatchObject({ outcome: 'denied', decisive: DENIED });
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT, r('250 2.1.5 Ok')], rcptCount: 2 }, false);
    expect(v.outcome).toBe('relayed');
    expect(v.decisive).not.toBe(OK_RCPT);
  });

  test('all RCPT accepted, no confirmation: relayed at RCPT', () => {
    const last = r('251 2.1.5 User not local; will forward');
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [last], rcptCount: 1 }, false);
    expect(v).toMatchObject({ outcome: 'relayed', stage: 'rcpt', rule: 'accepted' });
    expect(v.reason).toContain('251');
    expect(v.decisive).toBe(last);
  });

  test('all RCPT accepted, no confirmation: DATA replies are ignored', () => {
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 1, data: r('554 5.7.1 no') }, false);
    expect(v.outcome).toBe('relayed');
  });

  test('confirmation: message accepted at end of DATA → relayed', () => {
    const end = r('250 2.0.0 Ok: queued as ABC123');
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 1, data: end }, true);
    expect(v).toMatchObject({ outcome: 'relayed', stage: 'data', rule: 'accepted' });
    expect(v.decisive).toBe(end);
  });

  test('confirmation: message refused at end of DATA (554) → denied, reason says so', () => {
    const end = r('554 5.7.1 Message rejected');
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 1, data: end }, true);
    expect(v.outcome).toBe('denied');
    expect(v.stage).toBe('data');
    expect(v.reason).toMatch(/message was refused/);
    expect(v.decisive).toBe(end);
  });

  test('confirmation: DATA command itself refused → decided by that reply', () => {
    const cmd = r('554 5.5.1 Error: no valid recipients');
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 1, dataCommand: cmd }, true);
    expect(v.outcome).toBe('denied');
    expect(v.decisive).toBe(cmd);
  });

  test('confirmation: temporary failure at end of DATA → inconclusive', () => {
    const v = classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 1, data: r('451 4.3.0 Error: queue file write error') }, true);
    expect(v.outcome).toBe('inconclusive');
    expect(v.reason).toMatch(/message was refused/);
  });

  test('confirmation without DATA replies is a programming error', () => {
    expect(() => classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 1 }, true)).toThrow(/DATA/);
  });

  test('an incomplete attempt (relay RCPT never answered) is a programming error', () => {
    const a: AttemptReplies = { mail: OK_MAIL, rcpt: [OK_RCPT], rcptCount: 2 };
    expect(() => classifyAttempt(a, false)).toThrow(/expected 2 RCPT replies, got 1/);
    expect(() => classifyAttempt({ mail: OK_MAIL, rcpt: [OK_RCPT, OK_RCPT], rcptCount: 1 }, false)).toThrow(/expected 1 RCPT replies, got 2/);
  });
});

// --- run.ts ----------------------------------------------------------------------

function tally(over: Partial<TargetTally> = {}): TargetTally {
  const reachable = over.reachable ?? true;
  return { host: 'mx.example.org', address: '192.0.2.1', port: 25, reachable, tested: reachable, relayed: 0, inconclusive: 0, ...over };
}
const V4 = tally();
const V6_UNREACHABLE = tally({ address: '2001:db8::1', reachable: false });

describe('runVerdict', () => {
  test('closed when every address was reached and nothing relayed or was inconclusive', () => {
    expect(runVerdict([V4, tally({ address: '192.0.2.2' })])).toBe('closed');
  });
  test('open when any attempt relayed, whatever else happened', () => {
    expect(runVerdict([V4, tally({ relayed: 1 }), V6_UNREACHABLE, tally({ inconclusive: 3 })])).toBe('open');
  });
  test('inconclusive when something was inconclusive', () => {
    expect(runVerdict([V4, tally({ address: '192.0.2.2', inconclusive: 1 })])).toBe('inconclusive');
  });
  test('inconclusive when an address could not be reached', () => {
    expect(runVerdict([V4, V6_UNREACHABLE])).toBe('inconclusive');
  });
  // A run that tested nothing proved nothing: runVerdict([]) is never 'closed'.
  test('[expected behaviour] no targets at all is not "closed"', () => {
    expect(runVerdict([])).not.toBe('closed');
  });
  test('reached but nothing ran there (issue 9): inconclusive, not closed', () => {
    expect(runVerdict([tally({ tested: false })])).toBe('inconclusive');
  });
  test('plaintext untested but the same address and port tested inside STARTTLS: decided by STARTTLS', () => {
    expect(runVerdict([tally({ tested: false }), tally()])).toBe('closed');
    expect(runVerdict([tally({ tested: false }), tally({ reachable: false })])).toBe('inconclusive');
  });
  test('targetVerdict is the verdict of one target', () => {
    expect(targetVerdict(V4)).toBe('closed');
    expect(targetVerdict(V6_UNREACHABLE)).toBe('inconclusive');
    expect(targetVerdict(tally({ relayed: 2 }))).toBe('open');
  });
});

describe('failureReasons', () => {
  test('clean run passes under every strictness', () => {
    for (const s of ['relaxed', 'normal', 'strict'] as const) expect(failureReasons([V4], s)).toEqual([]);
  });

  test('relayed attempts fail under every strictness, counted across targets', () => {
    const ts = [tally({ relayed: 2 }), tally({ address: '192.0.2.2', relayed: 1 })];
    for (const s of ['relaxed', 'normal', 'strict'] as const) {
      const reasons = failureReasons(ts, s);
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/^3 relay attempt\(s\) were accepted/);
      expect(reasons[0]).toMatch(/open relay/);
    }
    expect(failureReasons(ts, 'relaxed')[0]).toMatch(/through DATA/);
  });

  test('inconclusive attempts fail only under strict', () => {
    const ts = [tally({ inconclusive: 4 })];
    expect(failureReasons(ts, 'relaxed')).toEqual([]);
    expect(failureReasons(ts, 'normal')).toEqual([]);
    expect(failureReasons(ts, 'strict')).toEqual(['4 attempt(s) were inconclusive (strictness: strict)']);
  });

  test('unreachable IPv6 while the IPv4 of the same host:port was tested: warning under normal, failure under strict', () => {
    const ts = [V4, V6_UNREACHABLE];
    expect(failureReasons(ts, 'normal')).toEqual([]);
    expect(failureReasons(ts, 'relaxed')).toEqual([]);
    const strict = failureReasons(ts, 'strict');
    expect(strict).toHaveLength(1);
    expect(strict[0]).toContain('2001:db8::1');
    expect(strict[0]).toContain('25');
    expect(strict[0]).not.toContain('192.0.2.1');
  });

  test('all addresses of a host unreachable: failure under normal and strict', () => {
    const ts = [tally({ reachable: false }), V6_UNREACHABLE];
    for (const s of ['normal', 'strict'] as const) {
      const reasons = failureReasons(ts, s);
      expect(reasons.some((x) => x.includes('mx.example.org') && /no address could be reached/.test(x))).toBe(true);
    }
    expect(failureReasons(ts, 'relaxed')).toEqual([]);
  });

  test('reached but no attempt ran (STARTTLS demanded, then the handshake failed): failure under normal and strict', () => {
    const ts = [tally({ tested: false }), tally({ reachable: false })];
    for (const s of ['normal', 'strict'] as const) expect(failureReasons(ts, s)).toEqual(['mx.example.org:25: no relay attempt could be run on any address']);
    expect(failureReasons(ts, 'relaxed')).toEqual([]);
  });

  test('strict names an address reached but untested while another address was tested', () => {
    const ts = [V4, tally({ address: '2001:db8::1', tested: false })];
    expect(failureReasons(ts, 'normal')).toEqual([]);
    expect(failureReasons(ts, 'strict')).toEqual(['2001:db8::1 port 25 was reached but not tested']);
  });

  test('reachability is judged per host AND port', () => {
    // 192.0.2.1 answered on 25; nothing answered on 587.
    const ts = [V4, tally({ port: 587, reachable: false }), tally({ port: 587, address: '2001:db8::1', reachable: false })];
    const reasons = failureReasons(ts, 'normal');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/587/);
    expect(reasons[0]).toMatch(/no address could be reached/);
  });

  test('another host being reachable does not excuse an unreachable host', () => {
    const ts = [V4, tally({ host: 'mx2.example.org', address: '192.0.2.9', reachable: false })];
    const reasons = failureReasons(ts, 'normal');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain('mx2.example.org');
  });

  test('strict lists every unreachable address and the inconclusive count', () => {
    const ts = [V4, V6_UNREACHABLE, tally({ address: '2001:db8::2', reachable: false }), tally({ address: '192.0.2.3', inconclusive: 1 })];
    const reasons = failureReasons(ts, 'strict');
    expect(reasons).toHaveLength(3);
    expect(reasons.filter((x) => x.includes('2001:db8::1'))).toHaveLength(1);
    expect(reasons.filter((x) => x.includes('2001:db8::2'))).toHaveLength(1);
    expect(reasons.filter((x) => /1 attempt\(s\) were inconclusive/.test(x))).toHaveLength(1);
  });
});
