import { describe, expect, test } from '@jest/globals';
import { EVIDENCE_RULES, type EvidenceRule } from '../src/mta/evidence.js';
import { identifyMta, type MtaInput } from '../src/mta/identify.js';

/**
 * The MTA each row's example must be identified as, written down independently
 * of the table (from the MTA that sent the example): a row whose `mta` is
 * edited, or whose pattern stops matching its example, fails here.
 */
const EXPECTED: Record<string, string> = {
  'postfix-greeting': 'Postfix',
  'postscreen-multiline-greeting': 'Postfix',
  'exim-greeting': 'Exim',
  'sendmail-greeting': 'Sendmail',
  'opensmtpd-greeting': 'OpenSMTPD',
  'exchange-greeting': 'Microsoft Exchange',
  'haraka-greeting': 'Haraka',
  'qmail-greeting': 'qmail',
  'postfix-ehlo-order': 'Postfix',
  'sendmail-ehlo-verb': 'Sendmail',
  'opensmtpd-ehlo-order': 'OpenSMTPD',
  'exchange-ehlo': 'Microsoft Exchange',
  'haraka-ehlo-order': 'Haraka',
  'postfix-relay-access-denied': 'Postfix',
  'postfix-address-rejected': 'Postfix',
  'exim-relay-not-permitted': 'Exim',
  'exim-domain-literals': 'Exim',
  'sendmail-address-dots': 'Sendmail',
  'opensmtpd-invalid-recipient': 'OpenSMTPD',
  'opensmtpd-destination-valid': 'OpenSMTPD',
  'opensmtpd-address-syntax': 'OpenSMTPD',
  'exchange-5.7.54': 'Microsoft Exchange',
  'exchange-online-5.7.64': 'Exchange Online',
  'qmail-rcpthosts': 'qmail',
  'haraka-cannot-deliver': 'Haraka',
  'haraka-recipient-ok': 'Haraka',
  'haraka-invalid-address': 'Haraka',
};

/** Versions the examples show, read off the examples by hand. */
const VERSION: Record<string, string> = { 'exim-greeting': '4.96', 'sendmail-greeting': '8.17.1.9', 'haraka-greeting': '3.3.4' };

function inputOf(row: EvidenceRule): MtaInput {
  if (row.source === 'greeting') return { greeting: row.example.split('\n'), extensions: [], replies: [] };
  if (row.source === 'ehlo') return { greeting: [], extensions: row.example.split(' '), replies: [] };
  return { greeting: [], extensions: [], replies: [row.example] };
}

describe('MTA evidence table', () => {
  test('every row is listed in EXPECTED, with provenance and a unique id', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(EVIDENCE_RULES.map((r) => r.id).sort());
    expect(new Set(EVIDENCE_RULES.map((r) => r.id)).size).toBe(EVIDENCE_RULES.length);
    for (const r of EVIDENCE_RULES) expect(r.provenance.length).toBeGreaterThan(5);
  });

  test.each(EVIDENCE_RULES.map((r) => [r.id, r] as const))('%s: its example alone identifies the expected MTA', (id, row) => {
    const m = identifyMta(inputOf(row));
    expect({ name: m.name, version: m.version, rules: m.evidence.map((e) => e.rule) }).toEqual({ name: EXPECTED[id], version: VERSION[id] ?? null, rules: [id] });
  });

  test('a hidden banner with nothing distinctive is "unknown", honestly', () => {
    const m = identifyMta({ greeting: ['220 mail.example.org ESMTP'], extensions: ['SIZE', '8BITMIME', 'HELP'], replies: ['550 Requested action not taken: mailbox unavailable', '250 OK'] });
    expect(m).toEqual({ name: 'unknown', version: null, confidence: 'none', evidence: [] });
  });

  test('hints for two MTAs with equal weight stay unknown, with the evidence', () => {
    const m = identifyMta({ greeting: ['220 mx.example.org ESMTP'], extensions: [], replies: ['550 relay not permitted', '550 Invalid recipient: <a@example.com>'] });
    expect(m.name).toBe('unknown');
    expect(m.evidence.map((e) => e.rule).sort()).toEqual(['exim-relay-not-permitted', 'opensmtpd-invalid-recipient']);
  });

  test('a stock Postfix (banner, EHLO order, relay denial) is Postfix with high confidence', () => {
    const m = identifyMta({
      greeting: ['220 mx.example.org ESMTP Postfix (Debian/GNU)'],
      extensions: ['PIPELINING', 'SIZE', 'VRFY', 'ETRN', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'],
      replies: ['454 4.7.1 <relay-check@example.com>: Relay access denied', null],
    });
    expect({ name: m.name, confidence: m.confidence }).toEqual({ name: 'Postfix', confidence: 'high' });
  });

  test('Postfix behind a hidden banner is still found by its EHLO order and reply shape', () => {
    const m = identifyMta({ greeting: ['220 mx.example.org ESMTP'], extensions: ['PIPELINING', 'SIZE', 'ETRN', 'ENHANCEDSTATUSCODES'], replies: ['554 5.7.1 <relay-check@example.com>: Relay access denied'] });
    expect({ name: m.name, confidence: m.confidence }).toEqual({ name: 'Postfix', confidence: 'medium' });
  });

  test('a banner claiming one MTA while the replies are another’s lowers the confidence', () => {
    const m = identifyMta({ greeting: ['220 mx.example.org ESMTP Sendmail 8.15.2/8.15.2'], extensions: [], replies: ['550 relay not permitted'] });
    expect({ name: m.name, confidence: m.confidence }).toEqual({ name: 'Sendmail', confidence: 'medium' });
  });

  // The greeting, EHLO keywords and replies of a real closed OpenSMTPD 6.8.0p2 (__tests__/opensmtpd.test.ts).
  test('a closed OpenSMTPD as measured is OpenSMTPD with high confidence and no version (its banner shows none)', () => {
    const m = identifyMta({
      greeting: ['220 mx.opensmtpd.test ESMTP OpenSMTPD'],
      extensions: ['8BITMIME', 'ENHANCEDSTATUSCODES', 'SIZE', 'DSN', 'HELP'],
      replies: ['550 Invalid recipient: <relay-check@example.com>', '501 5.1.3 Recipient address syntax error', '250 2.1.5 Destination address valid: Recipient ok'],
    });
    expect({ name: m.name, version: m.version, confidence: m.confidence }).toEqual({ name: 'OpenSMTPD', version: null, confidence: 'high' });
    expect(m.evidence.map((e) => e.rule).sort()).toEqual(['opensmtpd-address-syntax', 'opensmtpd-destination-valid', 'opensmtpd-ehlo-order', 'opensmtpd-greeting', 'opensmtpd-invalid-recipient']);
  });

  test('OpenSMTPD behind a hidden banner is still found by its EHLO order and replies', () => {
    const m = identifyMta({ greeting: ['220 mx.example.org ESMTP'], extensions: ['8BITMIME', 'ENHANCEDSTATUSCODES', 'SIZE', 'DSN', 'STARTTLS', 'HELP'], replies: ['550 Invalid recipient: <relay-check@example.com>'] });
    expect({ name: m.name, confidence: m.confidence }).toEqual({ name: 'OpenSMTPD', confidence: 'medium' });
  });

  // The greeting, EHLO keywords and replies of a real Haraka 3.3.4 (npm), default plugins, measured
  // once by hand on loopback (no CI test: Haraka is not installed there).
  test('a closed Haraka as measured is Haraka 3.3.4 with high confidence', () => {
    const m = identifyMta({
      greeting: ['220 mx.haraka.test ESMTP Haraka/3.3.4 ready (E69F5C)'],
      extensions: ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE'],
      replies: ['550 I cannot deliver mail for <relay-check@example.com>', '501 Invalid RCPT TO address <"relay-check@example.com">: Invalid RFC-5321 address at position 26: expected "@"', '250 recipient <relay-check-nx-6a6d0168@haraka.test> OK'],
    });
    expect({ name: m.name, version: m.version, confidence: m.confidence }).toEqual({ name: 'Haraka', version: '3.3.4', confidence: 'high' });
    expect(m.evidence.map((e) => e.rule).sort()).toEqual(['haraka-cannot-deliver', 'haraka-ehlo-order', 'haraka-greeting', 'haraka-invalid-address', 'haraka-recipient-ok']);
  });

  test('an open Haraka (relay_acl_allow) behind a hidden banner is still Haraka by its EHLO order and replies', () => {
    const m = identifyMta({ greeting: ['220 mx.example.org ESMTP'], extensions: ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE'], replies: ['250 recipient <relay-check@example.com> OK'] });
    expect({ name: m.name, confidence: m.confidence }).toEqual({ name: 'Haraka', confidence: 'medium' });
  });

  test('a server flooding replies is read a bounded number of times', () => {
    const replies = Array.from({ length: 10_000 }, () => '550 x');
    replies.push('550 relay not permitted');
    expect(identifyMta({ greeting: [], extensions: [], replies }).name).toBe('unknown');
  });
});
