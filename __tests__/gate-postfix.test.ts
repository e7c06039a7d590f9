import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGate } from '../src/gate/gate.js';
import { GateError, postfixPlan, startGate, type GateInstance } from '../src/gate/instance.js';
import type { Report } from '../src/model/report.js';
import { parseSettings, type Strictness } from '../src/settings.js';
import { ROOT, runAction } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { expectedVerdict, OUTSIDER, type Verdict } from './support/direct-smtp.js';
import { expectValid } from './support/schema.js';

/**
 * Gate mode (`postfix-config`) against real Postfix: configuration directories as
 * teams keep them (__tests__/fixtures/gate/, see its README) and the six published
 * stacks of __tests__/fixtures/realworld-postfix/. For every service the expected
 * verdict is first established by a direct SMTP session on the running instance
 * (as the outside client, through XCLIENT), then relay-check's must equal it.
 */

const FIXTURES = path.join(ROOT, '__tests__', 'fixtures', 'gate');
const REALWORLD = path.join(ROOT, '__tests__', 'fixtures', 'realworld-postfix');
const fixture = (name: string): string => path.join(FIXTURES, name);

interface Run {
  report: Report;
  /** Direct-session verdict per service name. */
  expected: Map<string, Verdict>;
}

/** Instance directories this file made: each must be gone at the end (other runs on the machine may have their own). */
const made = new Set<string>();

async function gate(dir: string, o: { strictness?: Strictness; overrides?: string; from?: string } = {}): Promise<Run> {
  const expected = new Map<string, Verdict>();
  const settings = parseSettings({ 'postfix-config': dir, strictness: o.strictness ?? 'normal', timeout: '120', 'connect-timeout': '15', ...(o.overrides ? { 'postfix-overrides': o.overrides } : {}) });
  const report = await runGate(settings, {}, undefined, {
    onDir: (d) => made.add(d),
    beforeRun: async (inst: GateInstance) => {
      for (const s of inst.services) {
        const all = await expectedVerdict(s.port, s, { client: OUTSIDER, from: o.from });
        expected.set(`${s.name} (${s.original})`, all[0].verdict);
      }
    },
  });
  return { report, expected };
}

/**
 * The gate runs start together (three at a time: two cores, and most of a run is
 * waiting on Postfix) when the file starts; each test awaits its own.
 */
const CASES = {
  'stock-closed': () => gate(fixture('stock-closed'), { strictness: 'strict' }),
  open: () => gate(fixture('open')),
  'sender-domain-hash': () => gate(fixture('sender-domain-hash')),
  'submission-open': () => gate(fixture('submission-open')),
  postscreen: () => gate(fixture('postscreen'), { strictness: 'strict' }),
  'milter-policy': () => gate(fixture('milter-policy'), { strictness: 'strict' }),
  'mysql-map': () => gate(fixture('mysql-map'), { overrides: path.join(fixture('mysql-map'), 'overrides.cf'), strictness: 'strict' }),
  ...Object.fromEntries(['debian', 'dms', 'mailcow', 'miab', 'iredmail', 'modoboa'].map((n) => [`realworld-${n}`, () => gate(path.join(REALWORLD, n), { strictness: 'strict' })])),
} satisfies Record<string, () => Promise<Run>>;
type CaseName = keyof typeof CASES;
const started = new Map<string, Promise<Run>>();
let active = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  while (active >= 3) await new Promise<void>((r) => waiting.push(r));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}
function result(name: CaseName | string): Promise<Run> {
  let p = started.get(name);
  if (!p) {
    p = limited((CASES as Record<string, () => Promise<Run>>)[name]);
    // Awaited by its test; a rejection must not surface before that.
    p.catch(() => undefined);
    started.set(name, p);
  }
  return p;
}

/** relay-check's verdict per service, transports merged (any open transport makes the service open). */
function verdicts(r: Report): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of r.targets) {
    const k = t.service ?? `${t.port}`;
    const prev = out.get(k);
    if (prev === 'open' || (prev === 'inconclusive' && t.verdict !== 'open')) continue;
    out.set(k, t.verdict);
  }
  return out;
}

function explain(r: Report): string {
  return r.targets
    .flatMap((t) => t.attempts.filter((a) => a.outcome === 'inconclusive' || a.outcome === 'relayed').map((a) => `${t.service} ${t.transport} ${a.vector}: ${a.outcome} ${a.reply ?? ''} — ${a.reason}`))
    .slice(0, 40)
    .join('\n');
}

/** Every service decided as its direct session decided it, and a closed one without an inconclusive attempt. */
function expectAgrees(run: Run): void {
  const got = verdicts(run.report);
  expect({ services: [...got.keys()].sort(), explain: '' }).toEqual({ services: [...run.expected.keys()].sort(), explain: '' });
  for (const [svc, want] of run.expected) {
    expect({ svc, verdict: got.get(svc), explain: got.get(svc) === want ? '' : explain(run.report) }).toEqual({ svc, verdict: want, explain: '' });
  }
}

/** Whether the process ends within five seconds. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** No instance this file made is left: no directory and no process that names one. */
function expectNothingLeft(): void {
  expect(made.size).toBeGreaterThan(0);
  const dirs = [...made].filter((d) => fs.existsSync(d));
  const procs = spawnSync('pgrep', ['-af', 'relay-check-gate-'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => [...made].some((d) => l.includes(d)));
  expect({ dirs, procs }).toEqual({ dirs: [], procs: [] });
}

describe('postfixPlan: find Postfix or say what to install', () => {
  test('present, installable on Debian/Ubuntu with apt-get, else one line naming the input', () => {
    expect(postfixPlan({ postfix: true, debian: false, aptGet: false })).toBe('present');
    expect(postfixPlan({ postfix: false, debian: true, aptGet: true })).toBe('install');
    const e = postfixPlan({ postfix: false, debian: false, aptGet: true }, '/usr/sbin/postfix');
    expect(e).toBeInstanceOf(GateError);
    expect((e as GateError).message).toBe(`Input 'postfix-config': /usr/sbin/postfix not found: install Postfix (on Debian or Ubuntu, the package "postfix")`);
  });
});

describePostfix('postfix-config: configurations a team keeps in its repository', () => {
  beforeAll(() => {
    for (const name of Object.keys(CASES)) void result(name);
  });
  afterAll(async () => {
    await Promise.allSettled(started.values());
    expectNothingLeft();
  });

  test('stock Debian-shaped main.cf without master.cf: closed under strict; the missing aliases and the production paths are stood in and reported', async () => {
    const run = await result('stock-closed');
    expect(run.report.gate?.services.map((s) => `${s.name} (${s.original})`)).toEqual(['smtp (25)']);
    expectAgrees(run);
    expect(run.expected.get('smtp (25)')).toBe('closed');
    expect(run.report.verdict).toBe('closed');
    expect(run.report.failed).toBe(false);
    const changes = run.report.gate?.changes.map((c) => `${c.file}:${c.line} ${c.change}`) ?? [];
    expect(changes).toEqual(expect.arrayContaining([expect.stringMatching(/^main\.cf:13 \/etc\/aliases is not in the configuration directory/), expect.stringMatching(/^main\.cf:7 \/etc\/ssl\/certs\/ssl-cert-snakeoil\.pem → a throwaway self-signed certificate/)]));
    expect(run.report.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
  }, 300_000);

  test('mynetworks = 0.0.0.0/0: open on smtp and submission, and the report names both services', async () => {
    const run = await result('open');
    expectAgrees(run);
    expect([...run.expected.values()]).toEqual(['open', 'open']);
    expect(run.report.verdict).toBe('open');
    expect(run.report.failed).toBe(true);
    expect(run.report.gate?.changes.map((c) => c.change)).toEqual(expect.arrayContaining([expect.stringMatching(/maildrop \(pipe\) deliver to discard\(8\)/)]));
    // The gate fields are in the schema (additive: schemaVersion stays 1).
    expectValid(run.report);
  }, 300_000);

  test('a hash: sender map (postmap done by the gate) that trusts the own domain: open, through the own-domain senders only', async () => {
    const run = await result('sender-domain-hash');
    expectAgrees(run);
    expect(run.expected.get('smtp (25)')).toBe('open');
    const relayed = run.report.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed'));
    expect(relayed.length).toBeGreaterThan(0);
    // Every one used a sender in the own domain, or a bare user that Postfix completes with it (myorigin).
    for (const a of relayed) expect(a.mailFrom).toMatch(/^<[^@>]+(@(mail\.)?example\.org)?>$/);
    // A lookup failure (no .db built) would make every attempt inconclusive instead.
    expect(run.report.counts.inconclusive).toBe(0);
  }, 300_000);

  test('port 25 closed, submission open without AUTH: the gate fails on submission and names it', async () => {
    const run = await result('submission-open');
    expectAgrees(run);
    expect(Object.fromEntries(run.expected)).toEqual({ 'smtp (25)': 'closed', 'submission (587)': 'open' });
    const sub = run.report.targets.filter((t) => t.service === 'submission (587)');
    expect(sub.map((t) => t.verdict)).toEqual(['open', 'open']);
    expect(run.report.failed).toBe(true);
  }, 300_000);

  test('postscreen in front of smtpd, certificate under /etc/letsencrypt: closed, TLS still tested, DNSBL reported not tested', async () => {
    const run = await result('postscreen');
    expectAgrees(run);
    expect(run.report.gate?.services.map((s) => s.command)).toEqual(['postscreen']);
    expect(run.report.verdict).toBe('closed');
    expect(run.report.targets.find((t) => t.transport === 'starttls')?.counts.tests).toBeGreaterThan(40);
    expect(run.report.gate?.changes.filter((c) => !c.tested).map((c) => c.subject)).toEqual(['postscreen_dnsbl_sites']);
  }, 300_000);

  test('a milter and two policy services: reported as not tested, with their lines; the run still decides closed', async () => {
    const run = await result('milter-policy');
    expectAgrees(run);
    expect(run.report.verdict).toBe('closed');
    const untested = run.report.gate?.changes.filter((c) => !c.tested).map((c) => `${c.file}:${c.line} ${c.change}`);
    expect(untested).toEqual(
      expect.arrayContaining([
        'main.cf:10 check_policy_service inet:127.0.0.1:10023 not tested here (a policy service cannot be reached from a runner)',
        'main.cf:10 check_policy_service { unix:private/policyd-spf, timeout=10s } not tested here (a policy service cannot be reached from a runner)',
        'main.cf:15 milters inet:localhost:8891 not tested here (they cannot be reached from a runner)',
      ]),
    );
  }, 300_000);

  test('a mysql: map stops the gate before it starts, naming the parameter and line; postfix-overrides stands in and it passes', async () => {
    await expect(startGate({ configDir: fixture('mysql-map') })).rejects.toThrow(
      /^Input 'postfix-config': main\.cf:9: virtual_mailbox_maps uses mysql:\/etc\/postfix\/mysql-virtual-mailbox-maps\.cf, which needs a server or database/,
    );
    const run = await result('mysql-map');
    expectAgrees(run);
    expect(run.report.verdict).toBe('closed');
    expect(run.report.gate?.changes).toEqual(expect.arrayContaining([expect.objectContaining({ file: 'overrides.cf', line: 1, subject: 'virtual_mailbox_maps' })]));
    expectValid(run.report);
  }, 300_000);

  test('a configuration postfix check refuses is a failed gate, in Postfix words, with the file and line', async () => {
    let err: unknown;
    try {
      await startGate({ configDir: fixture('broken') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GateError);
    const g = err as GateError;
    expect(g.message).toMatch(/^Input 'postfix-config': postfix check refuses the configuration \(master\.cf line 3\): .*invalid type field "inetx"/);
    expect(g.message).not.toMatch(/\n/);
    expect(g.problems).toEqual([expect.objectContaining({ file: 'master.cf', line: 3 })]);
  }, 60_000);

  test('a directory without main.cf, and one that does not exist: one line naming the input, nothing started', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-empty-'));
    await expect(startGate({ configDir: empty })).rejects.toThrow(`Input 'postfix-config': ${empty} has no main.cf`);
    await expect(startGate({ configDir: path.join(empty, 'nope') })).rejects.toThrow(`Input 'postfix-config': ${path.join(empty, 'nope')} does not exist`);
    fs.rmSync(empty, { recursive: true });
  });

  test('the CLI: a configuration the gate refuses fails as the step would (exit 2), in one line, naming the flag', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'lib', 'src', 'bin.js'), '--postfix-config', fixture('mysql-map')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('relay-check:'));
    expect(lines).toEqual([expect.stringMatching(/^relay-check: --postfix-config: main\.cf:9: virtual_mailbox_maps uses mysql:/)]);
  }, 90_000);

  test('SIGTERM in the middle of a run: the instance is stopped and removed, no master left', async () => {
    // The instances beforeAll started in this process build and start with synchronous spawns
    // (postmap, postfix check, postfix start) that stall this process's timers for seconds: the
    // poll below then missed the child's whole run. Let them finish first.
    await Promise.allSettled(started.values());
    const child = spawn(process.execPath, [path.join(ROOT, 'lib', 'src', 'bin.js'), '--postfix-config', fixture('postscreen'), '--timeout', '60'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Wait for its instance's master to be up (the lock file), then end the run. The directory is
    // read from a whole line: stderr may arrive in pieces, and half a path never gets a lock.
    let dir: string | undefined;
    let exited = false;
    child.on('exit', (code, signal) => {
      exited = true;
      stderr += `[exited before SIGTERM: code ${code}, signal ${signal}]`;
    });
    const until = Date.now() + 90_000;
    while (Date.now() < until && !exited) {
      await new Promise((r) => setTimeout(r, 100));
      dir = /private Postfix instance in (\S+)\n/.exec(stderr)?.[1];
      if (dir && fs.existsSync(path.join(dir, 'data', 'master.lock'))) break;
    }
    expect(dir).toBeDefined();
    made.add(dir as string);
    // Its stderr is shown only when the master never came up (it says why).
    const masterUp = fs.existsSync(path.join(dir as string, 'data', 'master.lock'));
    expect({ masterUp, stderr: masterUp ? '' : stderr }).toEqual({ masterUp: true, stderr: '' });
    const pid = Number(fs.readFileSync(path.join(dir as string, 'data', 'master.lock'), 'utf8').trim());
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c, sig) => r(c ?? (sig ? 128 : null))));
    expect(code).toBe(143);
    expect(fs.existsSync(dir as string)).toBe(false);
    expect(await gone(pid)).toBe(true);
  }, 150_000);

  test('the action as GitHub runs it (dist/index.js): the gate fails on the open configuration, annotates the changes, leaves nothing running', async () => {
    const r = await runAction({ 'postfix-config': fixture('submission-open'), strictness: 'normal' }, 300_000);
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('open');
    const report = JSON.parse(fs.readFileSync(r.reportPath, 'utf8')) as Report;
    expect(report.gate?.services.map((s) => s.name)).toEqual(['smtp', 'submission']);
    // What the gate changed to run here is one notice on no file: annotations on the pull request's files are for findings.
    const notices = r.stdout.split('\n').filter((l) => l.startsWith('::notice '));
    expect(notices.filter((l) => l.includes('Changed to run on a runner'))).toHaveLength(1);
    expect(notices.find((l) => l.includes('Changed to run on a runner'))).toMatch(/^::notice title=Changed to run on a runner \(\d+\)::.*master\.cf:2 submission: submission \(587\) → 127\.0\.0\.1:\d+/);
    expect(notices.some((l) => /Changed to run on a runner.*,file=/.test(l))).toBe(false);
    // The verdict is the first annotation.
    expect(r.stdout.split('\n').find((l) => /^::(error|warning|notice)/.test(l))).toMatch(/^::error title=relay-check%3A open relay::/);
    // Its own instance (named to the post step through the state) is gone, master and all.
    const dir = r.state['gate-dir'];
    expect(r.state.isPost).toBe('true');
    expect(dir).toMatch(/relay-check-gate-/);
    expect(fs.existsSync(dir as string)).toBe(false);
    expect(spawnSync('pgrep', ['-af', dir as string], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.trim() && !/pgrep/.test(l))).toEqual([]);
    fs.rmSync(r.dir, { recursive: true, force: true });
  }, 150_000);

  test("the action's post step stops and removes an instance a killed main step left behind", async () => {
    const inst = await startGate({ configDir: fixture('stock-closed') });
    const pid = Number(fs.readFileSync(path.join(inst.dir, 'data', 'master.lock'), 'utf8').trim());
    const post = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'index.js')], { env: { PATH: process.env.PATH, STATE_isPost: 'true', 'STATE_gate-dir': inst.dir }, encoding: 'utf8', timeout: 30_000 });
    expect(post.status).toBe(0);
    expect(fs.existsSync(inst.dir)).toBe(false);
    expect(await gone(pid)).toBe(true);
    await inst.stop();
  }, 60_000);
});

describePostfix('postfix-config: the six published stacks, every service found and decided', () => {
  beforeAll(() => {
    for (const name of Object.keys(CASES)) void result(name);
  });
  afterAll(async () => {
    await Promise.allSettled(started.values());
    expectNothingLeft();
  });
  const STACKS = ['debian', 'dms', 'mailcow', 'miab', 'iredmail', 'modoboa'];
  test.each(STACKS)('%s: closed on every service, none inconclusive', async (name) => {
    const run = await result(`realworld-${name}`);
    expect(run.expected.size).toBeGreaterThanOrEqual(1);
    expectAgrees(run);
    expect(run.report.verdict).toBe('closed');
    expect(run.report.counts.inconclusive).toBe(0);
    expect(run.report.failed).toBe(false);
  }, 300_000);
});
