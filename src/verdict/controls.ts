import type { MtaIdentity } from '../mta/identify.js';
import type { AttemptReport } from '../model/report.js';
import { routingDecision } from './routing.js';

export interface ControlResult {
  /** The server name probed ('' for an unqualified local part). */
  domain: string;
  mailbox: string;
  /** true: accepted (any mailbox goes); false: refused; null: undecided. */
  accepted: boolean | null;
  reply: string | null;
}

/** The run's plain attempt from this sender to this one outside address (no routing form), if one ran. */
export type PlainTwin = (mailFrom: string | null, address: string) => AttemptReport | undefined;

/**
 * Final word on an attempt once the controls and the MTA are known. An
 * accepted local mailbox is local delivery: skipped. An accepted trick
 * addressed to a server name that accepts any mailbox cannot be told from
 * local delivery by its reply: the routing table (./routing.ts) decides by
 * what the MTA does with the form; where it cannot, the attempt counts as
 * inconclusive (not dropped from the counts: `strict` must see it).
 */

export function settle(a: AttemptReport, controls: ReadonlyMap<string, ControlResult>, mta?: MtaIdentity, twin?: PlainTwin): AttemptReport {
  if (a.outcome === 'inconclusive' && a.rule === 'accepted-local') {
    return { ...a, outcome: 'skipped', reason: `not a relay test here: ${a.reason}` };
  }
  const c = a.routedVia === null ? undefined : controls.get(a.routedVia);
  if (a.outcome === 'relayed' && c?.accepted === true) {
    const where = c.domain === '' ? 'as an unqualified local part' : `at ${c.domain}`;
    const accepted = `accepted, but the server accepts any mailbox ${where} (control ${c.mailbox} was accepted: ${c.reply ?? ''})`;
    const d = routingDecision(a.rcptTo[a.rcptTo.length - 1] ?? '', mta);
    // Postfix judges user%host@its-name as user@host only while allow_percent_hack (swap_bangpath) is on. Its plain
    // twin refused means the form was not rewritten: a local mailbox at a catch-all (measured with allow_percent_hack = no).
    const plain = d.decision === 'relayed' && d.rewritten ? twin?.(a.mailFrom, d.rewritten) : undefined;
    if (plain?.outcome === 'denied') {
      return { ...a, outcome: 'inconclusive', rule: 'accepted-catch-all', reason: `${accepted}: ${mta?.name ?? 'the MTA'} judges this form as ${d.rewritten} only while it rewrites it (allow_percent_hack, swap_bangpath, resolve_dequoted_address), and ${plain.vector} to ${d.rewritten} with the same sender was refused (${plain.reply ?? 'refused'}): so it was not rewritten and went to a local mailbox; gate mode (\`postfix-config\`) proves where it goes` };
    }
    if (d.decision === 'relayed') return { ...a, rule: 'accepted-routed', reason: `${accepted}; it relays: ${d.why}` };
    if (d.decision === 'skipped') return { ...a, outcome: 'skipped', rule: 'accepted-not-routed', reason: `not a relay test here: ${accepted}; ${d.why}` };
    return { ...a, outcome: 'inconclusive', rule: 'accepted-catch-all', reason: `${accepted}: ${d.why}` };
  }
  if (a.outcome === 'relayed' && c !== undefined && c.accepted === null) {
    // Addressed to the server itself and the control said nothing: the acceptance may be local delivery.
    const where = c.domain === '' ? 'as an unqualified local part' : `at ${c.domain}`;
    return { ...a, outcome: 'inconclusive', rule: 'accepted-control-undecided', reason: `accepted, but whether the server accepts any mailbox ${where} is unknown: the control ${c.mailbox} got ${c.reply ?? 'no answer'}` };
  }
  return a;
}
