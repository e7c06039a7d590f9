import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, expect, test } from '@jest/globals';
import { runGate } from '../src/gate/gate.js';
import { parseMainCf } from '../src/gate/postfix-files.js';
import { reachNote } from '../src/report/summary.js';
import type { Report } from '../src/model/report.js';
import { parseSettings } from '../src/settings.js';
import { ROOT } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { OUTSIDER } from './support/direct-smtp.js';

/**
 * Issue 21 done-when: the published stacks' documented mistakes, written the way people make
 * them — as a change to main.cf — through the gate: open, the cause named at the main.cf line
 * that makes it, and a fix at that line Verified (the relayed attempts denied, the port-25
 * service still accepting postmaster@ from an outsider). The mistakes and their sources are
 * the realworld suite's (__tests__/realworld.test.ts, where a direct session establishes each).
 * Mail-in-a-Box's loopback forwarding is the last test: its cause is in front of Postfix, so the
 * gate names the mynetworks line and says why it proposes no main.cf change.
 */

const STACKS = path.join(ROOT, '__tests__', 'fixtures', 'realworld-postfix');
const dirs: string[] = [];

interface Mistake {
  id: string;
  stack: string;
  /** main.cf parameters as the mistake sets them (written with postconf -e, as an admin would). */
  main: Record<string, string>;
  files?: Record<string, string>;
  client: string;
  /** The main.cf parameter the cause must be named at. */
  at: string;
  /** Text the fix's diff must hold (the change itself), and other places the cause must name (a table's line). */
  diffHas?: string[];
  alsoAt?: string[];
}

const MISTAKES: Mistake[] = [
  // docker-mailserver PERMIT_DOCKER=network (issue #1405): IPv6 clients arrive from the bridge gateway.
  { id: 'dms-permit-docker', stack: 'dms', main: { mynetworks: '127.0.0.0/8 [::1]/128 [fe80::]/64 172.16.0.0/12' }, client: '172.17.0.1', at: 'mynetworks' },
  // mailcow as shipped, IPv6 disabled in docker (issues #5242, #4220): clients arrive from 172.22.1.1.
  { id: 'mailcow-ipv6-docker-proxy-gateway', stack: 'mailcow', main: {}, client: '172.22.1.1', at: 'mynetworks' },
  // SMTPD_ACCESS_README's "Dangerous use of smtpd_recipient_restrictions" (realworld.test.ts, debian-helo-permit):
  // a HELO access table that PERMITs localhost.localdomain before reject_unauth_destination, relay restrictions emptied.
  {
    id: 'debian-helo-permit',
    stack: 'debian',
    main: {
      smtpd_relay_restrictions: '',
      smtpd_recipient_restrictions: 'permit_mynetworks, check_helo_access texthash:$config_directory/helo_access, reject_unauth_destination',
    },
    files: { helo_access: 'localhost.localdomain PERMIT\n' },
    client: OUTSIDER,
    at: 'smtpd_recipient_restrictions',
    diffHas: ['+smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, check_helo_access texthash:$config_directory/helo_access'],
    alsoAt: ['helo_access:1'],
  },
  // iRedMail's sender white-list (realworld.test.ts, iredmail-sender-whitelist) written in main.cf: the own domain
  // OK in a sender access table before reject_unauth_destination, smtpd_relay_restrictions emptied in main.cf.
  // Submission (587/465) keeps permit_sasl_authenticated,reject in its master.cf client restrictions: closed.
  {
    id: 'iredmail-sender-whitelist',
    stack: 'iredmail',
    main: {
      smtpd_relay_restrictions: '',
      smtpd_recipient_restrictions:
        'reject_non_fqdn_recipient, reject_unlisted_recipient, check_sender_access texthash:$config_directory/sender_whitelist, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
    },
    files: { sender_whitelist: 'example.net OK\n' },
    client: OUTSIDER,
    at: 'smtpd_recipient_restrictions',
    diffHas: ['+smtpd_recipient_restrictions = reject_non_fqdn_recipient, reject_unlisted_recipient, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_sender_access texthash:$config_directory/sender_whitelist'],
    alsoAt: ['sender_whitelist:1'],
  },
  // modoboa's RFC 2142 role-account table (realworld.test.ts, modoboa-role-accounts), added as the third table of
  // the check_recipient_access that modoboa already has before reject_unauth_destination.
  {
    id: 'modoboa-role-accounts',
    stack: 'modoboa',
    main: {
      smtpd_recipient_restrictions:
        'permit_mynetworks, permit_sasl_authenticated, check_recipient_access texthash:$config_directory/maintain texthash:$config_directory/relay_recipient_verification texthash:$config_directory/roleaccount_exceptions, reject_unverified_recipient, reject_unauth_destination, reject_non_fqdn_sender, reject_non_fqdn_recipient, reject_non_fqdn_helo_hostname',
    },
    files: { roleaccount_exceptions: 'postmaster@ OK\nhostmaster@ OK\nabuse@ OK\n' },
    client: OUTSIDER,
    at: 'smtpd_recipient_restrictions',
    // Only the table that answered moves: the maintenance table's REJECT must still come first.
    diffHas: ['+smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, check_recipient_access texthash:$config_directory/maintain texthash:$config_directory/relay_recipient_verification, reject_unverified_recipient, reject_unauth_destination, check_recipient_access texthash:$config_directory/roleaccount_exceptions, reject_non_fqdn_sender'],
    alsoAt: ['roleaccount_exceptions:1'],
  },
];

function configWith(m: Mistake): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `relay-check-mistake-${m.stack}-`));
  dirs.push(dir);
  fs.cpSync(path.join(STACKS, m.stack), dir, { recursive: true });
  fs.cpSync(path.join(STACKS, 'common', 'sasl'), path.join(dir, 'sasl'), { recursive: true });
  for (const [name, text] of Object.entries(m.files ?? {})) fs.writeFileSync(path.join(dir, name), text);
  for (const [name, value] of Object.entries(m.main)) {
    const r = spawnSync('postconf', ['-c', dir, '-e', `${name} = ${value}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`postconf -e ${name}: ${r.stderr}`);
  }
  return dir;
}

describePostfix('the stacks\' documented mistakes as main.cf changes, through the gate', () => {
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test.each(MISTAKES)('$id: open, the cause at its main.cf line, a fix there Verified', async (m) => {
    const dir = configWith(m);
    const line = parseMainCf(fs.readFileSync(path.join(dir, 'main.cf'), 'utf8')).filter((p) => p.name === m.at).at(-1)?.line;
    const report: Report = await runGate(parseSettings({ 'postfix-config': dir, 'client-address': m.client, timeout: '150', 'connect-timeout': '15' }));
    expect(report.verdict).toBe('open');
    const causes = report.gate?.causes ?? [];
    expect(causes.length).toBeGreaterThan(0);
    for (const c of causes) expect({ service: c.service, place: c.places[0] && { file: c.places[0].file, line: c.places[0].line } }).toEqual({ service: c.service, place: { file: 'main.cf', line } });
    const fixes = report.gate?.fixes ?? [];
    expect(fixes.length).toBeGreaterThan(0);
    for (const f of fixes) {
      expect({ places: f.places.map((p) => `${p.file}:${p.line}`), verified: f.verified, why: f.notVerified ?? f.error }).toEqual({ places: expect.arrayContaining([`main.cf:${line}`]), verified: true, why: f.notVerified ?? f.error });
      // Port 25 never goes deaf: what took its own mail before still takes it on the fixed copy.
      for (const o of f.ownMail ?? []) expect(o).toMatchObject({ before: true, after: true });
    }
    // The diff is of main.cf, at that line.
    const diff = fixes.map((f) => f.diff).join('\n');
    expect(diff).toContain(`@@ -${line} +${line} @@`);
    for (const d of m.diffHas ?? []) expect(diff).toContain(d);
    for (const p of m.alsoAt ?? []) expect(causes.flatMap((c) => c.places.map((x) => `${x.file}:${x.line}`))).toContain(p);
  }, 300_000);
});

describePostfix('Mail-in-a-Box behind loopback forwarding, through the gate', () => {
  // mail-in-a-box #1586 (realworld.test.ts, miab-loopback-forward): every client arrived as 127.0.0.1, which the
  // shipped mynetworks trusts. The gate, told to test as 127.0.0.1, finds it open at the mynetworks line, but the
  // change is not in main.cf: it says so and proposes none (taking loopback out would cut off the box's own programs).
  test('open, the cause at main.cf mynetworks, the fix named in front of Postfix, no main.cf change proposed', async () => {
    const dir = configWith({ id: 'miab-loopback-forward', stack: 'miab', main: {}, client: '127.0.0.1', at: 'mynetworks' });
    const line = parseMainCf(fs.readFileSync(path.join(dir, 'main.cf'), 'utf8')).filter((p) => p.name === 'mynetworks').at(-1)?.line;
    const report: Report = await runGate(parseSettings({ 'postfix-config': dir, 'client-address': '127.0.0.1', timeout: '150', 'connect-timeout': '15' }));
    expect(report.verdict).toBe('open');
    const causes = report.gate?.causes ?? [];
    expect(causes.length).toBeGreaterThan(0);
    for (const c of causes) expect({ kind: c.kind, at: c.places[0] && `${c.places[0].file}:${c.places[0].line}` }).toEqual({ kind: 'mynetworks', at: `main.cf:${line}` });
    expect(causes[0].sentence).toMatch(/loopback, trusted by design.*forwarder in front of Postfix/);
    expect(report.gate?.fixes ?? []).toEqual([]);
    const finding = (report.diagnosis ?? []).flatMap((d) => d.findings).find((f) => f.rule === 'gate-cause-mynetworks');
    expect(finding?.fix).toMatch(/No main\.cf change is proposed/);
    expect(reachNote(report)).toMatch(/if outside clients reach it as 127\.0\.0\.1/);
  }, 300_000);
});
