import type { RenderedVector } from '../battery/render.js';
import type { BudgetLearner } from './budget.js';
import type { Slot } from './pool.js';
import { LIMITS } from '../smtp/limits.js';
import { type Reply } from '../smtp/reply.js';
import { SessionError, type Ehlo, type SmtpSession } from '../smtp/session.js';
import { classifyAttempt, type AttemptVerdict } from '../verdict/classify.js';

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
  /** The abandoned reply was not overdue: we gave up on it because nothing else was left to run (see giveUp). */
  gaveUp?: boolean;
  /**
   * Index of the first vector that was not tried: its first RCPT was never
   * sent (the connection reached the error budget, or the session ended
   * before), or the server answered it "452 too many recipients". It and every
   * later vector go again, untried, in another transaction. Absent when every
   * vector was tried.
   */
  untriedFrom?: number;
  /** The server refused more recipients in one transaction than this many (RFC 5321 §4.5.3.1.10): use fewer. */
  recipientLimit?: number;
}

/**
 * RFC 5321 §4.5.3.1.10: "452 Too many recipients" (Postfix: "452 4.5.3 Error:
 * too many recipients", past smtpd_recipient_limit) is no answer about the
 * recipient: the client sends it again in a new transaction.
 */
export function tooManyRecipients(r: Reply): boolean {
  return r.code === 452 && (r.enhanced === '4.5.3' || /too many recipients/i.test(r.lines.join(' ')));
}

const SLOW = Symbol('slow');
const GAVE_UP = Symbol('gave up');

/** The reply; SLOW when it has not come within ms; GAVE_UP when `giveUp` settles first. */
function within(p: Promise<Reply>, ms: number, giveUp?: Promise<unknown>): Promise<Reply | typeof SLOW | typeof GAVE_UP> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(SLOW), Math.max(0, ms));
    void giveUp?.then(() => {
      clearTimeout(t);
      resolve(GAVE_UP);
    });
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

/** One command of a transaction, and the vector whose RCPT it is. */
interface Command {
  line: string;
  verb: string;
  vector?: number;
}

/** RSET (after the first transaction on the connection), one MAIL FROM, then every vector's RCPTs. */
function buildCommands(conn: Conn, vectors: readonly RenderedVector[]): Command[] {
  const cmds: Command[] = [];
  if (conn.transactions > 0) cmds.push({ line: 'RSET', verb: 'RSET' });
  cmds.push({ line: `MAIL FROM:${vectors[0].mailFrom}`, verb: 'MAIL' });
  vectors.forEach((v, i) => {
    for (const r of v.rcptTo) cmds.push({ line: `RCPT TO:${r}`, verb: 'RCPT', vector: i });
  });
  return cmds;
}

/**
 * One transaction on an open connection: RSET (after the first), one MAIL
 * FROM, then the RCPTs of every vector given (they share the HELO and the
 * sender), and in `relaxed` DATA with a labelled test message (one vector
 * only). Each vector is decided by its own RCPT replies. Pipelined when the
 * server offers it (RFC 2920), as far as the budget learner says no reply in
 * the batch can be slept on; one command at a time otherwise.
 *
 * A vector's first RCPT is not sent once the connection made as many
 * refusals as the learner's budget: the rest are left untried (untriedFrom)
 * for a fresh connection, so no connection takes more refusals than the
 * budget however many vectors share the transaction.
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
  /**
   * Settles when waiting for a reply that may be slept on is no longer worth
   * it (nothing else is left to run): the connection is then given up at once,
   * and the reply, should it come, still teaches the learner.
   */
  giveUp?: Promise<unknown>,
): Promise<TransactionOutcome> {
  const exchange = new Exchange(conn, vectors, learner, giveUp);
  if (vectors.length === 0) return { verdicts: exchange.verdicts };
  if (confirm && vectors.length !== 1) throw new Error('transaction: DATA confirmation takes one vector per transaction');
  const cmds = buildCommands(conn, vectors);
  conn.transactions++;
  await exchange.send(cmds);
  const mail = exchange.markUntried();
  if (mail === undefined || mail.code === 421) return exchange.outcome;
  return exchange.classify(mail, confirm, opts);
}

/** The state of one transaction on the wire: the commands, the replies so far, and how it ended. */
class Exchange {
  readonly verdicts: (AttemptVerdict | undefined)[];
  outcome: TransactionOutcome;
  private cmds: Command[] = [];
  private readonly replies: Reply[] = [];
  private idle = false;
  private gaveUp = false;
  /** The next command to send or read. */
  private i = 0;
  private mailRefused = false;
  /** Commands written so far: a vector whose first RCPT is not among them was never tried. */
  private written = 0;
  /** The first vector the server answered "too many recipients". */
  private overLimit: number | undefined;
  /** Refusals on the connection when each vector's first RCPT was answered. */
  private readonly vectorStart = new Map<number, number>();

  constructor(
    private readonly conn: Conn,
    private readonly vectors: readonly RenderedVector[],
    private readonly learner: BudgetLearner,
    private readonly giveUp: Promise<unknown> | undefined,
  ) {
    this.verdicts = vectors.map(() => undefined);
    this.outcome = { verdicts: this.verdicts };
    void giveUp?.then(() => (this.idle = true));
  }

  private startsVector(i: number): boolean {
    return this.cmds[i].vector !== undefined && this.cmds[i - 1]?.vector !== this.cmds[i].vector;
  }

  /**
   * Refusals this connection would have made by the last RCPT of the vector starting at
   * cmds[i], were every one of its RCPTs refused (issue 25: a two-RCPT vector started one
   * refusal short of the limit made its second RCPT wait out the error sleep).
   */
  private worstAfter(i: number): number {
    return this.conn.errors + this.vectors[this.cmds[i].vector ?? 0].rcptTo.length;
  }

  /** Whether the command at i may be sent on this connection (only a vector's first RCPT may not). */
  private mayStart(i: number): boolean {
    const { conn, learner } = this;
    // Each RCPT may be refused: a new vector starts only while the budget has room for all
    // of its RCPTs (on a connection without refusals it always starts: another connection
    // would be no better), and a started one is finished (see readAlone).
    if (this.startsVector(i) && conn.errors > 0 && this.worstAfter(i) > learner.budget) return false;
    // Past the floor only the learner's one explorer goes on; another connection
    // stops where no reply can be slept on, and leaves the rest to a fresh one.
    // Nor when nothing else is left to run: a fresh connection answers at once, while a
    // reply that may be slept on would be given up on at once (see giveUp).
    if (this.startsVector(i) && conn.errors > 0 && learner.maySleep(this.worstAfter(i) - 1) && (this.idle || !learner.explore(conn))) return false;
    return true;
  }

  /** Sends the commands in batches and reads their replies, until all are answered or something stops the transaction. */
  async send(cmds: Command[]): Promise<void> {
    this.cmds = cmds;
    try {
      while (this.i < cmds.length && this.mayStart(this.i)) {
        if (!(await this.sendBatch())) break;
      }
    } catch (e) {
      if (!(e instanceof SessionError)) throw e;
      this.outcome = { verdicts: this.verdicts, interrupted: e };
    }
  }

  /** One batch out, its replies in; false when the transaction goes no further on this connection. */
  private async sendBatch(): Promise<boolean> {
    const { conn, learner, cmds, replies } = this;
    // Postfix holds pipelined replies back while it sleeps before a later one, so
    // replies inside a batch cannot be timed one by one. A batch carries only commands
    // whose replies cannot be slept on even if each reply before them were a refusal
    // (errors before them below the learner's floor); a command that might be slept on
    // goes alone, and is timed exactly.
    const pipelining = conn.ehlo.extensions.has('PIPELINING');
    const size = pipelining ? Math.max(1, Math.min(cmds.length - this.i, learner.floor - conn.errors)) : 1;
    const batch = cmds.slice(this.i, this.i + size);
    const sentAt = Date.now();
    conn.session.send(batch.map((c) => c.line));
    this.written = this.i + batch.length;
    for (let b = 0; b < batch.length; b++, this.i++) {
      if (!(await this.readReply(size, sentAt))) return false;
    }
    if (this.overLimit !== undefined) return false;
    const i = this.i;
    // The whole batch came at once: no reply in it was slept on.
    if (size > 1 && Date.now() - sentAt <= LIMITS.slowReplyMs) learner.fast(conn.errors - (replies[i - 1].code >= 400 ? 1 : 0));
    // A slow batch was not slept on either (a batch stays below the floor): with an accepted
    // RCPT in it, that is a pause before a new queue file (Postfix in_flow_delay) or a callout.
    else if (size > 1 && batch.some((c, b) => c.verb === 'RCPT' && ok(replies[i - batch.length + b]))) learner.slowAccepted('RCPT');
    // A refused MAIL makes every RCPT a pointless error; a refused RCPT does not stop
    // the next one (the relay destination's own reply decides).
    return !this.mailRefused;
  }

  /** The reply to cmds[i], counted; false when it ends the transaction (overdue, or 421). */
  private async readReply(size: number, sentAt: number): Promise<boolean> {
    const { conn, cmds, i } = this;
    if (this.startsVector(i)) this.vectorStart.set(cmds[i].vector ?? -1, conn.errors);
    const r = size === 1 ? await this.readAlone(i, sentAt) : await conn.session.next();
    if (r === SLOW) {
      conn.abandoned = true;
      this.outcome = { verdicts: this.verdicts, abandoned: true, ...(this.gaveUp ? { gaveUp: this.gaveUp } : {}) };
      return false;
    }
    this.replies.push(r);
    if (r.code === 421) {
      this.outcome = { verdicts: this.verdicts, interrupted: r };
      return false;
    }
    if (r.code >= 400) conn.errors++;
    if (cmds[i].verb === 'MAIL' && !ok(r)) this.mailRefused = true;
    // Past the server's recipient limit: this vector and the rest go in another
    // transaction (a vector alone is decided by the reply like any other).
    const v = cmds[i].vector;
    if (v !== undefined && v > 0 && this.overLimit === undefined && tooManyRecipients(r)) this.overLimit = v;
    return true;
  }

  /**
   * Reads the reply to cmds[i], sent alone at sentAt, racing the error sleep
   * when the refusals before it could have started one: SLOW when it is
   * overdue. Its timing is exact, so a fast one raises the learner's floor.
   */
  private async readAlone(i: number, sentAt: number): Promise<Reply | typeof SLOW> {
    const { conn, learner, cmds } = this;
    const errors = conn.errors;
    const p = conn.session.next();
    // Past the first RCPT of a vector that began on a connection without refusals, its own
    // refusals put it over: another connection would sleep just the same, so wait the sleep
    // out (and learn from it). One that began after refusals would not sleep on a fresh one.
    const c = cmds[i];
    const firstOfVector = c.vector === undefined || cmds[i - 1]?.vector !== c.vector;
    const race = learner.maySleep(errors) && (firstOfVector || (this.vectorStart.get(c.vector ?? -1) ?? 0) > 0);
    const r = race ? await within(p, LIMITS.slowReplyMs - (Date.now() - sentAt), this.giveUp) : await p;
    if (r === GAVE_UP) {
      // Not overdue yet, so no suspicion: the reply's timing, if it comes, says what it was.
      this.gaveUp = true;
      learner.gaveUp();
      p.then(
        (late) => {
          learner.answered();
          learner.late(errors, Date.now() - sentAt, { code: late.code, command: c.verb });
        },
        () => undefined,
      );
      return SLOW;
    }
    if (r === SLOW) {
      const id = learner.suspect(errors);
      // Settle the suspicion when the reply finally comes on the session we leave.
      p.then(
        (late) => learner.settle(id, { code: late.code, command: c.verb }),
        () => learner.settle(id, undefined),
      );
      return SLOW;
    }
    learner.late(errors, Date.now() - sentAt, { code: r.code, command: c.verb });
    return r;
  }

  /** Marks the vectors never tried (untriedFrom, recipientLimit); returns the reply to MAIL, if any came. */
  markUntried(): Reply | undefined {
    const { cmds, vectors, outcome, overLimit } = this;
    const mail = this.replies[cmds.findIndex((c) => c.verb === 'MAIL')];
    // Vectors from here on were never tried: their first RCPT was not written, or hit the limit.
    const firstUnwritten = cmds.findIndex((_, i) => i >= this.written && this.startsVector(i));
    const untried = Math.min(firstUnwritten < 0 ? vectors.length : (cmds[firstUnwritten].vector ?? vectors.length), overLimit ?? vectors.length);
    if (mail !== undefined && ok(mail) && untried < vectors.length) {
      outcome.untriedFrom = untried;
      if (overLimit !== undefined) outcome.recipientLimit = cmds.slice(0, cmds.findIndex((c) => c.vector === overLimit)).filter((c) => c.verb === 'RCPT').length;
    }
    return mail;
  }

  /** Each tried vector's verdict from its own replies (and, in relaxed mode, DATA's). */
  async classify(mail: Reply, confirm: boolean, opts: MessageOptions): Promise<TransactionOutcome> {
    const { conn, vectors, verdicts, outcome } = this;
    const seen = { auth: conn.ehlo.extensions.has('AUTH') };
    for (let v = 0; v < (outcome.untriedFrom ?? vectors.length); v++) {
      const a = vectors[v];
      if (!ok(mail)) {
        verdicts[v] = classifyAttempt({ mail, rcpt: [], rcptCount: a.rcptTo.length, localDestination: a.vector.local }, false, seen);
        continue;
      }
      const rcpt = this.cmds.flatMap((c, i) => (c.vector === v ? [this.replies[i]] : [])).filter((r): r is Reply => r !== undefined);
      if (rcpt.length !== a.rcptTo.length || rcpt.some((r) => r.code === 421)) continue;
      let data: Reply | undefined;
      let dataCommand: Reply | undefined;
      if (confirm && rcpt.length > 0 && rcpt.every(ok) && !a.vector.local && outcome.interrupted === undefined && !outcome.abandoned) {
        const sent = await this.confirmData(a, opts);
        if ('verdicts' in sent) return sent;
        ({ data, dataCommand } = sent);
      }
      verdicts[v] = classifyAttempt({ mail, rcpt, rcptCount: a.rcptTo.length, data, dataCommand, localDestination: a.vector.local }, confirm, seen);
    }
    return outcome;
  }

  /** DATA and the test message (relaxed mode): the replies, or the outcome when the server ended the session. */
  private async confirmData(a: RenderedVector, opts: MessageOptions): Promise<{ data?: Reply; dataCommand?: Reply } | TransactionOutcome> {
    const s = this.conn.session;
    try {
      const d = await s.command('DATA');
      const data = d.code === 354 ? await s.command(testMessage(a, opts)) : undefined;
      const decisive = data ?? d;
      if (decisive.code >= 400 && decisive.code !== 421) this.conn.errors++;
      if (decisive.code === 421) return { verdicts: this.verdicts, interrupted: decisive };
      return d.code === 354 ? { data } : { dataCommand: d };
    } catch (e) {
      if (e instanceof SessionError) return { verdicts: this.verdicts, interrupted: e };
      throw e;
    }
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
