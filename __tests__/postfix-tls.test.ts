import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { main } from '../src/cli.js';
import { run } from '../src/engine.js';
import { renderSummary } from '../src/report/summary.js';
import { renderTerminal } from '../src/report/terminal.js';
import type { AttemptReport, Report, TargetReport } from '../src/model/report.js';
import { parseSettings, type RawInputs } from '../src/settings.js';
import { describePostfix } from './support/describe-mta.js';
import { addSmtpd, freePort, startPostfix, type RunningPostfix } from './support/postfix.js';
import { expectValid } from './support/schema.js';
import tls from 'node:tls';

/**
 * Issue 4, every way in: STARTTLS demanded and offered, implicit TLS, and
 * testing as an outsider through XCLIENT. One private Postfix with a
 * self-signed certificate made here, one smtpd per case, all on loopback and
 * every transport a discard.
 */

const CN = 'mx.relay-check.test';
const OPEN = 'mynetworks=0.0.0.0/0';
const XCLIENT_LOOPBACK = 'smtpd_authorized_xclient_hosts=127.0.0.0/8';
const OUTSIDER = '203.0.113.10';
/** TLS 1.0 and nothing else (Postfix ≥ 3.6 range syntax, postconf(5) smtpd_tls_protocols). */
const TLS1_ONLY = '{ smtpd_tls_protocols = >=TLSv1, <=TLSv1 }';
const TLS1_ONLY_MANDATORY = '{ smtpd_tls_mandatory_protocols = >=TLSv1, <=TLSv1 }';
/** No cipher at all: the handshake fails whatever the client offers. */
const NO_CIPHER = ['smtpd_tls_ciphers=high', 'smtpd_tls_mandatory_ciphers=high', 'smtpd_tls_exclude_ciphers=ALL', 'smtpd_tls_mandatory_exclude_ciphers=ALL'];

let pf: RunningPostfix;
let certDir: string | undefined;
/** The implicit-TLS (wrappermode) smtpd: added after start, since the harness waits for a plaintext greeting. */
let wrapperPort: number;
const timings: string[] = [];

async function check(port: number, raw: RawInputs = {}): Promise<Report> {
  const t0 = Date.now();
  const report = await run(parseSettings({ host: '127.0.0.1', port: String(port), timeout: '60', 'connect-timeout': '5', ...raw }));
  timings.push(
    `${String(port).padEnd(6)} ${JSON.stringify(raw).padEnd(60)} ${String(Date.now() - t0).padStart(6)} ms  verdict=${report.verdict} ` +
      report.targets.map((t) => `${t.transport}:${t.verdict}/${JSON.stringify(t.counts)}`).join(' '),
  );
  return report;
}

function show(a: AttemptReport): string {
  return `${a.vector}: ${a.outcome} (${a.reason}) reply=${a.reply}\n${a.transcript.map((l) => `    ${l.dir} ${l.text}`).join('\n')}`;
}

function byTransport(report: Report, transport: TargetReport['transport']): TargetReport {
  const t = report.targets.find((x) => x.transport === transport);
  if (!t) throw new Error(`no ${transport} target in ${JSON.stringify(report.targets.map((x) => x.transport))}`);
  return t;
}

/** Every line relay-check sent in a report: openings and attempt transcripts. */
function sentLines(report: Report): string[] {
  return report.targets.flatMap((t) => [...t.opening, ...t.attempts.flatMap((a) => a.transcript)].filter((l) => l.dir === 'C').map((l) => l.text));
}

/**
 * SPEC §3 and issue 9 §4: an address counts as reached only when at least one
 * attempt ran there, so a run in which none ran is inconclusive (never closed)
 * and fails the step under normal and strict.
 */
function expectUntested(runs: Record<'normal' | 'strict', Report>, port: number): void {
  // One comparison for both runs, so a failure shows every value that is wrong, with its context.
  const summaries = Object.entries(runs).map(([strictness, r]) => ({
    strictness,
    verdict: r.verdict,
    failed: r.failed,
    relayed: r.counts.relayed,
    denied: r.counts.denied,
    targets: r.targets.map((t) => ({ transport: t.transport, verdict: t.verdict, tests: t.counts.tests, reachable: t.reachable, error: t.error })),
    failReasons: r.failReasons,
  }));
  expect(summaries).toEqual(
    summaries.map((x) => ({
      ...x,
      verdict: 'inconclusive',
      failed: true,
      // Nothing decided either way, on any transport.
      relayed: 0,
      denied: 0,
      targets: x.targets.map((t) => ({ ...t, verdict: 'inconclusive' })),
    })),
  );
  for (const r of Object.values(runs)) {
    // The reason names the address that went untested, and does not call it an open relay.
    expect(r.failReasons.join('\n')).toContain(String(port));
    expect(r.failReasons.join('\n')).not.toMatch(/open relay/);
  }
}

/**
 * A direct STARTTLS session, outside relay-check: EHLO, STARTTLS, then a
 * handshake with the given client settings. The negotiated protocol, or why
 * the handshake failed.
 */
function directStartTls(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (text: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    const timer = setTimeout(() => done('timeout'), 10_000);
    let buf = '';
    let step = 0;
    socket.on('error', (e) => done(`socket error: ${e.message}`));
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!/^\d{3} [^\n]*\n/m.test(buf)) return;
      const last = buf;
      buf = '';
      if (step === 0) socket.write('EHLO direct.relay-check.test\r\n');
      else if (step === 1) socket.write('STARTTLS\r\n');
      else if (step === 2) {
        if (!last.startsWith('220')) return done(`STARTTLS refused: ${last.trim()}`);
        socket.removeAllListeners('data');
        const secure = tls.connect({ ...options, socket, rejectUnauthorized: false });
        secure.once('secureConnect', () => done(secure.getProtocol() ?? 'no protocol'));
        secure.once('error', (e) => done(`handshake failed: ${e.message}`));
      }
      step++;
    });
  });
}

/** The CLI as a user runs it: its exit status and what it printed. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await main(argv, { stdout: (x) => (stdout += x), stderr: () => undefined, isTty: false });
  return { code, stdout };
}

/** A self-signed certificate for the test server, made with openssl (fails loudly when openssl is missing). */
function makeCertificate(): { cert: string; key: string } {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`openssl is needed to make the test server's self-signed certificate and could not be run: ${probe.error?.message ?? probe.stderr}`);
  }
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-tls-'));
  // A throwaway pair for loopback tests: readable by every Postfix process, whichever user it runs as.
  fs.chmodSync(certDir, 0o755);
  const key = path.join(certDir, 'key.pem');
  const cert = path.join(certDir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${CN}`, '-keyout', key, '-out', cert, '-days', '2'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (made.status !== 0) throw new Error(`openssl req failed (exit ${made.status ?? made.signal}): ${made.stderr}`);
  fs.chmodSync(key, 0o644);
  return { cert, key };
}

/**
 * Adds an implicit-TLS smtpd to the running instance. The harness cannot start
 * one itself: its readiness check expects a plaintext greeting, which
 * wrappermode never sends. A port taken between probe and reload: try another.
 */
async function addWrapperService(overrides: string[]): Promise<number> {
  for (let round = 1; ; round++) {
    const port = await freePort();
    try {
      await addSmtpd(pf, { name: 'wrapper', address: '127.0.0.1', port, overrides, tls: true });
      return port;
    } catch (e) {
      if (round >= 3 || !/address already in use/i.test(pf.maillog())) throw e;
    }
  }
}

describePostfix('Postfix with TLS and XCLIENT (issue 4)', () => {
  beforeAll(async () => {
    const { cert, key } = makeCertificate();
    pf = await startPostfix(
      [
        // Demands STARTTLS before MAIL (530 5.7.0), and relays for anyone inside it.
        { name: 'encrypt-open', overrides: ['smtpd_tls_security_level=encrypt', OPEN] },
        // Demands STARTTLS, stock relay policy.
        { name: 'encrypt-closed', overrides: ['smtpd_tls_security_level=encrypt'] },
        // Offers STARTTLS (main.cf: level may), stock relay policy, no XCLIENT for anyone.
        { name: 'may-closed', overrides: [] },
        // Offers STARTTLS, open to everyone.
        { name: 'may-open', overrides: [OPEN] },
        // The PR-gating case: loopback is trusted (mynetworks), the runner may use XCLIENT.
        { name: 'xclient-closed', overrides: ['mynetworks=127.0.0.0/8', XCLIENT_LOOPBACK] },
        // Open to everyone, XCLIENT authorized.
        { name: 'xclient-open', overrides: [OPEN, XCLIENT_LOOPBACK] },
        // No TLS at all (STARTTLS not offered), open.
        { name: 'no-tls-open', overrides: ['smtpd_tls_security_level=none', OPEN] },
        // Offers STARTTLS but speaks only TLS 1.0 (Node's defaults refuse it): entered anyway, reported as legacy. Closed.
        { name: 'legacy-tls-closed', overrides: [TLS1_ONLY, TLS1_ONLY_MANDATORY] },
        // The same with TLS 1.1 only.
        { name: 'legacy-tls11-closed', overrides: ['{ smtpd_tls_protocols = >=TLSv1.1, <=TLSv1.1 }'] },
        // Demands STARTTLS (530 5.7.0), speaks only TLS 1.0, and relays for anyone inside it.
        { name: 'encrypt-legacy-tls-open', overrides: ['smtpd_tls_security_level=encrypt', TLS1_ONLY, TLS1_ONLY_MANDATORY, OPEN] },
        // Offers STARTTLS, answers 220, and has no cipher to offer (smtpd logs 'error setting cipher grade: "high"',
        // 'no cipher match', then 'lost connection after STARTTLS'): no client setting completes this handshake. Closed in plaintext.
        { name: 'no-cipher-closed', overrides: NO_CIPHER },
        // Demands STARTTLS and then fails the handshake the same way; relays for anyone inside TLS.
        // Nothing can be tested here: never "closed".
        { name: 'encrypt-no-cipher-open', overrides: ['smtpd_tls_security_level=encrypt', ...NO_CIPHER, OPEN] },
        // Offers STARTTLS, but its certificate cannot be loaded: "454 4.7.0 TLS not available due to local problem". Closed in plaintext.
        { name: 'broken-cert-closed', overrides: ['smtpd_tls_cert_file=/nonexistent/relay-check-cert.pem', 'smtpd_tls_key_file=/nonexistent/relay-check-key.pem'] },
      ],
      {
        smtpd_tls_cert_file: cert,
        smtpd_tls_key_file: key,
        smtpd_tls_security_level: 'may',
        smtpd_tls_loglevel: '1',
      },
    );
    wrapperPort = await addWrapperService(['smtpd_tls_wrappermode=yes', 'smtpd_tls_security_level=encrypt', OPEN]);
  }, 90_000);

  afterAll(async () => {
    await pf?.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
    if (timings.length) console.log(`Postfix TLS/XCLIENT timings:\n${timings.join('\n')}`);
  });

  test('STARTTLS demanded (encrypt) and open: open, found inside STARTTLS; plaintext attempts skipped', async () => {
    const r = await check(pf.ports['encrypt-open']);
    expect(r.verdict).toBe('open');
    expect(r.failed).toBe(true);
    expect(r.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);

    const plain = byTransport(r, 'plain');
    expect(plain.reachable).toBe(true);
    expect(plain.extensions).toContain('STARTTLS');
    expect(plain.counts.relayed).toBe(0);
    expect(plain.counts.tests).toBe(0);
    // Every plaintext attempt is skipped; those the 530 stopped say STARTTLS.
    expect(plain.attempts.filter((a) => a.outcome !== 'skipped').map(show)).toEqual([]);
    const deferred = plain.attempts.filter((a) => a.rule === 'starttls-required');
    expect(deferred.length).toBeGreaterThanOrEqual(45);
    for (const a of deferred) expect(a.reason).toMatch(/STARTTLS/);
    // At least one really got Postfix's 530 in plaintext (that is how the engine learnt it).
    expect(plain.attempts.some((a) => /^530 5\.7\.0 .*STARTTLS/.test(a.reply ?? ''))).toBe(true);
    // No plaintext RCPT was ever accepted: nothing relayed outside TLS.
    expect(plain.attempts.some((a) => a.transcript.some((l) => l.dir === 'S' && /^250 2\.1\.5/.test(l.text)))).toBe(false);

    const secure = byTransport(r, 'starttls');
    expect(secure.reachable).toBe(true);
    expect(secure.counts.relayed).toBeGreaterThan(0);
    expect(secure.verdict).toBe('open');
    expect(secure.tls).not.toBeNull();
    expect(secure.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(secure.tls?.cipher).toBeTruthy();
    expect(secure.tls?.verified).toBe(false);
    expect(secure.tls?.verifyError).toBeTruthy();
    expect(secure.tls?.subject).toBe(CN);
    // The relayed attempts really went through the TLS session: STARTTLS, then EHLO again.
    const sent = secure.opening.filter((l) => l.dir === 'C').map((l) => l.text);
    expect(sent.indexOf('STARTTLS')).toBeGreaterThan(0);
    expect(sent.slice(sent.indexOf('STARTTLS') + 1)[0]).toMatch(/^EHLO /);
  });

  test('STARTTLS demanded (encrypt) and closed: closed, under normal and strict', async () => {
    for (const strictness of ['normal', 'strict'] as const) {
      const r = await check(pf.ports['encrypt-closed'], { strictness });
      expect(r.verdict).toBe('closed');
      expect(r.failed).toBe(false);
      expect(r.failReasons).toEqual([]);
      expect(r.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
      const secure = byTransport(r, 'starttls');
      expect(secure.counts.tests).toBeGreaterThanOrEqual(45);
      expect(secure.counts.relayed).toBe(0);
      expect(secure.counts.inconclusive).toBe(0);
      expect(secure.attempts.filter((a) => a.outcome === 'denied').length).toBeGreaterThanOrEqual(45);
      expect(byTransport(r, 'plain').attempts.every((a) => a.outcome === 'skipped')).toBe(true);
    }
  });

  test('implicit TLS (wrappermode) and open, tls: implicit: open, transport implicit', async () => {
    const r = await check(wrapperPort, { tls: 'implicit' });
    expect(r.verdict).toBe('open');
    expect(r.targets).toHaveLength(1);
    const t = r.targets[0];
    expect(t.transport).toBe('implicit');
    expect(t.reachable).toBe(true);
    expect(t.counts.relayed).toBeGreaterThan(0);
    expect(t.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(t.tls?.verified).toBe(false);
    expect(t.tls?.subject).toBe(CN);
    expect(t.greeting).toMatch(/^220 /);
  });

  test('implicit TLS (wrappermode) on a port other than 465 with tls: auto: no plaintext greeting, so TLS is tried, found, tested and reported', async () => {
    // Issue 13 (was: inconclusive, "no greeting in plaintext"): a server that waits silently
    // for a ClientHello gets one TLS handshake on a fresh connection before auto gives up.
    for (const strictness of ['normal', 'strict']) {
      const r = await check(wrapperPort, { 'connect-timeout': '2', strictness });
      expect(r.verdict).toBe('open');
      expect(r.targets).toHaveLength(1);
      const t = r.targets[0];
      expect(t.transport).toBe('implicit');
      expect(t.tlsDetected).toBe(true);
      expect(t.reachable).toBe(true);
      expect(t.greeting).toMatch(/^220 /);
      expect(t.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(t.counts.relayed).toBeGreaterThan(0);
      expect(r.failed).toBe(true);
    }
  }, 30_000);

  test('tls: auto on a port that says nothing and speaks no TLS either: inconclusive, nothing sent', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const r = await check(port, { 'connect-timeout': '1' });
      expect(r.verdict).toBe('inconclusive');
      expect(r.targets.map((t) => [t.transport, t.tlsDetected ?? false, t.errorKind])).toEqual([['plain', false, 'timeout']]);
      // A port that never greets may wait for a PROXY header (issue 23 §2): the PROXY tricks
      // send their headers, and with no greeting after them either, nothing else.
      expect(sentLines(r).filter((l) => !/^(PROXY TCP4 |\(PROXY v2 binary header)/.test(l))).toEqual([]);
      expect(r.targets[0].attempts.filter((a) => a.vector.startsWith('proxy-')).map((a) => a.outcome)).toEqual(['inconclusive', 'inconclusive', 'inconclusive']);
    } finally {
      silent.close();
    }
  }, 30_000);

  test('tls: implicit on a plaintext server: the TLS handshake fails; inconclusive, and the step fails under normal and strict', async () => {
    const port = pf.ports['may-closed'];
    const runs = { normal: await check(port, { tls: 'implicit' }), strict: await check(port, { tls: 'implicit', strictness: 'strict' }) };
    expectUntested(runs, port);
    for (const r of Object.values(runs)) {
      expect(r.targets.map((t) => t.transport)).toEqual(['implicit']);
      const t = r.targets[0];
      expect(t.reachable).toBe(false);
      // The reason says it was TLS that failed, in the same words as a failed STARTTLS handshake.
      expect(t.errorKind).toBe('tls');
      expect(t.error).toMatch(/^127\.0\.0\.1:\d+: TLS handshake failed: wrong version number$/);
      expect(t.tls).toBeNull();
      expect(sentLines(r).filter((l) => /^(MAIL|RCPT|DATA)/i.test(l))).toEqual([]);
    }
  });

  test('STARTTLS demanded (encrypt), then no handshake can complete: inconclusive, never closed, and the step fails under normal and strict', async () => {
    const port = pf.ports['encrypt-no-cipher-open'];
    const runs = { normal: await check(port), strict: await check(port, { strictness: 'strict' }) };
    expectUntested(runs, port);
    for (const r of Object.values(runs)) {
      expect(r.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
      // Plaintext: Postfix demanded STARTTLS (530 5.7.0) and accepted no RCPT outside TLS.
      const plain = byTransport(r, 'plain');
      expect(plain.extensions).toContain('STARTTLS');
      expect(plain.attempts.some((a) => /^530 5\.7\.0 .*STARTTLS/.test(a.reply ?? ''))).toBe(true);
      expect(plain.attempts.some((a) => a.transcript.some((l) => l.dir === 'S' && /^250 2\.1\.5/.test(l.text)))).toBe(false);
      // Inside STARTTLS: the handshake failed, so not one attempt ran there either.
      const secure = byTransport(r, 'starttls');
      expect(secure.errorKind).toBe('tls');
      expect(secure.error).toMatch(/TLS handshake failed/);
    }
  });

  test('STARTTLS offered (level may) and closed, tls: auto: tested in plaintext and inside STARTTLS, both closed', async () => {
    const r = await check(pf.ports['may-closed'], { strictness: 'strict' });
    expect(r.verdict).toBe('closed');
    expect(r.failed).toBe(false);
    expect(r.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
    for (const t of r.targets) {
      expect(t.verdict).toBe('closed');
      expect(t.counts.relayed).toBe(0);
      expect(t.counts.inconclusive).toBe(0);
      expect(t.counts.tests).toBeGreaterThanOrEqual(45);
    }
    expect(byTransport(r, 'plain').tls).toBeNull();
    expect(byTransport(r, 'starttls').tls?.subject).toBe(CN);
  });

  test('STARTTLS offered and open, tls: auto: the plain attempt relays in plaintext; inside STARTTLS the session is set up (TLS reported) and nothing runs', async () => {
    const r = await check(pf.ports['may-open']);
    expect(r.verdict).toBe('open');
    expect(r.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
    const plain = byTransport(r, 'plain');
    const secure = byTransport(r, 'starttls');
    expect(plain.attempts.find((a) => a.vector === 'external-sender')?.outcome).toBe('relayed');
    expect(plain.stopped?.after).toBe('external-sender');
    expect(secure.tls?.subject).toBe(CN);
    expect(secure.transactions ?? 0).toBe(0);
    expect(secure.counts.tests).toBe(0);
    const notRun = secure.attempts.filter((a) => a.outcome === 'skipped' && /^not run: the plain attempt \(external-sender\) already relayed in plaintext on this port/.test(a.reason));
    expect(notRun.length).toBeGreaterThan(40);
    expect(secure.stopped).toEqual({ after: 'external-sender', notRun: notRun.length });
    expect(secure.opening.some((l) => l.dir === 'C' && l.text === 'STARTTLS')).toBe(true);
  });

  test('tls: starttls on a server that does not offer it: inconclusive with the reason, nothing sent in plaintext', async () => {
    const r = await check(pf.ports['no-tls-open'], { tls: 'starttls' });
    expect(r.verdict).toBe('inconclusive');
    expect(r.targets).toHaveLength(1);
    const t = r.targets[0];
    expect(t.transport).toBe('starttls');
    expect(t.error).toMatch(/does not offer STARTTLS/);
    expect(t.errorKind).toBe('tls');
    // An open relay in plaintext, but tls: starttls means no relay attempt outside TLS.
    expect(sentLines(r).filter((l) => /^(MAIL|RCPT)/.test(l))).toEqual([]);
    // tls: auto finds it open in plaintext and does not try STARTTLS.
    const auto = await check(pf.ports['no-tls-open']);
    expect(auto.verdict).toBe('open');
    expect(auto.targets.map((x) => x.transport)).toEqual(['plain']);
  });

  test('tls: starttls where no handshake can complete: inconclusive, never closed, fails the step; nothing sent in plaintext', async () => {
    const port = pf.ports['no-cipher-closed'];
    const runs = { normal: await check(port, { tls: 'starttls' }), strict: await check(port, { tls: 'starttls', strictness: 'strict' }) };
    expectUntested(runs, port);
    for (const only of Object.values(runs)) {
      expect(only.targets.map((t) => t.transport)).toEqual(['starttls']);
      expect(only.targets[0].errorKind).toBe('tls');
      expect(only.targets[0].error).toMatch(/TLS handshake failed/);
      expect(sentLines(only).filter((l) => /^(MAIL|RCPT|DATA)/i.test(l))).toEqual([]);
    }
  });

  test('loopback in mynetworks, XCLIENT authorized: open from loopback, closed as 203.0.113.10 (plaintext and STARTTLS)', async () => {
    const trusted = await check(pf.ports['xclient-closed'], { tls: 'none' });
    expect(trusted.verdict).toBe('open');
    expect(trusted.targets[0].counts.relayed).toBeGreaterThan(0);
    expect(sentLines(trusted).filter((l) => /^XCLIENT/.test(l))).toEqual([]);

    const outsider = await check(pf.ports['xclient-closed'], { 'client-address': OUTSIDER, strictness: 'strict' });
    expect(outsider.verdict).toBe('closed');
    expect(outsider.failed).toBe(false);
    expect(outsider.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
    for (const t of outsider.targets) {
      expect(t.errorKind).toBeNull();
      expect(t.counts.relayed).toBe(0);
      expect(t.counts.tests).toBeGreaterThanOrEqual(45);
      const sent = t.opening.filter((l) => l.dir === 'C').map((l) => l.text);
      expect(sent).toContain(`XCLIENT ADDR=${OUTSIDER} NAME=[UNAVAILABLE]`);
      // EHLO again after XCLIENT's new greeting.
      expect(sent[sent.indexOf(`XCLIENT ADDR=${OUTSIDER} NAME=[UNAVAILABLE]`) + 1]).toMatch(/^EHLO /);
      if (t.transport === 'starttls') expect(sent.indexOf('STARTTLS')).toBeLessThan(sent.indexOf(`XCLIENT ADDR=${OUTSIDER} NAME=[UNAVAILABLE]`));
    }
    // Postfix saw the outsider's address, not loopback.
    expect(pf.maillog()).toMatch(/client=unknown\[203\.0\.113\.10\]|reject: RCPT from unknown\[203\.0\.113\.10\]/);
  });

  test('an IPv6 client-address goes as XCLIENT ADDR=IPV6:…, and Postfix judges that client', async () => {
    const r = await check(pf.ports['xclient-closed'], { 'client-address': '2001:db8::10', tls: 'none' });
    expect(r.verdict).toBe('closed');
    expect(r.targets[0].errorKind).toBeNull();
    expect(r.targets[0].counts.tests).toBeGreaterThanOrEqual(45);
    expect(sentLines(r)).toContain('XCLIENT ADDR=IPV6:2001:db8::10 NAME=[UNAVAILABLE]');
    expect(pf.maillog()).toMatch(/RCPT from unknown\[2001:db8::10\]/);
  });

  test('open to everyone, XCLIENT authorized: open with client-address', async () => {
    const r = await check(pf.ports['xclient-open'], { 'client-address': OUTSIDER, tls: 'none' });
    expect(r.verdict).toBe('open');
    expect(r.failed).toBe(true);
    expect(r.targets[0].errorKind).toBeNull();
    expect(r.targets[0].counts.relayed).toBeGreaterThan(0);
    expect(sentLines(r)).toContain(`XCLIENT ADDR=${OUTSIDER} NAME=[UNAVAILABLE]`);
  });

  test('XCLIENT not authorized, client-address given: the step fails with the advice, no relay attempt made', async () => {
    const before = pf.maillog().split('\n').length;
    const r = await check(pf.ports['may-closed'], { 'client-address': OUTSIDER });
    expect(r.failed).toBe(true);
    expect(r.verdict).not.toBe('closed');
    expect(r.verdict).not.toBe('open');
    expect(r.counts.relayed).toBe(0);
    expect(r.counts.denied).toBe(0);
    expect(r.targets.length).toBeGreaterThanOrEqual(1);
    for (const t of r.targets) {
      expect(t.errorKind).toBe('xclient');
      // The fact, naming no input: each renderer words the fix for its reader (first-hour.test.ts).
      expect(t.error).toBe(`XCLIENT as ${OUTSIDER}: the server does not offer XCLIENT to this client`);
    }
    expect(r.failReasons.some((x) => /XCLIENT/.test(x) && x.includes(OUTSIDER))).toBe(true);
    expect(renderSummary(r)).toMatch(/smtpd_authorized_xclient_hosts/);
    // Not one MAIL FROM or RCPT TO went to a server that would judge us as loopback.
    const sent = sentLines(r);
    expect(sent.filter((l) => /^(MAIL FROM|RCPT TO|DATA)/i.test(l))).toEqual([]);
    expect(sent.some((l) => /^EHLO /.test(l))).toBe(true);
    // And Postfix agrees: no MAIL command logged for these sessions.
    const newLog = pf.maillog().split('\n').slice(before - 1).join('\n');
    expect(newLog).not.toMatch(/NOQUEUE|from=</);
  });
  // Issue 21 §2: a relay test is not a TLS audit. A server that speaks only TLS 1.0 or 1.1 is entered and tested inside.
  test('TLS 1.0 only: a direct session shows Node\'s defaults cannot enter it and minVersion TLSv1 with DEFAULT:@SECLEVEL=0 can', async () => {
    const port = pf.ports['legacy-tls-closed'];
    // What openssl says (docs/mta-notes.md, "Legacy TLS"), when this machine's openssl can be asked.
    const s = spawnSync('openssl', ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${port}`, '-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0'], { input: '', encoding: 'utf8', timeout: 15_000 });
    expect(s.stdout).toMatch(/Protocol\s*:\s*TLSv1\n/);
    expect(await directStartTls(port, {})).toMatch(/^handshake failed: .*(protocol version|unsupported protocol|sigalg)/);
    expect(await directStartTls(port, { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' })).toBe('TLSv1');
    // A TLS 1.1-only server the same way.
    expect(await directStartTls(pf.ports['legacy-tls11-closed'], {})).toMatch(/^handshake failed: /);
    expect(await directStartTls(pf.ports['legacy-tls11-closed'], { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' })).toBe('TLSv1.1');
  });

  test('TLS 1.0 only and closed, tls: auto, strict: tested in plaintext and inside STARTTLS, the protocol reported as legacy; closed, passes', async () => {
    const r = await check(pf.ports['legacy-tls-closed'], { strictness: 'strict' });
    expect({ verdict: r.verdict, failed: r.failed, failReasons: r.failReasons, warnings: r.warnings }).toEqual({ verdict: 'closed', failed: false, failReasons: [], warnings: [] });
    expect(r.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
    const secure = byTransport(r, 'starttls');
    expect(secure.tls).toMatchObject({ protocol: 'TLSv1', legacy: true, subject: CN });
    // The battery really ran inside the legacy session, and was refused there.
    expect(secure.counts.tests).toBeGreaterThanOrEqual(45);
    expect(secure.counts.denied).toBe(secure.counts.tests);
    expect(secure.opening.some((l) => l.dir === '*' && /^STARTTLS: TLSv1 \(legacy\) /.test(l.text))).toBe(true);
    expect(byTransport(r, 'plain').tls).toBeNull();
    expectValid(r);
    expect(renderTerminal(r, { color: false, verbose: false })).toContain('STARTTLS (legacy TLSv1)');
    // The summary escapes every character Markdown could read: "(" is &#40;.
    expect(renderSummary(r)).toMatch(/STARTTLS <sub>TLSv1 &#40;legacy&#41; ECDHE-/);
  });

  test('TLS 1.1 only and closed, tls: starttls: tested inside it, legacy, closed', async () => {
    const r = await check(pf.ports['legacy-tls11-closed'], { tls: 'starttls', strictness: 'strict' });
    expect({ verdict: r.verdict, failed: r.failed }).toEqual({ verdict: 'closed', failed: false });
    expect(r.targets[0].tls).toMatchObject({ protocol: 'TLSv1.1', legacy: true });
    expect(r.targets[0].counts.tests).toBeGreaterThanOrEqual(45);
  });

  test('STARTTLS demanded over TLS 1.0 only, open inside it: open, found inside legacy STARTTLS (was: inconclusive, handshake failed)', async () => {
    const r = await check(pf.ports['encrypt-legacy-tls-open']);
    expect({ verdict: r.verdict, failed: r.failed }).toEqual({ verdict: 'open', failed: true });
    const secure = byTransport(r, 'starttls');
    expect(secure.tls).toMatchObject({ protocol: 'TLSv1', legacy: true });
    expect(secure.counts.relayed).toBeGreaterThan(0);
    expect(byTransport(r, 'plain').counts.relayed).toBe(0);
    expect(pf.maillog()).toMatch(/encrypt-legacy-tls-open\/smtpd\[\d+\]: Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1 with cipher|TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1 with cipher/);
  });

  // Issue 21 §2: a transport the server offers but the runner could not enter is not tested, and "not tested" never stands beside "closed".
  test('STARTTLS offered, closed in plaintext, no handshake can complete: inconclusive; normal passes with a warning, strict fails with the same sentence', async () => {
    const port = pf.ports['no-cipher-closed'];
    // First, directly: STARTTLS is offered and answered 220, and no client setting completes the handshake.
    expect(await directStartTls(port, { minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' })).toMatch(/^handshake failed: /);
    const normal = await check(port);
    const strict = await check(port, { strictness: 'strict' });
    const sentence = new RegExp(`^127\\.0\\.0\\.1 port ${port}: STARTTLS could not be entered \\(TLS handshake failed: [^)]+\\), so nothing was tested inside it$`);
    for (const r of [normal, strict]) {
      expect(r.verdict).toBe('inconclusive');
      expect(r.targets.map((t) => [t.transport, t.verdict])).toEqual([
        ['plain', 'closed'],
        ['starttls', 'inconclusive'],
      ]);
      expect(byTransport(r, 'plain').counts.tests).toBeGreaterThanOrEqual(45);
      expect(byTransport(r, 'starttls').errorKind).toBe('tls');
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(sentence);
      // The verdict sentence says what was not tested; never "is closed" beside it.
      const text = renderTerminal(r, { color: false, verbose: false });
      expect(text).toMatch(/INCONCLUSIVE/);
      expect(text).not.toMatch(/NOT AN OPEN RELAY| is closed/);
      expect(text).toMatch(/but STARTTLS could not be entered \(TLS handshake failed/);
      expectValid(r);
    }
    expect({ failed: normal.failed, failReasons: normal.failReasons }).toEqual({ failed: false, failReasons: [] });
    expect({ failed: strict.failed, failReasons: strict.failReasons }).toEqual({ failed: true, failReasons: strict.warnings });
    const summary = renderSummary(strict);
    expect(summary).toMatch(/The step fails \(strictness <code>strict<\/code>\): 127\.0\.0\.1 port \d+&#58; STARTTLS could not be entered/);
    // Said once, as the reason: not again as a warning box.
    expect(summary).not.toMatch(/\[!WARNING\]/);
    expect(renderSummary(normal)).toMatch(/> \[!WARNING\]\n> 127\.0\.0\.1 port \d+&#58; STARTTLS could not be entered/);

    // The CLI's exit status says the same: 0 under normal, 2 (fails, nothing relayed) under strict.
    const args = [`127.0.0.1:${port}`, '--connect-timeout', '5', '--timeout', '60'];
    const cNormal = await cli(args);
    const cStrict = await cli([...args, '--strictness', 'strict']);
    expect([cNormal.code, cStrict.code]).toEqual([0, 2]);
    expect(cStrict.stdout).toMatch(/INCONCLUSIVE \(strictness strict: fails\)/);
    expect(cStrict.stdout).toMatch(/fails: 127\.0\.0\.1 port \d+: STARTTLS could not be entered/);
  });

  test('STARTTLS offered but refused (454: the certificate cannot be loaded): the same, with the server\'s reply as the reason', async () => {
    const port = pf.ports['broken-cert-closed'];
    expect(await directStartTls(port, {})).toMatch(/^STARTTLS refused: 454 4\.7\.0 TLS not available due to local problem/);
    const r = await check(port, { strictness: 'strict' });
    expect(r.verdict).toBe('inconclusive');
    expect(byTransport(r, 'plain').verdict).toBe('closed');
    expect(r.failReasons).toEqual([`127.0.0.1 port ${port}: STARTTLS could not be entered (STARTTLS refused: 454 4.7.0 TLS not available due to local problem), so nothing was tested inside it`]);
  });
});
