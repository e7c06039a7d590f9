import { mailDomain, serverName } from '../battery/render.js';
import { identifyMta } from '../mta/identify.js';
import type { TargetReport } from '../model/report.js';
import { formatReply, type Reply } from '../smtp/reply.js';
import type { SessionError } from '../smtp/session.js';
import { classifyReply } from '../verdict/classify.js';
import { REPLY_RULES } from '../verdict/replies.js';
import type { BudgetLearner } from './budget.js';
import { CONNECTION_LIMIT } from './connect.js';
import { notRun, ownDomain, positiveMailboxes } from './plan.js';
import { askElsewhere } from './settle.js';
import type { TargetOptions, TargetSpec } from './options.js';

// The first connection tells us the server's name, which the templates need: what follows
// reads what it said, or says why there was none.

/** The outside client is refused for everything: every vector is denied by that one answer. */
export async function clientRefused(report: TargetReport, err: SessionError, refusal: Reply, spec: TargetSpec, opts: TargetOptions): Promise<void> {
  const auth = err.transcript.some((l) => l.dir === 'S' && /^250[- ]AUTH\b/i.test(l.text));
  const c = classifyReply(refusal, 'mail', REPLY_RULES, { auth });
  const reply = formatReply(refusal);
  report.reachable = true;
  report.opening = err.transcript;
  report.attempts = opts.vectors.map((v) => ({ ...notRun(v, ''), outcome: 'denied' as const, reason: `${c.reason} (${err.message.replace(/:.*$/, '')})`, rule: c.rule, reply, tries: 1, connection: 1 }));
  // Nothing was asked, and nothing could be: the refusal covers the postmaster too (RFC 5321
  // §4.5.1's bare <postmaster> when no domain is known).
  const greeting = err.transcript.find((l) => l.dir === 'S' && /^220[ -]/.test(l.text))?.text.slice(4);
  const mailboxes = positiveMailboxes(opts.domain, serverName(greeting), opts.localRecipient);
  if (mailboxes.length === 0) mailboxes.push('<postmaster>');
  report.positiveControl = { accepted: false, sender: null, probes: mailboxes.map((mailbox) => ({ mailbox, accepted: false, reply, rule: c.rule })), note: 'the client was refused before any mail command' };
  if (opts.clientAddress !== undefined && !report.opening.some((l) => l.dir === 'S' && /^250[- ]AUTH\b/i.test(l.text))) {
    report.positiveControl.elsewhere = await askElsewhere(spec, opts, mailboxes[0], `<${opts.probe}@${opts.recipient.domain}>`);
  }
}

/**
 * No SMTP session, so nothing was tested here: the address counts as not
 * reached whether TCP failed or the server would not talk (errorKind says which).
 */
export function unreached(report: TargetReport, err: SessionError, learner: BudgetLearner): void {
  report.reachable = false;
  report.error = err.message;
  report.errorKind = err.kind;
  if (CONNECTION_LIMIT.test(err.message) && learner.frugal !== undefined) {
    // Said once, in the server's words, with when to try again: earlier runs spent the window.
    report.error = `${err.message}: the server limits new connections per client, and earlier connections (other runs too) used up its window; run again once it has passed (Sendmail: ConnectionRateWindowSize, 60 s by default, 10 minutes in Debian's sendmail.mc; Postfix: anvil_rate_time_unit, 60 s)`;
    report.errorKind = 'rate-limited';
  }
  report.opening = err.transcript;
}

/**
 * Sendmail's stock rate control counts every new connection of a client over a window (Debian:
 * 15 per 10 minutes, all runs together) and it has no error sleep to spread refusals against:
 * known from its greeting, it gets few connections with more on each.
 */
export function frugalForSendmail(report: TargetReport, learner: BudgetLearner): void {
  if (identifyMta({ greeting: report.greeting ? [report.greeting] : [], extensions: report.extensions, replies: [] }).name === 'Sendmail') {
    learner.beFrugal('Sendmail counts new connections per client (ClientRate; Debian\'s stock sendmail.mc allows 15 per 10 minutes)');
  }
}

/** The server's mail domain: the `domain` input, or guessed from the server's name. */
export function mydomainOf(report: TargetReport, opts: TargetOptions): string | undefined {
  return opts.domain ?? mailDomain(report.serverName ?? undefined);
}

/**
 * The recipient is one of the server's own: every "relay" here would be local delivery, so
 * say so rather than report an open relay. True when the run stops here.
 */
export function recipientIsLocal(report: TargetReport, opts: TargetOptions, mydomain: string | undefined): boolean {
  const own = ownDomain(opts.recipient.domain, report.serverName ?? undefined, opts.domain, opts.recipientGiven ? mydomain : undefined);
  if (!own) return false;
  report.error = `cannot test: the recipient ${opts.recipient.address} is ${own}, so accepting it is local delivery; set \`recipient\` to a mailbox outside the server's domains`;
  report.errorKind = 'recipient-local';
  report.attempts = opts.vectors.map((v) => ({ ...notRun(v, report.error ?? ''), outcome: 'skipped' as const }));
  return true;
}
