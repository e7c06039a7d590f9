import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Report } from '../src/model/report.js';
import { renderSummary } from '../src/report/summary.js';
import { killGroup } from './support/daemon.js';
import { describeWithMta } from './support/describe-mta.js';
import { eximAvailability, eximConfig, eximInstall } from './support/exim.js';
import { BOX_ADDR, CLIENT_ADDR, GATEWAY_ADDR, HOST_PUBLIC_ADDR, makeNamespaces, netnsAvailable, routesOf, type Namespaces } from './support/netns.js';

/**
 * "The server saw you as the gateway", end to end (issue 23): a client at 192.0.2.99 connects to
 * a "public" 192.0.2.1:25, where a forwarder re-originates the connection from 172.17.0.1 to the
 * "container" 172.17.0.2, as Docker's userland proxy does; the Exim there trusts 172.16.0.0/12,
 * Docker's networks, as docker-mailserver, mailcow and Mailu setups did. Every address exists only
 * inside namespaces this test makes (support/netns.ts), none has a route out.
 *
 * The expected verdict is first shown by a direct session from the client; relay-check then runs
 * there as its CLI (built, lib/src/bin.js), the way a post-deploy check from a runner would.
 *
 * Needs root, iproute2 and the unpacked Exim; CI sets RELAY_CHECK_REQUIRE_NETNS=1.
 */

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SCRIPTS = path.join(ROOT, '__tests__/support/netns');
const CLI = path.join(ROOT, 'lib/src/bin.js');
const NODE = process.execPath;
const SMTP_PORT = 25;
const START_TIMEOUT_MS = 15_000;

function availability(): { ok: true } | { ok: false; why: string } {
  const netns = netnsAvailable();
  if (!netns.ok) return netns;
  return eximAvailability();
}

interface Running {
  child: ChildProcess;
  exited: Promise<string>;
  output: () => string;
}

function started(child: ChildProcess): Running {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<string>((resolve) => {
    child.on('error', (e) => resolve(`could not start: ${e.message}`));
    child.on('exit', (code, signal) => resolve(`exited (${signal ?? code})`));
  });
  return { child, exited, output: () => output };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls from the client namespace until the server greets through the forwarder (bounded). */
async function waitForGreeting(ns: Namespaces, why: () => string): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS;
  let last = '';
  while (Date.now() < until) {
    const r = ns.runIn(ns.client, [NODE, path.join(SCRIPTS, 'direct.mjs'), HOST_PUBLIC_ADDR, String(SMTP_PORT), '--greeting'], 5000);
    if (r.status === 0 && /"greeting":"220 /.test(r.stdout)) return;
    last = `${r.stdout}${r.stderr}`.trim();
    await sleep(200);
  }
  throw new Error(`no greeting through the forwarder within ${START_TIMEOUT_MS / 1000} s (last: ${last})\n${why()}`);
}

describeWithMta('Network namespaces and Exim', 'RELAY_CHECK_REQUIRE_NETNS', availability(), 'the server saw you as the gateway (network namespaces, Exim behind a userland-proxy-like forwarder)', () => {
  let ns: Namespaces;
  let dir: string;
  let exim: Running;
  let forwarder: Running;
  let direct: { ehlo: string; rcpt: string; transcript: string[] };
  let terminal: string;
  let report: Report;

  beforeAll(async () => {
    ns = makeNamespaces();
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-seen-as-')));
    for (const d of ['spool', 'log']) fs.mkdirSync(path.join(dir, d));
    const { bin, libDir } = eximInstall();
    const conf = path.join(dir, 'exim.conf');
    // Docker's networks trusted, as the mail stacks' defaults did (Mailu RELAYNETS=172.16.0.0/12, mailcow's mynetworks).
    // Connections logged too, so the log can say whom Exim saw.
    const text = eximConfig('closed', dir, bin, { listen: BOX_ADDR, relayFromHosts: '172.16.0.0/12' }).replace(/^acl_smtp_rcpt = /m, 'log_selector = +smtp_connection\nacl_smtp_rcpt = ');
    fs.writeFileSync(conf, text, { mode: 0o644 });
    exim = started(ns.spawnIn(ns.box, [bin, '-C', conf, '-bdf', '-oX', String(SMTP_PORT), '-oP', path.join(dir, 'exim.pid')], { ...process.env, LD_LIBRARY_PATH: libDir }));
    forwarder = started(ns.spawnIn(ns.host, [NODE, path.join(SCRIPTS, 'forwarder.mjs'), HOST_PUBLIC_ADDR, String(SMTP_PORT), GATEWAY_ADDR, BOX_ADDR, String(SMTP_PORT)]));
    const mainlog = (): string => (fs.existsSync(path.join(dir, 'log/mainlog')) ? fs.readFileSync(path.join(dir, 'log/mainlog'), 'utf8') : '');
    await waitForGreeting(ns, () => `exim: ${exim.output()}\nforwarder: ${forwarder.output()}\nmainlog: ${mainlog()}`);

    // The expected verdict, by a direct session from the client: the plain relay attempt is accepted.
    const d = ns.runIn(ns.client, [NODE, path.join(SCRIPTS, 'direct.mjs'), HOST_PUBLIC_ADDR, String(SMTP_PORT)]);
    if (d.status !== 0) throw new Error(`direct session failed: ${d.stdout}${d.stderr}`);
    direct = JSON.parse(d.stdout) as typeof direct;

    const reportPath = path.join(dir, 'report.json');
    const r = ns.runIn(ns.client, [NODE, CLI, HOST_PUBLIC_ADDR, '--port', String(SMTP_PORT), '--tls', 'none', '--timeout', '90', '--report-path', reportPath], 150_000);
    terminal = r.stdout;
    if (!fs.existsSync(reportPath)) throw new Error(`relay-check wrote no report (exit ${r.status}): ${r.stdout}${r.stderr}`);
    report = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as Report;
  }, 240_000);

  afterAll(async () => {
    if (forwarder) await killGroup(forwarder.child, forwarder.exited);
    if (exim) await killGroup(exim.child, exim.exited);
    ns?.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('no namespace has a way out: no default route, and the client cannot reach the box behind the host', () => {
    for (const name of [ns.client, ns.host, ns.box]) expect({ name, routes: routesOf(ns, name) }).not.toEqual({ name, routes: expect.stringMatching(/^default/m) });
    const r = ns.runIn(ns.client, [NODE, path.join(SCRIPTS, 'direct.mjs'), BOX_ADDR, String(SMTP_PORT), '--greeting'], 10_000);
    expect(r.stdout).toMatch(/"error":"ENETUNREACH"/);
  });

  test('a direct session first: the server names the gateway in its EHLO reply and accepts the relay (open)', () => {
    expect(direct.ehlo).toBe(`250-mx.exim.test Hello direct.example.org [${GATEWAY_ADDR}]`);
    expect(direct.rcpt).toMatch(/^250 Accepted$/);
  });

  test('the report: seen as 172.17.0.1 (read by the Exim row), connected from 192.0.2.99, proxied; the relay open', () => {
    expect(report.verdict).toBe('open');
    const [t] = report.targets;
    expect(t.address).toBe(HOST_PUBLIC_ADDR);
    expect(t.mta?.name).toBe('Exim');
    expect(t.vantage).toMatchObject({ connectedFrom: CLIENT_ADDR, seenAs: GATEWAY_ADDR, echo: 'exim-hello', proxied: true, xclient: null, effective: GATEWAY_ADDR, network: 'private' });
    expect(t.vantage?.helo).toEqual(expect.any(String));
  });

  test("the relay's diagnosis is the proxied row, and only it", () => {
    expect(report.diagnosis).toHaveLength(1);
    expect(report.diagnosis?.[0].findings.map((f) => f.rule)).toEqual(['any-proxied-client']);
    expect(report.diagnosis?.[0].vantageWarning).toMatch(/^The server saw you as 172\.17\.0\.1 \(a container bridge gateway\): every outside client arrives as this address/);
  });

  test('the terminal says it first, right under the verdict line; the summary before the verdict sentence', () => {
    const lines = terminal.split('\n');
    expect(lines[0]).toMatch(/OPEN RELAY/);
    expect(lines[1]).toMatch(/^The server saw you as 172\.17\.0\.1 \(a container bridge gateway\): every outside client/);
    expect(terminal.replace(/\n +/g, ' ')).toContain('every outside client arrives as this address; if it is trusted (mynetworks, relay_from_hosts, Connect: RELAY, match from src), anyone can relay.');
    expect(terminal).toMatch(/seen as: 172\.17\.0\.1 \(named in its EHLO reply\)/);
    const md = renderSummary(report);
    const caution = md.indexOf('> [!CAUTION]\n> The server saw you as 172.17.0.1');
    expect(caution).toBeGreaterThan(0);
    expect(caution).toBeLessThan(md.indexOf(`**${HOST_PUBLIC_ADDR}`));
  });

  test("Exim's own log agrees: every session came from the gateway, none from the client", () => {
    const log = fs.readFileSync(path.join(dir, 'log/mainlog'), 'utf8');
    expect(log).toMatch(new RegExp(`SMTP connection from .*\\[${GATEWAY_ADDR.replace(/\./g, '\\.')}\\]`));
    expect(log).not.toContain(CLIENT_ADDR);
  });
});
