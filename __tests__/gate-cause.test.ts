import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { fixForCause, type GateCause } from '../src/gate/cause.js';
import { addressKeys, causeOf, clientKeys, entryCovers, type Lookup } from '../src/gate/effective.js';
import { editOf, unifiedDiff, type ConfigFiles } from '../src/gate/fix.js';
import { runFixedCopy, runGate } from '../src/gate/gate.js';
import type { GateInstance } from '../src/gate/instance.js';
import { parseMainCf, parseMasterCf } from '../src/gate/postfix-files.js';
import { proveFix } from '../src/gate/prove.js';
import { annotations } from '../src/report/annotations.js';
import { fixVerdict } from '../src/report/diagnosis.js';
import type { Report } from '../src/model/report.js';
import { adviceBullets, renderSummary } from '../src/report/summary.js';
import { renderTerminal } from '../src/report/terminal.js';
import { parseSettings } from '../src/settings.js';
import { ROOT } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { direct, OUTSIDER, type DirectResult } from './support/direct-smtp.js';
import { expectValid } from './support/schema.js';

/**
 * Issue 21 §3: in gate mode the cause comes from the instance's effective
 * configuration (postconf -x, postconf -P) for the client address tested, the
 * annotation points at the line that sets it, and a fix is "Verified" only when
 * the relayed attempts are denied, own-domain mail still gets in from outside,
 * and AUTH is still offered. Fixtures: Debian 12's own main.cf/master.cf with
 * the stock submission block (see __tests__/fixtures/gate/README.md).
 */

const FIXTURES = path.join(ROOT, '__tests__', 'fixtures', 'gate');
const none: Lookup = () => 'none';
const eff = (o: Record<string, string>): Map<string, string> =>
  new Map(Object.entries({ smtpd_relay_restrictions: 'permit_mynetworks permit_sasl_authenticated defer_unauth_destination', mydestination: 'mail.example.net, example.net, localhost', relay_domains: '', mynetworks: '127.0.0.0/8', ...o }));
const ctx = { client: '198.51.100.7', helo: 'client.example.org', sender: 'someone@example.org', recipient: 'relay-check@example.com' };

describe('the cause, from effective values (pure)', () => {
  test('mynetworks entries against the client actually used, not a fixed address', () => {
    expect(['0.0.0.0/0', '198.51.100.0/24', '203.0.113.0/24', '198.51.100.7', '127.0.0.0/8', '[::]/0', '[::1]/128'].map((e) => entryCovers(e, '198.51.100.7'))).toEqual([true, true, false, true, false, true, false]);
    // permit_mynetworks with 203.0.113.0/24 does not let 198.51.100.7 relay: by this reading it is refused, so no cause.
    expect(causeOf(eff({ mynetworks: '203.0.113.0/24' }), ctx, none)).toBeNull();
    expect(causeOf(eff({ mynetworks: '127.0.0.0/8 198.51.100.0/24' }), ctx, none)).toEqual([{ kind: 'mynetworks', list: 'smtpd_relay_restrictions', element: 'permit_mynetworks', detail: '198.51.100.0/24' }]);
  });

  test('Debian submission: an empty relay list and permit_sasl_authenticated,reject refuse the outsider (no cause); a bare permit is one', () => {
    const sub = { smtpd_relay_restrictions: '', smtpd_recipient_restrictions: 'permit_sasl_authenticated,reject', mynetworks: '0.0.0.0/0' };
    expect(causeOf(eff(sub), ctx, none)).toBeNull();
    expect(causeOf(eff({ ...sub, smtpd_recipient_restrictions: 'permit_sasl_authenticated,permit,reject' }), ctx, none)).toEqual([{ kind: 'permit', list: 'smtpd_recipient_restrictions', element: 'permit', detail: 'permit' }]);
  });

  test('an access table entry that says OK for the sender, found by postmap-style keys; a table that cannot be read decides nothing', () => {
    const seen: string[][] = [];
    const lookup: Lookup = (table, keys) => {
      seen.push([table, ...keys]);
      return keys.includes('example.org') ? { key: 'example.org', value: 'OK' } : 'none';
    };
    const e = eff({ smtpd_relay_restrictions: 'permit_mynetworks, check_sender_access hash:/tmp/i/conf/sender_access, reject_unauth_destination' });
    expect(causeOf(e, ctx, lookup)).toEqual([{ kind: 'access-map', list: 'smtpd_relay_restrictions', element: 'check_sender_access hash:/tmp/i/conf/sender_access', detail: 'example.org OK', table: 'hash:/tmp/i/conf/sender_access' }]);
    expect(seen[0]).toEqual(['hash:/tmp/i/conf/sender_access', 'someone@example.org', 'example.org', 'someone@']);
    expect(causeOf(e, ctx, () => 'error')).toBeNull();
    expect(addressKeys('a@mx.example.org')).toEqual(['a@mx.example.org', 'mx.example.org', 'example.org', '.example.org', 'a@']);
    expect(addressKeys('', '<>')).toEqual(['<>']);
    expect(clientKeys('203.0.113.10')).toEqual(['203.0.113.10', '203.0.113', '203.0', '203']);
  });

  test('relay_domains naming the recipient domain, and a relay list that never reaches a relay check', () => {
    expect(causeOf(eff({ relay_domains: 'example.com', mynetworks: '127.0.0.0/8' }), ctx, none)).toEqual([{ kind: 'relay-domains', list: 'smtpd_relay_restrictions', element: 'defer_unauth_destination', detail: 'example.com' }]);
    expect(causeOf(eff({ smtpd_relay_restrictions: 'permit_sasl_authenticated', smtpd_recipient_restrictions: '' }), ctx, none)?.[0].kind).toBe('no-relay-check');
    // A restriction class name cannot be judged here: no cause rather than a guess.
    expect(causeOf(eff({ smtpd_relay_restrictions: 'my_class, reject_unauth_destination' }), ctx, none)).toBeNull();
  });
});

const files = (main: string, master: string | null): ConfigFiles => ({ main: parseMainCf(main), mainText: main, master: master === null ? null : parseMasterCf(master), masterText: master, mapText: () => null });
const cause = (o: Partial<GateCause>): GateCause => ({ service: 'smtp', kind: 'mynetworks', list: 'smtpd_relay_restrictions', element: 'permit_mynetworks', client: OUTSIDER, sentence: 's', places: [], vector: 'external-sender', ...o });

describe('the smallest change at that line, as a diff of the file (pure)', () => {
  test('main.cf: mynetworks narrowed to what does not cover the client, a unified diff with the line number', () => {
    const f = files('# x\nmyhostname = mx\nmynetworks = 127.0.0.0/8 0.0.0.0/0 [::1]/128\n', null);
    const fix = fixForCause(cause({}), f);
    expect(fix?.overrides).toEqual(['mynetworks = 127.0.0.0/8 [::1]/128']);
    expect(fix?.diff).toBe('--- main.cf\n+++ main.cf\n@@ -3 +3 @@\n-mynetworks = 127.0.0.0/8 0.0.0.0/0 [::1]/128\n+mynetworks = 127.0.0.0/8 [::1]/128');
  });

  test('master.cf: the -o line of the service changed in place (the main.cf value untouched); a bare permit taken out', () => {
    const master = 'smtp inet n - y - - smtpd\n  -o mynetworks=0.0.0.0/0\nsubmission inet n - y - - smtpd\n  -o { smtpd_recipient_restrictions = permit_sasl_authenticated, permit, reject }\n';
    const f = files('mynetworks = 127.0.0.0/8\n', master);
    expect(fixForCause(cause({}), f)?.diff).toBe('--- master.cf\n+++ master.cf\n@@ -2 +2 @@\n-  -o mynetworks=0.0.0.0/0\n+  -o mynetworks=127.0.0.0/8,[::1]/128');
    const permit = fixForCause(cause({ service: 'submission', kind: 'permit', list: 'smtpd_recipient_restrictions', element: 'permit' }), f);
    expect(permit?.overrides).toEqual(['submission/inet/smtpd_recipient_restrictions = permit_sasl_authenticated, reject']);
    expect(permit?.diff).toBe('--- master.cf\n+++ master.cf\n@@ -4 +4 @@\n-  -o { smtpd_recipient_restrictions = permit_sasl_authenticated, permit, reject }\n+  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject');
  });

  test('one block per file, hunks in line order, later hunks shifted by earlier insertions', () => {
    const f = files('a = 1\nb = 2\n', 'smtp inet n - y - - smtpd\nx unix - - n - - smtp\n  -o y=1\n');
    const edits = [editOf(f, { file: 'master.cf', line: 3, setting: 'x/unix -o y', value: '1' }, 'y', '2'), { file: 'master.cf', line: 1, remove: ['smtp inet n - y - - smtpd'], add: ['smtp inet n - y - - smtpd', '  -o z=1'] }, editOf(f, { file: 'main.cf', line: 2, setting: 'b', value: '2' }, 'b', '3')];
    expect(unifiedDiff(edits)).toBe(
      ['--- master.cf', '+++ master.cf', '@@ -1 +1,2 @@', ' smtp inet n - y - - smtpd', '+  -o z=1', '@@ -3 +4 @@', '-  -o y=1', '+  -o y=2', '--- main.cf', '+++ main.cf', '@@ -2 +2 @@', '-b = 2', '+b = 3'].join('\n'),
    );
  });
});

describe('what "Verified" requires (pure: the fixed copy is a report given here)', () => {
  type T = Report['targets'][number];
  const control = (accepted: boolean | null, note: string | null = null): T['positiveControl'] => ({
    accepted,
    sender: '<relay-check@example.com>',
    probes: accepted === null ? [] : [{ mailbox: '<postmaster@example.net>', accepted, reply: accepted ? '250 2.1.5 Ok' : '554 5.7.1 denied', rule: null }],
    note,
  });
  const target = (o: Partial<T>): T =>
    ({ service: 'smtp (25)', transport: 'plain', port: 25, extensions: ['PIPELINING', 'AUTH PLAIN LOGIN'], positiveControl: control(true), counts: { tests: 1, relayed: 0, denied: 1, inconclusive: 0, skipped: 0 }, attempts: [{ vector: 'external-sender', outcome: 'denied' }], ...o }) as unknown as T;
  const report = (t: T): Report => ({ targets: [t] }) as unknown as Report;
  const head = report(target({ counts: { tests: 1, relayed: 1, denied: 0, inconclusive: 0, skipped: 0 }, attempts: [{ vector: 'external-sender', outcome: 'relayed' }] as T['attempts'] }));
  const fix = { rule: 'r', services: ['smtp'], places: [], overrides: ['mynetworks = 127.0.0.0/8'], diff: '' };
  const settings = parseSettings({ 'postfix-config': path.join(FIXTURES, 'debian-multi') });
  const prove = (again: Report, before: Report = head) => proveFix(settings, before, fix, { vectors: [] }, async () => again);

  test('all three hold: verified, and the mailbox kept is said', async () => {
    const p = await prove(report(target({})));
    expect(p).toMatchObject({ verified: true, notVerified: [], stillRelayed: [], ownMail: [{ service: 'smtp', mailbox: 'postmaster@example.net', before: true, after: true, reply: '250 2.1.5 Ok' }] });
    expect(fixVerdict(p)).toBe('Verified on a copy: with this change, the 1 attempt(s) that relayed on smtp are all denied, and smtp still accepts postmaster@example.net from an outside client.');
  });

  test('an attempt left inconclusive is not a denial', async () => {
    const p = await prove(report(target({ attempts: [{ vector: 'external-sender', outcome: 'inconclusive' }] as T['attempts'] })));
    expect(p.verified).toBe(false);
    expect(p.notVerified).toEqual(['1 of the 1 attempt(s) that relayed were not denied on the fixed copy (not run or inconclusive: external-sender)']);
  });

  test('accepted but shown by the instance\'s log to be delivered locally (proof by routing) is no relay: verified; skipped for another reason is not', async () => {
    const local = await prove(report(target({ attempts: [{ vector: 'external-sender', outcome: 'skipped', rule: 'routed-local' }] as T['attempts'] })));
    expect({ verified: local.verified, why: local.notVerified }).toEqual({ verified: true, why: [] });
    const other = await prove(report(target({ attempts: [{ vector: 'external-sender', outcome: 'skipped', rule: 'needs-starttls' }] as T['attempts'] })));
    expect(other.verified).toBe(false);
  });

  test('port 25 refusing postmaster@, AUTH no longer offered: each fails it', async () => {
    const p = await prove(report(target({ extensions: ['PIPELINING'], positiveControl: control(false) })));
    expect(p.verified).toBe(false);
    expect(p.notVerified).toEqual(['smtp (25) (plain) no longer accepts postmaster@example.net from an outside client (554 5.7.1 denied)', 'smtp (25) (plain) no longer offers AUTH']);
  });

  test('a positive control not decided counts as unknown: after the fix, and on port 25 before it', async () => {
    expect((await prove(report(target({ positiveControl: control(null, 'no answer') })))).notVerified).toEqual(['smtp (25) (plain) no longer accepts postmaster@example.net from an outside client: not asked on the fixed copy']);
    const unknownBefore = report(target({ ...head.targets[0], positiveControl: undefined }));
    expect((await prove(report(target({})), unknownBefore)).notVerified).toEqual([
      "whether smtp (25) (plain) takes its own domain's mail from an outside client is not known (no positive control), so the fix cannot be shown to keep it",
    ]);
    // A submission port that never took mail from outsiders has nothing to keep.
    const submission = report(target({ ...head.targets[0], service: 'submission (587)', positiveControl: control(false) }));
    const fixSub = { ...fix, services: ['submission'] };
    const p = await proveFix(settings, submission, fixSub, { vectors: [] }, async () => report(target({ service: 'submission (587)', positiveControl: control(false) })));
    expect(p).toMatchObject({ verified: true, notVerified: [] });
  });
});

// ---------------------------------------------------------------------------------------------
// Real Postfix, gate mode

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

interface GateRun {
  report: Report;
  /** Direct sessions on the head instance as the outsider, per service name: relay attempt and postmaster@. */
  relay: Map<string, DirectResult>;
  postmaster: Map<string, DirectResult>;
}

async function sessions(inst: GateInstance, into: Pick<GateRun, 'relay' | 'postmaster'>): Promise<void> {
  for (const s of inst.services) {
    const mode = s.tlsRequired ? 'starttls' : 'plain';
    into.relay.set(s.name, await direct(s.port, { mode, client: OUTSIDER }));
    into.postmaster.set(s.name, await direct(s.port, { mode, client: OUTSIDER, from: 'someone@example.org', to: `postmaster@${inst.mydomain}` }));
  }
}

async function gate(dir: string): Promise<GateRun> {
  const run = { relay: new Map<string, DirectResult>(), postmaster: new Map<string, DirectResult>() };
  const report = await runGate(parseSettings({ 'postfix-config': dir, timeout: '120', 'connect-timeout': '15' }), {}, undefined, { beforeRun: (inst) => sessions(inst, run) });
  expectValid(report);
  return { report, ...run };
}

/** A copy of a fixture with a unified diff (one file, one-line hunks) applied, as a team would commit it. */
function applied(name: string, diff: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-fixed-'));
  made.push(dir);
  for (const f of fs.readdirSync(path.join(FIXTURES, name))) fs.copyFileSync(path.join(FIXTURES, name, f), path.join(dir, f));
  const file = /^--- (\S+)/m.exec(diff)?.[1] ?? '';
  const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
  const at = Number(/^@@ -(\d+) /m.exec(diff)?.[1]);
  const minus = diff.split('\n').filter((l) => /^-(?!--)/.test(l)).map((l) => l.slice(1));
  const plus = diff.split('\n').filter((l) => /^\+(?!\+\+)/.test(l)).map((l) => l.slice(1));
  expect(lines.slice(at - 1, at - 1 + minus.length)).toEqual(minus);
  lines.splice(at - 1, minus.length, ...plus);
  fs.writeFileSync(path.join(dir, file), lines.join('\n'));
  return dir;
}

const errorsAt = (r: Report): string[] => annotations(r).filter((a) => a.level === 'error' && a.file).map((a) => `${path.basename(a.file ?? '')}:${a.line}`);

describePostfix('gate mode names the line that relays, and proves a fix that keeps mail flowing (real Postfix)', () => {
  test('(a) Debian, mynetworks = 0.0.0.0/0 in main.cf with the stock submission block: the mynetworks line, narrowed, verified; applied, the gate passes and port 25 still takes postmaster@', async () => {
    const { report: r, relay, postmaster } = await gate(path.join(FIXTURES, 'debian-multi'));
    // Established first by direct sessions as the outsider: smtp relays and takes postmaster@; submission refuses both.
    expect([relay.get('smtp')?.verdict, relay.get('submission')?.verdict]).toEqual(['open', 'closed']);
    expect(postmaster.get('smtp')?.reply).toMatch(/^250 /);
    expect(postmaster.get('submission')?.reply).toMatch(/^554 .*Access denied/);

    expect(r.verdict).toBe('open');
    expect(r.diagnosis?.[0].summary).toBe('Postfix relays for this client whatever it sends, only on smtp (25) (refused on submission (587)).');
    expect(r.gate?.causes?.map((c) => [c.service, c.kind, c.list, c.client, `${c.places[0]?.file}:${c.places[0]?.line}`])).toEqual([['smtp', 'mynetworks', 'smtpd_relay_restrictions', OUTSIDER, 'main.cf:46']]);
    // The cause, not the pattern: no "master.cf override" finding, and not the restriction list's line 39.
    expect(r.diagnosis?.[0].findings.map((f) => f.rule)).toEqual(['gate-cause-mynetworks']);
    expect(errorsAt(r)).toEqual(['main.cf:46']);
    const [fix] = r.gate?.fixes ?? [];
    expect(fix.diff).toBe('--- main.cf\n+++ main.cf\n@@ -46 +46 @@\n-mynetworks = 0.0.0.0/0\n+mynetworks = 127.0.0.0/8 [::1]/128');
    expect(fix).toMatchObject({ services: ['smtp'], verified: true, stillRelayed: [], error: null, notVerified: [] });
    expect(fix.ownMail?.map((m) => [m.service, m.mailbox, m.after])).toEqual([['smtp', 'postmaster@example.net', true]]);
    // Before, by the engine's positive control: port 25 took its own mail from outside, submission did not (it has nothing to keep).
    expect(r.targets.map((t) => [t.service, t.transport, t.positiveControl?.accepted])).toEqual([
      ['smtp (25)', 'plain', true],
      ['smtp (25)', 'starttls', true],
      ['submission (587)', 'plain', false],
      ['submission (587)', 'starttls', false],
    ]);

    // Summary, "What to do", annotation and terminal all carry the diff of main.cf, not a "- main.cf / + master.cf" pair.
    const summary = renderSummary(r);
    expect(summary).toContain('```diff\n--- main.cf\n+++ main.cf\n@@ -46 +46 @@\n-mynetworks = 0.0.0.0/0\n+mynetworks = 127.0.0.0/8 [::1]/128\n```');
    expect(summary).not.toContain('+++ master.cf');
    expect(adviceBullets(r)[0]).toMatch(/^\*\*Change <code>.*debian-multi\/main\.cf<\/code> line 46\*\* to <code>mynetworks = 127\.0\.0\.0\/8 &#91;&#58;&#58;1&#93;\/128<\/code>\. Verified on a copy/);
    expect(annotations(r).find((a) => a.line === 46)?.message).toContain('\n-mynetworks = 0.0.0.0/0\n+mynetworks = 127.0.0.0/8 [::1]/128');
    const term = renderTerminal(r, { color: false });
    expect(term).toMatch(/Change main\.cf:46: Verified on a copy/);
    expect(term).toContain('    -mynetworks = 0.0.0.0/0\n    +mynetworks = 127.0.0.0/8 [::1]/128');

    // Applied as a team would commit it: the gate passes, and port 25 still takes postmaster@ from outside.
    const after = await gate(applied('debian-multi', fix.diff));
    expect(after.report.verdict).toBe('closed');
    expect(after.report.failed).toBe(false);
    expect(after.postmaster.get('smtp')?.reply).toMatch(/^250 /);
    expect(after.relay.get('smtp')?.verdict).toBe('closed');
  }, 300_000);

  test('a change that makes port 25 deaf (smtpd_relay_restrictions=permit_sasl_authenticated,reject on smtp) is never Verified, and says why', async () => {
    const { report: r } = await gate(path.join(FIXTURES, 'debian-multi'));
    const deafSeen: DirectResult[] = [];
    const deaf = {
      rule: 'postfix-service-override',
      services: ['smtp'],
      places: [{ file: 'master.cf', line: 6, setting: 'smtp/inet', value: 'smtpd' }],
      overrides: ['smtp/inet/smtpd_relay_restrictions = permit_sasl_authenticated, reject'],
      diff: '--- master.cf\n+++ master.cf',
    };
    const settings = parseSettings({ 'postfix-config': path.join(FIXTURES, 'debian-multi'), timeout: '120', 'connect-timeout': '15' });
    const proved = await proveFix(settings, r, deaf, {}, (s, v) =>
      runFixedCopy(s, v, undefined, {
        beforeRun: async (inst) => {
          const smtp = inst.services.find((x) => x.name === 'smtp');
          if (smtp) deafSeen.push(await direct(smtp.port, { mode: 'plain', client: OUTSIDER, to: 'postmaster@example.net' }));
        },
      }),
    );
    // The direct session shows it first: with that change port 25 refuses postmaster@ from outside.
    expect(deafSeen[0].reply).toMatch(/^554 .*postmaster@example\.net/);
    // It does close the relay, which alone made it "Verified" before.
    expect(proved.stillRelayed).toEqual([]);
    expect(proved.verified).toBe(false);
    expect(proved.notVerified).toContain('smtp (25) (plain) no longer accepts postmaster@example.net from an outside client (554 5.7.1 <postmaster@example.net>: Recipient address rejected: Access denied)');
    expect(fixVerdict(proved)).toMatch(/^Not verified: smtp \(25\) \(plain\) no longer accepts postmaster@example\.net/);
  }, 300_000);

  test('the client address actually tested decides: mynetworks with 198.51.100.0/24 relays for client-address 198.51.100.7, not for the default outsider', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-client-'));
    made.push(dir);
    fs.writeFileSync(path.join(dir, 'main.cf'), 'myhostname = mail.example.org\nmydomain = example.org\nmydestination = $myhostname, $mydomain, localhost\ncompatibility_level = 3.6\nalias_maps =\nalias_database =\nmynetworks = 127.0.0.0/8 198.51.100.0/24\n');
    const seen = new Map<string, DirectResult>();
    const run = (client?: string): Promise<Report> =>
      runGate(parseSettings({ 'postfix-config': dir, timeout: '120', 'connect-timeout': '15', ...(client ? { 'client-address': client } : {}) }), {}, undefined, {
        beforeRun: async (inst) => {
          for (const c of ['198.51.100.7', OUTSIDER]) seen.set(c, await direct(inst.services[0].port, { mode: 'plain', client: c }));
        },
      });
    const inside = await run('198.51.100.7');
    expect([seen.get('198.51.100.7')?.verdict, seen.get(OUTSIDER)?.verdict]).toEqual(['open', 'closed']);
    expect(inside.gate?.causes?.map((c) => [c.client, c.kind, c.sentence])).toEqual([['198.51.100.7', 'mynetworks', expect.stringContaining('covers the outside client 198.51.100.7 (`198.51.100.0/24`)')]]);
    expect(inside.gate?.fixes?.map((f) => [f.overrides.join(';'), f.verified])).toEqual([['mynetworks = 127.0.0.0/8', true]]);
    const outside = await run();
    expect(outside.verdict).toBe('closed');
    expect(outside.gate?.causes).toBeUndefined();
  }, 300_000);

  test('relay_domains naming the recipient domain: named on its main.cf line, annotated, no change proposed', async () => {
    // (A bare `permit` before the relay check, or no relay check at all, does not get this far on
    // Postfix 3.x: smtpd stops with "specify at least one working instance of:
    // reject_unauth_destination, …", measured, and the gate fails naming it.)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-relay-domains-'));
    made.push(dir);
    // Line 7: the relay attempts' domain listed as one this server relays to.
    fs.writeFileSync(path.join(dir, 'main.cf'), 'myhostname = mail.example.org\nmydomain = example.org\nmydestination = $myhostname, $mydomain, localhost\ncompatibility_level = 3.6\nalias_maps =\nalias_database =\nrelay_domains = example.com\n');
    const seen: DirectResult[] = [];
    const rd = await runGate(parseSettings({ 'postfix-config': dir, timeout: '120', 'connect-timeout': '15' }), {}, undefined, {
      beforeRun: async (inst) => {
        seen.push(await direct(inst.services[0].port, { mode: 'plain', client: OUTSIDER }));
      },
    });
    expectValid(rd);
    expect(seen[0].verdict).toBe('open');
    expect(rd.gate?.causes?.map((c) => `${c.kind} ${c.places[0]?.file}:${c.places[0]?.line}`)).toEqual(['relay-domains main.cf:7']);
    // Which domains a server relays for is the team's to say: no change to prove, but the line is annotated.
    expect(rd.gate?.fixes ?? []).toEqual([]);
    expect(annotations(rd).filter((a) => a.level === 'error' && a.file).map((a) => [path.basename(a.file ?? ''), a.line, a.message])).toEqual([['main.cf', 7, expect.stringMatching(/^On smtp: relay_domains names example\.com/)]]);
  }, 300_000);

  test('(b) the mistake only in a master.cf -o of smtp: that line, changed in place', async () => {
    const { report: r, relay } = await gate(path.join(FIXTURES, 'debian-multi-master'));
    expect([relay.get('smtp')?.verdict, relay.get('submission')?.verdict]).toEqual(['open', 'closed']);
    expect(r.gate?.causes?.map((c) => `${c.service} ${c.kind} ${c.places[0]?.file}:${c.places[0]?.line}`)).toEqual(['smtp mynetworks master.cf:7']);
    expect(errorsAt(r)).toEqual(['master.cf:7']);
    const [fix] = r.gate?.fixes ?? [];
    expect(fix.diff).toBe('--- master.cf\n+++ master.cf\n@@ -7 +7 @@\n-  -o mynetworks=0.0.0.0/0\n+  -o mynetworks=127.0.0.0/8,[::1]/128');
    expect(fix).toMatchObject({ verified: true, notVerified: [] });
  }, 300_000);

  test('(c) two mistakes at once (main.cf for smtp, a master.cf -o for a second MX port): each named on its line, each fix verified', async () => {
    const { report: r, relay } = await gate(path.join(FIXTURES, 'debian-multi-two'));
    expect([relay.get('smtp')?.verdict, relay.get('2525')?.verdict, relay.get('submission')?.verdict]).toEqual(['open', 'open', 'closed']);
    expect(r.gate?.causes?.map((c) => `${c.service} ${c.places[0]?.file}:${c.places[0]?.line}`)).toEqual(['smtp main.cf:46', '2525 master.cf:10']);
    expect(errorsAt(r)).toEqual(['main.cf:46', 'master.cf:10']);
    // Both causes hold at once: neither is offered as an alternative to the other.
    expect(renderSummary(r)).not.toMatch(/\*\*(Either|Or):\*\*/);
    expect(fixVerdict(r.gate?.fixes?.[1] as NonNullable<NonNullable<Report['gate']>['fixes']>[number])).toMatch(/the \d+ attempt\(s\) that relayed on 2525 are all denied, and smtp, 2525 still accept postmaster@example\.net from an outside client\.$/);
    expect(r.gate?.fixes?.map((f) => [f.services.join(','), f.overrides.join(';'), f.verified])).toEqual([
      ['smtp', 'mynetworks = 127.0.0.0/8 [::1]/128', true],
      ['2525', '2525/inet/mynetworks = 127.0.0.0/8 [::1]/128', true],
    ]);
  }, 300_000);
});

describe('a check naming several tables (pure)', () => {
  test('Postfix asks them in order: a miss in the first, an OK in the second is the cause; an unreadable one decides nothing', () => {
    const asked: string[] = [];
    const lookup: Lookup = (table, keys) => {
      asked.push(table);
      return table === 'texthash:/c/roles' && keys.includes('postmaster@') ? { key: 'postmaster@', value: 'OK' } : 'none';
    };
    const e = eff({ smtpd_relay_restrictions: '', smtpd_recipient_restrictions: 'permit_mynetworks, check_recipient_access texthash:/c/maintain texthash:/c/roles, reject_unauth_destination' });
    const c = { ...ctx, recipient: 'postmaster@example.com' };
    expect(causeOf(e, c, lookup)).toEqual([{ kind: 'access-map', list: 'smtpd_recipient_restrictions', element: 'check_recipient_access texthash:/c/maintain texthash:/c/roles', detail: 'postmaster@ OK', table: 'texthash:/c/roles' }]);
    expect(asked).toEqual(['texthash:/c/maintain', 'texthash:/c/roles']);
    expect(causeOf(e, c, (t) => (t === 'texthash:/c/maintain' ? 'none' : 'error'))).toBeNull();
  });
});
