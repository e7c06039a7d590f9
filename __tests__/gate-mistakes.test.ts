import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, expect, test } from '@jest/globals';
import { runGate } from '../src/gate/gate.js';
import { parseMainCf } from '../src/gate/postfix-files.js';
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
 * Not here yet: modoboa's role-account table and iRedMail's sender white-list (access-map causes
 * in a value that holds `$config_directory`: the cause is named at its line, but no change is
 * proposed for a value with a `$` reference, so there is nothing to verify), and Mail-in-a-Box's
 * loopback forwarding (its fix is not in main.cf).
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
}

const MISTAKES: Mistake[] = [
  // docker-mailserver PERMIT_DOCKER=network (issue #1405): IPv6 clients arrive from the bridge gateway.
  { id: 'dms-permit-docker', stack: 'dms', main: { mynetworks: '127.0.0.0/8 [::1]/128 [fe80::]/64 172.16.0.0/12' }, client: '172.17.0.1', at: 'mynetworks' },
  // mailcow as shipped, IPv6 disabled in docker (issues #5242, #4220): clients arrive from 172.22.1.1.
  { id: 'mailcow-ipv6-docker-proxy-gateway', stack: 'mailcow', main: {}, client: '172.22.1.1', at: 'mynetworks' },
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
    expect(fixes.map((f) => f.diff).join('\n')).toContain(`@@ -${line} +${line} @@`);
  }, 300_000);
});
