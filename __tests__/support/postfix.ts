import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import { masterPid } from '../../src/gate/instance.js';
import { DEFAULT_MASTER_CF } from '../../src/gate/sandbox.js';
import path from 'node:path';

/**
 * A private Postfix for one test file: its own config, queue and log in a
 * temporary directory, one smtpd per service on a free loopback port, and
 * every transport a discard (no mail ever leaves the machine).
 *
 * Needs root and the Debian `postfix` package (see docs/mta-notes.md).
 * Tests use describePostfix(): it runs them when Postfix is there, fails them
 * when RELAY_CHECK_REQUIRE_POSTFIX=1 (CI) and it is not, and otherwise skips
 * them with a loud warning. There is no silent skip.
 */

/** The postfix command; RELAY_CHECK_POSTFIX overrides it (another layout, or to test the skip path). */
export const POSTFIX = process.env.RELAY_CHECK_POSTFIX || '/usr/sbin/postfix';

export interface PostfixService {
  /** Key of the port in RunningPostfix.ports. */
  name: string;
  /**
   * master.cf `-o` overrides for this smtpd, each one `name=value` without
   * spaces (e.g. 'mynetworks=0.0.0.0/0') or a braced
   * '{ smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination }'.
   */
  overrides: string[];
  /** Loopback address to listen on: 127.0.0.1 (default) or ::1. */
  address?: '127.0.0.1' | '::1';
  /**
   * Put postscreen(8) on the port, with these `-o` overrides of its own; `overrides` then go to
   * the `smtpd pass` service behind it (one postscreen service per instance: they share that smtpd).
   */
  postscreen?: string[];
}

export interface RunningPostfix {
  /** Listening port of each service, by service name. */
  ports: Record<string, number>;
  /** The instance directory (conf/, queue/, data/, maillog). */
  dir: string;
  /** Stops the instance and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
  /** The instance's log so far (empty once stopped). */
  maillog(): string;
}

export type Availability = { ok: true } | { ok: false; why: string };

let availability: Availability | undefined;

/** Whether a private Postfix can be started here, and if not, why. */
export function postfixAvailable(): Availability {
  availability ??= check();
  return availability;
}

function check(): Availability {
  if (process.platform !== 'linux') return { ok: false, why: `Postfix tests run on Linux only (this is ${process.platform})` };
  if (!fs.existsSync(POSTFIX)) {
    return { ok: false, why: `${POSTFIX} not found: install the Debian package "postfix" (see .ci/run or docs/mta-notes.md)` };
  }
  if (process.getuid?.() !== 0) return { ok: false, why: 'Postfix tests must run as root (the Postfix master needs it)' };
  if (!userExists('postfix')) return { ok: false, why: 'the system user "postfix" does not exist (is the postfix package installed?)' };
  if (!groupExists('postdrop')) return { ok: false, why: 'the system group "postdrop" does not exist (is the postfix package installed?)' };
  return { ok: true };
}

function userExists(name: string): boolean {
  return spawnSync('getent', ['passwd', name]).status === 0;
}

function groupExists(name: string): boolean {
  return spawnSync('getent', ['group', name]).status === 0;
}

/** Whether ::1 is configured on a loopback interface (Postfix cannot bind it otherwise). */
export function loopbackV6Available(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6' && i.address === '::1'));
}

/** True when Postfix tests must run (CI sets RELAY_CHECK_REQUIRE_POSTFIX=1). */
export function requirePostfix(): boolean {
  return process.env.RELAY_CHECK_REQUIRE_POSTFIX === '1';
}

/** The standard Postfix unix services, chroot off, as in Debian's master.cf: the gate's default set without its smtp listener. */
export const UNIX_SERVICES = `\n${DEFAULT_MASTER_CF.split('\n')
  .filter((l) => !/^\S+\s+inet\s/.test(l))
  .join('\n')}`;

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export const running = new Set<Instance>();
let exitHookInstalled = false;

export interface Instance {
  dir: string;
  stopped: boolean;
}

/**
 * Starts one Postfix with an smtpd per service on a free loopback port, and
 * returns once every one of them answers with a 220 greeting.
 */
export async function startPostfix(services: PostfixService[], mainCfExtra: Record<string, string> = {}): Promise<RunningPostfix> {
  const a = postfixAvailable();
  if (!a.ok) throw new Error(`cannot start Postfix: ${a.why}`);
  if (services.length === 0) throw new Error('startPostfix: no services');
  const names = new Set<string>();
  for (const s of services) {
    if (!/^[a-z0-9-]+$/i.test(s.name)) throw new Error(`startPostfix: bad service name "${s.name}"`);
    if (names.has(s.name)) throw new Error(`startPostfix: duplicate service name "${s.name}"`);
    names.add(s.name);
    if (s.address === '::1' && !loopbackV6Available()) throw new Error(`startPostfix: service "${s.name}" wants ::1, which is not configured here`);
    for (const o of s.overrides) {
      if (/[\r\n]/.test(o)) throw new Error(`startPostfix: override with a line break: ${JSON.stringify(o)}`);
      if (!o.startsWith('{') && /\s/.test(o)) throw new Error(`startPostfix: an override with spaces must be braced: ${JSON.stringify(o)}`);
    }
  }

  // A free port can be taken between our probe and Postfix's bind (parallel
  // jest workers); then Postfix fails with "Address already in use" and we try
  // again with new ports.
  let lastError: Error | undefined;
  for (let round = 1; round <= 3; round++) {
    const ports: Record<string, number> = {};
    for (const s of services) ports[s.name] = await freePort(s.address ?? '127.0.0.1');
    try {
      return await startOnce(services, ports, mainCfExtra);
    } catch (e) {
      lastError = e as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError;
}

async function startOnce(services: PostfixService[], ports: Record<string, number>, mainCfExtra: Record<string, string>): Promise<RunningPostfix> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-postfix-'));
  const instance: Instance = { dir, stopped: false };
  running.add(instance);
  installExitHook();
  const conf = path.join(dir, 'conf');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'maillog');
  try {
    // The postfix user must reach queue/ and data/ below the 0700 mkdtemp directory.
    fs.chmodSync(dir, 0o755);
    for (const d of [conf, queue, data]) fs.mkdirSync(d, { mode: 0o755 });
    const pw = spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postfix'], { encoding: 'utf8' });
    fs.chownSync(data, Number(pw.stdout.trim()), Number(gid.stdout.trim()));

    const main: Record<string, string> = {
      compatibility_level: '3.6',
      queue_directory: queue,
      data_directory: data,
      mail_owner: 'postfix',
      setgid_group: 'postdrop',
      myhostname: 'mx.relay-check.test',
      mydomain: 'relay-check.test',
      mydestination: '$myhostname, localhost',
      // Attempts open queue files they never finish; without this an open service
      // soon waits 1 s per MAIL FROM for delivery to catch up.
      in_flow_delay: '0',
      // Loopback stays out of mynetworks: the test client must be an untrusted stranger.
      mynetworks: '192.0.2.0/24',
      inet_interfaces: 'loopback-only',
      // Without ::1, inet_protocols = all makes Postfix fail to bind loopback-only.
      inet_protocols: loopbackV6Available() ? 'all' : 'ipv4',
      alias_maps: '',
      alias_database: '',
      // SAFETY: nothing is ever delivered anywhere.
      default_transport: 'discard:',
      relay_transport: 'discard:',
      local_transport: 'discard:',
      virtual_transport: 'discard:',
      maillog_file: log,
      maillog_file_prefixes: `${dir}, /var, /dev/stdout, /tmp`,
      smtputf8_enable: 'no',
      ...mainCfExtra,
    };
    for (const k of ['default_transport', 'relay_transport', 'local_transport', 'virtual_transport']) {
      if (!/^discard:/.test(main[k])) throw new Error(`startPostfix: ${k} must stay a discard transport (got "${main[k]}")`);
    }
    fs.writeFileSync(
      path.join(conf, 'main.cf'),
      Object.entries(main)
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n') + '\n',
    );
    if (services.filter((s) => s.postscreen).length > 1) throw new Error('startPostfix: one postscreen service per instance (they share the smtpd behind it)');
    const smtpds = services.flatMap((s) => {
      const addr = (s.address ?? '127.0.0.1') === '::1' ? '[::1]' : '127.0.0.1';
      const opts = s.overrides.map((o) => ` -o ${o}`).join('');
      if (!s.postscreen) return [`${addr}:${ports[s.name]} inet n - n - - smtpd -o syslog_name=postfix/${s.name}${opts}`];
      return [
        `${addr}:${ports[s.name]} inet n - n - 1 postscreen -o syslog_name=postfix/${s.name}${s.postscreen.map((o) => ` -o ${o}`).join('')}`,
        `smtpd pass - - n - - smtpd -o syslog_name=postfix/${s.name}${opts}`,
        'dnsblog unix - - n - 0 dnsblog',
        'tlsproxy unix - - n - 0 tlsproxy',
      ];
    });
    fs.writeFileSync(path.join(conf, 'master.cf'), `${smtpds.join('\n')}\n${UNIX_SERVICES}`);

    const started = spawnSync(POSTFIX, ['-c', conf, 'start'], { encoding: 'utf8', timeout: 30_000 });
    if (started.status !== 0) {
      throw new Error(`postfix start failed (exit ${started.status ?? started.signal}): ${why(log, started.stdout, started.stderr)}`);
    }
    for (const s of services) {
      const address = s.address ?? '127.0.0.1';
      const proxy = s.overrides.some((o) => /^smtpd_upstream_proxy_protocol=haproxy$/.test(o));
      await waitForGreeting(address, ports[s.name], READY_TIMEOUT_MS, () => readOr(log, ''), () => why(log, '', ''), s.name, proxy);
    }
  } catch (e) {
    await stopInstance(instance);
    throw e;
  }
  return {
    ports,
    dir,
    stop: () => stopInstance(instance),
    maillog: () => readOr(log, ''),
  };
}

/** The end of the log (the fatal line is there), else whatever postfix printed. */
function why(log: string, stdout: string, stderr: string): string {
  const lines = readOr(log, '')
    .split('\n')
    .filter((l) => /fatal|panic|error|warning/i.test(l));
  const text = [...lines.slice(-8), stdout.trim(), stderr.trim()].filter(Boolean).join(' | ');
  return text || 'no reason in the maillog';
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** A port that was free on `address` a moment ago. */
export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: address, port: 0, exclusive: true }, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls until the port gives a complete 220 greeting (final line "220 "), then says QUIT. */
async function waitForGreeting(
  address: string,
  port: number,
  timeoutMs: number,
  log: () => string,
  reason: () => string,
  name: string,
  proxy = false,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'never tried';
  while (Date.now() < until) {
    last = await greet(address, port, Math.max(200, Math.min(1000, until - Date.now())), { proxy });
    if (last === 'ok') return;
    // A fatal smtpd (bad -o override) never greets: say why at once instead of waiting it out.
    if (/fatal:|bad command startup/.test(log())) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Postfix service "${name}" on ${address}:${port} gave no 220 greeting (last try: ${last}); maillog: ${reason()}`);
}

/** One probe: 'ok' once a complete 220 greeting arrived (through TLS with `tls`), else why not. */
export function greet(address: string, port: number, timeoutMs: number, opts: { tls?: boolean; proxy?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = opts.tls ? tls.connect({ host: address, port, rejectUnauthorized: false }) : net.connect({ host: address, port });
    // A PROXY-protocol smtpd greets only after the header (smtpd_upstream_proxy_protocol = haproxy).
    if (opts.proxy) socket.write(`PROXY TCP4 127.0.0.1 127.0.0.1 40000 ${port}\r\n`);
    let buf = '';
    let settled = false;
    const done = (result: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result === 'ok') socket.end('QUIT\r\n');
      else socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no greeting within ${timeoutMs} ms (got ${JSON.stringify(buf)})`), timeoutMs);
    socket.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    socket.on('close', () => done(`closed (got ${JSON.stringify(buf)})`));
    socket.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      const lines = buf.split('\r\n');
      for (const l of lines.slice(0, -1)) {
        if (/^220 /.test(l)) return done('ok');
        if (!/^220-/.test(l)) return done(`unexpected greeting ${JSON.stringify(l)}`);
      }
    });
    // After QUIT, ignore the rest of the conversation.
    socket.on('end', () => socket.destroy());
  });
}

/**
 * Adds an smtpd line to a running instance's master.cf, reloads, and waits for
 * its greeting (through TLS for wrappermode). For what startPostfix cannot
 * start: a chosen port shared with another address, or implicit TLS.
 */
export async function addSmtpd(
  pf: RunningPostfix,
  s: { name: string; address: '127.0.0.1' | '127.0.0.2' | '::1'; port: number; overrides: string[]; tls?: boolean },
): Promise<void> {
  const conf = path.join(pf.dir, 'conf');
  const where = s.address === '::1' ? `[::1]:${s.port}` : `${s.address}:${s.port}`;
  const line = `${where} inet n - n - - smtpd -o syslog_name=postfix/${s.name}${s.overrides.map((o) => ` -o ${o}`).join('')}\n`;
  fs.appendFileSync(path.join(conf, 'master.cf'), line);
  const reload = spawnSync(POSTFIX, ['-c', conf, 'reload'], { encoding: 'utf8', timeout: 30_000 });
  if (reload.status !== 0) throw new Error(`postfix reload failed: ${reload.stderr} ${reload.stdout}`);
  const until = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < until) {
    if ((await greet(s.address, s.port, 1000, { tls: s.tls })) === 'ok') return;
    if (/address already in use/i.test(pf.maillog())) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  // Take the line out again so a retry on another port leaves no dead listener behind.
  fs.writeFileSync(path.join(conf, 'master.cf'), fs.readFileSync(path.join(conf, 'master.cf'), 'utf8').replace(line, ''));
  throw new Error(`the added smtpd on ${where} never greeted${s.tls ? ' through TLS' : ''}; maillog:\n${pf.maillog().split('\n').slice(-15).join('\n')}`);
}

export async function stopInstance(instance: Instance): Promise<void> {
  if (instance.stopped) return;
  instance.stopped = true;
  const conf = path.join(instance.dir, 'conf');
  const pid = masterPid(instance.dir);
  if (fs.existsSync(path.join(conf, 'main.cf'))) {
    spawnSync(POSTFIX, ['-c', conf, 'stop'], { encoding: 'utf8', timeout: STOP_TIMEOUT_MS });
  }
  if (pid !== undefined && alive(pid)) {
    // postfix stop failed or timed out: end the master ourselves (its children follow it).
    signal(pid, 'SIGTERM');
    const until = Date.now() + 5_000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) signal(pid, 'SIGKILL');
  }
  fs.rmSync(instance.dir, { recursive: true, force: true });
  running.delete(instance);
}


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** A test file that dies before afterAll must not leave a Postfix master behind. */
export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const inst of running) {
      const pid = masterPid(inst.dir);
      if (pid !== undefined) signal(pid, 'SIGKILL');
      try {
        fs.rmSync(inst.dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}
