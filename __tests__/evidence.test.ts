import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { run } from '../src/engine.js';
import type { AttemptReport, PositiveControl, Report, TargetReport } from '../src/model/report.js';
import { SECOND_OUTSIDER } from '../src/schedule/target.js';
import { parseSettings, type RawInputs } from '../src/settings.js';
import { REPLY_RULES } from '../src/verdict/replies.js';
import { needsEvidence, UNPROVEN, weigh, weighService } from '../src/verdict/evidence.js';
import { describePostfix } from './support/describe-mta.js';
import { direct, OUTSIDER } from './support/direct-smtp.js';
import { startPostfix, type RunningPostfix } from './support/postfix.js';
import { expectValid } from './support/schema.js';
import { renderSummary } from '../src/report/summary.js';
import { renderTerminal } from '../src/report/terminal.js';

/**
 * Issue 21 §1, the evidence rule: a refusal is a relay denial only when it says so, or next to a
 * positive control (postmaster@ the server's domain accepted from the same client).
 */

const attempt = (rule: string, outcome: AttemptReport['outcome'] = 'denied'): AttemptReport => ({
  vector: 'external-sender',
  description: '',
  provenance: '',
  helo: 'relay-check.example.net',
  mailFrom: '<relay-check@example.com>',
  rcptTo: ['<relay-check@example.com>'],
  outcome,
  reason: 'refused by policy',
  rule,
  reply: '554 5.7.1 Access denied',
  stage: 'rcpt',
  connection: 1,
  routedVia: null,
  tries: 1,
  transcript: [],
});

const control = (accepted: boolean | null, reply: string | null, rule: string | null = null, elsewhere?: PositiveControl['elsewhere']): PositiveControl => ({
  accepted,
  sender: '<relay-check@example.com>',
  probes: [{ mailbox: '<postmaster@example.net>', accepted, reply, rule }],
  note: accepted === null ? 'not asked: no mail domain is known' : null,
  ...(elsewhere ? { elsewhere } : {}),
});

describe('the evidence rule, as a table', () => {
  test('the rows that need evidence are exactly the catch-alls, the text-less client refusal and authentication required', () => {
    expect(REPLY_RULES.filter((r) => r.evidence === 'control').map((r) => r.id)).toEqual(['client-refused', 'auth-required', 'auth-required-530', 'policy-5.7', 'permanent-other']);
    // Rows that name a relay decision never need it.
    for (const id of ['postfix-relay-denied', 'exim-relay-not-permitted', 'sendmail-relaying-denied', 'qmail-rcpthosts', 'exchange-online-relay', 'bad-syntax', 'client-refused-auth-only']) expect(needsEvidence(id)).toBe(false);
  });

  test('the rows that name a relay decision say so in their own examples, deny, and never need evidence', () => {
    const relay = REPLY_RULES.filter((r) => r.relayDecision);
    expect(relay.map((r) => r.id)).toEqual(['exchange-online-relay', 'postfix-relay-denied', 'exim-relay-not-permitted', 'sendmail-relaying-denied', 'qmail-rcpthosts', 'exchange-unable-to-relay', 'generic-relay-wording', 'haraka-cannot-deliver']);
    for (const r of relay) {
      expect({ id: r.id, outcome: r.outcome, evidence: r.evidence }).toEqual({ id: r.id, outcome: 'denied', evidence: undefined });
      expect({ id: r.id, example: r.example }).toEqual({ id: r.id, example: expect.stringMatching(/relay|rcpthosts|5\.7\.(54|64)|cannot deliver mail for/i) });
    }
  });

  const refused = control(false, '554 5.7.1 <unknown[203.0.113.10]>: Client host rejected: Access denied', 'client-refused');
  const cases: [string, AttemptReport, Parameters<typeof weigh>[1], 'denied' | 'inconclusive', RegExp | null][] = [
    ['a relay denial stands alone', attempt('postfix-relay-denied'), { controls: [refused], auth: false }, 'denied', null],
    ['a catch-all next to an accepted control is a denial', attempt('policy-5.7'), { controls: [control(true, '250 2.1.5 Ok')], auth: false }, 'denied', null],
    ['a catch-all with the control refused too is inconclusive', attempt('policy-5.7'), { controls: [refused], auth: false }, 'inconclusive', /refuses this client everything, its own postmaster included \(<postmaster@example\.net>: 554 5\.7\.1/],
    ['a catch-all on a service offering AUTH is a denial (submission)', attempt('policy-5.7'), { controls: [refused], auth: true }, 'denied', null],
    ['a client refusal shared by a second outsider is a denial', attempt('client-refused'), { controls: [control(false, '554 5.7.1 …', 'client-refused', { address: SECOND_OUTSIDER, accepted: false, reply: '554 5.7.1 …' })], auth: false }, 'denied', null],
    ['a client refusal of only the address tested from is inconclusive', attempt('client-refused'), { controls: [control(false, '554 5.7.1 …', 'client-refused', { address: SECOND_OUTSIDER, accepted: true, reply: '250 2.1.5 Ok' })], auth: false }, 'inconclusive', /accepts that mail from 193\.0\.14\.129 .*other clients may relay/],
    ['no control asked: a catch-all proves nothing', attempt('permanent-other'), { controls: [control(null, null)], auth: false }, 'inconclusive', /unknown \(not asked: no mail domain is known\)/],
    ['a control refused as a relay names the wrong domain, not a deaf server', attempt('permanent-other'), { controls: [control(false, '454 4.7.1 <postmaster@example.net>: Relay access denied', 'postfix-relay-denied')], auth: false }, 'inconclusive', /not a domain this server serves.*set `domain`/],
    ['a relayed attempt is never touched', attempt('accepted', 'relayed'), { controls: [refused], auth: false }, 'relayed' as 'denied', null],
  ];
  test.each(cases)('%s', (_name, a, s, outcome, reason) => {
    const w = weigh(a, s);
    expect(w.outcome).toBe(outcome);
    if (outcome === 'inconclusive') expect(w.rule).toBe(UNPROVEN);
    if (reason) expect(w.reason).toMatch(reason);
    if (outcome === a.outcome) expect(w).toBe(a);
  });

  test('one service, two transports: AUTH offered inside STARTTLS makes the plaintext catch-all a denial too', () => {
    const target = (transport: TargetReport['transport'], extensions: string[]): TargetReport =>
      ({ transport, extensions, positiveControl: refused, attempts: [attempt('policy-5.7')], counts: { tests: 1, relayed: 0, denied: 1, inconclusive: 0, skipped: 0 }, verdict: 'closed', host: 'h', address: '127.0.0.1', port: 587, reachable: true }) as TargetReport;
    const [plain, secure] = weighService([target('plain', ['STARTTLS']), target('starttls', ['AUTH'])]);
    expect([plain.attempts[0].outcome, secure.attempts[0].outcome]).toEqual(['denied', 'denied']);
    const [alone] = weighService([target('plain', ['STARTTLS'])]);
    expect({ outcome: alone.attempts[0].outcome, counts: alone.counts.inconclusive, verdict: alone.verdict }).toEqual({ outcome: 'inconclusive', counts: 1, verdict: 'inconclusive' });
  });
});

let pf: RunningPostfix;
const XCLIENT = '{ smtpd_authorized_xclient_hosts = 127.0.0.0/8 }';

async function check(service: string, extra: RawInputs = {}): Promise<Report> {
  return run(parseSettings({ host: '127.0.0.1', port: String(pf.ports[service]), tls: 'none', 'connect-timeout': '10', timeout: '90', ...extra }));
}

const rules = (r: Report): string[] => [...new Set(r.targets.flatMap((t) => t.attempts.filter((a) => a.outcome !== 'skipped').map((a) => a.rule ?? '')))].sort();

/**
 * An SPF policy service as Postfix talks to it (SMTPD_POLICY_README: attribute lines, a blank line;
 * one `action=` line back). Its answer is postfix-policyd-spf-python's on an SPF fail for the
 * runner's address; the SPF decision itself needs DNS, which the tests may not reach.
 */
async function spfPolicy(): Promise<{ port: number; asked: () => number; close: () => Promise<void> }> {
  let asked = 0;
  const server = net.createServer((sock) => {
    let buf = '';
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\n\n')) {
        const req = buf.slice(0, buf.indexOf('\n\n'));
        buf = buf.slice(buf.indexOf('\n\n') + 2);
        asked += 1;
        const attr = (n: string): string => req.split('\n').find((l) => l.startsWith(`${n}=`))?.slice(n.length + 1) ?? '';
        sock.write(`action=550 5.7.23 Message rejected due to: SPF fail - not authorized. Please see http://www.open-spf.org/Why?s=mfrom;id=${attr('sender')};ip=${attr('client_address')};r=<UNKNOWN>\n\n`);
      }
    });
    sock.on('error', () => sock.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, asked: () => asked, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
let spf: Awaited<ReturnType<typeof spfPolicy>> | undefined;

describePostfix('the evidence rule against real Postfix services', () => {
  beforeAll(async () => {
    spf = await spfPolicy();
    pf = await startPostfix(
      [
        // An open relay (mynetworks covers everybody) behind postscreen, whose access list refuses
        // the runner's address with the enforce action: every RCPT gets 550 5.3.2 from postscreen.
        {
          name: 'postscreen-open',
          postscreen: ['{ postscreen_access_list = inline:{ 127.0.0.1=reject } }', 'postscreen_denylist_action=enforce', 'postscreen_greet_wait=1s'],
          overrides: ['mynetworks=0.0.0.0/0'],
        },
        // The same smtpd without postscreen: what is behind it relays.
        { name: 'open', overrides: ['mynetworks=0.0.0.0/0'] },
        // An open relay with a check_client_access REJECT (no text) of just the address tested from.
        { name: 'reject-one', overrides: [XCLIENT, 'mynetworks=0.0.0.0/0', `{ smtpd_client_restrictions = check_client_access inline:{ ${OUTSIDER}=REJECT } }`] },
        // iRedMail's content-filter re-injection port: trusted networks only, every outsider refused.
        { name: 'reinjection', overrides: [XCLIENT, '{ smtpd_client_restrictions = permit_mynetworks, reject }'] },
        // A closed MX whose refusal of outside recipients is a custom text with no word of relaying.
        { name: 'custom-text', overrides: [XCLIENT, '{ smtpd_relay_restrictions = check_recipient_access inline:{ { example.com = 554 5.7.1 Not here } }, reject_unauth_destination }'] },
        // An open relay behind a reverse-DNS check of the client: XCLIENT NAME=[UNAVAILABLE] is a
        // client without a name, which reject_unknown_client_hostname refuses before the relay policy.
        { name: 'rdns-open', overrides: [XCLIENT, 'mynetworks=0.0.0.0/0', '{ smtpd_client_restrictions = reject_unknown_client_hostname }'] },
        // An open relay behind an SPF policy service (after the relay restrictions, as the SPF
        // policy's documentation places it) that fails every sender from the runner's address.
        { name: 'spf-open', overrides: [XCLIENT, 'mynetworks=0.0.0.0/0', `{ smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:${spf.port} }`] },
        // A container's Postfix: its name is the container id (no domain in greeting or EHLO), and it
        // relays for any sender in its mail domain (a published Docker image's "allowed domains").
        { name: 'container', overrides: ['myhostname=3f2a1b9c0d4e', '{ smtpd_relay_restrictions = check_sender_access inline:{ example.net=OK }, reject_unauth_destination }'] },
      ],
      { mydestination: '$myhostname, localhost, $mydomain' },
    );
  }, 60_000);
  afterAll(async () => {
    await pf?.stop();
    await spf?.close();
  });

  test('an open relay behind a postscreen access list that refuses the runner is inconclusive, never closed; strict fails it', async () => {
    // First, by hand: postscreen answers the relay attempt with 550 5.3.2, the smtpd behind it relays.
    const behind = await direct(pf.ports['postscreen-open'], { mode: 'plain', client: null });
    expect(behind.reply).toMatch(/550 5\.3\.2 Service currently unavailable/);
    expect((await direct(pf.ports.open, { mode: 'plain', client: null })).verdict).toBe('open');

    const normal = await check('postscreen-open');
    const t = normal.targets[0];
    expect({ verdict: normal.verdict, relayed: normal.counts.relayed, denied: normal.counts.denied, failed: normal.failed }).toEqual({ verdict: 'inconclusive', relayed: 0, denied: 0, failed: false });
    expect(rules(normal)).toContain('postscreen-enforce');
    expect(t.positiveControl?.accepted).toBe(false);
    expect(t.positiveControl?.probes[0]).toMatchObject({ mailbox: '<postmaster@relay-check.test>', reply: expect.stringMatching(/^550 5\.3\.2/) });
    const strict = await check('postscreen-open', { strictness: 'strict' });
    expect({ verdict: strict.verdict, failed: strict.failed }).toEqual({ verdict: 'inconclusive', failed: true });
  }, 120_000);

  test('a check_client_access REJECT of only the address tested from, in front of an open relay, is inconclusive and says other clients may relay', async () => {
    expect((await direct(pf.ports['reject-one'], { mode: 'plain', client: OUTSIDER })).reply).toMatch(/Client host rejected: Access denied/);
    expect((await direct(pf.ports['reject-one'], { mode: 'plain', client: SECOND_OUTSIDER })).verdict).toBe('open');

    const r = await check('reject-one', { 'client-address': OUTSIDER, strictness: 'strict' });
    const t = r.targets[0];
    expect({ verdict: r.verdict, relayed: r.counts.relayed, denied: r.counts.denied, failed: r.failed }).toEqual({ verdict: 'inconclusive', relayed: 0, denied: 0, failed: true });
    expect(t.positiveControl).toMatchObject({ accepted: false, elsewhere: { address: SECOND_OUTSIDER, accepted: true } });
    const plain = t.attempts.find((a) => a.vector === 'external-sender');
    expect(plain).toMatchObject({ outcome: 'inconclusive', rule: UNPROVEN });
    expect(plain?.reason).toMatch(/accepts that mail from 193\.0\.14\.129.*other clients may relay/);
  }, 120_000);

  test("iRedMail's re-injection port (permit_mynetworks, reject) stays closed: a second outsider is refused too", async () => {
    expect((await direct(pf.ports.reinjection, { mode: 'plain', client: OUTSIDER })).verdict).toBe('closed');
    const r = await check('reinjection', { 'client-address': OUTSIDER, strictness: 'strict' });
    const t = r.targets[0];
    expect({ verdict: r.verdict, failed: r.failed, inconclusive: r.counts.inconclusive }).toEqual({ verdict: 'closed', failed: false, inconclusive: 0 });
    expect(rules(r)).toEqual(['client-refused']);
    expect(t.positiveControl).toMatchObject({ accepted: false, elsewhere: { address: SECOND_OUTSIDER, accepted: false } });
    expect(renderTerminal(r, { color: false }).replace(/\s+/g, ' ')).toMatch(/own mail: refuses mail for its own domain from this client .*; as 193\.0\.14\.129: refused/);
    expectValid(r);
  }, 120_000);

  test('a custom refusal with no word of relaying is a denial next to an accepted postmaster', async () => {
    expect((await direct(pf.ports['custom-text'], { mode: 'plain', client: OUTSIDER })).reply).toMatch(/554 5\.7\.1 <relay-check@example\.com>: Recipient address rejected: Not here/);
    const r = await check('custom-text', { 'client-address': OUTSIDER, strictness: 'strict' });
    const t = r.targets[0];
    expect({ verdict: r.verdict, failed: r.failed }).toEqual({ verdict: 'closed', failed: false });
    expect(t.positiveControl).toMatchObject({ accepted: true, sender: '<relay-check@example.com>', probes: [{ mailbox: '<postmaster@relay-check.test>', accepted: true }] });
    expect(t.attempts.find((a) => a.vector === 'external-sender')).toMatchObject({ outcome: 'denied', rule: 'policy-5.7' });
    // Nothing was asked from a second address: the evidence was there.
    expect(t.positiveControl?.elsewhere).toBeUndefined();
    // Every renderer says it, from the same model; the JSON keeps to the schema.
    expect(renderSummary(r)).toContain('**Own mail** (positive control, RFC 5321 §4.5.1): 127.0.0.1&#58;');
    expect(renderSummary(r)).toContain('accepts mail for its own domain from this client &#40;&#60;postmaster&#64;relay-check.test&#62;&#58; 250 2.1.5 Ok&#41;');
    expect(renderTerminal(r, { color: false }).replace(/\s+/g, ' ')).toContain(' own mail: accepts mail for its own domain from this client (<postmaster@relay-check.test>: 250 2.1.5 Ok)');
    expectValid(r);
  }, 120_000);

  test('a greeting without a host name cannot leave the run closed: the vectors that need the name are untested, and with `domain` the relay is found', async () => {
    const bare = await check('container', { strictness: 'strict' });
    const t = bare.targets[0];
    expect(t.greeting).toMatch(/^220 3f2a1b9c0d4e /);
    expect(t.serverName).toBeNull();
    expect({ verdict: bare.verdict, failed: bare.failed, relayed: bare.counts.relayed }).toEqual({ verdict: 'inconclusive', failed: true, relayed: 0 });
    const own = t.attempts.find((a) => a.vector === 'own-domain-sender');
    expect(own).toMatchObject({ outcome: 'inconclusive', reason: expect.stringMatching(/^not tested: needs \{mydomain\}/) });
    expect(t.positiveControl).toMatchObject({ accepted: null, note: expect.stringMatching(/no mail domain is known/) });

    const named = await check('container', { domain: 'example.net' });
    expect(named.verdict).toBe('open');
    expect(named.targets[0].attempts.find((a) => a.vector === 'own-domain-sender')?.outcome).toBe('relayed');
  }, 120_000);

  test('an open relay behind a reverse-DNS refusal of the runner is inconclusive, never closed; strict fails it', async () => {
    // First, by hand: as 203.0.113.10 with no name, refused for the name; the policy behind it relays.
    const d = await direct(pf.ports['rdns-open'], { mode: 'plain', client: OUTSIDER }).catch((e: Error) => e.message);
    expect(String(typeof d === 'string' ? d : d.reply)).toMatch(/4\.7\.25 .*Client host rejected: cannot find your hostname/);
    const r = await check('rdns-open', { 'client-address': OUTSIDER, strictness: 'strict' });
    expect({ verdict: r.verdict, relayed: r.counts.relayed, denied: r.counts.denied, failed: r.failed }).toEqual({ verdict: 'inconclusive', relayed: 0, denied: 0, failed: true });
    expect(rules(r)).toContain('client-no-reverse-dns');
    expect(r.targets[0].positiveControl?.accepted).toBe(false);
  }, 120_000);

  test('an open relay behind an SPF refusal of the runner is inconclusive, never closed; strict fails it', async () => {
    // First, by hand: as 203.0.113.10, the SPF policy refuses the sender (5.7.23); the policy before it relays.
    const d = await direct(pf.ports['spf-open'], { mode: 'plain', client: OUTSIDER }).catch((e: Error) => e.message);
    expect(String(typeof d === 'string' ? d : d.reply)).toMatch(/^550 (550 )?5\.7\.23 .*SPF fail/);
    const r = await check('spf-open', { 'client-address': OUTSIDER, strictness: 'strict' });
    expect({ verdict: r.verdict, relayed: r.counts.relayed, denied: r.counts.denied, failed: r.failed }).toEqual({ verdict: 'inconclusive', relayed: 0, denied: 0, failed: true });
    expect(rules(r)).toContain('sender-authentication');
    expect(spf?.asked()).toBeGreaterThan(0);
  }, 120_000);
});
