import { CONNECTIONS_PER_ADDRESS, RETIRED_SESSION_LIFETIME_MS, SESSION_SLOTS, SLOT_WAIT_MAX_MS, SLOT_WAIT_MS } from '../smtp/limits.js';

/** One session's claim on the server's connection slots. */
export interface Slot {
  /** The session never started or the server has let it go: the slot is free at once. */
  release(): void;
  /**
   * We left the session but the server may still hold it (sleeping out its
   * error delay before answering what we pipelined, or the QUIT): the slot
   * stays taken until `gone` settles, or lifetimeMs passed.
   */
  retire(gone: Promise<unknown>, lifetimeMs?: number): void;
}

/**
 * The sessions relay-check holds at one server, active or left behind, kept
 * under a limit: at most `activeLimit` carrying attempts, at most `limit` in
 * all. A session we left still counts until the server closes it, because the
 * server counts it (Postfix smtpd_client_connection_count_limit). A
 * `421 … too many connections` greeting lowers the limit to what we held.
 */
export class ConnectionPool {
  private active = 0;
  private retired = 0;
  private waiters: ((slot: Slot) => void)[] = [];
  /** Most sessions held at once, for tests and the bench. */
  peak = 0;
  /** How often the server refused a session for too many connections. */
  refusals = 0;

  constructor(
    private limitValue: number = SESSION_SLOTS,
    readonly activeLimit: number = CONNECTIONS_PER_ADDRESS,
  ) {}

  /** Sessions the server may be holding for us now. */
  get occupied(): number {
    return this.active + this.retired;
  }

  get limit(): number {
    return this.limitValue;
  }

  private free(): boolean {
    return this.occupied < this.limitValue && this.active < this.activeLimit;
  }

  /**
   * A slot, once one is free; undefined when the deadline (Date.now() scale)
   * comes first. Waiters are served in order.
   */
  acquire(deadline: number): Promise<Slot | undefined> {
    if (this.free() && this.waiters.length === 0) return Promise.resolve(this.claim());
    return new Promise((resolve) => {
      const waiter = (slot: Slot): void => {
        clearTimeout(t);
        resolve(slot);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, Math.max(0, deadline - Date.now()));
      this.waiters.push(waiter);
    });
  }

  private claim(): Slot {
    this.active++;
    this.peak = Math.max(this.peak, this.occupied);
    let state: 'active' | 'retired' | 'free' = 'active';
    const drop = (): void => {
      if (state === 'active') this.active--;
      else if (state === 'retired') this.retired--;
      else return;
      state = 'free';
      this.wake();
    };
    return {
      release: drop,
      retire: (gone, lifetimeMs = RETIRED_SESSION_LIFETIME_MS) => {
        if (state !== 'active') return;
        state = 'retired';
        this.active--;
        this.retired++;
        // The active count went down: another session may start if the total allows.
        this.wake();
        const t = setTimeout(drop, lifetimeMs);
        t.unref();
        const done = (): void => {
          clearTimeout(t);
          drop();
        };
        void gone.then(done, done);
      },
    };
  }

  /**
   * The server refused a session for too many connections while we held
   * `occupied` (that refused one included): its limit for us is what we held
   * besides it, when that is at least one. Returns how long to wait before
   * trying again when none of ours can free a slot (someone else holds them).
   */
  tooMany(attempt: number): number | undefined {
    this.refusals++;
    const others = this.occupied - 1;
    if (others >= 1) {
      this.limitValue = Math.min(this.limitValue, others);
      return undefined;
    }
    return Math.min(SLOT_WAIT_MS * attempt, SLOT_WAIT_MAX_MS);
  }

  /** Hands free slots to waiters, claiming each before the waiter resumes so no one else can take it. */
  private wake(): void {
    while (this.waiters.length > 0 && this.free()) {
      const w = this.waiters.shift();
      if (w) w(this.claim());
    }
  }
}
