import type { AttemptReport, RouteProof } from '../model/report.js';

/**
 * Gate mode: an accepted attempt decided by where the private instance really
 * put its relay destination, not by the reply. The reply to RCPT cannot tell
 * local delivery from relaying (a catch-all domain takes `user%ext@domain` as
 * readily as its own mailboxes); the instance's log can. Where the log showed
 * nothing, the attempt stays as the reply and the controls decided it.
 */

/** Rules of an attempt whose relay destination was accepted at RCPT (or through DATA), whatever the controls then made of it. */
const ACCEPTED_RULES = new Set(['accepted', 'accepted-local', 'accepted-routed', 'accepted-not-routed', 'accepted-catch-all', 'accepted-control-undecided']);

export function acceptedAttempt(a: AttemptReport): boolean {
  return a.rule !== null && ACCEPTED_RULES.has(a.rule);
}

const CLASS_TEXT: Record<NonNullable<RouteProof['class']>, string> = {
  default: 'the default transport (mail for a domain it is not final for)',
  relay: 'the relay transport (mail for relay_domains, which it passes on)',
  local: 'the local transport (a domain it is final for; what local(8) would do with it, aliases and .forward, is not run here)',
  virtual: 'the virtual mailbox transport (a domain it keeps mailboxes for)',
  bounced: 'no transport: it returned the message to the sender itself (status=bounced)',
};

/** The rule of an attempt the instance's log showed delivered locally: accepted, and no relay. */
export const ROUTED_LOCAL = 'routed-local';

/** The attempt with its proof; decided by it where the log showed the class. */
export function withRouteProof(a: AttemptReport, proof: RouteProof): AttemptReport {
  if (proof.relays === null || proof.class === null) return { ...a, route: proof };
  const quoted = `Postfix's log: ${proof.line ?? ''}`;
  if (proof.relays) {
    return { ...a, route: proof, outcome: 'relayed', rule: 'routed-onward', reason: `accepted, and the private instance handed ${proof.recipient ?? 'it'} to ${CLASS_TEXT[proof.class]}: it relays. ${quoted}` };
  }
  const where = proof.class === 'bounced' ? CLASS_TEXT.bounced : `delivered ${proof.recipient ?? 'it'} to ${CLASS_TEXT[proof.class]}`;
  return { ...a, route: proof, outcome: 'skipped', rule: ROUTED_LOCAL, reason: `not a relay: accepted, and the private instance ${where}. ${quoted}` };
}
