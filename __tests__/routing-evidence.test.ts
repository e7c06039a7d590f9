import { describe, expect, test } from '@jest/globals';
import { behaviouralEvidence, identifyMta, type MtaInput } from '../src/mta/identify.js';
import { routingDecision } from '../src/verdict/routing.js';

/**
 * Issue 21 §2: a routing form accepted where any mailbox is accepted is `skipped`
 * (no relay test) only when the MTA that does not route it was shown by what the
 * server did, not by its greeting alone: a banner is one line of configuration
 * (Postfix smtpd_banner, Exim smtp_banner) and can name any MTA. `relayed`
 * decisions may rest on the banner: they only make the verdict stricter.
 *
 * The texts are the MTAs' own, as measured (the examples of src/mta/evidence.ts:
 * Exim 4.96, OpenSMTPD 6.8.0p2, Postfix 3.7); the expected decisions are written
 * here from the rule above, not read from the code.
 */

const EXIM_BANNER = '220 mx.exim.test ESMTP Exim 4.96 Wed, 02 Dec 2026 04:24:22 +0000';
const OPENSMTPD_BANNER = '220 mx.opensmtpd.test ESMTP OpenSMTPD';
const POSTFIX_BANNER = '220 mx.example.org ESMTP Postfix (Debian/GNU)';
const HIDDEN_BANNER = '220 mx.example.org ESMTP';
const OPENSMTPD_EHLO = ['8BITMIME', 'ENHANCEDSTATUSCODES', 'SIZE', 'DSN', 'HELP'];
const POSTFIX_EHLO = ['PIPELINING', 'SIZE', 'VRFY', 'ETRN', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN'];
/** An EHLO reply no row knows (Exim's stock keywords, which share their order with others). */
const PLAIN_EHLO = ['SIZE 52428800', '8BITMIME', 'PIPELINING', 'HELP'];
const ACCEPTED = '250 Accepted';

const PERCENT = '<relay-check%example.com@mx.own.test>';
const BANG = '<example.com!relay-check@mx.own.test>';
const QUOTED = '<"relay-check@example.com"@mx.own.test>';
const SOURCE_ROUTE = '<@mx.own.test:relay-check@example.com>';

type Row = [label: string, input: MtaInput, rcpt: string, decision: 'relayed' | 'skipped' | 'inconclusive'];

const ROWS: Row[] = [
  // A banner alone: no `skipped`, whichever MTA it names and however the form is spelt.
  ['Exim banner only, percent', { greeting: [EXIM_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, PERCENT, 'inconclusive'],
  ['Exim banner only, bang', { greeting: [EXIM_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, BANG, 'inconclusive'],
  ['Exim banner only, quoted', { greeting: [EXIM_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, QUOTED, 'inconclusive'],
  ['OpenSMTPD banner only, percent', { greeting: [OPENSMTPD_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, PERCENT, 'inconclusive'],
  ['OpenSMTPD banner only, bang', { greeting: [OPENSMTPD_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, BANG, 'inconclusive'],
  // A banner that names one MTA while the replies are another's: still no `skipped`.
  ['Exim banner, an OpenSMTPD reply', { greeting: [EXIM_BANNER], extensions: [], replies: ['550 Invalid recipient: <relay-check@example.com>'] }, PERCENT, 'inconclusive'],
  // The banner and what the server did agree: the MTA's row decides.
  ['Exim banner and its relay denial', { greeting: [EXIM_BANNER], extensions: PLAIN_EHLO, replies: ['550 relay not permitted', ACCEPTED] }, PERCENT, 'skipped'],
  ['Exim banner and its domain-literal refusal', { greeting: [EXIM_BANNER], extensions: PLAIN_EHLO, replies: ['501 <relay-check@[127.0.0.1]>: domain literals not allowed'] }, QUOTED, 'skipped'],
  ['OpenSMTPD banner and its EHLO order', { greeting: [OPENSMTPD_BANNER], extensions: OPENSMTPD_EHLO, replies: [ACCEPTED] }, BANG, 'skipped'],
  ['OpenSMTPD banner and its replies', { greeting: [OPENSMTPD_BANNER], extensions: PLAIN_EHLO, replies: ['250 2.1.5 Destination address valid: Recipient ok'] }, PERCENT, 'skipped'],
  // No banner at all, but the behaviour is OpenSMTPD's (medium confidence): enough.
  ['hidden banner, OpenSMTPD EHLO order and reply', { greeting: [HIDDEN_BANNER], extensions: OPENSMTPD_EHLO, replies: ['550 Invalid recipient: <relay-check@example.com>'] }, PERCENT, 'skipped'],
  // `relayed` may rest on a banner: it only makes the verdict stricter.
  ['Exim banner only, source route', { greeting: [EXIM_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, SOURCE_ROUTE, 'relayed'],
  ['OpenSMTPD banner only, source route', { greeting: [OPENSMTPD_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, SOURCE_ROUTE, 'relayed'],
  ['Postfix banner only, percent', { greeting: [POSTFIX_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, PERCENT, 'relayed'],
  // A banner naming Exim in front of a Postfix (its EHLO order and reply): Postfix's rows apply.
  ['Exim banner on a Postfix', { greeting: [EXIM_BANNER], extensions: POSTFIX_EHLO, replies: ['554 5.7.1 <relay-check@example.com>: Relay access denied'] }, PERCENT, 'relayed'],
  // Nothing known: inconclusive.
  ['hidden banner, nothing distinctive', { greeting: [HIDDEN_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] }, PERCENT, 'inconclusive'],
];

describe('routing decisions need more than a banner to skip (issue 21 §2)', () => {
  test.each(ROWS)('%s: %s -> %s', (_label, input, rcpt, decision) => {
    const mta = identifyMta(input);
    const d = routingDecision(rcpt, mta);
    // The MTA and the why ride along so a failure shows what was decided on.
    expect({ decision: d.decision, mta: mta.name, why: d.why }).toEqual({ decision, mta: mta.name, why: d.why });
    if (decision === 'skipped') expect(behaviouralEvidence(mta).length).toBeGreaterThan(0);
  });

  test('the banner-only refusal says why, and what the MTA would do if the banner is true', () => {
    const mta = identifyMta({ greeting: [EXIM_BANNER], extensions: PLAIN_EHLO, replies: [ACCEPTED] });
    // The identity itself is unchanged: medium confidence on a banner, used for the diagnosis.
    expect({ name: mta.name, confidence: mta.confidence }).toEqual({ name: 'Exim', confidence: 'medium' });
    expect(behaviouralEvidence(mta)).toEqual([]);
    const d = routingDecision(PERCENT, mta);
    expect(d.why).toMatch(/^only the greeting says Exim \(a banner is one setting and can name any MTA\)/);
    expect(d.why).toMatch(/if it is Exim: Exim does not perform the percent hack/);
  });

  test('behavioural evidence is only the named MTA\'s, never the greeting\'s', () => {
    const mta = identifyMta({ greeting: [EXIM_BANNER], extensions: POSTFIX_EHLO, replies: ['550 relay not permitted'] });
    // Exim: banner 3 + relay denial 2 against Postfix's EHLO order 2.
    expect(mta.name).toBe('Exim');
    expect(behaviouralEvidence(mta).map((e) => e.rule)).toEqual(['exim-relay-not-permitted']);
  });
});
