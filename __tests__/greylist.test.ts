import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { VECTORS } from '../src/battery/vectors.js';
import { run } from '../src/engine.js';
import { parseSettings } from '../src/settings.js';
import { describeWithMta } from './support/describe-mta.js';
import { postfixAvailable, startPostfix, type RunningPostfix } from './support/postfix.js';
import { postgreyAvailable, startPostgrey, type RunningPostgrey } from './support/postgrey.js';

/**
 * A greylisted open relay is still an open relay: postgrey defers every new
 * (client, sender, recipient) triple for a few seconds; relay-check must retry
 * the same triple after a backoff and find the relay. A deadline shorter than
 * the greylist delay leaves the attempts inconclusive, with the reason.
 */

const both = postfixAvailable().ok ? postgreyAvailable() : postfixAvailable();
let grey: RunningPostgrey;
let pf: RunningPostfix;

describeWithMta('Postfix+postgrey', 'RELAY_CHECK_REQUIRE_POSTFIX', both, 'greylisting in front of an open relay', () => {
  beforeAll(async () => {
    grey = await startPostgrey(3);
    pf = await startPostfix([
      {
        name: 'grey-open',
        overrides: ['mynetworks=0.0.0.0/0', `{ smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:${grey.port} }`],
      },
    ]);
  }, 60_000);
  afterAll(async () => {
    await pf?.stop();
    await grey?.stop();
  });

  test('the deferred attempts are retried with the same triple and the relay is found (normal)', async () => {
    const vectors = VECTORS.filter((v) => ['null-sender', 'external-sender', 'percent-hack-server-name'].includes(v.id));
    // fullBattery: both greylisted vectors are followed to their retry (by default the plain
    // attempt's relay would stop the run before the other's retry, depending on timing).
    const report = await run(parseSettings({ host: '127.0.0.1', port: String(pf.ports['grey-open']), timeout: '60', tls: 'none' }), { vectors, fullBattery: true });
    const attempts = report.targets[0].attempts;
    for (const id of ['null-sender', 'external-sender']) {
      const a = attempts.find((x) => x.vector === id);
      expect(a?.outcome).toBe('relayed');
      expect(a?.reason).toMatch(/after \d+ greylist deferral/);
      // The first answer was the greylist's, and the retry repeated the same MAIL FROM and RCPT TO.
      const server = a?.transcript.filter((l) => l.dir === 'S').map((l) => l.text) ?? [];
      expect(server.some((l) => /^450 4\.2\.0 .*Greylisted/.test(l))).toBe(true);
      const rcpts = a?.transcript.filter((l) => l.dir === 'C' && l.text.startsWith('RCPT TO:')).map((l) => l.text) ?? [];
      expect(rcpts.length).toBeGreaterThanOrEqual(2);
      expect(new Set(rcpts).size).toBe(1);
    }
    expect(report.verdict).toBe('open');
    expect(report.failed).toBe(true);
  }, 90_000);

  test('a deadline shorter than the greylist delay: inconclusive, greylisted', async () => {
    // A triple postgrey has not seen in this file (the first test whitelisted its own).
    const vectors = VECTORS.filter((v) => v.id === 'localhost-sender');
    const report = await run(parseSettings({ host: '127.0.0.1', port: String(pf.ports['grey-open']), timeout: '2', tls: 'none' }), { vectors });
    const a = report.targets[0].attempts[0];
    expect(a.outcome).toBe('inconclusive');
    expect(a.reason).toMatch(/greylist/i);
    expect(report.verdict).toBe('inconclusive');
  }, 30_000);
});
