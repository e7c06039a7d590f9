import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { coversOutsider, moveAfterRelayCheck, proposeFix, restrictionGroups, settingFor, type ConfigFiles } from '../src/gate/fix.js';
import { runGate } from '../src/gate/gate.js';
import { parseMainCf, parseMasterCf } from '../src/gate/postfix-files.js';
import { proveFixes } from '../src/gate/prove.js';
import { annotations } from '../src/report/annotations.js';
import type { Report } from '../src/model/report.js';
import { renderSummary } from '../src/report/summary.js';
import { parseSettings } from '../src/settings.js';
import { ROOT } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { expectValid } from './support/schema.js';

/** Gate mode, issue 11 §4: the line the diagnosis points at, and the fix proved on a fixed copy. */

const FIXTURES = path.join(ROOT, '__tests__', 'fixtures', 'gate');
const files = (main: string, master: string | null = null, maps: Record<string, string> = {}): ConfigFiles => ({
  main: parseMainCf(main),
  master: master === null ? null : parseMasterCf(master),
  masterText: master,
  mapText: (name) => (maps[name] !== undefined ? { file: path.basename(name), text: maps[name] } : null),
});

describe('finding the setting and the change (pure)', () => {
  test('restriction groups keep a table with its check; moving puts the check after reject_unauth_destination', () => {
    const list = 'permit_mynetworks, check_sender_access hash:/etc/postfix/s, permit_sasl_authenticated reject_unauth_destination';
    expect(restrictionGroups(list)).toEqual(['permit_mynetworks', 'check_sender_access hash:/etc/postfix/s', 'permit_sasl_authenticated', 'reject_unauth_destination']);
    expect(moveAfterRelayCheck(list, (g) => g.startsWith('check_sender_access'))).toBe('permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_sender_access hash:/etc/postfix/s');
    // Already after it: nothing to move.
    expect(moveAfterRelayCheck('reject_unauth_destination, check_sender_access hash:x', (g) => g.startsWith('check_sender_access'))).toBeNull();
    // No relay check at all: one is added before the moved check.
    expect(moveAfterRelayCheck('check_helo_access inline:{ localhost=OK }', (g) => g.startsWith('check_helo_access'))).toBe('reject_unauth_destination, check_helo_access inline:{ localhost=OK }');
  });

  test('mynetworks entries that let the outside client (203.0.113.10) relay', () => {
    expect(['0.0.0.0/0', '203.0.113.0/24', '203.0.0.0/8', '[::]/0', '::/0', '127.0.0.0/8', '192.0.2.0/24', '[::1]/128', '10.0.0.0/8'].map((e) => coversOutsider(e))).toEqual([true, true, true, true, true, false, false, false, false]);
  });

  test('a service override naming a main.cf parameter ($mua_relay_restrictions) is followed to main.cf', () => {
    const f = files('mua_relay_restrictions = permit\nsmtpd_relay_restrictions = reject_unauth_destination\n', 'submission inet n - y - - smtpd\n  -o syslog_name=x\n  -o smtpd_relay_restrictions=$mua_relay_restrictions\n');
    expect(settingFor(f, 'submission', 'smtpd_relay_restrictions')?.place).toEqual({ file: 'main.cf', line: 1, setting: 'mua_relay_restrictions', value: 'permit' });
    expect(settingFor(f, 'smtp', 'smtpd_relay_restrictions')?.place).toMatchObject({ file: 'main.cf', line: 2 });
  });

  test('a sender OK: the list on its main.cf line, the map line that says OK, and the moved list as an override', () => {
    const f = files('mydomain = example.org\nsmtpd_relay_restrictions = check_sender_access hash:/etc/postfix/sender_access, reject_unauth_destination\n', null, { '/etc/postfix/sender_access': '# ours\nexample.org OK\n' });
    const fix = proposeFix('postfix-sender-access', 'smtp', f, 'example.org');
    expect(fix?.places).toEqual([
      { file: 'main.cf', line: 2, setting: 'smtpd_relay_restrictions', value: 'check_sender_access hash:/etc/postfix/sender_access, reject_unauth_destination' },
      { file: 'sender_access', line: 2, setting: 'sender_access: example.org', value: 'example.org OK' },
    ]);
    expect(fix?.overrides).toEqual(['smtpd_relay_restrictions = reject_unauth_destination, check_sender_access hash:/etc/postfix/sender_access']);
  });

  test('a proved fix that is not enough says how many still relay', async () => {
    const report = { targets: [{ service: 'smtp (25)', counts: { relayed: 2 }, extensions: [], attempts: [{ vector: 'a', outcome: 'relayed' }, { vector: 'b', outcome: 'relayed' }] }], diagnosis: [{ findings: [{ rule: 'postfix-no-relay-check' }] }] } as unknown as Report;
    const dir = path.join(FIXTURES, 'open');
    const again = { targets: [{ service: 'smtp (25)', counts: { tests: 2, relayed: 1 }, extensions: [], attempts: [{ vector: 'b', outcome: 'relayed' }] }] } as unknown as Report;
    const [fix] = await proveFixes(parseSettings({ 'postfix-config': dir }), report, 'example.org', { vectors: [] }, async () => again);
    expect(fix).toMatchObject({ rule: 'postfix-no-relay-check', services: ['smtp'], rerun: ['a', 'b'], stillRelayed: ['b'], verified: false, error: null });
    expect(fix.places[0]).toMatchObject({ file: 'main.cf', setting: 'mynetworks', value: '0.0.0.0/0' });
  });
});

async function gate(name: string): Promise<Report> {
  const r = await runGate(parseSettings({ 'postfix-config': path.join(FIXTURES, name), timeout: '120', 'connect-timeout': '15' }));
  expectValid(r);
  return r;
}

describePostfix('gate mode proves the fix on real Postfix', () => {
  test('sender-domain-hash: main.cf line 10 and the map line, the list moved, verified', async () => {
    const r = await gate('sender-domain-hash');
    // The effective configuration names the map entry that said OK for the sender.
    expect(r.diagnosis?.[0].findings.map((f) => f.rule)).toEqual(['gate-cause-access-map']);
    expect(r.gate?.causes?.map((c) => [c.service, c.kind, c.places.map((p) => `${p.file}:${p.line}`).join(' ')])).toEqual([['smtp', 'access-map', 'main.cf:10 sender_access:1']]);
    const [fix] = r.gate?.fixes ?? [];
    expect(fix.places.map((p) => `${p.file}:${p.line}`)).toEqual(['main.cf:10', 'sender_access:1']);
    expect(fix.overrides).toEqual(['smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_sender_access hash:/etc/postfix/sender_access']);
    expect(fix.rerun.length).toBeGreaterThan(0);
    expect(fix).toMatchObject({ verified: true, stillRelayed: [], error: null });
    // The error annotations on those lines come first, so they show on the pull request's files.
    const errors = annotations(r).filter((a) => a.level === 'error' && a.file);
    expect(errors.map((a) => `${path.basename(a.file ?? '')}:${a.line}`)).toEqual(['main.cf:10', 'sender_access:1']);
    expect(renderSummary(r)).toMatch(/Verified on a copy&#58; with this change, the \d+ attempt&#40;s&#41; that relayed on smtp are all denied, and smtp still accepts postmaster&#64;example.org/);
  }, 180_000);

  test('submission-open: the master.cf -o mynetworks line, narrowed in place, verified', async () => {
    const r = await gate('submission-open');
    // "Only some services relay" is the summary (a fact); the cause is the -o line.
    expect(r.diagnosis?.[0].findings.map((f) => f.rule)).toEqual(['gate-cause-mynetworks']);
    const [fix] = r.gate?.fixes ?? [];
    expect(fix.places).toEqual([{ file: 'master.cf', line: 6, setting: 'submission/inet -o mynetworks', value: '0.0.0.0/0' }]);
    expect(fix.overrides).toEqual(['submission/inet/mynetworks = 127.0.0.0/8 [::1]/128']);
    expect(fix).toMatchObject({ services: ['submission'], verified: true, stillRelayed: [] });
    // Named by service, each once whatever its transports.
    expect(r.diagnosis?.[0].summary).toBe('Postfix relays for this client whatever it sends, only on submission (587) (refused on smtp (25)).');
    expect(fix.diff).toBe('--- master.cf\n+++ master.cf\n@@ -6 +6 @@\n-  -o mynetworks=0.0.0.0/0\n+  -o mynetworks=127.0.0.0/8,[::1]/128');
  }, 180_000);

  test('open: mynetworks = 0.0.0.0/0 in main.cf, one fix for both services, verified on both', async () => {
    const r = await gate('open');
    const [fix] = r.gate?.fixes ?? [];
    expect(fix.places.map((p) => `${p.file}:${p.line} ${p.setting}`)).toEqual([expect.stringMatching(/^main\.cf:\d+ mynetworks$/)]);
    expect(fix.overrides).toEqual(['mynetworks = 127.0.0.0/8 [::1]/128']);
    expect(fix.services.sort()).toEqual(['smtp', 'submission']);
    expect(fix.verified).toBe(true);
  }, 180_000);
});

describe('postfix-overrides lines for a master.cf service', () => {
  test('service/type/name = value is read (it was silently dropped before: the name may hold "/")', () => {
    expect(parseMainCf('submission/inet/smtpd_relay_restrictions = permit_sasl_authenticated, reject\nmynetworks = 127.0.0.0/8\n')).toEqual([
      { name: 'submission/inet/smtpd_relay_restrictions', value: 'permit_sasl_authenticated, reject', line: 1 },
      { name: 'mynetworks', value: '127.0.0.0/8', line: 2 },
    ]);
  });
});
