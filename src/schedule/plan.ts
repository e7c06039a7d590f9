import { mailDomain, NAME_PLACEHOLDERS, renderVector } from '../battery/render.js';
import type { Vector } from '../battery/vectors.js';
import type { AttemptReport, PositiveControl } from '../model/report.js';
import type { ControlResult } from '../verdict/controls.js';
import type { Job } from './queue.js';

/**
 * The plain attempt: an outside sender to an outside recipient under relay-check's own HELO.
 * Only this one stops the run when it relays (stopWhenOpen): another vector that trusts nothing
 * either (recipient-as-sender) may be accepted for its one sender address, which says nothing
 * of what else the server relays.
 */
export const PLAIN_ATTEMPT = 'external-sender';

export function isPlainAttempt(v: Vector): boolean {
  return v.id === PLAIN_ATTEMPT;
}

/**
 * The positive control's mailboxes (RFC 5321 §4.5.1: postmaster at every domain a server
 * serves must be accepted): postmaster@ the `domain` input and @ the domain of the server's
 * name where it differs, and the `local-recipient` input.
 */
export function positiveMailboxes(domain: string | undefined, srv: string | undefined, local: string | undefined): string[] {
  const domains = [...new Set([domain, mailDomain(srv)].filter((d): d is string => d !== undefined && d.includes('.')).map((d) => d.toLowerCase()))];
  return [...domains.map((d) => `<postmaster@${d}>`), ...(local ? [`<${local}>`] : [])];
}

const POSITIVE_VECTOR: Vector = { id: 'positive-control', description: 'Positive control: a mailbox the server must accept', provenance: 'RFC 5321 §4.5.1; CheckTLS relay test', mailFrom: '', rcptTo: [] };

/** The positive control before anything is asked: one unanswered probe per mailbox. */
export function newPositiveControl(mailboxes: readonly string[]): PositiveControl {
  return {
    accepted: null,
    sender: null,
    probes: mailboxes.map((mailbox) => ({ mailbox, accepted: null, reply: null, rule: null })),
    note: mailboxes.length === 0 ? 'not asked: no mail domain is known (the server gave no host name with a domain in it, and `domain` is not set)' : null,
  };
}

/** What rendering the vectors needs to know of the run and the server. */
export interface PlanInput {
  vectors: readonly Vector[];
  recipient: { user: string; domain: string };
  probe: string;
  helo: string;
  address: string;
  srv: string | undefined;
  mydomain: string | undefined;
  /** The plain attempts first: their answer decides whether anything else runs. */
  plainFirst: boolean;
  /** The positive control's mailboxes, asked with this sender. */
  mailboxes: readonly string[];
  plainSender: string;
}

/**
 * Vectors into jobs, in the order they run: the plain attempts, then the positive control
 * (asked early, before refusals can spend the error budget, with the plain sender; a refused
 * sender is retried like a vector's), then the rest. A vector that cannot be rendered for this
 * server gets its result at once.
 */
export function planJobs(p: PlanInput): { jobs: Job[]; results: Map<string, AttemptReport> } {
  const jobs: Job[] = [];
  const results = new Map<string, AttemptReport>();
  const positiveJobs: Job[] = p.mailboxes.map((m) => ({ rendered: { vector: POSITIVE_VECTOR, helo: p.helo, mailFrom: p.plainSender, rcptTo: [m] }, tries: 0, earlier: [], positive: m }));
  const ordered = p.plainFirst ? [...p.vectors.filter(isPlainAttempt), ...p.vectors.filter((v) => !isPlainAttempt(v))] : p.vectors;
  let positiveQueued = false;
  for (const v of ordered) {
    if (!positiveQueued && !isPlainAttempt(v)) {
      jobs.push(...positiveJobs);
      positiveQueued = true;
    }
    const r = renderVector(v, { user: p.recipient.user, domain: p.recipient.domain, probe: p.probe, helo: p.helo, address: p.address, srv: p.srv, mydomain: p.mydomain });
    if (r.ok) jobs.push({ rendered: r.attempt, tries: 0, earlier: [] });
    // Without the server's name these vectors still apply, untested: inconclusive, not skipped.
    else if (NAME_PLACEHOLDERS.has(r.missing)) results.set(v.id, notRun(v, `not tested: ${r.reason}`));
    else results.set(v.id, { ...notRun(v, r.reason), outcome: 'skipped' });
  }
  if (!positiveQueued) jobs.push(...positiveJobs);
  return { jobs, results };
}

/**
 * A control probe for a server name an accepted routing trick was addressed to: a mailbox
 * that cannot exist there. It is sent with the sender the trick was accepted with: a server
 * that refuses relay-check's plain sender (a DNS check on it, say) would refuse the control
 * at MAIL and prove nothing about the mailbox.
 */
export function controlJob(d: string, sender: string, nonce: string, helo: string): { control: ControlResult; job: Job } {
  const mailbox = d === '' ? `<relay-check-nx-${nonce}>` : `<relay-check-nx-${nonce}@${d}>`;
  const vector: Vector = { id: `control:${d || 'unqualified'}`, description: 'Control: a mailbox that does not exist', provenance: 'relay-check control probe', mailFrom: '', rcptTo: [] };
  return { control: { domain: d, mailbox, accepted: null, reply: null }, job: { rendered: { vector, helo, mailFrom: sender, rcptTo: [mailbox] }, tries: 0, earlier: [], control: d } };
}

/**
 * Which of the server's own names the recipient's domain is, if any: its host
 * name, the `domain` input, or the mail domain guessed from its name when the
 * user chose the recipient (the default's reserved domain is never a server's).
 */
export function ownDomain(rcptDomain: string, srv: string | undefined, domain: string | undefined, guessed: string | undefined): string | undefined {
  const d = rcptDomain.toLowerCase();
  if (srv !== undefined && d === srv.toLowerCase()) return `at ${srv}, the name the server gives itself`;
  if (domain !== undefined && d === domain) return `in ${domain}, the mail domain the server serves`;
  if (guessed !== undefined && d === guessed.toLowerCase()) return `in ${guessed}, the domain of the server's name ${srv ?? ''} (set \`domain\` if it does not serve ${guessed})`;
  return undefined;
}

/**
 * Whether a vector exists for more than its sender (a recipient form, a HELO
 * name, a local recipient first): when its sender is refused, that part was
 * never evaluated and is worth a retry with a sender the server accepts.
 */
export function testsMoreThanSender(v: Vector): boolean {
  return v.helo !== undefined || v.rcptTo.length !== 1 || v.rcptTo[0] !== '<{user}@{domain}>';
}

export function notRun(v: Vector, reason: string): AttemptReport {
  return {
    routedVia: null,
    vector: v.id,
    description: v.description,
    provenance: v.provenance,
    helo: null,
    mailFrom: null,
    rcptTo: [],
    outcome: 'inconclusive',
    reason,
    rule: null,
    reply: null,
    stage: null,
    connection: null,
    tries: 0,
    transcript: [],
  };
}
