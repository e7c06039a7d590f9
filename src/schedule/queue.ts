import type { RenderedVector } from '../battery/render.js';
import type { TranscriptLine } from '../smtp/session.js';
import type { AttemptReport } from '../model/report.js';

/** One vector waiting to run, with what earlier tries left behind. */
export interface Job {
  rendered: RenderedVector;
  tries: number;
  /** Set on a control probe: the server name whose unknown mailboxes it tests. */
  control?: string;
  /** Set on a positive control probe: the mailbox the server must accept (postmaster@ its domain). */
  positive?: string;
  /** Transcript of earlier tries, so a retry does not hide what interrupted the first. */
  earlier: TranscriptLine[];
  /** Not before this time (Date.now() scale): a greylisted attempt waits for its retry. */
  notBefore?: number;
  /** Set when the vector's own sender was refused: that first answer, kept while the recipient form is retried. */
  senderRefusal?: { mailFrom: string; fields: Partial<AttemptReport> };
  /** How often a connection was abandoned before this job's reply came (the server's error sleep). */
  abandons?: number;
  /** Set once a greylist deferred the attempt: how often, and the last answer. */
  greylisted?: { tries: number; fields: Partial<AttemptReport>; connection: number };
}

/** Tries of one attempt when the server interrupts it (421, a drop): the first, and one retry on a new connection. */
export const MAX_TRIES = 2;

/** Abandoned connections an attempt may ride without it counting as a try: the budget settles after the first. */
export const FREE_ABANDONS = 2;

/** First wait before retrying a greylisted attempt; doubles up to the maximum. */
const GREYLIST_BACKOFF_MS = 5_000;
const GREYLIST_BACKOFF_MAX_MS = 60_000;

/** Wait before the n-th retry (1-based) of a greylisted attempt. */
export function greylistBackoff(n: number): number {
  return Math.min(GREYLIST_BACKOFF_MS * 2 ** (n - 1), GREYLIST_BACKOFF_MAX_MS);
}

/**
 * Which jobs may share a transaction: those with the same key. Undefined for
 * a job that must have its own: several RCPTs mean "external after an
 * accepted local one", whose point is that nothing but that local recipient
 * comes before; a local recipient would put every later RCPT after an
 * accepted local one; a greylist retry repeats the triple the greylist saw,
 * alone. Control probes share only with each other (catch-all probes apart
 * from positive ones), so no vector's RCPT comes after a mailbox that tests
 * for a catch-all or one the server must accept.
 */
export function groupKey(j: Job): string | undefined {
  const r = j.rendered;
  if (j.greylisted !== undefined || r.rcptTo.length !== 1 || r.vector.local) return undefined;
  return JSON.stringify([j.positive !== undefined ? 'positive' : j.control === undefined ? 'vector' : 'control', r.helo, r.mailFrom]);
}

/**
 * The order of a shared transaction's RCPTs: plain external recipients first,
 * then routing forms (percent hack, bang path, source route, quoted forms at
 * one of the server's names), which a catch-all may accept as local delivery.
 * So no plain external recipient is ever judged after an accepted local one.
 * Stable: the queue's order otherwise.
 */
export function transactionOrder(jobs: readonly Job[]): Job[] {
  const routed = (j: Job): number => (j.rendered.routedVia === undefined ? 0 : 1);
  return jobs.map((j, i) => ({ j, i })).sort((a, b) => routed(a.j) - routed(b.j) || a.i - b.i).map(({ j }) => j);
}

/**
 * The attempts still to run, in order. take() hands out a transaction's worth:
 * the first ready job (preferring the HELO of the connection at hand, which
 * saves a reconnect), then ready jobs sharing its HELO and sender, so a
 * server opens one queue file per transaction rather than per vector (Postfix's
 * inflow control pauses before each new one once arrivals outpace deliveries).
 */
export class AttemptQueue {
  private jobs: Job[] = [];
  private emptied: (() => void)[] = [];

  get size(): number {
    return this.jobs.length;
  }

  push(...jobs: Job[]): void {
    this.jobs.push(...jobs);
  }

  /** Back to the front: an interrupted attempt goes first on the next connection. */
  unshift(...jobs: Job[]): void {
    this.jobs.unshift(...jobs);
  }

  /** The first job ready at `now`, removed from the queue; the connection's HELO first. */
  next(helo: string | undefined, now: number): Job | undefined {
    const ready = (j: Job): boolean => (j.notBefore ?? 0) <= now;
    let idx = this.jobs.findIndex((j) => ready(j) && j.rendered.helo === helo);
    if (idx < 0) idx = this.jobs.findIndex(ready);
    if (idx < 0) return undefined;
    const [job] = this.jobs.splice(idx, 1);
    this.removed();
    return job;
  }

  /** Up to `max` more ready jobs that can share `first`'s transaction, removed from the queue. */
  companions(first: Job, max: number, now: number): Job[] {
    const key = groupKey(first);
    if (max <= 0 || key === undefined) return [];
    const out: Job[] = [];
    this.jobs = this.jobs.filter((j) => {
      const fits = out.length < max && (j.notBefore ?? 0) <= now && groupKey(j) === key;
      if (fits) out.push(j);
      return !fits;
    });
    this.removed();
    return out;
  }

  /** Settles once the queue is empty (at once when it is): nothing is left for another connection to run. */
  whenEmpty(): Promise<void> {
    if (this.jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  private removed(): void {
    if (this.jobs.length > 0) return;
    for (const w of this.emptied.splice(0)) w();
  }

  /** When the next waiting job becomes ready (Date.now() scale). */
  nextWake(): number {
    return Math.min(...this.jobs.map((j) => j.notBefore ?? 0));
  }

  /** Whether every job left would go in `job`'s transaction (false for a job that must run alone). */
  allShare(job: Job): boolean {
    const key = groupKey(job);
    return key !== undefined && this.jobs.every((j) => groupKey(j) === key);
  }

  /** The jobs that match, removed (in order). */
  take(match: (j: Job) => boolean): Job[] {
    const out = this.jobs.filter(match);
    this.jobs = this.jobs.filter((j) => !match(j));
    this.removed();
    return out;
  }

  /** Everything left, removed. */
  drain(): Job[] {
    const all = this.jobs.splice(0);
    this.removed();
    return all;
  }
}
