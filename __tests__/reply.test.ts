import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  formatReply,
  parseReply,
  ProtocolError,
  ReplyReader,
  replyText,
  sanitizeLine,
  splitEnhanced,
  type Reply,
} from '../src/smtp/reply.js';

/** Feeds `input` to `reader` cut at the given positions; returns every reply, in order. */
function feedChunks(reader: ReplyReader, input: Buffer, cuts: number[]): Reply[] {
  const points = [...new Set(cuts.map((c) => Math.min(Math.max(c, 0), input.length)))].sort((a, b) => a - b);
  const out: Reply[] = [];
  let start = 0;
  for (const p of [...points, input.length]) {
    if (p > start) out.push(...reader.feed(input.subarray(start, p)));
    start = p;
  }
  return out;
}

/** Feeds a string one byte at a time. */
function feedBytewise(reader: ReplyReader, input: string): Reply[] {
  const buf = Buffer.from(input, 'latin1');
  const out: Reply[] = [];
  for (let i = 0; i < buf.length; i++) out.push(...reader.feed(buf.subarray(i, i + 1)));
  return out;
}

/** The ProtocolError `fn` throws (fails the test if it throws something else or nothing). */
function protocolErrorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

const SMALL = { maxLineBytes: 32, maxLinesPerReply: 3, maxSessionBytes: 200 };

describe('parseReply / ReplyReader: well-formed replies', () => {
  test('single line with enhanced code', () => {
    const r = parseReply('454 4.7.1 <x@example.com>: Relay access denied');
    expect(r.code).toBe(454);
    expect(r.enhanced).toBe('4.7.1');
    expect(r.lines).toEqual(['<x@example.com>: Relay access denied']);
    expect(r.raw).toEqual(['454 4.7.1 <x@example.com>: Relay access denied']);
    expect(formatReply(r)).toBe('454 4.7.1 <x@example.com>: Relay access denied');
    expect(replyText(r)).toBe('<x@example.com>: Relay access denied');
  });

  test('single line without enhanced code', () => {
    const r = parseReply('550 relay not permitted');
    expect(r.code).toBe(550);
    expect(r.enhanced).toBeUndefined();
    expect('enhanced' in r).toBe(false);
    expect(r.lines).toEqual(['relay not permitted']);
  });

  test('multi-line EHLO reply', () => {
    const reader = new ReplyReader();
    const text =
      '250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n';
    const replies = reader.feed(text);
    expect(replies).toHaveLength(1);
    const [r] = replies;
    expect(r.code).toBe(250);
    expect(r.enhanced).toBeUndefined();
    expect(r.lines).toEqual(['mx.example.org', 'PIPELINING', 'SIZE 10240000', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME']);
    expect(r.raw).toEqual([
      '250-mx.example.org',
      '250-PIPELINING',
      '250-SIZE 10240000',
      '250-STARTTLS',
      '250-ENHANCEDSTATUSCODES',
      '250 8BITMIME',
    ]);
    expect(replyText(r)).toBe('mx.example.org\nPIPELINING\nSIZE 10240000\nSTARTTLS\nENHANCEDSTATUSCODES\n8BITMIME');
    expect(formatReply(r)).toBe('250-mx.example.org / 250-PIPELINING / 250-SIZE 10240000 / 250-STARTTLS / 250-ENHANCEDSTATUSCODES / 250 8BITMIME');
    expect(reader.midReply).toBe(false);
  });

  test('multi-line reply with the enhanced code repeated on each line (RFC 2034)', () => {
    const r = new ReplyReader().feed('550-5.7.1 first line\r\n550 5.7.1 second line\r\n')[0];
    expect(r.code).toBe(550);
    expect(r.enhanced).toBe('5.7.1');
    expect(r.lines).toEqual(['first line', 'second line']);
  });

  test('enhanced code parsed', () => {
    expect(parseReply('250 2.1.5 Ok')).toMatchObject({ code: 250, enhanced: '2.1.5', lines: ['Ok'] });
    expect(parseReply('556 5.1.10 <x>: nullMX')).toMatchObject({ code: 556, enhanced: '5.1.10', lines: ['<x>: nullMX'] });
    expect(parseReply('550 5.7.54 SMTP; Unable to relay')).toMatchObject({ enhanced: '5.7.54', lines: ['SMTP; Unable to relay'] });
    // Code with nothing after it.
    expect(parseReply('550 5.1.1')).toMatchObject({ code: 550, enhanced: '5.1.1', lines: [''] });
  });

  test('enhanced code NOT parsed when its class differs from the reply code', () => {
    const r = parseReply('250 5.1.1 x');
    expect(r.code).toBe(250);
    expect(r.enhanced).toBeUndefined();
    expect(r.lines).toEqual(['5.1.1 x']);
    expect(parseReply('550 2.0.0 ok').enhanced).toBeUndefined();
    expect(parseReply('450 5.7.1 no').lines).toEqual(['5.7.1 no']);
  });

  test('enhanced-looking text that is not a whole code is left alone', () => {
    expect(parseReply('550 5.1.1x user').enhanced).toBeUndefined();
    expect(parseReply('550 5.1.1x user').lines).toEqual(['5.1.1x user']);
    expect(parseReply('550 5.7.1234 x').enhanced).toBeUndefined();
    expect(parseReply('550 5.7 x').enhanced).toBeUndefined();
  });

  test('splitEnhanced directly', () => {
    expect(splitEnhanced(550, '5.7.1   Relay denied')).toEqual({ enhanced: '5.7.1', rest: 'Relay denied' });
    expect(splitEnhanced(250, '5.7.1 x')).toEqual({ rest: '5.7.1 x' });
    expect(splitEnhanced(354, '3.0.0 x')).toEqual({ rest: '3.0.0 x' });
  });

  test('bare code line', () => {
    const r = parseReply('250');
    expect(r.code).toBe(250);
    expect(r.lines).toEqual(['']);
    expect(r.raw).toEqual(['250']);
    expect(r.enhanced).toBeUndefined();
  });

  test('code and space only', () => {
    expect(parseReply('250 ')).toMatchObject({ code: 250, lines: [''] });
  });

  test('LF-only line endings', () => {
    const replies = new ReplyReader().feed('250-mx.example.org\n250-PIPELINING\n250 SIZE\n220 2.0.0 Ready\n');
    expect(replies).toHaveLength(2);
    expect(replies[0]).toMatchObject({ code: 250, lines: ['mx.example.org', 'PIPELINING', 'SIZE'] });
    expect(replies[1]).toMatchObject({ code: 220, enhanced: '2.0.0', lines: ['Ready'], raw: ['220 2.0.0 Ready'] });
  });

  test('two replies in one chunk', () => {
    const reader = new ReplyReader();
    const replies = reader.feed('250 2.1.0 Ok\r\n554 5.7.1 <x>: Relay access denied\r\n');
    expect(replies.map((r) => r.code)).toEqual([250, 554]);
    expect(replies.map((r) => r.enhanced)).toEqual(['2.1.0', '5.7.1']);
    expect(replies[1].lines).toEqual(['<x>: Relay access denied']);
    expect(reader.midReply).toBe(false);
  });

  test('reply split byte by byte equals the reply fed whole', () => {
    const text = '220-mx.example.org ESMTP\r\n220 2.0.0 welcome\r\n250-mx\r\n250 8BITMIME\r\n454 4.7.1 <x>: Relay access denied\r\n';
    const whole = new ReplyReader().feed(text);
    const reader = new ReplyReader();
    const pieces = feedBytewise(reader, text);
    expect(whole).toHaveLength(3);
    expect(pieces).toEqual(whole);
    expect(pieces[0]).toMatchObject({ code: 220, lines: ['mx.example.org ESMTP', 'welcome'] });
    expect(reader.midReply).toBe(false);
  });

  test('CRLF split between chunks: CR at the end of one chunk, LF in the next', () => {
    const reader = new ReplyReader();
    expect(reader.feed('250 ok\r')).toEqual([]);
    expect(reader.midReply).toBe(true);
    const r = reader.feed('\n');
    expect(r).toHaveLength(1);
    expect(r[0].lines).toEqual(['ok']);
    expect(r[0].raw).toEqual(['250 ok']);
  });

  test('midReply tracks partial lines and unfinished multi-line replies', () => {
    const reader = new ReplyReader();
    expect(reader.midReply).toBe(false);
    expect(reader.feed('250-first\r\n')).toEqual([]);
    expect(reader.midReply).toBe(true);
    expect(reader.feed('250 la')).toEqual([]);
    expect(reader.midReply).toBe(true);
    expect(reader.feed('st\r\n')).toHaveLength(1);
    expect(reader.midReply).toBe(false);
  });

  test('a Buffer is read as latin1 (one char per byte)', () => {
    const r = new ReplyReader().feed(Buffer.from([0x32, 0x35, 0x30, 0x20, 0xe9, 0x0d, 0x0a]))[0];
    expect(r.lines).toEqual(['\u00e9']);
  });
});

describe('parseReply: not exactly one reply', () => {
  test('two replies', () => {
    expect(protocolErrorOf(() => parseReply('250 a\r\n250 b\r\n')).kind).toBe('malformed');
  });
  test('unfinished multi-line reply', () => {
    expect(protocolErrorOf(() => parseReply('250-a')).kind).toBe('malformed');
  });
  test('one reply followed by a partial line', () => {
    expect(protocolErrorOf(() => parseReply('250 a\r\n250 b')).kind).toBe('malformed');
  });
});

describe('ReplyReader: malformed input', () => {
  test.each([
    ['garbage', 'hello world\r\n'],
    ['empty line', '\r\n'],
    ['two-digit code', '25 ok\r\n'],
    ['four-digit code', '2500 ok\r\n'],
    ['no separator', '250ok\r\n'],
    ['tab separator', '250\tok\r\n'],
    ['letters in code', '2x0 ok\r\n'],
    ['HTTP response', 'HTTP/1.1 400 Bad Request\r\n'],
  ])('%s throws ProtocolError malformed', (_name, input) => {
    const e = protocolErrorOf(() => new ReplyReader().feed(input));
    expect(e.kind).toBe('malformed');
    expect(e.name).toBe('ProtocolError');
  });

  test.each([['199 nope\r\n'], ['600 nope\r\n'], ['000 nope\r\n'], ['999 nope\r\n'], ['100 continue\r\n']])(
    'code out of range %j throws ProtocolError malformed',
    (input) => {
      const e = protocolErrorOf(() => new ReplyReader().feed(input));
      expect(e.kind).toBe('malformed');
      expect(e.message).toMatch(/out of range/);
    },
  );

  test('codes at the edges of the range are accepted', () => {
    expect(parseReply('200 x').code).toBe(200);
    expect(parseReply('599 x').code).toBe(599);
  });

  test('code changing inside a multi-line reply', () => {
    const e = protocolErrorOf(() => new ReplyReader().feed('250-mx.example.org\r\n251 ok\r\n'));
    expect(e.kind).toBe('malformed');
    expect(e.message).toMatch(/250.*251/);
  });

  test('code changing inside a multi-line reply, fed byte by byte', () => {
    const e = protocolErrorOf(() => feedBytewise(new ReplyReader(), '550-5.7.1 a\r\n554 5.7.1 b\r\n'));
    expect(e.kind).toBe('malformed');
  });

  test('malformed-line message is sanitised and bounded', () => {
    const e = protocolErrorOf(() => new ReplyReader().feed(`\x1b]0;pwned\x07${'A'.repeat(300)}\r\n`));
    expect(e.kind).toBe('malformed');
    expect(e.message).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(e.message).toContain('\\x1b');
    expect(e.message.length).toBeLessThan(200);
  });
});

describe('ReplyReader: caps', () => {
  test('line too long, in one chunk', () => {
    const reader = new ReplyReader(SMALL);
    const e = protocolErrorOf(() => reader.feed(`250 ${'a'.repeat(40)}\r\n`));
    expect(e.kind).toBe('line-too-long');
  });

  test('line too long without any newline (server never ends the line)', () => {
    const reader = new ReplyReader(SMALL);
    expect(reader.feed('250 ' + 'a'.repeat(20))).toEqual([]);
    const e = protocolErrorOf(() => reader.feed('a'.repeat(20)));
    expect(e.kind).toBe('line-too-long');
  });

  test('a line exactly at the cap is accepted', () => {
    const line = `250 ${'a'.repeat(SMALL.maxLineBytes - 4)}`;
    expect(line).toHaveLength(SMALL.maxLineBytes);
    const r = new ReplyReader(SMALL).feed(`${line}\r\n`);
    expect(r).toHaveLength(1);
    expect(r[0].raw).toEqual([line]);
    expect(() => new ReplyReader(SMALL).feed(`${line}a\r\n`)).toThrow(ProtocolError);
  });

  // Chunk boundaries must not change the result: the CR of a CRLF is not part
  // of the line, so a line at the cap whose CR ends one chunk (pending
  // `line + CR`, one byte over the cap) is accepted, as it is when fed whole.
  test('[expected behaviour] a line exactly at the cap is accepted when CR and LF arrive separately', () => {
    const line = `250 ${'a'.repeat(SMALL.maxLineBytes - 4)}`;
    const reader = new ReplyReader(SMALL);
    const out = [...reader.feed(`${line}\r`), ...reader.feed('\n')];
    expect(out).toHaveLength(1);
    expect(out[0].raw).toEqual([line]);
  });

  test('too many lines in one reply', () => {
    const reader = new ReplyReader(SMALL);
    expect(reader.feed('250-a\r\n250-b\r\n')).toEqual([]);
    const e = protocolErrorOf(() => reader.feed('250-c\r\n250 d\r\n'));
    expect(e.kind).toBe('too-many-lines');
  });

  test('exactly the maximum number of lines is accepted', () => {
    const r = new ReplyReader(SMALL).feed('250-a\r\n250-b\r\n250 c\r\n');
    expect(r).toHaveLength(1);
    expect(r[0].lines).toEqual(['a', 'b', 'c']);
  });

  test('line count resets between replies', () => {
    const reader = new ReplyReader(SMALL);
    const out = reader.feed('250-a\r\n250-b\r\n250 c\r\n250-d\r\n250-e\r\n250 f\r\n');
    expect(out.map((r) => r.lines)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
  });

  test('too many bytes in one session, spread over many small valid replies', () => {
    const reader = new ReplyReader(SMALL);
    let fed = 0;
    let replies = 0;
    const e = protocolErrorOf(() => {
      for (;;) {
        replies += reader.feed('250 2.0.0 Ok\r\n').length; // 14 bytes
        fed += 14;
      }
    });
    expect(e.kind).toBe('too-many-bytes');
    expect(fed).toBeLessThanOrEqual(SMALL.maxSessionBytes);
    expect(fed + 14).toBeGreaterThan(SMALL.maxSessionBytes);
    expect(replies).toBe(fed / 14);
  });

  test('session byte cap counts bytes of Buffers', () => {
    const reader = new ReplyReader({ maxLineBytes: 1000, maxLinesPerReply: 10, maxSessionBytes: 10 });
    expect(reader.feed(Buffer.from('250 abcd\r\n'))).toHaveLength(1); // exactly 10
    expect(protocolErrorOf(() => reader.feed(Buffer.from('2'))).kind).toBe('too-many-bytes');
  });

  test('default limits allow a large but sane EHLO reply', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `250-EXTENSION${i} ${'x'.repeat(100)}`);
    const r = new ReplyReader().feed(`${lines.join('\r\n')}\r\n250 HELP\r\n`);
    expect(r).toHaveLength(1);
    expect(r[0].lines).toHaveLength(51);
  });
});

describe('sanitizeLine and control characters from the server', () => {
  test('escape, NUL, BEL, DEL, CR and other C0 controls are escaped', () => {
    expect(sanitizeLine('a\x1b[31mred')).toBe('a\\x1b[31mred');
    expect(sanitizeLine('a\x00b')).toBe('a\\x00b');
    expect(sanitizeLine('\x07\x7f')).toBe('\\x07\\x7f');
    expect(sanitizeLine('a\rb')).toBe('a\\x0db');
    expect(sanitizeLine('\x0b\x0c\x1f')).toBe('\\x0b\\x0c\\x1f');
  });

  test('printable text and tab pass unchanged', () => {
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
    expect(sanitizeLine(printable)).toBe(printable);
    expect(sanitizeLine('a\tb')).toBe('a\tb');
  });

  test('long lines are cut with a note of how much was dropped', () => {
    const s = sanitizeLine('x'.repeat(600));
    expect(s).toBe(`${'x'.repeat(512)}…[88 more]`);
    expect(sanitizeLine('y'.repeat(20), 10)).toBe(`${'y'.repeat(10)}…[10 more]`);
    expect(sanitizeLine('z'.repeat(10), 10)).toBe('z'.repeat(10));
  });

  test('the reader neutralises control characters in lines and raw', () => {
    const r = new ReplyReader().feed(Buffer.from('250-mx\x1b[2J.example.org\r\n250 a\x00b\x07\r\n', 'latin1'))[0];
    expect(r.lines).toEqual(['mx\\x1b[2J.example.org', 'a\\x00b\\x07']);
    expect(r.raw).toEqual(['250-mx\\x1b[2J.example.org', '250 a\\x00b\\x07']);
    for (const s of [...r.lines, ...r.raw]) expect(s).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  test('a bare CR inside a line is kept out of the reply', () => {
    const r = parseReply('250 a\rb');
    expect(r.lines).toEqual(['a\\x0db']);
  });

  // C1 controls (U+0080-U+009F: CSI 0x9b, NEL 0x85, OSC 0x9d, …) arrive as
  // such from the latin1 decoding; some terminals act on them, so they are
  // escaped like C0 and DEL.
  test('[expected behaviour] C1 control characters (from latin1 bytes 0x80-0x9f) are neutralised', () => {
    const r = new ReplyReader().feed(Buffer.from([0x32, 0x35, 0x30, 0x20, 0x9b, 0x33, 0x31, 0x6d, 0x85, 0x0d, 0x0a]))[0];
    for (const s of [...r.lines, ...r.raw]) expect(s).not.toMatch(/[\u0080-\u009f]/);
  });
});

// --- properties -------------------------------------------------------------

const cutsArb = fc.array(fc.nat({ max: 2000 }), { maxLength: 40 });

describe('properties', () => {
  test('arbitrary bytes in arbitrary chunks only ever throw ProtocolError', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        cutsArb,
        fc.option(fc.record({ maxLineBytes: fc.integer({ min: 1, max: 80 }), maxLinesPerReply: fc.integer({ min: 1, max: 5 }), maxSessionBytes: fc.integer({ min: 1, max: 700 }) }), { nil: undefined }),
        (bytes, cuts, limits) => {
          const reader = new ReplyReader(limits);
          try {
            const replies = feedChunks(reader, Buffer.from(bytes), cuts);
            for (const r of replies) {
              expect(r.code).toBeGreaterThanOrEqual(200);
              expect(r.code).toBeLessThanOrEqual(599);
              expect(r.lines.length).toBe(r.raw.length);
              for (const s of [...r.lines, ...r.raw]) expect(s).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
            }
          } catch (e) {
            if (!(e instanceof ProtocolError)) throw e;
            expect(['malformed', 'line-too-long', 'too-many-lines', 'too-many-bytes']).toContain(e.kind);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('arbitrary bytes prefixed with plausible reply fragments only ever throw ProtocolError', () => {
    const fragment = fc.constantFrom('250', '250-', '250 ', '5.7.1 ', '\r\n', '\n', '\r', '550-', '421 ', '2.0.0', ' ');
    fc.assert(
      fc.property(fc.array(fc.oneof(fragment, fc.string({ maxLength: 5 })), { maxLength: 30 }), cutsArb, (parts, cuts) => {
        try {
          feedChunks(new ReplyReader({ maxLineBytes: 40, maxLinesPerReply: 4, maxSessionBytes: 500 }), Buffer.from(parts.join(''), 'latin1'), cuts);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  interface Spec {
    code: number;
    enhanced?: string;
    prefixAll: boolean;
    texts: string[];
    eol: '\r\n' | '\n';
  }

  // Texts start with a letter (or are empty) so that they can neither be read
  // as an enhanced code nor lose leading blanks to the enhanced-code split.
  const textArb = fc.stringMatching(/^([A-Za-z][ -~]{0,60})?$/);
  const replyArb: fc.Arbitrary<Spec> = fc
    .record({
      code: fc.integer({ min: 200, max: 599 }),
      withEnhanced: fc.boolean(),
      subject: fc.integer({ min: 0, max: 999 }),
      detail: fc.integer({ min: 0, max: 999 }),
      prefixAll: fc.boolean(),
      texts: fc.array(textArb, { minLength: 1, maxLength: 6 }),
      eol: fc.constantFrom('\r\n' as const, '\n' as const),
    })
    .map(({ code, withEnhanced, subject, detail, prefixAll, texts, eol }) => {
      const cls = Math.floor(code / 100);
      const enhanced = withEnhanced && cls !== 3 ? `${cls}.${subject}.${detail}` : undefined;
      return { code, enhanced, prefixAll, texts, eol };
    });

  function wire(s: Spec): { text: string; raw: string[] } {
    const raw = s.texts.map((t, i) => {
      const sep = i === s.texts.length - 1 ? ' ' : '-';
      const enh = s.enhanced && (i === 0 || s.prefixAll) ? `${s.enhanced} ` : '';
      return `${s.code}${sep}${enh}${t}`;
    });
    return { text: raw.map((l) => l + s.eol).join(''), raw };
  }

  test('well-formed replies round-trip regardless of chunking', () => {
    fc.assert(
      fc.property(fc.array(replyArb, { minLength: 1, maxLength: 4 }), cutsArb, (specs, cuts) => {
        const wires = specs.map(wire);
        const reader = new ReplyReader();
        const out = feedChunks(reader, Buffer.from(wires.map((w) => w.text).join(''), 'latin1'), cuts);
        expect(out).toHaveLength(specs.length);
        expect(reader.midReply).toBe(false);
        specs.forEach((s, i) => {
          expect(out[i].code).toBe(s.code);
          expect(out[i].enhanced).toBe(s.enhanced);
          expect(out[i].lines).toEqual(s.texts);
          expect(out[i].raw).toEqual(wires[i].raw);
        });
      }),
      { numRuns: 1000 },
    );
  });

  test('byte-by-byte feeding gives the same replies as feeding whole', () => {
    fc.assert(
      fc.property(fc.array(replyArb, { minLength: 1, maxLength: 3 }), (specs) => {
        const text = specs.map((s) => wire(s).text).join('');
        expect(feedBytewise(new ReplyReader(), text)).toEqual(new ReplyReader().feed(text));
      }),
      { numRuns: 300 },
    );
  });
});
