import { afterAll, beforeAll, expect, test } from '@jest/globals';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { VECTORS } from '../src/battery/vectors.js';
import { runGate } from '../src/gate/gate.js';
import type { GateInstance } from '../src/gate/instance.js';
import { DEFAULT_MASTER_CF } from '../src/gate/sandbox.js';
import type { AttemptReport, Report } from '../src/model/report.js';
import { parseSettings } from '../src/settings.js';
import { renderSummary } from '../src/report/summary.js';
import { renderTerminal } from '../src/report/terminal.js';
import { ROOT } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { OUTSIDER, Wire } from './support/direct-smtp.js';
import { expectValid } from './support/schema.js';

/**
 * Issue 24 §1, proof by routing, on real Postfix: in gate mode every accepted
 * attempt goes through DATA to the private instance and its maillog says which
 * delivery class took it. For each fixture a direct session on the running
 * instance (as the outside client, through XCLIENT, independent of
 * relay-check's client) first shows what Postfix does with a percent-hack
 * address (RCPT, DATA, and the delivery line in the instance's log); then the
 * gate's verdict and quoted proof must say the same. A hostile configuration
 * (DATA opens a door) must run nothing and reach nothing.
 */

const FIXTURES = path.join(ROOT, '__tests__', 'fixtures', 'gate');
const PERCENT = 'relay-check%example.com@example.org';
const BANG = 'example.com!relay-check@example.org';

interface Direct {
  rcpt: string;
  /** The delivery agent's log line for the message, as the instance wrote it. */
  line: string;
}

/** A direct session: RCPT and DATA for one recipient, then the delivery line of its queue id from the instance's own log. */
async function directDelivery(inst: GateInstance, rcpt: string): Promise<Direct> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: inst.services[0].port }, () => resolve(s));
    s.once('error', reject);
  });
  const wire = new Wire(socket);
  try {
    await wire.reply();
    await wire.command('EHLO client.example.net');
    expect((await wire.command(`XCLIENT ADDR=${OUTSIDER} NAME=[UNAVAILABLE]`)).code).toBe(220);
    await wire.command('EHLO client.example.net');
    expect((await wire.command('MAIL FROM:<someone@example.net>')).code).toBe(250);
    const r = await wire.command(`RCPT TO:<${rcpt}>`);
    if (r.code !== 250) return { rcpt: `${r.code} ${r.text}`, line: '' };
    expect((await wire.command('DATA')).code).toBe(354);
    const end = await wire.command('Subject: direct\r\n\r\ndirect session\r\n.');
    const qid = /queued as ([0-9A-Za-z]+)/.exec(end.text)?.[1] ?? '';
    expect(qid).not.toBe('');
    const re = new RegExp(`postfix/\\w+\\[\\d+\\]: ${qid}: to=<[^>]*>.*status=\\w+ \\(.*\\)`);
    for (let i = 0; i < 100 && !re.test(inst.maillog()); i++) await new Promise((res) => setTimeout(res, 100));
    return { rcpt: `${r.code} ${r.text}`, line: re.exec(inst.maillog())?.[0] ?? '' };
  } finally {
    await wire.command('QUIT').catch(() => undefined);
    wire.close();
  }
}

interface Run {
  report: Report;
  direct: Map<string, Direct>;
  tag: string;
}

const made = new Set<string>();

async function gate(dir: string, vectors = VECTORS): Promise<Run> {
  const direct = new Map<string, Direct>();
  let tag = '';
  const settings = parseSettings({ 'postfix-config': dir, timeout: '120', 'connect-timeout': '15' });
  const report = await runGate(settings, { vectors }, undefined, {
    onDir: (d) => made.add(d),
    beforeRun: async (inst) => {
      // The first instance is the configuration itself; a fixed copy (proveFixes) comes later.
      if (tag) return;
      tag = inst.classTag;
      for (const rcpt of [PERCENT, BANG]) direct.set(rcpt, await directDelivery(inst, rcpt));
    },
  });
  return { report, direct, tag };
}

const attemptOf = (r: Report, vector: string): AttemptReport | undefined => r.targets.flatMap((t) => t.attempts).find((a) => a.vector === vector);

// --- a hostile configuration: every door DATA opens, each leaving a trace if it runs or connects ---

interface Hostile {
  report: Report;
  traces: string;
  connections: number;
}

async function hostileRun(): Promise<Hostile> {
  const traces = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-hostile-'));
  fs.chmodSync(traces, 0o777);
  const conf = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-hostile-conf-'));
  let connections = 0;
  const listener = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((res) => listener.listen(0, '127.0.0.1', () => res()));
  const port = (listener.address() as net.AddressInfo).port;
  const touch = (name: string): string => `/usr/bin/touch ${path.join(traces, name)}`;
  fs.writeFileSync(
    path.join(conf, 'main.cf'),
    [
      'myhostname = mail.example.org',
      'mydomain = example.org',
      'mydestination = $myhostname, $mydomain, localhost',
      'compatibility_level = 3.6',
      'alias_maps =',
      'alias_database =',
      // The outside client may relay: every attempt is accepted and goes through DATA.
      'mynetworks = 127.0.0.0/8, 203.0.113.0/24',
      'default_transport = piped:',
      'content_filter = evil:dummy',
      `smtpd_proxy_filter = 127.0.0.1:${port}`,
      `smtpd_milters = inet:127.0.0.1:${port}`,
      `non_smtpd_milters = inet:127.0.0.1:${port}`,
      `smtpd_milter_maps = inline:{ ${OUTSIDER}=inet:127.0.0.1:${port} }`,
      'milter_default_action = tempfail',
      'header_checks = regexp:/etc/postfix/header_checks',
      'body_checks = regexp:/etc/postfix/body_checks',
      `debugger_command = ${touch('debugger-root')}`,
      `smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:${port}, permit_mynetworks, reject_unauth_destination`,
      '',
    ].join('\n'),
  );
  // REDIRECT overrides FILTER (header_checks(5)): only the percent attempt (named in the Received: header) is redirected.
  fs.writeFileSync(path.join(conf, 'header_checks'), '/^Received:.*for <relay-check%example\\.com@example\\.org>/ REDIRECT someone@example.com\n/^Subject:/ FILTER evil:dummy\n/^From:/ FILTER rootly:dummy\n');
  fs.writeFileSync(path.join(conf, 'body_checks'), '/relay-check/ FILTER piped:dummy\n');
  fs.writeFileSync(
    path.join(conf, 'master.cf'),
    [
      `smtp      inet  n       -       n       -       -       smtpd -D`,
      `  -o content_filter=rootly:dummy`,
      `  -o smtpd_proxy_filter=127.0.0.1:${port}`,
      ...DEFAULT_MASTER_CF.trim().split('\n').slice(1),
      `evil      unix  -       n       n       -       -       spawn user=nobody argv=${touch('spawn-nobody')}`,
      `rootly    unix  -       n       n       -       -       spawn user=root argv=${touch('spawn-root')}`,
      `tick      unix  -       n       n       1       1       spawn user=nobody argv=${touch('wakeup-nobody')}`,
      `piped     unix  -       n       n       -       -       pipe flags=q user=nobody argv=${touch('pipe-nobody')}`,
      '',
    ].join('\n'),
  );
  try {
    const settings = parseSettings({ 'postfix-config': conf, timeout: '120', 'connect-timeout': '15' });
    const vectors = VECTORS.filter((v) => ['external-sender', 'null-sender', 'percent-hack-own-domain'].includes(v.id));
    const report = await runGate(settings, { vectors }, undefined, {
      onDir: (d) => made.add(d),
      // Longer than the tick service's wakeup: a woken spawn would have run by the end.
      beforeRun: () => new Promise((res) => setTimeout(res, 2_500)),
    });
    return { report, traces, connections };
  } finally {
    listener.close();
    fs.rmSync(conf, { recursive: true, force: true });
  }
}

describePostfix('gate mode: proof by routing (issue 24 §1)', () => {
  // Started together when the file starts (two at a time: two cores); each test awaits its own.
  let local: Promise<Run>;
  let relay: Promise<Run>;
  let hostile: Promise<Hostile>;
  beforeAll(() => {
    local = gate(path.join(FIXTURES, 'percent-local'));
    relay = gate(path.join(FIXTURES, 'percent-relay'));
    hostile = local.then(hostileRun, hostileRun);
    for (const p of [local, relay, hostile]) p.catch(() => undefined);
  });
  afterAll(async () => {
    await Promise.allSettled([local, relay, hostile]);
    const h = await hostile.catch(() => undefined);
    if (h) fs.rmSync(h.traces, { recursive: true, force: true });
    expect([...made].filter((d) => fs.existsSync(d))).toEqual([]);
  });

  test('allow_percent_hack = no: the percent form is accepted and delivered locally; the gate says not a relay, quoting the local class', async () => {
    const run = await local;
    // What Postfix does, by a direct session: 250 to the routed address, and the local class delivers it.
    const d = run.direct.get(PERCENT);
    expect(d?.rcpt).toMatch(/^250 /);
    expect(d?.line).toMatch(new RegExp(`to=<${PERCENT.replace('%', '%')}>.*status=sent \\(relay-check-local-${run.tag}\\)$`));
    expect(run.direct.get(BANG)?.line).toMatch(new RegExp(`status=sent \\(relay-check-local-${run.tag}\\)$`));
    // The gate: every routing form it had accepted is decided by the log, none is left to the table.
    for (const vector of ['percent-hack-own-domain', 'bang-path-own-domain']) {
      const a = attemptOf(run.report, vector);
      expect({ vector, outcome: a?.outcome, rule: a?.rule, cls: a?.route?.class }).toEqual({ vector, outcome: 'skipped', rule: 'routed-local', cls: 'local' });
      expect(a?.route?.line).toMatch(new RegExp(`^postfix/discard\\[\\d+\\]: [0-9A-F]+: to=<${vector.startsWith('percent') ? 'relay-check%example.com' : 'example.com!relay-check'}@example.org>, relay=none, .*status=sent \\(relay-check-local-${run.tag}\\)$`));
      expect(a?.reason).toContain(`Postfix's log: ${a?.route?.line}`);
    }
    const accepted = run.report.targets.flatMap((t) => t.attempts).filter((a) => a.route);
    expect(accepted.length).toBeGreaterThan(2);
    expect(accepted.filter((a) => a.route?.class === null)).toEqual([]);
    expect(run.report.targets.flatMap((t) => t.attempts).filter((a) => a.rule === 'accepted-catch-all' || a.rule === 'accepted-control-undecided')).toEqual([]);
    expect(run.report.verdict).toBe('closed');
    expect(run.report.failed).toBe(false);
    expectValid(run.report);
    // Shown: the summary's table quotes the line, the terminal names the class.
    const line = attemptOf(run.report, 'percent-hack-own-domain')?.route?.line ?? '';
    expect(renderSummary(run.report)).toContain('### Where the accepted mail went');
    expect(renderSummary(run.report)).toContain(line.replace(/[&<>"'|`[\]()*_~\\#!@{}:$]/g, (c) => `&#${c.charCodeAt(0)};`));
    expect(renderTerminal(run.report, { color: false })).toMatch(/Where the accepted mail went[\s\S]*local transport: not a relay/);
  }, 300_000);

  test('a backup MX with allow_untrusted_routing = yes: the percent form goes to the relay class; the gate says relayed, quoting it', async () => {
    const run = await relay;
    const d = run.direct.get(PERCENT);
    expect(d?.rcpt).toMatch(/^250 /);
    expect(d?.line).toMatch(new RegExp(`to=<relay-check%example.com@example.org>.*status=sent \\(relay-check-relay-${run.tag}\\)$`));
    const a = attemptOf(run.report, 'percent-hack-own-domain');
    expect([a?.outcome, a?.rule, a?.route?.class, a?.route?.relays]).toEqual(['relayed', 'routed-onward', 'relay', true]);
    expect(a?.route?.line).toMatch(new RegExp(`^postfix/discard\\[\\d+\\]: [0-9A-F]+: to=<relay-check%example.com@example.org>, relay=none, .*status=sent \\(relay-check-relay-${run.tag}\\)$`));
    // Plain mail for an outside domain is refused: only the routed forms relay.
    expect(attemptOf(run.report, 'external-sender')?.outcome).toBe('denied');
    // Every accepted attempt decided by the log; none left to the controls.
    const attempts = run.report.targets.flatMap((t) => t.attempts);
    expect(attempts.filter((x) => x.route && x.route.class === null).map((x) => x.vector)).toEqual([]);
    expect(attempts.filter((x) => x.outcome === 'relayed' && !x.route).map((x) => x.vector)).toEqual([]);
    expect(attempts.filter((x) => x.rule === 'accepted-catch-all' || x.rule === 'accepted-control-undecided').map((x) => x.vector)).toEqual([]);
    expect(run.report.verdict).toBe('open');
    expect(renderTerminal(run.report, { color: false }).replace(/\s+/g, ' ')).toContain('percent-hack-own-domain RCPT TO:<relay-check%example.com@example.org> on smtp (25): relay transport (relay_domains): relayed');
    expectValid(run.report);
  }, 300_000);

  test('SAFETY: with DATA, a hostile configuration runs nothing and reaches nothing (spawn and pipe as root and nobody, content_filter, smtpd_proxy_filter, header_checks FILTER, body_checks REDIRECT, milters, a policy service, -D)', async () => {
    const h = await hostile;
    // DATA went through: the FILTER diverted the messages (to what is a discard now) and is said; the
    // REDIRECT took the percent attempt to another outside address, which the log shows relayed.
    const routes = new Map(h.report.targets.flatMap((t) => t.attempts).map((a) => [a.vector, a.route]));
    expect(routes.get('external-sender')?.note).toMatch(/^the configuration diverted the message before delivery, so its route is not shown: postfix\/cleanup\[\d+\]: [0-9A-F]+: filter: /);
    expect(routes.get('null-sender')?.note).toMatch(/^the configuration diverted the message before delivery/);
    expect(routes.get('percent-hack-own-domain')?.line).toMatch(/to=<someone@example\.com>, orig_to=<relay-check%example\.com@example\.org>, relay=none, .*status=sent \(relay-check-default-[0-9a-f]+\)$/);
    expect(fs.readdirSync(h.traces)).toEqual([]);
    expect(h.connections).toBe(0);
    const said = (h.report.gate?.changes ?? []).map((c) => `${c.subject}: ${c.change}`).join('\n');
    expect(said).toMatch(/evil \(spawn\), rootly \(spawn\), tick \(spawn, woken every 1\), piped \(pipe\) deliver to discard\(8\)/);
  }, 300_000);
});
