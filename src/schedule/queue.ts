import type { RenderedVector } from '../battery/render.js';
import type { TranscriptLine } from '../smtp/session.js';
import type { AttemptReport } from '../report/model.js';

/** One vector waiting to run, with what earlier tries left behind. */
export interface Job {
  rendered: RenderedVector;
  tries: number;
  /** Set on a control probe: the server name whose unknown mailboxes it tests. */
  control?: string;
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
export const GREYLIST_BACKOFF_MS = 5_000;
export const GREYLIST_BACKOFF_MAX_MS = 60_000;

/** Wait before the n-th retry (1-based) of a greylisted attempt. */
export function greylistBackoff(n: number): number {
  return Math.min(GREYLIST_BACKOFF_MS * 2 ** (n - 1), GREYLIST_BACKOFF_MAX_MS);
}

/**
 * Whether a job may share its transaction with others: one recipient that is
 * not the server's own (several RCPTs mean "external after an accepted local
 * one", whose order matters, and a local one would put every later RCPT after
 * an accepted local), no control probe, no greylist retry (the same triple,
 * alone, as the greylist saw it).
 */
export function groupable(j: Job): boolean {
  return j.control === undefined && j.greylisted === undefined && j.rendered.rcptTo.length === 1 && !j.rendered.vector.local;
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
    return this.jobs.splice(idx, 1)[0];
  }

  /** Up to `max` more ready jobs that can share `first`'s transaction, removed from the queue. */
  companions(first: Job, max: number, now: number): Job[] {
    if (max <= 0 || !groupable(first)) return [];
    const out: Job[] = [];
    this.jobs = this.jobs.filter((j) => {
      const fits =
        out.length < max && groupable(j) && (j.notBefore ?? 0) <= now && j.rendered.helo === first.rendered.helo && j.rendered.mailFrom === first.rendered.mailFrom;
      if (fits) out.push(j);
      return !fits;
    });
    return out;
  }

  /** When the next waiting job becomes ready (Date.now() scale). */
  nextWake(): number {
    return Math.min(...this.jobs.map((j) => j.notBefore ?? 0));
  }

  /** Everything left, removed. */
  drain(): Job[] {
    return this.jobs.splice(0);
  }
}
