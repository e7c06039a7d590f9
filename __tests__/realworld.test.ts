import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { run } from '../src/engine.js';
import type { AttemptReport, Report } from '../src/model/report.js';
import { parseSettings, type RawInputs, type Strictness } from '../src/settings.js';
import { describePostfix } from './support/describe-mta.js';
import { direct, expectedVerdict, OUTSIDER, type DirectResult, type Verdict } from './support/direct-smtp.js';
import { STACKS, fixtureServices, startAll, type RealworldOptions, type RealworldStack, type StackName } from './support/realworld.js';

/**
 * Issue 9 §6, "Prove it on real stacks": relay-check against the published Postfix
 * configurations of six mail stacks (__tests__/fixtures/realworld-postfix/, README.md and
 * each NOTES.md), each a private instance on loopback, every transport discard:.
 *
 * 1. Every inet service of every stack (25 with or without postscreen, 587, 465, and
 *    iRedMail's content-filter re-injection service, see below) is tested as an outside
 *    client: relay-check speaks XCLIENT ADDR=203.0.113.10 (loopback is authorized for it,
 *    and loopback is trusted by mynetworks on most of these stacks, so without XCLIENT every
 *    one of them would rightly look open). The expected verdict of each service is first
 *    established by a direct SMTP session in this file (greeting, EHLO, STARTTLS or implicit
 *    TLS as the service needs, XCLIENT, EHLO, MAIL FROM:<someone@example.org>,
 *    RCPT TO:<relay-check@example.com>: 2xx is open, a refusal is closed); then relay-check's
 *    verdict must equal it under `normal` and `strict`, and a closed service must have no
 *    inconclusive attempt.
 * 2. Each stack then gets at least one documented open-relay mistake (the source is cited
 *    at each case), again established by a direct session first; relay-check must say open.
 *
 * iRedMail's re-injection service (fixture port 2814, upstream 127.0.0.1:10025, where amavisd
 * hands mail back) is bound to loopback upstream and trusts loopback by design
 * (`-o mynetworks=127.0.0.0/8`, `permit_mynetworks, reject`): no outside client can reach it.
 * It is tested here like the others, as 203.0.113.10 through XCLIENT — what an outside client
 * would get if a port forward, NAT rule or proxy ever exposed it — and it must be closed then.
 * That it is open to loopback itself is its purpose, not a mistake, so it is not tested so.
 *
 * Wall time: the instances start in parallel in beforeAll; then every case starts at once (its
 * direct session, then its relay-check runs, at most MAX_RUNS runs at a time) and each test
 * awaits its own case. Timings are printed at the end.
 */

/** Per test: it may wait for its instance's queue to reach it. */
const CASE_TIMEOUT_MS = 300_000;

// ---------------------------------------------------------------------------
// relay-check

async function relayCheck(port: number, strictness: Strictness, client: string | null, wrapper: boolean): Promise<Report> {
  const raw: RawInputs = { host: '127.0.0.1', port: String(port), strictness, timeout: '120', 'connect-timeout': '10', tls: wrapper ? 'implicit' : 'auto' };
  if (client) raw['client-address'] = client;
  return run(parseSettings(raw));
}

function line(t: Report['targets'][number], a: AttemptReport): string {
  return `${t.transport} ${a.vector}: ${a.outcome} (${a.rule ?? '-'}) ${a.reason} | reply: ${a.reply ?? '-'}`;
}

/** What a failing assertion should show: the verdict, and every relayed or inconclusive attempt with its reason and reply. */
function digest(report: Report) {
  return {
    verdict: report.verdict,
    failed: report.failed,
    targets: report.targets.map(
      (t) =>
        `${t.transport}: ${t.verdict} ${JSON.stringify(t.counts)} connections=${t.connections} errorBudget=${t.errorBudget} ${t.durationMs} ms` +
        (t.error ? ` error=${t.errorKind}: ${t.error}` : ''),
    ),
    relayed: report.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => line(t, a))),
    inconclusive: report.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'inconclusive').map((a) => line(t, a))),
  };
}

// ---------------------------------------------------------------------------
// The cases

interface Case {
  id: string;
  /** Label of the instance it runs on (a stack as shipped, or a mistake variant). */
  instance: string;
  fixturePort: number;
  client: string | null;
  strictness: Strictness[];
  direct?: { helo?: string; from?: string; to?: string };
  /** Mistakes: the verdict the mistake is reported to cause (the direct session must confirm it). */
  mistake?: Verdict;
}

/** The README table: every service it lists, by fixture port. */
const README_PORTS: Record<StackName, number[]> = {
  debian: [2801],
  dms: [2802, 2803, 2804],
  mailcow: [2805, 2806, 2807],
  miab: [2808, 2809, 2810],
  iredmail: [2811, 2812, 2813, 2814],
  modoboa: [2815, 2816],
};

interface Instance {
  label: string;
  stack: StackName;
  opts?: RealworldOptions;
}

const INSTANCES: Instance[] = [
  ...STACKS.map((stack) => ({ label: stack, stack })),
  {
    label: 'debian-helo-permit',
    stack: 'debian',
    opts: {
      label: 'debian-helo-permit',
      // Postfix SMTPD_ACCESS_README, "Dangerous use of smtpd_recipient_restrictions"
      // (https://www.postfix.org/SMTPD_ACCESS_README.html#danger): its example
      //   smtpd_recipient_restrictions = permit_mynetworks, check_helo_access hash:/etc/postfix/helo_access,
      //       reject_unknown_helo_hostname, reject_unauth_destination
      //   /etc/postfix/helo_access: localhost.localdomain PERMIT
      // "evaluates to PERMIT for EVERY host that announces itself as localhost.localdomain, making
      // Postfix an open relay for all such hosts". The example predates smtpd_relay_restrictions
      // (Postfix 2.10); pasted into a config whose smtpd_relay_restrictions is empty (as with
      // compatibility_level < 1: the modoboa fixture ships that) it is open again. Here on
      // Debian's stock main.cf, with smtpd_relay_restrictions emptied and without
      // reject_unknown_helo_hostname (a DNS check; only loopback may be contacted here).
      main: {
        smtpd_relay_restrictions: '',
        smtpd_recipient_restrictions: 'permit_mynetworks, check_helo_access texthash:$config_directory/helo_access, reject_unauth_destination',
      },
      files: { helo_access: 'localhost.localdomain PERMIT\n' },
    },
  },
  {
    label: 'dms-permit-docker',
    stack: 'dms',
    opts: {
      label: 'dms-permit-docker',
      // docker-mailserver with PERMIT_DOCKER=network: target/scripts/startup/setup.d/networking.sh
      // appends 172.16.0.0/12 to the upstream mynetworks (127.0.0.0/8 [::1]/128 [fe80::]/64).
      main: { mynetworks: '127.0.0.0/8 [::1]/128 [fe80::]/64 172.16.0.0/12' },
    },
  },
  {
    label: 'iredmail-sender-whitelist',
    stack: 'iredmail',
    opts: {
      label: 'iredmail-sender-whitelist',
      // iRedMail's recipient restrictions call iRedAPD before reject_unauth_destination, and
      // iRedAPD answers OK for white-listed senders (iredmail/NOTES.md, after iRedAPD's
      // libs/__init__.py SMTP_ACTIONS: accept = OK). The NOTES: "With an emptied
      // smtpd_relay_restrictions an iRedAPD white-list entry WOULD open the relay". So: iRedAPD's
      // white-listing of the own domain is stood in for by a check_sender_access OK for
      // example.net in iRedAPD's place (main.cf), and smtpd_relay_restrictions is emptied on the
      // port-25 smtpd in master.cf (-o smtpd_relay_restrictions=, on the `smtpd pass` service
      // behind postscreen). That is a sender-access OK for the own domain before
      // reject_unauth_destination, the pattern SMTPD_ACCESS_README#danger warns about (a PERMIT
      // from a non-recipient restriction before reject_unauth_destination): anyone who forges an
      // example.net sender relays through port 25; 587 and 465 keep their relay restrictions.
      main: {
        smtpd_recipient_restrictions:
          'reject_non_fqdn_recipient, reject_unlisted_recipient, check_sender_access texthash:$config_directory/sender_whitelist, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
      },
      overrides: { 2811: ['smtpd_relay_restrictions='] },
      files: { sender_whitelist: 'example.net OK\n' },
    },
  },
  {
    label: 'modoboa-role-accounts',
    stack: 'modoboa',
    opts: {
      label: 'modoboa-role-accounts',
      // The RFC 2142 role-account recipe: a recipient access table with postmaster@, hostmaster@
      // and abuse@ OK, "Let email to the following destinations bypass all the remaining
      // "reject" and "check" tests", and the warning that comes with it: "Whatever you do, do *not* place an access map like this one before the
      // permit mynetworks and reject_unauth_destination statements. Not unless you want to be an
      // open relay, anyway." (a widely copied recipient_checks.pcre, e.g.
      // http://wiki.mandriva.com/fr/uploads/5/5b/Recipient_checks.pcre; the same table is the
      // "roleaccount_exceptions" of many published setups; issue 9 §3). modoboa already has a
      // check_recipient_access before reject_unauth_destination and no smtpd_relay_restrictions
      // (compatibility_level 0, modoboa/NOTES.md): the natural place to add the table is that
      // line — which relays to postmaster@, hostmaster@ and abuse@ of every domain (access(5):
      // a "user@" pattern matches that user part in any domain).
      main: {
        smtpd_recipient_restrictions:
          'permit_mynetworks, permit_sasl_authenticated, check_recipient_access texthash:$config_directory/maintain texthash:$config_directory/relay_recipient_verification texthash:$config_directory/roleaccount_exceptions, reject_unverified_recipient, reject_unauth_destination, reject_non_fqdn_sender, reject_non_fqdn_recipient, reject_non_fqdn_helo_hostname',
      },
      files: { roleaccount_exceptions: 'postmaster@ OK\nhostmaster@ OK\nabuse@ OK\n' },
    },
  },
];

const SHIPPED: Case[] = STACKS.flatMap((stack) =>
  fixtureServices(stack).map((s) => ({
    id: `${stack} ${s.name} (fixture ${s.fixturePort}${s.postscreen ? ', postscreen' : ''}${s.wrapper ? ', implicit TLS' : s.tlsRequired ? ', STARTTLS demanded' : ''})`,
    instance: stack,
    fixturePort: s.fixturePort,
    client: OUTSIDER,
    strictness: ['normal', 'strict'] as Strictness[],
  })),
);

const MISTAKES: (Case & { why: string })[] = [
  {
    // debian/NOTES.md, case debian-loopback-trusted: Debian's stock mynetworks
    // (127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128) trusts loopback, so a run from the machine
    // itself without client-address (XCLIENT) is relayed — exactly what a gate that forgets
    // client-address would see (postconf(5) mynetworks; SPEC §9 "tested as an outside client").
    id: 'debian-loopback-trusted: the Debian stock config tested from loopback without XCLIENT',
    why: 'loopback is in mynetworks',
    instance: 'debian',
    fixturePort: 2801,
    client: null,
    strictness: ['normal'],
    mistake: 'open',
  },
  {
    id: 'debian-helo-permit: SMTPD_ACCESS_README "dangerous use" (check_helo_access PERMIT before reject_unauth_destination, smtpd_relay_restrictions emptied)',
    why: 'HELO localhost.localdomain is PERMITted before reject_unauth_destination',
    instance: 'debian-helo-permit',
    fixturePort: 2801,
    client: OUTSIDER,
    strictness: ['normal'],
    direct: { helo: 'localhost.localdomain' },
    mistake: 'open',
  },
  {
    // docker-mailserver issue #1405, "Configuring PERMIT_DOCKER=network allows use as open relay
    // with IPv6 enabled on host but disabled in Docker"
    // (https://github.com/docker-mailserver/docker-mailserver/issues/1405): IPv6 clients reach the
    // container through docker-proxy and arrive from the bridge gateway, inside 172.16.0.0/12.
    // The outside client is therefore tested as 172.17.0.1, docker0's gateway.
    id: 'dms-permit-docker: PERMIT_DOCKER=network, an IPv6 client arriving from the docker gateway 172.17.0.1',
    why: 'mynetworks holds 172.16.0.0/12 and docker-proxy makes IPv6 clients come from 172.17.0.1',
    instance: 'dms-permit-docker',
    fixturePort: 2802,
    client: '172.17.0.1',
    strictness: ['normal'],
    mistake: 'open',
  },
  ...[2805, 2806, 2807].map((fixturePort) => ({
    // mailcow/NOTES.md case mailcow-ipv6-docker-proxy-gateway; mailcow-dockerized issues #5242
    // "Open Relay via Ipv6" (https://github.com/mailcow/mailcow-dockerized/issues/5242), #4220
    // "Native Ipv6 support makes my mailcow server an open relay", mailcow-dockerized-docs #858
    // "Document a warning that disabled IPv6 may lead to an open relay": with IPv6 disabled in
    // docker, docker-proxy forwards IPv6 connections from the bridge gateway 172.22.1.1, which
    // the shipped mynetworks (172.22.1.0/24) trusts — on every published port.
    id: `mailcow-ipv6-docker-proxy-gateway (fixture ${fixturePort}): the shipped config, client arriving from 172.22.1.1`,
    why: 'mynetworks holds the docker bridge 172.22.1.0/24',
    instance: 'mailcow',
    fixturePort,
    client: '172.22.1.1',
    strictness: ['normal'] as Strictness[],
    mistake: 'open' as const,
  })),
  {
    // mail-in-a-box issue #1586, "Open relay on port 25"
    // (https://github.com/mail-in-a-box/mailinabox/issues/1586): a box run in an LXC container
    // logged every client as "connect from localhost[127.0.0.1]" (the container's port
    // forwarding), which MIAB's mynetworks trusts; the reporter's fix was to unset mynetworks.
    // Tested from loopback without XCLIENT: what every client of such a box is.
    id: 'miab-loopback-forward: the shipped config, every client arriving as 127.0.0.1 (LXC port forwarding)',
    why: 'loopback is in mynetworks and the forwarding hides the real client',
    instance: 'miab',
    fixturePort: 2808,
    client: null,
    strictness: ['normal'],
    mistake: 'open',
  },
  {
    id: 'iredmail-sender-whitelist: own domain white-listed before reject_unauth_destination, smtpd_relay_restrictions emptied on the port-25 service',
    why: 'a forged example.net sender is OK before reject_unauth_destination',
    instance: 'iredmail-sender-whitelist',
    fixturePort: 2811,
    client: OUTSIDER,
    strictness: ['normal'],
    direct: { from: 'postmaster@example.net' },
    mistake: 'open',
  },
  {
    id: 'modoboa-role-accounts: RFC 2142 role accounts OK in check_recipient_access before reject_unauth_destination',
    why: 'postmaster@ of any domain is OK before reject_unauth_destination',
    instance: 'modoboa-role-accounts',
    fixturePort: 2815,
    client: OUTSIDER,
    strictness: ['normal'],
    direct: { to: 'postmaster@example.com' },
    mistake: 'open',
  },
];

// ---------------------------------------------------------------------------
// Running the cases: all at once, the relay-check runs limited

interface CaseResult {
  direct: DirectResult[];
  expected: Verdict;
  reports: Partial<Record<Strictness, Report>>;
  ms: Partial<Record<Strictness, number>>;
}

const stacks = new Map<string, RealworldStack>();
const results = new Map<string, Promise<CaseResult>>();
const settled: Promise<unknown>[] = [];
const timings: string[] = [];
const fileStart = Date.now();

function service(c: Case) {
  const pf = stacks.get(c.instance);
  if (!pf) throw new Error(`instance ${c.instance} is not running`);
  return pf.service(c.fixturePort);
}

/** relay-check runs at a time: enough to overlap the slow ones (mailcow's 10 s error sleeps), few enough for 2 cores. */
const MAX_RUNS = 12;
let active = 0;
const waiting: (() => void)[] = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  // A finished run hands its slot straight to the next waiter.
  if (active >= MAX_RUNS) await new Promise<void>((r) => waiting.push(r));
  else active++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else active--;
  }
}

async function runCase(c: Case): Promise<CaseResult> {
  const s = service(c);
  // FIRST the expected verdict, by a direct session; only then relay-check.
  const d = await expectedVerdict(s.port, s, { client: c.client, ...c.direct });
  const expected = d[0].verdict;
  const out: CaseResult = { direct: d, expected, reports: {}, ms: {} };
  await Promise.all(
    c.strictness.map((strictness) =>
      limited(async () => {
        const t0 = Date.now();
        out.reports[strictness] = await relayCheck(s.port, strictness, c.client, s.wrapper);
        out.ms[strictness] = Date.now() - t0;
      }),
    ),
  );
  const r = out.reports;
  timings.push(
    `${c.id.slice(0, 70).padEnd(70)} direct=${expected.padEnd(6)} ` +
      c.strictness.map((st) => `${st}=${r[st]?.verdict}/${out.ms[st]}ms ${JSON.stringify(r[st]?.counts)}`).join(' '),
  );
  return out;
}

/** Every case at once (the runs themselves are limited); the slowest stack's first. */
function startCases(cases: Case[]): void {
  const slow = (c: Case): number => (stacks.get(c.instance)?.stack === 'mailcow' ? 0 : stacks.get(c.instance)?.stack === 'modoboa' ? 1 : 2);
  for (const c of [...cases].sort((x, y) => slow(x) - slow(y))) {
    const p = runCase(c);
    settled.push(p.catch(() => undefined));
    results.set(c.id, p);
  }
}

function resultOf(c: Case): Promise<CaseResult> {
  const p = results.get(c.id);
  if (!p) throw new Error(`case ${c.id} was never started (did beforeAll fail?)`);
  return p;
}

function expectAgrees(c: Case, r: CaseResult): void {
  for (const strictness of c.strictness) {
    const report = r.reports[strictness] as Report;
    const d = digest(report);
    const wanted = {
      strictness,
      verdict: r.expected,
      // closed: no attempt relayed and none inconclusive; the run passes even under strict.
      failed: r.expected === 'open',
      ...(r.expected === 'closed' ? { relayed: [], inconclusive: [] } : {}),
    };
    const got = {
      strictness,
      verdict: d.verdict,
      failed: d.failed,
      ...(r.expected === 'closed' ? { relayed: d.relayed, inconclusive: d.inconclusive } : {}),
    };
    if (JSON.stringify(got) !== JSON.stringify(wanted)) {
      console.log(`${c.id} [${strictness}]: expected ${r.expected} (direct: ${r.direct.map((x) => `${x.mode} ${x.reply}`).join('; ')})\n${JSON.stringify(d, null, 2)}`);
    }
    expect(got).toEqual(wanted);
    // Every address was reached and really tested, as the outsider when one was asked for.
    for (const t of report.targets) {
      expect({ transport: t.transport, reachable: t.reachable, errorKind: t.errorKind, error: t.error }).toEqual({ transport: t.transport, reachable: true, errorKind: null, error: null });
      if (c.client) expect(t.opening.filter((l) => l.dir === 'C').map((l) => l.text)).toContain(`XCLIENT ADDR=${c.client} NAME=[UNAVAILABLE]`);
    }
    // Nothing tested is not "closed" (issue 9 §4). (The plaintext target of a port that demands
    // STARTTLS runs nothing by design: its attempts run inside STARTTLS.)
    expect(report.counts.tests).toBeGreaterThan(0);
    if (r.expected === 'open') expect(report.counts.relayed).toBeGreaterThan(0);
  }
}

describePostfix('relay-check on six real-world Postfix stacks (issue 9 §6)', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    const started = await startAll(INSTANCES.map((i) => ({ stack: i.stack, opts: i.opts })));
    INSTANCES.forEach((inst, i) => stacks.set(inst.label, started[i]));
    timings.push(`start ${INSTANCES.length} instances in parallel: ${Date.now() - t0} ms (${started.map((s) => `${s.label} ${s.startMs}ms`).join(', ')})`);
    for (const s of started) {
      if (s.checkWarnings.length) timings.push(`postfix check warnings, ${s.label}: ${s.checkWarnings.join(' | ')}`);
    }
    startCases([...SHIPPED, ...MISTAKES]);
  }, 90_000);

  afterAll(async () => {
    // Let every queued run end (each is bounded by relay-check's own 60 s deadline) before the instances go.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(settled), new Promise((r) => (timer = setTimeout(r, 70_000)))]);
    clearTimeout(timer);
    const t0 = Date.now();
    await Promise.all([...stacks.values()].map((s) => s.stop()));
    timings.push(`stop: ${Date.now() - t0} ms; whole file ${Date.now() - fileStart} ms`);
    console.log(`Real-world stacks:\n  ${timings.join('\n  ')}`);
  }, 100_000);

  test('the harness finds every service of the README table, each moved off its fixture port', () => {
    for (const stack of STACKS) {
      expect({ stack, ports: fixtureServices(stack).map((s) => s.fixturePort).sort() }).toEqual({ stack, ports: README_PORTS[stack] });
      const pf = stacks.get(stack) as RealworldStack;
      for (const s of pf.services) {
        expect(s.port).not.toBe(s.fixturePort);
        expect(pf.postconf('smtpd_authorized_xclient_hosts')).toBe('127.0.0.0/8');
      }
    }
    // What the README says of the kinds of service.
    const kinds = (stack: StackName) => fixtureServices(stack).map((s) => `${s.fixturePort}:${s.postscreen ? 'postscreen' : s.wrapper ? 'implicit' : s.tlsRequired ? 'starttls' : 'plain'}`);
    expect(kinds('dms')).toEqual(['2802:postscreen', '2803:starttls', '2804:implicit']);
    expect(kinds('mailcow')).toEqual(['2805:postscreen', '2807:implicit', '2806:starttls']);
    expect(kinds('iredmail')).toEqual(['2811:postscreen', '2812:starttls', '2813:implicit', '2814:plain']);
  });

  test('SAFETY: every instance delivers nowhere but discard:', () => {
    for (const pf of stacks.values()) {
      for (const p of ['default_transport', 'relay_transport', 'local_transport', 'virtual_transport']) expect(`${pf.label} ${p}=${pf.postconf(p)}`).toBe(`${pf.label} ${p}=discard:`);
      for (const s of pf.services) expect(s.address).toBe('127.0.0.1');
    }
  });

  for (const c of SHIPPED) {
    test(
      `${c.id}: as ${OUTSIDER}, relay-check agrees with a direct session under normal and strict`,
      async () => {
        const r = await resultOf(c);
        // Every shipped service is closed to an outsider; the direct session says so first.
        expect({ direct: r.direct.map((d) => `${d.mode}: ${d.verdict}`) }).toEqual({ direct: r.direct.map((d) => `${d.mode}: closed`) });
        expectAgrees(c, r);
      },
      CASE_TIMEOUT_MS,
    );
  }

  for (const c of MISTAKES) {
    test(
      `mistake ${c.id}: relay-check reports open`,
      async () => {
        const r = await resultOf(c);
        // The mistake really opens the relay: established by the direct session before relay-check runs.
        expect({ why: c.why, direct: r.direct.map((d) => `${d.mode}: ${d.verdict}`) }).toEqual({ why: c.why, direct: r.direct.map((d) => `${d.mode}: ${c.mistake}`) });
        expectAgrees(c, r);
      },
      CASE_TIMEOUT_MS,
    );
  }
});
