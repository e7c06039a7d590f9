import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AttemptOutcome, BaseChange, BaseReport, Report } from '../model/report.js';
import { GateError } from './instance.js';

/**
 * Base against head: the configuration directory as it was at the pull
 * request's base commit, read from git into a temporary directory (never
 * checked out over the working tree), so that it can run on a second private
 * Postfix; and the pure comparison of the two runs, per master.cf service and
 * vector.
 */

// --- which base ---

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The base commit of a pull_request event; undefined for any other event. Not
 * pull_request_target: there actions/checkout checks out the base itself, so the
 * work tree would be compared with itself (`base-ref` can still name one).
 */
export function pullRequestBase(eventName: string, payload: unknown): string | undefined {
  if (eventName !== 'pull_request') return undefined;
  const pr = (payload as { pull_request?: { base?: { sha?: unknown } } } | null)?.pull_request;
  const sha = pr?.base?.sha;
  // Only a full object name: it goes on a git command line.
  return typeof sha === 'string' && SHA.test(sha) ? sha : undefined;
}

// --- the base's files, from git ---

export type BaseCheckout =
  | { status: 'files'; commit: string; dir: string; remove: () => void }
  | { status: 'new'; commit: string }
  | { status: 'unavailable'; commit: string; warning: string };

const GIT_TIMEOUT_MS = 60_000;
/** As instance.ts allows in a configuration directory: more is not one. */
const MAX_FILES = 2_000;

interface Git {
  ok: boolean;
  out: Buffer;
  err: string;
}

function git(cwd: string, args: readonly string[]): Git {
  // No prompt for credentials (a runner has no terminal); the checkout's own credentials still apply.
  const r = spawnSync('git', ['-C', cwd, ...args], { timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return { ok: r.status === 0, out: r.stdout ?? Buffer.alloc(0), err: `${r.stderr?.toString() ?? ''}${r.error?.message ?? ''}`.trim() };
}

const text = (g: Git): string => g.out.toString('utf8').trim();

/** The commit a ref names, if this clone has it. */
function resolve(root: string, ref: string): string | undefined {
  const g = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return g.ok ? text(g) : undefined;
}

/**
 * The commit, fetched once from origin when the clone lacks it: actions/checkout
 * fetches only the merge commit by default (fetch-depth 1), without its parents.
 */
function resolveOrFetch(root: string, ref: string, log: (line: string) => void): string | undefined {
  const have = resolve(root, ref);
  if (have !== undefined) return have;
  log(`base ${ref} is not in this clone: git fetch --depth=1 origin ${ref}`);
  const fetched = git(root, ['fetch', '--depth=1', '--no-tags', '--quiet', 'origin', ref]);
  if (!fetched.ok) return undefined;
  // A sha is in the clone now; a branch or tag name is in FETCH_HEAD, which is what was fetched.
  return resolve(root, ref) ?? resolve(root, 'FETCH_HEAD');
}

/** Path segments listFiles (instance.ts) leaves out of a configuration directory, left out here too. */
function skipped(rel: string): boolean {
  return rel.split('/').some((s) => s.startsWith('.git') || s === 'node_modules');
}

/** `git ls-tree -r -z` entries: mode, type, object and path, for plain files only (no symlinks, no submodules). */
export function parseLsTree(out: string): { oid: string; path: string }[] {
  return out
    .split('\0')
    .filter(Boolean)
    .map((e) => /^(\d+) (\w+) ([0-9a-f]+)\t([\s\S]+)$/.exec(e))
    .filter((m): m is RegExpExecArray => m !== null && m[2] === 'blob' && (m[1] === '100644' || m[1] === '100755'))
    .map((m) => ({ oid: m[3], path: m[4] }));
}

/**
 * The configuration directory at `ref`, written to a temporary directory: every
 * file git holds under it (main.cf, master.cf and the map files beside them).
 * "new" when the directory (or its main.cf) is not there at the base: the pull
 * request adds it. "unavailable" with a warning when the base cannot be had.
 */
/** `holdsConfig`: whether the directory's files at the base are a configuration at all (Postfix: a main.cf; the Exim gate passes its own). */
export function checkoutBase(configDir: string, ref: string, log: (line: string) => void = () => undefined, holdsConfig: (paths: readonly string[]) => boolean = (p) => p.includes('main.cf')): BaseCheckout {
  const unavailable = (warning: string, commit = ref): BaseCheckout => ({ status: 'unavailable', commit, warning: `base not compared: ${warning}` });
  const top = git(configDir, ['rev-parse', '--show-toplevel']);
  if (!top.ok) return unavailable(`${configDir} is not in a git repository (${top.err.split('\n')[0] || 'git failed'})`);
  const root = text(top);
  // Where the directory sits in the repository, as git names it (symlinks and `..` resolved).
  const prefix = text(git(configDir, ['rev-parse', '--show-prefix'])).replace(/\/+$/, '');
  const commit = resolveOrFetch(root, ref, log);
  if (commit === undefined) return unavailable(`commit ${ref} not available; use actions/checkout with fetch-depth: 0`);
  const tree = `${commit}:${prefix}`;
  if (text(git(root, ['cat-file', '-t', tree])) !== 'tree') return { status: 'new', commit };
  const ls = git(root, ['ls-tree', '-r', '-z', tree]);
  if (!ls.ok) return unavailable(`git ls-tree ${tree} failed: ${ls.err.split('\n')[0]}`, commit);
  const files = parseLsTree(ls.out.toString('utf8')).filter((f) => !skipped(f.path));
  if (!holdsConfig(files.map((f) => f.path))) return { status: 'new', commit };
  if (files.length > MAX_FILES) return unavailable(`${prefix || '.'} at ${commit.slice(0, 12)} holds more than ${MAX_FILES} files`, commit);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-base-'));
  const remove = (): void => {
    process.off('exit', remove);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // The instance has its exit hooks; these files need one too (SIGTERM ends in process.exit).
  process.on('exit', remove);
  try {
    for (const f of files) {
      // By object name, which is what `git show <commit>:<path>` prints, without parsing the path as a revision.
      const blob = git(root, ['cat-file', 'blob', f.oid]);
      if (!blob.ok) throw new Error(`git cat-file ${f.path} failed: ${blob.err.split('\n')[0]}`);
      const to = path.join(dir, f.path);
      // git never stores `..` or absolute paths, but the files land outside the repository: check anyway.
      if (!to.startsWith(dir + path.sep)) throw new Error(`${f.path} leaves the directory`);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, blob.out);
    }
  } catch (e) {
    remove();
    return unavailable((e as Error).message, commit);
  }
  log(`base ${commit.slice(0, 12)}: ${files.length} file(s) of ${prefix || '.'} from git`);
  return { status: 'files', commit, dir, remove };
}

// --- the comparison (pure) ---

/** Worst first: a vector that relayed on any transport of a service relayed on that service. */
const RANK: Record<AttemptOutcome, number> = { relayed: 3, inconclusive: 2, denied: 1, skipped: 0 };

/** Each master.cf service's outcome per vector, merged over its transports, in the order the report has them. */
export function outcomesByService(r: Report): Map<string, Map<string, AttemptOutcome>> {
  const nameOf = new Map((r.gate?.services ?? []).map((s) => [s.port, s.name]));
  const out = new Map<string, Map<string, AttemptOutcome>>();
  for (const t of r.targets) {
    const service = nameOf.get(t.port) ?? String(t.port);
    const m = out.get(service) ?? new Map<string, AttemptOutcome>();
    out.set(service, m);
    for (const a of t.attempts) {
      const prev = m.get(a.vector);
      if (prev === undefined || RANK[a.outcome] > RANK[prev]) m.set(a.vector, a.outcome);
    }
  }
  return out;
}

/** Head against base for one vector; null where it did not run (a service only one side has). */
export function changeOf(head: AttemptOutcome | null, base: AttemptOutcome | null): BaseChange {
  const h = head === 'relayed';
  const b = base === 'relayed';
  return h && b ? 'unchanged-open' : h ? 'opened' : b ? 'closed' : 'unchanged';
}

export type Outcomes = ReadonlyMap<string, ReadonlyMap<string, AttemptOutcome>>;

/** One row per service and vector of either side: head's services first, then those only the base has. */
export function compareOutcomes(head: Outcomes, base: Outcomes): BaseReport['changes'] {
  const rows: BaseReport['changes'] = [];
  const services = [...new Set([...head.keys(), ...base.keys()])];
  for (const service of services) {
    const h = head.get(service) ?? new Map<string, AttemptOutcome>();
    const b = base.get(service) ?? new Map<string, AttemptOutcome>();
    for (const vector of new Set([...h.keys(), ...b.keys()])) {
      const ho = h.get(vector) ?? null;
      const bo = b.get(vector) ?? null;
      rows.push({ service, vector, head: ho, base: bo, change: changeOf(ho, bo) });
    }
  }
  return rows;
}

/** The report's `gate.base` for two runs. */
export function compareRuns(commit: string, configDir: string, head: Report, base: Report): BaseReport {
  return baseReport(commit, configDir, 'compared', compareOutcomes(outcomesByService(head), outcomesByService(base)));
}

export function baseReport(commit: string, configDir: string, status: BaseReport['status'], changes: BaseReport['changes'] = [], warning?: string): BaseReport {
  const n = (c: BaseChange): number => changes.filter((x) => x.change === c).length;
  return { commit, configDir, status, ...(warning !== undefined ? { warning } : {}), changes, opened: n('opened'), closed: n('closed'), predates: n('unchanged-open') };
}

/**
 * The same directory at the base commit, tested by `runBase` after the head's instance
 * is gone (one instance at a time: no port collisions, the runner's two cores not shared).
 * The base never decides the step: what fails is what the head does. A base that does not
 * start (a configuration the MTA refused then) leaves nothing to compare; the head's result stands.
 */
export async function againstBase(
  head: Report,
  configDir: string,
  ref: string,
  o: { how: string; log?: (line: string) => void; holdsConfig?: (paths: readonly string[]) => boolean; runBase: (dir: string) => Promise<Report> },
): Promise<BaseReport> {
  const at = checkoutBase(configDir, ref, o.log, o.holdsConfig);
  if (at.status === 'new') return baseReport(at.commit, configDir, 'new');
  if (at.status === 'unavailable') return baseReport(at.commit, configDir, 'unavailable', [], at.warning);
  try {
    o.log?.(`testing the base configuration (commit ${at.commit.slice(0, 12)}) ${o.how}`);
    return compareRuns(at.commit, configDir, head, await o.runBase(at.dir));
  } catch (e) {
    if (!(e instanceof GateError)) throw e;
    return baseReport(at.commit, configDir, 'unavailable', [], `base not compared: the configuration at commit ${at.commit.slice(0, 12)} does not start: ${e.message.replaceAll(at.dir, `${configDir}@${at.commit.slice(0, 12)}`)}`);
  } finally {
    at.remove();
  }
}
