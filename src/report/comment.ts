import { createHash } from 'node:crypto';
import fs from 'node:fs';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { code, mdText } from './escape.js';
import type { Report } from '../model/report.js';
import { renderSummary } from './summary.js';

/**
 * The pull-request comment (SPEC §1 `comment`, §6): the job summary posted on
 * the pull request, updated in place on later runs.
 *
 * Which comment is "ours" is decided by a hidden marker on the body's first
 * line, `<!-- relay-check id=… -->`. The id is a hash of what makes a check
 * distinct: the workflow, the job, and the targets (hosts or domain, ports).
 * GitHub gives a job no variable that tells matrix legs apart (GITHUB_JOB is
 * the same for all of them), so the targets do: a matrix over hosts gets one
 * comment per host, and a re-run of the same check updates its own comment.
 * A hash keeps anything a user put in a workflow name out of the HTML comment.
 *
 * Nothing here fails the step: a comment that cannot be posted is a warning
 * saying how to fix it, and the verdict still decides the step.
 */

/** GitHub refuses an issue or pull-request comment body over 65,536 characters. */
export const COMMENT_LIMIT_CHARS = 65_536;
/** The summary's budget in a comment: UTF-8 bytes ≥ UTF-16 units, so this leaves room for the marker and footer. */
const COMMENT_SUMMARY_BYTES = 60_000;
const PR_EVENTS: readonly string[] = ['pull_request', 'pull_request_target'];
const MARKER_PREFIX = '<!-- relay-check';

/** How long one GitHub API call may take before the comment (or a watch issue) is given up, with a warning. */
export const API_TIMEOUT_MS = 30_000;

/** What the comment needs from the runner, read from the environment when called (as @actions/github's Context reads it). */
export interface CommentContext {
  eventName: string;
  /** The pull request's number, when the event carries one. */
  number: number | null;
  owner: string;
  repo: string;
  workflow: string;
  job: string;
  apiUrl: string;
  /** Link to the workflow run, when the runner says which run this is. */
  runUrl: string | null;
}

/**
 * The runner's view of this event. @actions/github builds `github.context` and
 * its API base URL once, when the module is first imported; reading the same
 * variables here, at call time, keeps the comment correct for whatever
 * environment run() is called in (the action runs once per process, tests many times).
 */
export function commentContext(env: NodeJS.ProcessEnv = process.env): CommentContext {
  let payload: Record<string, unknown> = {};
  const eventPath = env.GITHUB_EVENT_PATH;
  if (eventPath && fs.existsSync(eventPath)) {
    try {
      payload = JSON.parse(fs.readFileSync(eventPath, 'utf8')) as Record<string, unknown>;
    } catch {
      payload = {};
    }
  }
  const pr = (payload.pull_request ?? null) as { number?: unknown } | null;
  const number = typeof pr?.number === 'number' ? pr.number : typeof payload.number === 'number' ? payload.number : null;
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/');
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const runId = env.GITHUB_RUN_ID ?? '';
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    number,
    owner,
    repo,
    workflow: env.GITHUB_WORKFLOW ?? '',
    job: env.GITHUB_JOB ?? '',
    apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    runUrl: owner && repo && /^\d+$/.test(runId) ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}` : null,
  };
}

/** The hidden first line that identifies this check's comment. */
export function commentMarker(ctx: Pick<CommentContext, 'workflow' | 'job'>, report: Report): string {
  const identity = JSON.stringify({
    workflow: ctx.workflow,
    job: ctx.job,
    hosts: report.settings.hosts,
    domain: report.settings.domain,
    ports: report.settings.ports,
  });
  const id = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return `${MARKER_PREFIX} id=${id} -->`;
}

/** The comment body: marker, the summary cut to fit, and a footer saying which check wrote it. */
export function commentBody(report: Report, ctx: CommentContext): string {
  const marker = commentMarker(ctx, report);
  const link = ctx.runUrl ? `[job summary](${ctx.runUrl})` : 'job summary';
  const who = [
    ctx.workflow ? `workflow ${code(ctx.workflow.slice(0, 200))}` : '',
    ctx.job ? `job ${code(ctx.job.slice(0, 200))}` : '',
    ctx.runUrl ? `[run](${ctx.runUrl})` : '',
  ].filter(Boolean);
  const footer = `<sub>relay-check ${mdText(report.tool.version)}${who.length ? ` · ${who.join(' · ')}` : ''} · this comment is updated in place on every run of this check.</sub>`;
  return fitSummary(report, (summary) => `${marker}\n${summary}\n${footer}\n`, { limit: 'comment size limit', into: 'a pull-request comment', link });
}

/**
 * The job summary cut until `wrap(summary)` fits GitHub's limit for an issue
 * or comment body, with a note saying where the rest is.
 */
export function fitSummary(report: Report, wrap: (summary: string) => string, words: { limit: string; into: string; link: string }): string {
  const full = renderSummary(report);
  for (let budget = COMMENT_SUMMARY_BYTES; ; budget = Math.floor(budget * 0.8)) {
    let summary = renderSummary(report, budget);
    if (summary !== full) {
      summary = summary.replace(/GitHub's 1 MiB (summary )?limit/g, `GitHub's ${words.limit}`);
      summary += `\n_Cut to fit ${words.into}: the ${words.link} and the JSON report hold every attempt._\n`;
    }
    const body = wrap(summary);
    if (body.length <= COMMENT_LIMIT_CHARS || budget < 4096) return body;
  }
}

export interface CommentResult {
  action: 'created' | 'updated' | 'skipped' | 'failed';
  id?: number;
  url?: string;
  why?: string;
}

export function httpStatus(e: unknown): number | null {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : null;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Posts or updates this check's comment. Never throws: a skip is a notice,
 * a failure is a warning, and either is returned for the caller and tests.
 */
export async function postComment(report: Report, token: string, ctx: CommentContext = commentContext()): Promise<CommentResult> {
  if (!PR_EVENTS.includes(ctx.eventName)) {
    const why = `the event is ${ctx.eventName ? `'${ctx.eventName}'` : 'not a workflow event'}, not pull_request or pull_request_target`;
    core.notice(`comment: true was skipped: ${why}. The result is in the job summary.`, { title: 'relay-check: no pull-request comment' });
    return { action: 'skipped', why };
  }
  const fail = (why: string): CommentResult => {
    core.warning(`The pull-request comment was not posted: ${why}`, { title: 'relay-check: no pull-request comment' });
    return { action: 'failed', why };
  };
  if (ctx.number === null) return fail('the event payload (GITHUB_EVENT_PATH) names no pull request');
  if (!ctx.owner || !ctx.repo) return fail('GITHUB_REPOSITORY is not set to owner/repo');
  if (!token) return fail("github-token is empty: leave it at its default (${{ github.token }}) or pass a token that may comment on pull requests");

  const body = commentBody(report, ctx);
  const marker = body.slice(0, body.indexOf('\n'));
  const where = { owner: ctx.owner, repo: ctx.repo };
  const request = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(API_TIMEOUT_MS) });
  let step = 'list the comments of';
  try {
    // GITHUB_API_URL is read now, not when @actions/github was imported (see commentContext).
    const octokit = github.getOctokit(token, { baseUrl: ctx.apiUrl });
    let existing: number | null = null;
    const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, { ...where, issue_number: ctx.number, per_page: 100, request: request() });
    for await (const page of pages) {
      // Only a body that starts with the marker: someone quoting the comment does not make theirs ours.
      const mine = page.data.find((c) => (c.body ?? '').startsWith(marker));
      if (mine) {
        existing = mine.id;
        break;
      }
    }
    if (existing !== null) {
      step = 'update comment on';
      try {
        const r = await octokit.rest.issues.updateComment({ ...where, comment_id: existing, body, request: request() });
        core.info(`relay-check: updated the pull-request comment ${r.data.html_url ?? `#${existing}`}`);
        return { action: 'updated', id: existing, url: r.data.html_url };
      } catch (e) {
        // Not ours to edit (someone else's comment that copied the marker) or gone since the listing: post a new one.
        const status = httpStatus(e);
        if (status !== 403 && status !== 404) throw e;
        core.info(`relay-check: could not update comment ${existing} (HTTP ${status}); posting a new one`);
      }
    }
    step = 'comment on';
    const r = await octokit.rest.issues.createComment({ ...where, issue_number: ctx.number, body, request: request() });
    core.info(`relay-check: commented on pull request #${ctx.number}: ${r.data.html_url ?? `#${r.data.id}`}`);
    return { action: 'created', id: r.data.id, url: r.data.html_url };
  } catch (e) {
    const status = httpStatus(e);
    const what = `could not ${step} pull request #${ctx.number}`;
    if (status === 401) return fail(`${what}: the token was refused (HTTP 401: ${errorText(e)}); check github-token`);
    if (status === 403 || status === 404) {
      return fail(
        `${what} (HTTP ${status}: ${errorText(e)}). Give the job \`permissions: pull-requests: write\` ` +
          '(a workflow that sets any permissions gets none it does not list). On pull requests from forks the token is read-only whatever the permissions say; the job summary has the result.',
      );
    }
    return fail(`${what}: ${status ? `HTTP ${status}: ` : ''}${errorText(e)}`);
  }
}
