import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GateError, type GateLog } from '../instance.js';
import { run } from '../run.js';
import { EximConfigError, readEximSource, type EximForm, type RepoLine } from './config.js';
import { listenHostCheck, type HostCheckListener } from './host-check.js';
import { refusalsIn, sandboxExim, type SourcedLine } from './sandbox.js';

/**
 * A private Exim built from a configuration directory: its own configuration, spool
 * and log in a temporary directory, and no daemon. Each SMTP session is one
 * `exim -bh ADDRESS` process (host-check.ts), run
 *
 * - as `nobody`, from a copy of the binary without its set-uid bit (Exim with a
 *   private -C configuration as an ordinary user gives up nothing it has: it reads
 *   only what `nobody` may read, writes only the private spool and log);
 * - in a network namespace of its own (`unshare --net`): no DNS, no socket, no
 *   callout reaches anything, whatever the configuration says;
 * - after the configuration as Exim reads it (`exim -bP config`) was searched for
 *   what runs a command or reaches a socket, which is refused (sandbox.ts).
 */

interface EximInstall {
  /** The unpacked or installed tree: `ROOT/usr/sbin/exim4`. */
  root: string;
  bin: string;
  /** LD_LIBRARY_PATH for an unpacked tree (.ci/install-exim), empty for an installed Exim. */
  libPath: string;
}

/** A gate that cannot start: one line naming the input; the problems at the repository's lines. */
function refuse(detail: string, problems: readonly { file: string; line: number | null; change: string }[] = []): GateError {
  return new GateError('exim-config', detail, problems.map((p) => ({ ...p, subject: 'exim-config', tested: false })));
}

export interface EximInstance {
  dir: string;
  version: string;
  form: EximForm;
  /** The configuration as run (`DIR/exim.conf`), line by line, with the repository line each came from. */
  lines: (SourcedLine & { repo: RepoLine | null })[];
  changes: { file: string; line: number | null; subject: string; change: string; tested: boolean }[];
  /** The first of the configuration's local domains that is a plain name, else its primary_hostname. */
  domain: string;
  localDomains: string[];
  /** The RCPT ACL's name (`acl_smtp_rcpt`), empty when there is none. */
  rcptAcl: string;
  /** update-exim4.conf.conf's lines (Debian's forms). */
  ue4cc?: string[];
  listener: HostCheckListener;
  /** The command each session runs (`… exim -C DIR/exim.conf -bh ADDRESS`). */
  hostCheckArgv: readonly string[];
  stop(): Promise<void>;
}

const CMD_TIMEOUT_MS = 30_000;

/** Where .ci/install-exim unpacks Exim unless RELAY_CHECK_EXIM_DIR says otherwise. */
const UNPACKED_DIR = '/opt/relay-check-exim';
/** Downloading and unpacking Debian's packages: minutes on a slow mirror. */
const INSTALL_TIMEOUT_MS = 300_000;

/** Exim from .ci/install-exim's folder (RELAY_CHECK_EXIM_DIR alone when set, else /opt/relay-check-exim), else the system's. */
function lookExim(): EximInstall | null {
  const roots = process.env.RELAY_CHECK_EXIM_DIR ? [process.env.RELAY_CHECK_EXIM_DIR] : [UNPACKED_DIR, '/'];
  for (const root of roots) {
    const bin = path.join(root, 'usr/sbin/exim4');
    if (fs.existsSync(bin)) return { root, bin, libPath: root === '/' ? '' : libraryPath(root) };
  }
  return null;
}

/** relay-check's own .ci/install-exim, beside the bundle (dist/) or the compiled sources (lib/src/gate/exim/). */
function installScript(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++, dir = path.dirname(dir)) {
    const script = path.join(dir, '.ci', 'install-exim');
    if (fs.existsSync(script)) return script;
  }
  return null;
}

/**
 * Exim, unpacked from Debian's packages when it is missing (as the Postfix gate installs
 * Postfix): .ci/install-exim downloads exim4-daemon-light and its companions and unpacks
 * them into a folder without installing them, so a Postfix on the machine stays as it is
 * (both packages provide mail-transport-agent).
 */
async function findExim(log?: GateLog): Promise<EximInstall> {
  const found = lookExim();
  if (found) return found;
  const script = installScript();
  if (script === null || !fs.existsSync('/usr/bin/apt-get')) throw refuse(`Exim not found: install Debian's exim4-daemon-light, or unpack it with relay-check's .ci/install-exim`);
  const dest = process.env.RELAY_CHECK_EXIM_DIR || UNPACKED_DIR;
  log?.(`Exim not found: unpacking Debian's exim4-daemon-light into ${dest} (.ci/install-exim; nothing is installed)`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const [cmd, ...args] = [...sudo, 'env', `RELAY_CHECK_EXIM_DIR=${dest}`, 'bash', script];
  const r = await run(cmd, args, { timeout: INSTALL_TIMEOUT_MS });
  log?.('install-exim', `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== ''));
  const after = lookExim();
  if (r.status !== 0 || after === null) throw refuse(`unpacking Exim failed: ${(r.stderr || r.error?.message || 'no output').trim().split('\n').pop() ?? ''}`);
  return after;
}

function libraryPath(root: string): string {
  const dirs: string[] = [];
  for (const base of ['lib', 'usr/lib']) {
    const at = path.join(root, base);
    if (!fs.existsSync(at)) continue;
    for (const n of fs.readdirSync(at).sort()) if (n.includes('-linux-gnu')) dirs.push(path.join(at, n));
  }
  return dirs.join(':');
}

/** The account the sessions run as: `nobody`'s uid and gid from /etc/passwd. */
function nobody(): { uid: number; gid: number } {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw refuse('there is no user `nobody` to run Exim as');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Folders an Exim lookup must not read, hidden under an empty tmpfs in the session's own
 * mount namespace: a configuration can name any file in a lookup (`${lookup{k}lsearch{/path}}`
 * in a deny message), and what `nobody` may read there lands in the report and the job
 * summary — the checkout's `.git/config` holds the job's token (actions/checkout's
 * persist-credentials). Not one that holds the instance itself.
 */
function hiddenDirs(inst: { bin: string; libPath: string; conf: string }): string[] {
  const candidates = ['/home', '/root', '/run/user', process.env.GITHUB_WORKSPACE, process.env.RUNNER_TEMP, process.env.RUNNER_TOOL_CACHE, process.cwd()];
  const holds = (dir: string, p: string): boolean => p === dir || p.startsWith(`${dir}${path.sep}`);
  return [...new Set(candidates.filter((d): d is string => typeof d === 'string' && path.isAbsolute(d) && d !== '/'))]
    .map((d) => path.resolve(d))
    .filter((d) => fs.existsSync(d) && fs.statSync(d).isDirectory() && ![inst.conf, inst.bin, ...inst.libPath.split(':').filter(Boolean)].some((p) => holds(d, path.resolve(p))));
}

/** Mounts an empty tmpfs over each folder given, then runs the rest: `sh -c SCRIPT sh N dir… cmd…`. */
const HIDE = 'n=$1; shift; while [ "$n" -gt 0 ]; do mount -t tmpfs -o size=64k,mode=555 relay-check-hidden "$1" || exit 97; shift; n=$((n-1)); done; exec "$@"';

/** How each Exim command runs: in its own network and mount namespaces (private folders hidden), as nobody, with no environment but the library path. */
function eximArgv(inst: { bin: string; libPath: string; conf: string }, args: readonly string[], asRoot = false): string[] {
  const who = nobody();
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const drop = asRoot ? [] : ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups'];
  const hide = hiddenDirs(inst);
  return [...sudo, 'unshare', '--net', '--mount', '--propagation', 'private', 'sh', '-c', HIDE, 'sh', String(hide.length), ...hide, ...drop, 'env', '-i', ...(inst.libPath ? [`LD_LIBRARY_PATH=${inst.libPath}`] : []), inst.bin, '-C', inst.conf, ...args];
}

async function exim(inst: { bin: string; libPath: string; conf: string }, args: readonly string[], asRoot = false): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const [cmd, ...rest] = eximArgv(inst, args, asRoot);
  return run(cmd, rest, { timeout: CMD_TIMEOUT_MS });
}

export interface EximGateOptions {
  configDir: string;
  /** The address every session is "as if from" (-bh). */
  client: string;
  log?: GateLog;
  onDir?: (dir: string) => void;
}

/** Builds the private configuration, checks it, and starts the -bh listener. */
export async function startEximGate(o: EximGateOptions): Promise<EximInstance> {
  const install = await findExim(o.log);
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-gate-')));
  o.onDir?.(dir);
  try {
    return await build(o, install, dir);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    if (e instanceof EximConfigError) throw refuse(e.message, e.problems);
    throw e;
  }
}

async function build(o: EximGateOptions, install: EximInstall, dir: string): Promise<EximInstance> {
  fs.chmodSync(dir, 0o755);
  const who = nobody();
  for (const d of ['spool', 'log']) {
    const at = path.join(dir, d);
    fs.mkdirSync(at, { mode: 0o755 });
    try {
      fs.chownSync(at, who.uid, who.gid);
    } catch {
      // Not root (sudo -n runs Exim): nobody must still write there.
      fs.chmodSync(at, 0o777);
    }
  }
  // A copy without the set-uid bit: as nobody it stays nobody.
  const bin = path.join(dir, 'exim4');
  fs.copyFileSync(install.bin, bin);
  fs.chmodSync(bin, 0o755);
  const source = await readEximSource(o.configDir, path.join(dir, 'source'), install.root);
  // Debian's CONFDIR (`.ifndef CONFDIR`) defined first: the directory's copy, not the runner's /etc/exim4.
  const confdir = source.confdir === undefined ? [] : [{ text: `CONFDIR = ${source.confdir}`, from: null }];
  const sandbox = sandboxExim(
    [...confdir, ...source.lines.map((l, i) => ({ text: l.text, from: i + 1 }))],
    { spool: path.join(dir, 'spool'), log: path.join(dir, 'log'), bin, user: who, ...(source.mailname ? { primaryHostname: source.mailname } : {}) },
  );
  const repoOf = (from: number | null): RepoLine | null => (from === null ? null : (source.lines[from - 1] ?? null));
  const atRepo = (from: number | null): { file: string; line: number | null } => {
    const r = repoOf(from);
    return { file: r?.file ?? eximFileOf(source.form), line: r?.line ?? null };
  };
  if (sandbox.refusals.length > 0) throw refuse(`the configuration runs code as Exim starts: ${sandbox.refusals[0].change}`, sandbox.refusals.map((r) => ({ ...atRepo(r.line), change: r.change })));
  const conf = path.join(dir, 'exim.conf');
  fs.writeFileSync(conf, `${sandbox.lines.map((l) => l.text).join('\n')}\n`, { mode: 0o644 });
  const lines = sandbox.lines.map((l) => ({ ...l, repo: repoOf(l.from) }));
  const inst = { bin, libPath: install.libPath, conf };
  const tlsOnly = await checkConfig(inst, lines, source.form);
  const version = /Exim version (\S+)/.exec((await exim(inst, ['-bV'])).stdout)?.[1] ?? 'unknown';
  const names = await namesOf(inst);
  const hostCheckArgv = eximArgv(inst, ['-bh', o.client]);
  const listener = await listenHostCheck({ argv: hostCheckArgv, env: { PATH: process.env.PATH } });
  const changes = [
    ...source.changes.map((c) => ({ ...c, tested: true })),
    ...sandbox.changes.map((c) => ({ ...atRepo(c.line), subject: c.subject, change: c.change, tested: c.subject !== 'tls_advertise_hosts' })),
    ...tlsOnly.map((r) => ({ file: r.file ?? eximFileOf(source.form), line: r.line, subject: 'encrypted', change: 'an ACL condition on TLS: host checking (-bh) has no TLS, so what it decides is not tested here', tested: false })),
    { file: eximFileOf(source.form), line: null, subject: 'sessions', change: `each SMTP session is \`exim -bh ${o.client}\` (host checking: through the ACLs, nothing delivered), as nobody, in a network namespace of its own (no DNS, no callout, no socket reaches anything)`, tested: true },
  ];
  let stopped: Promise<void> | undefined;
  return {
    dir,
    version,
    form: source.form,
    lines,
    changes,
    ...names,
    ...(source.form !== 'configure' ? { ue4cc: fs.readFileSync(path.join(o.configDir, 'update-exim4.conf.conf'), 'utf8').split('\n') } : {}),
    listener,
    hostCheckArgv,
    stop: () =>
      (stopped ??= (async () => {
        await listener.close();
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** The repository file a change without a line concerns. */
function eximFileOf(form: EximForm): string {
  return form === 'configure' ? 'configure' : 'update-exim4.conf.conf';
}

/**
 * Exim parses the configuration (-bV), then the printed configuration is searched for
 * what the gate refuses. Returns the repository lines of ACL conditions on TLS
 * (`encrypted = …`), which host checking cannot exercise.
 */
async function checkConfig(inst: { bin: string; libPath: string; conf: string }, lines: EximInstance['lines'], form: EximForm): Promise<RepoLine[]> {
  const v = await exim(inst, ['-bV']);
  const err = /configuration error in line (\d+) of (\S+):\s*\n?\s*(.*)/.exec(`${v.stderr}\n${v.stdout}`);
  if (v.status !== 0 || err) {
    const at = err && err[2] === inst.conf ? lines[Number(err[1]) - 1]?.repo : null;
    const what = err ? err[3].trim() : (v.stderr || v.stdout).trim().split('\n')[0];
    throw refuse(`Exim refuses the configuration: ${what}`, [{ file: at?.file ?? eximFileOf(form), line: at?.line ?? null, change: what }]);
  }
  // As root: for anyone else Exim prints a `hide` option as "<value not displayable>". Printing runs nothing.
  const printed = await exim(inst, ['-bP', 'config'], true);
  const refusals = refusalsIn(printed.stdout);
  const tls = /(^|\s)!?encrypted\s*=/;
  if (refusals.length === 0) return lines.filter((l) => l.repo?.file && !/^\s*#/.test(l.text) && tls.test(l.text)).map((l) => l.repo as RepoLine);
  const flat = (t: string): string => t.replace(/\s+/g, ' ').trim();
  const problems = refusals.map((r) => {
    // The printed line has its macros expanded: the run line that says the same, else the one that starts as it does up to its first expansion.
    const prefix = flat(r.text.split('${')[0]);
    const hit = lines.find((l) => l.repo !== null && flat(l.text) === flat(r.text)) ?? lines.find((l) => l.repo !== null && prefix !== '' && flat(l.text).startsWith(prefix) && l.text.includes('$'));
    return { file: hit?.repo?.file ?? eximFileOf(form), line: hit?.repo?.line ?? null, change: `${r.what}: refused (${r.text.slice(0, 120)})` };
  });
  throw refuse(`the configuration would run something on the runner: ${problems[0].change}`, problems);
}

/** The configuration's local domains and the domain the own-domain vectors use. */
async function namesOf(inst: { bin: string; libPath: string; conf: string }): Promise<{ domain: string; localDomains: string[]; rcptAcl: string }> {
  const r = await exim(inst, ['-bP', 'primary_hostname', '+local_domains', 'acl_smtp_rcpt']);
  const rcptAcl = /^acl_smtp_rcpt = (.*)$/m.exec(r.stdout)?.[1].trim() ?? '';
  const primary = /^primary_hostname = (.*)$/m.exec(r.stdout)?.[1].trim() ?? '';
  const list = /^domainlist local_domains = (.*)$/m.exec(r.stdout)?.[1].trim() ?? '';
  const localDomains = list
    .replace(/^<(.)\s*/, '')
    .split(/\s*:\s*/)
    .map((d) => (d === '@' ? primary : d))
    .filter((d) => /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(d) && d.includes('.'));
  return { domain: localDomains[0] ?? primary, localDomains, rcptAcl };
}
