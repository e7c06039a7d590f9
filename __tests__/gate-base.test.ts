import { afterAll, describe, expect, test } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { changeOf, checkoutBase, compareOutcomes, compareRuns, outcomesByService, parseLsTree, pullRequestBase, baseReport } from '../src/gate/base.js';
import { runGate } from '../src/gate/gate.js';
import { baseSummaryLines, baseTerminalLines } from '../src/report/base.js';
import type { AttemptOutcome, AttemptReport, BaseReport, GateReport, Report, TargetReport } from '../src/model/report.js';
import { renderSummary } from '../src/report/summary.js';
import { parseSettings } from '../src/settings.js';
import { parseOutputs, ROOT } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { expectValid } from './support/schema.js';

/**
 * Base against head (issue 11, §4): the configuration directory at the pull
 * request's base commit, read from git and tested on a second private Postfix,
 * compared per master.cf service and vector with the head. The pure parts first
 * (comparison, rendering, reading git), then real Postfix on temporary
 * repositories made from the gate fixtures.
 */

const FIXTURES = path.join(ROOT, '__tests__', 'fixtures', 'gate');
const temps: string[] = [];
/** Extracted base directories already in the temporary directory before this file ran (another run's). */
const BASE_DIRS = /^relay-check-base-[A-Za-z0-9]{6}$/;
const preexisting = new Set(fs.readdirSync(os.tmpdir()).filter((f) => BASE_DIRS.test(f)));
afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org', GIT_CONFIG_NOSYSTEM: '1' };
function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: GIT_ENV });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Replaces `postfix/` of the work tree with a fixture (or removes it) and commits; returns the commit. */
function commitConfig(repo: string, fixture: string | null, message: string, extra: Record<string, string> = {}): string {
  fs.rmSync(path.join(repo, 'postfix'), { recursive: true, force: true });
  if (fixture !== null) fs.cpSync(path.join(FIXTURES, fixture), path.join(repo, 'postfix'), { recursive: true });
  for (const [f, content] of Object.entries(extra)) {
    fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
    fs.writeFileSync(path.join(repo, f), content);
  }
  fs.writeFileSync(path.join(repo, 'README'), message);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

/** A repository whose base commit holds `base` in postfix/ and whose HEAD (the pull request) holds `head`. */
function prRepo(base: string | null, head: string, headExtra: Record<string, string> = {}): { repo: string; base: string; config: string } {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-base-repo-'));
  temps.push(repo);
  git(repo, 'init', '-q', '-b', 'main');
  const b = commitConfig(repo, base, 'base');
  commitConfig(repo, head, 'head', headExtra);
  return { repo, base: b, config: path.join(repo, 'postfix') };
}

// --- pure: the comparison ---

function attempt(vector: string, outcome: AttemptOutcome): AttemptReport {
  return { vector, description: vector, provenance: '', helo: null, mailFrom: '<a@example.net>', rcptTo: ['<b@example.com>'], outcome, reason: '', rule: null, reply: null, stage: null, connection: 1, routedVia: null, tries: 1, transcript: [] };
}

function target(port: number, transport: TargetReport['transport'], attempts: AttemptReport[]): TargetReport {
  return {
    host: '127.0.0.1', address: '127.0.0.1', family: 4, port, transport, tls: null, reachable: true, error: null, errorKind: null, greeting: null, serverName: null,
    extensions: [], opening: [], connections: 1, controls: [], errorBudget: 0, durationMs: 0, verdict: 'closed', counts: { tests: 0, relayed: 0, denied: 0, inconclusive: 0, skipped: 0 }, attempts,
  };
}

/** A gate report with the given services (name → port) and targets. */
function gateReport(services: Record<string, number>, targets: TargetReport[]): Report {
  const gate: GateReport = { configDir: 'postfix/', commit: null, postfixVersion: '3.7', changes: [], services: Object.entries(services).map(([name, port]) => ({ name, original: name, command: 'smtpd', wrapper: false, tlsRequired: false, address: '127.0.0.1', port, line: 1 })) };
  return { targets, gate } as unknown as Report;
}

describe('the comparison, per master.cf service and vector', () => {
  test('relayed on head only: opened; on the base only: closed; on both: unchanged-open; on neither: unchanged', () => {
    expect(changeOf('relayed', 'denied')).toBe('opened');
    expect(changeOf('relayed', 'inconclusive')).toBe('opened');
    expect(changeOf('denied', 'relayed')).toBe('closed');
    expect(changeOf('skipped', 'relayed')).toBe('closed');
    expect(changeOf('relayed', 'relayed')).toBe('unchanged-open');
    expect(changeOf('denied', 'inconclusive')).toBe('unchanged');
    // A service only one side has: a relay there was opened (or closed) by the change.
    expect(changeOf('relayed', null)).toBe('opened');
    expect(changeOf(null, 'relayed')).toBe('closed');
    expect(changeOf('denied', null)).toBe('unchanged');
  });

  test("a service's outcome per vector is the worst over its transports, and services are named by master.cf, not port", () => {
    const r = gateReport({ smtp: 40001, submission: 40002 }, [
      target(40001, 'plain', [attempt('plain', 'denied'), attempt('null-sender', 'inconclusive')]),
      target(40001, 'starttls', [attempt('plain', 'relayed'), attempt('null-sender', 'denied')]),
      target(40002, 'plain', [attempt('plain', 'skipped')]),
    ]);
    const m = outcomesByService(r);
    expect([...m.keys()]).toEqual(['smtp', 'submission']);
    expect(Object.fromEntries(m.get('smtp') ?? [])).toEqual({ plain: 'relayed', 'null-sender': 'inconclusive' });
    expect(Object.fromEntries(m.get('submission') ?? [])).toEqual({ plain: 'skipped' });
  });

  test('the ports differ between the runs (free ports): the service name still pairs them; services of one side only get null on the other', () => {
    const head = gateReport({ smtp: 41000, submission: 41001 }, [
      target(41000, 'plain', [attempt('plain', 'relayed'), attempt('percent-hack', 'relayed'), attempt('null-sender', 'denied')]),
      target(41001, 'plain', [attempt('plain', 'relayed')]),
    ]);
    const base = gateReport({ smtp: 52000, smtps: 52001 }, [
      target(52000, 'plain', [attempt('plain', 'relayed'), attempt('percent-hack', 'denied'), attempt('null-sender', 'relayed')]),
      target(52001, 'implicit', [attempt('plain', 'relayed')]),
    ]);
    const b = compareRuns('c'.repeat(40), 'postfix/', head, base);
    expect(b.changes).toEqual([
      { service: 'smtp', vector: 'plain', head: 'relayed', base: 'relayed', change: 'unchanged-open' },
      { service: 'smtp', vector: 'percent-hack', head: 'relayed', base: 'denied', change: 'opened' },
      { service: 'smtp', vector: 'null-sender', head: 'denied', base: 'relayed', change: 'closed' },
      { service: 'submission', vector: 'plain', head: 'relayed', base: null, change: 'opened' },
      { service: 'smtps', vector: 'plain', head: null, base: 'relayed', change: 'closed' },
    ]);
    expect({ status: b.status, opened: b.opened, closed: b.closed, predates: b.predates }).toEqual({ status: 'compared', opened: 2, closed: 2, predates: 1 });
    expect('warning' in b).toBe(false);
  });

  test('no services on either side: nothing to compare, all counts zero', () => {
    expect(compareOutcomes(new Map(), new Map())).toEqual([]);
    expect(baseReport('x', 'postfix/', 'new')).toEqual({ commit: 'x', configDir: 'postfix/', status: 'new', changes: [], opened: 0, closed: 0, predates: 0 });
  });
});

describe('which base', () => {
  test("a pull_request event's base.sha; nothing for other events or anything that is not a full object name", () => {
    const sha = '0123456789abcdef0123456789abcdef01234567';
    expect(pullRequestBase('pull_request', { pull_request: { number: 3, base: { sha, ref: 'main' } } })).toBe(sha);
    expect(pullRequestBase('pull_request', { pull_request: { base: { sha: 'a'.repeat(64) } } })).toBe('a'.repeat(64));
    expect(pullRequestBase('pull_request', {})).toBeUndefined();
    // pull_request_target checks out the base: the work tree is not the pull request's.
    expect(pullRequestBase('pull_request_target', { pull_request: { base: { sha } } })).toBeUndefined();
    expect(pullRequestBase('push', { pull_request: { base: { sha } } })).toBeUndefined();
    expect(pullRequestBase('pull_request', null)).toBeUndefined();
    expect(pullRequestBase('pull_request', { head_commit: { id: sha } })).toBeUndefined();
    expect(pullRequestBase('pull_request', { pull_request: { base: { sha: '--upload-pack=x' } } })).toBeUndefined();
    expect(pullRequestBase('pull_request', { pull_request: { base: { sha: 'main' } } })).toBeUndefined();
  });
});

// --- pure: rendering ---

const SHA = 'abc1234def5678abc1234def5678abc1234def56';
function compared(changes: BaseReport['changes']): GateReport {
  return { configDir: 'postfix/', commit: null, postfixVersion: '3.7', services: [], changes: [], base: baseReport(SHA, 'postfix/', 'compared', changes) };
}
const row = (service: string, vector: string, head: AttemptOutcome | null, base: AttemptOutcome | null): BaseReport['changes'][number] => ({ service, vector, head, base, change: changeOf(head, base) });

describe('"Against the base" in the summary and the terminal', () => {
  test('a relay open on the base too: the summary says it predates the pull request, and that it still fails the step', () => {
    const lines = baseSummaryLines(compared([row('smtp', 'plain', 'relayed', 'relayed'), row('smtp', 'null-sender', 'relayed', 'relayed'), row('smtp', 'helo-localhost', 'denied', 'denied')]));
    const md = lines.join('\n');
    expect(lines[0]).toBe('### Against the base');
    expect(md).toContain('already open on the base (commit abc1234): this pull request did not open it (2 vectors on smtp relayed there too)');
    expect(md).toContain('An open relay fails the step even when it predates the pull request');
    expect(md).toContain('| <code>smtp</code> | already open on the base | 2: <code>plain</code>, <code>null-sender</code> |');
    expect(md).not.toContain('opened');
    expect(baseTerminalLines(compared([row('smtp', 'plain', 'relayed', 'relayed')]))).toEqual(['against the base: already open on the base (commit abc1234): this pull request did not open it (1 vector on smtp relayed there too)']);
  });

  test('opened and closed by the pull request, a service only on one side; unchanged vectors are not listed', () => {
    const md = baseSummaryLines(compared([row('smtp', 'plain', 'relayed', 'denied'), row('smtp', 'null-sender', 'denied', 'relayed'), row('smtp', 'helo-x', 'denied', 'denied'), row('submission', 'plain', 'relayed', null)])).join('\n');
    expect(md).toContain('this pull request opened 1 vector on smtp and submission that the base (commit abc1234) refused; this pull request closed 1 vector on smtp that relayed on the base');
    expect(md).toContain('| <code>smtp</code> | **opened** by this pull request | 1: <code>plain</code> |');
    expect(md).toContain('| <code>submission</code> | **opened** by this pull request | 1: <code>plain</code> |');
    expect(md).toContain('| <code>smtp</code> | closed by this pull request | 1: <code>null-sender</code> |');
    expect(md).toContain('Only in this pull request: <code>submission</code>.');
    expect(md).not.toContain('helo-x');
    expect(md).not.toContain('predates');
  });

  test('nothing relays on either side: one sentence, no table', () => {
    const md = baseSummaryLines(compared([row('smtp', 'plain', 'denied', 'denied')])).join('\n');
    expect(md).toContain('nothing relays on the base (commit abc1234) or here');
    expect(md).not.toContain('|');
  });

  test('new and unavailable', () => {
    const g = (b: BaseReport): GateReport => ({ configDir: 'postfix/', commit: null, postfixVersion: '3.7', services: [], changes: [], base: b });
    expect(baseSummaryLines(g(baseReport(SHA, 'postfix/', 'new'))).join('\n')).toContain('<code>postfix/</code> does not exist at the base (commit <code>abc1234</code>): a new configuration, nothing to compare.');
    const warning = 'base not compared: commit 1234 not available; use actions/checkout with fetch-depth: 0';
    expect(baseSummaryLines(g(baseReport('1234', 'postfix/', 'unavailable', [], warning)))).toEqual(['### Against the base', '', '> [!WARNING]', '> base not compared&#58; commit 1234 not available; use actions/checkout with fetch-depth&#58; 0']);
    expect(baseTerminalLines(g(baseReport('1234', 'postfix/', 'unavailable', [], warning)))).toEqual([`against the base: ${warning}`]);
    expect(baseSummaryLines(undefined)).toEqual([]);
    expect(baseTerminalLines({ configDir: 'x', commit: null, postfixVersion: '', services: [], changes: [] })).toEqual([]);
  });

  test("a service name from the repository's master.cf cannot open a tag or a table cell", () => {
    const md = baseSummaryLines(compared([row('x|<img src=x onerror=alert(1)>', 'plain', 'relayed', 'denied')])).join('\n');
    expect(md).not.toMatch(/<img/);
    const cells = md.split('\n').filter((l) => l.includes('opened by') || l.includes('**opened**'));
    expect(cells).toHaveLength(1);
    expect(cells[0].split('|')).toHaveLength(5);
  });
});

// --- reading the base from git (git only, no Postfix) ---

describe('the base configuration from git', () => {
  test('git ls-tree -z: plain and executable files, with any name; no symlinks, no submodules', () => {
    const out = ['100644 blob aaaa\tmain.cf', '100755 blob bbbb\tmaps/with space\tand tab', '120000 blob cccc\tlink', '160000 commit dddd\tsub', '040000 tree eeee\tdir', ''].join('\0');
    expect(parseLsTree(out)).toEqual([
      { oid: 'aaaa', path: 'main.cf' },
      { oid: 'bbbb', path: 'maps/with space\tand tab' },
    ]);
  });

  test('the files of the directory at the base, map files in it and below it included; the work tree untouched', () => {
    const { repo, base, config } = prRepo('sender-domain-hash', 'open', {});
    // Add a map below the directory at the base too: a second commit on a branch from the base.
    git(repo, 'checkout', '-q', '-b', 'with-map', base);
    commitConfig(repo, 'sender-domain-hash', 'map', { 'postfix/maps/extra': 'example.net OK\n', 'postfix/.gitattributes': 'x' });
    fs.symlinkSync('/etc/passwd', path.join(repo, 'postfix', 'passwd'));
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'symlink');
    const at = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '-q', 'main');
    const before = fs.readFileSync(path.join(config, 'main.cf'), 'utf8');
    const got = checkoutBase(config, 'with-map');
    expect(got.status).toBe('files');
    if (got.status !== 'files') return;
    try {
      expect(got.commit).toBe(at);
      const files = spawnSync('find', ['.', '-type', 'f'], { cwd: got.dir, encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
      expect(files).toEqual(['./main.cf', './maps/extra', './sender_access']);
      expect(fs.readFileSync(path.join(got.dir, 'main.cf'), 'utf8')).toBe(fs.readFileSync(path.join(FIXTURES, 'sender-domain-hash', 'main.cf'), 'utf8'));
      expect(fs.readFileSync(path.join(got.dir, 'maps', 'extra'), 'utf8')).toBe('example.net OK\n');
      expect(fs.readFileSync(path.join(config, 'main.cf'), 'utf8')).toBe(before);
    } finally {
      got.remove();
    }
    expect(fs.existsSync(got.dir)).toBe(false);
  });

  test('the pull request adds the directory: "new", nothing written', () => {
    const { base, config } = prRepo(null, 'open');
    expect(checkoutBase(config, base)).toEqual({ status: 'new', commit: base });
  });

  test('a commit the clone does not have and origin cannot give: "unavailable" with the fetch-depth warning', () => {
    const { config } = prRepo('stock-closed', 'open');
    const missing = '0123456789abcdef0123456789abcdef01234567';
    expect(checkoutBase(config, missing)).toEqual({ status: 'unavailable', commit: missing, warning: `base not compared: commit ${missing} not available; use actions/checkout with fetch-depth: 0` });
  });

  test('a shallow clone (actions/checkout fetch-depth 1): the base commit is fetched once from origin, then read', () => {
    const { repo, base } = prRepo('stock-closed', 'open');
    const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-base-clone-'));
    temps.push(clone);
    git(clone, 'clone', '-q', '--depth', '1', `file://${repo}`, 'c');
    const config = path.join(clone, 'c', 'postfix');
    expect(spawnSync('git', ['-C', config, 'cat-file', '-e', base]).status).not.toBe(0);
    const logged: string[] = [];
    const got = checkoutBase(config, base, (l) => logged.push(l));
    expect(got.status).toBe('files');
    if (got.status === 'files') {
      expect(fs.readFileSync(path.join(got.dir, 'main.cf'), 'utf8')).toBe(fs.readFileSync(path.join(FIXTURES, 'stock-closed', 'main.cf'), 'utf8'));
      got.remove();
    }
    expect(logged[0]).toBe(`base ${base} is not in this clone: git fetch --depth=1 origin ${base}`);
  });

  test('a directory outside any repository: "unavailable", saying so', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-base-nogit-'));
    temps.push(dir);
    const got = checkoutBase(dir, 'main');
    expect(got).toEqual({ status: 'unavailable', commit: 'main', warning: expect.stringMatching(new RegExp(`^base not compared: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not in a git repository`)) });
  });
});

// --- real Postfix: head and base on two private instances ---

/** Instance directories made here, each of which must be gone at the end. */
const made: string[] = [];

async function gate(config: string, baseRef: string): Promise<Report> {
  const settings = parseSettings({ 'postfix-config': config, 'base-ref': baseRef, timeout: '120', 'connect-timeout': '15' });
  const report = await runGate(settings, {}, undefined, { onDir: (d) => made.push(d) });
  expectValid(report);
  return report;
}

/** Vectors that relayed on a service of the report, over any transport. */
function relayedOn(r: Report, service: string): string[] {
  const port = r.gate?.services.find((s) => s.name === service)?.port;
  return [...new Set(r.targets.filter((t) => t.port === port).flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)))].sort();
}

const vectors = (b: BaseReport | undefined, service: string, change: string): string[] => (b?.changes ?? []).filter((c) => c.service === service && c.change === change).map((c) => c.vector).sort();

describePostfix('base against head on real Postfix', () => {
  afterAll(() => {
    expect(made.length).toBeGreaterThan(0);
    expect(made.filter((d) => fs.existsSync(d))).toEqual([]);
    // And no extracted base directory left behind.
    expect(fs.readdirSync(os.tmpdir()).filter((f) => BASE_DIRS.test(f) && !preexisting.has(f))).toEqual([]);
  });

  test('the pull request opens the relay (stock Debian main.cf → mynetworks = 0.0.0.0/0): every relayed vector is "opened", the base refused each', async () => {
    const { base, config } = prRepo('stock-closed', 'open');
    const before = made.length;
    const r = await gate(config, base);
    // The head, the proved fix of the head's relay (one fixed copy), and the base.
    expect(r.gate?.fixes?.map((f) => f.verified)).toEqual([true]);
    expect(made.length - before).toBe(3);
    const b = r.gate?.base;
    expect(b?.status).toBe('compared');
    expect(b?.commit).toBe(base);
    const relayed = relayedOn(r, 'smtp');
    expect(relayed.length).toBeGreaterThan(10);
    expect(vectors(b, 'smtp', 'opened')).toEqual(relayed);
    // The base ran on smtp (no null) and relayed nothing there.
    const smtp = (b?.changes ?? []).filter((c) => c.service === 'smtp');
    expect(smtp.filter((c) => c.base === null)).toEqual([]);
    expect(smtp.filter((c) => c.base === 'relayed')).toEqual([]);
    expect(smtp.filter((c) => c.base === 'denied').length).toBeGreaterThan(10);
    // The base has no master.cf: submission exists only in the pull request, and opened with it.
    expect(vectors(b, 'submission', 'opened')).toEqual(relayedOn(r, 'submission'));
    expect((b?.changes ?? []).filter((c) => c.service === 'submission').every((c) => c.base === null)).toBe(true);
    expect({ opened: b?.opened, closed: b?.closed, predates: b?.predates }).toEqual({ opened: relayedOn(r, 'smtp').length + relayedOn(r, 'submission').length, closed: 0, predates: 0 });
    expect(r.failed).toBe(true);
    const summary = renderSummary(r);
    expect(summary).toContain('### Against the base');
    expect(summary).toContain(`this pull request opened ${new Set([...relayedOn(r, 'smtp'), ...relayedOn(r, 'submission')]).size} vectors on smtp and submission that the base (commit ${base.slice(0, 7)}) refused`);
  }, 180_000);

  test('the pull request closes it (the open configuration → stock): "closed", the step passes', async () => {
    const { base, config } = prRepo('open', 'stock-closed');
    const r = await gate(config, base);
    const b = r.gate?.base;
    expect(r.counts.relayed).toBe(0);
    expect(r.failed).toBe(false);
    const closed = vectors(b, 'smtp', 'closed');
    expect(closed.length).toBeGreaterThan(10);
    expect((b?.changes ?? []).filter((c) => c.change === 'closed' && c.service === 'smtp').every((c) => c.base === 'relayed' && c.head === 'denied')).toBe(true);
    // submission was only on the base, and relayed there.
    expect(vectors(b, 'submission', 'closed')).toEqual(closed);
    expect((b?.changes ?? []).filter((c) => c.service === 'submission').every((c) => c.head === null)).toBe(true);
    expect({ opened: b?.opened, predates: b?.predates }).toEqual({ opened: 0, predates: 0 });
    expect(renderSummary(r)).toContain(`this pull request closed ${closed.length} vectors on smtp and submission that relayed on the base`);
  }, 180_000);

  test('a pull request that leaves an open relay open: every relayed vector "unchanged-open", the step still fails, the summary says it predates the pull request', async () => {
    // Head differs from the base by a comment only.
    const { base, config } = prRepo('open', 'open', { 'postfix/main.cf': `${fs.readFileSync(path.join(FIXTURES, 'open', 'main.cf'), 'utf8')}# touched\n` });
    const r = await gate(config, base);
    const b = r.gate?.base;
    expect(b?.status).toBe('compared');
    expect(vectors(b, 'smtp', 'unchanged-open')).toEqual(relayedOn(r, 'smtp'));
    expect({ opened: b?.opened, closed: b?.closed, predates: b?.predates }).toEqual({ opened: 0, closed: 0, predates: relayedOn(r, 'smtp').length + relayedOn(r, 'submission').length });
    expect(r.failed).toBe(true);
    expect(r.verdict).toBe('open');
    const summary = renderSummary(r);
    expect(summary).toContain(`already open on the base (commit ${base.slice(0, 7)}): this pull request did not open it`);
  }, 180_000);

  test('the pull request adds the directory: "new", only the head ran', async () => {
    const { base, config } = prRepo(null, 'stock-closed');
    const before = made.length;
    const r = await gate(config, base);
    expect(made.length - before).toBe(1);
    expect(r.gate?.base).toEqual({ commit: base, configDir: config, status: 'new', changes: [], opened: 0, closed: 0, predates: 0 });
    expect(renderSummary(r)).toContain('does not exist at the base');
    expect(r.failed).toBe(false);
  }, 120_000);

  test('a base Postfix refuses (the pull request fixes a broken master.cf): "unavailable", in Postfix words without the temporary path; the head decides', async () => {
    const { base, config } = prRepo('broken', 'stock-closed');
    const before = made.length;
    const r = await gate(config, base);
    expect(made.length - before).toBe(2);
    const b = r.gate?.base;
    expect({ status: b?.status, commit: b?.commit, changes: b?.changes }).toEqual({ status: 'unavailable', commit: base, changes: [] });
    expect(b?.warning).toMatch(new RegExp(`^base not compared: the configuration at commit ${base.slice(0, 12)} does not start: Input 'postfix-config': postfix check refuses the configuration \\(master\\.cf line 3\\)`));
    expect(b?.warning).not.toMatch(/relay-check-base-/);
    expect(b?.warning).toMatch(/invalid type field "inetx"/);
    expect(r.failed).toBe(false);
  }, 120_000);

  test('the CLI with --base-ref naming a commit the clone lacks: a warning line, the head decides (exit 0), the JSON says unavailable', () => {
    const { config } = prRepo('open', 'stock-closed');
    const missing = 'feedfacefeedfacefeedfacefeedfacefeedface';
    const report = path.join(config, '..', 'report.json');
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'lib', 'src', 'bin.js'), '--postfix-config', config, '--base-ref', missing, '--report-path', report], { encoding: 'utf8', timeout: 120_000 });
    expect({ status: cli.status, stderr: cli.status === 0 ? '' : cli.stderr }).toEqual({ status: 0, stderr: '' });
    const warning = `base not compared: commit ${missing} not available; use actions/checkout with fetch-depth: 0`;
    expect(cli.stdout.replace(/\n\s+/g, ' ')).toContain(`against the base: ${warning}`);
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as Report;
    expect(r.gate?.base).toEqual({ commit: missing, configDir: config, status: 'unavailable', warning, changes: [], opened: 0, closed: 0, predates: 0 });
    expect(r.failed).toBe(false);
    const dirs = /private Postfix instance in (\S+)/g;
    expect([...cli.stderr.matchAll(dirs)]).toHaveLength(1);
  }, 150_000);

  test('the action on a pull_request event takes the base from the event: an open relay that predates the pull request fails the step and says so', async () => {
    const { base, config } = prRepo('submission-open', 'submission-open', { 'postfix/main.cf': `${fs.readFileSync(path.join(FIXTURES, 'submission-open', 'main.cf'), 'utf8')}# touched\n` });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-action-'));
    temps.push(dir);
    const event = path.join(dir, 'event.json');
    fs.writeFileSync(event, JSON.stringify({ pull_request: { number: 7, base: { sha: base, ref: 'main' }, head: { sha: '0'.repeat(40) } } }));
    for (const f of ['output', 'summary', 'state']) fs.writeFileSync(path.join(dir, f), '');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_OUTPUT: path.join(dir, 'output'),
      GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
      GITHUB_STATE: path.join(dir, 'state'),
      'INPUT_POSTFIX-CONFIG': config,
      'INPUT_REPORT-PATH': path.join(dir, 'report.json'),
    };
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'index.js')], { env, cwd: dir });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(code).toBe(1);
    expect(parseOutputs(fs.readFileSync(path.join(dir, 'output'), 'utf8')).verdict).toBe('open');
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as Report;
    expect(r.gate?.base?.commit).toBe(base);
    expect(vectors(r.gate?.base, 'submission', 'unchanged-open')).toEqual(relayedOn(r, 'submission'));
    expect(r.gate?.base?.opened).toBe(0);
    const summary = fs.readFileSync(path.join(dir, 'summary'), 'utf8');
    expect(summary).toContain(`already open on the base (commit ${base.slice(0, 7)}): this pull request did not open it`);
    expect(stdout).not.toMatch(/base not compared/);
    const state = parseOutputs(fs.readFileSync(path.join(dir, 'state'), 'utf8'));
    made.push(state['gate-dir'] as string);
  }, 180_000);
});
