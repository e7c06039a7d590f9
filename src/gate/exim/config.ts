import fs from 'node:fs';
import path from 'node:path';
import { run } from '../run.js';

/**
 * The Exim configuration of a repository directory, as the text Exim would read and
 * where each of its lines is in the repository. Three forms, looked for in order:
 *
 * - a plain Exim configuration: `configure` (Exim's own name), `exim.conf` or `exim4.conf`;
 * - Debian's: `update-exim4.conf.conf` with `exim4.conf.template` (unsplit) or `conf.d/`
 *   (split, `dc_use_split_config='true'`), turned into one file by Debian's own
 *   `update-exim4.conf` in a private place.
 *
 * `update-exim4.conf` reads `update-exim4.conf.conf` as a shell script (`. "$UE4CC"`):
 * the repository's file never reaches it. A copy holding only its `name='value'` lines,
 * with values of the characters Debian's own check allows, does; anything else there
 * is refused at its line. The script's fixed paths (/etc/mailname,
 * /etc/exim4/exim4.conf.localmacros) are pointed at the private place.
 */

export type EximForm = 'configure' | 'template' | 'split';

export interface RepoLine {
  text: string;
  /** The file in the repository directory (relative) and its 1-based line; null for a line Debian's script added. */
  file: string | null;
  line: number | null;
}

export interface EximSource {
  form: EximForm;
  lines: RepoLine[];
  /** What was changed to generate it, at the repository's lines. */
  changes: { file: string; line: number | null; subject: string; change: string }[];
  /** Debian's forms: the mailname (first word), which stands in for the machine's name. */
  mailname?: string;
  /** Debian's forms: the private copy of the directory that stands in for /etc/exim4 (the macro CONFDIR). */
  confdir?: string;
}

/** A line of update-exim4.conf.conf the gate will not pass to a shell, or a form it cannot read. */
export class EximConfigError extends Error {
  constructor(
    message: string,
    readonly problems: { file: string; line: number | null; change: string }[] = [],
  ) {
    super(message);
    this.name = 'EximConfigError';
  }
}

const PLAIN_NAMES = ['configure', 'exim.conf', 'exim4.conf'];
const UE4CC = 'update-exim4.conf.conf';
const CMD_TIMEOUT_MS = 30_000;

/** Which form the directory holds, or null. */
function eximForm(dir: string): { form: EximForm; file: string } | null {
  for (const name of PLAIN_NAMES) if (isFile(path.join(dir, name))) return { form: 'configure', file: name };
  if (!isFile(path.join(dir, UE4CC))) return null;
  const split = /^\s*dc_use_split_config\s*=\s*['"]?true['"]?\s*$/im.test(fs.readFileSync(path.join(dir, UE4CC), 'utf8'));
  return { form: split ? 'split' : 'template', file: UE4CC };
}

/** Whether a directory's file list (as git lists it) holds a form the gate reads. */
export function holdsEximConfig(paths: readonly string[]): boolean {
  return paths.some((p) => PLAIN_NAMES.includes(p) || p === UE4CC);
}

/** How deep the link check looks into the directory (conf.d/SECTION/FILE is two levels). */
const MAX_DEPTH = 4;

/**
 * A symbolic link in the directory that leads out of it is refused: Debian's script
 * (run by the gate's user) and the gate would read the runner's file through it, and
 * Exim's error messages could quote it into the report.
 */
function refuseOutsideLinks(dir: string, at = dir, depth = 0): void {
  const root = fs.realpathSync(dir);
  for (const e of fs.readdirSync(at, { withFileTypes: true })) {
    const p = path.join(at, e.name);
    if (e.name.startsWith('.git')) continue;
    if (e.isSymbolicLink()) {
      let real = '';
      try {
        real = fs.realpathSync(p);
      } catch {
        // A dangling link reads nothing.
        continue;
      }
      if (real !== root && !real.startsWith(`${root}${path.sep}`)) throw new EximConfigError(`${path.relative(dir, p)} is a link out of the directory (to ${real}): refused`, [{ file: path.relative(dir, p), line: null, change: 'a symbolic link out of the configuration directory: the gate reads only the directory' }]);
    } else if (e.isDirectory() && depth < MAX_DEPTH) refuseOutsideLinks(dir, p, depth + 1);
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Debian's check_ascii_pipe keeps these characters in a value; the gate refuses any other (no quote, `$`, backtick or backslash reaches the shell). */
const SAFE_VALUE = /^[-0-9A-Za-z/.!*@_~:;<> [\]]*$/;
const ASSIGNMENT = /^\s*(dc_[a-z0-9_]+|CFILEMODE|ue4c_keepcomments)=(?:'([^']*)'|"([^"$`\\]*)"|([^\s'"$`\\;&|()<>]*))\s*$/;

/** update-exim4.conf.conf as plain assignments the shell can only assign; refused lines with their numbers. */
function safeUe4cc(text: string): { text: string; refused: { line: number; change: string }[] } {
  const out: string[] = [];
  const refused: { line: number; change: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (/^\s*(#.*)?$/.test(raw)) return;
    const m = ASSIGNMENT.exec(raw);
    const value = m ? (m[2] ?? m[3] ?? m[4] ?? '') : undefined;
    if (!m || value === undefined || !SAFE_VALUE.test(value)) {
      // Only Debian's own names: any other (PATH, IFS, the script's own variables) would steer the script that sources the file.
      refused.push({ line: i + 1, change: "not a plain dc_…='value' line (or CFILEMODE, ue4c_keepcomments): update-exim4.conf runs this file as a shell script, so the gate passes on only Debian's settings with plain values" });
      return;
    }
    out.push(`${m[1]}='${value}'`);
  });
  return { text: `${out.join('\n')}\n`, refused };
}

/** Reads the directory's configuration (running Debian's script into `work` for its forms). */
export async function readEximSource(dir: string, work: string, eximRoot: string): Promise<EximSource> {
  const found = eximForm(dir);
  if (found === null) throw new EximConfigError(`no Exim configuration in ${dir}: expected a plain ${PLAIN_NAMES.map((n) => `\`${n}\``).join(', ')} file, or Debian's update-exim4.conf.conf with exim4.conf.template or conf.d/`);
  refuseOutsideLinks(dir);
  if (found.form === 'configure') {
    const lines = fs.readFileSync(path.join(dir, found.file), 'utf8').split('\n');
    return { form: 'configure', lines: lines.map((text, i) => ({ text, file: found.file, line: i + 1 })), changes: [] };
  }
  return debianSource(dir, work, eximRoot, found.form);
}

async function debianSource(dir: string, work: string, eximRoot: string, form: 'template' | 'split'): Promise<EximSource> {
  const ue = safeUe4cc(fs.readFileSync(path.join(dir, UE4CC), 'utf8'));
  if (ue.refused.length > 0) throw new EximConfigError(`${UE4CC} has lines the gate will not pass to a shell`, ue.refused.map((r) => ({ file: UE4CC, ...r })));
  const conf = path.join(work, 'debian');
  // The whole directory: Debian's configuration reads its own files there (CONFDIR/local_host_blacklist, …).
  fs.cpSync(dir, conf, { recursive: true, verbatimSymlinks: true, filter: (src) => !path.basename(src).startsWith('.git') });
  fs.writeFileSync(path.join(conf, UE4CC), ue.text);
  const changes: EximSource['changes'] = [];
  if (form === 'split') {
    if (!fs.existsSync(path.join(dir, 'conf.d'))) throw new EximConfigError(`${UE4CC} sets dc_use_split_config='true' but there is no conf.d/ beside it`, [{ file: UE4CC, line: null, change: 'no conf.d/' }]);
    fs.cpSync(path.join(dir, 'conf.d'), path.join(conf, 'conf.d'), { recursive: true, dereference: false, verbatimSymlinks: true });
  } else {
    if (!isFile(path.join(dir, 'exim4.conf.template'))) throw new EximConfigError(`${UE4CC} selects the unsplit configuration but there is no exim4.conf.template beside it`, [{ file: UE4CC, line: null, change: 'no exim4.conf.template' }]);
    fs.copyFileSync(path.join(dir, 'exim4.conf.template'), path.join(conf, 'exim4.conf.template'));
  }
  if (isFile(path.join(dir, 'exim4.conf.localmacros'))) fs.copyFileSync(path.join(dir, 'exim4.conf.localmacros'), path.join(conf, 'exim4.conf.localmacros'));
  const mailname = isFile(path.join(dir, 'mailname')) ? fs.readFileSync(path.join(dir, 'mailname'), 'utf8') : 'relay-check.invalid\n';
  if (!isFile(path.join(dir, 'mailname'))) changes.push({ file: UE4CC, line: null, subject: '/etc/mailname', change: 'the directory has no `mailname`: relay-check.invalid stands in for /etc/mailname' });
  fs.writeFileSync(path.join(conf, 'mailname'), mailname);
  const out = path.join(work, 'exim4.conf.generated');
  await generate(conf, out, eximRoot);
  const generated = fs.readFileSync(out, 'utf8').split('\n');
  const first = /^[-A-Za-z0-9.]+/.exec(mailname.trim())?.[0].toLowerCase();
  changes.push({ file: UE4CC, line: null, subject: 'CONFDIR', change: 'a private copy of the directory stands in for /etc/exim4 (the files Debian\'s configuration reads there, such as local_host_blacklist, are the directory\'s)' });
  return { form, lines: traceLines(generated, form === 'split' ? splitChunks(generated, conf) : templateChunks(dir)), changes, confdir: conf, ...(first ? { mailname: first } : {}) };
}

/** Debian's update-exim4.conf, its fixed paths pointed at `conf`, writing `out`. */
async function generate(conf: string, out: string, eximRoot: string): Promise<void> {
  const original = path.join(eximRoot, 'usr/sbin/update-exim4.conf');
  if (!isFile(original)) throw new EximConfigError(`Debian's update-exim4.conf is not at ${original} (part of the exim4-config package)`);
  const script = fs
    .readFileSync(original, 'utf8')
    .replaceAll('/etc/mailname', path.join(conf, 'mailname'))
    .replaceAll('/etc/exim4/exim4.conf.localmacros', path.join(conf, 'exim4.conf.localmacros'))
    .replaceAll('/etc/exim4/exim4.conf', path.join(conf, 'no-exim4.conf'))
    // As root it would give the file to the group Debian-exim, which a runner may not have.
    .replace('if [ "$(id -u)" = "0" ]; then', 'if false; then');
  const copy = path.join(conf, '..', 'update-exim4.conf');
  fs.writeFileSync(copy, script, { mode: 0o700 });
  // No environment of the runner's: the script's commands are the system's.
  const r = await run('env', ['-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'sh', copy, '--keepcomments', '-d', conf, '-o', out], { timeout: CMD_TIMEOUT_MS });
  if (r.status !== 0) throw new EximConfigError(`Debian's update-exim4.conf could not generate the configuration: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop() ?? ''}`);
}

interface Chunk {
  file: string;
  lines: string[];
  /** The generated line the chunk starts at or after. */
  from: number;
}

/** The split form: each conf.d file follows its `### /…/conf.d/SECTION/FILE` header. */
function splitChunks(generated: readonly string[], conf: string): Chunk[] {
  const chunks: Chunk[] = [];
  generated.forEach((l, i) => {
    const m = /^### (\/.*)$/.exec(l);
    if (!m || !m[1].startsWith(`${conf}/conf.d/`)) return;
    const rel = path.relative(conf, m[1]);
    chunks.push({ file: rel, lines: fs.readFileSync(m[1], 'utf8').split('\n'), from: i + 1 });
  });
  return chunks;
}

/** The unsplit form: exim4.conf.localmacros (when there is one), then exim4.conf.template. */
function templateChunks(dir: string): Chunk[] {
  return ['exim4.conf.localmacros', 'exim4.conf.template'].filter((f) => isFile(path.join(dir, f))).map((file) => ({ file, lines: fs.readFileSync(path.join(dir, file), 'utf8').split('\n'), from: 0 }));
}

/**
 * Each generated line with the repository line it is a copy of. The script only copies
 * files in order and adds lines (its header, the macros after `UPEX4CmacrosUPEX4C`, the
 * `###` markers), so each source line is found at or after the previous one's place.
 */
function traceLines(generated: readonly string[], chunks: readonly Chunk[]): RepoLine[] {
  const out: RepoLine[] = generated.map((text) => ({ text, file: null, line: null }));
  let at = 0;
  for (const c of chunks) {
    at = Math.max(at, c.from);
    c.lines.forEach((text, k) => {
      for (let j = at; j < generated.length; j++) {
        if (generated[j] !== text) continue;
        out[j] = { text, file: c.file, line: k + 1 };
        at = j + 1;
        return;
      }
    });
  }
  return out;
}
