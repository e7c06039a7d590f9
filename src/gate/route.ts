import { DEFAULT_HELO, rejudge } from '../engine.js';
import type { AttemptReport, Report, RouteProof, TargetReport } from '../model/report.js';
import { formatReply, type Reply } from '../smtp/reply.js';
import { SessionError, type SmtpSession } from '../smtp/session.js';
import { openSession } from '../smtp/setup.js';
import { acceptedAttempt, withRouteProof } from '../verdict/route-proof.js';
import { routeFromLog, settled } from './maillog.js';

/**
 * Proof by routing (gate mode only). Every attempt whose relay destination the
 * private instance accepted is sent again, as the same outside client with the
 * same HELO, sender and recipients, and this time through DATA with a small
 * fixed message: the instance is ours and delivers only to discard(8), so
 * nothing leaves the runner. The instance's maillog then says which delivery
 * class took the destination (maillog.ts), and that decides the attempt
 * (verdict/route-proof.ts). In `relaxed` the battery already went through DATA:
 * its queue id is read from the reply and nothing is sent again.
 */

/** Replies to the proof's commands; the instance is on loopback and has nothing else to do. */
const ROUTE_REPLY_TIMEOUT_MS = 30_000;
/** How long the instance may take to deliver every proof message to its discards. */
const ROUTE_LOG_WAIT_MS = 20_000;
const ROUTE_LOG_POLL_MS = 200;
/** Proof messages per run at most (a full battery on a wide-open configuration with several services stays below). */
const ROUTE_MAX_MESSAGES = 400;

/** The proof message: fixed, labelled, a few lines. */
const PROOF_MESSAGE = [
  'From: relay-check <relay-check@relay-check.example.net>',
  'Subject: relay-check routing proof',
  'X-Relay-Check: sent to a private Postfix on the runner, which delivers only to discard(8)',
  '',
  'relay-check reads where the instance routed this message from its log.',
  '.',
].join('\r\n');

export interface RouteOptions {
  clientAddress: string | undefined;
  connectTimeoutMs: number;
  /** The instance's class tag (instance.ts GateInstance.classTag). */
  tag: string;
  maillog: () => string;
  /** Progress: how many attempts go through DATA, and how long the instance took. */
  log?: (line: string) => void;
}

/** One envelope to prove, and the first target that accepted it (its service and transport carry the replay). */
interface Job {
  key: string;
  target: TargetReport;
  attempt: AttemptReport;
  queueId?: string;
  note?: string;
}

const keyOf = (t: TargetReport, a: AttemptReport): string => JSON.stringify([t.port, a.helo, a.mailFrom, a.rcptTo]);
const ok = (r: Reply): boolean => r.code >= 200 && r.code < 300;
const queuedAs = (r: string | null): string | undefined => (r === null ? undefined : /queued as ([0-9A-Za-z]+)/.exec(r)?.[1]);

/** The report with every accepted attempt decided by where the instance put it. */
export async function proveRoutes(report: Report, o: RouteOptions): Promise<Report> {
  const jobs = new Map<string, Job>();
  for (const t of report.targets) {
    for (const a of t.attempts) {
      const key = keyOf(t, a);
      if (!acceptedAttempt(a) || a.mailFrom === null || jobs.has(key)) continue;
      // relaxed: the battery's own message is in the instance already.
      jobs.set(key, { key, target: t, attempt: a, queueId: a.stage === 'data' ? queuedAs(a.reply) : undefined });
    }
  }
  if (jobs.size === 0) return report;
  const toSend = [...jobs.values()].filter((j) => j.queueId === undefined);
  for (const j of toSend.slice(ROUTE_MAX_MESSAGES)) j.note = `not sent through DATA: more than ${ROUTE_MAX_MESSAGES} accepted attempts in one run`;
  const lanes = new Map<string, Job[]>();
  for (const j of toSend.slice(0, ROUTE_MAX_MESSAGES)) {
    const lane = `${j.target.port}|${j.target.transport}`;
    lanes.set(lane, [...(lanes.get(lane) ?? []), j]);
  }
  const started = Date.now();
  await Promise.all([...lanes.values()].map((lane) => sendLane(lane, o)));
  await waitForLog([...jobs.values()], o.maillog);
  const already = jobs.size - toSend.length;
  o.log?.(`routing proof: ${jobs.size} accepted attempt(s), ${toSend.length} sent through DATA now${already ? ` (${already} went through DATA in the battery)` : ''}; the private instance's log read in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const log = o.maillog();
  const proofs = new Map([...jobs].map(([k, j]) => [k, proofOf(j, log, o.tag)]));
  const targets = report.targets.map((t) => {
    const attempts = t.attempts.map((a) => {
      const p = acceptedAttempt(a) ? proofs.get(keyOf(t, a)) : undefined;
      return p ? withRouteProof(a, p) : a;
    });
    return attempts.every((a, i) => a === t.attempts[i]) ? t : { ...t, attempts };
  });
  return rejudge(report, targets);
}

function proofOf(j: Job, log: string, tag: string): RouteProof {
  if (j.queueId === undefined) return { class: null, relays: null, recipient: null, queueId: null, line: null, note: j.note ?? 'not sent through DATA' };
  return routeFromLog(log, j.queueId, j.attempt.rcptTo, tag);
}

/** One service and transport: the jobs one after another on one session, opened again once if it ends. */
async function sendLane(lane: readonly Job[], o: RouteOptions): Promise<void> {
  let session: { s: SmtpSession; helo: string } | undefined;
  for (const j of lane) {
    for (let attempt = 0; attempt < 2 && j.queueId === undefined; attempt++) {
      try {
        session ??= await open(j, o);
        j.note = undefined;
        await sendOne(session, j);
      } catch (e) {
        if (!(e instanceof SessionError)) throw e;
        j.note = `the session for the proof ended: ${e.message}`;
        session?.s.destroy();
        session = undefined;
      }
    }
  }
  await session?.s.quit({ wait: false });
}

async function open(j: Job, o: RouteOptions): Promise<{ s: SmtpSession; helo: string }> {
  const helo = j.attempt.helo ?? DEFAULT_HELO;
  const { session } = await openSession({
    address: j.target.address,
    port: j.target.port,
    connectTimeoutMs: o.connectTimeoutMs,
    replyTimeoutMs: ROUTE_REPLY_TIMEOUT_MS,
    implicitTls: j.target.transport === 'implicit',
    starttls: j.target.transport === 'starttls',
    helo,
    clientAddress: o.clientAddress,
  });
  return { s: session, helo };
}

/** HELO as the attempt said it, MAIL, every RCPT, DATA and the message: the queue id, or why there is none. */
async function sendOne(session: { s: SmtpSession; helo: string }, j: Job): Promise<void> {
  const { s } = session;
  const a = j.attempt;
  if (a.helo !== null && a.helo !== session.helo) {
    const e = await s.hello(a.helo);
    if (!ok(e.reply)) return refused(j, s, `${e.verb} ${a.helo}`, e.reply);
    session.helo = a.helo;
  }
  const mail = await s.command(`MAIL FROM:${a.mailFrom ?? '<>'}`);
  if (!ok(mail)) return refused(j, s, 'MAIL FROM', mail);
  let last: Reply | undefined;
  for (const r of a.rcptTo) last = await s.command(`RCPT TO:${r}`);
  if (last === undefined || !ok(last)) return refused(j, s, 'the relay destination', last);
  const data = await s.command('DATA');
  if (data.code !== 354) return refused(j, s, 'DATA', data);
  const end = await s.command(PROOF_MESSAGE);
  j.queueId = ok(end) ? queuedAs(end.raw.join(' ')) : undefined;
  if (j.queueId === undefined) j.note = ok(end) ? `the message was accepted without a queue id (${formatReply(end)})` : `the message was refused at the end of DATA when sent for the proof (${formatReply(end)})`;
}

async function refused(j: Job, s: SmtpSession, what: string, r: Reply | undefined): Promise<void> {
  j.note = `${what} was refused when the attempt was sent again for the proof (${r ? formatReply(r) : 'no reply'})`;
  await s.command('RSET');
}

/** Until the instance is done with every message sent, or ROUTE_LOG_WAIT_MS. */
async function waitForLog(jobs: readonly Job[], maillog: () => string): Promise<void> {
  const until = Date.now() + ROUTE_LOG_WAIT_MS;
  const pending = (log: string): boolean => jobs.some((j) => j.queueId !== undefined && !settled(log, j.queueId, j.attempt.rcptTo.length));
  while (pending(maillog()) && Date.now() < until) await new Promise((res) => setTimeout(res, ROUTE_LOG_POLL_MS));
}
