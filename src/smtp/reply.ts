import { LIMITS } from './limits.js';

/** One complete SMTP reply (RFC 5321 §4.2), possibly multi-line. */
export interface Reply {
  code: number;
  /** RFC 3463 enhanced status code from the first line, e.g. "5.7.1". */
  enhanced?: string;
  /** Text of each line, without code, separator or enhanced code of the first line. */
  lines: string[];
  /** The lines as the server sent them (control characters kept out; see sanitizeLine). */
  raw: string[];
}

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly kind: 'malformed' | 'line-too-long' | 'too-many-lines' | 'too-many-bytes',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** A server line as it may be stored and shown: no control characters, bounded. */
export function sanitizeLine(line: string, max = 512): string {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}…[${clean.length - max} more]` : clean;
}

const LINE = /^(\d{3})([ -]?)(.*)$/s;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

/** Splits an enhanced status code off the start of a reply text when its class matches the code. */
export function splitEnhanced(code: number, text: string): { enhanced?: string; rest: string } {
  const m = ENHANCED.exec(text);
  if (!m || Number(m[1]) !== Math.floor(code / 100)) return { rest: text };
  return { enhanced: `${m[1]}.${m[2]}.${m[3]}`, rest: text.slice(m[0].length).trimStart() };
}

/** Reply as one readable line, for reports: "454 4.7.1 <x>: Relay access denied". */
export function formatReply(r: Reply): string {
  return r.raw.join(' / ');
}

/** Full text of a reply without codes, for classification by wording. */
export function replyText(r: Reply): string {
  return r.lines.join('\n');
}

/**
 * Incremental reply reader: feed it bytes as they arrive, take complete replies.
 * It enforces the caps of LIMITS so a hostile server cannot grow memory without
 * bound, and throws ProtocolError on anything that is not an SMTP reply.
 */
export class ReplyReader {
  private buffer = '';
  private pending: { code: number; raw: string[]; texts: string[] } | undefined;
  private total = 0;

  constructor(
    private readonly limits: { maxLineBytes: number; maxLinesPerReply: number; maxSessionBytes: number } = LIMITS,
  ) {}

  /** Returns every reply completed by this chunk, in order. */
  feed(chunk: Buffer | string): Reply[] {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    this.total += text.length;
    if (this.total > this.limits.maxSessionBytes) {
      throw new ProtocolError(`server sent more than ${this.limits.maxSessionBytes} bytes in one session`, 'too-many-bytes');
    }
    this.buffer += text;
    const out: Reply[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line.length > this.limits.maxLineBytes) throw this.tooLong();
      const reply = this.line(line);
      if (reply) out.push(reply);
    }
    // A trailing CR may be half of the line's CRLF: it does not count toward the line.
    const pending = this.buffer.endsWith('\r') ? this.buffer.length - 1 : this.buffer.length;
    if (pending > this.limits.maxLineBytes) throw this.tooLong();
    return out;
  }

  /** True while a multi-line reply has started but not ended. */
  get midReply(): boolean {
    return this.pending !== undefined || this.buffer.length > 0;
  }

  private tooLong(): ProtocolError {
    return new ProtocolError(`reply line longer than ${this.limits.maxLineBytes} bytes`, 'line-too-long');
  }

  private line(line: string): Reply | undefined {
    const m = LINE.exec(line);
    if (!m) throw new ProtocolError(`malformed reply line: ${sanitizeLine(line, 80)}`, 'malformed');
    const code = Number(m[1]);
    const sep = m[2];
    if (code < 200 || code > 599) throw new ProtocolError(`reply code ${m[1]} out of range`, 'malformed');
    if (sep === '' && m[3] !== '') throw new ProtocolError(`malformed reply line: ${sanitizeLine(line, 80)}`, 'malformed');
    if (this.pending && this.pending.code !== code) {
      throw new ProtocolError(`reply code changed from ${this.pending.code} to ${code} inside a multi-line reply`, 'malformed');
    }
    const p = (this.pending ??= { code, raw: [], texts: [] });
    p.raw.push(sanitizeLine(line));
    p.texts.push(sanitizeLine(m[3]));
    if (p.raw.length > this.limits.maxLinesPerReply) {
      throw new ProtocolError(`reply longer than ${this.limits.maxLinesPerReply} lines`, 'too-many-lines');
    }
    if (sep === '-') return undefined;
    this.pending = undefined;
    const { enhanced, rest } = splitEnhanced(code, p.texts[0]);
    const lines = [rest, ...p.texts.slice(1).map((t) => splitEnhanced(code, t).rest)];
    return enhanced ? { code, enhanced, lines, raw: p.raw } : { code, lines, raw: p.raw };
  }
}

/** Parses a complete reply from text (tests, the classification table's examples). */
export function parseReply(text: string): Reply {
  const reader = new ReplyReader();
  const replies = reader.feed(text.endsWith('\n') ? text : `${text}\r\n`);
  if (replies.length !== 1 || reader.midReply) throw new ProtocolError('expected exactly one complete reply', 'malformed');
  return replies[0];
}
