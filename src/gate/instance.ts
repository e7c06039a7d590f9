import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { proxyHeader } from '../smtp/identity.js';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { formatMainCf, formatMasterService, parseMainCf, parseMasterCf, type MainParam, type MasterService } from './postfix-files.js';
import { run, type RunResult } from './run.js';
import { buildSandbox, listenerCount, mapRefs, type GateChange, type GateService, type Sandbox, type SandboxInput } from './sandbox.js';

/**
 * A private Postfix built from a configuration directory of the repository:
 * its own config, queue, data and log in a temporary directory, every smtpd
 * service on a free 127.0.0.1 port, every transport a discard. It never reads
 * or writes /etc/postfix and never touches a Postfix already running here.
 */

/** A gate that cannot start: one line that names the input, with the file and line when there is one. */
export class GateError extends Error {
  constructor(
    readonly input: 'postfix-config' | 'postfix-overrides' | 'exim-config',
    detail: string,
    /** The configuration problems behind it, each with its file and line (annotations). */
    readonly problems: readonly GateChange[] = [],
  ) {
    super(`Input '${input}': ${detail}`);
    this.name = 'GateError';
  }
}

export interface GateInstance {
  dir: string;
  postfixVersion: string;
  services: GateService[];
  changes: GateChange[];
  /** The configuration's `mydomain` as this Postfix computes it. */
  mydomain: string;
  myhostname: string;
  /** The random part of each delivery class's discard next hop (sandbox.ts classNexthop). */
  classTag: string;
  maillog(): string;
  stop(): Promise<void>;
}

/** A line for the log; with `body`, the line is the title of a group holding those lines. */
export type GateLog = (line: string, body?: readonly string[]) => void;

export interface GateOptions {
  configDir: string;
  overridesFile?: string;
  /** Progress lines; with `body`, a collapsible group (the installation's output). */
  log?: GateLog;
  /** Told the instance directory as soon as it exists (the action's post step removes it if the run is killed). */
  onDir?: (dir: string) => void;
}

const POSTFIX_BIN = process.env.RELAY_CHECK_POSTFIX || '/usr/sbin/postfix';
const CMD_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;

/** How Postfix commands run here: directly as root, else through `sudo -n`. */
interface Runner {
  prefix: string[];
}

/** A command as root, without blocking the event loop (see run.ts). */
function exec(r: Runner, cmd: string, args: readonly string[], input?: string): Promise<RunResult> {
  const [bin, ...rest] = [...r.prefix, cmd, ...args];
  return run(bin, rest, { timeout: CMD_TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
}

/** The same, blocking: only for exit hooks, which cannot wait. */
function execNow(r: Runner, cmd: string, args: readonly string[]): void {
  const [bin, ...rest] = [...r.prefix, cmd, ...args];
  spawnSync(bin, rest, { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
}

/** Root, or a working `sudo -n`: the Postfix master must start as root. */
export function runner(uid = process.getuid?.(), sudoWorks = (): boolean => spawnSync('sudo', ['-n', 'true'], { encoding: 'utf8', timeout: 10_000 }).status === 0): Runner {
  if (uid === 0) return { prefix: [] };
  if (sudoWorks()) return { prefix: ['sudo', '-n'] };
  throw new GateError('postfix-config', 'the Postfix master must start as root: run as root or where `sudo -n` works');
}

/** What to do about Postfix on this machine: use it, install it, or say what to install. */
export function postfixPlan(m: { postfix: boolean; debian: boolean; aptGet: boolean }, bin = POSTFIX_BIN): 'present' | 'install' | GateError {
  if (m.postfix) return 'present';
  if (m.debian && m.aptGet) return 'install';
  return new GateError('postfix-config', `${bin} not found: install Postfix (on Debian or Ubuntu, the package "postfix")`);
}

/** Postfix, installed from Debian's package when missing on a Debian or Ubuntu machine. */
async function ensurePostfix(r: Runner, log: GateLog): Promise<void> {
  const plan = postfixPlan({ postfix: fs.existsSync(POSTFIX_BIN), debian: fs.existsSync('/etc/debian_version'), aptGet: fs.existsSync('/usr/bin/apt-get') });
  if (plan === 'present') return;
  if (plan instanceof GateError) throw plan;
  const preset = await exec(r, 'debconf-set-selections', [], 'postfix postfix/main_mailer_type select No configuration\n');
  const env = ['env', 'DEBIAN_FRONTEND=noninteractive'];
  const update = preset.status === 0 ? await exec(r, env[0], [...env.slice(1), 'apt-get', 'update', '-qq']) : preset;
  const install = update.status === 0 ? await exec(r, env[0], [...env.slice(1), 'apt-get', 'install', '-y', '-qq', 'postfix']) : update;
  log(
    'Installing Postfix (Debian package "postfix", debconf "No configuration")',
    [preset, update, install].flatMap((s) => `${s.stdout}${s.stderr}`.split('\n')).filter((l) => l.trim() !== ''),
  );
  if (install.status !== 0 || !fs.existsSync(POSTFIX_BIN)) {
    throw new GateError('postfix-config', `installing Postfix failed: ${(install.stderr || install.error?.message || 'no output').trim().split('\n').pop()}`);
  }
}

/** A configuration directory is small; more than this is a directory that is not one (the repository root, say). */
const MAX_CONFIG_FILES = 2_000;

/** Files of the configuration directory, relative paths, without the directory's own VCS noise. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.git') || e.name === 'node_modules') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
      if (out.length > MAX_CONFIG_FILES) {
        throw new GateError('postfix-config', `${dir} holds more than ${MAX_CONFIG_FILES} files: name the directory that holds main.cf, not a larger tree`);
      }
    }
  };
  walk('');
  return out;
}

function readParams(file: string, input: 'postfix-config' | 'postfix-overrides'): MainParam[] {
  try {
    return parseMainCf(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GateError(input, `cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Checks what can be checked before anything starts: the directory, main.cf, the overrides file. */
function checkGateInputs(o: GateOptions): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(o.configDir);
  } catch {
    throw new GateError('postfix-config', `${o.configDir} does not exist`);
  }
  if (!st.isDirectory()) throw new GateError('postfix-config', `${o.configDir} is not a directory`);
  if (!fs.existsSync(path.join(o.configDir, 'main.cf'))) throw new GateError('postfix-config', `${o.configDir} has no main.cf`);
  if (o.overridesFile !== undefined && !fs.existsSync(o.overridesFile)) throw new GateError('postfix-config', `${o.overridesFile} does not exist`);
}

/** Builds, checks and starts the private instance; stops it again on any failure. */
export async function startGate(o: GateOptions): Promise<GateInstance> {
  const log = o.log ?? ((): void => undefined);
  checkGateInputs(o);
  const r = runner();
  await ensurePostfix(r, log);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-gate-'));
  const inst = { dir, stopped: false, r };
  live.add(inst);
  installHooks();
  o.onDir?.(dir);
  log(`private Postfix instance in ${dir}`);
  try {
    const at = await instancePlaces(r, dir);
    const config = copyConfiguration(o, at.conf);
    const sb = await sandboxFor(r, o, config, at);
    const lines = writeInstance(sb, at.conf);
    const host = await postconf(r, at.conf, ['myhostname', 'mydomain']);
    const [myhostname, mydomain] = host.split('\n');
    await makePair(r, at.cert, at.key, myhostname || 'localhost');
    await buildMaps(r, sb.build, at.conf);
    await postfixCheck(r, at.conf, o.configDir, lines, sb.master);
    await startPostfix(r, at, o.configDir, sb.services);
    return {
      dir,
      postfixVersion: await postconf(r, at.conf, ['mail_version']),
      services: sb.services,
      changes: sb.changes,
      mydomain: mydomain ?? '',
      myhostname: myhostname ?? '',
      classTag: config.classTag,
      maillog: () => readOr(at.log),
      stop: () => stopInstance(inst),
    };
  } catch (e) {
    await stopInstance(inst);
    throw e;
  }
}

/** Where the instance keeps its configuration, queue, data, log and throwaway TLS pair. */
type Places = SandboxInput['instance'];

async function instancePlaces(r: Runner, dir: string): Promise<Places> {
  fs.chmodSync(dir, 0o755);
  const at = { conf: path.join(dir, 'conf'), queue: path.join(dir, 'queue'), data: path.join(dir, 'data'), log: path.join(dir, 'maillog'), cert: path.join(dir, 'tls-cert.pem'), key: path.join(dir, 'tls-key.pem') };
  for (const d of [at.conf, at.queue, at.data]) fs.mkdirSync(d, { mode: 0o755 });
  const chown = await exec(r, 'chown', ['postfix:postfix', at.data]);
  if (chown.status !== 0) throw new GateError('postfix-config', `cannot prepare the instance (chown postfix ${at.data}): ${chown.stderr.trim()}`);
  return at;
}

interface Configuration {
  /** Files now in the instance's conf, relative paths. */
  files: string[];
  main: MainParam[];
  master: MasterService[] | null;
  overrides: MainParam[];
  classTag: string;
}

/** The repository's files into the instance, as they are (main.cf and master.cf are written later), and parsed. */
function copyConfiguration(o: GateOptions, conf: string): Configuration {
  const files = listFiles(o.configDir);
  for (const f of files) {
    const to = path.join(conf, f);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(o.configDir, f), to);
  }
  const main = readParams(path.join(o.configDir, 'main.cf'), 'postfix-config');
  const masterFile = path.join(o.configDir, 'master.cf');
  const master = fs.existsSync(masterFile) ? parseMasterCf(fs.readFileSync(masterFile, 'utf8')) : null;
  const overrides = o.overridesFile ? readParams(o.overridesFile, 'postfix-overrides') : [];
  // A stand-in map named by a relative path may live beside the overrides file or in the
  // checkout rather than in the configuration directory: copy it into the instance.
  for (const ref of overrides.flatMap((p) => mapRefs(p.value))) {
    if (/^[/$]/.test(ref.name) || ref.name.split('/').includes('..') || files.includes(ref.name)) continue;
    const from = [path.resolve(path.dirname(o.overridesFile ?? '.'), ref.name), path.resolve(ref.name)].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (!from) continue;
    fs.mkdirSync(path.dirname(path.join(conf, ref.name)), { recursive: true });
    fs.copyFileSync(from, path.join(conf, ref.name));
    files.push(ref.name);
  }
  return { files, main, master, overrides, classTag: crypto.randomBytes(6).toString('hex') };
}

/** The sandbox for this machine's map types and free ports; a configuration it refuses stops the gate. */
async function sandboxFor(r: Runner, o: GateOptions, c: Configuration, at: Places): Promise<Sandbox> {
  // postconf -m needs some main.cf in the directory it is pointed at.
  fs.writeFileSync(path.join(at.conf, 'main.cf'), '');
  const mapTypes = new Set((await exec(r, 'postconf', ['-c', at.conf, '-m'])).stdout.split('\n').map((x) => x.trim()).filter(Boolean));
  const ports: number[] = [];
  for (let i = 0; i < listenerCount(c.master); i++) ports.push(await freePort(ports));
  const sb = buildSandbox({
    main: c.main,
    master: c.master,
    overrides: c.overrides,
    overridesFile: o.overridesFile ? path.basename(o.overridesFile) : 'postfix-overrides',
    files: new Set(c.files),
    mapTypes,
    instance: at,
    ports,
    classTag: c.classTag,
  });
  if (sb.refusals.length > 0) {
    throw new GateError('postfix-config', sb.refusals.map((x) => `${x.file}${x.line ? `:${x.line}` : ''}: ${x.change}`).join('; '), sb.refusals);
  }
  return sb;
}

/** Written line → the repository's line, per file, for Postfix's complaints about the instance's files. */
type LineMap = Record<string, { file: string; line: number | null }[]>;

/** main.cf, master.cf and the stand-in files into the instance; returns where each written line came from. */
function writeInstance(sb: Sandbox, conf: string): LineMap {
  fs.writeFileSync(path.join(conf, 'main.cf'), formatMainCf(sb.main));
  const masterText = sb.master.map(formatMasterService);
  fs.writeFileSync(path.join(conf, 'master.cf'), masterText.join('\n') + '\n');
  const lines: LineMap = { 'main.cf': [...sb.main.keys()].map((k) => sb.origins.get(k) ?? { file: 'main.cf', line: null }), 'master.cf': [] };
  sb.master.forEach((s, i) => {
    for (let n = 0; n < masterText[i].split('\n').length; n++) lines['master.cf'].push({ file: 'master.cf', line: s.line || null });
  });
  for (const c of sb.create) {
    fs.mkdirSync(path.dirname(path.join(conf, c.file)), { recursive: true });
    fs.writeFileSync(path.join(conf, c.file), c.content);
  }
  // Postfix waits for a configuration file written in the last second to settle before
  // reading it; the files are complete, so date them back and start at once.
  const past = new Date(Date.now() - 60_000);
  for (const f of ['main.cf', 'master.cf']) fs.utimesSync(path.join(conf, f), past, past);
  return lines;
}

/** Values as this Postfix computes them for the instance, one a line. */
async function postconf(r: Runner, conf: string, names: readonly string[]): Promise<string> {
  return (await exec(r, 'postconf', ['-c', conf, '-h', ...names])).stdout.trim();
}

async function buildMaps(r: Runner, build: Sandbox['build'], conf: string): Promise<void> {
  for (const b of build) {
    const made = await exec(r, b.command === 'postalias' ? 'postalias' : 'postmap', ['-c', conf, b.map]);
    if (made.status !== 0) throw new GateError('postfix-config', `${b.command} ${b.map.replace(conf + '/', '')} failed: ${firstLine(made.stderr)}`);
  }
}

/** `postfix check`: a complaint stops the gate, pointed at the repository's file and line. */
async function postfixCheck(r: Runner, conf: string, configDir: string, lines: LineMap, master: readonly MasterService[]): Promise<void> {
  const check = await exec(r, POSTFIX_BIN, ['-c', conf, 'check']);
  const complaints = `${check.stderr}${check.stdout}`.split('\n').filter((l) => /fatal|error/i.test(l));
  if (check.status === 0 && complaints.length === 0) return;
  const problems = problemsOf(complaints, conf, lines, master);
  const at = problems.find((p) => p.line !== null);
  throw new GateError('postfix-config', `postfix check refuses the configuration${at ? ` (${at.file} line ${at.line})` : ''}: ${postfixWords(complaints.join(' | ') || check.stderr, conf, configDir)}`, problems);
}

/** `postfix start`, then every listener's greeting, then proof that the ports are this master's. */
async function startPostfix(r: Runner, at: Places, configDir: string, services: readonly GateService[]): Promise<void> {
  const started = await exec(r, POSTFIX_BIN, ['-c', at.conf, 'start']);
  if (started.status !== 0) throw new GateError('postfix-config', `postfix start failed: ${postfixWords(`${started.stderr} ${tailOf(at.log)}`, at.conf, configDir)}`);
  for (const s of services) await waitForGreeting(s, at.log, at.conf, configDir);
  // A greeting proves that a server listens on the port, not that it is ours: had another
  // process taken a port between freePort and Postfix's bind, our master would have died
  // on it and the battery would test that other server.
  const pid = masterPid(path.dirname(at.conf));
  const bind = readOr(at.log).split('\n').find((l) => /fatal: bind\b|fatal:.*Address already in use/i.test(l));
  if (bind || pid === undefined || !alive(pid)) {
    throw new GateError('postfix-config', `the private Postfix did not keep its ports (${bind ? postfixWords(bind.replace(/^.*?fatal:\s*/, ''), at.conf, configDir) : 'its master is not running'}); another process took one of them: run the check again`);
  }
}

function firstLine(s: string): string {
  return (s.trim().split('\n')[0] ?? '').trim();
}

/** Postfix's own words, with instance paths written as the repository's. */
function postfixWords(text: string, conf: string, configDir: string): string {
  return text.replaceAll(conf, configDir).replace(/\s+/g, ' ').trim().slice(0, 600) || 'no reason given';
}

/**
 * `postfix check` names the instance's files and lines ("/tmp/…/conf/master.cf: line 12: …");
 * the written line maps back to the repository's file and line.
 */
function problemsOf(complaints: readonly string[], conf: string, lines: Record<string, { file: string; line: number | null }[]>, master: readonly MasterService[]): GateChange[] {
  const esc = conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return complaints.map((l) => {
    const m = new RegExp(`${esc}/(main\\.cf|master\\.cf)[,:]? line (\\d+)`).exec(l);
    // postconf quotes a bad master.cf entry without a line number: find it by its text.
    const quoted = /in "([^"]+)"/.exec(l)?.[1]?.replace(/\s+/g, ' ');
    const entry = quoted === undefined ? undefined : master.find((s) => quoted.startsWith(`${s.service} ${s.type} `));
    const origin = m ? lines[m[1]]?.[Number(m[2]) - 1] : entry ? { file: 'master.cf', line: entry.line || null } : undefined;
    return { file: origin?.file ?? m?.[1] ?? 'main.cf', line: origin?.line ?? null, subject: 'postfix check', change: l.replaceAll(conf + '/', '').replace(/^.*?(fatal|error):\s*/i, '').trim(), tested: false };
  });
}

async function makePair(r: Runner, cert: string, key: string, cn: string): Promise<void> {
  const made = await exec(r, 'openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn.replace(/[^A-Za-z0-9.-]/g, '') || 'localhost'}`, '-days', '2', '-keyout', key, '-out', cert]);
  if (made.status !== 0) throw new GateError('postfix-config', `cannot make the throwaway TLS pair (openssl): ${firstLine(made.stderr || made.error?.message || '')}`);
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tailOf(file: string): string {
  return readOr(file)
    .split('\n')
    .filter((l) => /fatal|panic|error/i.test(l))
    .slice(-3)
    .join(' | ');
}

function freePort(taken: readonly number[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => (taken.includes(port) ? freePort(taken).then(resolve, reject) : resolve(port)));
    });
  });
}

/** Until a complete 220 arrives (through TLS for wrapper mode); postscreen may hold it for its greet wait. */
async function waitForGreeting(s: GateService, log: string, conf: string, configDir: string): Promise<void> {
  const until = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < until) {
    last = await greet(s.port, s.wrapper, Math.min(10_000, until - Date.now()), s.proxy);
    if (last === 'ok') return;
    if (/fatal:/.test(readOr(log))) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new GateError('postfix-config', `service ${s.name} (master.cf line ${s.line}) never greeted on 127.0.0.1:${s.port} (${last}): ${postfixWords(tailOf(log), conf, configDir)}`);
}

function greet(port: number, wrapper: boolean, timeoutMs: number, proxy: boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = wrapper ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : net.connect({ host: '127.0.0.1', port });
    // A PROXY-protocol service greets only after the header, as its proxy would send it.
    if (proxy && !wrapper) socket.write(proxyHeader(1, '127.0.0.1', '127.0.0.1', 40_000, port).bytes);
    let buf = '';
    const done = (why: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no greeting within ${timeoutMs} ms`), timeoutMs);
    socket.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    socket.on('data', (c) => {
      buf += c.toString('latin1');
      if (/(^|\r\n)220 [^\r\n]*\r\n/.test(buf)) {
        socket.write('QUIT\r\n');
        done('ok');
      } else if (/(^|\r\n)[45]\d\d [^\r\n]*\r\n/.test(buf)) done(`refused: ${buf.trim().slice(0, 200)}`);
    });
    socket.on('close', () => done(`closed (got ${JSON.stringify(buf.slice(0, 100))})`));
  });
}

// --- cleanup: stopped on success, failure, an exception, SIGTERM/SIGINT and process exit ---

interface Live {
  dir: string;
  stopped: boolean;
  r: Runner;
}
const live = new Set<Live>();
let hooked = false;

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const i of live) killNow(i.dir, i.r);
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      for (const i of live) killNow(i.dir, i.r);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** The master's pid from data/master.lock or queue/pid/master.pid. */
export function masterPid(dir: string): number | undefined {
  for (const f of [path.join(dir, 'data', 'master.lock'), path.join(dir, 'queue', 'pid', 'master.pid')]) {
    const n = Number.parseInt(readOr(f).trim(), 10);
    if (Number.isInteger(n) && n > 1) return n;
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is not ours to signal (sudo case).
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Synchronous last resort (exit hooks cannot wait): SIGKILL the master, remove the directory. */
export function killNow(dir: string, r: Runner = { prefix: process.getuid?.() === 0 ? [] : ['sudo', '-n'] }): void {
  const pid = masterPid(dir);
  if (pid !== undefined && alive(pid)) execNow(r, 'kill', ['-KILL', String(pid)]);
  // Its children follow the master; give them a moment, then remove the instance.
  execNow(r, 'rm', ['-rf', dir]);
}

async function stopInstance(i: Live): Promise<void> {
  if (i.stopped) return;
  i.stopped = true;
  const conf = path.join(i.dir, 'conf');
  const pid = masterPid(i.dir);
  // abort, not stop: a throwaway instance has no mail to finish, and stop waits for its children.
  if (fs.existsSync(path.join(conf, 'main.cf')) && pid !== undefined) await exec(i.r, POSTFIX_BIN, ['-c', conf, 'abort']);
  if (pid !== undefined) {
    const until = Date.now() + 5_000;
    while (alive(pid) && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
    if (alive(pid)) await exec(i.r, 'kill', ['-KILL', String(pid)]);
  }
  await exec(i.r, 'rm', ['-rf', i.dir]);
  live.delete(i);
}
