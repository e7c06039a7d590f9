import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Report } from '../src/model/report.js';
import { renderSummary } from '../src/report/summary.js';
import { killGroup } from './support/daemon.js';
import { describeWithMta, type Availability } from './support/describe-mta.js';
import { eximAvailability, eximConfig, eximInstall } from './support/exim.js';
import { BOX_ADDR, CLIENT_ADDR, GATEWAY_ADDR, HOST_PUBLIC_ADDR, makeNamespaces, netnsAvailable, routesOf, type Namespaces } from './support/netns.js';
import { POSTFIX, postfixAvailable, running, stopInstance, UNIX_SERVICES, type Instance } from './support/postfix.js';

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
 * A Postfix behind the same forwarder names no address: the report says the address is
 * unknown and gives what finds the session in Postfix's log, which the test then finds there.
 *
 * Needs root, iproute2, the unpacked Exim and Postfix; CI sets RELAY_CHECK_REQUIRE_NETNS=1.
 */

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SCRIPTS = path.join(ROOT, '__tests__/support/netns');
const CLI = path.join(ROOT, 'lib/src/bin.js');
const NODE = process.execPath;
const SMTP_PORT = 25;
const START_TIMEOUT_MS = 15_000;

/** Namespaces and the MTA, or why not. */
function both(mta: Availability): Availability {
  const netns = netnsAvailable();
  return netns.ok ? mta : netns;
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


/** What one block sets up: the namespaces, a server in the box, the forwarder, the direct session and the relay-check run. */
interface Setup {
  ns: Namespaces;
  dir: string;
  forwarder: Running;
  direct: { ehlo: string; rcpt: string; transcript: string[] };
  terminal: string;
  report: Report;
}

/**
 * Makes the namespaces, starts the server in the box (`start`), the forwarder in the host, waits
 * for the greeting through it, then runs a direct session and relay-check from the client. What
 * it made is kept in `made` as it goes, so tearDown removes it even when a step failed.
 */
async function behindProxy(label: string, made: Partial<Setup>, start: (ns: Namespaces, dir: string) => void, why: (dir: string) => string): Promise<Setup> {
  const ns = (made.ns = makeNamespaces(label));
  const dir = (made.dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `relay-check-${label}-`))));
  fs.chmodSync(dir, 0o755);
  start(ns, dir);
  const forwarder = (made.forwarder = started(ns.spawnIn(ns.host, [NODE, path.join(SCRIPTS, 'forwarder.mjs'), HOST_PUBLIC_ADDR, String(SMTP_PORT), GATEWAY_ADDR, BOX_ADDR, String(SMTP_PORT)])));
  await waitForGreeting(ns, () => `forwarder: ${forwarder.output()}\n${why(dir)}`);
  // The expected verdict, by a direct session from the client.
  const d = ns.runIn(ns.client, [NODE, path.join(SCRIPTS, 'direct.mjs'), HOST_PUBLIC_ADDR, String(SMTP_PORT)]);
  if (d.status !== 0) throw new Error(`direct session failed: ${d.stdout}${d.stderr}`);
  const reportPath = path.join(dir, 'report.json');
  const r = ns.runIn(ns.client, [NODE, CLI, HOST_PUBLIC_ADDR, '--port', String(SMTP_PORT), '--tls', 'none', '--timeout', '90', '--report-path', reportPath], 150_000);
  if (!fs.existsSync(reportPath)) throw new Error(`relay-check wrote no report (exit ${r.status}): ${r.stdout}${r.stderr}`);
  return { ns, dir, forwarder, direct: JSON.parse(d.stdout) as Setup['direct'], terminal: r.stdout, report: JSON.parse(fs.readFileSync(reportPath, 'utf8')) as Report };
}

async function tearDown(made: Partial<Setup>, stopServer: () => Promise<void>): Promise<void> {
  if (made.forwarder) await killGroup(made.forwarder.child, made.forwarder.exited);
  await stopServer();
  made.ns?.remove();
  if (made.dir) fs.rmSync(made.dir, { recursive: true, force: true });
}

const read = (file: string): string => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

describeWithMta('Network namespaces and Exim', 'RELAY_CHECK_REQUIRE_NETNS', both(eximAvailability()), 'the server saw you as the gateway (network namespaces, Exim behind a userland-proxy-like forwarder)', () => {
  let exim: Running | undefined;
  let s: Setup;
  const made: Partial<Setup> = {};

  beforeAll(async () => {
    s = await behindProxy(
      'seen-exim',
      made,
      (ns, dir) => {
        for (const d of ['spool', 'log']) fs.mkdirSync(path.join(dir, d));
        const { bin, libDir } = eximInstall();
        const conf = path.join(dir, 'exim.conf');
        // Docker's networks trusted, as the mail stacks' defaults did (Mailu RELAYNETS=172.16.0.0/12, mailcow's mynetworks);
        // connections logged too, so the log can say whom Exim saw.
        const text = eximConfig('closed', dir, bin, { listen: BOX_ADDR, relayFromHosts: '172.16.0.0/12' }).replace(/^acl_smtp_rcpt = /m, 'log_selector = +smtp_connection\nacl_smtp_rcpt = ');
        fs.writeFileSync(conf, text, { mode: 0o644 });
        exim = started(ns.spawnIn(ns.box, [bin, '-C', conf, '-bdf', '-oX', String(SMTP_PORT), '-oP', path.join(dir, 'exim.pid')], { ...process.env, LD_LIBRARY_PATH: libDir }));
      },
      (dir) => `exim: ${exim?.output() ?? ''}\nmainlog: ${read(path.join(dir, 'log/mainlog'))}`,
    );
  }, 240_000);

  afterAll(async () => {
    await tearDown(made, async () => {
      if (exim) await killGroup(exim.child, exim.exited);
    });
  });

  test('no namespace has a way out: no default route, and the client cannot reach the box behind the host', () => {
    for (const name of [s.ns.client, s.ns.host, s.ns.box]) expect({ name, routes: routesOf(s.ns, name) }).not.toEqual({ name, routes: expect.stringMatching(/^default/m) });
    const r = s.ns.runIn(s.ns.client, [NODE, path.join(SCRIPTS, 'direct.mjs'), BOX_ADDR, String(SMTP_PORT), '--greeting'], 10_000);
    expect(r.stdout).toMatch(/"error":"ENETUNREACH"/);
  });

  test('a direct session first: the server names the gateway in its EHLO reply and accepts the relay (open)', () => {
    expect(s.direct.ehlo).toBe(`250-mx.exim.test Hello direct.example.org [${GATEWAY_ADDR}]`);
    expect(s.direct.rcpt).toMatch(/^250 Accepted$/);
  });

  test('the report: seen as 172.17.0.1 (read by the Exim row), connected from 192.0.2.99, proxied; the relay open', () => {
    expect(s.report.verdict).toBe('open');
    const [t] = s.report.targets;
    expect(t.address).toBe(HOST_PUBLIC_ADDR);
    expect(t.mta?.name).toBe('Exim');
    expect(t.vantage).toMatchObject({ connectedFrom: CLIENT_ADDR, seenAs: GATEWAY_ADDR, echo: 'exim-hello', proxied: true, xclient: null, effective: GATEWAY_ADDR, network: 'private' });
    expect(t.vantage?.helo).toEqual(expect.any(String));
  });

  test("the relay's diagnosis is the proxied row, and only it", () => {
    expect(s.report.diagnosis).toHaveLength(1);
    expect(s.report.diagnosis?.[0].findings.map((f) => f.rule)).toEqual(['any-proxied-client']);
    expect(s.report.diagnosis?.[0].vantageWarning).toMatch(/^The server saw you as 172\.17\.0\.1 \(a container bridge gateway\): every outside client arrives as this address/);
  });

  test('the terminal says it first, right under the verdict line; the summary before the verdict sentence', () => {
    const lines = s.terminal.split('\n');
    expect(lines[0]).toMatch(/OPEN RELAY/);
    expect(lines[1]).toMatch(/^The server saw you as 172\.17\.0\.1 \(a container bridge gateway\): every outside client/);
    expect(s.terminal.replace(/\n +/g, ' ')).toContain('every outside client arrives as this address; if it is trusted (mynetworks, relay_from_hosts, Connect: RELAY, match from src), anyone can relay.');
    expect(s.terminal).toMatch(/seen as: 172\.17\.0\.1 \(named in its EHLO reply\)/);
    const md = renderSummary(s.report);
    const caution = md.indexOf('> [!CAUTION]\n> The server saw you as 172.17.0.1');
    expect(caution).toBeGreaterThan(0);
    expect(caution).toBeLessThan(md.indexOf(`**${HOST_PUBLIC_ADDR}`));
  });

  test("Exim's own log agrees: every session came from the gateway, none from the client", () => {
    const log = read(path.join(s.dir, 'log/mainlog'));
    expect(log).toMatch(new RegExp(`SMTP connection from .*\\[${GATEWAY_ADDR.replace(/\./g, '\\.')}\\]`));
    expect(log).not.toContain(CLIENT_ADDR);
  });
});

/** A private Postfix listening on the box's address, trusting only loopback, delivering nothing. */
function writePostfix(dir: string): string {
  const conf = path.join(dir, 'conf');
  for (const d of ['conf', 'queue', 'data']) fs.mkdirSync(path.join(dir, d), { mode: 0o755 });
  const owner = (flag: string): number => Number(spawnSync('id', [flag, 'postfix'], { encoding: 'utf8' }).stdout.trim());
  fs.chownSync(path.join(dir, 'data'), owner('-u'), owner('-g'));
  const main: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: path.join(dir, 'queue'),
    data_directory: path.join(dir, 'data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: 'mx.postfix.test',
    mydomain: 'postfix.test',
    mydestination: '$myhostname, localhost',
    mynetworks: '127.0.0.0/8',
    inet_interfaces: BOX_ADDR,
    inet_protocols: 'ipv4',
    alias_maps: '',
    alias_database: '',
    // SAFETY: nothing is ever delivered anywhere.
    default_transport: 'discard:',
    relay_transport: 'discard:',
    local_transport: 'discard:',
    virtual_transport: 'discard:',
    maillog_file: path.join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    smtputf8_enable: 'no',
    in_flow_delay: '0',
  };
  fs.writeFileSync(path.join(conf, 'main.cf'), `${Object.entries(main).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  fs.writeFileSync(path.join(conf, 'master.cf'), `${BOX_ADDR}:${SMTP_PORT} inet n - n - - smtpd\n${UNIX_SERVICES}`);
  return conf;
}

describeWithMta('Network namespaces and Postfix', 'RELAY_CHECK_REQUIRE_NETNS', both(postfixAvailable()), 'a server that names no address (Postfix behind the same forwarder): unknown, and how to find it', () => {
  let instance: Instance | undefined;
  let s: Setup;
  const made: Partial<Setup> = {};

  beforeAll(async () => {
    s = await behindProxy(
      'seen-postfix',
      made,
      (ns, dir) => {
        const conf = writePostfix(dir);
        instance = { dir, stopped: false };
        running.add(instance);
        const r = ns.runIn(ns.box, [POSTFIX, '-c', conf, 'start'], 30_000);
        if (r.status !== 0) throw new Error(`postfix start in the box failed: ${r.stdout}${r.stderr}\n${read(path.join(dir, 'maillog'))}`);
      },
      (dir) => `maillog: ${read(path.join(dir, 'maillog'))}`,
    );
  }, 240_000);

  afterAll(async () => {
    // stopInstance removes the folder too; the setup's own removal then finds nothing.
    await tearDown(made, async () => {
      if (instance) await stopInstance(instance);
    });
  });

  test('a direct session first: Postfix names no address in its EHLO reply and refuses the relay (closed)', () => {
    expect(s.direct.ehlo).toBe('250-mx.postfix.test');
    // Postfix's default smtpd_relay_restrictions end in defer_unauth_destination: 454, a refusal by policy.
    expect(s.direct.rcpt).toMatch(/^454 4\.7\.1 <relay-check@example\.com>: Relay access denied$/);
  });

  test('the report: nothing seen, nothing proxied; the note says unknown, with our EHLO name and the time', () => {
    expect(s.report.verdict).toBe('closed');
    const [t] = s.report.targets;
    expect(t.mta?.name).toBe('Postfix');
    expect(t.vantage).toMatchObject({ connectedFrom: CLIENT_ADDR, seenAs: null, echo: null, proxied: false });
    const helo = t.vantage?.helo ?? '';
    expect(helo).not.toBe('');
    const note = `seen as: unknown (Postfix names no address in its EHLO reply); to find it, look for this session in the server's log (EHLO ${helo}, at ${t.vantage?.at}): Postfix logs connect from name[address] as it opens`;
    expect(s.terminal.replace(/\n +/g, ' ')).toContain(note);
    expect(renderSummary(s.report)).toContain('unknown &#40;Postfix names no address in its EHLO reply&#41;');
  });

  test("the note finds the session in Postfix's log: a line with our EHLO name names the gateway as the client", () => {
    const helo = s.report.targets[0].vantage?.helo ?? '';
    const ours = read(path.join(s.dir, 'maillog')).split('\n').filter((l) => l.includes(`helo=<${helo}>`));
    expect(ours.length).toBeGreaterThan(0);
    for (const line of ours) expect(line).toContain(`unknown[${GATEWAY_ADDR}]`);
  });
});
