import { randomBytes } from 'node:crypto';
import type { AttemptReport, PositiveControl, TargetReport } from '../model/report.js';
import { CONNECTIONS_PER_ADDRESS, FRUGAL_CONNECTIONS, MAX_RCPTS_PER_TRANSACTION } from '../smtp/limits.js';
import { formatReply } from '../smtp/reply.js';
import { SessionError, type TranscriptLine } from '../smtp/session.js';
import type { ControlResult } from '../verdict/controls.js';
import { asSessionError, rehello, sleep, type Connections } from './connect.js';
import { controlJob, isPlainAttempt, newPositiveControl, PLAIN_ATTEMPT, planJobs, testsMoreThanSender, type PlanInput } from './plan.js';
import { AttemptQueue, FREE_ABANDONS, greylistBackoff, MAX_TRIES, transactionOrder, type Job } from './queue.js';
import type { ServerState } from './servers.js';
import type { TargetOptions, TargetSpec } from './options.js';
import { transaction, type Conn, type TransactionOutcome } from './transaction.js';

/** A connection idle longer than this while waiting for greylists is closed and reopened later. */
const IDLE_QUIT_MS = 10_000;

type Verdict = NonNullable<TransactionOutcome['verdicts'][number]>;

/** One worker: the connection it holds, and whether it runs the plain attempt the others wait for. */
interface Lane {
  conn: Conn | undefined;
  lead: boolean;
}

/**
 * The state one run against an address shares between its workers: the queue of jobs,
 * what each vector and control got, and what stops or holds the run.
 */
export class TargetRun {
  readonly queue = new AttemptQueue();
  readonly results = new Map<string, AttemptReport>();
  readonly positive: PositiveControl;
  /**
   * A control probe per server name that an accepted routing trick was addressed
   * to: a mailbox that cannot exist there. A server that accepts it accepts
   * anything at that name, so the trick proves nothing about relaying. Only
   * run when needed, so a closed server never pays for them.
   */
  readonly controls = new Map<string, ControlResult>();
  private readonly nonce = randomBytes(4).toString('hex');
  /** Senders the server let through to a recipient decision, and whether that relayed. */
  readonly acceptedSenders = new Map<string, boolean>();
  /** Attempts whose sender was refused: retried with an accepted sender after the first pass. */
  readonly senderRefused: Job[] = [];
  readonly plainSender: string;
  /** stopWhenOpen: the plain attempt that relayed, and why nothing more runs. */
  stop: { after: string; reason: string } | undefined;
  notRunOpen = 0;
  private tlsDemanded: string | undefined;
  /** Until the first transaction (the plain attempt's) is answered, the other connections wait. */
  private holding: boolean;
  private resolveHold = (): void => undefined;
  private readonly hold: Promise<void>;

  constructor(
    readonly spec: TargetSpec,
    readonly opts: TargetOptions,
    readonly report: TargetReport,
    readonly state: ServerState,
    private readonly connections: Connections,
    private readonly mailboxes: readonly string[],
  ) {
    this.plainSender = `<${opts.probe}@${opts.recipient.domain}>`;
    this.positive = newPositiveControl(mailboxes);
    this.holding = opts.stopWhenOpen === true && opts.vectors.some(isPlainAttempt);
    this.hold = this.holding ? new Promise<void>((resolve) => (this.resolveHold = resolve)) : Promise.resolve();
  }

  /** Vectors into the queue (see planJobs). */
  plan(mydomain: string | undefined): void {
    const { opts } = this;
    const input: PlanInput = {
      vectors: opts.vectors,
      recipient: opts.recipient,
      probe: opts.probe,
      helo: opts.helo,
      address: this.spec.address,
      srv: this.report.serverName ?? undefined,
      mydomain,
      plainFirst: opts.stopWhenOpen === true,
      mailboxes: this.mailboxes,
      plainSender: this.plainSender,
    };
    const { jobs, results } = planJobs(input);
    for (const [id, r] of results) this.results.set(id, r);
    this.queue.push(...jobs);
  }

  /** The first pass over the queue, on the first connection; nothing runs when plaintext already relayed. */
  async firstPass(first: Conn): Promise<void> {
    if (this.opts.relayedInPlaintext !== undefined) {
      const after = this.opts.relayedInPlaintext;
      this.stop = { after, reason: `not run: the plain attempt (${after}) already relayed in plaintext on this port, so the server relays for this client whatever it sends; inside STARTTLS that cannot change, and each transaction would open another queue file on an open server` };
      for (const j of this.queue.drain()) this.skipOpen(j);
    }
    await this.pass(first, true);
  }

  /** Workers over the queue until it is empty. */
  async pass(initial: Conn | undefined, lead: boolean): Promise<void> {
    const { learner } = this.state;
    const workers = Math.max(1, Math.min(learner.frugal !== undefined ? FRUGAL_CONNECTIONS : CONNECTIONS_PER_ADDRESS, this.queue.size));
    // Followers only while there is a plain attempt to wait for (not with fullBattery, nor in the sender-fallback pass).
    const wait = lead && this.holding;
    await Promise.all(Array.from({ length: workers }, (_, i) => (i === 0 ? this.worker(initial, lead) : wait ? this.follower() : this.worker(undefined))));
  }

  private releaseHold(): void {
    this.holding = false;
    this.resolveHold();
  }

  /** A worker that waits for the plain attempt's answer, its connection opened meanwhile so only that transaction is waited for. */
  private async follower(): Promise<void> {
    let conn: Conn | undefined;
    try {
      conn = await this.connections.open(this.opts.helo);
    } catch {
      // The worker opens its own when it has something to run.
    }
    await this.hold;
    await this.worker(conn);
  }

  private async worker(initial: Conn | undefined, lead = false): Promise<void> {
    const lane: Lane = { conn: initial, lead };
    try {
      for (let more = true; more; ) more = await this.step(lane);
    } finally {
      if (lead) this.releaseHold();
      await this.retire(lane);
    }
  }

  private async retire(lane: Lane): Promise<void> {
    if (lane.conn) await this.connections.leave(lane.conn);
    lane.conn = undefined;
  }

  /** One job taken and run (or set aside); false when this worker has nothing more to do. */
  private async step(lane: Lane): Promise<boolean> {
    if (this.queue.size === 0) return false;
    const now = Date.now();
    const job = this.queue.next(lane.conn?.helo, now);
    if (!job) {
      await this.awaitGreylists(lane, now);
      return true;
    }
    if (this.setAside(job)) return true;
    await this.fitConnection(lane, job);
    if (!lane.conn) {
      const opened = await this.openFor(lane, job);
      if (opened !== true) return opened === false;
    }
    await this.runTransaction(lane, job);
    return true;
  }

  /** Only greylisted attempts are left, waiting for their retry time. */
  private async awaitGreylists(lane: Lane, now: number): Promise<void> {
    const wake = this.queue.nextWake();
    if (lane.conn && wake - now > IDLE_QUIT_MS) await this.retire(lane);
    await sleep(Math.max(0, Math.min(wake, this.opts.deadline) - now));
    if (Date.now() >= this.opts.deadline) for (const j of this.queue.drain()) this.notRunAtDeadline(j);
  }

  /** A job that is not to run: past the deadline, after the plain attempt relayed, or in plaintext where TLS is demanded. */
  private setAside(job: Job): boolean {
    if (Date.now() >= this.opts.deadline) {
      this.notRunAtDeadline(job);
      return true;
    }
    if (this.stop !== undefined && job.control === undefined) {
      this.skipOpen(job);
      return true;
    }
    if (this.tlsDemanded) {
      // Every plaintext attempt would get the same 530 and count as an error.
      this.record(job, undefined, { reason: `not run: ${this.tlsDemanded}`, rule: 'starttls-required' }, []);
      return true;
    }
    return false;
  }

  /** Keeps the lane's connection for this job, says another HELO on it, or retires it. */
  private async fitConnection(lane: Lane, job: Job): Promise<void> {
    const conn = lane.conn;
    const { learner } = this.state;
    const budget = learner.budget;
    // Every RCPT of the job may be refused: it goes on a connection with room for all of
    // them, or a fresh one, so none of its replies comes after an error sleep.
    const full = conn !== undefined && conn.errors > 0 && conn.errors + job.rendered.rcptTo.length > budget;
    // Past the floor, a connection goes on only as the learner's explorer (see explore),
    // and not even then when this transaction is all that is left: exploring would be given
    // up at once (see transaction's idle), leaving a command the server sleeps on and a
    // session it holds, with its slot, for the whole error sleep. A fresh one answers at once.
    const lastWork = this.queue.size === 0 || this.queue.allShare(job);
    // Every RCPT of the job may be refused: the last one's reply comes after all the others.
    const capped = conn !== undefined && conn.errors > 0 && learner.maySleep(conn.errors + job.rendered.rcptTo.length - 1) && (lastWork || !learner.explore(conn));
    // Where new connections are dear, another HELO is said on the connection at hand.
    if (conn && conn.helo !== job.rendered.helo && learner.frugal !== undefined && !conn.session.closed && !full && !capped && conn.errors < budget) {
      const before = conn.session.transcript.length;
      await rehello(conn, job.rendered.helo);
      job.earlier.push(...conn.session.transcript.slice(before));
    }
    if (conn && (conn.helo !== job.rendered.helo || conn.errors >= budget || full || capped || conn.session.closed)) await this.retire(lane);
  }

  /** A new connection for the job: true when open; false to take the next job; undefined when this worker stops. */
  private async openFor(lane: Lane, job: Job): Promise<boolean | undefined> {
    try {
      lane.conn = await this.connections.open(job.rendered.helo);
      return true;
    } catch (e) {
      const err = asSessionError(e);
      // Refused for the connection rate while others of ours are open: they take the job.
      if (err.kind === 'rate-limited') {
        this.queue.unshift(job);
        return undefined;
      }
      job.tries++;
      if (job.tries < MAX_TRIES && err.kind !== 'deadline') this.queue.unshift(job);
      else this.record(job, undefined, { reason: err.kind === 'deadline' ? 'not run: the run deadline was reached' : `not run: ${err.message}` }, []);
      return false;
    }
  }

  /** The job and the companions that share its transaction, run on the lane's connection, and what came of it. */
  private async runTransaction(lane: Lane, job: Job): Promise<void> {
    const conn = lane.conn;
    if (!conn) return;
    const { opts, queue, state, report } = this;
    const { learner } = state;
    // Vectors sharing the HELO and the sender share one transaction, so an accepting
    // server opens one queue file for them rather than one each. The transaction itself
    // stops starting vectors at the error budget; those it never tried come back.
    // Relaxed mode confirms each accepted vector with its own message: one per transaction.
    // Frugal: few connections, so a transaction carries no more than its share, and every
    // connection has work (Sendmail throttles each refused RCPT past the third per session).
    const recipients = Math.min(state.recipientLimit, MAX_RCPTS_PER_TRANSACTION, learner.frugal !== undefined ? Math.max(1, Math.ceil(queue.size / FRUGAL_CONNECTIONS)) : MAX_RCPTS_PER_TRANSACTION);
    // While the others wait, the plain attempt goes alone: its answer is all they wait for
    // (a closed server's refusal comes at once, with no companion's reply to sleep on).
    const alone = opts.confirm || (lane.lead && this.holding);
    const txn = transactionOrder([job, ...(alone ? [] : queue.companions(job, recipients - 1, Date.now()))]);
    for (const j of txn) j.tries++;
    const mark = conn.session.transcript.length;
    report.transactions = (report.transactions ?? 0) + 1;
    // Control probes (positive ones too) never send DATA: they only ask whether a mailbox is accepted.
    const res = await transaction(
      conn,
      txn.map((j) => j.rendered),
      opts,
      learner,
      opts.confirm && txn[0].control === undefined && txn[0].positive === undefined,
      queue.whenEmpty(),
    );
    await this.afterTransaction(lane, conn, txn, res, conn.session.transcript.slice(mark));
  }

  /** Each tried job decided; the untried and the unanswered back on the queue. */
  private async afterTransaction(lane: Lane, conn: Conn, txn: Job[], res: TransactionOutcome, transcript: TranscriptLine[]): Promise<void> {
    const { state, queue } = this;
    if (res.recipientLimit !== undefined) state.recipientLimit = Math.max(1, Math.min(state.recipientLimit, res.recipientLimit));
    // Never tried (budget reached, session gone before their RCPT, over the recipient
    // limit): back to the front, with no try spent.
    const untried = txn.slice(res.untriedFrom ?? txn.length);
    for (const j of untried) j.tries--;
    const tried = txn.slice(0, res.untriedFrom ?? txn.length);
    tried.forEach((j, i) => {
      const v = res.verdicts[i];
      if (v) this.decide(j, conn, v, transcript);
    });
    const undecided = [...tried.filter((_, i) => res.verdicts[i] === undefined)];
    queue.unshift(...untried);
    if (lane.lead) this.releaseHold();
    // Nothing could start here (no room left for even the first vector): a fresh connection can.
    if (res.untriedFrom === 0 && !res.abandoned && !res.interrupted) await this.retire(lane);
    if (res.abandoned) {
      this.requeueAbandoned(undecided, conn, res, transcript);
      await this.retire(lane);
      return;
    }
    if (res.interrupted) {
      // A drop after refusals means the server's limit is lower than our budget.
      state.learner.dropped(conn.errors);
      await this.retire(lane);
      this.requeueInterrupted(undecided, res.interrupted, transcript);
    }
  }

  /**
   * The server began sleeping before its replies: those RCPTs were never answered,
   * so they go again, untried, on a connection with room in the budget.
   */
  private requeueAbandoned(undecided: Job[], conn: Conn, res: TransactionOutcome, transcript: TranscriptLine[]): void {
    for (const j of undecided) {
      // Given up on by our choice (nothing else was left to run), not for the server's
      // delay: no try spent and no abandon counted.
      const free = res.gaveUp === true || (j.abandons = (j.abandons ?? 0) + 1) <= FREE_ABANDONS;
      if (free) j.tries--;
      const why = res.gaveUp
        ? `reply not waited for after ${conn.errors} refusal(s) on this connection (it might be slept on, and nothing else was left to run); tried again on a new connection`
        : `reply overdue after ${conn.errors} refusal(s) on this connection (the server's error sleep); not answered, tried again on a new connection`;
      j.earlier.push(...transcript, { dir: '*', text: why, at: transcript[transcript.length - 1]?.at ?? 0 });
    }
    const spent = undecided.filter((j) => j.tries >= MAX_TRIES);
    for (const j of spent) this.record(j, undefined, { reason: `interrupted: the server kept delaying its reply after ${conn.errors} refusal(s) (error sleep)` }, transcript);
    this.queue.unshift(...undecided.filter((j) => j.tries < MAX_TRIES));
  }

  /** The server ended the session: each undecided job tried once more on a new connection, or recorded as interrupted. */
  private requeueInterrupted(undecided: Job[], interrupted: NonNullable<TransactionOutcome['interrupted']>, transcript: TranscriptLine[]): void {
    const why = interrupted instanceof SessionError ? interrupted.message : `server closing: ${formatReply(interrupted)}`;
    const deadline = interrupted instanceof SessionError && interrupted.kind === 'deadline';
    const again: Job[] = [];
    for (const j of undecided) {
      if (j.tries < MAX_TRIES && !deadline) {
        j.earlier.push(...transcript, { dir: '*', text: `interrupted (${why}); retrying on a new connection`, at: transcript[transcript.length - 1]?.at ?? 0 });
        again.push(j);
      } else {
        this.record(j, undefined, { reason: deadline ? 'not run: the run deadline was reached' : `interrupted twice: ${why}`, stage: null }, transcript);
      }
    }
    this.queue.unshift(...again);
  }

  /** What one vector's answer means for it: recorded, retried after a greylist, or kept for the sender-fallback pass. */
  private decide(job: Job, conn: Conn, v: Verdict, transcript: TranscriptLine[]): void {
    if (v.rule === 'greylisted' || v.rule === 'greylisted-code') return this.retryGreylisted(job, conn, v, transcript);
    const reason = job.greylisted ? `${v.reason}, after ${job.greylisted.tries} greylist deferral(s)` : v.reason;
    const fields = { outcome: v.outcome, reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
    // An accepted positive control shows the sender is accepted, not that it relays.
    const relayed = v.outcome === 'relayed' && job.positive === undefined;
    if (v.subject === 'recipient' || v.outcome === 'relayed') this.acceptedSenders.set(job.rendered.mailFrom, (this.acceptedSenders.get(job.rendered.mailFrom) ?? false) || relayed);
    if (v.subject === 'sender' && v.outcome !== 'relayed' && !job.senderRefusal && job.control === undefined && testsMoreThanSender(job.rendered.vector)) {
      // The sender was refused (its form, or checks of its domain), so the recipient form
      // or HELO this vector exists for was never evaluated: retry it once with a sender
      // the server accepted, when one is known after the first pass.
      job.senderRefusal = { mailFrom: job.rendered.mailFrom, fields: { ...fields, connection: conn.index } };
      job.earlier.push(...transcript);
      this.senderRefused.push(job);
      return;
    }
    const refusal = job.senderRefusal;
    if (refusal) fields.reason += ` (the vector's sender ${refusal.mailFrom} was refused: ${refusal.fields.reply}; the recipient form was then tried with ${job.rendered.mailFrom}, a sender this server accepted)`;
    this.record(job, conn, fields, transcript);
    if (v.outcome === 'relayed' && job.control === undefined && job.rendered.routedVia !== undefined) this.needControl(job.rendered.routedVia, job.rendered.mailFrom);
    if (this.opts.stopWhenOpen && this.stop === undefined && v.outcome === 'relayed' && job.control === undefined && isPlainAttempt(job.rendered.vector)) {
      const after = job.rendered.vector.id;
      this.stop = { after, reason: `not run: the plain attempt (${after}) relayed, so this server relays for this client whatever it sends; no further transaction was started, since on an open server each one opens a queue file (and Postfix's in_flow_delay then slows its real mail)` };
      for (const j of this.queue.take((j) => j.control === undefined)) this.skipOpen(j);
    }
    if (v.rule === 'starttls-required') this.tlsDemanded = `the server demands STARTTLS (${formatReply(v.decisive)})`;
  }

  /**
   * A greylist defers a (client, sender, recipient) triple it has not seen: the same
   * triple retried after the delay goes through, so retry while the deadline allows.
   */
  private retryGreylisted(job: Job, conn: Conn, v: Verdict, transcript: TranscriptLine[]): void {
    const fields = { outcome: v.outcome, reason: v.reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
    const g = (job.greylisted ??= { tries: 0, fields, connection: conn.index });
    g.tries++;
    g.fields = fields;
    g.connection = conn.index;
    job.earlier.push(...transcript);
    const backoff = greylistBackoff(g.tries);
    if (Date.now() + backoff < this.opts.deadline) {
      job.notBefore = Date.now() + backoff;
      job.tries = 0;
      this.queue.push(job);
    } else {
      this.notRunAtDeadline(job);
    }
  }

  /** A control probe for a name a routing trick relayed to, once per name (see controls). */
  private needControl(d: string, sender: string): void {
    if (this.controls.has(d)) return;
    const { control, job } = controlJob(d, sender, this.nonce, this.opts.helo);
    this.controls.set(d, control);
    this.queue.push(job);
  }

  /** One job's result: a positive or a catch-all control's answer, or a vector's attempt. */
  record(job: Job, conn: Conn | undefined, fields: Partial<AttemptReport>, transcript: TranscriptLine[]): void {
    const { vector, helo, mailFrom, rcptTo } = job.rendered;
    if (job.positive !== undefined) {
      const p = this.positive.probes.find((x) => x.mailbox === job.positive);
      if (p) {
        p.reply = fields.reply ?? fields.reason ?? null;
        // Any refusal counts, temporary ones too: what matters is whether this client's mail gets in.
        p.accepted = fields.outcome === 'relayed' ? true : fields.reply ? false : null;
        p.rule = p.accepted === false ? (fields.rule ?? null) : null;
        this.positive.sender = mailFrom;
      }
      return;
    }
    if (job.control !== undefined) {
      const c = this.controls.get(job.control);
      if (c) {
        c.reply = fields.reply ?? fields.reason ?? null;
        // Only a refusal of the mailbox itself (at RCPT) says the name does not take any mailbox.
        c.accepted = fields.outcome === 'relayed' ? true : fields.outcome === 'denied' && fields.stage === 'rcpt' ? false : null;
      }
      return;
    }
    this.results.set(vector.id, {
      vector: vector.id,
      description: vector.description,
      provenance: vector.provenance,
      helo,
      mailFrom,
      rcptTo,
      outcome: 'inconclusive',
      reason: '',
      rule: null,
      reply: null,
      stage: null,
      connection: conn?.index ?? null,
      tries: job.tries,
      transcript: [...job.earlier, ...transcript],
      routedVia: job.rendered.routedVia ?? null,
      ...fields,
    });
  }

  private skipOpen(job: Job): void {
    if (job.positive !== undefined) {
      this.positive.note = `not asked: the plain attempt (${this.stop?.after ?? PLAIN_ATTEMPT}) relayed, which needs no control`;
      return;
    }
    this.notRunOpen++;
    this.record(job, undefined, { outcome: 'skipped', reason: this.stop?.reason ?? 'not run' }, []);
  }

  private notRunAtDeadline(job: Job): void {
    const g = job.greylisted;
    if (!g) return this.record(job, undefined, { reason: 'not run: the run deadline was reached' }, []);
    this.record(
      job,
      undefined,
      { ...g.fields, connection: g.connection, reason: `greylisted: still deferred after ${g.tries} tries when the run's deadline came (raise \`timeout\` above the greylist delay)` },
      [],
    );
  }
}
