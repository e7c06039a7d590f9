import { DEFAULT_ERROR_BUDGET, LIMITS } from '../smtp/limits.js';

/** Refusals per connection while frugal, until the server shows its hard limit by ending a session: more than any battery needs. */
const FRUGAL_BUDGET = 1000;

/**
 * How many refusals one connection to a server may take before its replies
 * slow down, learned from reply timings and shared by every connection to that
 * server.
 *
 * Postfix's error sleep (measured, Postfix 3.7): with `smtpd_soft_error_limit`
 * k, the reply after each of the first k refusals of a session comes at once;
 * every reply after that, whatever it is (the next refusal, a 250 to RSET, the
 * 221 to QUIT), comes after `smtpd_error_sleep_time`. So the reply after e
 * refusals is slow exactly when e >= k: a fast one proves k > e, the first slow
 * one after e refusals proves k <= e. The learner keeps both bounds: `floor`
 * (k >= floor: replies this early on a connection cannot sleep) and `budget`
 * (k <= budget as far as we know: retire a connection once it made that many).
 *
 * What a slow reply does not say: a slow reply with no refusal before it on its
 * connection is not error sleep (callouts, tarpits); a slow 2xx to MAIL or RCPT
 * is not either (Postfix's cleanup waiting out `in_flow_delay` before a new
 * queue file, sender or recipient verification). The scheduler reports a
 * suspected sleep while the reply is still outstanding (it stops waiting for
 * it), and settles the suspicion when that reply finally comes: a 2xx to MAIL
 * or RCPT takes it back.
 */
export class BudgetLearner {
  private settled: number;
  private floorValue = 1;
  private readonly suspected = new Map<number, number>();
  private nextId = 1;
  /** Slow 2xx replies to RCPT: Postfix's inflow control pausing before a new queue file, or a callout. */
  pauses = 0;
  /** The one connection that may send a command whose reply may be slept on (see explore). */
  private explorer: object | undefined;
  /**
   * Set when the server limits new connections per client (why, in its words or ours): a
   * fresh connection is then the dear thing, not a slow reply. Connections are kept until the
   * server ends them (its hard limit, learned from the drop), and delayed replies are waited
   * out instead of raced (Sendmail sleeps a second per refused RCPT past confBAD_RCPT_THROTTLE;
   * Postfix smtpd_error_sleep_time).
   */
  frugal: string | undefined;
  /** Refusals after which the server ended a session (421 or a drop): its hard limit, as far as seen. */
  private hard = Number.POSITIVE_INFINITY;

  beFrugal(why: string): void {
    this.frugal ??= why;
  }

  constructor(initial: number = DEFAULT_ERROR_BUDGET) {
    this.settled = Math.max(1, initial);
  }

  /** Refusals a connection may take before it is retired. */
  get budget(): number {
    if (this.frugal !== undefined) return Math.max(1, Math.min(this.hard - 1, FRUGAL_BUDGET));
    return Math.max(1, Math.min(this.settled, ...this.suspected.values()));
  }

  /** Refusals known to be answered at once: k >= floor. */
  get floor(): number {
    return Math.min(this.floorValue, this.budget);
  }

  /** Whether a reply after `errors` refusals on its connection may be delayed by error sleep. */
  maySleep(errors: number): boolean {
    // Frugal: a delayed reply is waited for, not raced (see frugal).
    return this.frugal === undefined && errors >= 1 && errors >= this.floor;
  }

  /** A reply came at once after `errors` refusals on its connection. */
  fast(errors: number): void {
    if (errors + 1 > this.floorValue) this.floorValue = errors + 1;
    // A fast reply after e refusals contradicts a suspicion that k <= e.
    for (const [id, bound] of this.suspected) if (bound <= errors) this.suspected.delete(id);
  }

  /**
   * A reply after `errors` refusals is overdue: probably error sleep, so the
   * budget is `errors` from now on, for every connection, until settle() says
   * otherwise. Returns the suspicion's id, or undefined when it cannot be sleep.
   */
  suspect(errors: number): number | undefined {
    if (!this.maySleep(errors)) return undefined;
    const id = this.nextId++;
    this.suspected.set(id, errors);
    return id;
  }

  /**
   * The overdue reply came (or never will: `reply` undefined). A refusal, a
   * reply to RSET or QUIT, or none at all confirms the sleep; a 2xx to MAIL or
   * RCPT was a pause of another kind, and the budget goes back.
   */
  settle(id: number | undefined, reply: { code: number; command: string } | undefined): void {
    if (id === undefined) return;
    const bound = this.suspected.get(id);
    if (bound === undefined) return;
    this.suspected.delete(id);
    const otherPause = reply !== undefined && reply.code < 400 && /^(MAIL|RCPT)$/.test(reply.command);
    if (otherPause) {
      if (reply.command === 'RCPT') this.pauses++;
      return;
    }
    this.settled = Math.min(this.settled, Math.max(1, bound));
  }

  /** A slow reply that arrived while it could not be error sleep: counted when it is an accepted RCPT. */
  slowAccepted(command: string): void {
    if (command === 'RCPT') this.pauses++;
  }

  /**
   * Whether `owner` (a connection) may send a command whose reply may be
   * slept on, i.e. find out whether the limit is above what is known. One
   * connection at a time: when the limit is low every such reply costs a wait
   * of LIMITS.slowReplyMs before it counts as overdue, and connections that
   * all learn it at once all wait. The others stay at the floor meanwhile,
   * where no reply is slept on.
   */
  explore(owner: object): boolean {
    this.explorer ??= owner;
    return this.explorer === owner;
  }

  /** The connection is gone: another may explore. */
  release(owner: object): void {
    if (this.explorer === owner) this.explorer = undefined;
  }

  /**
   * An explorer gave up on a reply before it was overdue (nothing else was
   * left to run): whether the limit is above the floor is still open, and the
   * floor is what was used.
   */
  gaveUp(): void {
    this.undecided++;
  }

  private undecided = 0;

  /** Refusals per connection as far as the server showed them: the floor while an exploration is undecided, else the budget. */
  get shown(): number {
    return this.undecided > 0 ? this.floor : this.budget;
  }

  /** The reply an explorer gave up on came after all (see late): one open question fewer. */
  answered(): void {
    if (this.undecided > 0) this.undecided--;
  }

  /**
   * A reply came elapsedMs after it was asked for, after `errors` refusals on
   * its connection: what its timing says (also for one we had stopped waiting
   * for before it was overdue).
   */
  late(errors: number, elapsedMs: number, reply: { code: number; command: string }): void {
    if (elapsedMs <= LIMITS.slowReplyMs) this.fast(errors);
    else if (this.maySleep(errors)) this.settle(this.suspect(errors), reply);
    else if (reply.code < 400) this.slowAccepted(reply.command);
  }

  /** The server ended the session (421 or a drop) after `errors` refusals: its hard limit is no higher. */
  dropped(errors: number): void {
    if (errors >= 1) this.hard = Math.min(this.hard, errors);
    if (errors >= 1) this.settled = Math.min(this.settled, errors);
    if (this.floorValue > this.settled) this.floorValue = this.settled;
  }
}
