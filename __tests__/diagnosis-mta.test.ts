import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { run } from '../src/engine.js';
import type { Report } from '../src/model/report.js';
import { parseSettings } from '../src/settings.js';
import { describeExim, startExim, type EximServer } from './support/exim.js';
import { describeOpenSmtpd, OPENSMTPD_RULES, startOpenSmtpd, type OpenSmtpdServer } from './support/opensmtpd.js';
import { describeSendmail, startSendmail, type SendmailServer } from './support/sendmail.js';
import { expectValid } from './support/schema.js';

/**
 * "Why it relays" against real MTAs other than Postfix, each configured in one
 * documented way the diagnosis table names (src/diagnosis/rules.ts).
 */

async function check(port: number, tls: 'none' | 'auto' = 'none', connectTimeout = '5'): Promise<Report> {
  const r = await run(parseSettings({ host: '127.0.0.1', port: String(port), 'connect-timeout': connectTimeout, timeout: '60', tls }));
  expectValid(r);
  return r;
}
const rules = (r: Report): string[] => (r.diagnosis ?? []).flatMap((d) => d.findings.map((f) => f.rule));

describeExim('diagnosis against real Exim', () => {
  const servers: EximServer[] = [];
  let open: EximServer;
  let sender: EximServer;
  let encrypted: EximServer;
  let afterLocal: EximServer;
  beforeAll(async () => {
    [open, sender, encrypted, afterLocal] = await Promise.all([
      startExim('open'),
      // Trusts the envelope sender: an "accept senders" before the relay check.
      startExim('closed', { rcptAcl: ['accept  senders = *@exim.test : *@mx.exim.test'] }),
      // Trusts TLS: "accept encrypted = *" before the relay check.
      startExim('closed', { starttls: true, rcptAcl: ['accept  encrypted = *'] }),
      // Decides once per message: a local postmaster recipient sets a per-message flag that lets later recipients through.
      startExim('closed', { rcptAcl: ['warn    recipients = postmaster@exim.test', '        set acl_m_local = yes', 'accept  condition = ${if eq{$acl_m_local}{yes}}'] }),
    ]);
    servers.push(open, sender, encrypted, afterLocal);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('relay_from_hosts covers the client: everything relays, and Exim names the address it saw', async () => {
    const r = await check(open.port);
    const [d] = r.diagnosis ?? [];
    expect(d.mta).toBe('Exim');
    expect(rules(r)).toEqual(['exim-relay-from-hosts']);
    // Exim's EHLO reply says "Hello <name> [127.0.0.1]": the address as the server saw it.
    expect(d.vantage).toMatchObject({ connectedFrom: '127.0.0.1', seenAs: '127.0.0.1', xclient: null, network: 'loopback' });
    expect(d.vantageWarning).toMatch(/Exim `relay_from_hosts`/);
  });

  test('an "accept senders" for the own domain: only own-domain senders relay', async () => {
    const r = await check(sender.port);
    const [d] = r.diagnosis ?? [];
    expect(d.pattern.everything).toBe(false);
    expect(d.pattern.relayed).toEqual(expect.arrayContaining(['own-domain-sender', 'own-domain-postmaster-sender']));
    expect(rules(r)).toEqual(['exim-sender-accept']);
    expect(d.vantageWarning).toBeNull();
  });

  test('a per-message flag set by a local recipient: only outside recipients after postmaster@ relay', async () => {
    const r = await check(afterLocal.port);
    const [d] = r.diagnosis ?? [];
    expect(d.pattern.relayed).toEqual(expect.arrayContaining(['external-after-postmaster', 'external-after-postmaster-null-sender']));
    expect(d.pattern.shared).toEqual(['after-local']);
    // No Exim row fits; the row for any MTA does.
    expect(rules(r)).toEqual(['any-after-local']);
  });

  test('"accept encrypted = *": the plaintext battery is refused, the STARTTLS one relays', async () => {
    const r = await check(encrypted.port, 'auto');
    expect(r.targets.map((t) => [t.transport, t.counts.relayed > 0])).toEqual([
      ['plain', false],
      ['starttls', true],
    ]);
    const [d] = r.diagnosis ?? [];
    expect(d.pattern.where).toEqual(['tls-only']);
    expect(d.pattern.relayedOn).toEqual([`127.0.0.1:${encrypted.port} (starttls)`]);
    expect(rules(r)).toEqual(['exim-tls-encrypted']);
    expect(d.summary).toMatch(/only inside TLS/);
  });
});

describeSendmail('diagnosis against real Sendmail', () => {
  let promiscuous: SendmailServer;
  let localFrom: SendmailServer;
  beforeAll(async () => {
    [promiscuous, localFrom] = await Promise.all([
      startSendmail({ relayDomains: ['sendmail.test'], features: ['promiscuous_relay'] }),
      startSendmail({ localDomains: ['sendmail.test'], features: ['relay_local_from'] }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([promiscuous?.stop(), localFrom?.stop()]);
  });

  test('FEATURE(promiscuous_relay): everything relays; Sendmail names the address it saw in its EHLO reply', async () => {
    const r = await check(promiscuous.port);
    const [d] = r.diagnosis ?? [];
    expect(d.mta).toBe('Sendmail');
    expect(rules(r)).toEqual(['sendmail-promiscuous']);
    expect(d.vantage).toMatchObject({ connectedFrom: '127.0.0.1', seenAs: '127.0.0.1', network: 'loopback' });
  });

  test('FEATURE(relay_local_from): only senders in its own domain relay', async () => {
    const r = await check(localFrom.port);
    const [d] = r.diagnosis ?? [];
    expect(d.pattern.everything).toBe(false);
    expect(d.pattern.shared).toEqual(['own-sender']);
    expect(rules(r)).toEqual(['sendmail-relay-local-from']);
  });
});

// OpenSMTPD in its namespace has no resolver: some replies wait out a 5 s lookup timeout, which a
// 5 s connect-timeout (the bound of those reply waits) raced and sometimes lost.
const OPENSMTPD_WAIT = '15';

describeOpenSmtpd('diagnosis against real OpenSMTPD', () => {
  let open: OpenSmtpdServer;
  let mailFrom: OpenSmtpdServer;
  beforeAll(async () => {
    [open, mailFrom] = await Promise.all([startOpenSmtpd({ rules: OPENSMTPD_RULES.open }), startOpenSmtpd({ rules: OPENSMTPD_RULES.ownDomainSender })]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([open?.stop(), mailFrom?.stop()]);
  });

  test('match from any for any action relay: everything relays', async () => {
    const r = await check(open.port, 'none', OPENSMTPD_WAIT);
    expect(r.diagnosis?.[0].mta).toBe('OpenSMTPD');
    expect(rules(r)).toEqual(['opensmtpd-match-any']);
  });

  test('match from any mail-from "@domain": only own-domain senders relay', async () => {
    const r = await check(mailFrom.port, 'none', OPENSMTPD_WAIT);
    expect(r.diagnosis?.[0].pattern.shared).toEqual(['own-sender']);
    expect(rules(r)).toEqual(['opensmtpd-mail-from']);
  });
});
