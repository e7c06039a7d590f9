/**
 * `npm run bench`: relay-check against nmap's smtp-open-relay on the same
 * loopback Postfix services, in one invocation, printed as ratios; and how
 * long relay-check takes to give up on broken servers (__tests__/faults.test.ts
 * checks the verdicts, this measures the time), printed in absolute time since
 * nothing else tests them. Not a test: nothing here asserts a time. Safety:
 * every target is 127.0.0.1; the Postfix instance delivers to discard:; the
 * fault servers accept no mail at all.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedResponder, startFaultServer, type FaultContext } from '../__tests__/support/fault-server.js';
import { postfixAvailable, startPostfix } from '../__tests__/support/postfix.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'index.js');
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
}

async function relayCheck(port: number, extra: string[] = []): Promise<{ ms: number; report: CliReport }> {
  const r = await timed(process.execPath, [CLI, `127.0.0.1:${port}`, '--json', '--tls', 'none', ...extra]);
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

async function compare(label: string, port: number, datadir: string, haveNmap: boolean): Promise<void> {
  const ours: number[] = [];
  let report: CliReport | undefined;
  for (let i = 0; i < RUNS; i++) {
    const r = await relayCheck(port);
    ours.push(r.ms);
    report = r.report;
  }
  const c = report?.counts;
  const oursLine = `relay-check ${fmt(median(ours))} median of ${RUNS} (${c?.tests} attempts: ${c?.relayed} relayed, ${c?.denied} denied, ${c?.inconclusive} inconclusive; verdict ${report?.verdict})`;
  if (!haveNmap) {
    console.log(`${label}: ${oursLine}; nmap not installed, no ratio`);
    return;
  }
  const theirs: number[] = [];
  let line = '';
  for (let i = 0; i < NMAP_RUNS; i++) {
    const r = await nmap(port, datadir);
    theirs.push(r.ms);
    line = r.line;
  }
  const ratio = median(ours) / median(theirs);
  console.log(`${label}: ${oursLine} | nmap ${fmt(median(theirs))} median of ${NMAP_RUNS} (16 tests: ${line}) | ratio relay-check/nmap = ${ratio.toFixed(3)} (1/${(1 / ratio).toFixed(0)})`);
}

async function limitTuned(label: string, port: number): Promise<void> {
  const r = await relayCheck(port, ['--strictness', 'strict', '--timeout', '120']);
  const c = r.report.counts;
  console.log(`${label}: relay-check ${fmt(r.ms)}, ${c.tests} attempts, ${c.tests - c.inconclusive} decided, ${c.inconclusive} inconclusive, verdict ${r.report.verdict} under strict`);
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
  const haveNmap = spawnSync('nmap', ['--version']).status === 0;
  const postfix = await startPostfix(
    [
      { name: 'closed', overrides: [] },
      { name: 'open', overrides: ['mynetworks=0.0.0.0/0'] },
      { name: 'tight', overrides: ['smtpd_soft_error_limit=2', 'smtpd_hard_error_limit=3'] },
      { name: 'sleepy', overrides: ['smtpd_soft_error_limit=1', 'smtpd_error_sleep_time=4s'] },
    ],
    { in_flow_delay: '0' },
  );
  // Without nmap there is no nmap-services to copy (and no ratio to print).
  let datadir = '';
  try {
    if (haveNmap) datadir = nmapDatadir(Object.values(postfix.ports));
    console.log(`relay-check bench on ${os.cpus().length} cores, node ${process.version}${haveNmap ? '' : ' (nmap missing: apt-get install nmap)'}`);
    await compare('stock closed Postfix', postfix.ports.closed, datadir, haveNmap);
    await compare('open Postfix', postfix.ports.open, datadir, haveNmap);
    await limitTuned('Postfix soft_error_limit=2 hard_error_limit=3', postfix.ports.tight);
    await limitTuned('Postfix error_sleep_time=4s soft_error_limit=1', postfix.ports.sleepy);
    await coldStart();
    await faults();
    await fleet(200);
  } finally {
    await postfix.stop();
    if (datadir) fs.rmSync(datadir, { recursive: true, force: true });
  }
}

await main();
