import type { AttemptReport } from '../report/model.js';

export interface ControlResult {
  /** The server name probed ('' for an unqualified local part). */
  domain: string;
  mailbox: string;
  /** true: accepted (any mailbox goes); false: refused; null: undecided. */
  accepted: boolean | null;
  reply: string | null;
}

/**
 * Final word on an attempt once the controls are known. An accepted local
 * mailbox is local delivery: skipped. An accepted trick addressed to a server
 * name that accepts any mailbox cannot be told from local delivery by its
 * reply: whether the MTA then routes it onward is unknown, so it counts as
 * inconclusive (it is not dropped from the counts: `strict` must see it).
 */
export function settle(a: AttemptReport, controls: ReadonlyMap<string, ControlResult>): AttemptReport {
  if (a.outcome === 'inconclusive' && a.rule === 'accepted-local') {
    return { ...a, outcome: 'skipped', reason: `not a relay test here: ${a.reason}` };
  }
  const c = a.routedVia === null ? undefined : controls.get(a.routedVia);
  if (a.outcome === 'relayed' && c?.accepted === true) {
    const where = c.domain === '' ? 'as an unqualified local part' : `at ${c.domain}`;
    return {
      ...a,
      outcome: 'inconclusive',
      rule: 'accepted-catch-all',
      reason: `accepted, but the server accepts any mailbox ${where} (control ${c.mailbox} was accepted: ${c.reply ?? ''}): whether it routes this form onward depends on the MTA`,
    };
  }
  return a;
}
