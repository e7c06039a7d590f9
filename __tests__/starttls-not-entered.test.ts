import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import { main } from '../src/cli.js';
import { run } from '../src/engine.js';
import type { Report } from '../src/model/report.js';
import { renderSummary } from '../src/report/summary.js';
import { renderTerminal } from '../src/report/terminal.js';
import { parseSettings } from '../src/settings.js';
import { tlsReason } from '../src/smtp/session.js';
import { failureReasons, runVerdict, untested, untestedNote, type TargetTally } from '../src/verdict/run.js';
import { runAction } from './support/action.js';
import { closedResponder, startFaultServer, type FaultContext, type FaultServer } from './support/fault-server.js';

/**
 * Issue 21 §2, "strict means tested": a transport the server offers but the
 * runner could not enter leaves the service untested there. The run is
 * inconclusive (never "closed" beside "not tested"), `normal` passes with a
 * warning, `strict` fails with the same sentence. The real-Postfix cases are in
 * postfix-tls.test.ts; here the fault that no MTA sends on purpose: STARTTLS
 * offered, 220, then bytes that are not TLS.
 */

function tally(over: Partial<TargetTally>): TargetTally {
  return { host: '127.0.0.1', address: '127.0.0.1', port: 25, reachable: true, tested: true, relayed: 0, inconclusive: 0, transport: 'plain', ...over };
}
const PLAIN_CLOSED = tally({});
const STARTTLS_FAILED = tally({ transport: 'starttls', reachable: false, tested: false, why: 'TLS handshake failed: wrong version number' });
const NOT_ENTERED = '127.0.0.1 port 25: STARTTLS could not be entered (TLS handshake failed: wrong version number), so nothing was tested inside it';

describe('the run verdict over the transports of one address and port', () => {
  test.each([
    // [what, tallies, verdict, normal reasons, strict reasons, untested notes]
    ['plaintext tested and closed, STARTTLS offered and not entered', [PLAIN_CLOSED, STARTTLS_FAILED], 'inconclusive', [], [NOT_ENTERED], [NOT_ENTERED]],
    ['the same with STARTTLS refused (454)', [PLAIN_CLOSED, { ...STARTTLS_FAILED, why: 'STARTTLS refused: 454 4.7.0 TLS not available due to local problem' }], 'inconclusive', [], ['127.0.0.1 port 25: STARTTLS could not be entered (STARTTLS refused: 454 4.7.0 TLS not available due to local problem), so nothing was tested inside it'], null],
    // engine.ts deferToTls: plaintext ran nothing because the server demands STARTTLS; STARTTLS decided.
    ['STARTTLS demanded: plaintext deferred, STARTTLS tested and closed', [tally({ tested: false }), tally({ transport: 'starttls' })], 'closed', [], [], []],
    ['STARTTLS demanded and not entered: nothing tested anywhere', [tally({ tested: false }), STARTTLS_FAILED], 'inconclusive', ['127.0.0.1:25: no relay attempt could be run on any address'], ['127.0.0.1:25: no relay attempt could be run on any address'], null],
    // The plain attempt relayed in plaintext; inside STARTTLS nothing is started on purpose.
    ['relayed in plaintext, STARTTLS set up and nothing run', [tally({ relayed: 1 }), tally({ transport: 'starttls', tested: false })], 'open', ['1 relay attempt(s) were accepted: the server is an open relay'], ['1 relay attempt(s) were accepted: the server is an open relay'], []],
    ['relayed in plaintext, STARTTLS not entered: still open, strict names STARTTLS too', [tally({ relayed: 1 }), STARTTLS_FAILED], 'open', ['1 relay attempt(s) were accepted: the server is an open relay'], ['1 relay attempt(s) were accepted: the server is an open relay', NOT_ENTERED], [NOT_ENTERED]],
    ['plaintext and STARTTLS both tested and closed', [PLAIN_CLOSED, tally({ transport: 'starttls' })], 'closed', [], [], []],
  ] as const)('%s', (_what, tallies, verdict, normal, strict, notes) => {
    expect(runVerdict(tallies)).toBe(verdict);
    expect(failureReasons(tallies, 'normal')).toEqual(normal);
    expect(failureReasons(tallies, 'strict')).toEqual(strict);
    expect(failureReasons(tallies, 'relaxed')).toEqual(verdict === 'open' ? [expect.stringMatching(/through DATA/)] : []);
    if (notes !== null) expect(untested(tallies).map(untestedNote)).toEqual(notes);
  });
});

describe('the reason a handshake failed, without OpenSSL\'s file dump', () => {
  test.each([
    // Node 20.20 (OpenSSL 3.0.19) against a TLSv1-only Postfix, Node's defaults.
    ['80CC852C1D7F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 70\n', 'tlsv1 alert protocol version (SSL alert number 70)'],
    // Node 24.22 (OpenSSL 3.5.9), the same server.
    ['403DC8973E7F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 70\n', 'tlsv1 alert protocol version (SSL alert number 70)'],
    // Bytes that are not TLS (the fault server below).
    ['80CC852C1D7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:354:\n', 'wrong version number'],
    // Not OpenSSL's: kept as it is.
    ['Client network socket disconnected before secure TLS connection was established', 'Client network socket disconnected before secure TLS connection was established'],
  ])('%j', (message, reason) => {
    expect(tlsReason(new Error(message))).toBe(reason);
  });
});

/** Offers STARTTLS, says 220, then sends bytes that are not a TLS record; otherwise a closed server. */
function notTls(ctx: FaultContext): void {
  const say = (l: string): void => {
    if (!ctx.socket.destroyed) ctx.socket.write(`${l}\r\n`);
  };
  const closed = closedResponder(ctx, { name: 'mx.fault.test' });
  let tlsAsked = false;
  say('220 mx.fault.test ESMTP');
  ctx.onLine((line) => {
    // After STARTTLS the client speaks TLS: its ClientHello is no command.
    if (tlsAsked) return;
    const verb = line.split(/[\s:]/)[0].toUpperCase();
    if (verb === 'EHLO') {
      say('250-mx.fault.test');
      say('250-PIPELINING');
      say('250 STARTTLS');
    } else if (verb === 'STARTTLS') {
      tlsAsked = true;
      say('220 2.0.0 Ready to start TLS');
      say('this is not TLS');
    } else closed(line);
  });
}

let server: FaultServer;
const reports: Partial<Record<'normal' | 'strict', Report>> = {};

beforeAll(async () => {
  server = await startFaultServer(notTls);
  for (const strictness of ['normal', 'strict'] as const) {
    reports[strictness] = await run(parseSettings({ host: '127.0.0.1', port: String(server.port), timeout: '30', 'connect-timeout': '5', strictness }));
  }
});

afterAll(async () => {
  await server.close();
});

describe('STARTTLS offered, 220, then no TLS (fault server)', () => {
  const sentence = (): RegExp => new RegExp(`^127\\.0\\.0\\.1 port ${server.port}: STARTTLS could not be entered \\(TLS handshake failed: wrong version number\\), so nothing was tested inside it$`);

  test('through the engine: plaintext closed, STARTTLS not entered; the run inconclusive under both', () => {
    for (const r of [reports.normal, reports.strict]) {
      if (!r) throw new Error('no report');
      expect(r.verdict).toBe('inconclusive');
      expect(r.targets.map((t) => [t.transport, t.verdict, t.errorKind])).toEqual([
        ['plain', 'closed', null],
        ['starttls', 'inconclusive', 'tls'],
      ]);
      expect(r.targets[0].counts.tests).toBeGreaterThanOrEqual(45);
      expect(r.targets[0].counts.denied).toBe(r.targets[0].counts.tests);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(sentence());
    }
  });

  test('normal passes with the warning; strict fails with the same sentence as its reason', () => {
    expect({ failed: reports.normal?.failed, failReasons: reports.normal?.failReasons }).toEqual({ failed: false, failReasons: [] });
    expect(reports.strict?.failed).toBe(true);
    expect(reports.strict?.failReasons).toEqual(reports.strict?.warnings);
  });

  test('the terminal never says "closed" beside "not tested"', () => {
    const text = renderTerminal(reports.normal as Report, { color: false, verbose: false });
    expect(text).toMatch(/^relay-check \S+: INCONCLUSIVE \(strictness normal: passes\)/);
    expect(text).not.toMatch(/NOT AN OPEN RELAY| is closed/);
    // The verdict sentence is wrapped at the terminal's width.
    expect(text.replace(/\s+/g, ' ')).toMatch(/relayed nothing \(all \d+ vectors were refused\), but STARTTLS could not be entered \(TLS handshake failed: wrong version number\)/);
    expect(text).toMatch(/plaintext, STARTTLS \(not tested\)/);
    // What to do: the server's TLS, or plaintext only.
    expect(text.replace(/\s+/g, ' ')).toMatch(/127\.0\.0\.1:\d+ offers STARTTLS, but it could not be entered \(.*wrong version number\), so nothing was tested inside it\. .*fix the server's TLS .* or test plaintext only with --tls none\./);
  });

  test('the job summary: the advice once, escaped', () => {
    const md = renderSummary(reports.normal as Report);
    expect(md.match(/offers STARTTLS, but it could not be entered/g)).toHaveLength(1);
    expect(md).toMatch(/\n- 127\.0\.0\.1&#58;\d+ offers STARTTLS, but it could not be entered \(TLS handshake failed&#58; wrong version number\), .* test plaintext only with `tls: none`\.\n/);
  });

  test('the CLI exit status: 0 under normal, 2 under strict', async () => {
    const cli = async (extra: string[]): Promise<{ code: number; stdout: string }> => {
      let stdout = '';
      const code = await main([`127.0.0.1:${server.port}`, '--connect-timeout', '5', '--timeout', '30', ...extra], { stdout: (x) => (stdout += x), stderr: () => undefined, isTty: false });
      return { code, stdout };
    };
    const normal = await cli([]);
    const strict = await cli(['--strictness', 'strict']);
    expect([normal.code, strict.code]).toEqual([0, 2]);
    expect(normal.stdout).toMatch(/warning: 127\.0\.0\.1 port \d+: STARTTLS could not be entered/);
    expect(strict.stdout).toMatch(/fails: 127\.0\.0\.1 port \d+: STARTTLS could not be entered/);
    // Said once under strict: as the reason, not again as a warning.
    expect(strict.stdout).not.toMatch(/warning: 127\.0\.0\.1 port \d+: STARTTLS/);
  });
  test('the action (dist/index.js): verdict inconclusive; the step passes under normal and fails under strict, saying why', async () => {
    const normal = await runAction({ host: `127.0.0.1:${server.port}`, 'connect-timeout': '5', timeout: '30' });
    const strict = await runAction({ host: `127.0.0.1:${server.port}`, 'connect-timeout': '5', timeout: '30', strictness: 'strict' });
    try {
      expect([normal.code, normal.outputs.verdict, strict.code, strict.outputs.verdict]).toEqual([0, 'inconclusive', 1, 'inconclusive']);
      expect(normal.stdout).toMatch(/::warning title=Address not tested::127\.0\.0\.1 port \d+: STARTTLS could not be entered/);
      expect(strict.stdout).toMatch(/::error title=relay-check%3A inconclusive::.*The step fails: 127\.0\.0\.1 port \d+: STARTTLS could not be entered \(TLS handshake failed: wrong version number\)/);
      // Said once: the reason is in the error, not again as a warning.
      expect(strict.stdout).not.toMatch(/::warning [^\n]*STARTTLS could not be entered/);
    } finally {
      for (const r of [normal, strict]) fs.rmSync(r.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
