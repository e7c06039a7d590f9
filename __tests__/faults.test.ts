import { afterEach, describe, expect, test } from '@jest/globals';
import { run } from '../src/engine.js';
import { startDemoServer } from '../src/demo.js';
import type { Report } from '../src/model/report.js';
import { parseSettings } from '../src/settings.js';
import { closedResponder, startFaultServer, type FaultContext, type FaultServer } from './support/fault-server.js';

/**
 * Servers that misbehave on purpose. Each scenario must end with an
 * inconclusive result and the right reason, while a healthy server tested in
 * the same run still gets its verdict.
 *
 * No test here asserts a time: how long each run takes against a silent
 * server, a tarpit and a slow one is measured by `npm run bench`. A test only
 * has to end, within a Jest timeout that is generous and longer than the run's
 * own deadline (the `timeout` setting): a run that does not stop at its
 * deadline fails the test by that timeout.
 */

/** The `timeout` setting (seconds) of the runs with a healthy server. */
const RUN_TIMEOUT_S = 20;
/** Jest's limit for each test: twice the run's deadline, so only a run that overran it can hit this. */
const TEST_TIMEOUT_MS = 2 * RUN_TIMEOUT_S * 1000;

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (open.length) await open.pop()?.close();
});

async function fault(behave: (ctx: FaultContext) => void): Promise<FaultServer> {
  const s = await startFaultServer(behave);
  open.push(s);
  return s;
}

/** Runs the fault server and a healthy closed server in one run. */
async function runWithHealthy(faultPort: number, extra: Record<string, string> = {}): Promise<{ report: Report }> {
  const healthy = await startDemoServer('closed', 'mx.healthy.test');
  open.push(healthy);
  const report = await run(
    parseSettings({ host: `127.0.0.1:${faultPort}, 127.0.0.1:${healthy.port}`, 'connect-timeout': '1', timeout: String(RUN_TIMEOUT_S), ...extra }),
  );
  const good = report.targets.find((t) => t.port === healthy.port);
  expect(good?.verdict).toBe('closed');
  expect(good?.counts.denied).toBe(good?.counts.tests);
  expect(report.verdict).toBe('inconclusive');
  return { report };
}

function faultTarget(report: Report, port: number) {
  const t = report.targets.find((x) => x.port === port);
  if (!t) throw new Error(`no target for port ${port}`);
  return t;
}

describe('hostile and broken servers', () => {
  test('silent after connect: greeting timeout, the address is reported untested with the reason', async () => {
    const s = await fault(() => undefined);
    const { report } = await runWithHealthy(s.port);
    const t = faultTarget(report, s.port);
    expect(t.reachable).toBe(false);
    expect(t.errorKind).toBe('timeout');
    expect(t.error).toMatch(/connected, but no complete greeting within 1\.0 s/);
    expect(t.verdict).toBe('inconclusive');
    // Nothing was sent to a server that never greeted, but the PROXY headers of the identity
    // tricks (a port that never greets may wait for one, issue 23 §2); no greeting after them either.
    expect(t.opening.filter((l) => l.dir === 'C')).toEqual([]);
    expect(t.attempts.map((a) => [a.vector, a.outcome])).toEqual([
      ['proxy-v1-outsider', 'inconclusive'],
      ['proxy-v1-loopback', 'inconclusive'],
      ['proxy-v2-loopback', 'inconclusive'],
    ]);
    const sent = t.attempts.flatMap((a) => a.transcript).filter((l) => l.dir === 'C').map((l) => l.text);
    expect(sent).toEqual([expect.stringMatching(/^PROXY TCP4 203\.0\.113\.77 127\.0\.0\.1 \d+ \d+$/)]);
  }, TEST_TIMEOUT_MS);

  test('silent after EHLO: reply timeout', async () => {
    const s = await fault((ctx) => {
      ctx.socket.write('220 mx.silent.test ESMTP\r\n');
    });
    const { report } = await runWithHealthy(s.port);
    const t = faultTarget(report, s.port);
    expect(t.error).toMatch(/no complete reply within 1\.0 s/);
    expect(t.reachable).toBe(false);
    expect(t.opening.map((l) => `${l.dir} ${l.text}`)).toEqual(expect.arrayContaining(['S 220 mx.silent.test ESMTP', 'C EHLO relay-check.example.net']));
  });

  test('garbage bytes instead of a greeting', async () => {
    const s = await fault((ctx) => {
      ctx.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x0a, 0xff, 0xfe]));
    });
    const { report } = await runWithHealthy(s.port);
    expect(faultTarget(report, s.port).error).toMatch(/malformed reply line/);
  });

  test('a multi-line reply that never ends', async () => {
    const s = await fault((ctx) => {
      let n = 0;
      const more = (): void => {
        // Bounded so the test server itself stops: far past the client's line cap.
        for (let i = 0; i < 50 && n < 5000; i++, n++) ctx.socket.write(`220-still greeting you, line ${n}\r\n`);
        if (n < 5000) ctx.later(5, more);
      };
      more();
    });
    const { report } = await runWithHealthy(s.port);
    expect(faultTarget(report, s.port).error).toMatch(/reply longer than \d+ lines/);
  });

  test('a 10 MB line', async () => {
    const s = await fault((ctx) => {
      ctx.socket.write(`220 ${'x'.repeat(10 * 1024 * 1024)}\r\n`);
    });
    const { report } = await runWithHealthy(s.port);
    expect(faultTarget(report, s.port).error).toMatch(/reply line longer than \d+ bytes/);
  });

  test('reset in the middle of a reply', async () => {
    const s = await fault((ctx) => {
      ctx.socket.write('220-mx.reset.test ESMTP\r\n220-more');
      ctx.later(50, () => ctx.socket.resetAndDestroy());
    });
    const { report } = await runWithHealthy(s.port);
    expect(faultTarget(report, s.port).error).toMatch(/reset|closed the connection/);
  });

  test('421 on connect', async () => {
    const s = await fault((ctx) => {
      ctx.socket.end('421 4.3.2 mx.busy.test Service not available, closing channel\r\n');
    });
    const { report } = await runWithHealthy(s.port);
    const t = faultTarget(report, s.port);
    expect(t.error).toMatch(/refused the session: 421 4\.3\.2/);
    expect(t.reachable).toBe(false);
    expect(t.verdict).toBe('inconclusive');
  });

  test('drop after every second command: each attempt retried once, then inconclusive', async () => {
    const s = await fault((ctx) => {
      ctx.socket.write('220 mx.flaky.test ESMTP\r\n');
      const respond = closedResponder(ctx, { name: 'mx.flaky.test', pipelining: false });
      let commands = 0;
      ctx.onLine((line) => {
        commands++;
        if (commands % 2 === 0) ctx.socket.destroy();
        else respond(line);
      });
    });
    const { report } = await runWithHealthy(s.port);
    const t = faultTarget(report, s.port);
    expect(t.reachable).toBe(true);
    const ran = t.attempts.filter((a) => a.outcome !== 'skipped');
    expect(ran.length).toBeGreaterThanOrEqual(45);
    // Only vectors that cannot apply to an IPv4 target are skipped.
    for (const a of t.attempts.filter((x) => x.outcome === 'skipped')) expect(a.reason).toMatch(/only meaningful on an IPv6 address/);
    for (const a of ran) {
      expect(a.outcome).toBe('inconclusive');
      expect(a.reason).toMatch(/interrupted twice/);
      expect(a.tries).toBe(2);
    }
    // Bounded: one try and one retry per attempt, plus the first connection.
    expect(s.connections).toBeLessThanOrEqual(2 * ran.length + 1);
  });

  test('a tarpit that answers one byte per second times out', async () => {
    const s = await fault((ctx) => {
      const text = '220 mx.tarpit.test ESMTP slowly\r\n';
      let i = 0;
      const drip = (): void => {
        ctx.socket.write(text[i++]);
        if (i < text.length) ctx.later(1000, drip);
      };
      drip();
    });
    const { report } = await runWithHealthy(s.port);
    const t = faultTarget(report, s.port);
    expect(t.error).toMatch(/no complete greeting within 1\.0 s/);
    expect(t.errorKind).toBe('timeout');
    expect(t.reachable).toBe(false);
    // Nothing was sent to a server that never finished its greeting.
    expect(t.opening.filter((l) => l.dir === 'C')).toEqual([]);
  }, TEST_TIMEOUT_MS);

  test('a multi-line greeting that pauses: the client waits for the last line before speaking', async () => {
    let spokeEarly = false;
    const s = await fault((ctx) => {
      let greeted = false;
      ctx.socket.write('220-mx.patient.test ESMTP\r\n');
      ctx.later(400, () => {
        greeted = true;
        ctx.socket.write('220 mx.patient.test ready\r\n');
      });
      const respond = closedResponder(ctx, { name: 'mx.patient.test' });
      ctx.onLine((line) => {
        if (!greeted) {
          // What postscreen does to clients that talk before the greeting ends.
          spokeEarly = true;
          ctx.socket.end('554 5.5.1 Error: you talk too soon\r\n');
          return;
        }
        respond(line);
      });
    });
    const report = await run(parseSettings({ host: `127.0.0.1:${s.port}`, 'connect-timeout': '2', timeout: '20' }));
    expect(spokeEarly).toBe(false);
    expect(report.verdict).toBe('closed');
    expect(report.counts.denied).toBe(report.counts.tests);
  });

  test('the run deadline ends a slow server and reports what was not run', async () => {
    const s = await fault((ctx) => {
      ctx.socket.write('220 mx.slow.test ESMTP\r\n');
      const respond = closedResponder(ctx, { name: 'mx.slow.test', pipelining: false });
      ctx.onLine((line) => ctx.later(300, () => respond(line)));
    });
    // Every reply 300 ms late, one command at a time: the whole battery would take far longer than the 3 s deadline.
    const report = await run(parseSettings({ host: `127.0.0.1:${s.port}`, 'connect-timeout': '5', timeout: '3' }));
    const t = report.targets[0];
    expect(t.attempts.some((a) => a.outcome === 'inconclusive' && /deadline/.test(a.reason))).toBe(true);
    expect(t.attempts.some((a) => a.outcome === 'denied')).toBe(true);
    // Every attempt got a result: the deadline left none of them out.
    expect(t.attempts.filter((a) => a.outcome !== 'skipped').every((a) => a.outcome === 'denied' || /deadline/.test(a.reason))).toBe(true);
    expect(report.verdict).toBe('inconclusive');
  }, TEST_TIMEOUT_MS);
});
