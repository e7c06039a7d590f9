import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { code } from '../src/report/escape.js';
import { issueMarker, parseState, targetKey } from '../src/report/issue.js';
import { runAction } from './support/action.js';
import { direct } from './support/direct-smtp.js';
import { describePostfix } from './support/describe-mta.js';
import { startFaultServer, type FaultServer } from './support/fault-server.js';
import { freePort, startPostfix, type RunningPostfix } from './support/postfix.js';
import { commands, runMain, type MainRun } from './support/run-main.js';

/**
 * The scheduled watch (input `issue`), end to end and in process: run() from
 * main.ts with the runner's variables, real Postfix services on loopback as the
 * mail server, and a node:http server on loopback standing in for GitHub's REST
 * API (GITHUB_API_URL). One target (host and port) keeps its address across runs
 * while what answers behind it changes: a TCP forwarder on a fixed loopback port
 * is pointed at one Postfix service or another between runs, as a redeploy would
 * change the server behind mx.example.org:25. The assertions are on the requests
 * the action made and on the issues the fake API holds afterwards.
 */

interface Issue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  stateReason: string | null;
  comments: string[];
  /** The list endpoint returns pull requests too. */
  pr: boolean;
}

interface Seen {
  method: string;
  path: string;
  query: string;
  body: Record<string, unknown> | null;
}

/** Just enough of the REST API for issues: list open (paginated with Link), create, update, comment. */
class FakeIssues {
  readonly requests: Seen[] = [];
  issues: Issue[] = [];
  /** Answer requests matching `method path` with this status instead (permission and server errors). */
  refuse: { match: RegExp; status: number } | null = null;
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
    this.issues = [];
    this.refuse = null;
  }

  add(title: string, body: string, pr = false): Issue {
    const i: Issue = { number: this.issues.length + 1, title, body, state: 'open', stateReason: null, comments: [], pr };
    this.issues.push(i);
    return i;
  }

  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  open(): Issue[] {
    return this.issues.filter((i) => i.state === 'open' && !i.pr);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', this.url);
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
      this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.search, body });
      const send = (status: number, data: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(data));
      };
      if (this.refuse?.match.test(`${req.method} ${url.pathname}`)) return send(this.refuse.status, { message: this.refuse.status === 403 ? 'Resource not accessible by integration' : 'Server Error' });
      const view = (i: Issue) => ({ number: i.number, title: i.title, body: i.body, state: i.state, html_url: `https://github.test/octo/mail/issues/${i.number}`, ...(i.pr ? { pull_request: { url: 'x' } } : {}) });
      if (url.pathname === '/repos/octo/mail/issues' && req.method === 'GET') return this.list(url, send, view);
      if (url.pathname === '/repos/octo/mail/issues' && req.method === 'POST') {
        return send(201, view(this.add(String(body?.title), String(body?.body))));
      }
      let m = /^\/repos\/octo\/mail\/issues\/(\d+)$/.exec(url.pathname);
      const issue = m ? this.issues.find((i) => i.number === Number(m?.[1])) : undefined;
      if (m && req.method === 'PATCH') {
        if (!issue) return send(404, { message: 'Not Found' });
        if (typeof body?.title === 'string') issue.title = body.title;
        if (typeof body?.body === 'string') issue.body = body.body;
        if (body?.state === 'closed' || body?.state === 'open') issue.state = body.state;
        if (typeof body?.state_reason === 'string') issue.stateReason = body.state_reason;
        return send(200, view(issue));
      }
      m = /^\/repos\/octo\/mail\/issues\/(\d+)\/comments$/.exec(url.pathname);
      const target = m ? this.issues.find((i) => i.number === Number(m?.[1])) : undefined;
      if (m && req.method === 'POST' && target) {
        target.comments.push(String(body?.body));
        return send(201, { id: 9000 + target.comments.length, body: body?.body, html_url: `https://github.test/octo/mail/issues/${target.number}#c` });
      }
      send(404, { message: 'Not Found' });
    });
  }

  private list(url: URL, send: (status: number, data: unknown, headers?: Record<string, string>) => void, view: (i: Issue) => unknown): void {
    const state = url.searchParams.get('state') ?? 'open';
    const all = this.issues.filter((i) => state === 'all' || i.state === state);
    const perPage = Number(url.searchParams.get('per_page') ?? 30);
    const page = Number(url.searchParams.get('page') ?? 1);
    const headers: Record<string, string> = {};
    if (page * perPage < all.length) {
      const next = new URL(url);
      next.searchParams.set('page', String(page + 1));
      headers.link = `<${next.href}>; rel="next"`;
    }
    send(200, all.slice((page - 1) * perPage, page * perPage).map(view), headers);
  }
}

/** A TCP forwarder on a fixed loopback port; `to` changes the server behind it for the next connections. */
interface Forwarder {
  port: number;
  connections: number;
  to(port: number): void;
  close(): Promise<void>;
}

async function startForwarder(): Promise<Forwarder> {
  let backend = 0;
  const sockets = new Set<net.Socket>();
  const state = { connections: 0 };
  const server = net.createServer((client) => {
    state.connections++;
    // SAFETY: loopback only.
    const upstream = net.connect({ host: '127.0.0.1', port: backend });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    to: (port) => (backend = port),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const RELAY = 'permit_mynetworks, reject_unauth_destination';
const TOKEN = 'ghs_fakeTokenForTheIssueApi';
const api = new FakeIssues();
let pf: RunningPostfix;
let relay: Forwarder;
let dir: string;
let summaryFile: string;

function scheduled(runId: number): Record<string, string> {
  return {
    GITHUB_EVENT_NAME: 'schedule',
    GITHUB_REPOSITORY: 'octo/mail',
    GITHUB_API_URL: api.url,
    GITHUB_SERVER_URL: 'https://github.test',
    GITHUB_WORKFLOW: 'fleet-audit',
    GITHUB_JOB: 'audit',
    GITHUB_RUN_ID: String(runId),
  };
}

const watch = (host: string, extra: Record<string, string> = {}): Record<string, string> => ({ host, issue: 'true', 'github-token': TOKEN, 'connect-timeout': '5', ...extra });
const run = (host: string, runId: number, extra: Record<string, string> = {}): Promise<MainRun> => runMain(dir, summaryFile, watch(host, extra), scheduled(runId));

beforeAll(async () => {
  await api.start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-watch-'));
  // @actions/core's summary remembers the first GITHUB_STEP_SUMMARY it sees: one file for the whole file.
  summaryFile = path.join(dir, 'summary.md');
});

afterAll(async () => {
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => api.reset());

describePostfix('the scheduled watch: one issue per host and port', () => {
  beforeAll(async () => {
    relay = await startForwarder();
    pf = await startPostfix([
      // Narrowly open, each in its own way (as in postfix-narrow.test.ts): the target's relayed vectors change between runs.
      { name: 'helo-localhost', overrides: [`{ smtpd_relay_restrictions = check_helo_access inline:{ localhost=OK }, ${RELAY} }`] },
      { name: 'null-sender', overrides: [`{ smtpd_relay_restrictions = check_sender_access inline:{ <>=OK }, ${RELAY} }`] },
      { name: 'open', overrides: ['mynetworks=0.0.0.0/0'] },
      { name: 'closed', overrides: [] },
    ]);
  }, 60_000);

  afterAll(async () => {
    await relay?.close();
    await pf?.stop();
  });

  test('a failing target opens one issue; the next failing run updates it with what changed; a passing run closes it with a comment', async () => {
    const target = `127.0.0.1:${relay.port}`;
    const key = targetKey('127.0.0.1', relay.port);
    // Behind the target first: a Postfix that relays for clients saying HELO localhost. Shown by a direct session.
    relay.to(pf.ports['helo-localhost']);
    expect((await direct(relay.port, { mode: 'plain', client: null, helo: 'localhost' })).verdict).toBe('open');
    expect((await direct(relay.port, { mode: 'plain', client: null })).verdict).toBe('closed');

    const first = await run(target, 101);
    expect([first.outputs.verdict, first.failed]).toEqual(['open', true]);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues', 'POST /repos/octo/mail/issues']);
    expect(api.requests[0].query).toContain('state=open');
    expect(api.open()).toHaveLength(1);
    const issue = api.open()[0];
    expect(issue.title).toBe(`relay-check: ${key} is an open relay`);
    expect(issue.body.split('\n')[0]).toBe(issueMarker(key));
    expect(issue.body).toContain('## relay-check: ❌ Open relay');
    expect(issue.body).toContain('https://github.test/octo/mail/actions/runs/101');
    expect(issue.body).not.toContain(TOKEN);
    expect(parseState(issue.body)).toMatchObject({ verdict: 'open', relayed: ['helo-localhost', 'helo-localhost-localhost-sender'] });

    // Redeployed: the HELO whitelist is gone, a null-sender whitelist came instead.
    relay.to(pf.ports['null-sender']);
    expect((await direct(relay.port, { mode: 'plain', client: null, from: '' })).verdict).toBe('open');
    api.requests.length = 0;
    const second = await run(target, 102);
    expect([second.outputs.verdict, second.failed]).toEqual(['open', true]);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues', `PATCH /repos/octo/mail/issues/${issue.number}`, `POST /repos/octo/mail/issues/${issue.number}/comments`]);
    expect(api.issues).toHaveLength(1);
    expect(issue.comments).toHaveLength(1);
    const change = issue.comments[0];
    expect(change).toMatch(/^\*\*What changed since the run of .*\(\[run\]\(https:\/\/github\.test\/octo\/mail\/actions\/runs\/101\)\)\*\*/);
    expect(change).toMatch(/- Newly relayed: .*<code>null-sender<\/code>/);
    expect(change).toContain('- No longer relayed (refused now): <code>helo-localhost</code>, <code>helo-localhost-localhost-sender</code>');
    expect(change).not.toContain('Verdict:');
    expect(change).toContain('[This run](https://github.test/octo/mail/actions/runs/102)');
    expect(parseState(issue.body)?.relayed).toContain('null-sender');
    expect(parseState(issue.body)?.run).toBe('https://github.test/octo/mail/actions/runs/102');

    // Someone adds a note in the web page, which sends the body back with CRLF line ends: still the same issue, still its state.
    issue.body = `${issue.body.replace(/\n/g, '\r\n')}\r\nNote: the DNS change is pending.`;
    // Nothing new: the body is refreshed (its last run), nobody is notified.
    api.requests.length = 0;
    await run(target, 103);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues', `PATCH /repos/octo/mail/issues/${issue.number}`]);
    expect(api.requests[1].body).not.toHaveProperty('title');
    expect(issue.comments).toHaveLength(1);
    expect(parseState(issue.body)?.run).toBe('https://github.test/octo/mail/actions/runs/103');

    // Fixed: the closed Postfix answers behind the same target.
    relay.to(pf.ports.closed);
    expect((await direct(relay.port, { mode: 'plain', client: null, from: '' })).verdict).toBe('closed');
    api.requests.length = 0;
    const fixed = await run(target, 104);
    expect([fixed.outputs.verdict, fixed.failed]).toEqual(['closed', false]);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues', `POST /repos/octo/mail/issues/${issue.number}/comments`, `PATCH /repos/octo/mail/issues/${issue.number}`]);
    expect(api.requests[2].body).toEqual({ state: 'closed', state_reason: 'completed' });
    expect([issue.state, issue.stateReason]).toEqual(['closed', 'completed']);
    const closing = issue.comments[1];
    expect(closing).toContain(`**${code(key)} passes**: [this run](https://github.test/octo/mail/actions/runs/104)`);
    expect(closing).toContain('- Verdict: <code>open</code> → <code>closed</code>');
    expect(closing).toMatch(/- No longer relayed \(refused now\): .*<code>null-sender<\/code>/);
    expect(commands(fixed.log, 'warning')).toEqual([]);

    // Still closed: no issue is open for it, so nothing is written.
    api.requests.length = 0;
    await run(target, 105);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues']);
  }, 300_000);

  test('one issue per host and port: two targets in one run, rerun twice, an issue quoting the marker and a pull request carrying it', async () => {
    const open = `127.0.0.1:${pf.ports.open}`;
    const closed = `127.0.0.1:${pf.ports.closed}`;
    const key = targetKey('127.0.0.1', pf.ports.open);
    expect((await direct(pf.ports.open, { mode: 'plain', client: null })).verdict).toBe('open');
    // 150 unrelated open issues: the watch's own is on the second page.
    for (let i = 0; i < 150; i++) api.add(`unrelated ${i}`, `body ${i}`);
    api.add('Is this ours?', `> ${issueMarker(key)}\n> quoted from the watch`);
    api.add('A pull request', `${issueMarker(key)}\ncopied into a pull request`, true);

    const first = await run(`${open}, ${closed}`, 201);
    expect(first.outputs.verdict).toBe('open');
    const mine = api.open().filter((i) => i.body.startsWith(issueMarker(key)));
    expect(mine).toHaveLength(1);
    // The closed target gets no issue.
    expect(api.open().filter((i) => i.title.startsWith('relay-check:'))).toHaveLength(1);
    for (const rerun of [202, 202]) {
      api.requests.length = 0;
      await run(`${open}, ${closed}`, rerun);
      expect(api.calls()).toEqual(['GET /repos/octo/mail/issues', 'GET /repos/octo/mail/issues', `PATCH /repos/octo/mail/issues/${mine[0].number}`]);
    }
    expect(api.open().filter((i) => i.body.startsWith(issueMarker(key)))).toHaveLength(1);
    expect(mine[0].comments).toEqual([]);
  }, 120_000);

  test('past 1,000 open issues a target whose issue was not among them gets a warning, not a possible duplicate', async () => {
    for (let i = 0; i < 1001; i++) api.add(`unrelated ${i}`, `body ${i}`);
    const r = await run(`127.0.0.1:${pf.ports.open}`, 203);
    expect(r.failed).toBe(true);
    expect(api.calls()).toEqual(Array.from({ length: 10 }, () => 'GET /repos/octo/mail/issues'));
    expect(commands(r.log, 'warning').some((l) => l.includes('more than 1000 open issues'))).toBe(true);
    // Exactly 1,000 (no next page): every one was read, so the issue is opened.
    api.issues.length = 1000;
    api.requests.length = 0;
    await run(`127.0.0.1:${pf.ports.open}`, 204);
    expect(api.calls().filter((c) => c.startsWith('POST'))).toEqual(['POST /repos/octo/mail/issues']);
  }, 60_000);

  test.each([
    [403, 'issues: write'],
    [500, 'HTTP 500'],
  ])('HTTP %i from the API: a warning (%s), the verdict and the exit status unchanged', async (status, words) => {
    api.refuse = { match: /^POST /, status };
    const r = await run(`127.0.0.1:${pf.ports.open}`, 301);
    expect([r.outputs.verdict, r.failed]).toEqual(['open', true]);
    expect(api.calls()).toEqual(['GET /repos/octo/mail/issues', 'POST /repos/octo/mail/issues']);
    expect(api.open()).toEqual([]);
    // The verdict is the first error; the issue problem is only a warning.
    expect(commands(r.log, 'error')[0]).toMatch(/^::error title=relay-check%3A open relay::/);
    const warnings = commands(r.log, 'warning').filter((l) => l.includes('The watch issue was not updated'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(words);
    expect(warnings[0]).toContain(`could not open an issue for 127.0.0.1:${pf.ports.open}`);
  }, 60_000);

  test('a passing target whose issue cannot be closed (HTTP 403): a warning, the step still passes', async () => {
    const key = targetKey('127.0.0.1', pf.ports.closed);
    const issue = api.add(`relay-check: ${key} is an open relay`, `${issueMarker(key)}\nold`);
    api.refuse = { match: /^(POST|PATCH) /, status: 403 };
    const r = await run(`127.0.0.1:${pf.ports.closed}`, 302);
    expect([r.outputs.verdict, r.failed]).toEqual(['closed', false]);
    expect(issue.state).toBe('open');
    expect(commands(r.log, 'warning').some((l) => l.includes(`could not comment on issue #${issue.number} for ${key}`) && l.includes('permissions: issues: write'))).toBe(true);
    expect(commands(r.log, 'error')).toEqual([]);
  }, 60_000);

  test('the API unreachable: a warning, the step passes on a closed server', async () => {
    const r = await runMain(dir, summaryFile, watch(`127.0.0.1:${pf.ports.closed}`), { ...scheduled(303), GITHUB_API_URL: 'http://127.0.0.1:1' });
    expect([r.outputs.verdict, r.failed]).toEqual(['closed', false]);
    expect(commands(r.log, 'warning').some((l) => l.includes('could not list the open issues of octo/mail'))).toBe(true);
  }, 60_000);

  test('the committed bundle (node dist/index.js, as GitHub runs it) opens the issue too', async () => {
    const key = targetKey('127.0.0.1', pf.ports.open);
    const r = await runAction(watch(`127.0.0.1:${pf.ports.open}`), 60_000, scheduled(305));
    try {
      expect([r.code, r.outputs.verdict]).toEqual([1, 'open']);
      expect(api.calls()).toEqual(['GET /repos/octo/mail/issues', 'POST /repos/octo/mail/issues']);
      expect(api.open().map((i) => i.title)).toEqual([`relay-check: ${key} is an open relay`]);
    } finally {
      fs.rmSync(r.dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('issue false (the default) makes no request, even on an open relay', async () => {
    const r = await runMain(dir, summaryFile, { host: `127.0.0.1:${pf.ports.open}`, 'github-token': TOKEN }, scheduled(304));
    expect(r.failed).toBe(true);
    expect(api.requests).toEqual([]);
  }, 60_000);
});

describe('the scheduled watch without Postfix', () => {
  let hostile: FaultServer;
  beforeAll(async () => {
    // Relays everything, and says so with Markdown and HTML in its replies.
    hostile = await startFaultServer((ctx) => {
      const say = (l: string): void => void ctx.socket.write(`${l}\r\n`);
      say('220 mx.hostile.test ESMTP <img src=x onerror=alert(1)> @everyone');
      let inData = false;
      ctx.onLine((line) => {
        const verb = line.split(/[\s:]/)[0].toUpperCase();
        if (inData) {
          if (line === '.') say('250 2.0.0 queued <b>bold</b>');
          inData = line !== '.';
        } else if (verb === 'EHLO') say('250 mx.hostile.test');
        else if (verb === 'RCPT') say('250 2.1.5 Ok <script>alert(1)</script> [click](https://evil.test) @everyone');
        else if (verb === 'DATA') {
          inData = true;
          say('354 go');
        } else if (verb === 'QUIT') {
          say('221 bye');
          ctx.socket.end();
        } else say('250 2.0.0 Ok');
      });
    });
  });
  afterAll(async () => hostile?.close());

  test('an unreachable target fails under normal: an issue titled "could not tell whether …", not "is an open relay"', async () => {
    const port = await freePort();
    const key = targetKey('127.0.0.1', port);
    const r = await run(`127.0.0.1:${port}`, 401);
    expect([r.outputs.verdict, r.failed]).toEqual(['inconclusive', true]);
    expect(api.open()).toHaveLength(1);
    expect(api.open()[0].title).toBe(`relay-check: could not tell whether ${key} is an open relay`);
    expect(parseState(api.open()[0].body)).toMatchObject({ verdict: 'inconclusive', relayed: [] });
  }, 60_000);

  test('server text in the issue and its comments is escaped: no tag, link or mention survives', async () => {
    const key = targetKey('127.0.0.1', hostile.port);
    // An issue the watch opened before, recording a verdict the next run changes.
    api.add(`relay-check: could not tell whether ${key} is an open relay`, `${issueMarker(key)}\n<!-- relay-check watch state ${Buffer.from(JSON.stringify({ verdict: 'inconclusive', relayed: [], at: '2026-01-01T00:00:00Z', run: 'javascript:alert(1)' })).toString('base64url')} -->\nold`);
    const r = await run(`127.0.0.1:${hostile.port}`, 402);
    expect(r.outputs.verdict).toBe('open');
    const issue = api.issues[0];
    expect(issue.title).toBe(`relay-check: ${key} is an open relay`);
    expect(issue.comments).toHaveLength(1);
    for (const text of [issue.body, issue.comments[0]]) {
      expect(text).not.toMatch(/<img|<script|<b>|\]\(https:\/\/evil|@everyone|javascript:/);
    }
    expect(issue.body).toContain('&#64;everyone');
    expect(issue.comments[0]).toContain('- Verdict: <code>inconclusive</code> → <code>open</code>');
    // The recorded run link was not a link: the comment names the time only.
    expect(issue.comments[0]).toMatch(/^\*\*What changed since the run of 2026-01-01T00&#58;00&#58;00Z\*\*/);
  }, 60_000);

  test('issue: maybe is refused naming the input, before any connection or request', async () => {
    const before = hostile.connections;
    const r = await run(`127.0.0.1:${hostile.port}`, 403, { issue: 'maybe' });
    expect(r.failed).toBe(true);
    const errors = commands(r.log, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/::Input 'issue': "maybe" is not one of true, false$/);
    expect(hostile.connections).toBe(before);
    expect(api.requests).toEqual([]);
  });

  test('issue with postfix-config is refused: a gate has no server to watch', async () => {
    const r = await runMain(dir, summaryFile, { issue: 'true', 'postfix-config': 'postfix/' }, scheduled(404));
    expect(r.failed).toBe(true);
    expect(commands(r.log, 'error')[0]).toMatch(/::Input 'issue': watches the servers named in `host` or `domain`; a `postfix-config` gate has none/);
  });
});

describe('target keys', () => {
  test('lower case, IPv6 in brackets, nothing that could end an HTML comment', () => {
    expect(targetKey('MX.Example.org.', 25)).toBe('mx.example.org:25');
    expect(targetKey('2001:db8::25', 587)).toBe('[2001:db8::25]:587');
    const odd = targetKey('a--b.example-->x', 25);
    expect(odd).not.toContain('--');
    expect(odd).not.toContain('>');
    expect(issueMarker(odd).indexOf('-->')).toBe(issueMarker(odd).length - 3);
  });

  test('a state line that is not ours, or not valid, reads as none', () => {
    expect(parseState('no state here')).toBeNull();
    expect(parseState('<!-- relay-check watch state !!! -->')).toBeNull();
    const bad = Buffer.from(JSON.stringify({ verdict: 'maybe', relayed: [], at: 'x' })).toString('base64url');
    expect(parseState(`<!-- relay-check watch state ${bad} -->`)).toBeNull();
  });
});
