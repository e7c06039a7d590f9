import fs from 'node:fs';
import path from 'node:path';
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { run } from '../src/engine.js';
import { parseSettings, type Strictness } from '../src/settings.js';
import type { AttemptReport, Report } from '../src/report/model.js';
import { describeExim, startExim, type EximOptions, type EximServer } from './support/exim.js';

/**
 * relay-check against a real Exim 4 (Debian's exim4-daemon-light, unpacked by
 * .ci/install-exim) on loopback: servers that only accept mail for their own
 * domains, and one that relays for every client. Exim sends no enhanced status
 * codes, so its replies are classified by wording; it refuses domain-literal
 * senders as bad syntax (501) and drops a session after three syntax or
 * protocol errors, which the engine must absorb by reconnecting.
 *
 * RELAY_CHECK_EXIM_DUMP=folder keeps every report (JSON) and Exim's main log.
 */

async function scan(server: EximServer, strictness: Strictness, label: string): Promise<Report> {
  const report = await run(parseSettings({ host: '127.0.0.1', port: String(server.port), strictness, timeout: '60' }));
  const dump = process.env.RELAY_CHECK_EXIM_DUMP;
  if (dump) {
    fs.mkdirSync(dump, { recursive: true });
    fs.writeFileSync(path.join(dump, `${label}-${strictness}.json`), JSON.stringify(report, null, 2));
    fs.writeFileSync(path.join(dump, `${label}-mainlog.txt`), server.mainlog());
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

/** Vectors whose sender Exim takes and whose recipient is plainly external: the relay check itself answers them. */
const PLAIN_EXTERNAL = ['null-sender', 'external-sender', 'server-name-sender', 'own-domain-sender', 'localhost-sender', 'recipient-as-sender', 'upper-case-domain', 'external-after-postmaster'];

const CLOSED: { title: string; label: string; options: EximOptions }[] = [
  {
    // The ACL of MTA-NOTES: any local part of a local domain is accepted at RCPT (it would bounce later).
    title: 'Exim 4 that relays only for its own domains (closed, no recipient verification)',
    label: 'closed',
    options: {},
  },
  {
    // Exim's stock shape: `require verify = recipient`; only postmaster exists locally.
    title: 'Exim 4 that relays only for its own domains (closed, verify = recipient)',
    label: 'closed-verify',
    options: { verifyRecipient: true },
  },
];

for (const { title, label, options } of CLOSED) {
  describeExim(title, () => {
    let exim: EximServer;
    let normal: Report;
    let strict: Report;

    beforeAll(async () => {
      exim = await startExim('closed', options);
      normal = await scan(exim, 'normal', label);
      strict = await scan(exim, 'strict', label);
    }, 120_000);
    afterAll(async () => {
      await exim?.stop();
    });

    test('the server was reached and named', () => {
      expect(normal.targets).toHaveLength(1);
      expect(normal.targets[0]).toMatchObject({ reachable: true, error: null, serverName: 'mx.exim.test' });
      expect(normal.targets[0].greeting).toMatch(/^220 mx\.exim\.test ESMTP Exim 4\./);
    });

    test('nothing relayed: the run is closed and passes (normal)', () => {
      expectNone(normal, `attempt(s) relayed by an Exim that relays only for its own domains`, relayed);
      expect(normal.verdict).toBe('closed');
      expect(normal.failed).toBe(false);
    });

    test('no attempt is left inconclusive', () => {
      expectNone(normal, 'inconclusive attempt(s) against a closed Exim', inconclusive);
      expect(normal.counts.inconclusive).toBe(0);
    });

    test('"550 relay not permitted" is a denial by the Exim row', () => {
      const refusals = attemptsOf(normal).filter((a) => a.reply !== null && /relay not permitted/.test(a.reply));
      expect(refusals.map((a) => a.vector)).toEqual(expect.arrayContaining(PLAIN_EXTERNAL));
      for (const a of refusals) {
        expect({ vector: a.vector, outcome: a.outcome, rule: a.rule, stage: a.stage, reply: a.reply }).toEqual({
          vector: a.vector,
          outcome: 'denied',
          rule: 'exim-relay-not-permitted',
          stage: 'rcpt',
          reply: '550 relay not permitted',
        });
      }
    });

    test('domain-literal senders are refused as a form (501); the RCPT form is then tried with a plain sender; sessions Exim drops are resumed', () => {
      for (const id of ['literal-sender', 'percent-hack-literal', 'bang-path', 'helo-literal', 'ipv6-literal-sender']) {
        const a = byVector(normal, id);
        expect({ vector: id, outcome: a.outcome, stage: a.stage }).toEqual({ vector: id, outcome: 'denied', stage: 'rcpt' });
        expect(a.reason).toMatch(/was refused as a form: 501 .*domain literals not allowed.*the RCPT form was tried with <relay-check@example\.com>/);
        expect(a.transcript.some((l) => l.dir === 'S' && /^501 .*domain literals not allowed/.test(l.text))).toBe(true);
      }
      // Exim ends a session after three syntax or protocol errors: the run needed more connections than HELO names.
      expect(normal.targets[0].connections).toBeGreaterThan(8);
      expect(exim.mainlog()).toMatch(/dropped: too many syntax or protocol errors/);
    });

    test('every vector got a result (skipped: the IPv6-only one, and tricks at names where any mailbox is accepted)', () => {
      const skipped = attemptsOf(normal).filter((a) => a.outcome === 'skipped');
      const accepting = normal.targets[0].controls.filter((c) => c.accepted === true).map((c) => c.domain);
      for (const a of skipped) {
        if (a.vector === 'untagged-ipv6-literal') continue;
        // This Exim takes any local part at its domains and would bounce later: user%ext@exim.test is local delivery.
        expect(accepting).toContain(a.routedVia);
        expect(a.reason).toMatch(/accepts any mailbox/);
      }
      expect(skipped.map((a) => a.vector)).toContain('untagged-ipv6-literal');
      expectNone(normal, 'attempt(s) not run', (a) => a.outcome !== 'skipped' && (a.reply === null || a.tries === 0));
    });

    test('strict (SPEC §3): closed, nothing inconclusive, the step passes', () => {
      expectNone(strict, 'attempt(s) relayed or inconclusive under strict', (a) => relayed(a) || inconclusive(a));
      expect(strict.verdict).toBe('closed');
      expect(strict.failReasons).toEqual([]);
      expect(strict.failed).toBe(false);
    });
  });
}

describeExim('Exim 4 that relays for every client (open)', () => {
  let exim: EximServer;
  let normal: Report;
  let strict: Report;

  beforeAll(async () => {
    exim = await startExim('open');
    normal = await scan(exim, 'normal', 'open');
    strict = await scan(exim, 'strict', 'open');
  }, 120_000);
  afterAll(async () => {
    await exim?.stop();
  });

  test('the run is open and fails the step (normal)', () => {
    expect(normal.verdict).toBe('open');
    expect(normal.failed).toBe(true);
    expect(normal.failReasons.join('\n')).toMatch(/open relay/);
    expect(normal.targets[0].verdict).toBe('open');
  });

  test('the external-recipient vectors are relayed', () => {
    for (const id of PLAIN_EXTERNAL) {
      const a = byVector(normal, id);
      expect({ vector: id, outcome: a.outcome, rule: a.rule, stage: a.stage }).toEqual({ vector: id, outcome: 'relayed', rule: 'accepted', stage: 'rcpt' });
      expect(a.reply).toBe('250 Accepted');
    }
    expect(normal.counts.relayed).toBeGreaterThanOrEqual(PLAIN_EXTERNAL.length);
  });

  test('a sender form Exim refuses does not hide the relay: the RCPT form relays with a plain sender', () => {
    const a = byVector(normal, 'literal-sender');
    expect(a).toMatchObject({ outcome: 'relayed', stage: 'rcpt', mailFrom: '<relay-check@example.com>' });
    expect(a.reason).toMatch(/<relay-check@\[127\.0\.0\.1\]> was refused as a form: 501/);
    expect(byVector(normal, 'trailing-at')).toMatchObject({ outcome: 'denied', stage: 'rcpt' });
  });

  test('no attempt is left inconclusive', () => {
    expectNone(normal, 'inconclusive attempt(s) against the open Exim', inconclusive);
  });

  test('strict (SPEC §3): still open with the same relays, and the step fails', () => {
    expect(strict.verdict).toBe('open');
    expect(strict.failed).toBe(true);
    expect(attemptsOf(strict).filter(relayed).map((a) => a.vector)).toEqual(attemptsOf(normal).filter(relayed).map((a) => a.vector));
    expect(strict.failReasons.join('\n')).toMatch(/open relay/);
  });
});

describeExim('Exim 4 offering STARTTLS (self-signed): tls auto runs the battery in plaintext and inside TLS', () => {
  const servers: EximServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  for (const kind of ['closed', 'open'] as const) {
    test(`${kind}: both transports agree`, async () => {
      const exim = await startExim(kind, { starttls: true, verifyRecipient: true });
      servers.push(exim);
      const r = await scan(exim, 'normal', `${kind}-starttls`);
      expect(r.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
      const [plain, secure] = r.targets;
      expect(plain.extensions).toContain('STARTTLS');
      expect(secure.tls).toMatchObject({ verified: false, subject: 'mx.exim.test' });
      expect(secure.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
      for (const t of r.targets) {
        expect({ transport: t.transport, verdict: t.verdict, inconclusive: t.counts.inconclusive }).toEqual({ transport: t.transport, verdict: kind, inconclusive: 0 });
      }
      expect(secure.counts).toEqual(plain.counts);
      expect(r.verdict).toBe(kind);
      expect(r.failed).toBe(kind === 'open');
    }, 60_000);
  }
});

describe('Exim test support', () => {
  test('this file always holds a runnable test, even when Exim is skipped', () => {
    expect(typeof describeExim).toBe('function');
  });
});
