import type { RenderedVector } from './battery/render.js';
import type { BudgetLearner } from './schedule/budget.js';
import type { Slot } from './schedule/pool.js';
import { LIMITS } from './smtp/limits.js';
import { type Reply } from './smtp/reply.js';
import { SessionError, type Ehlo, type SmtpSession } from './smtp/session.js';
import { classifyAttempt, type AttemptVerdict } from './verdict/classify.js';

/** One open connection and what we know about it. */
export interface Conn {
  session: SmtpSession;
  index: number;
  helo: string;
  ehlo: Ehlo;
  /** Replies >= 400 on this connection (421 aside): what Postfix counts toward its limits. */
  errors: number;
  /** Transactions (MAIL FROM) sent on it. */
  transactions: number;
  /** Its claim on the server's connection slots. */
  slot: Slot;
  /** We stopped waiting for a reply the server delays: leave without waiting for anything. */
  abandoned: boolean;
}

const ok = (r: Reply): boolean => r.code >= 200 && r.code < 300;

/** What the relaxed-mode test message needs to know. */
export interface MessageOptions {
  recipient: { address: string; domain: string };
  probe: string;
}

export interface TransactionOutcome {
  /** One per vector, in order: its verdict, or undefined when no reply decided it. */
  verdicts: (AttemptVerdict | undefined)[];
  /** The server ended the session (421, a drop, a timeout): the undecided vectors were interrupted. */
  interrupted?: SessionError | Reply;
  /**
   * We stopped waiting for an overdue reply after refusals (the server's error
   * sleep): the undecided vectors were never answered, and the connection is
   * abandoned.
   */
  abandoned?: boolean;
}

const SLOW = Symbol('slow');

/** The reply, or SLOW when it has not come within ms. */
function within(p: Promise<Reply>, ms: number): Promise<Reply | typeof SLOW> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(SLOW), Math.max(0, ms));
    p.then(
      (r) => {
        clearTimeout(t);
        resolve(r);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/**
 * One transaction on an open connection: RSET (after the first), one MAIL
 * FROM, then the RCPTs of every vector given (they share the HELO and the
 * sender), and in `relaxed` DATA with a labelled test message (one vector
 * only). Each vector is decided by its own RCPT replies. Pipelined when the
 * server offers it (RFC 2920), as far as the budget learner says no reply in
 * the batch can be slept on; one command at a time otherwise.
 *
 * A reply that could be delayed by error sleep is waited for only until it is
 * overdue: then the connection is abandoned, since every later reply would
 * come one error sleep apart.
 */
export async function transaction(
  conn: Conn,
  vectors: readonly RenderedVector[],
  opts: MessageOptions,
  learner: BudgetLearner,
  confirm: boolean,
): Promise<TransactionOutcome> {
  const s = conn.session;
  const verdicts: (AttemptVerdict | undefined)[] = vectors.map(() => undefined);
  if (vectors.length === 0) return { verdicts };
  if (confirm && vectors.length !== 1) throw new Error('transaction: DATA confirmation takes one vector per transaction');
  const cmds: { line: string; verb: string; vector?: number }[] = [];
  if (conn.transactions > 0) cmds.push({ line: 'RSET', verb: 'RSET' });
  cmds.push({ line: `MAIL FROM:${vectors[0].mailFrom}`, verb: 'MAIL' });
  vectors.forEach((v, i) => {
    for (const r of v.rcptTo) cmds.push({ line: `RCPT TO:${r}`, verb: 'RCPT', vector: i });
  });
  conn.transactions++;
  const replies: Reply[] = [];

  /**
   * Reads the reply to cmds[i], sent alone at sentAt, racing the error sleep
   * when the refusals before it could have started one: SLOW when it is
   * overdue. Its timing is exact, so a fast one raises the learner's floor.
   */
  const readAlone = async (i: number, sentAt: number): Promise<Reply | typeof SLOW> => {
    const errors = conn.errors;
    const p = s.next();
    // Past a vector's first RCPT, its own refusals put it over: another connection would
    // sleep just the same, so wait the sleep out (and learn from it) rather than retry.
    const c = cmds[i];
    const firstOfVector = c.vector === undefined || cmds[i - 1]?.vector !== c.vector;
    const race = learner.maySleep(errors) && firstOfVector;
    const r = race ? await within(p, LIMITS.slowReplyMs - (Date.now() - sentAt)) : await p;
    if (r === SLOW) {
      const id = learner.suspect(errors);
      // Settle the suspicion when the reply finally comes on the session we leave.
      p.then(
        (late) => learner.settle(id, { code: late.code, command: cmds[i].verb }),
        () => learner.settle(id, undefined),
      );
      return SLOW;
    }
    if (Date.now() - sentAt <= LIMITS.slowReplyMs) learner.fast(errors);
    else if (learner.maySleep(errors)) learner.settle(learner.suspect(errors), { code: r.code, command: c.verb });
    else if (ok(r)) learner.slowAccepted(c.verb);
    return r;
  };

  let outcome: TransactionOutcome = { verdicts };
  try {
    const pipelining = conn.ehlo.extensions.has('PIPELINING');
    let i = 0;
    let mailRefused = false;
    sending: while (i < cmds.length) {
      // Postfix holds pipelined replies back while it sleeps before a later one, so
      // replies inside a batch cannot be timed one by one. A batch carries only commands
      // whose replies cannot be slept on even if each reply before them were a refusal
      // (errors before them below the learner's floor); a command that might be slept on
      // goes alone, and is timed exactly.
      const size = pipelining ? Math.max(1, Math.min(cmds.length - i, learner.floor - conn.errors)) : 1;
      const batch = cmds.slice(i, i + size);
      const sentAt = Date.now();
      s.send(batch.map((c) => c.line));
      for (let b = 0; b < batch.length; b++, i++) {
        const r = size === 1 ? await readAlone(i, sentAt) : await s.next();
        if (r === SLOW) {
          conn.abandoned = true;
          outcome = { verdicts, abandoned: true };
          break sending;
        }
        replies.push(r);
        if (r.code === 421) {
          outcome = { verdicts, interrupted: r };
          break sending;
        }
        if (r.code >= 400) conn.errors++;
        if (cmds[i].verb === 'MAIL' && !ok(r)) mailRefused = true;
      }
      // The whole batch came at once: no reply in it was slept on.
      if (size > 1 && Date.now() - sentAt <= LIMITS.slowReplyMs) learner.fast(conn.errors - (replies[i - 1].code >= 400 ? 1 : 0));
      // A refused MAIL makes every RCPT a pointless error; a refused RCPT does not stop
      // the next one (the relay destination's own reply decides).
      if (mailRefused) break;
    }
  } catch (e) {
    if (!(e instanceof SessionError)) throw e;
    outcome = { verdicts, interrupted: e };
  }

  const mailAt = cmds.findIndex((c) => c.verb === 'MAIL');
  const mail = replies[mailAt];
  if (mail === undefined || mail.code === 421) return outcome;
  const seen = { auth: conn.ehlo.extensions.has('AUTH') };
  for (let v = 0; v < vectors.length; v++) {
    const a = vectors[v];
    if (!ok(mail)) {
      verdicts[v] = classifyAttempt({ mail, rcpt: [], rcptCount: a.rcptTo.length, localDestination: a.vector.local }, false, seen);
      continue;
    }
    const rcpt = cmds.flatMap((c, i) => (c.vector === v ? [replies[i]] : [])).filter((r): r is Reply => r !== undefined);
    if (rcpt.length !== a.rcptTo.length || rcpt.some((r) => r.code === 421)) continue;
    let data: Reply | undefined;
    let dataCommand: Reply | undefined;
    const lastRcpt = rcpt[rcpt.length - 1];
    if (confirm && rcpt.every(ok) && lastRcpt !== undefined && !a.vector.local && outcome.interrupted === undefined && !outcome.abandoned) {
      try {
        const d = await s.command('DATA');
        if (d.code === 354) data = await s.command(testMessage(a, opts));
        else dataCommand = d;
        const decisive = data ?? d;
        if (decisive.code >= 400 && decisive.code !== 421) conn.errors++;
        if (decisive.code === 421) return { verdicts, interrupted: decisive };
      } catch (e) {
        if (e instanceof SessionError) return { verdicts, interrupted: e };
        throw e;
      }
    }
    verdicts[v] = classifyAttempt({ mail, rcpt, rcptCount: a.rcptTo.length, data, dataCommand, localDestination: a.vector.local }, confirm, seen);
  }
  return outcome;
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
