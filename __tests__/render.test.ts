import { describe, expect, test } from '@jest/globals';
import { addressLiteral, fill, ipv6Literal, mailDomain, renderVector, serverName, type RenderContext } from '../src/battery/render.js';
import { VECTORS, type Vector } from '../src/battery/vectors.js';

const CTX: RenderContext = {
  user: 'relay-check',
  domain: 'example.com',
  probe: 'probe',
  helo: 'relay-check.invalid',
  address: '127.0.0.1',
  srv: 'mx.example.org',
  mydomain: 'example.org',
};
/** Every placeholder fillable: {untagged6} needs an IPv6 target. */
const FULL6: RenderContext = { ...CTX, address: '::1' };

const KNOWN_PLACEHOLDERS = ['user', 'domain', 'probe', 'helo', 'literal', 'srv', 'mydomain', 'domainUpper', 'literal6', 'untagged6'];

const templatesOf = (v: Vector): string[] => [v.helo ?? '', v.mailFrom, ...v.rcptTo];
const uses = (v: Vector, name: string): boolean => templatesOf(v).some((t) => t.includes(`{${name}}`));

function byId(id: string): Vector {
  const v = VECTORS.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return v;
}

function rendered(id: string, ctx: RenderContext = CTX) {
  const r = renderVector(byId(id), ctx);
  if (!r.ok) throw new Error(`vector ${id} skipped: ${r.reason}`);
  return r.attempt;
}

describe('addressLiteral', () => {
  test('IPv4', () => {
    expect(addressLiteral('127.0.0.1')).toBe('[127.0.0.1]');
    expect(addressLiteral('192.0.2.1')).toBe('[192.0.2.1]');
  });
  test('IPv6 carries the IPv6: tag (RFC 5321 §4.1.3)', () => {
    expect(addressLiteral('::1')).toBe('[IPv6:::1]');
    expect(addressLiteral('2001:db8::25')).toBe('[IPv6:2001:db8::25]');
  });
});

describe('ipv6Literal', () => {
  test('an IPv6 target gets its own tagged literal', () => {
    expect(ipv6Literal('::1')).toBe('[IPv6:::1]');
    expect(ipv6Literal('2001:db8::25')).toBe('[IPv6:2001:db8::25]');
  });
  test('an IPv4 target gets the IPv4-mapped form', () => {
    expect(ipv6Literal('192.0.2.1')).toBe('[IPv6:::ffff:192.0.2.1]');
  });
});

describe('mailDomain', () => {
  test.each<[string | undefined, string | undefined]>([
    ['mx.example.org', 'example.org'],
    ['smtp.mail.example.net', 'mail.example.net'],
    ['example.org', 'example.org'],
    [undefined, undefined],
    ['', undefined],
  ])('%j → %j', (srv, dom) => {
    expect(mailDomain(srv)).toBe(dom);
  });
});

describe('fill', () => {
  test('replaces every known placeholder, repeated ones too', () => {
    expect(fill('<{user}@{domain}> {user}', { user: 'u', domain: 'd.example' })).toEqual({ text: '<u@d.example> u' });
  });
  test('text without placeholders is returned unchanged', () => {
    expect(fill('<>', { user: 'u' })).toEqual({ text: '<>' });
  });
  test('values are inserted literally (no re-expansion, no $ patterns)', () => {
    expect(fill('<{user}@{domain}>', { user: '{domain}', domain: "$&$'" })).toEqual({ text: "<{domain}@$&$'>" });
  });
  test('a placeholder with an undefined value is reported missing, not filled', () => {
    const r = fill('<{probe}@{srv}>', { probe: 'p', srv: undefined });
    expect(r).toEqual({ missing: 'srv' });
    expect('text' in r).toBe(false);
  });
  test('the first missing placeholder is named', () => {
    expect(fill('{a}{b}', { a: undefined, b: undefined })).toEqual({ missing: 'a' });
  });
  test('an unknown placeholder throws, naming it and the template', () => {
    expect(() => fill('<{user}@{nope}>', { user: 'u' })).toThrow(/\{nope\}.*<\{user\}@\{nope\}>/);
  });
});

describe('renderVector', () => {
  test.each(VECTORS.map((v) => [v.id, v] as const))('%s renders completely with a full context', (_id, v) => {
    for (const ctx of [FULL6, { ...FULL6, address: '2001:db8::25' }]) {
      const r = renderVector(v, ctx);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const all = [r.attempt.helo, r.attempt.mailFrom, ...r.attempt.rcptTo];
      for (const s of all) {
        expect(s).not.toMatch(/[{}]/);
        expect(s.length).toBeGreaterThan(0);
      }
      expect(r.attempt.vector).toBe(v);
      expect(r.attempt.rcptTo).toHaveLength(v.rcptTo.length);
      // The last RCPT is the relay destination: it must mention the external domain,
      // and the external user unless it is an RFC 2142 role mailbox of that domain.
      const dest = r.attempt.rcptTo[r.attempt.rcptTo.length - 1];
      if (!v.local) expect(dest.toLowerCase()).toContain(ctx.domain.toLowerCase());
      if (!v.id.startsWith('role-')) expect(dest).toContain(ctx.user);
      else expect(dest).toMatch(/^<(postmaster|abuse|hostmaster)@/);
    }
  });

  test.each(VECTORS.map((v) => [v.id, v] as const))('%s on an IPv4 target: renders, or is skipped only for {untagged6}', (_id, v) => {
    const r = renderVector(v, CTX);
    if (uses(v, 'untagged6')) {
      expect(r).toEqual({ ok: false, vector: v, reason: 'needs {untagged6}: only meaningful on an IPv6 address', missing: 'untagged6' });
    } else {
      expect(r.ok).toBe(true);
      if (r.ok) for (const s of [r.attempt.helo, r.attempt.mailFrom, ...r.attempt.rcptTo]) expect(s).not.toMatch(/[{}]/);
    }
  });

  // The nmap smtp-open-relay forms (REFERENCE.md), with F=probe, U=relay-check,
  // D=example.com, IP=127.0.0.1, SRV=mx.example.org.
  test.each([
    ['null-sender', '<>', '<relay-check@example.com>'],
    ['external-sender', '<probe@example.com>', '<relay-check@example.com>'],
    ['server-name-sender', '<probe@mx.example.org>', '<relay-check@example.com>'],
    ['literal-sender', '<probe@[127.0.0.1]>', '<relay-check@example.com>'],
    ['percent-hack-literal', '<probe@[127.0.0.1]>', '<relay-check%example.com@[127.0.0.1]>'],
    ['percent-hack-server-name', '<probe@[127.0.0.1]>', '<relay-check%example.com@mx.example.org>'],
    ['quoted-address', '<probe@[127.0.0.1]>', '<"relay-check@example.com">'],
    ['quoted-percent', '<probe@[127.0.0.1]>', '<"relay-check%example.com">'],
    ['double-at-literal', '<probe@[127.0.0.1]>', '<relay-check@example.com@[127.0.0.1]>'],
    ['quoted-at-literal', '<probe@[127.0.0.1]>', '<"relay-check@example.com"@[127.0.0.1]>'],
    ['double-at-server-name', '<probe@[127.0.0.1]>', '<relay-check@example.com@mx.example.org>'],
    ['source-route-literal', '<probe@[127.0.0.1]>', '<@[127.0.0.1]:relay-check@example.com>'],
    ['source-route-server-name', '<probe@[127.0.0.1]>', '<@mx.example.org:relay-check@example.com>'],
    ['bang-path', '<probe@[127.0.0.1]>', '<example.com!relay-check>'],
    ['bang-path-literal', '<probe@[127.0.0.1]>', '<example.com!relay-check@[127.0.0.1]>'],
    ['bang-path-server-name', '<probe@[127.0.0.1]>', '<example.com!relay-check@mx.example.org>'],
  ])('%s renders the nmap form', (id, mailFrom, rcpt) => {
    const a = rendered(id);
    expect(a.mailFrom).toBe(mailFrom);
    expect(a.rcptTo).toEqual([rcpt]);
    if (byId(id).helo === undefined) expect(a.helo).toBe('relay-check.invalid');
  });

  test.each<[string, RenderContext, string, string[], string?]>([
    ['null-sender-upper-case-domain', CTX, '<>', ['<relay-check@EXAMPLE.COM>']],
    ['trailing-dot-domain', CTX, '<probe@example.com>', ['<relay-check@example.com.>']],
    ['unbracketed-paths', CTX, 'probe@example.com', ['relay-check@example.com']],
    ['spaced-paths', CTX, ' <probe@example.com>', [' <relay-check@example.com>']],
    ['own-domain-sender', CTX, '<probe@example.org>', ['<relay-check@example.com>']],
    ['source-route-two-hops', CTX, '<probe@example.com>', ['<@mx.example.org,@example.org:relay-check@example.com>']],
    ['double-percent-hack', CTX, '<probe@example.com>', ['<relay-check%example.com%mx.example.org@[127.0.0.1]>']],
    ['external-after-postmaster', CTX, '<probe@example.com>', ['<postmaster@example.org>', '<relay-check@example.com>']],
    ['percent-hack-ipv6-literal', CTX, '<probe@example.com>', ['<relay-check%example.com@[IPv6:::ffff:127.0.0.1]>']],
    ['percent-hack-ipv6-literal', FULL6, '<probe@example.com>', ['<relay-check%example.com@[IPv6:::1]>']],
    ['untagged-ipv6-literal', FULL6, '<probe@example.com>', ['<relay-check%example.com@[::1]>']],
    ['literal-recipient', CTX, '<probe@[127.0.0.1]>', ['<relay-check@[127.0.0.1]>']],
    ['helo-literal', FULL6, '<probe@[IPv6:::1]>', ['<relay-check@example.com>'], '[IPv6:::1]'],
    ['helo-server-name', CTX, '<probe@mx.example.org>', ['<relay-check@example.com>'], 'mx.example.org'],
    ['helo-own-domain', CTX, '<postmaster@example.org>', ['<relay-check@example.com>'], 'example.org'],
    ['helo-localhost', CTX, '<probe@example.com>', ['<relay-check@example.com>'], 'localhost'],
  ])('%s renders exactly', (id, ctx, mailFrom, rcptTo, helo = 'relay-check.invalid') => {
    const a = rendered(id, ctx);
    expect(a.helo).toBe(helo);
    expect(a.mailFrom).toBe(mailFrom);
    expect(a.rcptTo).toEqual(rcptTo);
  });

  test('IPv6 server address renders as an IPv6 address literal', () => {
    const a = rendered('percent-hack-literal', { ...CTX, address: '::1' });
    expect(a.mailFrom).toBe('<probe@[IPv6:::1]>');
    expect(a.rcptTo).toEqual(['<relay-check%example.com@[IPv6:::1]>']);
  });

  test('a vector without a HELO template uses the context HELO', () => {
    const v: Vector = { id: 't', description: 'd', provenance: 'p', mailFrom: '<>', rcptTo: ['<{user}@{domain}>'] };
    const r = renderVector(v, CTX);
    expect(r).toEqual({ ok: true, attempt: { vector: v, helo: 'relay-check.invalid', mailFrom: '<>', rcptTo: ['<relay-check@example.com>'] } });
  });

  test('a HELO template is filled (e.g. HELO as the address literal or server name)', () => {
    const v: Vector = { id: 't', description: 'd', provenance: 'p', helo: '{literal}', mailFrom: '<{probe}@{srv}>', rcptTo: ['<postmaster@{srv}>', '<{user}@{domain}>'] };
    const r = renderVector(v, { ...CTX, address: '2001:db8::1' });
    expect(r.ok && r.attempt.helo).toBe('[IPv6:2001:db8::1]');
    expect(r.ok && r.attempt.rcptTo).toEqual(['<postmaster@mx.example.org>', '<relay-check@example.com>']);
  });

  const needsSrv = VECTORS.filter((v) => uses(v, 'srv'));
  const noSrv = VECTORS.filter((v) => !needsSrv.includes(v));
  const needsMydomain = VECTORS.filter((v) => uses(v, 'mydomain') && !uses(v, 'srv'));

  test('the catalogue has rows that need {srv} and rows that do not', () => {
    expect(needsSrv.length).toBeGreaterThan(0);
    expect(noSrv.length).toBeGreaterThan(0);
  });

  test.each(needsSrv.map((v) => [v.id, v] as const))('%s is skipped with a reason when the server gave no name', (_id, v) => {
    const { srv: _drop, ...ctx } = FULL6;
    const r = renderVector(v, ctx);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.vector).toBe(v);
    expect(r.reason).toMatch(/^needs \{srv\}: /);
    expect(r.reason).toMatch(/host name/);
  });

  test.each(noSrv.map((v) => [v.id, v] as const))('%s renders without a server name', (_id, v) => {
    const { srv: _drop, ...ctx } = FULL6;
    expect(renderVector(v, ctx).ok).toBe(true);
  });

  test('the catalogue has rows that need the mail domain but not the server name', () => {
    expect(needsMydomain.length).toBeGreaterThan(0);
  });

  test.each(needsMydomain.map((v) => [v.id, v] as const))('%s is skipped, pointing at the domain input, when the mail domain is unknown', (_id, v) => {
    const { mydomain: _drop, ...ctx } = FULL6;
    const r = renderVector(v, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(/^needs \{mydomain\}: /);
      expect(r.reason).toContain('`domain`');
    }
  });

  test('a template naming an unknown placeholder throws rather than sending it', () => {
    const v: Vector = { id: 't', description: 'd', provenance: 'p', mailFrom: '<{sender}>', rcptTo: ['<{user}@{domain}>'] };
    expect(() => renderVector(v, CTX)).toThrow(/unknown placeholder \{sender\}/);
  });
});

describe('serverName', () => {
  test.each([
    ['mx.example.org ESMTP Postfix', 'mx.example.org'],
    ['mx.example.org. ESMTP Postfix', 'mx.example.org'],
    ['  MX1.Example.ORG  Microsoft ESMTP MAIL Service ready', 'MX1.Example.ORG'],
    ['smtp-1.mail.example.net ESMTP Exim 4.96', 'smtp-1.mail.example.net'],
    ['mx.example.org', 'mx.example.org'],
  ])('%j → %j', (line, name) => {
    expect(serverName(line)).toBe(name);
  });

  test.each([
    ['ESMTP ready'],
    ['[192.0.2.1] ESMTP'],
    ['*******************'],
    ['-mx.example.org ESMTP'],
    ['mx..example.org ESMTP'],
    [''],
    ['   '],
  ])('%j has no server name', (line) => {
    expect(serverName(line)).toBeUndefined();
  });

  test('falls back to the next line (EHLO reply) when the greeting has no name', () => {
    expect(serverName('ESMTP ready', 'mx.example.org Hello [127.0.0.1]')).toBe('mx.example.org');
    expect(serverName(undefined, 'mx2.example.org')).toBe('mx2.example.org');
  });

  test('the greeting wins over the EHLO reply', () => {
    expect(serverName('mx.example.org ESMTP', 'other.example.net')).toBe('mx.example.org');
  });

  test('no lines at all', () => {
    expect(serverName()).toBeUndefined();
    expect(serverName(undefined, undefined)).toBeUndefined();
  });

  test('a label longer than 63 characters is not a host name', () => {
    expect(serverName(`${'a'.repeat(64)}.example.org ESMTP`)).toBeUndefined();
    expect(serverName(`${'a'.repeat(63)}.example.org ESMTP`)).toBe(`${'a'.repeat(63)}.example.org`);
  });
});

describe('catalogue invariants', () => {
  test('at least 45 vectors (SPEC §4)', () => {
    expect(VECTORS.length).toBeGreaterThanOrEqual(45);
  });

  test('Metasploit test 4 (recipient at the address literal) is present and marked local', () => {
    const v = VECTORS.filter((x) => x.rcptTo[x.rcptTo.length - 1] === '<{user}@{literal}>');
    expect(v).toHaveLength(1);
    expect(v[0].local).toBe(true);
  });

  test('SPEC §4 families are covered', () => {
    const any = (pred: (v: Vector) => boolean) => VECTORS.some(pred);
    expect(any((v) => v.mailFrom === '<>')).toBe(true); // null sender
    expect(any((v) => /@\{mydomain\}>$/.test(v.mailFrom))).toBe(true); // own domain sender
    expect(any((v) => /@\{srv\}>$/.test(v.mailFrom))).toBe(true); // host name sender
    expect(any((v) => /@localhost>$/.test(v.mailFrom))).toBe(true); // localhost sender
    expect(any((v) => v.mailFrom === '<{probe}>')).toBe(true); // bare user
    expect(any((v) => v.helo === 'localhost')).toBe(true);
    expect(any((v) => v.helo === '{srv}')).toBe(true);
    expect(any((v) => v.helo === '{literal}')).toBe(true);
    expect(any((v) => v.rcptTo.some((t) => !t.includes('<')))).toBe(true); // unbracketed
    expect(any((v) => v.rcptTo.some((t) => t.includes('{domainUpper}')))).toBe(true);
    expect(any((v) => v.rcptTo.some((t) => t.includes('{domain}.>')))).toBe(true);
    expect(any((v) => v.rcptTo.some((t) => t.includes('%')))).toBe(true);
    expect(any((v) => v.rcptTo.some((t) => t.includes('!')))).toBe(true);
    expect(any((v) => v.rcptTo.some((t) => /<@[^>]*:/.test(t)))).toBe(true); // source route
    expect(any((v) => v.rcptTo.some((t) => /"[^"]*@[^"]*"/.test(t)))).toBe(true); // quoted with @
    expect(any((v) => v.rcptTo.some((t) => /"[^"]*%[^"]*"/.test(t)))).toBe(true); // quoted with %
    expect(any((v) => v.rcptTo.length > 1 && v.rcptTo[0].startsWith('<postmaster@'))).toBe(true);
    expect(any((v) => v.rcptTo.some((t) => t.includes('{literal6}') || t.includes('{untagged6}')))).toBe(true);
  });

  test('ids are unique', () => {
    const ids = VECTORS.map((v) => v.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test.each(VECTORS.map((v) => [v.id, v] as const))('%s: kebab-case id, description, provenance, templates', (id, v) => {
    expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(v.description.trim().length).toBeGreaterThan(0);
    expect(v.description).not.toMatch(/\n/);
    expect(v.provenance.trim().length).toBeGreaterThan(0);
    expect(v.mailFrom.length).toBeGreaterThan(0);
    expect(v.rcptTo.length).toBeGreaterThan(0);
    for (const t of v.rcptTo) expect(t.trim().length).toBeGreaterThan(0);
    if (v.helo !== undefined) expect(v.helo.trim().length).toBeGreaterThan(0);
    // Every placeholder is one renderVector knows (an unknown one would throw at run time).
    for (const t of [v.helo ?? '', v.mailFrom, ...v.rcptTo]) {
      for (const [, name] of t.matchAll(/\{([^}]*)\}/g)) expect(KNOWN_PLACEHOLDERS).toContain(name);
    }
  });

  test('every nmap smtp-open-relay test 1-16 has a row', () => {
    for (let n = 1; n <= 16; n++) {
      const re = new RegExp(`nmap smtp-open-relay\\.nse test ${n}(\\D|$)`);
      expect(VECTORS.filter((v) => re.test(v.provenance)).map((v) => v.id)).not.toHaveLength(0);
    }
  });

  test('no two rows send the same HELO, MAIL FROM and RCPT TO', () => {
    const keys = VECTORS.map((v) => JSON.stringify([v.helo ?? '{helo}', v.mailFrom, v.rcptTo]));
    expect(new Set(keys).size).toBe(keys.length);
  });
});
