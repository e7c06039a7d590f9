import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killGroup, waitForGreeting } from './daemon.js';
import { describeWithMta } from './describe-mta.js';
import { freePort } from './postfix.js';

/**
 * A real Exim on loopback for the tests, run from the unpacked packages that
 * `.ci/install-exim` leaves in a fixed folder (Exim cannot be installed beside
 * Postfix). Each server gets its own config, spool and logs in a temp folder,
 * listens on 127.0.0.1 only, and delivers nothing: accepted messages are only
 * queued in that folder (queue_only), no transport exists, and the one router
 * discards (`:blackhole:`).
 */

/** Where .ci/install-exim unpacks Exim; the same variable overrides both. */
const EXIM_DIR = process.env.RELAY_CHECK_EXIM_DIR || '/opt/relay-check-exim';
const EXIM_BIN = path.join(EXIM_DIR, 'usr/sbin/exim4');

type EximAvailability = { ok: true; bin: string; libDir: string } | { ok: false; why: string };

let availability: EximAvailability | undefined;

/** Whether the unpacked Exim is there and runs (cached: describeExim calls it at collection time). */
function eximAvailable(): EximAvailability {
  availability ??= probe();
  return availability;
}

function probe(): EximAvailability {
  const install = 'run `sudo .ci/install-exim`';
  if (process.platform !== 'linux') return { ok: false, why: `Exim tests need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) {
    return { ok: false, why: 'Exim tests need root: Exim only keeps its privileges with a private -C config for root' };
  }
  try {
    fs.accessSync(EXIM_BIN, fs.constants.X_OK);
  } catch {
    return { ok: false, why: `no Exim at ${EXIM_BIN}: ${install}` };
  }
  const libDir = libraryPath(EXIM_DIR);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-probe-'));
  try {
    const conf = path.join(dir, 'exim.conf');
    fs.writeFileSync(conf, 'primary_hostname = relay-check.invalid\nkeep_environment =\n', { mode: 0o644 });
    const r = spawnSync(EXIM_BIN, ['-C', conf, '-bV'], {
      env: { ...process.env, LD_LIBRARY_PATH: libDir },
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (r.error) return { ok: false, why: `${EXIM_BIN} -bV failed: ${r.error.message}` };
    if (r.status !== 0 || !/^Exim version/m.test(r.stdout)) {
      const said = `${r.stderr}\n${r.stdout}`.trim().split('\n')[0] || `exit ${r.status ?? r.signal}`;
      return { ok: false, why: `${EXIM_BIN} -bV failed (${said}): ${install}` };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { ok: true, bin: EXIM_BIN, libDir };
}

/** The unpacked multiarch library folders, for LD_LIBRARY_PATH. */
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

export type EximKind = 'open' | 'closed';

export interface EximServer {
  port: number;
  /** The temp folder: exim.conf, spool/, log/mainlog, log/rejectlog, log/paniclog. */
  dir: string;
  kind: EximKind;
  /** Exim's main log so far (for failure messages). */
  mainlog(): string;
  /** Stops the daemon (and its per-connection children) and removes the folder. */
  stop(): Promise<void>;
}

export interface EximOptions {
  /**
   * Exim's stock shape: `require verify = recipient` after the relay check, and
   * only `postmaster` exists in the local domains, so any other local part is
   * refused at RCPT ("550 Unrouteable address"). Without it, any local part of
   * a local domain is accepted (and would bounce later).
   */
  verifyRecipient?: boolean;
  /** Offer STARTTLS (Exim makes itself a self-signed certificate). Off by default: one plaintext battery. */
  starttls?: boolean;
  /** ACL statements put first in acl_check_rcpt, one per line (the diagnosis tests' documented mistakes). */
  rcptAcl?: string[];
  /** The address to listen on instead of 127.0.0.1: one that exists only in a test's network namespace (seen-as-netns.test.ts). */
  listen?: string;
  /** `relay_from_hosts` instead of the kind's (a Docker-style trusted network: 172.16.0.0/12). */
  relayFromHosts?: string;
}

/** The server's names, for assertions. */
export const EXIM_HOSTNAME = 'mx.exim.test';
export const EXIM_LOCAL_DOMAINS = ['mx.exim.test', 'exim.test'];

export function eximConfig(kind: EximKind, dir: string, bin: string, opts: EximOptions = {}): string {
  // `<;` makes `;` the list separator, so the IPv6 network's colons are not list separators.
  // (0.0.0.0/0 alone would not need it: only a list holding an IPv6 address does.)
  const relayFrom = opts.relayFromHosts ?? (kind === 'open' ? '<; 0.0.0.0/0 ; ::/0' : '192.0.2.0/24');
  return `# relay-check test Exim (${kind}); written by __tests__/support/exim.ts
primary_hostname = ${EXIM_HOSTNAME}
domainlist local_domains = ${EXIM_LOCAL_DOMAINS.join(' : ')}
hostlist relay_from_hosts = ${relayFrom}

exim_user = root
exim_group = root
never_users =
# Re-execs (e.g. to remove the pid file on SIGTERM) use the unpacked binary, which needs its libraries.
exim_path = ${bin}
keep_environment = LD_LIBRARY_PATH
spool_directory = ${dir}/spool
log_file_path = ${dir}/log/%slog
local_interfaces = ${opts.listen ?? '127.0.0.1'}

# Loopback only, nothing to look up: no reverse DNS, no ident callbacks.
host_lookup =
rfc1413_hosts =
tls_advertise_hosts = ${opts.starttls ? '*' : ''}

# Nothing is ever delivered: accepted messages stay in the temp spool.
queue_only = true
acl_smtp_rcpt = acl_check_rcpt

begin acl

acl_check_rcpt:
${(opts.rcptAcl ?? []).map((l) => `  ${l}\n`).join('')}  accept  hosts = +relay_from_hosts
  require message = relay not permitted
          domains = +local_domains
${opts.verifyRecipient ? '  require verify = recipient\n' : ''}  accept

begin routers

# Every address that is routed at all is discarded. No transports are defined, so nothing can leave.
${
  opts.verifyRecipient
    ? `remote:
  driver = redirect
  domains = ! +local_domains
  data = :blackhole:

postmaster:
  driver = redirect
  domains = +local_domains
  local_parts = postmaster
  data = :blackhole:
`
    : `discard:
  driver = redirect
  data = :blackhole:
`
}`;
}

/** The unpacked Exim and its libraries, for a harness that starts it elsewhere (in a network namespace); throws saying why when missing. */
export function eximInstall(): { bin: string; libDir: string } {
  const avail = eximAvailable();
  if (!avail.ok) throw new Error(`Exim is not available: ${avail.why}`);
  return { bin: avail.bin, libDir: avail.libDir };
}

/** Whether Exim can run here, and why not (for a describe that needs more than Exim). */
export function eximAvailability(): { ok: true } | { ok: false; why: string } {
  const avail = eximAvailable();
  return avail.ok ? { ok: true } : avail;
}

/** Starts an Exim daemon on 127.0.0.1 that relays for everyone (`open`) or only for its domains (`closed`). */
export async function startExim(kind: EximKind, opts: EximOptions = {}): Promise<EximServer> {
  const avail = eximAvailable();
  if (!avail.ok) throw new Error(`Exim is not available: ${avail.why}`);
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `relay-check-exim-${kind}-`)));
  fs.mkdirSync(path.join(dir, 'spool'));
  fs.mkdirSync(path.join(dir, 'log'));
  // Exim refuses a -C config that others may write.
  const conf = path.join(dir, 'exim.conf');
  fs.writeFileSync(conf, eximConfig(kind, dir, avail.bin, opts), { mode: 0o644 });
  const pidFile = path.join(dir, 'exim.pid');
  const read = (name: string): string => {
    try {
      return fs.readFileSync(path.join(dir, 'log', name), 'utf8');
    } catch {
      return '';
    }
  };

  let lastError: Error | undefined;
  for (let tries = 1; tries <= 3; tries++) {
    const port = await freePort();
    // -bdf: the daemon stays in the foreground, so this child is the daemon.
    const child = spawn(avail.bin, ['-C', conf, '-bdf', '-oX', String(port), '-oP', pidFile], {
      env: { ...process.env, LD_LIBRARY_PATH: avail.libDir },
      // Its own process group: stop() ends the daemon and the children it forked per connection.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<string>((resolve) => {
      child.on('error', (e) => resolve(`could not start: ${e.message}`));
      child.on('exit', (code, signal) => resolve(`exited (${signal ?? code})`));
    });
    try {
      await waitForGreeting(port, exited);
      return server(kind, dir, port, child, exited, () => read('mainlog'));
    } catch (e) {
      await killGroup(child, exited);
      const logs = [output.trim(), read('paniclog').trim(), read('mainlog').trim()].filter(Boolean).join('\n');
      lastError = new Error(`Exim (${kind}) did not start on 127.0.0.1:${port}: ${(e as Error).message}${logs ? `\n${logs}` : ''}`);
      // Someone took the port between freePort() and the bind: try another.
      if (!/address already in use/i.test(logs)) break;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('Exim did not start');
}

function server(kind: EximKind, dir: string, port: number, child: ChildProcess, exited: Promise<string>, mainlog: () => string): EximServer {
  let stopping: Promise<void> | undefined;
  return {
    port,
    dir,
    kind,
    mainlog,
    stop: () =>
      (stopping ??= (async () => {
        await killGroup(child, exited);
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** Exim tests; CI sets RELAY_CHECK_REQUIRE_EXIM=1 so they cannot be skipped there. */
export function describeExim(name: string, fn: () => void): void {
  describeWithMta('Exim', 'RELAY_CHECK_REQUIRE_EXIM', eximAvailable(), name, fn);
}
