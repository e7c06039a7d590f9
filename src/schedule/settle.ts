import type { AttemptReport, PositiveControl } from '../model/report.js';
import { identifyMta } from '../mta/identify.js';
import { formatReply } from '../smtp/reply.js';
import type { SmtpSession } from '../smtp/session.js';
import { openSession } from '../smtp/setup.js';
import { classifyReply } from '../verdict/classify.js';
import { settle } from '../verdict/controls.js';
import { needsEvidence } from '../verdict/evidence.js';
import { asSessionError, setupFor } from './connect.js';
import { notRun } from './plan.js';
import type { TargetRun } from './run.js';
import type { TargetOptions, TargetSpec } from './options.js';

/**
 * An outside address no mail server trusts, for the second look at a server that refuses the
 * client everything (through XCLIENT): k.root-servers.net's, which is in no bogon or
 * documentation list (a filter of those would refuse it for what it is) and in nobody's mynetworks.
 */
export const SECOND_OUTSIDER = '193.0.14.129';

/** The sender to retry a recipient form with: one the server accepted and that did not relay by itself. */
function fallbackSender(accepted: ReadonlyMap<string, boolean>, plain: string): string | undefined {
  const neutral = [...accepted].filter(([, relayed]) => !relayed).map(([s]) => s);
  return neutral.find((s) => s === plain) ?? neutral.find((s) => s !== '<>') ?? neutral[0] ?? [...accepted.keys()][0];
}

/**
 * The vectors whose sender was refused go back on the queue with a sender the server
 * accepted (their recipient form or HELO was never evaluated), or are recorded with why not.
 * True when any went back, for a second pass.
 */
export function retryRefusedSenders(run: TargetRun): boolean {
  if (run.senderRefused.length === 0) return false;
  const sender = fallbackSender(run.acceptedSenders, run.plainSender);
  for (const job of run.senderRefused.splice(0)) {
    const refusal = job.senderRefusal;
    if (!refusal) continue;
    if (run.stop !== undefined) {
      run.record(job, undefined, { ...refusal.fields, reason: `${refusal.fields.reason}; the recipient form was not retried with another sender: the plain attempt relayed` }, []);
    } else if (sender !== undefined && sender !== refusal.mailFrom && Date.now() < run.opts.deadline) {
      job.rendered = { ...job.rendered, mailFrom: sender };
      job.tries = 0;
      run.queue.push(job);
    } else {
      const why = sender === undefined ? 'no sender got as far as a recipient decision on this server in this run' : 'the run deadline was reached';
      run.record(job, undefined, { ...refusal.fields, reason: `${refusal.fields.reason}; the recipient form was not tried: ${why} (set \`sender\` to an address the server accepts)` }, []);
    }
  }
  return run.queue.size > 0;
}

/**
 * The run's answers into the report: the controls, the positive control (and the second
 * outsider's look where it refused everything), the MTA, and each vector settled by them.
 */
export async function settleTarget(run: TargetRun, pausesBefore: number): Promise<void> {
  const { report, positive, results, controls, opts, spec } = run;
  const { learner } = run.state;
  report.errorBudget = learner.shown;
  if (run.stop !== undefined) report.stopped = { after: run.stop.after, notRun: run.notRunOpen };
  if (learner.pauses > pausesBefore) report.pauses = learner.pauses - pausesBefore;
  report.controls = [...controls.values()];
  positive.accepted = positive.probes.some((p) => p.accepted === true) ? true : positive.probes.some((p) => p.accepted === false) ? false : null;
  report.positiveControl = positive;
  // Refused everything, its own postmaster included, while testing as another client: ask as a
  // second outsider whether that refusal is about the address tested from or about every outsider.
  const catchAll = [...results.values()].some((a) => a.outcome === 'denied' && needsEvidence(a.rule));
  if (positive.accepted === false && catchAll && opts.clientAddress !== undefined && !report.extensions.includes('AUTH') && Date.now() < opts.deadline) {
    positive.elsewhere = await askElsewhere(spec, opts, positive.probes[0].mailbox, positive.sender ?? run.plainSender);
  }
  // Before settle: whether an accepted routing form relays depends on the MTA.
  if (report.greeting !== null) {
    report.mta = identifyMta({
      greeting: report.opening.filter((l) => l.dir === 'S' && /^220[ -]/.test(l.text)).map((l) => l.text),
      extensions: report.extensions,
      replies: [...[...results.values()].map((a) => a.reply), ...report.controls.map((c) => c.reply)],
    });
  }
  // Plain attempts by sender and recipient, for a routed form's plain twin (src/verdict/controls.ts).
  const bare = (m: string | null): string => (m ?? '').replace(/^\s*<|>\s*$/g, '').toLowerCase();
  const plain = new Map([...results.values()].filter((x) => x.rcptTo.length === 1 && x.routedVia === null).map((x) => [`${bare(x.mailFrom)} ${bare(x.rcptTo[0])}`, x]));
  const twin = (mailFrom: string | null, address: string): AttemptReport | undefined => plain.get(`${bare(mailFrom)} ${address}`);
  report.attempts = opts.vectors.map((v) => settle(results.get(v.id) ?? notRun(v, 'not run'), controls, report.mta, twin));
}

/**
 * The positive control asked as SECOND_OUTSIDER through XCLIENT, on a connection of its own
 * (RCPT only): refused there too, the server refuses every outside client; accepted, its
 * refusals were about the address tested from.
 */
export async function askElsewhere(spec: TargetSpec, opts: TargetOptions, mailbox: string, sender: string): Promise<NonNullable<PositiveControl['elsewhere']>> {
  const address = SECOND_OUTSIDER;
  let session: SmtpSession | undefined;
  try {
    ({ session } = await openSession(setupFor(spec, opts, opts.helo, address)));
    const mail = await session.command(`MAIL FROM:${sender}`);
    // A refused sender says nothing about the mailbox, unless the refusal is of the client.
    if (mail.code >= 300) return { address, accepted: classifyReply(mail, 'mail').subject === 'client' ? false : null, reply: formatReply(mail) };
    const rcpt = await session.command(`RCPT TO:${mailbox}`);
    return { address, accepted: rcpt.code < 300, reply: formatReply(rcpt) };
  } catch (e) {
    const err = asSessionError(e);
    if (err.kind === 'client-refused' && err.reply) return { address, accepted: false, reply: formatReply(err.reply) };
    return { address, accepted: null, reply: err.message };
  } finally {
    await session?.quit();
  }
}
