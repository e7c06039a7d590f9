import net from 'node:net';
import { formatReply, type Reply } from './reply.js';
import { SessionError, SmtpSession, type ConnectOptions, type Ehlo, type SessionFailure } from './session.js';
import { classifyReply } from '../verdict/classify.js';
import { REPLY_RULES } from '../verdict/replies.js';

export interface SetupOptions extends ConnectOptions {
  helo: string;
  /** Upgrade with STARTTLS (RFC 3207) and EHLO again. */
  starttls: boolean;
  /** Postfix XCLIENT: be treated as this client from here on. */
  clientAddress?: string;
}

const ok = (r: Reply): boolean => r.code >= 200 && r.code < 300;

/**
 * Why a session could not become the client `client`, as one sentence of fact.
 * It names no input: the report is read by the action and the CLI alike, and
 * each renderer words the fix (authorize the runner, or drop the client
 * address) its own way (src/report/summary.ts untestedAdvice).
 */
function xclientAdvice(client: string, why: string): string {
  return `XCLIENT as ${client}: ${why}`;
}

/**
 * A session ready for MAIL FROM: connected, greeted, EHLO'd, and when asked
 * inside STARTTLS and speaking as another client through XCLIENT (each
 * followed by a fresh EHLO). Anything short of that throws a SessionError
 * that carries the transcript, so the report can show what the server said.
 */
export async function openSession(opts: SetupOptions): Promise<{ session: SmtpSession; greeting: Reply; ehlo: Ehlo }> {
  const { session, greeting } = await SmtpSession.connect(opts);
  const refuse = async (why: string, kind: SessionFailure = 'closed', reply?: Reply): Promise<never> => {
    await session.quit();
    const err = new SessionError(kind, why);
    err.transcript = session.transcript;
    err.reply = reply;
    throw err;
  };
  if (!ok(greeting)) await refuse(`the server refused the session: ${formatReply(greeting)}`);
  let ehlo: Ehlo;
  try {
    ehlo = await session.hello(opts.helo);
    if (ok(ehlo.reply) && opts.starttls) {
      if (!ehlo.extensions.has('STARTTLS')) return await refuse('the server does not offer STARTTLS', 'tls');
      const r = await session.startTls();
      if (r.code !== 220) return await refuse(`STARTTLS refused: ${formatReply(r)}`, 'tls');
      ehlo = await session.hello(opts.helo);
    }
    if (ok(ehlo.reply) && opts.clientAddress) {
      // Postfix XCLIENT: the server applies the policy it would apply to that client.
      if (!ehlo.extensions.has('XCLIENT')) {
        return await refuse(xclientAdvice(opts.clientAddress, 'the server does not offer XCLIENT to this client'), 'xclient');
      }
      const addr = net.isIPv6(opts.clientAddress) ? `IPV6:${opts.clientAddress}` : opts.clientAddress;
      const r = await session.command(`XCLIENT ADDR=${addr} NAME=[UNAVAILABLE]`, opts.connectTimeoutMs);
      if (r.code !== 220) {
        // XCLIENT worked, and the outside client it made us is refused at once (Postfix with
        // smtpd_delay_reject = no and a client restriction): that is the server's policy answer.
        const c = classifyReply(r, 'mail', REPLY_RULES, { auth: ehlo.extensions.has('AUTH') });
        if (c.outcome === 'denied' && c.subject === 'client') return await refuse(`the outside client ${opts.clientAddress} is refused before any mail command: ${formatReply(r)}`, 'client-refused', r);
        return await refuse(xclientAdvice(opts.clientAddress, `refused: ${formatReply(r)}`), 'xclient');
      }
      ehlo = await session.hello(opts.helo);
    }
  } catch (e) {
    if (e instanceof SessionError) e.transcript = session.transcript;
    throw e;
  }
  if (!ok(ehlo.reply)) await refuse(`${ehlo.verb} ${opts.helo} refused: ${formatReply(ehlo.reply)}`);
  return { session, greeting, ehlo };
}
