import * as core from '@actions/core';
import * as github from '@actions/github';
import { judged } from '../engine.js';
import type { AttemptOutcome, Report, TargetReport } from '../model/report.js';
import type { RunVerdict } from '../model/verdict.js';
import { API_TIMEOUT_MS, commentContext, errorText, fitSummary, httpStatus, type CommentContext } from './comment.js';
import { code, mdText } from './escape.js';
import { headline } from './summary.js';

/**
 * The scheduled watch (input `issue`): one GitHub issue per host and port while
 * that target fails the step, updated by every failing run (with a comment when
 * the verdict or the relayed vectors changed), and closed with a comment by the
 * first run in which it passes.
 *
 * The issue is found again by the first line of its body, a hidden marker naming
 * the target (`<!-- relay-check watch mx.example.org:25 -->`), among the
 * repository's open issues: not by title or label, which people edit. The
 * second line carries what the last run found (verdict, relayed vectors), so the
 * next run can say what changed without any storage of its own.
 *
 * A target fails as the step would for it alone, under the same strictness: an
 * open relay; no address reachable or tested; under `strict` an inconclusive
 * attempt too. That is when an issue is open (titled "could not tell whether …"
 * when nothing relayed). Nothing here fails the step: an API problem is a warning.
 */

const MARKER_PREFIX = '<!-- relay-check watch ';
const STATE_PREFIX = '<!-- relay-check watch state ';
/** Open issues read when looking for the watch's own (100 a page): past this, no new issue is opened (a duplicate could not be ruled out). */
const MAX_ISSUE_PAGES = 10;

/** What one run found at a target, as the issue body records it for the next run. */
export interface WatchState {
  verdict: RunVerdict;
  /** Vector ids that relayed on any address or transport of the target, sorted. */
  relayed: string[];
  /** When the run started (ISO 8601). */
  at: string;
  run: string | null;
}

/** One host and port of the run, judged alone. */
interface Watched {
  key: string;
  /** The run's report cut down to this target's addresses and transports. */
  report: Report;
  failing: boolean;
  state: WatchState;
}

/**
 * `host:port` (`[v6]:port`) in lower case. Host names here are validated inputs or
 * a domain's MX names from DNS; anything outside a host name's characters is
 * percent-encoded, and `--` broken, so the key can never end the HTML comment it sits in.
 */
export function targetKey(host: string, port: number): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  const named = `${h.includes(':') ? `[${h}]` : h}:${port}`;
  return named.replace(/[^a-z0-9.:[\]_-]/g, (c) => encodeURIComponent(c)).replace(/--/g, '-%2D');
}

export function issueMarker(key: string): string {
  return `${MARKER_PREFIX}${key} -->`;
}

function issueTitle(w: Pick<Watched, 'key' | 'state'>): string {
  return w.state.verdict === 'open' ? `relay-check: ${w.key} is an open relay` : `relay-check: could not tell whether ${w.key} is an open relay`;
}

/** The report as if only this target had been named: verdict, failure and warnings by the same rules as the whole run's. */
function targetReport(r: Report, targets: TargetReport[]): Report {
  return {
    ...r,
    ...judged(targets, r.settings.strictness, null),
    settings: { ...r.settings, ports: [targets[0].port] },
    diagnosis: (r.diagnosis ?? []).filter((d) => d.host === targets[0].host),
  };
}

/** Every host and port of the run, in the report's order. */
function watchedTargets(r: Report, runUrl: string | null): Watched[] {
  const groups = new Map<string, TargetReport[]>();
  for (const t of r.targets) {
    const key = targetKey(t.host, t.port);
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups].map(([key, targets]) => {
    const report = targetReport(r, targets);
    const relayed = [...new Set(targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)))].sort();
    return { key, report, failing: report.failed, state: { verdict: report.verdict, relayed, at: r.startedAt, run: runUrl } };
  });
}

function stateLine(s: WatchState): string {
  return `${STATE_PREFIX}${Buffer.from(JSON.stringify(s)).toString('base64url')} -->`;
}

/** The state a body records, or null when it records none (or one this version cannot read). */
export function parseState(body: string): WatchState | null {
  const line = body.split(/\r?\n/).find((l) => l.startsWith(STATE_PREFIX))?.trimEnd();
  const m = line ? /^<!-- relay-check watch state ([A-Za-z0-9_-]+) -->$/.exec(line) : null;
  if (!m) return null;
  try {
    const s = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as Partial<WatchState>;
    const verdicts: readonly unknown[] = ['open', 'closed', 'inconclusive'];
    if (!verdicts.includes(s.verdict) || !Array.isArray(s.relayed) || !s.relayed.every((v) => typeof v === 'string') || typeof s.at !== 'string') return null;
    // The body is editable by people: a link goes back into Markdown only when it is one.
    return { verdict: s.verdict as RunVerdict, relayed: s.relayed, at: s.at, run: typeof s.run === 'string' && /^https?:\/\/[^\s()<>[\]]+$/.test(s.run) ? s.run : null };
  } catch {
    return null;
  }
}

/** The issue body: marker, state, the target's summary cut to fit, and a footer saying how the watch treats it. */
function issueBody(w: Watched): string {
  const link = w.state.run ? `[job summary](${w.state.run})` : 'job summary';
  const last = `${mdText(w.state.at)}${w.state.run ? ` ([run](${w.state.run}))` : ''}`;
  const footer =
    `<sub>relay-check ${mdText(w.report.tool.version)} watches ${code(w.key)} (input ${code('issue')}): every failing run updates this issue ` +
    `and comments when the verdict or the relayed vectors change; the first run that passes closes it. Last run: ${last}.</sub>`;
  return fitSummary(w.report, (summary) => `${issueMarker(w.key)}\n${stateLine(w.state)}\n${summary}\n${footer}\n`, { limit: 'issue size limit', into: 'an issue', link });
}

const OUTCOME_ORDER: readonly AttemptOutcome[] = ['relayed', 'inconclusive', 'denied', 'skipped'];

/** Each vector's most telling outcome at the target, over its addresses and transports. */
function outcomes(report: Report): Map<string, AttemptOutcome> {
  const out = new Map<string, AttemptOutcome>();
  for (const a of report.targets.flatMap((t) => t.attempts)) {
    const seen = out.get(a.vector);
    if (seen === undefined || OUTCOME_ORDER.indexOf(a.outcome) < OUTCOME_ORDER.indexOf(seen)) out.set(a.vector, a.outcome);
  }
  return out;
}

const ids = (list: readonly string[]): string => list.map(code).join(', ');

/** What changed since the state the issue recorded, one Markdown bullet each; empty when nothing did. */
function changes(prev: WatchState | null, w: Watched): string[] {
  if (prev === null) return [`This issue recorded no earlier result: now ${code(w.state.verdict)}${w.state.relayed.length ? `, relayed: ${ids(w.state.relayed)}` : ''}.`];
  const out: string[] = [];
  if (prev.verdict !== w.state.verdict) out.push(`Verdict: ${code(prev.verdict)} → ${code(w.state.verdict)}`);
  const added = w.state.relayed.filter((v) => !prev.relayed.includes(v));
  if (added.length) out.push(`Newly relayed: ${ids(added)}`);
  const now = outcomes(w.report);
  const gone = prev.relayed.filter((v) => !w.state.relayed.includes(v));
  const refused = gone.filter((v) => now.get(v) === 'denied');
  const unknown = gone.filter((v) => now.get(v) !== 'denied');
  if (refused.length) out.push(`No longer relayed (refused now): ${ids(refused)}`);
  if (unknown.length) out.push(`No longer relayed, but not decided by this run (inconclusive or not run): ${ids(unknown)}`);
  return out;
}

function since(prev: WatchState | null): string {
  return prev ? ` since the run of ${mdText(prev.at)}${prev.run ? ` ([run](${prev.run}))` : ''}` : '';
}

function changeComment(prev: WatchState | null, w: Watched): string {
  const run = w.state.run ? `[This run](${w.state.run})` : 'This run';
  return `**What changed${since(prev)}**\n\n${changes(prev, w).map((c) => `- ${c}`).join('\n')}\n\n${run} (${mdText(w.state.at)}): ${mdText(headline(w.report))}\n`;
}

function closeComment(prev: WatchState | null, w: Watched): string {
  const run = w.state.run ? `[this run](${w.state.run})` : 'this run';
  const what = changes(prev, w);
  return (
    `**${code(w.key)} passes**: ${run} (${mdText(w.state.at)}, strictness ${code(w.report.settings.strictness)}): ${mdText(headline(w.report))} Closing this issue; the watch opens a new one if it fails again.\n` +
    (prev && what.length ? `\nWhat changed${since(prev)}:\n\n${what.map((c) => `- ${c}`).join('\n')}\n` : '')
  );
}

export interface IssueResult {
  key: string;
  action: 'created' | 'updated' | 'closed' | 'none' | 'skipped' | 'failed';
  number?: number;
  /** A comment was posted on the issue (what changed, or why it was closed). */
  commented?: boolean;
  why?: string;
}

interface OpenIssue {
  number: number;
  title: string;
  body: string;
}

type Octokit = ReturnType<typeof github.getOctokit>;
interface Api {
  octokit: Octokit;
  where: { owner: string; repo: string };
  request: () => { signal: AbortSignal };
}

/** The watch's open issues by marker (the oldest when a person copied one), and whether every open issue was read. */
async function findOpen(api: Api): Promise<{ mine: Map<string, OpenIssue>; complete: boolean }> {
  const mine = new Map<string, OpenIssue>();
  let pages = 0;
  const iterator = api.octokit.paginate.iterator(api.octokit.rest.issues.listForRepo, { ...api.where, state: 'open', per_page: 100, sort: 'created', direction: 'asc', request: api.request() });
  for await (const page of iterator) {
    for (const i of page.data) {
      // The list holds pull requests too; only a body that starts with the marker is ours (quoting it does not make it so).
      // A body edited in the web page comes back with CRLF line ends.
      const first = (i.body ?? '').split(/\r?\n/, 1)[0].trimEnd();
      if (i.pull_request || !first.startsWith(MARKER_PREFIX)) continue;
      const known = mine.get(first);
      if (!known || i.number < known.number) mine.set(first, { number: i.number, title: i.title, body: i.body ?? '' });
    }
    if (++pages >= MAX_ISSUE_PAGES) return { mine, complete: !/rel="next"/.test(page.headers.link ?? '') };
  }
  return { mine, complete: true };
}

/** One target: open, update or close its issue. Throws the API's error, with `step` saying what it was doing. */
async function watchOne(api: Api, w: Watched, open: OpenIssue | undefined, complete: boolean, step: { what: string }): Promise<IssueResult> {
  const { octokit, where, request } = api;
  if (!w.failing) {
    if (!open) return { key: w.key, action: 'none' };
    step.what = `comment on issue #${open.number} for`;
    await octokit.rest.issues.createComment({ ...where, issue_number: open.number, body: closeComment(parseState(open.body), w), request: request() });
    step.what = `close issue #${open.number} for`;
    await octokit.rest.issues.update({ ...where, issue_number: open.number, state: 'closed', state_reason: 'completed', request: request() });
    core.info(`relay-check: ${w.key} passes: closed issue #${open.number}`);
    return { key: w.key, action: 'closed', number: open.number, commented: true };
  }
  const title = issueTitle(w);
  const body = issueBody(w);
  if (!open) {
    if (!complete) return { key: w.key, action: 'skipped', why: `the repository has more than ${MAX_ISSUE_PAGES * 100} open issues and this target's was not among the oldest ${MAX_ISSUE_PAGES * 100}: not opening one that could be a duplicate` };
    step.what = 'open an issue for';
    const r = await octokit.rest.issues.create({ ...where, title, body, request: request() });
    core.info(`relay-check: ${w.key} fails: opened issue #${r.data.number} ${r.data.html_url}`);
    return { key: w.key, action: 'created', number: r.data.number };
  }
  const prev = parseState(open.body);
  step.what = `update issue #${open.number} for`;
  await octokit.rest.issues.update({ ...where, issue_number: open.number, body, ...(open.title !== title ? { title } : {}), request: request() });
  const what = changes(prev, w);
  // An unchanged failure is not news: a nightly run updates the body (its last run) without notifying anyone.
  if (what.length > 0) {
    step.what = `comment on issue #${open.number} for`;
    await octokit.rest.issues.createComment({ ...where, issue_number: open.number, body: changeComment(prev, w), request: request() });
  }
  core.info(`relay-check: ${w.key} still fails: updated issue #${open.number}${what.length ? ' (what changed is in a comment)' : ' (nothing changed)'}`);
  return { key: w.key, action: 'updated', number: open.number, commented: what.length > 0 };
}

const PERMISSION_HINT =
  'Give the job `permissions: issues: write` (a workflow that sets any permissions gets none it does not list); on pull requests from forks the token is read-only whatever the permissions say.';

/** The warning for an API error; permission errors are the same for every target, so the rest are not tried. */
function apiProblem(e: unknown, what: string): { why: string; stop: boolean } {
  const status = httpStatus(e);
  if (status === 401) return { why: `${what}: the token was refused (HTTP 401: ${errorText(e)}); check github-token`, stop: true };
  if (status === 410) return { why: `${what}: issues are disabled in this repository (HTTP 410); enable them in its settings or set issue: false`, stop: true };
  if (status === 403 || status === 404) return { why: `${what} (HTTP ${status}: ${errorText(e)}). ${PERMISSION_HINT}`, stop: true };
  return { why: `${what}: ${status ? `HTTP ${status}: ` : ''}${errorText(e)}`, stop: false };
}

function warn(why: string): void {
  core.warning(`The watch issue was not updated: ${why}`, { title: 'relay-check: watch issue' });
}

/**
 * Opens, updates or closes one issue per host and port of the report. Never
 * throws: each problem is a warning, and every target's outcome is returned.
 */
export async function postIssues(report: Report, token: string, ctx: CommentContext = commentContext()): Promise<IssueResult[]> {
  const watched = watchedTargets(report, ctx.runUrl);
  const failAll = (why: string): IssueResult[] => {
    warn(why);
    return watched.map((w) => ({ key: w.key, action: 'failed', why }));
  };
  if (watched.length === 0) return [];
  if (!ctx.owner || !ctx.repo) return failAll('GITHUB_REPOSITORY is not set to owner/repo');
  if (!token) return failAll("github-token is empty: leave it at its default (${{ github.token }}) or pass a token that may write issues");
  const api: Api = {
    // GITHUB_API_URL is read now, not when @actions/github was imported (see commentContext).
    octokit: github.getOctokit(token, { baseUrl: ctx.apiUrl }),
    where: { owner: ctx.owner, repo: ctx.repo },
    request: () => ({ signal: AbortSignal.timeout(API_TIMEOUT_MS) }),
  };
  let found: Awaited<ReturnType<typeof findOpen>>;
  try {
    found = await findOpen(api);
  } catch (e) {
    return failAll(apiProblem(e, `could not list the open issues of ${ctx.owner}/${ctx.repo}`).why);
  }
  const results: IssueResult[] = [];
  for (const [i, w] of watched.entries()) {
    const step = { what: 'watch' };
    try {
      const r = await watchOne(api, w, found.mine.get(issueMarker(w.key)), found.complete, step);
      if (r.action === 'skipped') warn(`${w.key}: ${r.why ?? ''}`);
      results.push(r);
    } catch (e) {
      const p = apiProblem(e, `could not ${step.what} ${w.key}`);
      const rest = watched.slice(i + 1);
      warn(p.stop && rest.length ? `${p.why} (not tried for the other ${rest.length} target(s): ${rest.map((x) => x.key).join(', ')})` : p.why);
      results.push({ key: w.key, action: 'failed', why: p.why });
      if (p.stop) return [...results, ...rest.map((x) => ({ key: x.key, action: 'failed' as const, why: p.why }))];
    }
  }
  return results;
}
