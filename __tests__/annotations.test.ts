import { describe, expect, test } from '@jest/globals';
import { annotations, ANNOTATIONS_PER_LEVEL } from '../src/report/annotations.js';
import type { AttemptReport, Report, TargetReport } from '../src/report/model.js';
import { countAttempts } from '../src/report/model.js';

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
  test('an error per relayed vector naming the address and the vector; a warning per distinct inconclusive reason', () => {
    const r = report([target(25, [attempt('null-sender', 'relayed'), attempt('a', 'inconclusive', 'greylisted'), attempt('b', 'inconclusive', 'greylisted'), attempt('c', 'denied')])]);
    const a = annotations(r);
    expect(a.filter((x) => x.level === 'error').map((x) => x.title)).toEqual(['Open relay: 192.0.2.1:25 null-sender']);
    expect(a.filter((x) => x.level === 'warning').map((x) => x.message)).toEqual(['2 attempt(s): greylisted']);
    expect(a.filter((x) => x.level === 'notice')).toEqual([]);
  });

  test('a clean pass gets one notice', () => {
    const a = annotations(report([target(25, [attempt('x', 'denied')])]));
    expect(a).toEqual([{ level: 'notice', title: 'Not an open relay', message: 'All 1 relay attempts on 1 address(es) were refused.' }]);
  });

  test('a fleet of open relays is capped per level, with one annotation saying how many were left out', () => {
    const targets = Array.from({ length: 30 }, (_, i) => target(2500 + i, Array.from({ length: 5 }, (_, j) => attempt(`v${j}`, 'relayed'))));
    const a = annotations(report(targets));
    const errors = a.filter((x) => x.level === 'error');
    expect(errors).toHaveLength(ANNOTATIONS_PER_LEVEL + 1);
    expect(errors[ANNOTATIONS_PER_LEVEL].message).toBe(`${150 - ANNOTATIONS_PER_LEVEL} more error annotation(s) left out; the job summary and the JSON report list them all.`);
  });
});
