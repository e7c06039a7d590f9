import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { killGroup, waitForGreeting } from './daemon.js';
import { describeWithMta, type Availability } from './describe-mta.js';
import { freePort } from './postfix.js';

/**
 * A real OpenSMTPD on loopback for the tests, run from the unpacked Debian package that
 * `.ci/install-opensmtpd` leaves in a fixed folder (opensmtpd cannot be installed beside
 * Postfix).
 *
 * smtpd's queue (/var/spool/smtpd), control socket (/run/smtpd.sock) and chroot
 * (/var/lib/opensmtpd/empty) are compiled in: no option or flag moves them, and a second
 * smtpd refuses to start while another holds the control socket. So each server runs in
 * its own mount namespace (`unshare --mount`) in which folders of its temp dir are bound
 * over /var/spool, /run and /var/lib: it gets a private queue and socket, the machine's
 * /var/spool and /run are never written, and removing the temp dir removes every trace.
 * (Binding over /run also leaves smtpd without a resolver if /etc/resolv.conf points into
 * /run: it needs none, everything here is an address literal.)
 *
 * NO MAIL LEAVES THE MACHINE, three times over:
 *  - smtpd starts with `-P mda -P mta`: local deliveries and remote transfers are paused
 *    for its whole life, so an accepted message only sits in the private queue, which is
 *    removed with the temp dir on stop();
 *  - the one relaying action, "out", may only hand mail to a sink this process runs on a
 *    loopback port (`relay host smtp://127.0.0.1:PORT`): no MX lookup, no other host; the
 *    sink counts connections and drops them, so a test can assert that none was tried;
 *  - local delivery is the mda `/bin/true` (it would read and discard the message).
 * relay-check itself never sends DATA, so its runs queue nothing at all.
 */

/** Where .ci/install-opensmtpd unpacks OpenSMTPD; the same variable overrides both. */
const OPENSMTPD_DIR = process.env.RELAY_CHECK_OPENSMTPD_DIR || '/opt/relay-check-opensmtpd';
const SMTPD_BIN = path.join(OPENSMTPD_DIR, 'usr/sbin/smtpd');
/** Debian builds smtpd with these privilege-separation users (upstream: _smtpd, _smtpq). */
const SMTPD_USERS = ['opensmtpd', 'opensmtpq'];
/** smtpd's own log is kept for failure messages and rule traces; a runaway one is cut. */
const MAX_LOG = 4 * 1024 * 1024;

type OpenSmtpdAvailability = { ok: true; bin: string; libDir: string; version: string } | { ok: false; why: string };

let availability: OpenSmtpdAvailability | undefined;

/** Whether the unpacked OpenSMTPD is there and can run here (cached: describeOpenSmtpd calls it at collection time). */
function openSmtpdAvailable(): OpenSmtpdAvailability {
  availability ??= probe();
  return availability;
}

function probe(): OpenSmtpdAvailability {
  const install = 'run `sudo .ci/install-opensmtpd`';
  if (process.platform !== 'linux') return { ok: false, why: `OpenSMTPD tests need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'OpenSMTPD tests need root: smtpd runs as root and drops to its own users, and each server needs a mount namespace' };
  try {
    fs.accessSync(SMTPD_BIN, fs.constants.X_OK);
  } catch {
    return { ok: false, why: `no OpenSMTPD at ${SMTPD_BIN}: ${install}` };
  }
  for (const u of SMTPD_USERS) {
    if (spawnSync('getent', ['passwd', u]).status !== 0) return { ok: false, why: `the user ${u} does not exist (smtpd refuses to start without it): ${install}` };
  }
  const libDir = libraryPath(OPENSMTPD_DIR);
  // -h prints "version: OpenSMTPD x" with the usage and exits 1: only the output counts.
  const h = spawnSync(SMTPD_BIN, ['-h'], { env: { ...process.env, LD_LIBRARY_PATH: libDir }, encoding: 'utf8', timeout: 10_000 });
  if (h.error) return { ok: false, why: `${SMTPD_BIN} -h failed: ${h.error.message}` };
  const v = /^version: OpenSMTPD (\S+)/im.exec(`${h.stdout}\n${h.stderr}`);
  if (!v) return { ok: false, why: `${SMTPD_BIN} -h did not print its version (${`${h.stderr}${h.stdout}`.trim().split('\n')[0] || `exit ${h.status ?? h.signal}`}): ${install}` };
  // The private queue and control socket need a mount namespace (see the top of this file).
  const ns = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (ns.error || ns.status !== 0) {
    return { ok: false, why: `cannot make a mount namespace (unshare --mount: ${ns.error?.message ?? ns.stderr.trim()}), which each test smtpd needs for its own queue and control socket` };
  }
  return { ok: true, bin: SMTPD_BIN, libDir, version: v[1] };
}

/** The unpacked multiarch library folders, for LD_LIBRARY_PATH (empty when the machine had every library). */
function libraryPath(root: string): string {
  const dirs: string[] = [];
  for (const base of ['lib', 'usr/lib']) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(root, base));
    } catch {
      continue;
    }
    for (const n of names.sort()) if (n.includes('-linux-gnu')) dirs.push(path.join(root, base, n));
  }
  return dirs.join(':');
}

/** The server's names, for assertions. relay-check derives the mail domain from the greeting's host name. */
export const OPENSMTPD_HOSTNAME = 'mx.opensmtpd.test';
export const OPENSMTPD_LOCAL_DOMAINS = ['mx.opensmtpd.test', 'opensmtpd.test'];
/**
 * The network the closed servers trust (RFC 5737 TEST-NET-1): anything but loopback.
 * OpenSMTPD's `from local` covers 127.0.0.1, where every test client connects from, and
 * OpenSMTPD has no XCLIENT (relay-check's only way to speak as another address), so a
 * server that trusted `local` would relay for the test itself, as Debian's stock
 * `match from local for any action "relay"` does.
 */
export const OPENSMTPD_TRUSTED_NET = '192.0.2.0/24';

/**
 * The `match` lines of the servers the tests use. Each names the action "local" (deliver
 * at the local domains) or "out" (relay), which openSmtpdConfig() defines.
 */
export const OPENSMTPD_RULES = {
  /** Own domains for everyone; relaying only for a trusted network the test client is not in. */
  closed: ['match from any for domain <local_domains> action "local"', `match from src ${OPENSMTPD_TRUSTED_NET} for any action "out"`],
  /** Everything relays for everyone: `match from any for any action relay`. */
  open: ['match from any for domain <local_domains> action "local"', 'match from any for any action "out"'],
  /** Closed, but any sender in the own mail domain relays (the rule trusts MAIL FROM, which anyone can write). */
  ownDomainSender: [
    'match from any for domain <local_domains> action "local"',
    'match from any mail-from "@opensmtpd.test" for any action "out"',
    `match from src ${OPENSMTPD_TRUSTED_NET} for any action "out"`,
  ],
  /** Debian's stock rules: local delivery for local, relaying `from local` (which loopback is). */
  stockLocal: ['match from any for domain <local_domains> action "local"', 'match from local for any action "out"'],
} as const satisfies Record<string, readonly string[]>;

export interface OpenSmtpdOptions {
  /**
   * The `match` lines (OPENSMTPD_RULES or any others): the only part that differs between
   * servers. They may use the tables <local_domains> and the actions "local" and "out".
   */
  rules: readonly string[];
  /**
   * The local domains accept any local part (a virtual catch-all to the user nobody), as a
   * domain with a catch-all mailbox does. Off: only system users (and postmaster, aliased to
   * root) exist, OpenSMTPD's stock shape, and other local parts get "550 Invalid recipient".
   */
  catchAll?: boolean;
}

/**
 * The whole smtpd.conf of a test server: loopback only, the given rules. `sinkPort` is the
 * loopback port the "out" action may hand mail to (the harness's sink); it must be loopback.
 */
export function openSmtpdConfig(port: number, sinkPort: number, opts: OpenSmtpdOptions): string {
  const local = opts.catchAll
    ? // "@" is the catch-all key of a virtual table: every local part expands to the user nobody.
      'table catchall { "@" = "nobody" }\naction "local" mda "/bin/true" virtual <catchall>'
    : 'table aliases { "postmaster" = "root" }\naction "local" mda "/bin/true" alias <aliases>';
  return `# relay-check test OpenSMTPD; written by __tests__/support/opensmtpd.ts
listen on 127.0.0.1 port ${port} hostname ${OPENSMTPD_HOSTNAME}
table local_domains { ${OPENSMTPD_LOCAL_DOMAINS.map((d) => `"${d}"`).join(', ')} }
# Nothing is delivered: smtpd runs with -P mda -P mta, and this mda would discard anyway.
${local}
# The only relay action: a sink on loopback (never an MX lookup, never another host).
action "out" relay host smtp://127.0.0.1:${sinkPort}

${opts.rules.join('\n')}
`;
}

export interface OpenSmtpdServer {
  port: number;
  /** The temp folder: smtpd.conf, spool/smtpd (the private queue), run/, varlib/. */
  dir: string;
  /** smtpd's log so far (it runs in the foreground, logging to stderr, tracing rules and expansions). */
  log(): string;
  /** Connections the "out" action made to the sink: none, while transfers are paused. */
  relayAttempts(): number;
  /** The envelopes in the private queue (messages a test sent DATA for), each file's text. */
  queuedEnvelopes(): string[];
  /** Stops smtpd (and every process it forked), closes the sink and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts an OpenSMTPD on 127.0.0.1 with the given `match` lines (see OPENSMTPD_RULES), waits
 * for its greeting, and returns it. A later diagnosis test configures the same servers by
 * passing the same rules (or its own).
 */
export async function startOpenSmtpd(opts: OpenSmtpdOptions): Promise<OpenSmtpdServer> {
  const avail = openSmtpdAvailable();
  if (!avail.ok) throw new Error(`OpenSMTPD is not available: ${avail.why}`);
  const sink = await startSink();
  let lastError: Error | undefined;
  try {
    for (let tries = 1; tries <= 3; tries++) {
      const port = await freePort();
      const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-opensmtpd-')));
      // smtpd creates spool/smtpd/* itself with its owners and modes; the chroot must be root's and not writable by others.
      for (const d of ['spool', 'run', 'varlib/opensmtpd/empty']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      const conf = path.join(dir, 'smtpd.conf');
      fs.writeFileSync(conf, openSmtpdConfig(port, sink.port, opts), { mode: 0o644 });
      const child = spawnInNamespace(avail.bin, avail.libDir, dir, conf);
      let output = '';
      const collect = (d: Buffer): void => {
        if (output.length < MAX_LOG) output += d.toString('latin1');
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      const exited = new Promise<string>((resolve) => {
        child.on('error', (e) => resolve(`could not start: ${e.message}`));
        child.on('exit', (code, signal) => resolve(`exited (${signal ?? code})`));
      });
      try {
        await waitForGreeting(port, exited);
        return server(port, dir, child, exited, () => output, sink);
      } catch (e) {
        await killGroup(child, exited);
        fs.rmSync(dir, { recursive: true, force: true });
        lastError = new Error(`OpenSMTPD did not start on 127.0.0.1:${port}: ${(e as Error).message}${output.trim() ? `\n${output.trim()}` : ''}`);
        // Someone took the port between freePort() and the bind: try another.
        if (!/address already in use/i.test(output)) break;
      }
    }
  } catch (e) {
    lastError = e as Error;
  }
  await sink.close();
  throw lastError ?? new Error('OpenSMTPD did not start');
}

/**
 * smtpd in the foreground (-d: logs to stderr), with deliveries and transfers paused
 * (-P mda -P mta), tracing which rule matched and how each address expanded, inside its own
 * mount namespace where the temp dir's folders stand in for the compiled-in paths.
 */
function spawnInNamespace(bin: string, libDir: string, dir: string, conf: string): ChildProcess {
  // The paths are positional arguments: nothing from the file system is pasted into the script.
  const script = 'set -e; mount --bind "$1" /var/spool; mount --bind "$2" /run; mount --bind "$3" /var/lib; shift 3; exec "$@"';
  const args = ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'opensmtpd-ns'];
  args.push(path.join(dir, 'spool'), path.join(dir, 'run'), path.join(dir, 'varlib'));
  args.push(bin, '-d', '-P', 'mda', '-P', 'mta', '-T', 'rules', '-T', 'expand', '-f', conf);
  return spawn('unshare', args, {
    env: { ...process.env, LD_LIBRARY_PATH: libDir },
    // Its own process group: stop() ends smtpd and the processes it forked.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface Sink {
  port: number;
  attempts(): number;
  close(): Promise<void>;
}

/** The loopback port the "out" action points at: it counts connections and drops each at once. */
function startSink(): Promise<Sink> {
  return new Promise((resolve, reject) => {
    let attempts = 0;
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((s) => {
      attempts++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.destroy();
    });
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const port = (srv.address() as net.AddressInfo).port;
      // It must not keep Jest alive if a test forgets stop().
      srv.unref();
      resolve({
        port,
        attempts: () => attempts,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            srv.close(() => done());
          }),
      });
    });
  });
}

function server(port: number, dir: string, child: ChildProcess, exited: Promise<string>, log: () => string, sink: Sink): OpenSmtpdServer {
  let stopping: Promise<void> | undefined;
  return {
    port,
    dir,
    log,
    relayAttempts: () => sink.attempts(),
    queuedEnvelopes: () => envelopes(path.join(dir, 'spool', 'smtpd', 'queue')),
    stop: () =>
      (stopping ??= (async () => {
        await killGroup(child, exited);
        await sink.close();
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/**
 * The queue is queue/<bucket>/<msgid>/ holding `message` and one file per envelope, named
 * by its 16-hex-digit id (measured on 6.8.0p2): the text of every envelope file.
 */
function envelopes(queue: string): string[] {
  const out: string[] = [];
  const list = (d: string): fs.Dirent[] => {
    try {
      return fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      return [];
    }
  };
  for (const bucket of list(queue).filter((e) => e.isDirectory())) {
    for (const msg of list(path.join(queue, bucket.name)).filter((e) => e.isDirectory())) {
      const dir = path.join(queue, bucket.name, msg.name);
      for (const f of list(dir)) if (f.isFile() && /^[0-9a-f]{16}$/.test(f.name)) out.push(fs.readFileSync(path.join(dir, f.name), 'utf8'));
    }
  }
  return out;
}

/** OpenSMTPD tests; CI sets RELAY_CHECK_REQUIRE_OPENSMTPD=1 so they cannot be skipped there. */
export function describeOpenSmtpd(name: string, fn: () => void): void {
  const a = openSmtpdAvailable();
  const availability: Availability = a.ok ? { ok: true } : a;
  describeWithMta('OpenSMTPD', 'RELAY_CHECK_REQUIRE_OPENSMTPD', availability, name, fn);
}
