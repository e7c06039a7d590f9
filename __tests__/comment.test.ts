import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { startDemoServer, type DemoServer } from '../src/demo.js';
import { run as runEngine } from '../src/engine.js';
import { COMMENT_LIMIT_CHARS, commentBody, commentMarker, type CommentContext } from '../src/report/comment.js';
import type { Report } from '../src/model/report.js';
import { parseSettings } from '../src/settings.js';
import { runMain, type MainRun } from './support/run-main.js';

/**
 * The pull-request comment, end to end and in process: run() from main.ts with
 * the variables the runner sets (INPUT_*, GITHUB_*), a demo SMTP server as the
 * target, and a node:http server on loopback standing in for the GitHub API
 * (GITHUB_API_URL). The assertions are on the requests the action made.
 */

interface Comment {
  id: number;
  body: string;
  issue: number;
}

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body: { body?: string } | null;
}

/** Just enough of the REST API: list (paginated with Link), create and update issue comments. */
class FakeGitHub {
  readonly requests: Seen[] = [];
  comments: Comment[] = [];
  /** Status to answer POST/PATCH with instead of doing them (permission tests). */
  refuseWrites: number | null = null;
  /** Comments that PATCH may not touch (written by someone else). */
  readonly foreign = new Set<number>();
  private nextId = 1000;
  private server = http.createServer((req, res) => this.handle(req, res));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.comments = [];
    this.refuseWrites = null;
    this.foreign.clear();
  }

  add(issue: number, body: string): Comment {
    const c = { id: this.nextId++, body, issue };
    this.comments.push(c);
    return c;
  }

  /** Method and path (no query) of each request, in order. */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', this.url);
      const body = raw ? (JSON.parse(raw) as { body?: string }) : null;
      this.requests.push({ method: req.method ?? '', path: url.pathname, auth: req.headers.authorization, body });
      const send = (status: number, data: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(data));
      };
      const view = (c: Comment) => ({ id: c.id, body: c.body, html_url: `https://github.test/octo/mail/pull/${c.issue}#issuecomment-${c.id}`, user: { login: 'github-actions[bot]' } });
      let m = /^\/repos\/octo\/mail\/issues\/(\d+)\/comments$/.exec(url.pathname);
      if (m && req.method === 'GET') {
        const all = this.comments.filter((c) => c.issue === Number(m?.[1]));
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const slice = all.slice((page - 1) * perPage, page * perPage);
        const headers: Record<string, string> = {};
        if (page * perPage < all.length) {
          const next = new URL(url);
          next.searchParams.set('page', String(page + 1));
          headers.link = `<${next.href}>; rel="next"`;
        }
        return send(200, slice.map(view), headers);
      }
      if (m && req.method === 'POST') {
        if (this.refuseWrites) return send(this.refuseWrites, { message: 'Resource not accessible by integration', status: String(this.refuseWrites) });
        return send(201, view(this.add(Number(m[1]), body?.body ?? '')));
      }
      m = /^\/repos\/octo\/mail\/issues\/comments\/(\d+)$/.exec(url.pathname);
      if (m && req.method === 'PATCH') {
        if (this.refuseWrites) return send(this.refuseWrites, { message: 'Resource not accessible by integration', status: String(this.refuseWrites) });
        const c = this.comments.find((x) => x.id === Number(m?.[1]));
        if (!c) return send(404, { message: 'Not Found' });
        if (this.foreign.has(c.id)) return send(403, { message: 'Resource not accessible by integration' });
        c.body = body?.body ?? '';
        return send(200, view(c));
      }
      send(404, { message: 'Not Found' });
    });
  }
}

const api = new FakeGitHub();
let closed: DemoServer;
let open: DemoServer;
let dir: string;
let summaryFile: string;
let stdout: string[] = [];

beforeAll(async () => {
  await api.start();
  closed = await startDemoServer('closed', 'mx.closed-demo.test');
  open = await startDemoServer('open', 'mx.open-demo.test');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-comment-'));
  // @actions/core's summary remembers the first GITHUB_STEP_SUMMARY it sees: one file for the whole suite.
  summaryFile = path.join(dir, 'summary.md');
});

afterAll(async () => {
  await api.close();
  await closed.close();
  await open.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  api.reset();
  stdout = [];
});

afterEach(() => {
  jest.restoreAllMocks();
});

/**
 * Calls run() with exactly these variables set (support/run-main.ts). The log is the test's
 * whole stdout so far: a second run in one test sees the first's lines too, as before.
 */
async function runAction(inputs: Record<string, string>, github: Record<string, string>): Promise<MainRun> {
  const r = await runMain(dir, summaryFile, { timeout: '20', ...inputs }, github);
  stdout.push(r.log);
  return { ...r, log: stdout.join('') };
}

function prEvent(number: number, eventName = 'pull_request', job = 'relay-check'): Record<string, string> {
  const eventPath = path.join(dir, `event-${number}.json`);
  fs.writeFileSync(eventPath, JSON.stringify({ action: 'synchronize', number, pull_request: { number, head: { ref: 'postfix-change' } }, repository: { name: 'mail', owner: { login: 'octo' } } }));
  return {
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: 'octo/mail',
    GITHUB_API_URL: api.url,
    GITHUB_SERVER_URL: 'https://github.test',
    GITHUB_WORKFLOW: 'postfix-pr-gate',
    GITHUB_JOB: job,
    GITHUB_RUN_ID: '4242',
  };
}

const TOKEN = 'ghs_fakeTokenForTheTestApi';
const commentOn = (server: DemoServer): Record<string, string> => ({ host: `127.0.0.1:${server.port}`, comment: 'true', 'github-token': TOKEN });

/** Workflow-command lines the action wrote (::notice, ::warning, ::error). */
function commands(log: string, kind: string): string[] {
  return log.split('\n').filter((l) => l.startsWith(`::${kind}`));
}

describe('pull-request comment through the GitHub API', () => {
  test('first run creates the comment, a later run updates the same comment', async () => {
    api.add(7, 'Looks good to me, but please run the relay check.');

    const first = await runAction(commentOn(closed), prEvent(7));
    expect(first.outputs.verdict).toBe('closed');
    expect(first.failed).toBe(false);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues/7/comments', 'POST /repos/octo/mail/issues/7/comments']);
    expect(api.requests.every((r) => r.auth === `token ${TOKEN}`)).toBe(true);
    const created = api.comments.find((c) => c.body.startsWith('<!-- relay-check'));
    expect(created).toBeDefined();
    const body = created?.body ?? '';
    expect(body).toMatch(/^<!-- relay-check id=[0-9a-f]{16} -->\n## relay-check: ✅ Not an open relay/);
    expect(body).toContain('https://github.test/octo/mail/actions/runs/4242');
    expect(body.length).toBeLessThan(COMMENT_LIMIT_CHARS);
    // The token is a secret: masked in the log, never in the comment.
    expect(body).not.toContain(TOKEN);
    expect(first.log).toContain('::add-mask::');

    // Someone quotes the comment: a body holding the marker, but not starting with it, is not ours.
    const marker = body.slice(0, body.indexOf('\n'));
    api.comments.splice(1, 0, { id: 1, body: `> ${marker}\n> ## relay-check: it passed?`, issue: 7 });
    api.requests.length = 0;

    const second = await runAction(commentOn(closed), prEvent(7));
    expect(second.failed).toBe(false);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues/7/comments', `PATCH /repos/octo/mail/issues/comments/${created?.id}`]);
    expect(api.comments.filter((c) => c.body.startsWith('<!-- relay-check'))).toHaveLength(1);
    expect(api.requests[1].body?.body).toMatch(/^<!-- relay-check id=/);
    expect(api.comments.find((c) => c.id === 1)?.body.startsWith('> ')).toBe(true);
  });

  test('an open relay is commented (and the step still fails on the verdict); another matrix leg gets its own comment', async () => {
    const closedRun = await runAction(commentOn(closed), prEvent(8));
    expect(closedRun.failed).toBe(false);
    api.requests.length = 0;

    // Same workflow and job, another target: what a matrix over hosts looks like.
    const openRun = await runAction(commentOn(open), prEvent(8));
    expect(openRun.outputs.verdict).toBe('open');
    expect(openRun.failed).toBe(true);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues/8/comments', 'POST /repos/octo/mail/issues/8/comments']);
    const ours = api.comments.filter((c) => c.body.startsWith('<!-- relay-check'));
    expect(ours).toHaveLength(2);
    expect(ours[1].body).toContain('## relay-check: ❌ Open relay');
    expect(ours[1].body).toContain('### Relayed');
    expect(ours[0].body.split('\n')[0]).not.toBe(ours[1].body.split('\n')[0]);
  });

  test('a comment that carries the marker but cannot be edited (someone else\'s copy): a new comment is posted', async () => {
    await runAction(commentOn(closed), prEvent(19));
    const copy = api.comments[0];
    api.comments = [];
    api.add(19, copy.body);
    const foreign = api.comments[0].id;
    api.foreign.add(foreign);
    api.requests.length = 0;
    const r = await runAction(commentOn(closed), prEvent(19));
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues/19/comments', `PATCH /repos/octo/mail/issues/comments/${foreign}`, 'POST /repos/octo/mail/issues/19/comments']);
    expect(commands(r.log, 'warning')).toHaveLength(0);
  });

  test('the comment is found on a later page of a long thread', async () => {
    for (let i = 0; i < 130; i++) api.add(9, `comment ${i}`);
    await runAction(commentOn(closed), prEvent(9));
    for (let i = 0; i < 5; i++) api.add(9, `after ${i}`);
    const id = api.comments.find((c) => c.body.startsWith('<!-- relay-check'))?.id;
    api.requests.length = 0;

    await runAction(commentOn(closed), prEvent(9));
    expect(api.calls()).toEqual([
      'GET /repos/octo/mail/issues/9/comments',
      'GET /repos/octo/mail/issues/9/comments',
      `PATCH /repos/octo/mail/issues/comments/${id}`,
    ]);
  });

  test('pull_request_target is a pull-request event too', async () => {
    await runAction(commentOn(closed), prEvent(10, 'pull_request_target'));
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues/10/comments', 'POST /repos/octo/mail/issues/10/comments']);
  });

  test('not a pull-request event: a notice says why, no request is made, the step passes', async () => {
    const r = await runAction(commentOn(closed), { ...prEvent(11), GITHUB_EVENT_NAME: 'push' });
    expect(api.requests).toHaveLength(0);
    expect(r.failed).toBe(false);
    expect(r.outputs.verdict).toBe('closed');
    const notices = commands(r.log, 'notice');
    expect(notices.some((l) => /comment: true was skipped: the event is 'push', not pull_request/.test(l))).toBe(true);
  });

  test('comment false (the default) makes no request even on a pull request', async () => {
    await runAction({ host: `127.0.0.1:${closed.port}`, 'github-token': TOKEN }, prEvent(12));
    expect(api.requests).toHaveLength(0);
  });

  test.each([[403], [404]])('HTTP %i on create: a warning naming pull-requests: write, and the step does not fail', async (status) => {
    api.refuseWrites = status;
    const r = await runAction(commentOn(closed), prEvent(13));
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues/13/comments', 'POST /repos/octo/mail/issues/13/comments']);
    expect(r.failed).toBe(false);
    expect(r.outputs.verdict).toBe('closed');
    const warnings = commands(r.log, 'warning');
    expect(warnings.some((l) => l.includes('permissions: pull-requests: write') && l.includes(`HTTP ${status}`))).toBe(true);
    expect(commands(r.log, 'error')).toHaveLength(0);
  });

  test('an open relay with a comment that cannot be posted: the step fails on the verdict, not on the comment', async () => {
    api.refuseWrites = 403;
    const r = await runAction(commentOn(open), prEvent(14));
    expect(r.failed).toBe(true);
    // The verdict annotation is the first error, whatever happened to the comment.
    expect(commands(r.log, 'error')[0]).toMatch(/^::error title=relay-check%3A open relay::.* relays: /);
    expect(commands(r.log, 'warning').some((l) => l.includes('pull-requests: write'))).toBe(true);
  });

  test('the API unreachable: a warning, the step passes', async () => {
    const r = await runAction(commentOn(closed), { ...prEvent(15), GITHUB_API_URL: 'http://127.0.0.1:1' });
    expect(r.failed).toBe(false);
    expect(commands(r.log, 'warning').some((l) => /pull-request comment was not posted: could not list the comments of pull request #15/.test(l))).toBe(true);
  });

  test('an empty token or an event without a pull request: a warning, no request', async () => {
    const noToken = await runAction({ host: `127.0.0.1:${closed.port}`, comment: 'true', 'github-token': '' }, prEvent(16));
    expect(commands(noToken.log, 'warning').some((l) => l.includes('github-token is empty'))).toBe(true);
    const eventPath = path.join(dir, 'event-empty.json');
    fs.writeFileSync(eventPath, '{}');
    const noPr = await runAction(commentOn(closed), { ...prEvent(17), GITHUB_EVENT_PATH: eventPath });
    expect(commands(noPr.log, 'warning').some((l) => l.includes('names no pull request'))).toBe(true);
    expect(api.requests).toHaveLength(0);
    expect(noToken.failed || noPr.failed).toBe(false);
  });

  test('comment: maybe is refused naming the input, before any connection', async () => {
    const r = await runAction({ host: `127.0.0.1:${closed.port}`, comment: 'maybe' }, prEvent(18));
    expect(r.failed).toBe(true);
    expect(commands(r.log, 'error').some((l) => l.includes("Input 'comment'"))).toBe(true);
    expect(api.requests).toHaveLength(0);
  });
});

describe('comment body', () => {
  const ctx: CommentContext = {
    eventName: 'pull_request',
    number: 1,
    owner: 'octo',
    repo: 'mail',
    workflow: 'gate --> <script>alert(1)</script>',
    job: 'relay-check',
    apiUrl: 'http://127.0.0.1:1',
    runUrl: 'https://github.test/octo/mail/actions/runs/1',
  };
  let report: Report;
  beforeAll(async () => {
    report = await runEngine(parseSettings({ host: `127.0.0.1:${open.port}`, timeout: '20' }));
  });

  test('the marker is a hash: nothing from a workflow name reaches the HTML comment', () => {
    const marker = commentMarker(ctx, report);
    expect(marker).toMatch(/^<!-- relay-check id=[0-9a-f]{16} -->$/);
    const body = commentBody(report, ctx);
    expect(body).not.toContain('<script>');
    expect(body.indexOf('-->')).toBe(marker.length - 3);
  });

  test('the marker depends on workflow, job and targets, not on the result', () => {
    const m = commentMarker(ctx, report);
    expect(commentMarker({ ...ctx }, { ...report, verdict: 'closed' })).toBe(m);
    expect(commentMarker({ ...ctx, job: 'other' }, report)).not.toBe(m);
    expect(commentMarker({ ...ctx, workflow: 'other' }, report)).not.toBe(m);
    expect(commentMarker(ctx, { ...report, settings: { ...report.settings, ports: [587] } })).not.toBe(m);
    expect(commentMarker(ctx, { ...report, settings: { ...report.settings, hosts: ['mx2.example.org'] } })).not.toBe(m);
  });

  test('a huge report is cut to fit GitHub\u2019s 65,536-character comment limit, with a note saying where the rest is', () => {
    const t = report.targets[0];
    const longReply = `250 2.1.5 ${'é'.repeat(300)}`;
    const attempts = Array.from({ length: 40 }, () => t.attempts.map((a) => ({ ...a, reply: longReply }))).flat();
    const targets = Array.from({ length: 30 }, (_, i) => ({ ...t, host: `mx${i}.example.org`, attempts }));
    const huge: Report = { ...report, targets };
    const body = commentBody(huge, ctx);
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT_CHARS);
    expect(body).toContain('Cut to fit a pull-request comment');
    expect(body).toContain('[job summary](https://github.test/octo/mail/actions/runs/1)');
    expect(body).not.toContain('1 MiB');
    expect(body).toContain('## relay-check: ❌ Open relay');
  });
});
