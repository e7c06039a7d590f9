import { describe, expect, test } from '@jest/globals';
import { routeFromLog, settled } from '../src/gate/maillog.js';
import type { AttemptReport, RouteProof } from '../src/model/report.js';
import { acceptedAttempt, withRouteProof } from '../src/verdict/route-proof.js';

/**
 * Proof by routing, its pure parts: reading a private instance's maillog
 * (src/gate/maillog.ts) and deciding an accepted attempt by it
 * (src/verdict/route-proof.ts). The log lines are Postfix 3.7.11's own, as
 * written by instances of the gate on this machine (2026-12-06): the class
 * tags are those instances' own; the dates and host are as postlogd wrote them.
 */

const TAG = '2e953350d4d6';
const OTHER_TAG = 'c87c3d05bcc6';

/** percent-local fixture: allow_percent_hack = no, the routed local part delivered by the local class. */
const LOCAL_LINE = `postfix/discard[6221]: 80480212E82: to=<relay-check%example.com@mail.example.org>, relay=none, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (relay-check-local-${TAG})`;
/** percent-relay fixture: example.org in relay_domains, allow_untrusted_routing = yes. */
const RELAY_LINE = `postfix/discard[6714]: 66C78212F88: to=<relay-check%example.com@example.org>, relay=none, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (relay-check-relay-${TAG})`;
/** The bang path without a domain: qualified with $myhostname, the original kept as orig_to. */
const ORIG_LINE = `postfix/discard[13215]: 012DF2128F3: to=<example.com!relay-check@mail.example.org>, orig_to=<example.com!relay-check>, relay=none, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (relay-check-local-${TAG})`;
/** A virtual alias domain without the address (smtpd_reject_unlisted_recipient = no): the error transport. */
const BOUNCED_LINE = 'postfix/error[14846]: 5AC8021221C: to=<nobody@example.net>, relay=none, delay=0.02, delays=0.01/0/0/0, dsn=5.1.1, status=bounced (User unknown in virtual alias table)';
/** header_checks `FILTER evil:dummy` to a service that is not there (the sandbox made the spawn service a discard; this is before). */
const FILTER_LINES = [
  'postfix/cleanup[11067]: 8990E2122B1: filter: header Subject: t from unknown[203.0.113.10]; from=<relay-check@example.net> to=<relay-check@example.org> proto=ESMTP helo=<relay-check.example.net>: evil:dummy',
  'postfix/error[11071]: 8990E2122B1: to=<relay-check@example.org>, relay=none, delay=0.04, delays=0.01/0.03/0/0.01, dsn=4.3.0, status=deferred (mail transport unavailable)',
];

const logOf = (...lines: string[]): string => lines.map((l) => `Dec 06 01:57:14 mail ${l}`).join('\n') + '\n';

describe('routeFromLog: the class of the relay destination, from the delivery agent line', () => {
  test('the local class: not a relay, the line quoted without date and host', () => {
    expect(routeFromLog(logOf(LOCAL_LINE), '80480212E82', ['<relay-check%example.com@mail.example.org>'], TAG)).toEqual({
      class: 'local',
      relays: false,
      recipient: 'relay-check%example.com@mail.example.org',
      queueId: '80480212E82',
      line: LOCAL_LINE,
      note: null,
    });
  });

  test('the relay class: relayed', () => {
    expect(routeFromLog(logOf(RELAY_LINE), '66C78212F88', ['<relay-check%example.com@example.org>'], TAG)).toMatchObject({ class: 'relay', relays: true, line: RELAY_LINE });
  });

  test('a rewritten recipient is found by orig_to', () => {
    expect(routeFromLog(logOf(ORIG_LINE), '012DF2128F3', ['<example.com!relay-check>'], TAG)).toMatchObject({ class: 'local', recipient: 'example.com!relay-check@mail.example.org' });
  });

  test('bounced by the error transport: not a relay', () => {
    expect(routeFromLog(logOf(BOUNCED_LINE), '5AC8021221C', ['<nobody@example.net>'], TAG)).toMatchObject({ class: 'bounced', relays: false, line: BOUNCED_LINE });
  });

  test("another instance's tag proves nothing: a configuration cannot guess the tag and FILTER to a look-alike", () => {
    const p = routeFromLog(logOf(LOCAL_LINE), '80480212E82', ['<relay-check%example.com@mail.example.org>'], OTHER_TAG);
    expect(p).toMatchObject({ class: null, relays: null, line: null });
    expect(p.note).toContain('did not deliver it to one of the instance');
  });

  test('a FILTER diverted the message: not shown, and said', () => {
    const p = routeFromLog(logOf(...FILTER_LINES), '8990E2122B1', ['<relay-check@example.org>'], TAG);
    expect(p).toMatchObject({ class: null, relays: null });
    expect(p.note).toMatch(/^the configuration diverted the message before delivery, so its route is not shown: postfix\/cleanup\[11067\]: 8990E2122B1: filter: header Subject/);
  });

  test('two recipients (a local one first): the destination decides, not the local recipient before it', () => {
    const first = `postfix/discard[6221]: 7F39F212F68: to=<postmaster@example.org>, relay=none, delay=0.01, delays=0/0.01/0/0, dsn=2.0.0, status=sent (relay-check-local-${TAG})`;
    const dest = `postfix/discard[6222]: 7F39F212F68: to=<relay-check@example.com>, relay=none, delay=0.01, delays=0/0.01/0/0, dsn=2.0.0, status=sent (relay-check-default-${TAG})`;
    expect(routeFromLog(logOf(first, dest), '7F39F212F68', ['<postmaster@example.org>', '<relay-check@example.com>'], TAG)).toMatchObject({ class: 'default', relays: true, line: dest });
    // Only the local recipient's line: the destination's route is not shown (the local one does not stand in for it).
    expect(routeFromLog(logOf(first), '7F39F212F68', ['<postmaster@example.org>', '<relay-check@example.com>'], TAG)).toMatchObject({ class: null });
  });

  test("a copy the configuration adds (always_bcc to an outside address) does not speak for a destination delivered locally", () => {
    const bcc = `postfix/discard[6222]: 80480212E82: to=<archive@example.net>, relay=none, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (relay-check-default-${TAG})`;
    expect(routeFromLog(logOf(bcc, LOCAL_LINE), '80480212E82', ['<relay-check%example.com@mail.example.org>'], TAG)).toMatchObject({ class: 'local', relays: false, line: LOCAL_LINE });
    // A quoted local part is compared without its quotes (Postfix drops them where they are not needed).
    expect(routeFromLog(logOf(ORIG_LINE), '012DF2128F3', ['<"example.com!relay-check">'], TAG)).toMatchObject({ class: 'local' });
  });

  test('no line yet: not shown, and settled() waits for it; a removed message is settled', () => {
    expect(routeFromLog(logOf('postfix/qmgr[9976]: 48E782124B9: from=<relay-check@example.net>, size=346, nrcpt=1 (queue active)'), '48E782124B9', ['<a@example.org>'], TAG).note).toBe(
      'the instance logged no delivery of queue id 48E782124B9 in time',
    );
    expect(settled(logOf('postfix/qmgr[9976]: 48E782124B9: from=<relay-check@example.net>, size=346, nrcpt=1 (queue active)'), '48E782124B9', 1)).toBe(false);
    expect(settled(logOf(LOCAL_LINE), '80480212E82', 1)).toBe(true);
    expect(settled(logOf(LOCAL_LINE), '80480212E82', 2)).toBe(false);
    expect(settled(logOf('postfix/qmgr[9976]: 48E782124B9: removed'), '48E782124B9', 2)).toBe(true);
  });
});

const attempt = (over: Partial<AttemptReport>): AttemptReport => ({
  vector: 'percent-hack-own-domain',
  description: 'percent hack at the own domain',
  provenance: 'test',
  helo: 'relay-check.example.net',
  mailFrom: '<relay-check@example.com>',
  rcptTo: ['<relay-check%example.com@example.org>'],
  outcome: 'relayed',
  reason: 'accepted, but the server accepts any mailbox at example.org',
  rule: 'accepted-routed',
  reply: '250 2.1.5 Ok',
  stage: 'rcpt',
  connection: 1,
  routedVia: 'example.org',
  tries: 1,
  transcript: [],
  ...over,
});

const proof = (over: Partial<RouteProof>): RouteProof => ({ class: null, relays: null, recipient: 'relay-check%example.com@example.org', queueId: '66C78212F88', line: null, note: null, ...over });

describe('withRouteProof: the log decides an accepted attempt', () => {
  test('relay or default class: relayed, whatever the controls made of it, with the line in the reason', () => {
    for (const before of [attempt({}), attempt({ outcome: 'inconclusive', rule: 'accepted-catch-all' }), attempt({ outcome: 'skipped', rule: 'accepted-not-routed' })]) {
      const a = withRouteProof(before, proof({ class: 'relay', relays: true, line: RELAY_LINE }));
      expect([a.outcome, a.rule]).toEqual(['relayed', 'routed-onward']);
      expect(a.reason).toContain(`Postfix's log: ${RELAY_LINE}`);
      expect(a.route?.class).toBe('relay');
    }
  });

  test('local class: not a relay (skipped), though the routing table alone says Postfix relays a percent form', () => {
    const a = withRouteProof(attempt({}), proof({ class: 'local', relays: false, line: LOCAL_LINE }));
    expect([a.outcome, a.rule]).toEqual(['skipped', 'routed-local']);
    expect(a.reason).toMatch(/^not a relay: accepted, and the private instance delivered .* to the local transport/);
    expect(a.reason).toContain(LOCAL_LINE);
  });

  test('bounced: not a relay', () => {
    expect(withRouteProof(attempt({}), proof({ class: 'bounced', relays: false, line: BOUNCED_LINE })).reason).toContain('returned the message to the sender itself');
  });

  test('not shown: the attempt stays as it was, the proof (with its note) rides along', () => {
    const before = attempt({ outcome: 'inconclusive', rule: 'accepted-catch-all' });
    const a = withRouteProof(before, proof({ note: 'DATA was refused when the attempt was sent again for the proof (554 5.7.1 no)' }));
    expect({ ...a, route: undefined }).toEqual({ ...before, route: undefined });
    expect(a.route?.note).toContain('DATA was refused');
  });

  test('which attempts are accepted ones: the destination accepted, whatever the controls decided; refusals are not', () => {
    expect(['accepted', 'accepted-local', 'accepted-routed', 'accepted-not-routed', 'accepted-catch-all', 'accepted-control-undecided'].every((rule) => acceptedAttempt(attempt({ rule })))).toBe(true);
    expect(acceptedAttempt(attempt({ rule: 'postfix-relay-denied', outcome: 'denied' }))).toBe(false);
    expect(acceptedAttempt(attempt({ rule: null, outcome: 'skipped' }))).toBe(false);
  });
});
