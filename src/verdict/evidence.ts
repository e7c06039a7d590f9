import { countAttempts, type AttemptReport, type PositiveControl, type TargetReport } from '../model/report.js';
import { REPLY_RULES } from './replies.js';
import { tallyOf, targetVerdict } from './run.js';

/**
 * The evidence rule (SPEC §3 "Evidence"). A refusal is a relay denial only when
 * it says so (its reply row names a relay decision: relay wording, a refused
 * address form) or when the server showed, to the same client, that it takes
 * mail it must take: its own postmaster (RFC 5321 §4.5.1). A server that
 * refuses this client everything, its own postmaster included, says nothing
 * about relaying with a catch-all "Access denied": the refusal may be about
 * who the client is (a postscreen or firewall list, a reputation check), and
 * behind it the same server may relay for everybody else. CheckTLS scores a
 * relay test only next to such a positive control, for the same reason.
 */

/** What one service (address and port, every transport) showed besides the battery. */
export interface ServiceEvidence {
  /** The positive control of each transport of the service. */
  controls: readonly (PositiveControl | undefined)[];
  /** Some transport of the service offered AUTH: refusing every unauthenticated client is its relay policy (a submission service). */
  auth: boolean;
}

/** Rows of the reply table whose refusals need the evidence (ReplyRule.evidence). */
const NEEDS_EVIDENCE = new Set(REPLY_RULES.filter((r) => r.evidence === 'control').map((r) => r.id));

/** Rows that refuse a recipient as a relay: a positive control refused so was asked at a domain the server does not serve. */
const RELAY_DENIALS = new Set(REPLY_RULES.filter((r) => r.relayDecision === true).map((r) => r.id));

/** The rule id an attempt gets when its refusal proves nothing for want of evidence. */
export const UNPROVEN = 'refusal-without-evidence';

export function needsEvidence(rule: string | null): boolean {
  return rule !== null && NEEDS_EVIDENCE.has(rule);
}

/** Whether the refusals of this service count as relay denials: its own mail gets in, it offers AUTH, or every outsider is refused. */
function hasEvidence(s: ServiceEvidence): boolean {
  return s.controls.some((c) => c?.accepted === true) || s.auth || s.controls.some((c) => c?.elsewhere?.accepted === false);
}

/** Why a catch-all refusal proves nothing here, in the server's own words. */
function missingEvidence(s: ServiceEvidence): string {
  const refused = s.controls.find((c) => c?.accepted === false);
  const elsewhere = s.controls.find((c) => c?.elsewhere?.accepted === true)?.elsewhere;
  if (refused && elsewhere) {
    return `the server refuses this client everything, its own postmaster included, but accepts that mail from ${elsewhere.address} (${elsewhere.reply ?? 'accepted'}): the refusal is about the address tested from, not about relaying, and other clients may relay`;
  }
  if (refused) {
    const refusals = refused.probes.filter((x) => x.accepted === false);
    const p = refusals[0] ?? refused.probes[0];
    if (refusals.length > 0 && refusals.every((x) => RELAY_DENIALS.has(x.rule ?? ''))) {
      return `the positive control was refused as a relay (${p.mailbox}: ${p.reply ?? 'refused'}): that is not a domain this server serves, so nothing shows it takes mail from this client; set \`domain\` to the mail domain it serves (or \`local-recipient\`)`;
    }
    return `the server refuses this client everything, its own postmaster included (${p?.mailbox ?? 'postmaster'}: ${p?.reply ?? 'refused'}): the refusal says nothing about relaying`;
  }
  const note = s.controls.find((c) => c?.note)?.note;
  return `nothing in the reply is about relaying, and whether the server accepts mail for its own domain from this client is unknown${note ? ` (${note})` : ''}: the refusal proves nothing about relaying`;
}

/**
 * An attempt after the evidence rule: a denial by a catch-all row stays a
 * denial where the service shows evidence, or becomes inconclusive saying what is missing.
 */
export function weigh(a: AttemptReport, s: ServiceEvidence): AttemptReport {
  if (a.outcome !== 'denied' || !needsEvidence(a.rule) || hasEvidence(s)) return a;
  return { ...a, outcome: 'inconclusive', rule: UNPROVEN, reason: `refused (${a.reason}, by the row ${a.rule ?? '?'}), but ${missingEvidence(s)}` };
}

/**
 * The evidence rule over one service: every transport (plaintext, STARTTLS) of one address and
 * port, which judge the same client with the same policy. Counts and verdicts follow.
 */
export function weighService(targets: readonly TargetReport[]): TargetReport[] {
  const s: ServiceEvidence = { controls: targets.map((t) => t.positiveControl), auth: targets.some((t) => t.extensions.includes('AUTH')) };
  return targets.map((t) => {
    const attempts = t.attempts.map((a) => weigh(a, s));
    if (attempts.every((a, i) => a === t.attempts[i])) return t;
    const weighed = { ...t, attempts, counts: countAttempts(attempts) };
    return { ...weighed, verdict: targetVerdict(tallyOf(weighed)) };
  });
}
