import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { killGroup, waitForGreeting } from './daemon.js';
import { describeWithMta } from './describe-mta.js';
import { freePort } from './postfix.js';

/**
 * A real Sendmail 8 on loopback for the tests, run from the packages that
 * `.ci/install-sendmail` unpacks into a fixed folder (Sendmail cannot be
 * installed beside Postfix). Each server gets its own folder: an .mc built into
 * a .cf with the unpacked m4 and sendmail-cf, its own queue, pid file,
 * statistics, aliases, class files and access map. It listens on 127.0.0.1
 * only and delivers nothing (see NO DELIVERY below).
 *
 * Two things of a stock Sendmail would make a loopback test meaningless or slow,
 * and are changed here — the only departures from a stock .mc:
 *
 * - Trust of the local host. Ruleset Relay_ok relays for client address
 *   127.0.0.1 and ::1 unconditionally ("originated locally", hard-coded in
 *   cf/m4/proto.m4, no m4 switch), and for a client whose name is in class w,
 *   which always holds `localhost`. relay-check connects from 127.0.0.1, so every
 *   test server would be "open". The hard-coded lines are removed from the
 *   generated .cf (and the build fails if they are not found), and the server
 *   runs with a private /etc/hosts in which 127.0.0.1 is `client.outside.test`,
 *   a name in no class and no relay domain: the runner is an outsider, as it
 *   would be on the Internet. Access `Connect:127.0.0.1 RELAY` still trusts it
 *   (that lookup comes after the removed lines).
 * - Start-up name lookups. Before it reads its .cf, Sendmail qualifies the
 *   machine's host name; when it cannot (a bare name such as `vm`, not in
 *   /etc/hosts with a dot), it logs "My unqualified host name unknown; sleeping
 *   for retry" and sleeps 60 s — why the daemon of an earlier attempt did not
 *   listen within 15 s. The server therefore runs in its own UTS and mount
 *   namespaces (`unshare --uts --mount`, root only): host name mx.sendmail.test,
 *   a private /etc/hosts that resolves it, and a private nsswitch.conf with
 *   `hosts: files`, so no DNS is asked at all (this machine has none). Nothing
 *   outside the namespace changes.
 */

/** Where .ci/install-sendmail unpacks Sendmail; the same variable overrides both. */
const SENDMAIL_DIR = process.env.RELAY_CHECK_SENDMAIL_DIR || '/opt/relay-check-sendmail';
const SENDMAIL_BIN = path.join(SENDMAIL_DIR, 'usr/libexec/sendmail/sendmail');
const M4_BIN = path.join(SENDMAIL_DIR, 'usr/bin/m4');
const CF_M4 = path.join(SENDMAIL_DIR, 'usr/share/sendmail/cf/m4/cf.m4');

/** The server's name (greeting, $j) and the name 127.0.0.1 has inside its namespace. */
export const SENDMAIL_HOSTNAME = 'mx.sendmail.test';
const SENDMAIL_CLIENT_NAME = 'client.outside.test';

type SendmailAvailability = { ok: true; bin: string; libDir: string; version: string } | { ok: false; why: string };

let availability: SendmailAvailability | undefined;

/** Whether the unpacked Sendmail is there and runs in a namespace of its own (cached: describeSendmail calls it at collection time). */
function sendmailAvailable(): SendmailAvailability {
  availability ??= probe();
  return availability;
}

function probe(): SendmailAvailability {
  const install = 'run `sudo bash .ci/install-sendmail`';
  if (process.platform !== 'linux') return { ok: false, why: `Sendmail tests need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'Sendmail tests need root: the daemon runs in its own UTS and mount namespaces, with a private /etc/hosts' };
  for (const f of [SENDMAIL_BIN, M4_BIN]) {
    try {
      fs.accessSync(f, fs.constants.X_OK);
    } catch {
      return { ok: false, why: `no ${path.basename(f)} at ${f}: ${install}` };
    }
  }
  if (!fs.existsSync(CF_M4)) return { ok: false, why: `no sendmail-cf at ${CF_M4}: ${install}` };
  const libDir = path.join(SENDMAIL_DIR, 'usr/lib/x86_64-linux-gnu');
  // Run as the servers run (in their namespaces, see the header), so that this also proves
  // unshare works here (a container may refuse it). Outside them, on a machine with a bare
  // host name, Sendmail would sleep 60 s before it even read its config.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-sendmail-probe-'));
  try {
    writeResolution(dir);
    // No sendmail.cf in the folder: with -d0.1 Sendmail prints its version, then stops (EX_OSFILE); only the version counts.
    const p = namespaced(dir, SENDMAIL_BIN, ['-d0.1', '-bt']);
    const r = spawnSync(p.cmd, p.argv, { env: { ...process.env, LD_LIBRARY_PATH: libDir }, input: '', encoding: 'utf8', timeout: 10_000 });
    const version = /^Version (8\.[\d.]+)/m.exec(`${r.stdout}\n${r.stderr}`)?.[1];
    if (!version) {
      const said = r.error?.message ?? (`${r.stderr}\n${r.stdout}`.trim().split('\n')[0] || `exit ${r.status ?? r.signal}`);
      return { ok: false, why: `the unpacked Sendmail does not run in its own UTS and mount namespaces (unshare --uts --mount …): ${said} (missing? ${install})` };
    }
    return { ok: true, bin: SENDMAIL_BIN, libDir, version };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The cf/README features the tests configure (each one turns a relay rule on). */
type SendmailFeature = 'loose_relay_check' | 'promiscuous_relay' | 'relay_local_from' | 'relay_based_on_MX' | 'relay_entire_domain' | 'relay_hosts_only';

export interface SendmailOptions {
  /** Class w besides the host name: domains delivered locally (local users are checked at RCPT: "User unknown"). */
  localDomains?: string[];
  /** Class R (the relay-domains file): domains Sendmail relays to, for any client, without checking the mailbox. */
  relayDomains?: string[];
  features?: SendmailFeature[];
  /** Access map lines, key and value: `To:example.com RELAY`, `Connect:127.0.0.1 RELAY`. */
  access?: string[];
  /**
   * Debian's stock rate control (its sendmail.mc): FEATURE(ratecontrol, nodelay, terminate) with a
   * 10-minute window, confBAD_RCPT_THROTTLE 3, and `ClientRate:` 15 for every client (the test
   * client is 127.0.0.1, which Debian exempts; here it stands for an outside client).
   */
  rateControl?: boolean;
}

export interface SendmailServer {
  host: '127.0.0.1';
  port: number;
  /** The temp folder: sendmail.mc, sendmail.cf, queue/, traffic.log (-X). */
  dir: string;
  /** The version the binary reports (8.17.1.9 on Debian 12). */
  version: string;
  /** Every SMTP line the daemon exchanged so far (its -X traffic log; for failure messages). */
  traffic(): string;
  /** Stops the daemon (and its per-connection children) and removes the folder. */
  stop(): Promise<void>;
}

/** The files a server's .mc names, relative to its folder. */
const FILES = { hosts: 'hosts', nsswitch: 'nsswitch.conf', cw: 'local-host-names', cr: 'relay-domains', access: 'access', aliases: 'aliases', queue: 'queue', statistics: 'statistics', pid: 'sendmail.pid', helpFile: 'helpfile' } as const;

/** m4 quoting: `text'. The names written here never hold a quote. */
const q = (s: string): string => {
  if (/[`']/.test(s)) throw new Error(`no quotes in Sendmail test names: ${s}`);
  return `\`${s}'`;
};

/**
 * The .mc of one test server. NO DELIVERY, in three layers: DeliveryMode queueonly
 * (and -odq on the command line), no queue runner (the daemon starts without -q, so
 * nothing ever processes the queue, which is removed with the folder), and every
 * mailer a no-op: local and prog run /bin/true, and sendmailConfig() turns the
 * SMTP-family mailers from network connections ([IPC]) into /bin/true. A mailertable
 * `.` → discard: was tried and rejected: this Sendmail has no mailer named
 * "discard", so RCPT would be refused ("unknown mailer discard") and the relay
 * decision could no longer be seen.
 */
export function sendmailMc(dir: string, port: number, opts: SendmailOptions = {}): string {
  const f = (name: keyof typeof FILES): string => path.join(dir, FILES[name]);
  const features = opts.features ?? [];
  const lines = [
    `divert(-1)`,
    `# relay-check test Sendmail; written by __tests__/support/sendmail.ts`,
    `divert(0)dnl`,
    `include(${q(CF_M4)})dnl`,
    `OSTYPE(${q('linux')})dnl`,
    `dnl $j without any lookup (the greeting names it).`,
    `define(${q('confDOMAIN_NAME')}, ${q(SENDMAIL_HOSTNAME)})dnl`,
    `dnl No interface probing: it would put [127.0.0.1] into class w, a relay for the runner.`,
    `define(${q('confDONT_PROBE_INTERFACES')}, ${q('True')})dnl`,
    `dnl Host names from the private hosts file only, never DNS (none here; and no delay).`,
    `define(${q('confSERVICE_SWITCH_FILE')}, ${q(path.join(dir, 'service.switch'))})dnl`,
    `define(${q('confHOSTS_FILE')}, ${q(f('hosts'))})dnl`,
    `dnl No ident callback to the runner.`,
    `define(${q('confTO_IDENT')}, ${q('0')})dnl`,
    `dnl The folder lives in /tmp (sticky, world-writable), which Sendmail's file checks refuse otherwise.`,
    `define(${q('confDONT_BLAME_SENDMAIL')}, ${q('TrustStickyBit')})dnl`,
    `define(${q('confDELIVERY_MODE')}, ${q('queueonly')})dnl`,
    `define(${q('QUEUE_DIR')}, ${q(f('queue'))})dnl`,
    `define(${q('STATUS_FILE')}, ${q(f('statistics'))})dnl`,
    `define(${q('ALIAS_FILE')}, ${q(f('aliases'))})dnl`,
    `define(${q('HELP_FILE')}, ${q(f('helpFile'))})dnl`,
    `define(${q('confPID_FILE')}, ${q(f('pid'))})dnl`,
    `define(${q('confCW_FILE')}, ${q(f('cw'))})dnl`,
    `define(${q('confCR_FILE')}, ${q(f('cr'))})dnl`,
    `define(${q('LOCAL_MAILER_PATH')}, ${q('/bin/true')})dnl`,
    `define(${q('LOCAL_SHELL_PATH')}, ${q('/bin/true')})dnl`,
    `dnl One listener, loopback only; no_default_msa: else Sendmail also listens on port 587 of every address.`,
    `DAEMON_OPTIONS(${q(`Port=${port}, Addr=127.0.0.1, Name=MTA`)})dnl`,
    `FEATURE(${q('no_default_msa')})dnl`,
    `FEATURE(${q('use_cw_file')})dnl`,
    `dnl relay-check's senders are in reserved domains that resolve nowhere.`,
    `FEATURE(${q('accept_unresolvable_domains')})dnl`,
    `dnl A text map: no makemap, no Berkeley DB file; -k0 -v1, else a text map returns the key itself.`,
    `FEATURE(${q('access_db')}, ${q(`text -k0 -v1 -T<TMPF> ${f('access')}`)})dnl`,
    ...features.map((x) => `FEATURE(${q(x)})dnl`),
    ...(opts.rateControl
      ? [
          `define(${q('confCONNECTION_RATE_THROTTLE')}, ${q('15')})dnl`,
          `define(${q('confCONNECTION_RATE_WINDOW_SIZE')}, ${q('10m')})dnl`,
          `define(${q('confBAD_RCPT_THROTTLE')}, ${q('3')})dnl`,
          `FEATURE(${q('ratecontrol')}, ${q('nodelay')}, ${q('terminate')})dnl`,
        ]
      : []),
    `MAILER(${q('local')})dnl`,
    `MAILER(${q('smtp')})dnl`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The lines of Relay_ok that relay for the loopback client whatever the configuration (see the header). */
const LOOPBACK_TRUST = /^R(?:127\.0\.0\.1|IPv6:0:0:0:0:0:0:0:1|IPv6:::1)\t+\$@ RELAY\t+originated locally\n/gm;

/**
 * The .cf built from the .mc, with the loopback trust removed and the SMTP-family
 * mailers made no-ops. Throws if either edit finds nothing to change (another
 * sendmail-cf would otherwise silently make every server open, or able to send).
 */
export function sendmailConfig(mc: string): string {
  const m4 = spawnSync(M4_BIN, [], { input: mc, encoding: 'utf8', timeout: 10_000 });
  if (m4.status !== 0) throw new Error(`m4 failed (${m4.status ?? m4.signal}): ${m4.stderr}`);
  let cf = m4.stdout;
  const trust = cf.match(LOOPBACK_TRUST) ?? [];
  // FEATURE(promiscuous_relay) leaves Relay_ok out altogether: nothing to remove then.
  const expected = /^SRelay_ok$/m.test(cf) ? 3 : 0;
  if (trust.length !== expected) throw new Error(`expected ${expected} "originated locally" loopback rules in the .cf, found ${trust.length}`);
  cf = cf.replace(LOOPBACK_TRUST, '');
  let mailers = 0;
  cf = cf.replace(/^(M(?:smtp|esmtp|smtp8|dsmtp|relay),\s+)P=\[IPC\],(.*?)A=TCP \$h$/gms, (_all, head: string, middle: string) => {
    mailers++;
    return `${head}P=/bin/true,${middle}A=true`;
  });
  if (mailers !== 5) throw new Error(`expected 5 SMTP-family mailers with P=[IPC] in the .cf, rewrote ${mailers}`);
  return cf;
}

/**
 * The private /etc/hosts and /etc/nsswitch.conf of the namespace: 127.0.0.1 (the runner) has an
 * outsider's name; the server's own name is on another loopback address, so that qualifying it
 * needs no DNS and does not name the runner; host names come from that file only.
 */
function writeResolution(dir: string): void {
  fs.writeFileSync(path.join(dir, FILES.hosts), `127.0.0.1\t${SENDMAIL_CLIENT_NAME}\n127.0.0.2\t${SENDMAIL_HOSTNAME}\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, FILES.nsswitch), 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n', { mode: 0o644 });
}

/** Writes the folder of one server (everything but the .cf, which needs the port). */
function writeFolder(dir: string, opts: SendmailOptions): void {
  const w = (name: string, text: string): void => fs.writeFileSync(path.join(dir, name), text, { mode: 0o644 });
  writeResolution(dir);
  w('service.switch', 'hosts files\naliases files\n');
  w(FILES.cw, (opts.localDomains ?? []).map((d) => `${d}\n`).join(''));
  w(FILES.cr, (opts.relayDomains ?? []).map((d) => `${d}\n`).join(''));
  const access = [...(opts.access ?? []), ...(opts.rateControl ? ['ClientRate: 15'] : [])];
  w(FILES.access, access.map((l) => `${l.trim().replace(/\s+/, '\t')}\n`).join(''));
  // postmaster must exist (RFC 5321 §4.5.1); it is never delivered to (queue only, /bin/true).
  w(FILES.aliases, 'postmaster: root\nMAILER-DAEMON: postmaster\n');
  w(FILES.statistics, '');
  w(FILES.helpFile, '');
  fs.mkdirSync(path.join(dir, FILES.queue), { mode: 0o700 });
}

/** The command line that runs the unpacked Sendmail with `args` inside its own namespaces (see the header). */
function namespaced(dir: string, bin: string, args: string[]): { cmd: string; argv: string[] } {
  const script = [
    'set -e',
    'dir=$1',
    'shift',
    `hostname ${SENDMAIL_HOSTNAME}`,
    `mount --bind "$dir/${FILES.hosts}" /etc/hosts`,
    `mount --bind "$dir/${FILES.nsswitch}" /etc/nsswitch.conf`,
    // exec: this process becomes Sendmail, so the child stop() signals is the daemon.
    `exec "${bin}" -C "$dir/sendmail.cf" "$@"`,
  ].join('\n');
  // unshare without --fork execs sh in the new namespaces; --mount makes them private (no propagation back).
  return { cmd: 'unshare', argv: ['--uts', '--mount', 'sh', '-c', script, 'sendmail-namespace', dir, ...args] };
}

/**
 * Starts a Sendmail daemon on 127.0.0.1 configured by `opts` (SendmailOptions). Without
 * features or access entries it relays only to its relay domains (and delivers its local
 * domains): closed. Stop it with stop() (in afterAll).
 */
export async function startSendmail(opts: SendmailOptions = {}): Promise<SendmailServer> {
  const avail = sendmailAvailable();
  if (!avail.ok) throw new Error(`Sendmail is not available: ${avail.why}`);
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-sendmail-')));
  const env = { ...process.env, LD_LIBRARY_PATH: avail.libDir };
  const traffic = path.join(dir, 'traffic.log');
  const readTraffic = (): string => {
    try {
      return fs.readFileSync(traffic, 'utf8');
    } catch {
      return '';
    }
  };
  let lastError: Error | undefined;
  try {
    writeFolder(dir, opts);
    for (let tries = 1; tries <= 3; tries++) {
      const port = await freePort();
      const mc = sendmailMc(dir, port, opts);
      fs.writeFileSync(path.join(dir, 'sendmail.mc'), mc, { mode: 0o644 });
      fs.writeFileSync(path.join(dir, 'sendmail.cf'), sendmailConfig(mc), { mode: 0o644 });
      if (tries === 1) {
        // newaliases: the aliases database for postmaster.
        const bi = namespaced(dir, avail.bin, ['-bi']);
        const r = spawnSync(bi.cmd, bi.argv, { env, encoding: 'utf8', timeout: 20_000 });
        if (r.status !== 0) throw new Error(`sendmail -bi failed (${r.error?.message ?? r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
      }
      // -bD: the daemon in the foreground (this child is the daemon); -odq: queue only; no -q: no queue runs.
      const run = namespaced(dir, avail.bin, ['-bD', '-odq', '-X', traffic]);
      const child = spawn(run.cmd, run.argv, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<string>((resolve) => {
        child.on('error', (e) => resolve(`could not start: ${e.message}`));
        child.on('exit', (code, signal) => resolve(`exited (${signal ?? code})`));
      });
      try {
        await waitForGreeting(port, exited);
        return server(dir, port, avail.version, child, exited, readTraffic);
      } catch (e) {
        await killGroup(child, exited);
        lastError = new Error(`Sendmail did not start on 127.0.0.1:${port}: ${(e as Error).message}${output.trim() ? `\n${output.trim()}` : ''}`);
        // Someone took the port between freePort() and the bind: try another.
        if (!/address already in use/i.test(output)) break;
      }
    }
  } catch (e) {
    lastError = e as Error;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('Sendmail did not start');
}

function server(dir: string, port: number, version: string, child: ChildProcess, exited: Promise<string>, traffic: () => string): SendmailServer {
  let stopping: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    dir,
    version,
    traffic,
    stop: () =>
      (stopping ??= (async () => {
        await killGroup(child, exited);
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** Sendmail tests; CI sets RELAY_CHECK_REQUIRE_SENDMAIL=1 so they cannot be skipped there. */
export function describeSendmail(name: string, fn: () => void): void {
  describeWithMta('Sendmail', 'RELAY_CHECK_REQUIRE_SENDMAIL', sendmailAvailable(), name, fn);
}
