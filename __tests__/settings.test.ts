import { describe, expect, test } from '@jest/globals';
import {
  DEFAULTS,
  INPUT_NAMES,
  InputError,
  isHostName,
  parseHost,
  parseRecipient,
  parseSettings,
  type InputName,
  type RawInputs,
  type Settings,
} from '../src/settings.js';

const HOST = { host: 'mx.example.org' } as const;

/** The InputError `fn` throws (fails the test if it throws something else or nothing). */
function inputErrorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

/** Asserts `raw` is refused with a one-line message naming `input`; returns the message. */
function refused(raw: RawInputs, input: InputName): string {
  const e = inputErrorOf(() => parseSettings(raw));
  expect(e.input).toBe(input);
  expect(e.message.startsWith(`Input '${input}': `)).toBe(true);
  expect(e.message).not.toMatch(/[\r\n]/);
  expect(e.message.length).toBeGreaterThan(`Input '${input}': `.length);
  return e.message;
}

describe('defaults', () => {
  test('only host given: every other setting takes its documented default', () => {
    const s = parseSettings(HOST);
    const expected: Settings = {
      hosts: [{ input: 'mx.example.org', host: 'mx.example.org', kind: 'name' }],
      ports: [25],
      strictness: 'normal',
      tls: 'auto',
      proxyProtocol: 'auto',
      recipient: { address: 'relay-check@example.com', user: 'relay-check', domain: 'example.com' },
      senders: [],
      helos: [],
      timeoutMs: 120_000,
      connectTimeoutMs: 10_000,
      reportPath: 'relay-check-report.json',
      comment: false,
      issue: false,
    };
    expect(s).toEqual(expected);
    expect('domain' in s).toBe(false);
  });

  test('inputs given as empty or blank strings (as actions pass them) take the defaults', () => {
    const raw: RawInputs = { host: 'mx.example.org' };
    for (const name of INPUT_NAMES) if (name !== 'host') raw[name] = name in DEFAULTS ? '  ' : '';
    expect(parseSettings(raw)).toEqual(parseSettings(HOST));
  });

  test('DEFAULTS match SPEC §1', () => {
    expect(DEFAULTS).toEqual({
      port: '25',
      strictness: 'normal',
      tls: 'auto',
      'proxy-protocol': 'auto',
      recipient: 'relay-check@example.com',
      timeout: '120',
      'connect-timeout': '10',
      'report-path': 'relay-check-report.json',
      comment: 'false',
      issue: 'false',
    });
  });

  test('values are trimmed', () => {
    const s = parseSettings({ host: '  mx.example.org \n', strictness: ' strict ', timeout: ' 30 ', 'report-path': ' out/r.json ' });
    expect(s.hosts.map((h) => h.host)).toEqual(['mx.example.org']);
    expect(s.strictness).toBe('strict');
    expect(s.timeoutMs).toBe(30_000);
    expect(s.reportPath).toBe('out/r.json');
  });

  test('github-token is accepted and not part of the settings', () => {
    const s = parseSettings({ ...HOST, 'github-token': 'ghs_abcdef0123456789' });
    expect(JSON.stringify(s)).not.toContain('ghs_');
  });
});

describe('host lists', () => {
  test('split by commas, spaces and newlines (LF and CRLF)', () => {
    const s = parseSettings({ host: 'mx1.example.org, mx2.example.org\n192.0.2.1  [::1]:2525\r\nmx3.example.org,,\n' });
    expect(s.hosts.map((h) => h.input)).toEqual(['mx1.example.org', 'mx2.example.org', '192.0.2.1', '[::1]:2525', 'mx3.example.org']);
  });

  test('a space separates hosts: "exa mple" is two hosts, not one bad one', () => {
    // SPEC §1: hosts are "separated by commas, spaces or newlines", and single-label
    // names (localhost) are names, so this is a list of two.
    expect(parseSettings({ host: 'exa mple' }).hosts.map((h) => h.host)).toEqual(['exa', 'mple']);
  });

  test.each<[string, object]>([
    ['mx.example.org', { host: 'mx.example.org', kind: 'name' }],
    ['mx.example.org:2525', { host: 'mx.example.org', kind: 'name', port: 2525 }],
    ['MX.Example.org.', { host: 'MX.Example.org', kind: 'name' }],
    ['localhost', { host: 'localhost', kind: 'name' }],
    ['localhost:25', { host: 'localhost', kind: 'name', port: 25 }],
    ['192.0.2.1', { host: '192.0.2.1', kind: 'ipv4' }],
    ['127.0.0.1:587', { host: '127.0.0.1', kind: 'ipv4', port: 587 }],
    ['::1', { host: '::1', kind: 'ipv6' }],
    ['2001:db8::25', { host: '2001:db8::25', kind: 'ipv6' }],
    ['[::1]', { host: '::1', kind: 'ipv6' }],
    ['[::1]:2525', { host: '::1', kind: 'ipv6', port: 2525 }],
    ['[2001:db8::1]:65535', { host: '2001:db8::1', kind: 'ipv6', port: 65535 }],
    ['mx.example.org:1', { host: 'mx.example.org', kind: 'name', port: 1 }],
  ])('%s', (token, expected) => {
    const spec = parseHost(token);
    expect(spec).toEqual({ input: token, ...expected });
    expect(parseSettings({ host: token }).hosts).toEqual([spec]);
  });

  test('a host without a port has no port property (the port input applies)', () => {
    expect('port' in parseHost('mx.example.org')).toBe(false);
    expect('port' in parseHost('::1')).toBe(false);
  });

  test.each([
    ['1.2.3.999'],
    ['1.2.3'],
    ['1.2.3.4.5'],
    ['01.2.3.4'],
    ['[notv6]'],
    ['[192.0.2.1]'],
    ['[::1'],
    ['a..b'],
    ['.example.org'],
    ['-mx.example.org'],
    ['mx-.example.org'],
    ['exa_mple.org'],
    ['exämple.org'],
    [`${'a'.repeat(64)}.example.org`],
    ['host:25:26'],
    ['::1::2'],
  ])('%j is refused naming the host input and quoting the token', (token) => {
    const msg = refused({ host: token }, 'host');
    expect(msg).toContain(`"${token}"`);
    expect(() => parseHost(token)).toThrow(InputError);
  });

  // Port errors inside a host token name the port, not the whole token.
  test.each([
    ['host:0', /port 0 is outside 1-65535/],
    ['host:70000', /port 70000 is outside 1-65535/],
    ['1.2.3.4:99999', /port 99999 is outside/],
    ['[::1]:0', /port 0 is outside/],
    ['host:', /"" is not a port number/],
    ['host:abc', /"abc" is not a port number/],
    ['[::1]:', /"" is not a port number/],
    ['[::1]:x', /"x" is not a port number/],
  ])('%j is refused naming the host input and the bad port', (token, why) => {
    expect(refused({ host: token }, 'host')).toMatch(why);
    expect(() => parseHost(token)).toThrow(InputError);
  });

  test('one bad host in a list refuses the whole list', () => {
    refused({ host: 'mx.example.org, 1.2.3.999' }, 'host');
  });

  test.each([[''], ['   '], ['\n']])('empty host %j is refused', (host) => {
    expect(refused({ host }, 'host')).toMatch(/required/);
    expect(refused({}, 'host')).toMatch(/required/);
  });

  // SPEC §1: "Bad input (empty target, …) fails the step". A list holding only
  // separators names no target at all: accepted, it would give `hosts: []`
  // and a run that tests nothing.
  test.each([[','], [' , \n ,']])('[expected behaviour] a host list of separators only (%j) is refused as empty', (host) => {
    refused({ host }, 'host');
  });

  test('isHostName', () => {
    expect(isHostName('mx.example.org')).toBe(true);
    expect(isHostName('mx.example.org.')).toBe(true);
    expect(isHostName('xn--bcher-kva.example')).toBe(true);
    expect(isHostName('1.2.3.999')).toBe(false);
    expect(isHostName('')).toBe(false);
    expect(isHostName('.')).toBe(false);
    expect(isHostName(`${'a.'.repeat(127)}com`)).toBe(false); // 257 characters
  });
});

describe('ports', () => {
  test.each<[string, number[]]>([
    ['25', [25]],
    ['25, 587, 465', [25, 587, 465]],
    ['25 587\n465', [25, 587, 465]],
    ['587,25,587', [587, 25]],
    ['1,65535', [1, 65535]],
  ])('%j → %j', (port, ports) => {
    expect(parseSettings({ ...HOST, port }).ports).toEqual(ports);
  });

  test.each([['0'], ['65536'], ['70000'], ['123456'], ['abc'], ['-1'], ['+25'], ['25a'], ['1e3'], ['25.0'], ['25, 0'], ['25;587']])(
    'bad port %j is refused naming the port input',
    (port) => {
      refused({ ...HOST, port }, 'port');
    },
  );

  test('a port list of separators only is refused', () => {
    expect(refused({ ...HOST, port: ' , ' }, 'port')).toMatch(/empty/);
  });
});

describe('enums', () => {
  test.each([['relaxed'], ['normal'], ['strict']] as const)('strictness %s', (v) => {
    expect(parseSettings({ ...HOST, strictness: v }).strictness).toBe(v);
  });
  test('strictness is case-insensitive', () => {
    expect(parseSettings({ ...HOST, strictness: 'Strict' }).strictness).toBe('strict');
  });
  test.each([['paranoid'], ['0'], ['strict,normal']])('bad strictness %j', (v) => {
    expect(refused({ ...HOST, strictness: v }, 'strictness')).toContain('relaxed, normal, strict');
  });

  test.each([['auto'], ['none'], ['starttls'], ['implicit']] as const)('tls %s', (v) => {
    expect(parseSettings({ ...HOST, tls: v }).tls).toBe(v);
  });
  test('tls is case-insensitive', () => {
    expect(parseSettings({ ...HOST, tls: 'STARTTLS' }).tls).toBe('starttls');
  });
  test.each([['auto'], ['try'], ['off']] as const)('proxy-protocol %s', (v) => {
    expect(parseSettings({ ...HOST, 'proxy-protocol': v }).proxyProtocol).toBe(v);
  });
  test.each([['yes'], ['haproxy'], ['v2']])('bad proxy-protocol %j: one line naming the input', (v) => {
    expect(refused({ ...HOST, 'proxy-protocol': v }, 'proxy-protocol')).toMatch(/auto.*try.*off/);
  });
  test.each([['ssl'], ['yes'], ['true']])('bad tls %j', (v) => {
    refused({ ...HOST, tls: v }, 'tls');
  });

  test('comment false is accepted; other values refused', () => {
    expect(() => parseSettings({ ...HOST, comment: 'false' })).not.toThrow();
    refused({ ...HOST, comment: 'maybe' }, 'comment');
  });
});

describe('comment', () => {
  test('true/false in any case become a boolean; false by default', () => {
    expect(parseSettings({ ...HOST, comment: 'true' }).comment).toBe(true);
    expect(parseSettings({ ...HOST, comment: 'TRUE' }).comment).toBe(true);
    expect(parseSettings({ ...HOST, comment: 'false' }).comment).toBe(false);
    expect(parseSettings(HOST).comment).toBe(false);
  });
});

describe('issue', () => {
  test('true/false in any case become a boolean; false by default; anything else refused naming the input', () => {
    expect(parseSettings({ ...HOST, issue: 'TRUE' }).issue).toBe(true);
    expect(parseSettings({ ...HOST, issue: 'false' }).issue).toBe(false);
    expect(parseSettings(HOST).issue).toBe(false);
    expect(refused({ ...HOST, issue: 'maybe' }, 'issue')).toBe('Input \'issue\': "maybe" is not one of true, false');
  });
  test('refused with postfix-config (no server to watch), allowed with domain', () => {
    expect(refused({ issue: 'true', 'postfix-config': 'postfix/' }, 'issue')).toMatch(/a `postfix-config` gate has none/);
    expect(parseSettings({ issue: 'true', domain: 'example.org' }).issue).toBe(true);
  });
});

describe('client-address', () => {
  test.each([['192.0.2.7'], ['::1'], ['2001:db8::10']])('%s is accepted as the XCLIENT address', (addr) => {
    expect(parseSettings({ ...HOST, 'client-address': addr }).clientAddress).toBe(addr);
  });
  test('absent by default', () => {
    expect(parseSettings({ ...HOST }).clientAddress).toBeUndefined();
  });
  test.each([['mx.example.org'], ['192.0.2.300'], ['203.0.113.10/24']])('%s is refused naming the input', (addr) => {
    expect(refused({ ...HOST, 'client-address': addr }, 'client-address')).toMatch(/not an IPv4 or IPv6 address/);
  });
});

describe('control characters', () => {
  test.each(INPUT_NAMES.map((n) => [n]))('BEL in %s is refused naming it', (name) => {
    const raw: RawInputs = { ...HOST, [name]: name === 'host' ? 'mx.example.org\x07' : 'x\x07y' };
    expect(refused(raw, name)).toMatch(/control character/);
  });

  const nonList = INPUT_NAMES.filter((n) => !['host', 'port', 'helo', 'sender'].includes(n));
  test.each(nonList.map((n) => [n]))('CR or LF inside %s (not a list input) is refused naming it', (name) => {
    expect(refused({ ...HOST, [name]: 'a\rb' }, name)).toMatch(/control character/);
    expect(refused({ ...HOST, [name]: 'a\nb' }, name)).toMatch(/control character/);
  });

  test('CR smuggled into the recipient (SMTP command injection) is refused', () => {
    refused({ ...HOST, recipient: 'a@example.com\r\nRCPT TO:<victim@example.net>' }, 'recipient');
  });

  test.each([['\x00'], ['\x1b'], ['\t'], ['\x7f'], ['\x0b']])('%j inside the host list is refused', (c) => {
    expect(refused({ host: `mx.example.org${c}mx2.example.org` }, 'host')).toMatch(/control character/);
  });

  test('the error message never repeats the control character', () => {
    const msg = refused({ ...HOST, 'report-path': 'a\x1b]0;x\x07b' }, 'report-path');
    expect(msg).not.toMatch(/[\x00-\x1f\x7f]/);
  });

  // SPEC §1 refuses "any control character … in any input"; U+0080-U+009F
  // (C1, e.g. CSI U+009B, NEL U+0085) are control characters too, also in
  // inputs with no further validation (report-path, github-token).
  test('[expected behaviour] C1 control characters are refused too', () => {
    refused({ ...HOST, 'report-path': 'report\u009b31m.json' }, 'report-path');
    refused({ ...HOST, 'report-path': 'report\u0085.json' }, 'report-path');
  });
});

describe('timeouts', () => {
  test.each<[string, number]>([
    ['120', 120_000],
    ['1', 1_000],
    ['1.5', 1_500],
    ['0.25', 250],
    ['86400', 86_400_000],
  ])('timeout %j → %d ms', (text, ms) => {
    expect(parseSettings({ ...HOST, timeout: text }).timeoutMs).toBe(ms);
    expect(parseSettings({ ...HOST, 'connect-timeout': text }).connectTimeoutMs).toBe(ms);
  });

  test.each([['0'], ['0.0'], ['-1'], ['-0.5'], ['abc'], ['10s'], ['1e3'], ['86401'], ['Infinity'], ['NaN'], ['1,5']])(
    'bad value %j is refused, naming timeout or connect-timeout',
    (text) => {
      refused({ ...HOST, timeout: text }, 'timeout');
      refused({ ...HOST, 'connect-timeout': text }, 'connect-timeout');
    },
  );

  // A positive value that rounds to 0 ms is a zero timeout in disguise: every
  // attempt would be "not run". "0.0001" is refused or rounds up, never 0 ms.
  test('[expected behaviour] a timeout never comes out as 0 ms', () => {
    for (const text of ['0.0001', '0.0004']) {
      let ms: number | undefined;
      try {
        ms = parseSettings({ ...HOST, timeout: text }).timeoutMs;
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        continue;
      }
      expect(ms).toBeGreaterThan(0);
    }
  });
});

describe('recipient', () => {
  test.each<[string, string, string]>([
    ['relay-check@example.com', 'relay-check', 'example.com'],
    ['Alice.Smith+tag@Mail.Example.org', 'Alice.Smith+tag', 'Mail.Example.org'],
    ["o'brien_x=y@example.net", "o'brien_x=y", 'example.net'],
    ['me@localhost', 'me', 'localhost'],
    [`${'u'.repeat(64)}@example.com`, 'u'.repeat(64), 'example.com'],
  ])('%s → user %s, domain %s', (address, user, domain) => {
    expect(parseRecipient(address)).toEqual({ address, user, domain });
    expect(parseSettings({ ...HOST, recipient: address }).recipient).toEqual({ address, user, domain });
  });

  test('a trailing dot on the domain is dropped from the domain', () => {
    expect(parseRecipient('me@example.com.').domain).toBe('example.com');
  });

  test.each([
    ['noat'],
    ['a@b@example.com'],
    ['@example.com'],
    ['a@'],
    ['.a@example.com'],
    ['a.@example.com'],
    ['a..b@example.com'],
    ['a b@example.com'],
    ['<a@example.com>'],
    ['"a"@example.com'],
    ['a@[127.0.0.1]'],
    ['a@1.2.3.4'],
    ['a@exa_mple.com'],
    ['a@example..com'],
    ['a@-example.com'],
    ['a(b)@example.com'],
    ['a,b@example.com'],
    ['a:b@example.com'],
    ['{user}@example.com'],
    [`${'u'.repeat(65)}@example.com`],
  ])('%j is refused naming the recipient input', (recipient) => {
    refused({ ...HOST, recipient }, 'recipient');
    expect(() => parseRecipient(recipient)).toThrow(InputError);
  });
});

describe('domain', () => {
  test('a domain name is accepted, lower-cased, trailing dot dropped', () => {
    expect(parseSettings({ ...HOST, domain: 'Example.ORG.' }).domain).toBe('example.org');
    expect(parseSettings({ ...HOST, domain: 'mail.example.net' }).domain).toBe('mail.example.net');
  });
  test.each([['exa_mple.org'], ['1.2.3.4'], ['a..b'], ['example.org, example.net'], ['[192.0.2.1]'], ['-example.org']])('%j is refused', (domain) => {
    refused({ ...HOST, domain }, 'domain');
  });
});

describe('sender', () => {
  test('a list of addresses, de-duplicated, in order', () => {
    expect(parseSettings({ ...HOST, sender: 'a@example.net, b@example.org\nc@example.com a@example.net' }).senders).toEqual([
      'a@example.net',
      'b@example.org',
      'c@example.com',
    ]);
  });
  test.each([['nope'], ['a@'], ['<a@example.net>'], ['a@exa_mple.net'], ['{probe}@example.net'], ['ok@example.net, bad']])('%j is refused', (sender) => {
    refused({ ...HOST, sender }, 'sender');
  });
});

describe('helo', () => {
  test('host names and address literals (IPv4, tagged IPv6)', () => {
    expect(parseSettings({ ...HOST, helo: 'client.example.net [192.0.2.1]\n[IPv6:2001:db8::1], localhost' }).helos).toEqual([
      'client.example.net',
      '[192.0.2.1]',
      '[IPv6:2001:db8::1]',
      'localhost',
    ]);
  });
  test.each([['[::1]'], ['[IPv6:192.0.2.1]'], ['[1.2.3.999]'], ['exa_mple'], ['192.0.2.1'], ['[notaliteral]']])('%j is refused', (helo) => {
    refused({ ...HOST, helo }, 'helo');
  });
});

describe('InputError', () => {
  test('is an Error with the input name and a prefixed message', () => {
    const e = new InputError('port', 'bad');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('InputError');
    expect(e.input).toBe('port');
    expect(e.message).toBe("Input 'port': bad");
  });
});

describe('base-ref', () => {
  const GATE = { 'postfix-config': 'postfix/' } as const;
  test.each([['main'], ['origin/main'], ['v1.2'], ['3f2c1ab'], ['HEAD~1'], ['a'.repeat(40)], ['release/2024-05^']])('%s is kept as given', (ref) => {
    expect(parseSettings({ ...GATE, 'base-ref': ref }).baseRef).toBe(ref);
  });
  test('absent by default, also in gate mode (the action fills it in on a pull request)', () => {
    expect('baseRef' in parseSettings(GATE)).toBe(false);
  });
  // A leading '-' would be a git option; ':' is joined as <ref>:<path>; '..' is a range; '@{' reflog syntax.
  test.each([['--upload-pack=touch /tmp/x'], ['-x'], ['main:postfix'], ['main..feature'], ['main@{1}'], ['a b'], ['.hidden'], ['main.lock'], ['main/'], ['x'.repeat(256)], ['$(id)']])('%j is refused in one line naming the input', (ref) => {
    expect(refused({ ...GATE, 'base-ref': ref }, 'base-ref')).toMatch(/is not a commit or ref/);
  });
  test('without postfix-config it is refused naming the input', () => {
    expect(refused({ ...HOST, 'base-ref': 'main' }, 'base-ref')).toBe("Input 'base-ref': compares a `postfix-config` or `exim-config` directory with that commit: set one too");
  });
});
