import fs from 'node:fs';
import path from 'node:path';
import { test, expect, beforeAll, afterAll } from '@jest/globals';
import { run } from '../src/engine.js';
import { parseSettings, type Strictness } from '../src/settings.js';
import type { AttemptReport, Report } from '../src/model/report.js';
import { direct, PROBE_FROM, PROBE_TO, type DirectResult } from './support/direct-smtp.js';
import { describeSendmail, SENDMAIL_HOSTNAME, sendmailConfig, sendmailMc, startSendmail, type SendmailOptions, type SendmailServer } from './support/sendmail.js';

/**
 * relay-check against a real Sendmail 8 (Debian's sendmail-bin and sendmail-cf,
 * unpacked by .ci/install-sendmail) on loopback, configured the ways cf/README
 * documents: a gateway that relays only to its relay domain (closed), the same
 * with FEATURE(loose_relay_check), FEATURE(promiscuous_relay) (open),
 * FEATURE(relay_local_from) and an access `To:` RELAY entry (narrow). Every
 * configuration is first shown to be what it claims by a direct session.
 *
 * The server is mx.sendmail.test; relay-check derives the mail domain
 * sendmail.test from it, and the tests make that domain a relay domain (class R:
 * any mailbox accepted, passed on to the domain's own server) or a local domain
 * (class w: local users checked, "User unknown").
 *
 * RELAY_CHECK_SENDMAIL_DUMP=folder keeps every report (JSON) and the SMTP traffic.
 */

const MAIL_DOMAIN = 'sendmail.test';
/** A gateway (or backup MX) for sendmail.test: relays there for anyone, nowhere else. */
const GATEWAY: SendmailOptions = { relayDomains: [MAIL_DOMAIN] };

async function scan(server: SendmailServer, strictness: Strictness, label: string, extra: Record<string, string> = {}): Promise<Report> {
  // The whole battery: what this MTA does with every form is what these tests are about.
  const report = await run(parseSettings({ host: server.host, port: String(server.port), strictness, timeout: '60', ...extra }), { fullBattery: true });
  const dump = process.env.RELAY_CHECK_SENDMAIL_DUMP;
  if (dump) {
    fs.mkdirSync(dump, { recursive: true });
    fs.writeFileSync(path.join(dump, `${label}-${strictness}.json`), JSON.stringify(report, null, 2));
    fs.writeFileSync(path.join(dump, `${label}-traffic.txt`), server.traffic());
  }
  return report;
}

/** A direct session as the loopback client relay-check is (no XCLIENT: Sendmail has none). */
const session = (server: SendmailServer, o: { from?: string; to?: string } = {}): Promise<DirectResult> => direct(server.port, { mode: 'plain', client: null, ...o });

/** The RCPT reply line of a direct session (DirectResult.reply is the code, then the whole line). */
const said = (d: DirectResult): string => d.reply.replace(/^\d{3} /, '');

const attemptsOf = (r: Report): AttemptReport[] => r.targets.flatMap((t) => t.attempts);
const byVector = (r: Report, id: string): AttemptReport => {
  const a = attemptsOf(r).find((x) => x.vector === id);
  if (!a) throw new Error(`no attempt for vector ${id}`);
  return a;
};
const ids = (r: Report, pick: (a: AttemptReport) => boolean): string[] => attemptsOf(r).filter(pick).map((a) => a.vector).sort();
const relayed = (a: AttemptReport): boolean => a.outcome === 'relayed';
const inconclusive = (a: AttemptReport): boolean => a.outcome === 'inconclusive';
const lastRcpt = (a: AttemptReport): string => a.rcptTo[a.rcptTo.length - 1] ?? '';

/** Every attempt on one line: the failure message to act on. */
function explain(r: Report): string {
  return [
    `verdict ${r.verdict}; counts ${JSON.stringify(r.counts)}`,
    ...attemptsOf(r).map((a) => `   ${a.vector}: ${a.outcome} (${a.rule ?? '-'}) ${a.mailFrom ?? ''} -> ${lastRcpt(a)} :: ${a.reply ?? ''} — ${a.reason}`),
  ].join('\n');
}
/** expect(), with the whole run in the message when it fails. */
function check(r: Report, assertion: () => void): void {
  try {
    assertion();
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${explain(r)}`);
  }
}

/** Vectors whose sender Sendmail takes and whose recipient is plainly external: the relay check itself answers them. */
const PLAIN_EXTERNAL = ['null-sender', 'external-sender', 'server-name-sender', 'own-domain-sender', 'recipient-as-sender', 'upper-case-domain', 'external-after-postmaster'];

/** A routing form (%, ! or a quoted local part) at the relay domain: what loose_relay_check lets through (written from cf/README, not from the report). */
const FORM_AT_MAIL_DOMAIN = /^<(?:"[^"]*"|[^@>"]*[%!][^@>"]*)@sendmail\.test>$/;

describeSendmail('Sendmail 8 gateway that relays only to its relay domain (closed)', () => {
  let sendmail: SendmailServer;
  let normal: Report;
  let strict: Report;
  const directs: Record<string, DirectResult> = {};

  beforeAll(async () => {
    sendmail = await startSendmail(GATEWAY);
    directs.external = await session(sendmail);
    directs.relayDomain = await session(sendmail, { to: `nobody-in-particular@${MAIL_DOMAIN}` });
    directs.serverName = await session(sendmail, { to: `nobody-in-particular@${SENDMAIL_HOSTNAME}` });
    normal = await scan(sendmail, 'normal', 'closed');
    strict = await scan(sendmail, 'strict', 'closed');
  }, 120_000);
  afterAll(async () => {
    await sendmail?.stop();
  });

  test('a direct session: mail for any mailbox at the relay domain is accepted, mail elsewhere is refused; local users are checked', () => {
    expect({ verdict: directs.external.verdict, reply: said(directs.external) }).toEqual({ verdict: 'closed', reply: `550 5.7.1 <${PROBE_TO}>... Relaying denied` });
    expect({ verdict: directs.relayDomain.verdict, reply: said(directs.relayDomain) }).toEqual({ verdict: 'open', reply: `250 2.1.5 <nobody-in-particular@${MAIL_DOMAIN}>... Recipient ok` });
    expect(said(directs.serverName)).toBe(`550 5.1.1 <nobody-in-particular@${SENDMAIL_HOSTNAME}>... User unknown`);
  });

  test('the server was reached, named, and identified as Sendmail with its version', () => {
    expect(normal.targets).toHaveLength(1);
    const t = normal.targets[0];
    expect(t).toMatchObject({ reachable: true, error: null, serverName: SENDMAIL_HOSTNAME });
    expect(t.greeting).toMatch(new RegExp(`^220 mx\\.sendmail\\.test ESMTP Sendmail ${sendmail.version.replace(/\./g, '\\.')}/`));
    expect({ name: t.mta?.name, version: t.mta?.version, confidence: t.mta?.confidence }).toEqual({ name: 'Sendmail', version: sendmail.version, confidence: 'high' });
    expect(t.mta?.evidence.map((e) => e.rule).sort()).toEqual(['sendmail-address-dots', 'sendmail-ehlo-verb', 'sendmail-greeting']);
  });

  test('what the server saw (issue 23): Sendmail names our address in its EHLO reply ("pleased to meet you")', () => {
    expect(normal.targets[0].vantage).toMatchObject({ connectedFrom: '127.0.0.1', seenAs: '127.0.0.1', echo: 'hello-pleased-to-meet-you', proxied: false });
  });

  test('nothing relayed, nothing inconclusive: closed, and the step passes (normal and strict)', () => {
    for (const r of [normal, strict]) {
      check(r, () => {
        expect(ids(r, relayed)).toEqual([]);
        expect(ids(r, inconclusive)).toEqual([]);
        expect(r.verdict).toBe('closed');
        expect(r.failed).toBe(false);
      });
    }
    expect(strict.failReasons).toEqual([]);
  });

  test('"550 5.7.1 <…>... Relaying denied" is a denial by the Sendmail row', () => {
    const refusals = attemptsOf(normal).filter((a) => a.reply !== null && /\.\.\. Relaying denied$/.test(a.reply));
    check(normal, () => expect(refusals.map((a) => a.vector)).toEqual(expect.arrayContaining(PLAIN_EXTERNAL)));
    for (const a of refusals) expect({ vector: a.vector, outcome: a.outcome, rule: a.rule, stage: a.stage }).toEqual({ vector: a.vector, outcome: 'denied', rule: 'sendmail-relaying-denied', stage: 'rcpt' });
  });

  test('route forms Sendmail will not parse (553 5.1.2 / 5.1.3 "Invalid route address", "Hostname required") are denials of that form, not a refused recipient domain', () => {
    const expected: Record<string, RegExp> = {
      'trailing-at': /^553 5\.1\.2 <relay-check@example\.com@>\.\.\. Invalid route address$/,
      'percent-trailing-at': /^553 5\.1\.3 <relay-check%example\.com@>\.\.\. Hostname required$/,
      'double-at-literal': /^553 5\.1\.3 <relay-check@example\.com@\[127\.0\.0\.1\]>\.\.\. Invalid route address$/,
      'double-at-server-name': /^553 5\.1\.3 <relay-check@example\.com@mx\.sendmail\.test>\.\.\. Invalid route address$/,
    };
    for (const [id, reply] of Object.entries(expected)) {
      const a = byVector(normal, id);
      expect({ vector: id, outcome: a.outcome, rule: a.rule, stage: a.stage }).toEqual({ vector: id, outcome: 'denied', rule: 'sendmail-route-refused', stage: 'rcpt' });
      expect(a.reply).toMatch(reply);
    }
  });

  test('the routing forms are refused: Sendmail checks user@host inside them without loose_relay_check', () => {
    const forms = attemptsOf(normal).filter((a) => FORM_AT_MAIL_DOMAIN.test(lastRcpt(a)));
    expect(forms.map((a) => a.vector).sort()).toEqual(['bang-path-own-domain', 'percent-hack-own-domain', 'quoted-local-part-own-domain', 'quoted-percent-own-domain']);
    for (const a of forms) expect({ vector: a.vector, outcome: a.outcome, reply: a.reply }).toEqual({ vector: a.vector, outcome: 'denied', reply: `550 5.7.1 ${lastRcpt(a)}... Relaying denied` });
  });

});

describeSendmail('Sendmail 8 gateway with FEATURE(loose_relay_check)', () => {
  let sendmail: SendmailServer;
  let closed: SendmailServer;
  let normal: Report;
  let strict: Report;
  const directs: Record<string, DirectResult> = {};
  const PERCENT = `relay-check%example.com@${MAIL_DOMAIN}`;

  beforeAll(async () => {
    [sendmail, closed] = await Promise.all([startSendmail({ ...GATEWAY, features: ['loose_relay_check'] }), startSendmail(GATEWAY)]);
    directs.loose = await session(sendmail, { to: PERCENT });
    directs.closed = await session(closed, { to: PERCENT });
    directs.external = await session(sendmail);
    directs.atServerName = await session(sendmail, { to: `relay-check%example.com@${SENDMAIL_HOSTNAME}` });
    normal = await scan(sendmail, 'normal', 'loose');
    strict = await scan(sendmail, 'strict', 'loose');
  }, 120_000);
  afterAll(async () => {
    await Promise.all([sendmail?.stop(), closed?.stop()]);
  });

  test('a direct session: loose_relay_check is what lets user%host@relay-domain through; plain external mail and the server name stay refused', () => {
    expect({ verdict: directs.loose.verdict, reply: said(directs.loose) }).toEqual({ verdict: 'open', reply: `250 2.1.5 <${PERCENT}>... Recipient ok` });
    expect({ verdict: directs.closed.verdict, reply: said(directs.closed) }).toEqual({ verdict: 'closed', reply: `550 5.7.1 <${PERCENT}>... Relaying denied` });
    expect(directs.external.verdict).toBe('closed');
    expect({ verdict: directs.atServerName.verdict, reply: said(directs.atServerName) }).toEqual({ verdict: 'closed', reply: `550 5.7.1 <relay-check%example.com@${SENDMAIL_HOSTNAME}>... Relaying denied` });
  });

  test('the %, ! and quoted forms at the relay domain are accepted and inconclusive: Sendmail hands them unchanged to that domain\'s server, which decides', () => {
    check(normal, () => {
      expect(ids(normal, inconclusive)).toEqual(['bang-path-own-domain', 'percent-hack-own-domain', 'quoted-local-part-own-domain', 'quoted-percent-own-domain']);
      for (const a of attemptsOf(normal).filter(inconclusive)) {
        expect(lastRcpt(a)).toMatch(FORM_AT_MAIL_DOMAIN);
        expect(a.reply).toBe(`250 2.1.5 ${lastRcpt(a)}... Recipient ok`);
        expect(a.rule).toBe('accepted-catch-all');
        expect(a.reason).toMatch(/^accepted, but the server accepts any mailbox at sendmail\.test .*: Sendmail does not route .* itself at a domain it relays to: it passes the address unchanged to that domain's own mail server/);
      }
    });
  });

  test('the control relay-check sent found the catch-all: any mailbox is accepted at the relay domain', () => {
    const controls = normal.targets[0].controls;
    expect(controls.map((c) => ({ domain: c.domain, accepted: c.accepted }))).toEqual([{ domain: MAIL_DOMAIN, accepted: true }]);
    expect(controls[0].reply).toMatch(/^250 2\.1\.5 <relay-check-nx-[0-9a-f]+@sendmail\.test>\.\.\. Recipient ok$/);
  });

  test('the same forms at the server name, and source routes anywhere, are still refused', () => {
    for (const id of ['percent-hack-server-name', 'bang-path-server-name', 'source-route-own-domain', 'source-route-server-name', 'quoted-address']) {
      const a = byVector(normal, id);
      expect({ vector: id, outcome: a.outcome, rule: a.rule }).toEqual({ vector: id, outcome: 'denied', rule: 'sendmail-relaying-denied' });
    }
  });

  test('nothing relayed: inconclusive under normal (the step passes), a failure under strict', () => {
    check(normal, () => {
      expect(ids(normal, relayed)).toEqual([]);
      expect(normal.verdict).toBe('inconclusive');
      expect(normal.failed).toBe(false);
    });
    check(strict, () => {
      expect(ids(strict, inconclusive)).toEqual(ids(normal, inconclusive));
      expect(strict.failed).toBe(true);
    });
  });
});

describeSendmail('Sendmail 8 with FEATURE(promiscuous_relay) (open)', () => {
  let sendmail: SendmailServer;
  let normal: Report;
  let strict: Report;
  let outside: DirectResult;

  beforeAll(async () => {
    sendmail = await startSendmail({ ...GATEWAY, features: ['promiscuous_relay'] });
    outside = await session(sendmail);
    normal = await scan(sendmail, 'normal', 'open');
    strict = await scan(sendmail, 'strict', 'open');
  }, 120_000);
  afterAll(async () => {
    await sendmail?.stop();
  });

  test('a direct session: an outside sender to an outside recipient is accepted', () => {
    expect({ verdict: outside.verdict, reply: said(outside) }).toEqual({ verdict: 'open', reply: `250 2.1.5 <${PROBE_TO}>... Recipient ok` });
  });

  test('open, and the step fails (normal and strict)', () => {
    for (const r of [normal, strict]) {
      check(r, () => {
        expect(r.verdict).toBe('open');
        expect(r.failed).toBe(true);
        expect(r.failReasons.join('\n')).toMatch(/open relay/);
      });
    }
    expect(ids(strict, relayed)).toEqual(ids(normal, relayed));
  });

  test('the external-recipient vectors are relayed, with Sendmail\'s "Recipient ok"', () => {
    for (const id of PLAIN_EXTERNAL) {
      const a = byVector(normal, id);
      expect({ vector: id, outcome: a.outcome, rule: a.rule, stage: a.stage, reply: a.reply }).toEqual({ vector: id, outcome: 'relayed', rule: 'accepted', stage: 'rcpt', reply: `250 2.1.5 ${lastRcpt(a)}... Recipient ok` });
    }
    check(normal, () => expect(normal.counts.relayed).toBeGreaterThanOrEqual(40));
  });

  test('the sender forms Sendmail refuses are denials at MAIL, the route forms it cannot parse denials at RCPT', () => {
    for (const id of ['literal-sender', 'localhost-sender', 'bare-user-sender']) expect(byVector(normal, id)).toMatchObject({ outcome: 'denied', stage: 'mail' });
    for (const id of ['trailing-at', 'percent-trailing-at']) expect(byVector(normal, id)).toMatchObject({ outcome: 'denied', stage: 'rcpt', rule: 'sendmail-route-refused' });
  });
});

describeSendmail('Sendmail 8 with FEATURE(relay_local_from) (narrow: relays for senders in its own domains)', () => {
  let sendmail: SendmailServer;
  let normal: Report;
  const directs: Record<string, DirectResult> = {};

  beforeAll(async () => {
    sendmail = await startSendmail({ localDomains: [MAIL_DOMAIN], features: ['relay_local_from'] });
    directs.outsider = await session(sendmail, { from: PROBE_FROM });
    directs.ownDomain = await session(sendmail, { from: `anyone@${MAIL_DOMAIN}` });
    normal = await scan(sendmail, 'normal', 'relay-local-from');
  }, 120_000);
  afterAll(async () => {
    await sendmail?.stop();
  });

  test('a direct session: refused for an outside sender, accepted for a sender in its domain', () => {
    expect({ verdict: directs.outsider.verdict, reply: said(directs.outsider) }).toEqual({ verdict: 'closed', reply: `550 5.7.1 <${PROBE_TO}>... Relaying denied` });
    expect({ verdict: directs.ownDomain.verdict, reply: said(directs.ownDomain) }).toEqual({ verdict: 'open', reply: `250 2.1.5 <${PROBE_TO}>... Recipient ok` });
  });

  test('open: exactly the vectors whose sender is in the server\'s domains relayed', () => {
    check(normal, () => {
      expect(normal.verdict).toBe('open');
      expect(normal.failed).toBe(true);
      expect(ids(normal, relayed)).toEqual(['helo-own-domain', 'helo-server-name', 'own-domain-postmaster-sender', 'own-domain-sender', 'server-name-sender', 'server-name-sender-quoted-recipient']);
      for (const a of attemptsOf(normal).filter(relayed)) expect(a.mailFrom).toMatch(/@(mx\.)?sendmail\.test>$/);
      // Every other sender, including the null sender and the recipient itself, is refused the relay.
      for (const a of attemptsOf(normal).filter((x) => x.mailFrom !== null && !/@(mx\.)?sendmail\.test>$/.test(x.mailFrom))) expect({ vector: a.vector, outcome: a.outcome }).toEqual({ vector: a.vector, outcome: 'denied' });
      expect(normal.counts.inconclusive).toBe(0);
    });
  });
});

describeSendmail('Sendmail 8 with an access entry "To:example.com RELAY" (narrow: relays to one outside domain)', () => {
  let sendmail: SendmailServer;
  let toListed: Report;
  let toOther: Report;
  const directs: Record<string, DirectResult> = {};

  beforeAll(async () => {
    sendmail = await startSendmail({ localDomains: [MAIL_DOMAIN], access: ['To:example.com RELAY'] });
    directs.listed = await session(sendmail, { to: PROBE_TO });
    directs.other = await session(sendmail, { to: 'relay-check@example.net' });
    toListed = await scan(sendmail, 'normal', 'access-listed');
    toOther = await scan(sendmail, 'normal', 'access-other', { recipient: 'relay-check@example.net' });
  }, 120_000);
  afterAll(async () => {
    await sendmail?.stop();
  });

  test('a direct session: mail to example.com is relayed for an outsider, mail to example.net is not', () => {
    expect({ verdict: directs.listed.verdict, reply: said(directs.listed) }).toEqual({ verdict: 'open', reply: `250 2.1.5 <${PROBE_TO}>... Recipient ok` });
    expect({ verdict: directs.other.verdict, reply: said(directs.other) }).toEqual({ verdict: 'closed', reply: '550 5.7.1 <relay-check@example.net>... Relaying denied' });
  });

  test('with the default recipient (example.com) the run is open; with one at example.net it is closed', () => {
    check(toListed, () => {
      expect(toListed.verdict).toBe('open');
      for (const id of PLAIN_EXTERNAL) expect(byVector(toListed, id).outcome).toBe('relayed');
    });
    check(toOther, () => {
      expect(ids(toOther, relayed)).toEqual([]);
      expect(ids(toOther, inconclusive)).toEqual([]);
      expect(toOther.verdict).toBe('closed');
    });
  });
});

describeSendmail('Sendmail 8 with an access entry "Connect:127.0.0.1 RELAY" (the runner\'s own address trusted)', () => {
  test('a direct session from 127.0.0.1 relays, and relay-check reports the run open', async () => {
    // The harness removes Sendmail's hard-coded trust of loopback clients; an access entry for
    // the address still works (its lookup is a separate rule), as it would for any trusted network.
    const sendmail = await startSendmail({ access: ['Connect:127.0.0.1 RELAY'] });
    try {
      const d = await session(sendmail);
      expect({ verdict: d.verdict, reply: said(d) }).toEqual({ verdict: 'open', reply: `250 2.1.5 <${PROBE_TO}>... Recipient ok` });
      const r = await scan(sendmail, 'normal', 'access-connect');
      check(r, () => {
        expect(r.verdict).toBe('open');
        for (const id of PLAIN_EXTERNAL) expect(byVector(r, id).outcome).toBe('relayed');
      });
    } finally {
      await sendmail.stop();
    }
  }, 60_000);
});

// What the harness writes must keep every test Sendmail on loopback, trusting no
// loopback client, and delivering nothing (SPEC §7). Built with the unpacked m4 and
// sendmail-cf, so it runs where the servers do.
describeSendmail('the Sendmail test config (sendmailMc + sendmailConfig)', () => {
  const DIR = '/tmp/relay-check-sendmail-x';
  const VARIANTS: SendmailOptions[] = [
    GATEWAY,
    { ...GATEWAY, features: ['loose_relay_check'] },
    { ...GATEWAY, features: ['promiscuous_relay'] },
    { localDomains: [MAIL_DOMAIN], features: ['relay_local_from'] },
    { localDomains: [MAIL_DOMAIN], access: ['To:example.com RELAY'] },
  ];
  /** `O name=value` options of a .cf (all of them, in order). */
  const options = (cf: string, name: string): string[] => [...cf.matchAll(new RegExp(`^O ${name}=(.*)$`, 'gm'))].map((m) => m[1]);

  test.each(VARIANTS.map((v) => [JSON.stringify(v), v] as const))('%s: loopback only, no loopback trust, nothing can be delivered', (_name, opts) => {
    const cf = sendmailConfig(sendmailMc(DIR, 2525, opts));
    // One listener, on 127.0.0.1 (no default MSA on port 587 of every address).
    expect(options(cf, 'DaemonPortOptions')).toEqual(['Port=2525, Addr=127.0.0.1, Name=MTA']);
    // Queue only; no smart host; every mailer a local no-op, none a network connection.
    expect(options(cf, 'DeliveryMode')).toEqual(['queueonly']);
    expect(cf).toMatch(/^DS$/m);
    expect(cf).not.toMatch(/\[IPC\]|A=TCP/);
    const mailers = [...cf.matchAll(/^M(\w+),\s+P=([^,]+),/gm)].map((m) => [m[1], m[2]]);
    expect(mailers.map(([name]) => name).sort()).toEqual(['dsmtp', 'esmtp', 'local', 'prog', 'relay', 'smtp', 'smtp8']);
    for (const [name, program] of mailers) expect({ name, program }).toEqual({ name, program: '/bin/true' });
    // No client is trusted for being on loopback, and no interface address joins class w.
    // (The rules for no client address at all, local submission, stay.)
    expect(cf).not.toMatch(/^R(127\.0\.0\.1|IPv6:[0:]*:1)\s.*originated locally$/m);
    expect(cf.match(/originated locally/g) ?? []).toHaveLength(/^SRelay_ok$/m.test(cf) ? 2 : 0);
    expect(options(cf, 'DontProbeInterfaces')).toEqual(['True']);
    // Its own files, in its own folder.
    for (const o of ['QueueDirectory', 'PidFile', 'StatusFile', 'AliasFile', 'HostsFile', 'ServiceSwitchFile']) expect(options(cf, o)[0]?.startsWith(`${DIR}/`)).toBe(true);
    // Each feature asked for, and no other relay feature.
    const relayFeatures = ['loose_relay_check', 'promiscuous_relay', 'relay_local_from', 'relay_based_on_MX', 'relay_entire_domain', 'relay_hosts_only'];
    for (const f of relayFeatures) expect({ f, present: new RegExp(`FEATURE\\(\`${f}'\\)`).test(sendmailMc(DIR, 2525, opts)) }).toEqual({ f, present: (opts.features ?? []).includes(f as never) });
  });
});
