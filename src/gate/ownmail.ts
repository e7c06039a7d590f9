import { formatReply } from '../smtp/reply.js';
import { openSession } from '../smtp/setup.js';
import type { GateService } from './sandbox.js';

/**
 * Does a service of the private instance still take mail for its own domain
 * from an outside client? A fix that closes the relay by refusing everything
 * (an MX that answers 554 to postmaster@) is no fix. Asked directly, as the
 * gate's outside client through XCLIENT, RCPT only: MAIL FROM, RCPT TO per
 * mailbox, RSET, QUIT, never DATA (nothing is queued).
 */

export interface OwnMail {
  /** true: at least one own mailbox was accepted; false: every one was refused; null: no answer. */
  accepted: boolean | null;
  probes: { mailbox: string; accepted: boolean | null; reply: string | null }[];
  /** Why nothing was decided (the session could not be set up). */
  note: string | null;
}

/** RFC 5321 §4.5.1: every domain that takes mail has postmaster; `root` is the Unix account Debian's aliases map postmaster to. */
export const ownMailboxes = (domain: string): string[] => (domain ? [`postmaster@${domain}`, `root@${domain}`] : []);
const OUTSIDE_SENDER = 'relay-check@example.com';
const TIMEOUT_MS = 15_000;

export async function probeOwnMail(s: Pick<GateService, 'port' | 'wrapper' | 'tlsRequired'>, client: string, domain: string, helo = 'relay-check.example.com'): Promise<OwnMail> {
  const mailboxes = ownMailboxes(domain);
  if (mailboxes.length === 0) return { accepted: null, probes: [], note: 'no domain known' };
  let opened: Awaited<ReturnType<typeof openSession>>;
  try {
    opened = await openSession({ address: '127.0.0.1', port: s.port, connectTimeoutMs: TIMEOUT_MS, replyTimeoutMs: TIMEOUT_MS, implicitTls: s.wrapper, starttls: s.tlsRequired, clientAddress: client, helo });
  } catch (e) {
    return { accepted: null, probes: mailboxes.map((m) => ({ mailbox: m, accepted: null, reply: null })), note: `no session: ${e instanceof Error ? e.message : String(e)}` };
  }
  const { session } = opened;
  const probes: OwnMail['probes'] = [];
  try {
    const mail = await session.command(`MAIL FROM:<${OUTSIDE_SENDER}>`, TIMEOUT_MS);
    if (mail.code >= 300) {
      // A refused sender refuses every mailbox: the service takes nothing from this client.
      for (const m of mailboxes) probes.push({ mailbox: m, accepted: mail.code >= 500 ? false : null, reply: `MAIL: ${formatReply(mail)}` });
    } else {
      for (const m of mailboxes) {
        const r = await session.command(`RCPT TO:<${m}>`, TIMEOUT_MS);
        probes.push({ mailbox: m, accepted: r.code >= 200 && r.code < 300 ? true : r.code >= 500 ? false : null, reply: formatReply(r) });
      }
      await session.command('RSET', TIMEOUT_MS).catch(() => undefined);
    }
  } catch (e) {
    for (const m of mailboxes.slice(probes.length)) probes.push({ mailbox: m, accepted: null, reply: `no reply: ${e instanceof Error ? e.message : String(e)}` });
  } finally {
    await session.quit().catch(() => undefined);
  }
  const accepted = probes.some((p) => p.accepted === true) ? true : probes.every((p) => p.accepted === false) ? false : null;
  return { accepted, probes, note: null };
}
