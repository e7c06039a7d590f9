import { describe, expect, test } from '@jest/globals';
import { annotations, ANNOTATIONS_PER_LEVEL } from '../src/report/annotations.js';
import type { AttemptReport, Report, TargetReport } from '../src/model/report.js';
import { countAttempts } from '../src/model/report.js';

function attempt(vector: string, outcome: AttemptReport['outcome'], reason = 'RCPT TO accepted (250)'): AttemptReport {
  return { vector, description: vector, provenance: 'test', helo: 'h', mailFrom: '<a@b.example>', rcptTo: ['<c@d.example>'], outcome, reason, rule: null, reply: '250 ok', stage: 'rcpt', connection: 1, routedVia: null, tries: 1, transcript: [] };
}

function target(port: number, attempts: AttemptReport[]): TargetReport {
  const counts = countAttempts(attempts);
  return {
    host: '192.0.2.1', address: '192.0.2.1', family: 4, port, transport: 'plain', tls: null, reachable: true, error: null, errorKind: null,
    greeting: '220 x', serverName: 'mx.example.org', extensions: [], opening: [], connections: 1, controls: [], errorBudget: 8, durationMs: 1,
    verdict: counts.relayed > 0 ? 'open' : 'closed', counts, attempts,
  };
}

function report(targets: TargetReport[]): Report {
  const counts = countAttempts(targets.flatMap((t) => t.attempts));
  return {
    schemaVersion: 1, tool: { name: 'relay-check', version: '0' }, startedAt: new Date(0).toISOString(), durationMs: 1,
    settings: { hosts: [], ports: [25], strictness: 'normal', tls: 'none', recipient: 'r@example.com', domain: null, clientAddress: null, senders: [], helos: [], timeoutMs: 1, connectTimeoutMs: 1 },
    discovery: null, verdict: counts.relayed > 0 ? 'open' : 'closed', failed: counts.relayed > 0, failReasons: [], warnings: [], counts, targets,
  };
}

describe('annotations', () => {
  test('the verdict first; then an error per relayed vector and a warning per distinct inconclusive reason', () => {
    const r = report([target(25, [attempt('null-sender', 'relayed'), attempt('a', 'inconclusive', 'greylisted'), attempt('b', 'inconclusive', 'greylisted'), attempt('c', 'denied')])]);
    const a = annotations(r);
    expect(a[0]).toMatchObject({ level: 'error', title: 'relay-check: open relay' });
    expect(a[0].message).toMatch(/^192\.0\.2\.1:25 relays: 1 of 4 vectors was accepted\. /);
    // A public address, no client-address: what was shown, no more.
    expect(a[0].message).toContain('Anyone who can connect from where this check ran');
    expect(a.filter((x) => x.level === 'error').map((x) => x.title)).toEqual(['relay-check: open relay', 'Open relay: null-sender']);
    expect(a.filter((x) => x.level === 'warning').map((x) => x.message)).toEqual(['2 vector(s) on 192.0.2.1:25 (plaintext): greylisted']);
    expect(a.filter((x) => x.level === 'notice')).toEqual([]);
  });

  test('a clean pass gets one notice, the verdict', () => {
    const a = annotations(report([target(25, [attempt('x', 'denied')])]));
    expect(a).toEqual([{ level: 'notice', title: 'relay-check: not an open relay', message: 'Not an open relay: 192.0.2.1:25 is closed (its one vector was refused).' }]);
  });

  test('the same vector relayed in plaintext and inside STARTTLS is one annotation', () => {
    const plain = target(25, [attempt('null-sender', 'relayed')]);
    const a = annotations(report([plain, { ...plain, transport: 'starttls' }]));
    const errors = a.filter((x) => x.level === 'error');
    expect(errors.map((x) => x.title)).toEqual(['relay-check: open relay', 'Open relay: null-sender']);
    expect(errors[1].message).toContain('on 192.0.2.1:25 (plaintext, STARTTLS)');
  });

  test(`a fleet of open relays: the verdict first and at most ${ANNOTATIONS_PER_LEVEL} per level (what GitHub shows), the last saying how many more`, () => {
    const targets = Array.from({ length: 30 }, (_, i) => target(2500 + i, Array.from({ length: 5 }, (_, j) => attempt(`v${j}-${i}`, 'relayed'))));
    targets.push(target(2600, Array.from({ length: 20 }, (_, j) => attempt(`w${j}`, 'inconclusive', `reason ${j}`))));
    const a = annotations(report(targets));
    expect(ANNOTATIONS_PER_LEVEL).toBe(10);
    expect(a[0].title).toBe('relay-check: open relay');
    expect(a[0].message).toMatch(/^30 of 31 addresses relay/);
    const errors = a.filter((x) => x.level === 'error');
    expect(errors).toHaveLength(ANNOTATIONS_PER_LEVEL);
    // 150 relayed vectors: the verdict, 8 of them, and one for the other 142.
    expect(errors[ANNOTATIONS_PER_LEVEL - 1].message).toBe('142 more error annotation(s) left out (GitHub shows 10 per level per step); the job summary and the JSON report list them all.');
    const warnings = a.filter((x) => x.level === 'warning');
    expect(warnings).toHaveLength(ANNOTATIONS_PER_LEVEL);
    expect(warnings[ANNOTATIONS_PER_LEVEL - 1].message).toMatch(/^11 more warning annotation\(s\) left out/);
  });

  test('gate mode: what the gate changed to run here is one notice on no file; what it could not test stays on its line', () => {
    const r = report([target(25, [attempt('external-sender', 'denied', 'relay denied')])]);
    r.gate = {
      configDir: 'postfix/',
      commit: null,
      postfixVersion: '3.7.11',
      services: [],
      changes: [
        ...Array.from({ length: 10 }, (_, i) => ({ file: 'main.cf', line: i + 1, subject: `param_${i}`, change: `set to a runner value ${i}`, tested: true })),
        { file: 'main.cf', line: 20, subject: 'virtual_mailbox_maps', change: 'uses mysql: not tested here', tested: false },
      ],
    };
    const a = annotations(r);
    const changed = a.filter((x) => x.title.startsWith('Changed to run on a runner'));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ level: 'notice', title: 'Changed to run on a runner (10)' });
    expect(changed[0].file).toBeUndefined();
    for (let i = 0; i < 10; i++) expect(changed[0].message).toContain(`main.cf:${i + 1} param_${i}: set to a runner value ${i}`);
    expect(a.filter((x) => x.title === 'Not tested here')).toEqual([{ level: 'warning', title: 'Not tested here', message: 'virtual_mailbox_maps: uses mysql: not tested here', file: 'postfix/main.cf', line: 20 }]);
  });
});
