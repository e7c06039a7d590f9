/**
 * `npm run bench`: relay-check against nmap's smtp-open-relay on the same
 * loopback Postfix services (stock closed, open with the default
 * in_flow_delay, and the strict error limits of issue 13), each with
 * `tls: none` and `tls: auto`, in one invocation, printed as ratios; and how
 * long relay-check takes to give up on broken servers (__tests__/faults.test.ts
 * checks the verdicts, this measures the time), printed in absolute time since
 * nothing else tests them. Not a test: nothing here asserts a time. Safety:
 * every target is 127.0.0.1; the Postfix instance delivers to discard:; the
 * fault servers accept no mail at all.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedResponder, startFaultServer, type FaultContext } from '../__tests__/support/fault-server.js';
import { postfixAvailable, startPostfix, type RunningPostfix } from '../__tests__/support/postfix.js';
import { LIMITS } from '../src/smtp/limits.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** BENCH_CLI: another build of the CLI to measure (an older commit's, for a before/after). */
const CLI = process.env.BENCH_CLI ?? path.join(ROOT, 'dist', 'cli', 'index.js');
const ACTION = path.join(ROOT, 'dist', 'index.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NMAP_RUNS = Number(process.env.BENCH_NMAP_RUNS ?? 3);

interface Timed {
  ms: number;
  stdout: string;
  code: number | null;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 300_000): Promise<Timed> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', () => undefined);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, stdout, code });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

interface CliReport {
  verdict: string;
  counts: { tests: number; relayed: number; denied: number; inconclusive: number; skipped: number };
  targets: { transport: string; connections: number; transactions?: number; errorBudget: number; pauses?: number; stopped?: { after: string; notRun: number } }[];
}

async function relayCheck(port: number, tls: string, extra: string[] = []): Promise<{ ms: number; report: CliReport }> {
  const r = await timed(process.execPath, [CLI, `127.0.0.1:${port}`, '--json', '--tls', tls, ...extra]);
  return { ms: r.ms, report: JSON.parse(r.stdout) as CliReport };
}

async function nmap(port: number, datadir: string): Promise<{ ms: number; line: string }> {
  const r = await timed('nmap', ['-Pn', '-n', '--datadir', datadir, '-p', String(port), '--script', 'smtp-open-relay', '127.0.0.1']);
  const line = r.stdout.split('\n').find((l) => l.includes('smtp-open-relay')) ?? '(no smtp-open-relay output)';
  return { ms: r.ms, line: line.replace(/^\|_?/, '').trim() };
}

/** nmap only runs the script on a port it calls smtp: a private nmap-services says so. */
function nmapDatadir(ports: number[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-nmap-'));
  const services = fs.readFileSync('/usr/share/nmap/nmap-services', 'utf8');
  fs.writeFileSync(path.join(dir, 'nmap-services'), services + ports.map((p) => `smtp\t${p}/tcp\t0.5\n`).join(''));
  return dir;
}

interface BenchServer {
  label: string;
  name: string;
  overrides: string[];
  /** Runs of relay-check per mode (servers that sleep get fewer). */
  runs: number;
  /**
   * Postfix's inflow tokens before each run (in_flow_delay): `refilled` as on a
   * server that delivers mail (its queue manager tops them up to
   * default_process_limit, 100, whenever it runs), `drained` as on an idle one
   * that every earlier run emptied (each transaction that accepts a recipient
   * takes one, and aborted ones never give it back): every new queue file
   * then waits out in_flow_delay.
   */
  tokens?: 'refilled' | 'drained';
}

/**
 * The issue 13 table, plus the stock closed and open Postfix. Each has a Postfix
 * of its own (so one service's queue files do not drain another's tokens), and
 * all keep Postfix's default in_flow_delay.
 */
const ALL_SERVERS: BenchServer[] = [
  { label: 'stock closed Postfix', name: 'closed', overrides: [], runs: RUNS },
  { label: 'open Postfix, in_flow_delay 1s (default), tokens refilled (a server that delivers mail)', name: 'open', overrides: ['mynetworks=0.0.0.0/0'], runs: RUNS, tokens: 'refilled' },
  { label: 'open Postfix, in_flow_delay 1s (default), tokens drained (by a burst of aborted transactions before each run)', name: 'open-drained', overrides: ['mynetworks=0.0.0.0/0'], runs: 3, tokens: 'drained' },
  { label: 'soft_error_limit=2 hard_error_limit=3', name: 'tight', overrides: ['smtpd_soft_error_limit=2', 'smtpd_hard_error_limit=3'], runs: Math.max(5, RUNS) },
  { label: 'soft_error_limit=1 error_sleep_time=4s', name: 'sleepy', overrides: ['smtpd_soft_error_limit=1', 'smtpd_error_sleep_time=4s'], runs: Math.max(5, RUNS) },
  { label: 'soft 3 hard 5 error_sleep_time=10s (mailcow-like)', name: 'stack', overrides: ['smtpd_soft_error_limit=3', 'smtpd_hard_error_limit=5', 'smtpd_error_sleep_time=10s'], runs: Math.max(5, RUNS) },
];

/** BENCH_ONLY=open-drained,sleepy measures only those services (and skips the rest of the bench). */
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const SERVERS = ONLY.length ? ALL_SERVERS.filter((s) => ONLY.includes(s.name)) : ALL_SERVERS;

// BENCH_NMAP=0 skips the peer (quick before/after runs; no ratios). Said apart from a
// missing nmap so a skipped peer is never reported as a package to install.
const NMAP_SKIPPED = process.env.BENCH_NMAP === '0';
const NMAP_ABSENCE = NMAP_SKIPPED ? 'nmap skipped (BENCH_NMAP=0)' : 'nmap not installed (apt-get install nmap)';

/** nmap's time on each service, measured once per service (its 16 tests do not depend on tls). */
const nmapTimes = new Map<string, { ms: number; line: string }>();

/** Wakes the instance's queue manager, which tops the inflow tokens up (postqueue -f: a flush request). */
function refill(pf: RunningPostfix): void {
  spawnSync('/usr/sbin/postqueue', ['-c', path.join(pf.dir, 'conf'), '-f'], { timeout: 30_000 });
}

/**
 * Takes the open service's inflow tokens: one session of aborted transactions, each with
 * an accepted recipient (a queue file, a token), until a RCPT reply waits on the inflow
 * pause. relay-check itself no longer drains them (it stops once the plain attempt relayed).
 * Bounded: Postfix holds default_process_limit (100) tokens; at most DRAIN_MAX transactions.
 */
function drain(port: number): Promise<number> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    let sent = 0;
    let asked = 0;
    let phase: 'greeting' | 'ehlo' | 'mail' | 'rcpt' | 'rset' = 'greeting';
    const done = (): void => {
      sock.destroy();
      resolve(sent);
    };
    const stop = setTimeout(done, 60_000);
    const say = (line: string): void => {
      asked = Date.now();
      sock.write(`${line}\r\n`);
    };
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (/^\d{3}-/.test(line)) continue;
        if (phase === 'greeting') {
          phase = 'ehlo';
          say('EHLO bench.relay-check.example.net');
        } else if (phase === 'ehlo' || phase === 'rset') {
          phase = 'mail';
          say('MAIL FROM:<bench@example.com>');
        } else if (phase === 'mail') {
          phase = 'rcpt';
          say('RCPT TO:<bench@example.org>');
        } else {
          sent++;
          if (Date.now() - asked > LIMITS.slowReplyMs || sent >= DRAIN_MAX || !line.startsWith('250')) {
            clearTimeout(stop);
            return done();
          }
          phase = 'rset';
          say('RSET');
        }
      }
    });
    sock.on('error', () => {
      clearTimeout(stop);
      done();
    });
  });
}

const DRAIN_MAX = 300;

async function compare(s: BenchServer, pf: RunningPostfix, tls: string, datadir: string, haveNmap: boolean): Promise<void> {
  const port = pf.ports[s.name];
  const ours: number[] = [];
  let report: CliReport | undefined;
  for (let i = 0; i < s.runs; i++) {
    if (s.tokens === 'refilled') refill(pf);
    if (s.tokens === 'drained') await drain(port);
    const r = await relayCheck(port, tls, ['--strictness', 'strict']);
    ours.push(r.ms);
    report = r.report;
  }
  const c = report?.counts;
  const per = (report?.targets ?? [])
    .map((t) => `${t.transport}: ${t.connections} conn, ${t.transactions ?? '?'} txn, budget ${t.errorBudget}${t.pauses ? `, ${t.pauses} inflow pause(s)` : ''}${t.stopped ? `, stopped after ${t.stopped.after} (${t.stopped.notRun} not run)` : ''}`)
    .join('; ');
  // The spread, not only the median: a scheduling fault that sleeps in some runs only (issue 25) hides in a median.
  const oursText = `relay-check ${fmt(median(ours))} (median of ${s.runs}, spread ${fmt(Math.min(...ours))}–${fmt(Math.max(...ours))}; ${c?.tests} attempts, ${c?.relayed} relayed, ${c?.denied} denied, ${c?.inconclusive} inconclusive; ${report?.verdict} under strict; ${per})`;
  const label = `${s.label} [tls ${tls}]`;
  if (!haveNmap) {
    console.log(`${label}: ${oursText} | ${NMAP_ABSENCE}: no ratio`);
    return;
  }
  let theirs = nmapTimes.get(s.name);
  if (!theirs) {
    const runs: { ms: number; line: string }[] = [];
    for (let i = 0; i < (s.runs === RUNS ? NMAP_RUNS : 1); i++) {
      if (s.tokens === 'refilled') refill(pf);
      if (s.tokens === 'drained') await drain(port);
      runs.push(await nmap(port, datadir));
    }
    theirs = { ms: median(runs.map((r) => r.ms)), line: runs[runs.length - 1].line };
    nmapTimes.set(s.name, theirs);
  }
  const ratio = median(ours) / theirs.ms;
  console.log(`${label}: ${oursText} | nmap ${fmt(theirs.ms)} (16 tests: ${theirs.line}) | relay-check/nmap = ${ratio.toFixed(3)} (1/${(1 / ratio).toFixed(0)})`);
}

/** A throwaway self-signed pair so every service offers STARTTLS and `tls: auto` has its second pass. */
function certificate(dir: string): { cert: string; key: string } | undefined {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=mx.relay-check.test', '-keyout', key, '-out', cert, '-days', '2'], { encoding: 'utf8', timeout: 30_000 });
  if (made.status !== 0) return undefined;
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(key, 0o644);
  return { cert, key };
}

async function coldStart(): Promise<void> {
  const times: number[] = [];
  // No host: the action validates its inputs and stops before any connection.
  for (let i = 0; i < RUNS; i++) times.push((await timed(process.execPath, [ACTION], { PATH: process.env.PATH })).ms);
  const help: number[] = [];
  for (let i = 0; i < RUNS; i++) help.push((await timed(process.execPath, [CLI, '--help'])).ms);
  console.log(`cold start: node dist/index.js (no input) ${fmt(median(times))}, node dist/cli/index.js --help ${fmt(median(help))} (median of ${RUNS})`);
}

interface FaultCase {
  label: string;
  /** What bounds the run: the setting the time should be close to. */
  bound: string;
  flags: string[];
  behave: (ctx: FaultContext) => void;
}

/** The scenarios of faults.test.ts whose duration is the point: each should end near its bound, not hang. */
const FAULT_CASES: FaultCase[] = [
  {
    label: 'silent after connect',
    bound: 'connect-timeout 1 s',
    flags: ['--connect-timeout', '1', '--timeout', '20'],
    behave: () => undefined,
  },
  {
    label: 'tarpit, 1 byte/s',
    bound: 'connect-timeout 1 s',
    flags: ['--connect-timeout', '1', '--timeout', '20'],
    behave: (ctx) => {
      const text = '220 mx.tarpit.test ESMTP slowly\r\n';
      let i = 0;
      const drip = (): void => {
        ctx.socket.write(text[i++]);
        if (i < text.length) ctx.later(1000, drip);
      };
      drip();
    },
  },
  {
    label: 'every reply 300 ms late',
    bound: 'timeout 3 s',
    flags: ['--connect-timeout', '5', '--timeout', '3'],
    behave: (ctx) => {
      ctx.socket.write('220 mx.slow.test ESMTP\r\n');
      const respond = closedResponder(ctx, { name: 'mx.slow.test', pipelining: false });
      ctx.onLine((line) => ctx.later(300, () => respond(line)));
    },
  },
];

/** relay-check (the CLI, so node's start is included: see the cold start line) against each fault server. No peer: absolute times. */
async function faults(): Promise<void> {
  const parts: string[] = [];
  for (const c of FAULT_CASES) {
    const server = await startFaultServer(c.behave);
    try {
      const times: number[] = [];
      let verdict = '?';
      for (let i = 0; i < RUNS; i++) {
        // Killed after 60 s: a run that hangs shows up as a time of 60 s and verdict "?".
        const r = await timed(process.execPath, [CLI, `127.0.0.1:${server.port}`, '--json', '--tls', 'none', ...c.flags], process.env, 60_000);
        times.push(r.ms);
        try {
          verdict = (JSON.parse(r.stdout) as CliReport).verdict;
        } catch {
          verdict = `? (exit ${r.code})`;
        }
      }
      parts.push(`${c.label} (${c.bound}) ${fmt(median(times))}, max ${fmt(Math.max(...times))}, verdict ${verdict}`);
    } finally {
      await server.close();
    }
  }
  console.log(`fault servers (no peer, absolute wall time, median of ${RUNS}): ${parts.join('; ')}`);
}

async function fleet(count: number): Promise<void> {
  // The listeners live in their own process so the measured process holds only relay-check.
  const hostScript = path.join(ROOT, 'lib', 'bench', 'fleet-servers.js');
  const servers = spawn(process.execPath, [hostScript, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((resolve, reject) => {
    let buf = '';
    servers.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as number[]);
    });
    servers.on('exit', () => reject(new Error('fleet servers exited early')));
  });
  try {
    const hosts = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const rssFile = path.join(os.tmpdir(), `relay-check-fleet-rss-${process.pid}`);
    const r = await timed('/usr/bin/time', ['-o', rssFile, '-f', '%M', process.execPath, CLI, hosts, '--json', '--tls', 'none', '--timeout', '60']);
    const kb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    fs.rmSync(rssFile, { force: true });
    const report = JSON.parse(r.stdout) as CliReport;
    console.log(`fleet: ${count} closed listeners, ${report.counts.tests} attempts, verdict ${report.verdict}, wall ${fmt(r.ms)}, peak RSS ${(kb / 1024).toFixed(0)} MB`);
  } finally {
    servers.kill();
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli/index.js is missing: run npm run package');
  const pf = postfixAvailable();
  if (!pf.ok) {
    console.log(`bench: Postfix is not available (${pf.why}); install the Debian package postfix and run as root`);
    process.exitCode = 1;
    return;
  }
  const haveNmap = !NMAP_SKIPPED && spawnSync('nmap', ['--version']).status === 0;
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-bench-tls-'));
  const tls = certificate(certDir);
  const instances: RunningPostfix[] = [];
  // Without nmap there is no nmap-services to copy (and no ratio to print).
  let datadir = '';
  try {
    // A Postfix per service: inflow tokens are per instance, and the open service's
    // queue files would otherwise drain them for the closed ones (whose
    // external-after-postmaster vectors open a queue file for the local recipient).
    for (const s of SERVERS) {
      instances.push(
        await startPostfix([{ name: s.name, overrides: s.overrides }], {
          // Postfix's default, which the test harness turns off: the inflow pause is part of what is measured.
          in_flow_delay: '1s',
          // postmaster@ the mail domain is local, as on a real mail server.
          mydestination: '$myhostname, localhost.$mydomain, localhost, $mydomain',
          ...(tls ? { smtpd_tls_cert_file: tls.cert, smtpd_tls_key_file: tls.key, smtpd_tls_security_level: 'may' } : {}),
        }),
      );
    }
    if (haveNmap) datadir = nmapDatadir(instances.map((pf, i) => pf.ports[SERVERS[i].name]));
    console.log(
      `relay-check bench on ${os.cpus().length} cores, node ${process.version}${haveNmap ? '' : ` (${NMAP_ABSENCE}: no ratios)`}${tls ? '' : ' (openssl missing: no STARTTLS, tls auto = plaintext only)'}`,
    );
    for (const [i, s] of SERVERS.entries()) {
      for (const mode of ['none', 'auto']) await compare(s, instances[i], mode, datadir, haveNmap);
    }
    if (ONLY.length === 0) {
      await coldStart();
      await faults();
      await fleet(200);
    }
  } finally {
    for (const pf of instances) await pf.stop();
    fs.rmSync(certDir, { recursive: true, force: true });
    if (datadir) fs.rmSync(datadir, { recursive: true, force: true });
  }
}

await main();
