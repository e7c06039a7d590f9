import net from 'node:net';
import { countAttempts, type TargetReport } from '../model/report.js';
import { tallyOf, targetVerdict } from '../verdict/run.js';
import { asSessionError, Connections } from './connect.js';
import { clientRefused, frugalForSendmail, mydomainOf, recipientIsLocal, unreached } from './first.js';
import { positiveMailboxes } from './plan.js';
import { TargetRun } from './run.js';
import { serverState } from './servers.js';
import { retryRefusedSenders, settleTarget } from './settle.js';
import type { Conn } from './transaction.js';
import { identityTricks, proxyTricks } from './tricks.js';
import type { TargetSpec, TargetOptions } from './options.js';
export type { Transport, TargetSpec, TargetOptions } from './options.js';

export { isPlainAttempt } from './plan.js';
export { SECOND_OUTSIDER } from './settle.js';

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
  await identityTricks(spec, opts, report, state);
  return finish(report, started);
}

/**
 * The PROXY tricks on a plaintext run already finished (the engine decides when: the sign
 * the plain connection showed, or `proxy-protocol: try`), its counts and verdict again.
 */
export async function withProxyTricks(report: TargetReport, spec: TargetSpec, opts: TargetOptions, reason: string): Promise<TargetReport> {
  const started = Date.now() - report.durationMs;
  await proxyTricks(spec, opts, report, serverState(spec.address, spec.port), reason);
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
