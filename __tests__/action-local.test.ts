import { afterAll, beforeAll, expect, test } from '@jest/globals';
import fs from 'node:fs';
import { runLocalAction, type LocalActionRun } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { startPostfix, type RunningPostfix } from './support/postfix.js';

/**
 * The action under @github/local-action (CONTRIBUTING.md, "Run the action locally"),
 * against a real open and a real closed loopback Postfix (every transport discard:).
 * Its stub of @actions/core has no ExitCode and a setFailed that leaves the exit
 * status alone: before main.ts set process.exitCode itself, an open relay ran there
 * into "Cannot read properties of undefined (reading 'Failure')" and exited 0.
 */

let pf: RunningPostfix;
const runs: LocalActionRun[] = [];

async function local(inputs: Record<string, string>): Promise<LocalActionRun> {
  const r = await runLocalAction(inputs);
  runs.push(r);
  return r;
}

describePostfix('the action under @github/local-action against Postfix', () => {
  beforeAll(async () => {
    pf = await startPostfix([
      { name: 'closed', overrides: [] },
      { name: 'open', overrides: ['mynetworks=0.0.0.0/0'] },
    ]);
  }, 60_000);
  afterAll(async () => {
    await pf?.stop();
    for (const r of runs) fs.rmSync(r.dir, { recursive: true, force: true });
  });

  test('open Postfix: exit 1, outputs say open, the summary and the report say so, no internal error', async () => {
    const r = await local({ host: '127.0.0.1', port: String(pf.ports.open), tls: 'none' });
    expect(r.stdout).not.toMatch(/please report|Cannot read properties/);
    expect(r.code).toBe(1);
    expect(r.outputs).toMatchObject({ verdict: 'open', 'open-relay': 'true', accepted: '1', unreachable: '0', report: r.reportPath });
    expect(r.summary).toMatch(/^## relay-check: ❌ Open relay/);
    expect(r.summary).toContain(`### Relayed: 1 vector on 127.0.0.1&#58;${pf.ports.open} &#40;plaintext&#41;`);
    expect(JSON.parse(fs.readFileSync(r.reportPath, 'utf8'))).toMatchObject({ verdict: 'open', failed: true });
  }, 180_000);

  test('closed Postfix: exit 0, outputs say closed, the summary holds the table', async () => {
    const r = await local({ host: '127.0.0.1', port: String(pf.ports.closed), strictness: 'strict', tls: 'none' });
    expect(r.stdout).not.toMatch(/please report|Cannot read properties/);
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ verdict: 'closed', 'open-relay': 'false', accepted: '0', inconclusive: '0', unreachable: '0', report: r.reportPath });
    expect(Number(r.outputs.tests)).toBeGreaterThanOrEqual(45);
    expect(r.summary).toMatch(/^## relay-check: ✅ Not an open relay/);
    expect(r.summary).toMatch(new RegExp(`\\| 127\\.0\\.0\\.1&#58;${pf.ports.closed} \\| Postfix &#40;high confidence&#41; \\| plaintext \\| \\d+ \\| 0 \\| \\d+ \\| 0 \\| closed \\|`));
  }, 180_000);

  test('a bad input fails the step with exit 1 and one line naming it, before any connection', async () => {
    const r = await local({ host: '127.0.0.1', port: '99999' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Input 'port': port 99999 is outside 1-65535");
    expect(r.outputs).toEqual({});
    expect(fs.existsSync(r.reportPath)).toBe(false);
  }, 180_000);
});
