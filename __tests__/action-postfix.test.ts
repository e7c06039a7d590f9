import { afterAll, beforeAll, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { ANNOTATIONS_PER_LEVEL } from '../src/report/annotations.js';
import { ROOT, runAction, type ActionRun } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { startPostfix, type RunningPostfix } from './support/postfix.js';

/** The committed bundle, run as GitHub runs it, against a real open and a real closed Postfix. */

let pf: RunningPostfix;
const runs: ActionRun[] = [];

async function action(inputs: Record<string, string>): Promise<ActionRun> {
  const r = await runAction(inputs);
  runs.push(r);
  return r;
}

describePostfix('the action (dist/index.js) against Postfix', () => {
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

  test('closed Postfix: the step passes, outputs say closed, the summary holds the table', async () => {
    const r = await action({ host: '127.0.0.1', port: String(pf.ports.closed), strictness: 'strict', tls: 'none' });
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ verdict: 'closed', 'open-relay': 'false', accepted: '0', inconclusive: '0', unreachable: '0' });
    expect(Number(r.outputs.tests)).toBeGreaterThanOrEqual(45);
    expect(r.outputs.report).toBe(r.reportPath);
    expect(r.summary).toMatch(/^## relay-check: ✅ Not an open relay/);
    expect(r.summary).toContain('| Target | MTA | Tested over | Vectors | Relayed | Denied | Inconclusive | Result |');
    expect(r.summary).toMatch(new RegExp(`\\| 127\\.0\\.0\\.1&#58;${pf.ports.closed} \\| Postfix &#40;high confidence&#41; \\| plaintext \\| \\d+ \\| 0 \\| \\d+ \\| 0 \\| closed \\|`));
    expect(r.stdout).toMatch(/^::notice title=relay-check%3A not an open relay::Not an open relay: 127\.0\.0\.1:\d+ is closed/m);
    const report = JSON.parse(fs.readFileSync(r.reportPath, 'utf8'));
    expect(report.verdict).toBe('closed');
    expect(report.targets[0].attempts.length).toBe(Number(r.outputs.tests) + report.counts.skipped);
  });

  test('open Postfix: the step fails with exit 1 after the plain attempt relayed, the verdict and that vector annotated', async () => {
    const r = await action({ host: '127.0.0.1', port: String(pf.ports.open), tls: 'none' });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('open');
    expect(r.outputs['open-relay']).toBe('true');
    const accepted = Number(r.outputs.accepted);
    // The plain attempt goes first and relays; nothing more is started on an open server.
    expect(accepted).toBe(1);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error '));
    expect(errors[0]).toMatch(/^::error title=relay-check%3A open relay::127\.0\.0\.1:\d+ relays: 1 of 1 vector was accepted\./);
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatch(/^::error title=Open relay%3A .*external-sender/);
    expect(r.summary).toMatch(/relay-check stopped where the plain attempt &#40;<code>external-sender<\/code>&#41; relayed&#58; \d+ further vectors were not run/);
    expect(r.stdout).not.toMatch(/^::error::/m);
    expect(r.summary).toMatch(/^## relay-check: ❌ Open relay/);
    expect(r.summary).toContain(`### Relayed: 1 vector on 127.0.0.1&#58;${pf.ports.open} &#40;plaintext&#41;`);
    expect(r.summary).toContain('### What to do');
    // The log: the vectors the stop left out are one line with their count, not one line each.
    const report = JSON.parse(fs.readFileSync(r.reportPath, 'utf8')) as { counts: { skipped: number } };
    const skippedLines = r.stdout.split('\n').filter((l) => l.startsWith('SKIPPED '));
    expect(skippedLines.length).toBeLessThanOrEqual(2);
    expect(skippedLines.some((l) => /^SKIPPED \d+ vectors \(null-sender, /.test(l))).toBe(true);
    const logged = skippedLines.reduce((n, l) => n + Number(/^SKIPPED (\d+) vectors/.exec(l)?.[1] ?? 1), 0);
    expect(logged).toBe(report.counts.skipped);
  });

  test('tls auto against plaintext-only Postfix gives one transport per address', async () => {
    const r = await action({ host: '127.0.0.1', port: String(pf.ports.closed) });
    expect(r.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(r.reportPath, 'utf8'));
    expect(report.targets.map((t: { transport: string }) => t.transport)).toEqual(['plain']);
  });

  test('a configuration Postfix refuses: exit 1, the annotation at its file and line, and a job summary that says what failed, where and what to do (issue 22: it was empty)', async () => {
    const config = path.join(ROOT, '__tests__', 'fixtures', 'gate', 'broken');
    const r = await action({ 'postfix-config': config });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error title=relay-check%3A postfix-config,file=[^,]*master\.cf,line=3::invalid type field/);
    expect(r.summary).toMatch(/^## relay-check: ⚠️ The configuration could not be tested\n/);
    expect(r.summary).toMatch(/\| <code>master\.cf<\/code> \| 3 \| invalid type field/);
    expect(r.summary).toContain('### What to do');
  }, 120_000);
});
