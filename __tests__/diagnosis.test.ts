import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { IDENTITY_TRICKS } from '../src/battery/tricks.js';
import { VECTORS } from '../src/battery/vectors.js';
import { diagnose, matchRules, relayPattern, type RelayPattern } from '../src/diagnosis/diagnose.js';
import { DIAGNOSIS_RULES } from '../src/diagnosis/rules.js';
import { traitsOf, VECTOR_TRAITS } from '../src/diagnosis/traits.js';
import { echoInEhlo, networkKind, vantageOf } from '../src/diagnosis/vantage.js';
import { EVIDENCE_RULES } from '../src/mta/evidence.js';
import type { AttemptReport } from '../src/model/report.js';
import { diagnosisMarkdown } from '../src/report/diagnosis.js';
import type { Report } from '../src/model/report.js';

/** Pure tests of the diagnosis: the table's shape, the pattern reader and the vantage. Real MTAs: diagnosis-postfix/-mta tests. */

type T = Parameters<typeof relayPattern>[0][number];
function target(over: Partial<T> & { relayed?: string[]; denied?: string[] }): T {
  const a = (vector: string, outcome: AttemptReport['outcome']): AttemptReport => ({ vector, outcome } as AttemptReport);
  return {
    host: '127.0.0.1',
    address: '127.0.0.1',
    port: 25,
    family: 4,
    transport: 'plain',
    attempts: [...(over.relayed ?? []).map((v) => a(v, 'relayed')), ...(over.denied ?? []).map((v) => a(v, 'denied'))],
    ...over,
  };
}
// The catalogue and the identity tricks (issue 23 §2): both are attempts the pattern reads.
const ALL = [...VECTORS.map((v) => v.id), ...IDENTITY_TRICKS.map((t) => t.id)];
const pattern = (over: Partial<RelayPattern>): RelayPattern => ({ relayed: ['x'], everything: false, shared: [], where: [], relayedOn: [], refusedOn: [], ...over });

describe('the diagnosis table', () => {
  test('every row: a unique id, an MTA the evidence table knows (or any), a https link, provenance, balanced `code`', () => {
    const mtas = new Set(EVIDENCE_RULES.map((r) => r.mta));
    expect(new Set(DIAGNOSIS_RULES.map((r) => r.id)).size).toBe(DIAGNOSIS_RULES.length);
    for (const r of DIAGNOSIS_RULES) {
      if (r.mta !== null) expect(mtas).toContain(r.mta);
      expect(r.docs).toMatch(/^https:\/\/[a-z0-9.-]+\/\S*$/);
      expect(r.provenance.length).toBeGreaterThan(10);
      for (const text of [r.cause, r.fix]) expect((text.match(/`/g) ?? []).length % 2).toBe(0);
    }
  });

  test('every row is exercised by a test against a real MTA or, for rows of any MTA, by a pattern test here', () => {
    const dir = path.dirname(new URL(import.meta.url).pathname);
    const real = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.test.ts') && f !== 'diagnosis.test.ts')
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    const here = fs.readFileSync(path.join(dir, 'diagnosis.test.ts'), 'utf8');
    for (const r of DIAGNOSIS_RULES) {
      const where = r.mta === null ? `${real}\n${here}` : real;
      expect({ rule: r.id, tested: where.includes(`'${r.id}'`) }).toEqual({ rule: r.id, tested: true });
    }
  });

  test('every vector of the catalogue has its traits written down; no stale ids', () => {
    expect(Object.keys(VECTOR_TRAITS).sort()).toEqual([...ALL].sort());
    expect(traitsOf('input-sender-2')).toEqual(['input-sender']);
    expect(traitsOf('input-helo-1')).toEqual(['helo']);
    // The plain attempts: no trait, so their relaying means "everything".
    // The PROXY control is the plain attempt through a header naming an outsider: a plain attempt too.
    expect(ALL.filter((v) => traitsOf(v).length === 0).sort()).toEqual(['external-sender', 'proxy-v1-outsider', 'recipient-as-sender']);
  });
});

describe('reading the pattern', () => {
  test('a plain attempt relayed: everything, no shared trait', () => {
    const p = relayPattern([target({ relayed: ['external-sender', 'null-sender'], denied: [] })]);
    expect(p).toMatchObject({ everything: true, shared: [] });
  });

  test('only own-domain senders: the trait they share', () => {
    const p = relayPattern([target({ relayed: ['own-domain-sender', 'helo-own-domain', 'bare-user-sender'], denied: ['external-sender'] })]);
    expect(p).toMatchObject({ everything: false, shared: ['own-sender'], where: [] });
  });

  test('relayed only inside STARTTLS where plaintext refused the same vectors', () => {
    const p = relayPattern([target({ denied: ['external-sender'] }), target({ transport: 'starttls', relayed: ['external-sender'] })]);
    expect(p.where).toEqual(['tls-only']);
    expect(p.relayedOn).toEqual(['127.0.0.1:25 (starttls)']);
    // A plaintext run that never got to the vector (STARTTLS demanded) is no comparison.
    expect(relayPattern([target({}), target({ transport: 'starttls', relayed: ['external-sender'] })]).where).toEqual([]);
  });

  test('IPv6 only, and one port of the same address only; other hosts are diagnosed apart', () => {
    const v6 = relayPattern([target({ address: '::1', family: 6, relayed: ['external-sender'] }), target({ denied: ['external-sender'] })]);
    expect(v6.where).toEqual(['ipv6-only']);
    expect(v6.relayedOn).toEqual(['[::1]:25']);
    const svc = relayPattern([target({ port: 587, service: 'submission (587)', relayed: ['external-sender'] }), target({ denied: ['external-sender'] })]);
    expect(svc.where).toEqual(['some-services']);
    expect(svc.relayedOn).toEqual(['submission (587)']);
    const two = diagnose([target({ host: 'a', relayed: ['external-sender'] }), target({ host: 'b', address: '127.0.0.2', denied: ['external-sender'] })]);
    expect(two.map((d) => [d.host, d.pattern.where])).toEqual([['a', []]]);
  });

  test('rows: a row that knows where beats a row that does not, even the MTA\'s own', () => {
    const tls = pattern({ everything: true, where: ['tls-only'] });
    expect(matchRules(tls, 'Postfix', false).map((r) => r.id)).toEqual(['any-tls-only']);
    expect(matchRules(tls, 'Exim', false).map((r) => r.id)).toEqual(['exim-tls-encrypted']);
    // The MTA's own row beats a row for any MTA; the vantage decides between Postfix's two.
    const all = pattern({ everything: true });
    expect(matchRules(all, 'Postfix', true).map((r) => r.id)).toEqual(['postfix-trusted-network']);
    expect(matchRules(all, 'Postfix', false).map((r) => r.id)).toEqual(['postfix-no-relay-check']);
    expect(matchRules(all, 'unknown', true).map((r) => r.id)).toEqual(['any-trusted-network']);
    expect(matchRules(all, 'unknown', false).map((r) => r.id)).toEqual(['any-no-relay-check']);
  });

  test('rows of any MTA for narrow patterns when the MTA is unknown or has no row', () => {
    const ids = (relayed: string[], mta = 'unknown'): string[] => matchRules(relayPattern([target({ relayed, denied: ['external-sender'] })]), mta, false).map((r) => r.id);
    expect(ids(['localhost-sender', 'null-sender'])).toEqual(['any-sender-trust']);
    expect(ids(['helo-localhost'])).toEqual(['any-helo-trust']);
    expect(ids(['percent-hack-own-domain', 'bang-path-own-domain'])).toEqual(['any-routing-forms']);
    // An MTA with no row for the pattern gets the row of any MTA.
    expect(ids(['percent-hack-own-domain'], 'Postfix')).toEqual(['any-routing-forms']);
  });

  test('identity tricks: their own rows, Postfix\'s where Postfix answered (real Postfix: identity-tricks.test.ts)', () => {
    const ids = (relayed: string[], mta = 'unknown'): string[] => matchRules(relayPattern([target({ relayed, denied: ['external-sender'] })]), mta, false).map((r) => r.id);
    expect(ids(['xclient-loopback'])).toEqual(['any-xclient-open']);
    expect(ids(['proxy-v1-loopback', 'proxy-v2-loopback'])).toEqual(['any-proxy-exposed']);
    expect(ids(['auth-anonymous', 'auth-plain-empty'])).toEqual(['any-auth-with-nothing']);
    expect(ids(['xclient-loopback'], 'Postfix')).toEqual(['postfix-xclient-hosts']);
    // A trick beside a plain attempt that relayed: the plain attempt explains it all.
    expect(matchRules(relayPattern([target({ relayed: ['xclient-loopback', 'external-sender'] })]), 'Postfix', false).map((r) => r.id)).toEqual(['postfix-no-relay-check']);
    const [d] = diagnose([target({ relayed: ['xclient-loopback'], denied: ['external-sender'] })]);
    expect(d.summary).toMatch(/claims to be 127\.0\.0\.1 through XCLIENT/);
  });

  test('a pattern no row explains is said plainly, not guessed', () => {
    const [d] = diagnose([target({ relayed: ['upper-case-domain', 'role-abuse-external'], denied: ['external-sender'] })]);
    expect(d.findings).toEqual([]);
    expect(d.unmatched).toMatch(/^No known cause fits this pattern \(2 vector\(s\) relayed, the plain attempt was refused\); relay-check will not guess/);
    expect(d.summary).toBe('The server relays some forms and refuses the plain attempt: role-abuse-external, upper-case-domain.');
    const md = diagnosisMarkdown({ diagnosis: [d] } as unknown as Report);
    expect(md).toContain('No known cause fits this pattern');
  });
});

describe('the vantage', () => {
  test('network kinds', () => {
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '100.64.0.1', '169.254.1.1', 'fd00::1', 'fe80::1', '203.0.113.10', '2001:db8::1', '8.8.8.8', '2a00::1', 'x'].map(networkKind)).toEqual([
      'loopback', 'loopback', 'loopback', 'private', 'private', 'private', 'cgnat', 'link-local', 'private', 'link-local', 'documentation', 'documentation', 'public', 'public', null,
    ]);
  });

  test('the address an EHLO reply names (Exim, Sendmail), from the last EHLO', () => {
    const S = (text: string) => ({ dir: 'S' as const, text, at: 0 });
    const C = (text: string) => ({ dir: 'C' as const, text, at: 0 });
    expect(echoInEhlo([S('220 mx ESMTP Exim 4.96'), C('EHLO a'), S('250-mx.exim.test Hello a [127.0.0.1]'), S('250 HELP')])).toEqual({ address: '127.0.0.1', rule: 'exim-hello' });
    expect(echoInEhlo([C('EHLO a'), S('250-mx Hello localhost [IPv6:::1], pleased to meet you')])).toEqual({ address: '::1', rule: 'hello-pleased-to-meet-you' });
    expect(echoInEhlo([C('EHLO a'), S('250-mx.relay-check.test'), S('250 PIPELINING')])).toBeNull();
    expect(echoInEhlo([C('EHLO a'), S('250-mx Hello [999.1.1.1]')])).toBeNull();
    // After STARTTLS the last EHLO counts; a refused EHLO names nothing.
    expect(echoInEhlo([C('EHLO a'), S('250-mx Hello a [192.0.2.1]'), C('STARTTLS'), S('220 go'), C('EHLO a'), S('250-mx Hello a [192.0.2.2]')])?.address).toBe('192.0.2.2');
    expect(echoInEhlo([C('EHLO a'), S('554 5.7.1 [192.0.2.1] go away')])).toBeNull();
  });

  test('XCLIENT accepted: the server judged the outsider; refused: it judged us', () => {
    const S = (text: string) => ({ dir: 'S' as const, text, at: 0 });
    const C = (text: string) => ({ dir: 'C' as const, text, at: 0 });
    const opening = (reply: string) => [S('220 mx ESMTP Postfix'), C('EHLO a'), S('250 XCLIENT ADDR NAME'), C('XCLIENT ADDR=203.0.113.10 NAME=[UNAVAILABLE]'), S(reply)];
    expect(vantageOf({ localAddress: '127.0.0.1', opening: opening('220 mx ESMTP Postfix'), target: '127.0.0.1', at: '2026-01-01T00:00:00Z' }, '203.0.113.10')).toEqual({
      connectedFrom: '127.0.0.1', seenAs: null, echo: null, helo: 'a', at: '2026-01-01T00:00:00Z', proxied: false, xclient: '203.0.113.10', effective: '203.0.113.10', network: 'documentation',
    });
    expect(vantageOf({ localAddress: '127.0.0.1', opening: opening('550 5.7.0 not authorized') }, '203.0.113.10')).toMatchObject({ xclient: null, effective: '127.0.0.1', network: 'loopback' });
  });

  test('a vantage warning only when everything relayed from a trusted network without XCLIENT', () => {
    const vantage = { connectedFrom: '10.0.0.5', seenAs: null, echo: null, helo: null, at: null, proxied: false, xclient: null, effective: '10.0.0.5', network: 'private' as const };
    const [all] = diagnose([target({ relayed: ['external-sender'], vantage } as Partial<T>)]);
    expect(all.vantageWarning).toMatch(/^This ran from 10\.0\.0\.5 \(a private address\) without `client-address`, which a server may simply trust/);
    const [narrow] = diagnose([target({ relayed: ['own-domain-sender'], denied: ['external-sender'], vantage } as Partial<T>)]);
    expect(narrow.vantageWarning).toBeNull();
    const [outside] = diagnose([target({ relayed: ['external-sender'], vantage: { ...vantage, effective: '198.51.100.7', network: 'documentation' } } as Partial<T>)]);
    expect(outside.vantageWarning).toBeNull();
  });
});

describe('rendering', () => {
  test('host names and places are escaped in the section; the rows\' own code spans stay code', () => {
    const [d] = diagnose([target({ host: 'a|b<script>', relayed: ['external-sender'], vantage: undefined })]);
    const md = diagnosisMarkdown({ diagnosis: [d, { ...d, host: 'second' }] } as unknown as Report) ?? '';
    expect(md).toContain('a&#124;b&#60;script&#62;');
    expect(md).not.toContain('<script>');
    expect(md).toContain('**Fix:** Accept mail for other domains only from authenticated clients');
  });
});
