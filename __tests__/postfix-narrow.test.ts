import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { run } from '../src/engine.js';
import type { Report } from '../src/model/report.js';
import { parseSettings, type Strictness } from '../src/settings.js';
import { describePostfix } from './support/describe-mta.js';
import { startPostfix, type RunningPostfix } from './support/postfix.js';

/**
 * Real open relays are rarely open to everything. Each service here is open in
 * one narrow way that nmap's 16 forms miss; the battery must catch it with the
 * vectors meant for it, and with nothing unrelated.
 */

const RELAY = 'permit_mynetworks, reject_unauth_destination';
let pf: RunningPostfix;

async function check(service: string, strictness: Strictness = 'normal'): Promise<Report> {
  return run(parseSettings({ host: '127.0.0.1', port: String(pf.ports[service]), strictness, 'connect-timeout': '5', timeout: '60' }));
}

const relayedIds = (r: Report): string[] => r.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector));

describePostfix('narrowly open Postfix services', () => {
  beforeAll(async () => {
    pf = await startPostfix(
      [
        // Trusts senders in its own domain (and, by Postfix's parent-domain matching, its host name).
        { name: 'sender-domain', overrides: [`{ smtpd_relay_restrictions = check_sender_access inline:{ relay-check.test=OK }, ${RELAY} }`] },
        // Trusts bounces.
        { name: 'null-sender', overrides: [`{ smtpd_relay_restrictions = check_sender_access inline:{ <>=OK }, ${RELAY} }`] },
        // Trusts clients that say HELO localhost.
        { name: 'helo-localhost', overrides: [`{ smtpd_relay_restrictions = check_helo_access inline:{ localhost=OK }, ${RELAY} }`] },
        // Relays at RCPT time but refuses every message at DATA.
        { name: 'data-reject', overrides: ['mynetworks=0.0.0.0/0', 'smtpd_data_restrictions=reject'] },
        { name: 'closed', overrides: [] },
      ],
      { mydestination: '$myhostname, localhost.$mydomain, localhost, $mydomain' },
    );
  }, 60_000);
  afterAll(async () => pf?.stop());

  test('a sender-domain whitelist is caught by the own-domain sender vectors, and only by sender vectors', async () => {
    const r = await check('sender-domain');
    const ids = relayedIds(r);
    expect(r.verdict).toBe('open');
    expect(ids).toEqual(expect.arrayContaining(['own-domain-sender', 'own-domain-postmaster-sender', 'helo-own-domain', 'server-name-sender']));
    // Every vector that got through used a sender at the server's domain or host name,
    // or a bare user, which Postfix completes with its own name (myorigin).
    for (const a of r.targets[0].attempts.filter((x) => x.outcome === 'relayed')) {
      expect(a.mailFrom).toMatch(/^<[^@]+(@(mx\.)?relay-check\.test)?>$/);
    }
    expect(ids).toContain('bare-user-sender');
    // nmap's forms with an external or literal sender stay refused.
    const nmapRelayed = r.targets[0].attempts.filter((a) => a.outcome === 'relayed' && /^nmap /.test(a.provenance)).map((a) => a.vector);
    expect(nmapRelayed).toEqual(['server-name-sender']);
    console.log(`sender-domain whitelist caught by: ${ids.join(', ')}`);
  });

  test('a null-sender whitelist is caught by the null-sender vectors only', async () => {
    const r = await check('null-sender');
    const ids = relayedIds(r);
    expect(r.verdict).toBe('open');
    expect(ids).toEqual(expect.arrayContaining(['null-sender', 'null-sender-upper-case-domain', 'external-after-postmaster-null-sender']));
    for (const a of r.targets[0].attempts.filter((x) => x.outcome === 'relayed')) expect(a.mailFrom).toBe('<>');
    console.log(`null-sender whitelist caught by: ${ids.join(', ')}`);
  });

  test('a HELO localhost whitelist is caught by the HELO localhost vectors only', async () => {
    const r = await check('helo-localhost');
    const ids = relayedIds(r);
    expect(r.verdict).toBe('open');
    expect(ids.sort()).toEqual(['helo-localhost', 'helo-localhost-localhost-sender']);
    console.log(`HELO localhost whitelist caught by: ${ids.join(', ')}`);
  });

  test('RCPT accepted but DATA refused: open under normal, not under relaxed', async () => {
    const normal = await check('data-reject', 'normal');
    expect(normal.verdict).toBe('open');
    expect(normal.failed).toBe(true);

    const relaxed = await check('data-reject', 'relaxed');
    expect(relaxed.counts.relayed).toBe(0);
    expect(relaxed.verdict).not.toBe('open');
    expect(relaxed.failed).toBe(false);
    const refused = relaxed.targets[0].attempts.filter((a) => a.stage === 'data');
    expect(refused.length).toBeGreaterThanOrEqual(45);
    for (const a of refused) {
      expect(a.outcome).toBe('denied');
      expect(a.reason).toMatch(/RCPT accepted but the message was refused/);
      // The classic manual test: DATA, a labelled message, a lone dot.
      const sent = a.transcript.filter((l) => l.dir === 'C').map((l) => l.text);
      expect(sent).toContain('DATA');
    }
    expect(pf.maillog()).not.toMatch(/status=sent|status=delivered/);
  });

  test('relaxed confirmation sends one labelled test message per accepted attempt, ended by a lone dot', async () => {
    const relaxed = await check('null-sender', 'relaxed');
    expect(relaxed.verdict).toBe('open');
    const a = relaxed.targets[0].attempts.find((x) => x.vector === 'null-sender');
    expect(a?.outcome).toBe('relayed');
    expect(a?.stage).toBe('data');
    const sent = a?.transcript.filter((l) => l.dir === 'C').map((l) => l.text) ?? [];
    expect(sent).toEqual(expect.arrayContaining(['DATA', 'Subject: relay-check open relay test (null-sender)', '.']));
    // Only accepted attempts send a message.
    const withData = relaxed.targets[0].attempts.filter((x) => x.transcript.some((l) => l.dir === 'C' && l.text === 'DATA'));
    expect(withData.every((x) => x.outcome === 'relayed')).toBe(true);
  });

  test('the stock closed Postfix is closed under strict with 45 or more vectors, all denied', async () => {
    const r = await check('closed', 'strict');
    expect(r.verdict).toBe('closed');
    expect(r.failed).toBe(false);
    expect(r.counts.tests).toBeGreaterThanOrEqual(45);
    expect(r.counts.denied).toBe(r.counts.tests);
  });
});
