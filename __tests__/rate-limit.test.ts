import { afterAll, beforeAll, expect, test } from '@jest/globals';
import net from 'node:net';
import { run } from '../src/engine.js';
import type { Report } from '../src/model/report.js';
import { parseSettings } from '../src/settings.js';
import { describePostfix } from './support/describe-mta.js';
import { startPostfix, type RunningPostfix } from './support/postfix.js';
import { describeSendmail, startSendmail, type SendmailServer } from './support/sendmail.js';

/**
 * Issue 25: a per-client connection rate (Postfix smtpd_client_connection_rate_limit, Sendmail's
 * ClientRate) needs the opposite of what the error budget does: fewer new connections. A closed
 * server with one must be decided, with nothing "not run", under strict.
 */

let pf: RunningPostfix;

describePostfix('Postfix with a per-client connection rate limit', () => {
  beforeAll(async () => {
    // Eight new connections per 10 s (the default window, anvil_rate_time_unit, is 60 s: shortened
    // so that the wait for it, which this test measures nothing of, stays short).
    pf = await startPostfix([{ name: 'rate', overrides: ['smtpd_client_connection_rate_limit=8', 'smtpd_client_event_limit_exceptions='] }], { anvil_rate_time_unit: '10s' });
  }, 60_000);
  afterAll(async () => pf?.stop());

  test('closed, every attempt decided, under strict', async () => {
    const r: Report = await run(parseSettings({ host: '127.0.0.1', port: String(pf.ports.rate), strictness: 'strict', tls: 'none', timeout: '110' }));
    const notRun = r.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'inconclusive').map((a) => `${a.vector}: ${a.reason}`));
    console.log(`rate: ${r.durationMs} ms, ${r.targets.map((t) => `${t.connections} conn, budget ${t.errorBudget}`).join('; ')}`);
    expect(notRun).toEqual([]);
    expect(r.verdict).toBe('closed');
    // Postfix refused connections past the rate, and relay-check went on with those it had.
    expect(pf.maillog()).toMatch(/Connection rate limit exceeded: \d+ from localhost\[127\.0\.0\.1\] for service/);
  }, 130_000);
});

describeSendmail("Sendmail with Debian's stock rate control (ClientRate 15 per 10 minutes, BAD_RCPT_THROTTLE 3)", () => {
  let sendmail: SendmailServer;
  afterAll(async () => sendmail?.stop());

  test('closed under strict, nothing "not run", in a few connections; two runs fit the window', async () => {
    sendmail = await startSendmail({ relayDomains: ['sendmail.test'], rateControl: true });
    // First, by hand: the 16th new connection within the window is refused, in Sendmail's words
    // (the harness's readiness probe was the first: ours are 2nd to 16th).
    const refusals: string[] = [];
    for (let i = 0; i < 15; i++) {
      const greeting = await greet(sendmail.port);
      if (!greeting.startsWith('220')) refusals.push(`${i + 2}: ${greeting}`);
    }
    expect(refusals).toEqual(['16: 421 4.3.2 Connection rate limit exceeded.']);
    await sendmail.stop();

    sendmail = await startSendmail({ relayDomains: ['sendmail.test'], rateControl: true });
    const runs: Report[] = [];
    for (let i = 0; i < 2; i++) runs.push(await run(parseSettings({ host: '127.0.0.1', port: String(sendmail.port), strictness: 'strict', timeout: '110' })));
    for (const r of runs) {
      const undecided = r.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'inconclusive').map((a) => `${t.transport} ${a.vector}: ${a.reason}`));
      console.log(`sendmail rate: ${r.durationMs} ms, ${r.targets.map((t) => `${t.transport} ${t.connections} conn`).join('; ')}`);
      expect(undecided).toEqual([]);
      expect({ verdict: r.verdict, failed: r.failed }).toEqual({ verdict: 'closed', failed: false });
      // Both runs together stay inside the 14 connections left of the window.
      expect(r.targets.reduce((n, t) => n + t.connections, 0)).toBeLessThanOrEqual(7);
    }
    expect(sendmail.traffic()).not.toMatch(/Connection rate limit exceeded/);
  }, 240_000);

  test('a window already spent: the run says so once, in the server\'s words, with when to run again', async () => {
    // The previous test's server is gone; a fresh one, with the window used up by hand.
    await sendmail?.stop();
    sendmail = await startSendmail({ relayDomains: ['sendmail.test'], rateControl: true });
    for (let i = 0; i < 14; i++) await greet(sendmail.port);
    const r = await run(parseSettings({ host: '127.0.0.1', port: String(sendmail.port), strictness: 'strict', timeout: '60' }));
    const t = r.targets[0];
    expect({ reachable: t.reachable, errorKind: t.errorKind }).toEqual({ reachable: false, errorKind: 'rate-limited' });
    expect(t.error).toMatch(/421 4\.3\.2 Connection rate limit exceeded\..*run again once it has passed/);
    expect(t.attempts).toEqual([]);
    expect(r.failed).toBe(true);
  }, 120_000);
});

/** Connects, reads the greeting's last line, says QUIT. */
function greet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setTimeout(10_000, () => s.destroy(new Error('no greeting in 10 s')));
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      const last = buf.split('\r\n').find((l) => /^\d{3} /.test(l));
      if (last) {
        s.end('QUIT\r\n');
        resolve(last);
      }
    });
    s.on('error', reject);
  });
}
