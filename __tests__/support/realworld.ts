import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { splitArgs } from '../../src/gate/postfix-files.js';
import { POSTFIX, freePort, greet, installExitHook, postfixAvailable, running, stopInstance, type Instance } from './postfix.js';

/**
 * The six real-world Postfix configurations of __tests__/fixtures/realworld-postfix/
 * (see its README.md and each folder's NOTES.md), each started as a private
 * Postfix instance on loopback:
 *
 * - the folder is copied to a fresh temporary directory (conf/), with
 *   common/sasl/smtpd.conf as conf/sasl/smtpd.conf;
 * - queue, data, log and the TLS files (a throwaway self-signed pair and RFC 7919
 *   ffdhe2048 parameters made here with openssl) point into that directory;
 * - every `inet` service of master.cf moves from its fixed 127.0.0.1:28xx port to a
 *   free loopback port, keeping its -o overrides; the record of each move is in
 *   RealworldStack.services;
 * - loopback may use XCLIENT (smtpd_authorized_xclient_hosts = 127.0.0.0/8), so a
 *   test can speak as an outside client;
 * - SAFETY: every transport is `discard:`, and that is asserted on the effective
 *   configuration (main.cf after every edit, and every master.cf -o override)
 *   before Postfix starts: no mail can leave the machine;
 * - hash:/btree:/… maps in the config directory are built (postalias/postmap),
 *   `postfix check` must pass, `postfix start`, and every service must give its
 *   whole greeting (through TLS for wrappermode; postscreen services after
 *   postscreen_greet_wait when loopback is not whitelisted) before the stack is
 *   returned. The instance is stopped and removed by stop(); should the test process
 *   die first, by a detached watchdog (see watchdog()).
 *
 * A caller can apply extra main.cf settings, master.cf -o overrides per service and
 * extra files in the config directory: the "mistake" variants of a stack.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The fixtures, in the repository so that a plain clone runs these tests. */
const FIXTURES = path.join(ROOT, '__tests__', 'fixtures', 'realworld-postfix');
export const STACKS = ['debian', 'dms', 'mailcow', 'miab', 'iredmail', 'modoboa'] as const;
export type StackName = (typeof STACKS)[number];

/** The host name every fixture gives itself (myhostname); the certificate's CN. */
const FIXTURE_HOSTNAME = 'mail.example.net';

/** Longest wait for all services of a stack to greet (postscreen without a whitelist waits greet_wait first). */
const READY_TIMEOUT_MS = 40_000;
const CMD_TIMEOUT_MS = 30_000;

/** One inet service of a fixture's master.cf, as shipped. */
export interface FixtureService {
  /** smtp (postscreen or plain 25), submission (587), smtps (465), or the service's syslog name. */
  name: string;
  /** Its fixed port in the fixture (README table: 2801…2816). */
  fixturePort: number;
  /** postscreen in front of an `smtpd pass` service. */
  postscreen: boolean;
  /** Implicit TLS (smtpd_tls_wrappermode=yes). */
  wrapper: boolean;
  /** STARTTLS demanded (smtpd_tls_security_level=encrypt, on the service or in main.cf). */
  tlsRequired: boolean;
  /** SASL AUTH offered (smtpd_sasl_auth_enable=yes, on the service or in main.cf). */
  sasl: boolean;
  /** The -o overrides of the smtpd that speaks SMTP (for postscreen: of its pass service), name → value. */
  options: Record<string, string>;
}

/** A started service: the fixture's service and the free port it listens on now. */
interface RealworldService extends FixtureService {
  address: '127.0.0.1';
  port: number;
}

export interface RealworldOptions {
  /** A label for messages and the temp directory (default: the stack name). */
  label?: string;
  /** Extra main.cf settings, applied after the fixture's (postconf -e). Transports cannot be changed. */
  main?: Record<string, string>;
  /**
   * Extra -o overrides per service, by fixture port, each 'name=value' (spaces allowed: it is
   * written braced). For a postscreen service they go to its `smtpd pass` service, the smtpd
   * that actually applies relay restrictions. They come after the shipped ones, so they win.
   */
  overrides?: Record<number, string[]>;
  /** Extra files in the config directory (e.g. an access table), by file name. */
  files?: Record<string, string>;
}

export interface RealworldStack {
  stack: StackName;
  label: string;
  /** The instance directory: conf/, queue/, data/, tls/, maillog. */
  dir: string;
  conf: string;
  services: RealworldService[];
  /** The service that was on `fixturePort` in the fixture. */
  service(fixturePort: number): RealworldService;
  /** The effective (expanded) value of a main.cf parameter. */
  postconf(name: string): string;
  /** Warnings `postfix check` printed (empty when clean). */
  checkWarnings: string[];
  /** How long the start took, ms. */
  startMs: number;
  maillog(): string;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------
// master.cf and main.cf parsing (pure, synchronous: tests are declared from it)

interface MasterEntry {
  /** Index of the entry's first line. */
  start: number;
  /** Index of its last non-comment continuation line (== start without one). */
  end: number;
  fields: string[];
  /** The command's arguments, braces kept together: ['-o', 'a=b', '-o', '{ c = d e }']. */
  args: string[];
}

function parseMaster(text: string): { lines: string[]; entries: MasterEntry[] } {
  const lines = text.split('\n');
  const entries: MasterEntry[] = [];
  let cur: { start: number; end: number; text: string } | undefined;
  const flush = (): void => {
    if (!cur) return;
    const tokens = tokenize(cur.text);
    entries.push({ start: cur.start, end: cur.end, fields: tokens.slice(0, 8), args: tokens.slice(8) });
    cur = undefined;
  };
  lines.forEach((line, i) => {
    // Blank and comment lines are ignored by Postfix; they do not end a logical line.
    if (/^\s*(#|$)/.test(line)) return;
    if (/^\s/.test(line)) {
      if (!cur) throw new Error(`master.cf line ${i + 1}: continuation without an entry: ${JSON.stringify(line)}`);
      cur.text += ` ${line.trim()}`;
      cur.end = i;
      return;
    }
    flush();
    cur = { start: i, end: i, text: line.trim() };
  });
  flush();
  return { lines, entries };
}

/** Whitespace-separated tokens, with `{ … }` groups kept as one token (master.cf syntax, Postfix >= 3.0): the gate's own parser. */
const tokenize = splitArgs;

/** The -o options of an argument list, name → value (later ones win, as in Postfix). */
function optionsOf(args: string[]): Record<string, string> {
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '-o' || i + 1 >= args.length) continue;
    let o = args[++i];
    if (o.startsWith('{') && o.endsWith('}')) o = o.slice(1, -1).trim();
    const eq = o.indexOf('=');
    if (eq < 0) continue;
    opts[o.slice(0, eq).trim()] = o.slice(eq + 1).trim();
  }
  return opts;
}

/** main.cf as name → raw value (last assignment wins; continuation lines joined). */
function parseMainCf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let key: string | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    if (/^\s/.test(line)) {
      if (key) out[key] += ` ${line.trim()}`;
      continue;
    }
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    key = m[1];
    out[key] = m[2].trim();
  }
  return out;
}

const INET_ADDRESS = /^(127\.0\.0\.1|\[::1\]):(\d+)$/;

interface ParsedService extends FixtureService {
  entry: MasterEntry;
  /** The entry whose -o overrides decide relaying (postscreen: the pass service). */
  smtpdEntry: MasterEntry;
}

function fixtureDir(stack: StackName): string {
  if (!(STACKS as readonly string[]).includes(stack)) throw new Error(`unknown real-world stack "${stack}"`);
  return path.join(FIXTURES, stack);
}

function servicesOf(stack: StackName, masterText: string, mainText: string): ParsedService[] {
  const { entries } = parseMaster(masterText);
  const main = parseMainCf(mainText);
  const services: ParsedService[] = [];
  for (const e of entries) {
    if (e.fields[1] !== 'inet') continue;
    const m = INET_ADDRESS.exec(e.fields[0]);
    // SAFETY: a service on a wildcard address or a name would listen beyond loopback.
    if (!m) throw new Error(`${stack}/master.cf: inet service "${e.fields[0]}" is not bound to 127.0.0.1 or [::1]; refusing to start it`);
    if (m[1] !== '127.0.0.1') throw new Error(`${stack}/master.cf: inet service on ${m[1]} is not supported (only 127.0.0.1)`);
    const command = e.fields[7];
    if (command !== 'smtpd' && command !== 'postscreen') throw new Error(`${stack}/master.cf: inet service ${e.fields[0]} runs "${command}", which this harness does not know how to test`);
    const own = optionsOf(e.args);
    let smtpdEntry = e;
    if (command === 'postscreen') {
      const passName = own.smtpd_service_name ?? main.smtpd_service_name ?? 'smtpd';
      const pass = entries.find((x) => x.fields[0] === passName && x.fields[1] === 'pass');
      if (!pass) throw new Error(`${stack}/master.cf: postscreen on ${e.fields[0]} hands off to "${passName} pass", which is not there`);
      smtpdEntry = pass;
    }
    const options = command === 'postscreen' ? optionsOf(smtpdEntry.args) : own;
    const setting = (name: string): string => (options[name] ?? main[name] ?? '').toLowerCase();
    const wrapper = setting('smtpd_tls_wrappermode') === 'yes';
    const tlsRequired = !wrapper && (setting('smtpd_tls_security_level') === 'encrypt' || setting('smtpd_enforce_tls') === 'yes');
    const sasl = setting('smtpd_sasl_auth_enable') === 'yes';
    const syslog = (options.syslog_name ?? '').replace(/^postfix\//, '');
    const name = command === 'postscreen' ? 'smtp' : wrapper ? 'smtps' : tlsRequired || sasl ? 'submission' : syslog && !syslog.includes('$') ? syslog : 'smtp';
    services.push({ name, fixturePort: Number(m[2]), postscreen: command === 'postscreen', wrapper, tlsRequired, sasl, options, entry: e, smtpdEntry });
  }
  // Names are for humans; make them unique anyway (Mail-in-a-Box logs its 465 as "submission" too).
  const seen = new Map<string, number>();
  for (const s of services) seen.set(s.name, (seen.get(s.name) ?? 0) + 1);
  for (const s of services) if ((seen.get(s.name) ?? 0) > 1) s.name = `${s.name}-${s.fixturePort}`;
  return services;
}

/** The inet services a fixture ships, read from its master.cf (synchronous: tests are declared from it). */
export function fixtureServices(stack: StackName): FixtureService[] {
  const dir = fixtureDir(stack);
  return servicesOf(stack, fs.readFileSync(path.join(dir, 'master.cf'), 'utf8'), fs.readFileSync(path.join(dir, 'main.cf'), 'utf8')).map(
    ({ entry: _e, smtpdEntry: _s, ...rest }) => rest,
  );
}

/** An -o argument as master.cf accepts it: braced when it holds whitespace. */
function oArg(o: string): string {
  if (/[\r\n]/.test(o)) throw new Error(`override with a line break: ${JSON.stringify(o)}`);
  if (o.startsWith('{')) return o;
  if (!/^[A-Za-z0-9_]+\s*=/.test(o)) throw new Error(`override is not name=value: ${JSON.stringify(o)}`);
  return /\s/.test(o) ? `{ ${o} }` : o;
}

/** master.cf with every inet service on its new port and the caller's overrides appended to the right entries. */
function rewriteMaster(text: string, parsed: ParsedService[], ports: Map<number, number>, extra: Record<number, string[]>): string {
  const { lines } = parseMaster(text);
  const after = new Map<number, string[]>();
  for (const s of parsed) {
    const port = ports.get(s.fixturePort);
    if (port === undefined) throw new Error(`no port for ${s.fixturePort}`);
    lines[s.entry.start] = lines[s.entry.start].replace(/^\S+/, `127.0.0.1:${port}`);
    const add = extra[s.fixturePort] ?? [];
    if (add.length) {
      const at = s.smtpdEntry.end;
      after.set(at, [...(after.get(at) ?? []), ...add.map((o) => `  -o ${oArg(o)}`)]);
    }
  }
  for (const port of Object.keys(extra)) {
    if (!parsed.some((s) => s.fixturePort === Number(port))) throw new Error(`overrides for port ${port}, which is not an inet service of this fixture`);
  }
  const out: string[] = [];
  lines.forEach((l, i) => {
    out.push(l);
    for (const x of after.get(i) ?? []) out.push(x);
  });
  return out.join('\n');
}

// ---------------------------------------------------------------------------
// TLS material: one throwaway pair per test process, kept in memory, written into each instance

const TLS_FILES = ['cert.pem', 'key.pem', 'dh2048.pem'] as const;
let tlsFiles: Record<(typeof TLS_FILES)[number], string> | undefined;

function tlsMaterial(): Record<(typeof TLS_FILES)[number], string> {
  if (tlsFiles) return tlsFiles;
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`openssl is needed for the fixtures' self-signed pair and could not be run: ${probe.error?.message ?? probe.stderr}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-rw-tls-'));
  try {
    const run = (args: string[]): void => {
      const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
      if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.status ?? r.signal}): ${r.stderr}`);
    };
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${FIXTURE_HOSTNAME}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2']);
    // The fixtures name RFC 7919 ffdhe2048 as the stand-in for their DH parameter files.
    run(['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', path.join(dir, 'dh2048.pem')]);
    tlsFiles = Object.fromEntries(TLS_FILES.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')])) as Record<(typeof TLS_FILES)[number], string>;
    return tlsFiles;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Starting a stack

const exec = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command, asynchronously (instances start in parallel), bounded by CMD_TIMEOUT_MS. */
async function sh(bin: string, args: string[]): Promise<Ran> {
  try {
    const r = await exec(bin, args, { encoding: 'utf8', timeout: CMD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number | string; signal?: string; stdout?: string; stderr?: string; message: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: `${x.stderr ?? ''} ${x.signal ? `(killed: ${x.signal})` : ''} ${typeof x.code === 'string' ? x.message : ''}`.trim() };
  }
}

async function cmd(bin: string, args: string[], what: string): Promise<Ran> {
  const r = await sh(bin, args);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${[r.stdout, r.stderr].map((x) => x.trim()).filter(Boolean).join(' | ')}`);
  return r;
}

/**
 * Postfix waits (about 2 s) before it reads a main.cf or master.cf that changed within the
 * last second, in case it is still being edited. Our files are fresh copies and edits:
 * date them back, as docker-mailserver does after its own edits (_adjust_mtime_for_postfix_maincf).
 */
function ageConfig(conf: string): void {
  const past = new Date(Date.now() - 60_000);
  for (const f of ['main.cf', 'master.cf']) fs.utimesSync(path.join(conf, f), past, past);
}

/** `postconf -c DIR -x`: every parameter (defaults included), expanded; `-n`: only those main.cf sets. */
async function postconfAll(conf: string, onlySet = false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const r = await cmd('postconf', ['-c', conf, ...(onlySet ? ['-n'] : []), '-x'], 'postconf');
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Za-z0-9_]+) = ?(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const DELIVERY_PARAMETERS = ['default_transport', 'relay_transport', 'local_transport', 'virtual_transport', 'mailbox_transport'] as const;
/** SAFETY: parameters that could send mail somewhere other than discard; each must be empty. */
const MUST_BE_EMPTY = ['content_filter', 'fallback_transport', 'fallback_transport_maps', 'sender_dependent_default_transport_maps', 'mailbox_command', 'mailbox_command_maps', 'luser_relay'];
const VERIFY_TRANSPORTS = ['address_verify_default_transport', 'address_verify_relay_transport', 'address_verify_local_transport', 'address_verify_virtual_transport'];

/** Every result of a texthash/hash-style table file: the right-hand sides. */
function tableValues(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(#|$)/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(1).join(' '));
}

/**
 * SAFETY: the effective configuration (`cfg`: postconf -x, defaults included) delivers
 * nowhere but discard:. Transport tables in the config directory may only name discard: or
 * error:; a table this harness cannot read is refused.
 */
function assertDiscardOnly(cfg: Record<string, string>, conf: string, label: string, masterText: string): void {
  const problems: string[] = [];
  const get = (p: string): string => {
    const v = cfg[p];
    if (v === undefined) problems.push(`${p}: unknown to postconf`);
    return v ?? '';
  };
  for (const p of DELIVERY_PARAMETERS) {
    const v = get(p);
    if (!/^discard:/.test(v)) problems.push(`${p} = ${v}`);
  }
  for (const p of MUST_BE_EMPTY) {
    const v = get(p);
    if (v) problems.push(`${p} = ${v} (must be empty)`);
  }
  for (const p of VERIFY_TRANSPORTS) {
    const v = get(p);
    if (!/^(discard|error):/.test(v)) problems.push(`${p} = ${v}`);
  }
  for (const p of ['transport_maps', 'address_verify_transport_maps']) {
    const v = get(p);
    if (v) checkTables(conf, p, v, problems);
  }
  for (const e of parseMaster(masterText).entries) {
    for (const [k, v] of Object.entries(optionsOf(e.args))) {
      if (/(_transport|content_filter|transport_maps|relayhost|_command)$/.test(k) && v !== '' && !/^discard:/.test(v)) {
        problems.push(`master.cf ${e.fields[0]}: -o ${k}=${v}`);
      }
    }
    // A pipe(8) agent would run a command if anything routed mail to it.
    if (e.fields[7] === 'pipe') problems.push(`master.cf ${e.fields[0]}: a pipe(8) service`);
  }
  if (problems.length) throw new Error(`SAFETY: ${label} could deliver mail somewhere other than discard: ${problems.join('; ')}`);
}

function checkTables(conf: string, param: string, value: string, problems: string[]): void {
  for (const t of value.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(texthash|hash|btree|lmdb|cdb):(.*)$/.exec(t);
    if (!m) {
      problems.push(`${param} uses ${t}, which this harness cannot inspect`);
      continue;
    }
    if (!path.resolve(m[2]).startsWith(conf + path.sep) || !fs.existsSync(m[2])) {
      problems.push(`${param} table ${m[2]} is not a file of the instance`);
      continue;
    }
    for (const v of tableValues(m[2])) if (!/^(discard|error):/.test(v)) problems.push(`${param} ${t}: ${v}`);
  }
}

/** Indexed maps (hash:, btree:, …) whose source file is in the config directory: postalias for aliases, postmap otherwise. */
async function buildMaps(cfg: Record<string, string>, conf: string, values: string[]): Promise<void> {
  const done = new Set<string>();
  const aliasMaps = new Set(`${cfg.alias_maps ?? ''} ${cfg.alias_database ?? ''}`.split(/[\s,]+/));
  for (const v of values) {
    for (const m of v.matchAll(/\b(hash|btree|lmdb|cdb|dbm|sdbm):([^\s,}]+)/g)) {
      const file = m[2];
      const key = `${m[1]}:${file}`;
      if (done.has(key) || !path.resolve(file).startsWith(conf + path.sep) || !fs.existsSync(file)) continue;
      done.add(key);
      const tool = aliasMaps.has(key) ? 'postalias' : 'postmap';
      await cmd(tool, ['-c', conf, key], `${tool} ${key}`);
    }
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** Seconds in a Postfix time value ("6s", "2m", "500ms"). */
function seconds(v: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) return 6;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

/**
 * The last-resort cleanup. Under Jest the harness's process.once('exit') hook never fires:
 * a test file's `process` is Jest's copy of it (jest-util createProcessObject), whose own
 * 'exit' event is never emitted. So each instance also gets a small detached watchdog: once
 * this test process is gone (or after WATCHDOG_MAX_S at the latest) while the instance
 * directory still exists, it stops that instance's master (by its pid, only if it is the
 * master running in this directory) and removes the directory. A normal stop() removes the
 * directory first, and the watchdog then ends within two seconds.
 */
const WATCHDOG_MAX_S = 1800;
const WATCHDOG = `
pid="$1"; dir="$2"; postfix="$3"; n=0
while kill -0 "$pid" 2>/dev/null && [ -d "$dir" ] && [ "$n" -lt ${WATCHDOG_MAX_S / 2} ]; do sleep 2; n=$((n+1)); done
[ -d "$dir" ] || exit 0
"$postfix" -c "$dir/conf" stop >/dev/null 2>&1
m=$(tr -dc 0-9 < "$dir/data/master.lock" 2>/dev/null)
if [ -n "$m" ] && [ "$(readlink "/proc/$m/cwd" 2>/dev/null)" = "$dir/queue" ]; then kill -9 "$m" 2>/dev/null; fi
rm -rf "$dir"
`;

function watchdog(dir: string): void {
  try {
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'relay-check-rw-watchdog', String(process.pid), dir, POSTFIX], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // best effort: stop() and the harness's exit hook remain
  }
}

/**
 * Starts one fixture folder as a private instance. A port taken between our probe and
 * Postfix's bind (other instances and parallel test files): try again with new ports.
 */
async function startRealworld(stack: StackName, opts: RealworldOptions = {}): Promise<RealworldStack> {
  const a = postfixAvailable();
  if (!a.ok) throw new Error(`cannot start Postfix: ${a.why}`);
  const label = opts.label ?? stack;
  if (!/^[a-z0-9-]+$/i.test(label)) throw new Error(`bad label "${label}"`);
  for (const k of Object.keys(opts.main ?? {})) {
    if ((DELIVERY_PARAMETERS as readonly string[]).includes(k) || MUST_BE_EMPTY.includes(k) || k === 'transport_maps') {
      throw new Error(`startRealworld(${label}): ${k} cannot be changed (every transport stays discard:)`);
    }
  }
  let last: Error | undefined;
  for (let round = 1; round <= 3; round++) {
    try {
      return await startOnce(stack, label, opts);
    } catch (e) {
      last = e as Error;
      if (!/address already in use/i.test(last.message)) throw last;
    }
  }
  throw last;
}

async function startOnce(stack: StackName, label: string, opts: RealworldOptions): Promise<RealworldStack> {
  const t0 = Date.now();
  const src = fixtureDir(stack);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `relay-check-rw-${label}-`));
  const instance: Instance = { dir, stopped: false };
  running.add(instance);
  installExitHook();
  watchdog(dir);
  const conf = path.join(dir, 'conf');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  const tlsDir = path.join(dir, 'tls');
  const log = path.join(dir, 'maillog');
  const tail = (): string =>
    readOr(log, '')
      .split('\n')
      .filter((l) => /fatal|panic|error|warning/i.test(l))
      .slice(-10)
      .join('\n') || '(nothing in the maillog)';
  try {
    // The postfix user must reach queue/ and data/ below the 0700 mkdtemp directory.
    fs.chmodSync(dir, 0o755);
    fs.cpSync(src, conf, { recursive: true });
    for (const d of [conf, queue, data, tlsDir, path.join(conf, 'sasl')]) {
      fs.mkdirSync(d, { recursive: true });
      fs.chmodSync(d, 0o755);
    }
    for (const f of fs.readdirSync(conf)) {
      if (fs.statSync(path.join(conf, f)).isFile()) fs.chmodSync(path.join(conf, f), 0o644);
    }
    fs.copyFileSync(path.join(FIXTURES, 'common', 'sasl', 'smtpd.conf'), path.join(conf, 'sasl', 'smtpd.conf'));
    for (const [name, text] of Object.entries(opts.files ?? {})) {
      if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.')) throw new Error(`bad extra file name "${name}"`);
      fs.writeFileSync(path.join(conf, name), text, { mode: 0o644 });
    }
    const material = tlsMaterial();
    for (const f of TLS_FILES) {
      // A throwaway pair for loopback tests, readable by every Postfix process.
      fs.writeFileSync(path.join(tlsDir, f), material[f], { mode: 0o644 });
    }
    const uid = Number((await cmd('id', ['-u', 'postfix'], 'id -u postfix')).stdout.trim());
    const gid = Number((await cmd('id', ['-g', 'postfix'], 'id -g postfix')).stdout.trim());
    fs.chownSync(data, uid, gid);

    // master.cf: every inet service to a free loopback port.
    const masterText = fs.readFileSync(path.join(conf, 'master.cf'), 'utf8');
    const parsed = servicesOf(stack, masterText, fs.readFileSync(path.join(conf, 'main.cf'), 'utf8'));
    if (parsed.length === 0) throw new Error(`${stack}: no inet service in master.cf`);
    const ports = new Map<number, number>();
    for (const s of parsed) {
      let p = await freePort('127.0.0.1');
      while ([...ports.values()].includes(p)) p = await freePort('127.0.0.1');
      ports.set(s.fixturePort, p);
    }
    const newMaster = rewriteMaster(masterText, parsed, ports, opts.overrides ?? {});
    fs.writeFileSync(path.join(conf, 'master.cf'), newMaster);
    // No other fixed loopback port may be left (a policy service, milter or content filter would be one).
    for (const e of parseMaster(newMaster).entries) {
      const fixed = e.args.filter((x) => /(inet:|\[?127\.0\.0\.1\]?:|\[::1\]:)\d+/.test(x));
      if (fixed.length) throw new Error(`${stack}/master.cf ${e.fields[0]}: fixed loopback port in ${fixed.join(' ')}`);
    }

    // main.cf: the instance's own places, the TLS pair, XCLIENT for loopback, the caller's settings.
    ageConfig(conf);
    const before = await postconfAll(conf, true);
    const edits: Record<string, string> = {
      queue_directory: queue,
      data_directory: data,
      maillog_file: log,
      maillog_file_prefixes: dir,
      smtpd_authorized_xclient_hosts: '127.0.0.0/8',
    };
    for (const [k, v] of Object.entries(before)) {
      if (v.includes('/etc/postfix-rw/tls/')) edits[k] = v.split('/etc/postfix-rw/tls/').join(`${tlsDir}/`);
    }
    Object.assign(edits, opts.main ?? {});
    // SAFETY last, so nothing above can undo it.
    for (const p of DELIVERY_PARAMETERS) edits[p] = 'discard:';
    await cmd('postconf', ['-c', conf, '-e', ...Object.entries(edits).map(([k, v]) => `${k} = ${v}`)], 'postconf -e');
    ageConfig(conf);
    // The effective configuration, defaults included: what every check below and postconf() read.
    const cfg = await postconfAll(conf);
    const after = await postconfAll(conf, true);
    const leftovers = Object.entries(after).filter(([, v]) => /\/(etc|var\/spool|var\/lib|var\/log)\/postfix-rw\b/.test(v));
    if (leftovers.length) throw new Error(`${label}: settings still point at the fixture's system paths: ${leftovers.map(([k, v]) => `${k} = ${v}`).join('; ')}`);
    for (const [k, v] of Object.entries(after)) {
      if (/(inet:|\[?127\.0\.0\.1\]?:|\[::1\]:)\d+/.test(v) && k !== 'smtpd_authorized_xclient_hosts') {
        throw new Error(`${label}: main.cf ${k} names a fixed loopback port (${v}); the harness would have to move it`);
      }
    }
    assertDiscardOnly(cfg, conf, label, newMaster);

    await buildMaps(cfg, conf, [...Object.values(after), ...parseMaster(newMaster).entries.flatMap((e) => e.args)]);

    const check = await sh(POSTFIX, ['-c', conf, 'check']);
    const checkOutput = `${check.stdout}\n${check.stderr}\n${readOr(log, '')}`;
    if (check.code !== 0) throw new Error(`postfix check failed for ${label} (exit ${check.code}): ${checkOutput.trim()}`);
    const checkWarnings = checkOutput.split('\n').filter((l) => /warning|fatal/i.test(l));

    const started = await sh(POSTFIX, ['-c', conf, 'start']);
    if (started.code !== 0) throw new Error(`postfix start failed for ${label} (exit ${started.code}): ${started.stdout} ${started.stderr} ${tail()}`);

    const greetWait = seconds(cfg.postscreen_greet_wait ?? '6s');
    const services: RealworldService[] = parsed.map(({ entry: _e, smtpdEntry: _s, ...rest }) => ({ ...rest, address: '127.0.0.1', port: ports.get(rest.fixturePort) as number }));
    await Promise.all(services.map((s) => waitReady(s, greetWait, () => readOr(log, ''), tail, label)));
    const pf: RealworldStack = {
      stack,
      label,
      dir,
      conf,
      services,
      service(fixturePort: number) {
        const s = services.find((x) => x.fixturePort === fixturePort);
        if (!s) throw new Error(`${label} has no service that was on ${fixturePort} (it has ${services.map((x) => x.fixturePort).join(', ')})`);
        return s;
      },
      postconf: (name: string) => {
        if (!(name in cfg)) throw new Error(`postconf: unknown parameter ${name}`);
        return cfg[name];
      },
      checkWarnings,
      startMs: Date.now() - t0,
      maillog: () => readOr(log, ''),
      stop: () => stopInstance(instance),
    };
    return pf;
  } catch (e) {
    await stopInstance(instance);
    throw e;
  }
}

/**
 * Waits for a service's whole greeting: through TLS for wrappermode; for postscreen, each try
 * may take postscreen_greet_wait (a client not whitelisted gets `220-`, then, after the wait,
 * the smtpd's `220 `; postscreen then caches loopback as passed).
 */
async function waitReady(s: RealworldService, greetWait: number, log: () => string, tail: () => string, label: string): Promise<void> {
  const until = Date.now() + READY_TIMEOUT_MS;
  const perTry = s.postscreen ? (greetWait + 5) * 1000 : 2000;
  let last = 'never tried';
  while (Date.now() < until) {
    last = await greet(s.address, s.port, Math.max(500, Math.min(perTry, until - Date.now())), { tls: s.wrapper });
    if (last === 'ok') return;
    if (/fatal:|bad command startup/.test(log())) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${label}: service ${s.name} (fixture port ${s.fixturePort}) on ${s.address}:${s.port} gave no whole greeting${s.wrapper ? ' through TLS' : ''} (last try: ${last}); maillog: ${tail()}`);
}

/** Starts several stacks at once; when one fails, the others are stopped and every failure is reported. */
export async function startAll(specs: { stack: StackName; opts?: RealworldOptions }[]): Promise<RealworldStack[]> {
  const results = await Promise.allSettled(specs.map((s) => startRealworld(s.stack, s.opts)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${specs[i].opts?.label ?? specs[i].stack}: ${(r.reason as Error).message}`] : []));
  if (failed.length) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw new Error(`could not start every real-world stack:\n${failed.join('\n')}`);
  }
  return results.map((r) => (r as PromiseFulfilledResult<RealworldStack>).value);
}
