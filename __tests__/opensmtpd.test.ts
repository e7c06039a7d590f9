import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { run } from '../src/engine.js';
import { parseSettings, type Strictness } from '../src/settings.js';
import type { AttemptReport, Report } from '../src/model/report.js';
import { direct, PROBE_FROM, PROBE_TO, Wire } from './support/direct-smtp.js';
import {
  describeOpenSmtpd,
  OPENSMTPD_HOSTNAME,
  OPENSMTPD_LOCAL_DOMAINS,
  OPENSMTPD_RULES,
  OPENSMTPD_TRUSTED_NET,
  openSmtpdConfig,
  startOpenSmtpd,
  type OpenSmtpdOptions,
  type OpenSmtpdServer,
} from './support/opensmtpd.js';

/**
 * relay-check against a real OpenSMTPD (Debian's opensmtpd 6.8.0p2, unpacked by
 * .ci/install-opensmtpd) on loopback: servers that only accept mail for their own domains,
 * one that relays for everyone, one that relays for any sender in its own domain, and
 * Debian's stock rules, which trust loopback. Each server's behaviour is first established
 * by a direct session (support/direct-smtp.ts), then relay-check's verdict is asserted.
 *
 * OpenSMTPD has no XCLIENT, so relay-check cannot speak as an outside address; and
 * `from local` matches 127.0.0.1, where the tests connect from. The closed servers
 * therefore trust a documentation network instead (OPENSMTPD_TRUSTED_NET), as the Postfix
 * and Exim tests keep loopback out of mynetworks / relay_from_hosts: seen from 127.0.0.1
 * they are what they are to an outsider.
 *
 * RELAY_CHECK_OPENSMTPD_DUMP=folder keeps every report (JSON) and smtpd's log.
 */

const MYDOMAIN = 'opensmtpd.test';

async function scan(server: OpenSmtpdServer, strictness: Strictness, label: string): Promise<Report> {
  // The whole battery: what this MTA does with every form is what these tests are about.
  const report = await run(parseSettings({ host: '127.0.0.1', port: String(server.port), strictness, timeout: '60' }), { fullBattery: true });
  const dump = process.env.RELAY_CHECK_OPENSMTPD_DUMP;
  if (dump) {
    fs.mkdirSync(dump, { recursive: true });
    fs.writeFileSync(path.join(dump, `${label}-${strictness}.json`), JSON.stringify(report, null, 2));
    fs.writeFileSync(path.join(dump, `${label}-smtpd.log`), server.log());
  }
  return report;
}

const attemptsOf = (r: Report): AttemptReport[] => r.targets.flatMap((t) => t.attempts);
const byVector = (r: Report, id: string): AttemptReport => {
  const a = attemptsOf(r).find((x) => x.vector === id);
  if (!a) throw new Error(`no attempt for vector ${id}`);
  return a;
};

/** Every attempt on one line, with the transcript of each one `wrong` picks: a failure message to act on. */
function explain(r: Report, wrong: (a: AttemptReport) => boolean): string {
  const out: string[] = [`verdict ${r.verdict}; counts ${JSON.stringify(r.counts)}; failReasons ${JSON.stringify(r.failReasons)}`];
  for (const a of attemptsOf(r)) {
    out.push(`${wrong(a) ? '!!' : '  '} ${a.vector}: ${a.outcome} (${a.rule ?? '-'}) ${a.reply ?? ''} — ${a.reason} [connection ${a.connection}, tries ${a.tries}]`);
    if (wrong(a)) for (const l of a.transcript) out.push(`      ${l.dir} ${JSON.stringify(l.text)}`);
  }
  return out.join('\n');
}

/** Throws with the whole picture when any attempt is picked by `wrong`. */
function expectNone(r: Report, what: string, wrong: (a: AttemptReport) => boolean): void {
  const bad = attemptsOf(r).filter(wrong);
  if (bad.length) throw new Error(`${bad.length} ${what}: ${bad.map((a) => a.vector).join(', ')}\n${explain(r, wrong)}`);
}

const relayed = (a: AttemptReport): boolean => a.outcome === 'relayed';
const inconclusive = (a: AttemptReport): boolean => a.outcome === 'inconclusive';
/** A routing form accepted where every mailbox is accepted, decided by what OpenSMTPD does with it: skipped, saying why. */
const notRouted = (a: AttemptReport): boolean => a.outcome === 'skipped' && a.rule === 'accepted-not-routed';

/** The greeting and EHLO reply of the real server, word for word (measured; the evidence rows are checked against them). */
const GREETING = `220 ${OPENSMTPD_HOSTNAME} ESMTP OpenSMTPD`;
const EHLO_KEYWORDS = ['8BITMIME', 'ENHANCEDSTATUSCODES', 'SIZE', 'DSN', 'HELP'];

/** Vectors whose recipient is plainly external and whose sender OpenSMTPD takes: the relay rule itself answers them. */
const PLAIN_EXTERNAL = ['null-sender', 'external-sender', 'server-name-sender', 'localhost-sender', 'recipient-as-sender', 'upper-case-domain', 'external-after-postmaster'];
/** The vectors whose sender is in the own mail domain (read off src/battery/vectors.ts by hand): what `mail-from "@opensmtpd.test"` relays. */
const OWN_DOMAIN_SENDER_VECTORS = ['own-domain-sender', 'own-domain-postmaster-sender', 'helo-own-domain'];

/** DirectResult.reply is "<code> <the reply's lines>", and each line carries its code: the reply as sent. */
const replyLine = (reply: string): string => reply.replace(/^\d{3} /, '');

/**
 * The routing forms a closed server with catch-all local domains accepts (measured): percent
 * and bang local parts at its names, and unqualified ones, which it qualifies with its host
 * name (<u%ext@> too: the bare @ is dropped).
 */
const CATCH_ALL_SKIPPED = ['bang-path', 'bang-path-own-domain', 'bang-path-server-name', 'percent-hack-null-sender', 'percent-hack-own-domain', 'percent-hack-server-name', 'percent-trailing-at'];

/** What a server is claimed to do with one envelope, seen from loopback. */
interface Claim {
  what: string;
  from?: string;
  to?: string;
  verdict: 'open' | 'closed';
  reply: string;
}

const ACCEPTED = '250 2.1.5 Destination address valid: Recipient ok';
const REFUSED = (rcpt: string): string => `550 Invalid recipient: <${rcpt}>`;

/**
 * Direct sessions (support/direct-smtp.ts, not relay-check's client) that check each claim;
 * throws, naming every one that does not hold. Called in beforeAll before relay-check runs,
 * so a server that is not configured as claimed fails its whole block with this message
 * instead of with a misleading verdict.
 */
async function confirm(server: OpenSmtpdServer, claims: readonly Claim[]): Promise<void> {
  const wrong: string[] = [];
  for (const c of claims) {
    const r = await direct(server.port, { mode: 'plain', client: null, from: c.from ?? PROBE_FROM, to: c.to ?? PROBE_TO });
    const reply = replyLine(r.reply);
    if (r.verdict !== c.verdict || reply !== c.reply) wrong.push(`${c.what}: claimed ${c.verdict} (${c.reply}), a direct session got ${r.verdict} (${reply})`);
  }
  if (wrong.length) throw new Error(`the OpenSMTPD is not configured as the test claims, so relay-check's verdict means nothing:\n  ${wrong.join('\n  ')}\n${server.log().slice(-4000)}`);
}

/**
 * One message to `rcpt` from an outside sender, with DATA, so that it is queued (deliveries and
 * transfers are paused; the queue goes with the temp dir): the RCPT reply and, if it was
 * queued, the new envelope's text.
 */
async function send(smtpd: OpenSmtpdServer, rcpt: string): Promise<{ rcptReply: string; envelope: string | null }> {
  const before = new Set(smtpd.queuedEnvelopes());
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: smtpd.port }, () => resolve(s));
    s.once('error', reject);
    s.setTimeout(30_000, () => s.destroy(new Error('socket idle 30 s')));
  });
  const wire = new Wire(sock);
  try {
    expect((await wire.reply()).code).toBe(220);
    expect((await wire.command('EHLO client.example.org')).code).toBe(250);
    expect((await wire.command(`MAIL FROM:<${PROBE_FROM}>`)).code).toBe(250);
    const r = await wire.command(`RCPT TO:<${rcpt}>`);
    const rcptReply = r.text;
    if (r.code !== 250) return { rcptReply, envelope: null };
    expect((await wire.command('DATA')).code).toBe(354);
    const queued = await wire.command('Subject: relay-check routing probe\r\n\r\nnever delivered\r\n.');
    expect(queued.code).toBe(250);
    await wire.command('QUIT').catch(() => undefined);
    const added = smtpd.queuedEnvelopes().filter((e) => !before.has(e));
    expect(added).toHaveLength(1);
    return { rcptReply, envelope: added[0] };
  } finally {
    wire.close();
  }
}

/** A field of a queued envelope ("name: value" lines). */
const field = (envelope: string, name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(envelope)?.[1];

const CLOSED: { title: string; label: string; options: OpenSmtpdOptions; catchAll: boolean }[] = [
  {
    title: 'OpenSMTPD that relays only for a trusted network the runner is not in (closed, catch-all local domains)',
    label: 'closed-catchall',
    options: { rules: OPENSMTPD_RULES.closed, catchAll: true },
    catchAll: true,
  },
  {
    // OpenSMTPD's stock local delivery: only system users and aliases exist.
    title: 'OpenSMTPD that relays only for a trusted network the runner is not in (closed, system users only)',
    label: 'closed',
    options: { rules: OPENSMTPD_RULES.closed },
    catchAll: false,
  },
];

for (const { title, label, options, catchAll } of CLOSED) {
  describeOpenSmtpd(title, () => {
    let smtpd: OpenSmtpdServer;
    let normal: Report;
    let strict: Report;

    const claims: Claim[] = [
      { what: 'an outside sender to an external recipient', verdict: 'closed', reply: REFUSED(PROBE_TO) },
      catchAll
        ? { what: 'any local part of the mail domain (catch-all)', to: `someone@${MYDOMAIN}`, verdict: 'open', reply: ACCEPTED }
        : { what: 'an unknown local part of the mail domain', to: `someone@${MYDOMAIN}`, verdict: 'closed', reply: REFUSED(`someone@${MYDOMAIN}`) },
      { what: 'postmaster of the mail domain', to: `postmaster@${MYDOMAIN}`, verdict: 'open', reply: ACCEPTED },
    ];

    beforeAll(async () => {
      smtpd = await startOpenSmtpd(options);
      await confirm(smtpd, claims);
      normal = await scan(smtpd, 'normal', label);
      strict = await scan(smtpd, 'strict', label);
    }, 120_000);
    afterAll(async () => {
      await smtpd?.stop();
    });

    test('direct sessions confirmed the server before relay-check ran: an external recipient is refused from loopback, local ones as configured', async () => {
      await expect(confirm(smtpd, claims)).resolves.toBeUndefined();
    });

    test('the server was reached, named, and identified as OpenSMTPD', () => {
      expect(normal.targets).toHaveLength(1);
      expect(normal.targets[0]).toMatchObject({ reachable: true, error: null, serverName: OPENSMTPD_HOSTNAME });
      expect(normal.targets[0].greeting).toBe(GREETING);
      expect(normal.targets[0].extensions).toEqual(EHLO_KEYWORDS);
      const mta = normal.targets[0].mta;
      expect({ name: mta?.name, confidence: mta?.confidence, version: mta?.version }).toEqual({ name: 'OpenSMTPD', confidence: 'high', version: null });
      expect(mta?.evidence.map((e) => e.rule).sort()).toEqual(
        ['opensmtpd-address-syntax', 'opensmtpd-ehlo-order', 'opensmtpd-greeting', 'opensmtpd-invalid-recipient', ...(catchAll ? ['opensmtpd-destination-valid'] : [])].sort(),
      );
    });

    test('what the server saw (issue 23): OpenSMTPD names our address in its EHLO reply ("pleased to meet you")', () => {
      expect(normal.targets[0].vantage).toMatchObject({ connectedFrom: '127.0.0.1', seenAs: '127.0.0.1', echo: 'hello-pleased-to-meet-you', proxied: false });
    });

    test('nothing relayed: the run is closed and passes (normal)', () => {
      expectNone(normal, 'attempt(s) relayed by an OpenSMTPD that relays only for a trusted network', relayed);
      expect(normal.verdict).toBe('closed');
      expect(normal.failed).toBe(false);
    });

    test(catchAll ? 'percent and bang forms at a catch-all local domain are skipped, saying why; nothing is inconclusive' : 'no attempt is left inconclusive', () => {
      expectNone(normal, 'inconclusive attempt(s)', inconclusive);
      const tricks = attemptsOf(normal).filter(notRouted);
      if (catchAll) {
        // Every percent and bang form addressed to the server's names, and nothing else: OpenSMTPD refuses quoted
        // local parts holding @ or % (501) and strips source routes (judging the external address).
        expect(tricks.map((a) => a.vector).sort()).toEqual(CATCH_ALL_SKIPPED);
        for (const a of tricks) {
          expect(a.rcptTo[a.rcptTo.length - 1]).toMatch(/^<[^@>"]*[%!][^@>"]*(@|>$)/);
          expect(a.reason).toMatch(/^not a relay test here: accepted, but the server accepts any mailbox (at (mx\.)?opensmtpd\.test|as an unqualified local part) .*; OpenSMTPD does not (perform the percent hack|route bang paths)/);
        }
      } else {
        expect(tricks).toEqual([]);
      }
    });

    test('"550 Invalid recipient: <address>" is a denial, and the OpenSMTPD evidence row matches it', () => {
      const refusals = attemptsOf(normal).filter((a) => a.reply !== null && /^550 Invalid recipient: </.test(a.reply));
      expect(refusals.map((a) => a.vector)).toEqual(expect.arrayContaining(PLAIN_EXTERNAL));
      for (const a of refusals) {
        expect({ vector: a.vector, outcome: a.outcome, rule: a.rule, stage: a.stage }).toEqual({ vector: a.vector, outcome: 'denied', rule: 'opensmtpd-invalid-recipient', stage: 'rcpt' });
      }
      expect(byVector(normal, 'external-sender').reply).toBe('550 Invalid recipient: <relay-check@example.com>');
    });

    test('a source route is stripped and the final address judged: refused like a plain external recipient', () => {
      for (const id of ['source-route-own-domain', 'source-route-server-name']) {
        const a = byVector(normal, id);
        expect({ vector: id, outcome: a.outcome, reply: a.reply }).toEqual({ vector: id, outcome: 'denied', reply: '550 Invalid recipient: <relay-check@example.com>' });
      }
    });

    test('strict (SPEC §3): closed, nothing inconclusive, the step passes', () => {
      expectNone(strict, 'attempt(s) relayed under strict', relayed);
      expectNone(strict, 'attempt(s) inconclusive under strict', inconclusive);
      expect(strict.verdict).toBe('closed');
      expect(strict.failReasons).toEqual([]);
      expect(strict.failed).toBe(false);
    });

    test('nothing was handed to the relay action', () => {
      expect(smtpd.relayAttempts()).toBe(0);
    });
  });
}

describeOpenSmtpd('OpenSMTPD that relays for everyone (match from any for any action relay)', () => {
  const claims: Claim[] = [{ what: 'an outside sender to an external recipient', verdict: 'open', reply: ACCEPTED }];
  let smtpd: OpenSmtpdServer;
  let normal: Report;
  let strict: Report;

  beforeAll(async () => {
    smtpd = await startOpenSmtpd({ rules: OPENSMTPD_RULES.open, catchAll: true });
    await confirm(smtpd, claims);
    normal = await scan(smtpd, 'normal', 'open');
    strict = await scan(smtpd, 'strict', 'open');
  }, 120_000);
  afterAll(async () => {
    await smtpd?.stop();
  });

  test('a direct session confirmed the server relays before relay-check ran', async () => {
    await expect(confirm(smtpd, claims)).resolves.toBeUndefined();
  });

  test('the run is open and fails the step (normal), with the server identified as OpenSMTPD', () => {
    expect(normal.verdict).toBe('open');
    expect(normal.failed).toBe(true);
    expect(normal.failReasons.join('\n')).toMatch(/open relay/);
    expect(normal.targets[0].verdict).toBe('open');
    expect(normal.targets[0].mta).toMatchObject({ name: 'OpenSMTPD', confidence: 'high' });
  });

  test('the external-recipient vectors are relayed', () => {
    for (const id of [...PLAIN_EXTERNAL, ...OWN_DOMAIN_SENDER_VECTORS]) {
      const a = byVector(normal, id);
      expect({ vector: id, outcome: a.outcome, rule: a.rule, stage: a.stage, reply: a.reply }).toEqual({
        vector: id,
        outcome: 'relayed',
        rule: 'accepted',
        stage: 'rcpt',
        reply: ACCEPTED,
      });
    }
  });

  test('nothing is inconclusive', () => {
    expectNone(normal, 'inconclusive attempt(s) against the open OpenSMTPD', inconclusive);
  });

  test('strict (SPEC §3): still open with the same relays, and the step fails', () => {
    expect(strict.verdict).toBe('open');
    expect(strict.failed).toBe(true);
    expect(attemptsOf(strict).filter(relayed).map((a) => a.vector)).toEqual(attemptsOf(normal).filter(relayed).map((a) => a.vector));
  });

  test('a relayed message stays in the private queue for the relay action, and nothing is handed on: transfers are paused', async () => {
    const { rcptReply, envelope } = await send(smtpd, PROBE_TO);
    expect(rcptReply).toBe(ACCEPTED);
    if (envelope === null) throw new Error('not queued');
    expect({ dispatcher: field(envelope, 'dispatcher'), type: field(envelope, 'type'), rcpt: field(envelope, 'rcpt') }).toEqual({ dispatcher: 'out', type: 'mta', rcpt: PROBE_TO });
    // Give the scheduler time to try, were it not paused.
    await new Promise((r) => setTimeout(r, 1500));
    expect(smtpd.relayAttempts()).toBe(0);
  });
});

describeOpenSmtpd('OpenSMTPD that relays for senders in its own domain (match from any mail-from "@opensmtpd.test" for any action relay)', () => {
  const claims: Claim[] = [
    { what: 'an outside sender to an external recipient', verdict: 'closed', reply: REFUSED(PROBE_TO) },
    { what: 'an own-domain sender to an external recipient', from: `someone@${MYDOMAIN}`, verdict: 'open', reply: ACCEPTED },
  ];
  let smtpd: OpenSmtpdServer;
  let normal: Report;

  beforeAll(async () => {
    smtpd = await startOpenSmtpd({ rules: OPENSMTPD_RULES.ownDomainSender, catchAll: true });
    await confirm(smtpd, claims);
    normal = await scan(smtpd, 'normal', 'own-domain-sender');
  }, 120_000);
  afterAll(async () => {
    await smtpd?.stop();
  });

  test('direct sessions confirmed the rule before relay-check ran: an outside sender is refused, an own-domain sender relays', async () => {
    await expect(confirm(smtpd, claims)).resolves.toBeUndefined();
  });

  test('the run is open, and exactly the own-domain-sender vectors relayed', () => {
    expect(normal.verdict).toBe('open');
    expect(normal.failed).toBe(true);
    const got = attemptsOf(normal).filter(relayed);
    expect(got.map((a) => a.vector).sort()).toEqual([...OWN_DOMAIN_SENDER_VECTORS].sort());
    for (const a of got) expect(a.mailFrom).toMatch(new RegExp(`@${MYDOMAIN.replace('.', '\\.')}>$`));
    expectNone(normal, 'inconclusive attempt(s)', inconclusive);
    expect(smtpd.relayAttempts()).toBe(0);
  });
});

describeOpenSmtpd("Debian's stock OpenSMTPD rules (match from local for any action relay) trust the loopback the runner connects from", () => {
  let smtpd: OpenSmtpdServer;
  let normal: Report;

  beforeAll(async () => {
    smtpd = await startOpenSmtpd({ rules: OPENSMTPD_RULES.stockLocal });
    await confirm(smtpd, [{ what: 'an outside sender to an external recipient, from 127.0.0.1 (`from local`)', verdict: 'open', reply: ACCEPTED }]);
    normal = await scan(smtpd, 'normal', 'stock-local');
  }, 120_000);
  afterAll(async () => {
    await smtpd?.stop();
  });

  test('from 127.0.0.1 the stock server relays (a direct session), and relay-check says so: this is why the closed servers trust another network', async () => {
    // (The direct session that relayed from 127.0.0.1 ran in beforeAll.)
    expect(normal.verdict).toBe('open');
    expect(byVector(normal, 'external-sender')).toMatchObject({ outcome: 'relayed', reply: ACCEPTED });
    expect(smtpd.relayAttempts()).toBe(0);
  });
});

/**
 * What OpenSMTPD really does with routing forms at a catch-all local domain, seen in its
 * queue: a message is sent to each form (DATA, so it is queued; deliveries are paused and
 * the queue is removed on stop) and the queued envelope says which action took it and for
 * which address. This is the measurement behind the OpenSMTPD rows of src/verdict/routing.ts.
 */
describeOpenSmtpd('OpenSMTPD routing forms at a catch-all local domain (measured in the queue)', () => {
  let smtpd: OpenSmtpdServer;

  beforeAll(async () => {
    smtpd = await startOpenSmtpd({ rules: OPENSMTPD_RULES.closed, catchAll: true });
  }, 60_000);
  afterAll(async () => {
    await smtpd?.stop();
  });

  test.each([
    ['percent hack', `relay-check%example.com@${MYDOMAIN}`],
    ['bang path', `example.com!relay-check@${MYDOMAIN}`],
    ['percent hack at the host name', `relay-check%example.com@${OPENSMTPD_HOSTNAME}`],
  ])('%s: accepted and queued for local delivery, the local part kept as it is (not routed to example.com)', async (_what, rcpt) => {
    const { rcptReply, envelope } = await send(smtpd, rcpt);
    expect(rcptReply).toBe(ACCEPTED);
    if (envelope === null) throw new Error('not queued');
    // Local delivery (the mda), to the catch-all's user, for the address as it came: not rewritten to example.com.
    expect({ dispatcher: field(envelope, 'dispatcher'), type: field(envelope, 'type'), rcpt: field(envelope, 'rcpt'), dest: field(envelope, 'dest'), user: field(envelope, 'mda-user') }).toEqual({
      dispatcher: 'local',
      type: 'mda',
      rcpt,
      dest: rcpt,
      user: 'nobody',
    });
    expect(smtpd.log()).toContain(`lka_expand: address: ${rcpt} [depth=0]`);
  });

  test('a source route is stripped: the final, external address is what the rule judges', async () => {
    const { rcptReply, envelope } = await send(smtpd, `@${MYDOMAIN}:relay-check@example.com`);
    expect(rcptReply).toBe('550 Invalid recipient: <relay-check@example.com>');
    expect(envelope).toBeNull();
  });

  test('a quoted local part holding an address is refused as bad syntax', async () => {
    const { rcptReply, envelope } = await send(smtpd, `"relay-check@example.com"@${MYDOMAIN}`);
    expect(rcptReply).toBe('501 5.1.3 Recipient address syntax error');
    expect(envelope).toBeNull();
  });

  test('nothing was handed to the relay action', () => {
    expect(smtpd.relayAttempts()).toBe(0);
  });
});

// No OpenSMTPD needed: what the harness writes must keep every test server on loopback and
// relay nowhere but the loopback sink (SPEC §7), and the rule sets must be what the tests
// above take them for.
describe('the OpenSMTPD test config (openSmtpdConfig)', () => {
  const VARIANTS = Object.entries(OPENSMTPD_RULES).flatMap(([name, rules]) => [true, false].map((catchAll) => [name, catchAll, { rules, catchAll }] as const));

  test.each(VARIANTS)('%s (catch-all %s): loopback only, relaying only to the loopback sink, local delivery discards', (_n, _c, opts) => {
    const conf = openSmtpdConfig(2525, 4444, opts);
    const lines = conf.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(lines.filter((l) => /^listen\b/.test(l))).toEqual([`listen on 127.0.0.1 port 2525 hostname ${OPENSMTPD_HOSTNAME}`]);
    const actions = lines.filter((l) => /^action\b/.test(l));
    expect(actions).toHaveLength(2);
    expect(actions).toContain('action "out" relay host smtp://127.0.0.1:4444');
    expect(actions.find((a) => a.startsWith('action "local"'))).toMatch(/^action "local" mda "\/bin\/true" (virtual <catchall>|alias <aliases>)$/);
    // No other relay: no bare `relay` (MX lookup), no other host, no smarthost, no lmtp/maildir/mbox.
    expect(lines.join('\n')).not.toMatch(/\b(maildir|mbox|lmtp|forward-only)\b/);
    expect([...lines.join("\n").matchAll(/\brelay\b(.*)$/gm)].map((m) => m[1].trim())).toEqual(['host smtp://127.0.0.1:4444']);
    for (const m of lines.filter((l) => /^match\b/.test(l))) expect(m).toMatch(/ action "(local|out)"$/);
  });

  test('closed trusts no loopback: `from local` and `from any` never reach the relay action', () => {
    for (const rules of [OPENSMTPD_RULES.closed]) {
      const relaying = rules.filter((r) => r.endsWith('action "out"'));
      expect(relaying).toEqual([`match from src ${OPENSMTPD_TRUSTED_NET} for any action "out"`]);
    }
    expect(OPENSMTPD_TRUSTED_NET).not.toMatch(/^(127\.|0\.0\.0\.0)/);
    expect(OPENSMTPD_LOCAL_DOMAINS).toEqual([OPENSMTPD_HOSTNAME, MYDOMAIN]);
  });
});
