import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VECTORS } from '../src/battery/vectors.js';
import { EXIT, runCli, type CliIo } from '../src/cli.js';
import { attemptLogLines } from '../src/main.js';
import type { Report } from '../src/model/report.js';
import { renderSummary } from '../src/report/summary.js';
import { describePostfix } from './support/describe-mta.js';
import { direct, OUTSIDER } from './support/direct-smtp.js';
import { startPostfix, type RunningPostfix } from './support/postfix.js';

/**
 * Issue 22, "the first hour": what a new user saw from the CLI against a real
 * Postfix. XCLIENT refused must read as one true sentence; an open server must
 * count vectors (not attempts × transports) and list what it did not run once.
 */

let pf: RunningPostfix;
let certDir: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string; report: Report }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTty: false };
  const file = path.join(certDir, `report-${Math.random().toString(16).slice(2)}.json`);
  const code = await runCli([...args, '--report-path', file], io);
  return { code, stdout: out.join(''), stderr: err.join(''), report: JSON.parse(fs.readFileSync(file, 'utf8')) as Report };
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describePostfix('the CLI against Postfix, as a new user meets it', () => {
  beforeAll(async () => {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-first-hour-'));
    fs.chmodSync(certDir, 0o755);
    const key = path.join(certDir, 'key.pem');
    const cert = path.join(certDir, 'cert.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=mx.relay-check.test', '-keyout', key, '-out', cert, '-days', '2'], { encoding: 'utf8', timeout: 30_000 });
    if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr || made.error?.message}`);
    fs.chmodSync(key, 0o644);
    pf = await startPostfix(
      [
        // No smtpd_authorized_xclient_hosts: Postfix's default (empty) authorizes nobody.
        { name: 'noxclient', overrides: [] },
        { name: 'open', overrides: ['mynetworks=0.0.0.0/0'] },
      ],
      { smtpd_tls_cert_file: cert, smtpd_tls_key_file: key, smtpd_tls_security_level: 'may' },
    );
  }, 60_000);
  afterAll(async () => {
    await pf?.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  test('XCLIENT not authorized: one true sentence why, the fix once, in the flags the CLI takes', async () => {
    // Shown first by a direct session: this Postfix does not offer XCLIENT to the runner at all.
    await expect(direct(pf.ports.noxclient, { mode: 'plain', client: OUTSIDER })).rejects.toThrow(/XCLIENT not offered/);

    const r = await cli([`127.0.0.1:${pf.ports.noxclient}`, '--client-address', OUTSIDER, '--tls', 'none']);
    expect(r.code).toBe(EXIT.failed);
    expect(r.report.targets[0].errorKind).toBe('xclient');
    const why = r.report.targets[0].error ?? '';
    expect(why).toBe(`XCLIENT as ${OUTSIDER}: the server does not offer XCLIENT to this client`);
    const text = r.stdout.replace(/\n\s*/g, ' ');
    expect(count(text, why)).toBe(1);
    expect(count(text, 'smtpd_authorized_xclient_hosts')).toBe(1);
    // It was reached (greeting and EHLO): nothing may say otherwise, and it is IPv4.
    expect(text).not.toMatch(/could be reached|could not be reached/);
    expect(text).not.toMatch(/IPv6/);
    // The CLI's words: the flag, never the action's input syntax.
    expect(text).toContain('--client-address');
    expect(text).not.toMatch(/client-address:|`/);
    expect(r.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${pf.ports.noxclient} +— +plaintext \\(not tested\\) +0 +0 +0 +0 +not tested$`, 'm'));
  }, 60_000);

  test('the action summary of the same run names the input, not the flag, and says it once too', async () => {
    const r = await cli([`127.0.0.1:${pf.ports.noxclient}`, '--client-address', OUTSIDER, '--tls', 'none']);
    const md = renderSummary(r.report);
    fs.writeFileSync('/tmp/cs/noxc.md', md);
    expect(count(md, 'does not offer XCLIENT')).toBe(1);
    expect(md).toContain('`client-address`');
    expect(md).not.toContain('--client-address');
    expect(md).not.toMatch(/could be reached|IPv6/);
  }, 60_000);

  test('an open Postfix with STARTTLS: vectors counted once, what was not run is one line', async () => {
    const r = await cli([`127.0.0.1:${pf.ports.open}`, '-v']);
    fs.writeFileSync('/tmp/cs/openv.txt', r.stdout);
    fs.writeFileSync('/tmp/cs/open.md', renderSummary(r.report));
    expect(r.code).toBe(EXIT.relayed);
    expect(r.report.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
    const m = /(\d+) further vectors were not run/.exec(r.stdout.replace(/\n/g, ' '));
    expect(m).not.toBeNull();
    const notRun = Number(m?.[1]);
    // Per transport the report skipped nearly the whole battery twice; the text counts each vector once.
    expect(r.report.counts.skipped).toBeGreaterThan(VECTORS.length);
    expect(notRun).toBeLessThan(VECTORS.length);
    const ranSomewhere = new Set(r.report.targets.flatMap((t) => t.attempts.filter((a) => a.outcome !== 'skipped').map((a) => a.vector)));
    const stopSkipped = new Set(r.report.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'skipped' && a.reason.startsWith('not run: the plain attempt')).map((a) => a.vector)));
    expect(notRun).toBe([...stopSkipped].filter((v) => !ranSomewhere.has(v)).length);
    // -v: one entry per reason a vector was not run, not one per vector.
    const skippedLines = r.stdout.split('\n').filter((l) => /^ {2}skipped /.test(l));
    expect(skippedLines.length).toBeGreaterThan(0);
    expect(skippedLines.length).toBeLessThanOrEqual(3);
    expect(r.stdout.split('\n').length).toBeLessThan(80);

    // The job summary: the same count, and the all-attempts table folds the vectors not run.
    const md = renderSummary(r.report);
    expect(md).toContain(`${notRun} further vectors were not run`);
    const rows = md.split('\n').filter((l) => /\| skipped \|/.test(l));
    expect(rows.length).toBeLessThanOrEqual(3);
    expect(rows.some((l) => /^\| \d+ vectors: /.test(l))).toBe(true);

    // The action's log: one line per reason in each transport's group.
    for (const t of r.report.targets) {
      const lines = attemptLogLines(t);
      expect(lines.filter((l) => l.startsWith('SKIPPED')).length).toBeLessThanOrEqual(2);
      expect(lines.length).toBeLessThan(20);
      const total = lines.filter((l) => l.startsWith('SKIPPED')).reduce((n, l) => n + (/^SKIPPED (\d+) vectors/.exec(l) ? Number(/^SKIPPED (\d+)/.exec(l)?.[1]) : 1), 0);
      expect(total).toBe(t.counts.skipped);
    }
  }, 120_000);

  test('settings errors name flags in the CLI and inputs in the action', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTty: false };
    expect(await runCli(['127.0.0.1', '--postfix-config', certDir], io)).toBe(EXIT.usage);
    expect(err.join('')).toBe('relay-check: --postfix-config: tests a configuration on a private Postfix: leave HOST empty\n');
    err.length = 0;
    expect(await runCli(['127.0.0.1', '--postfix-overrides', 'o.cf'], io)).toBe(EXIT.usage);
    expect(err.join('')).toBe('relay-check: --postfix-overrides: applies to a --postfix-config directory: set that too\n');
    err.length = 0;
    expect(await runCli(['mx.corp.test', '--domain', 'corp.test', '--recipient', 'me@corp.test'], io)).toBe(EXIT.usage);
    expect(err.join('')).toBe('relay-check: --recipient: "me@corp.test" is in corp.test, the mail domain the server serves (--domain): accepting it is local delivery, not a relay; name a mailbox outside the server\'s domains\n');
  });
});
