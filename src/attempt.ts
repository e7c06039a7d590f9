import type { RenderedVector } from './battery/render.js';
import { LIMITS } from './smtp/limits.js';
import { type Reply } from './smtp/reply.js';
import { SessionError, type Ehlo, type SmtpSession } from './smtp/session.js';
import { classifyAttempt } from './verdict/classify.js';

/** One open connection and what we know about it. */
export interface Conn {
  session: SmtpSession;
  index: number;
  helo: string;
  ehlo: Ehlo;
  /** Replies >= 400 on this connection: what Postfix counts toward its limits. */
  errors: number;
  attempts: number;
}

export type Interrupted = { interrupted: SessionError | Reply };

const ok = (r: Reply): boolean => r.code >= 200 && r.code < 300;

/** What the relaxed-mode test message needs to know. */
export interface MessageOptions {
  recipient: { address: string; domain: string };
  probe: string;
}

/**
 * One attempt on an open connection: RSET (after the first), MAIL, RCPT(s),
 * and in `relaxed` DATA with a labelled test message. Pipelined when the
 * server offers it (RFC 2920), one command at a time otherwise.
 */
export async function attempt(
  conn: Conn,
  a: RenderedVector,
  opts: MessageOptions,
  confirm: boolean,
): Promise<{ verdict: ReturnType<typeof classifyAttempt>; slow: boolean } | Interrupted> {
  const s = conn.session;
  const t0 = Date.now();
  const count = (replies: Reply[]): void => {
    for (const r of replies) if (r.code >= 400) conn.errors++;
  };
  try {
    const cmds = [`MAIL FROM:${a.mailFrom}`, ...a.rcptTo.map((r) => `RCPT TO:${r}`)];
    if (conn.attempts > 0) cmds.unshift('RSET');
    conn.attempts++;
    let replies: Reply[];
    if (conn.ehlo.extensions.has('PIPELINING')) {
      replies = await s.pipeline(cmds);
    } else {
      replies = [];
      for (const c of cmds) {
        const r = await s.command(c);
        replies.push(r);
        // A refused MAIL makes every RCPT a pointless error; a refused RCPT does not stop
        // the next one (the relay destination's own reply decides).
        if (!ok(r) && c.startsWith('MAIL')) break;
        if (r.code === 421) break;
      }
    }
    count(replies);
    const closing = replies.find((r) => r.code === 421);
    if (closing) return { interrupted: closing };
    const offset = conn.attempts > 1 ? 1 : 0;
    const mail = replies[offset];
    const rcpt = ok(mail) ? replies.slice(offset + 1) : [];
    let data: Reply | undefined;
    let dataCommand: Reply | undefined;
    const last = rcpt[rcpt.length - 1];
    const allAccepted = ok(mail) && rcpt.length === a.rcptTo.length && last !== undefined && ok(last) && !a.vector.local;
    if (confirm && allAccepted) {
      const d = await s.command('DATA');
      if (d.code === 354) {
        data = await s.command(testMessage(a, opts));
      } else {
        dataCommand = d;
      }
      count([data ?? d]);
    }
    const verdict = classifyAttempt({ mail, rcpt, rcptCount: a.rcptTo.length, data, dataCommand, localDestination: a.vector.local }, confirm, { auth: conn.ehlo.extensions.has('AUTH') });
    if (verdict.decisive.code === 421) return { interrupted: verdict.decisive };
    return { verdict, slow: Date.now() - t0 > LIMITS.slowReplyMs };
  } catch (e) {
    if (e instanceof SessionError) return { interrupted: e };
    throw e;
  }
}

/** The classic manual test's message: clearly labelled, dot-stuffed, ended by "." alone. */
export function testMessage(a: RenderedVector, opts: MessageOptions): string {
  const envelope = a.mailFrom.replace(/^\s*<?|>?\s*$/g, '');
  // The null sender or a bare user makes no From address: use the probe's own.
  const from = envelope.includes('@') ? envelope : `${opts.probe}@${opts.recipient.domain}`;
  const lines = [
    `From: relay-check <${from}>`,
    `To: <${opts.recipient.address}>`,
    `Subject: relay-check open relay test (${a.vector.id})`,
    `Date: ${new Date().toUTCString()}`,
    `X-Relay-Check-Vector: ${a.vector.id}`,
    '',
    'This message was sent by relay-check, an open relay test.',
    `The server accepted it for an outside recipient using the vector "${a.vector.id}":`,
    `${a.vector.description}.`,
    'If you received it, the server that relayed it is an open relay.',
  ].map((l) => (l.startsWith('.') ? `.${l}` : l));
  return [...lines, '.'].join('\r\n');
}

