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
 * Final word on an attempt once the controls are known: an accepted trick
 * addressed to a server name that accepts any mailbox, and an accepted local
 * mailbox, are not relays and cannot be told from local delivery here.
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
      outcome: 'skipped',
      reason: `not testable here: the server accepts any mailbox ${where} (control ${c.mailbox} was accepted: ${c.reply ?? ''}), so accepting this form does not show it would leave the server`,
    };
  }
  return a;
}
