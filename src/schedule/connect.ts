import net from 'node:net';
import { serverName } from '../battery/render.js';
import { vantageOf } from '../diagnosis/vantage.js';
import type { TargetReport } from '../model/report.js';
import { RETIRED_SESSION_LIFETIME_MS } from '../smtp/limits.js';
import { proxyHeader } from '../smtp/identity.js';
import { formatReply, type Reply } from '../smtp/reply.js';
import { SessionError, type Ehlo, type SmtpSession } from '../smtp/session.js';
import { openSession, type SetupOptions } from '../smtp/setup.js';
import type { ServerState } from './servers.js';
import type { TargetOptions, TargetSpec } from './options.js';
import type { Conn } from './transaction.js';

/** A refusal of a new connection for the sessions or connections we already have (Postfix, Sendmail). */
export const CONNECTION_LIMIT = /too many connections|connection rate limit/i;
/** The same, naming a rate explicitly (Sendmail "421 4.3.2 Connection rate limit exceeded."): no short wait helps. */
const RATE_LIMIT = /connection rate limit/i;

/** The source port a proxy's header names for our sessions: any ephemeral port will do. */
const PROXY_SOURCE_PORT = 40_025;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const asSessionError = (e: unknown): SessionError => (e instanceof SessionError ? e : new SessionError('protocol', String(e)));

/** How to open a session on the target (greeting, EHLO, STARTTLS, XCLIENT) as `clientAddress`. */
export function setupFor(spec: TargetSpec, opts: TargetOptions, helo: string, clientAddress: string | undefined): SetupOptions {
  // Behind a PROXY-protocol port the client is named in the header, as the proxy would name it.
  const proxied = opts.viaProxy === true && spec.transport !== 'implicit' && net.isIPv4(spec.address) && (clientAddress === undefined || net.isIPv4(clientAddress));
  return {
    ...(proxied ? { preamble: proxyHeader(1, clientAddress ?? '127.0.0.1', spec.address, PROXY_SOURCE_PORT, spec.port) } : {}),
    address: spec.address,
    port: spec.port,
    connectTimeoutMs: opts.connectTimeoutMs,
    replyTimeoutMs: opts.replyTimeoutMs,
    deadline: opts.deadline,
    implicitTls: spec.transport === 'implicit',
    serverName: net.isIP(spec.host) ? undefined : spec.host,
    helo,
    starttls: spec.transport === 'starttls',
    clientAddress: proxied ? undefined : clientAddress,
  };
}

/** Says another HELO on an open connection (RFC 5321 §4.1.4: EHLO again resets the session's state); a failure retires it. */
export async function rehello(conn: Conn, helo: string): Promise<void> {
  try {
    const ehlo = await conn.session.hello(helo);
    if (ehlo.reply.code < 200 || ehlo.reply.code >= 300) return;
    conn.helo = helo;
    conn.ehlo = ehlo;
    conn.transactions = 0;
  } catch {
    // The caller sees the HELO unchanged (or the session closed) and retires the connection.
  }
}

/** One run's connections to the target, taken from the server's pool. */
export class Connections {
  /** Connections this run holds open now: with a per-client connection rate, they carry the work. */
  private live = 0;

  constructor(
    private readonly spec: TargetSpec,
    private readonly opts: TargetOptions,
    private readonly report: TargetReport,
    private readonly state: ServerState,
  ) {}

  /** A session from the pool: waits for a free slot, and for another one after "421 too many connections". */
  async open(helo: string): Promise<Conn> {
    const { pool } = this.state;
    for (let refusals = 1; ; refusals++) {
      const slot = await pool.acquire(this.opts.deadline);
      if (!slot) throw new SessionError('deadline', 'the run deadline was reached while waiting for a free connection slot');
      const index = ++this.report.connections;
      try {
        const { session, greeting, ehlo } = await openSession(setupFor(this.spec, this.opts, helo, this.opts.clientAddress));
        this.noteSession(index, session, greeting, ehlo);
        this.live++;
        return { session, index, helo, ehlo, errors: 0, transactions: 0, slot, abandoned: false };
      } catch (e) {
        const err = asSessionError(e);
        if (!CONNECTION_LIMIT.test(err.message)) {
          slot.release();
          throw err;
        }
        // Postfix counts sessions we left while it sleeps out its error delay
        // (smtpd_client_connection_count_limit): wait for one of ours to end, or a while
        // when none of ours is there, and try again.
        const wait = pool.tooMany(refusals);
        slot.release();
        if (wait !== undefined) await this.waitOutRate(err, wait);
      }
    }
  }

  /**
   * None of ours was held: not a count of our sessions but a rate of new ones (Postfix
   * smtpd_client_connection_rate_limit, Sendmail ClientRate). Each try is another
   * connection it counts: the ones we hold carry the work; only the last one waits.
   */
  private async waitOutRate(err: SessionError, wait: number): Promise<void> {
    this.state.learner.beFrugal(`the server limits new connections per client (${err.reply ? formatReply(err.reply) : err.message})`);
    if (this.live > 0) throw new SessionError('rate-limited', err.message);
    if (RATE_LIMIT.test(err.message) || Date.now() + wait >= this.opts.deadline) throw err;
    await sleep(wait);
  }

  /** What a new session tells the report: the greeting and TLS of the first one, and all the first connection says. */
  private noteSession(index: number, session: SmtpSession, greeting: Reply, ehlo: Ehlo): void {
    const { report, spec } = this;
    report.greeting ??= formatReply(greeting);
    report.tls ??= session.tls ?? null;
    if (index !== 1) return;
    report.opening = [...session.transcript];
    // A bare greeting (a container id, a product banner) names nothing: the certificate's
    // name or the name the user connected to stand in, so the vectors that need it still run.
    report.serverName = serverName(greeting.lines[0], ehlo.reply.lines[0], session.tls?.subject ?? undefined, net.isIP(spec.host) ? undefined : spec.host) ?? null;
    report.extensions = [...ehlo.extensions.keys()];
    // The time to the second: what an admin greps the server's log for when it named no address.
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    report.vantage = vantageOf({ localAddress: session.localAddress, opening: report.opening, target: report.address || null, at }, this.opts.clientAddress ?? null);
  }

  /** Leaves a connection; its slot stays taken until the server lets the session go. */
  async leave(conn: Conn): Promise<void> {
    const { learner } = this.state;
    // Past the error budget (or with replies still owed) QUIT would be answered after an
    // error sleep: say it, close our side, and let the server end the session in its time.
    const wait = !conn.abandoned && !learner.maySleep(conn.errors);
    this.live--;
    learner.release(conn);
    await conn.session.quit({ wait, lingerMs: RETIRED_SESSION_LIFETIME_MS });
    conn.slot.retire(conn.session.gone);
  }
}
