import net from 'node:net';
import type { Vector } from '../battery/vectors.js';
import { countAttempts, type TargetReport } from '../report/model.js';
import { tallyOf, targetVerdict } from '../verdict/run.js';
import { asSessionError, Connections } from './connect.js';
import { clientRefused, frugalForSendmail, mydomainOf, recipientIsLocal, unreached } from './first.js';
import { positiveMailboxes } from './plan.js';
import { TargetRun } from './run.js';
import { serverState } from './servers.js';
import { retryRefusedSenders, settleTarget } from './settle.js';
import type { Conn } from './transaction.js';

export { isPlainAttempt, PLAIN_ATTEMPT } from './plan.js';
export { SECOND_OUTSIDER } from './settle.js';

// The report model belongs to the reporting side (another branch edits it); the two
// fields this side adds are declared here and folded into model.ts when both land.
export type Transport = 'plain' | 'starttls' | 'implicit';

export interface TargetSpec {
  host: string;
  address: string;
  port: number;
  transport: Transport;
}

export interface TargetOptions {
  vectors: readonly Vector[];
  recipient: { address: string; user: string; domain: string };
  /** Local part of probe senders. */
  probe: string;
  /** The mail domain the server serves (input `domain`); derived from its name when absent. */
  domain?: string;
  /** The user named `recipient` (not the reserved default): its domain is then checked against the server's guessed mail domain too. */
  recipientGiven?: boolean;
  /** Test as this client through Postfix XCLIENT (input `client-address`). */
  clientAddress?: string;
  helo: string;
  /** Confirm acceptance through DATA (strictness `relaxed`). */
  confirm: boolean;
  /** Connection, greeting and session setup (EHLO, STARTTLS, XCLIENT), ms. */
  connectTimeoutMs: number;
  /** Replies to MAIL, RCPT, RSET and DATA, ms (LIMITS.replyTimeoutMs when absent). */
  replyTimeoutMs?: number;
  /** Absolute deadline (Date.now() scale) for the whole run. */
  deadline: number;
  /**
   * Once the plain attempt (an outside sender to an outside recipient, relay-check's own
   * HELO) relayed, start no further transaction but control probes: the server relays for
   * this client whatever it sends, and every transaction that gets a recipient accepted
   * makes an open Postfix open a queue file, taking one of its inflow tokens (in_flow_delay
   * then slows the server's real mail too). The plain attempt runs first and the other
   * connections wait for its answer.
   */
  stopWhenOpen?: boolean;
  /**
   * The vector that already relayed in plaintext on this port (the STARTTLS pass after a
   * plaintext pass that stopped): the session is set up (its TLS is reported) and nothing
   * is run, since inside TLS the server can only relay too, and each transaction would
   * cost an open server another queue file.
   */
  relayedInPlaintext?: string;
  /** A mailbox the server must accept besides postmaster@ its domain (input `local-recipient`). */
  localRecipient?: string;
}

/**
 * Runs the battery against one address: takes connections from the server's
 * pool, spreads transactions over them, keeps each under the error budget the
 * learner has for the server, resumes after drops, and returns one result per
 * vector. Never throws for anything the server does.
 *
 * In order: open a session (the first connection names the server), plan (vectors into
 * jobs), run (workers over the queue, then the sender-fallback pass), settle (controls,
 * the MTA, each vector's result).
 */
export async function runTarget(spec: TargetSpec, opts: TargetOptions): Promise<TargetReport> {
  const started = Date.now();
  const state = serverState(spec.address, spec.port);
  const { learner } = state;
  // The learner is the server's, shared by every run against it: this run's pauses are the difference.
  const pausesBefore = learner.pauses;
  const report = emptyReport(spec, learner.budget);
  const connections = new Connections(spec, opts, report, state);

  // Open a session: the first connection tells us the server's name, which the templates need.
  let first: Conn;
  try {
    first = await connections.open(opts.helo);
    report.reachable = true;
  } catch (e) {
    const err = asSessionError(e);
    if (err.kind === 'client-refused' && err.reply) await clientRefused(report, err, err.reply, spec, opts);
    else unreached(report, err, learner);
    return finish(report, started);
  }
  frugalForSendmail(report, learner);
  const mydomain = mydomainOf(report, opts);
  if (recipientIsLocal(report, opts, mydomain)) {
    await connections.leave(first);
    return finish(report, started);
  }

  // Plan, run, settle.
  const run = new TargetRun(spec, opts, report, state, connections, positiveMailboxes(opts.domain, report.serverName ?? undefined, opts.localRecipient));
  run.plan(mydomain);
  await run.firstPass(first);
  if (retryRefusedSenders(run)) await run.pass(undefined, false);
  await settleTarget(run, pausesBefore);
  return finish(report, started);
}

function finish(report: TargetReport, started: number): TargetReport {
  report.counts = countAttempts(report.attempts);
  report.durationMs = Date.now() - started;
  report.verdict = targetVerdict(tallyOf(report));
  return report;
}

function emptyReport(spec: TargetSpec, errorBudget: number): TargetReport {
  return {
    host: spec.host,
    address: spec.address,
    family: net.isIPv6(spec.address) ? 6 : 4,
    port: spec.port,
    transport: spec.transport,
    tls: null,
    reachable: false,
    error: null,
    errorKind: null,
    greeting: null,
    serverName: null,
    extensions: [],
    opening: [],
    connections: 0,
    transactions: 0,
    controls: [],
    errorBudget,
    durationMs: 0,
    verdict: 'inconclusive',
    counts: countAttempts([]),
    attempts: [],
  };
}

/**
 * `tls: auto` on a port other than 465: the plaintext connection got no byte of
 * a greeting in time. A server in implicit-TLS (wrapper) mode waits silently
 * for a ClientHello, so that is worth one TLS handshake before giving up.
 */
export function silentGreeting(t: TargetReport): boolean {
  return !t.reachable && t.errorKind === 'timeout' && t.greeting === null && !t.opening.some((l) => l.dir === 'S');
}
