import type { TargetReport } from '../model/report.js';
import type { Strictness } from '../settings.js';
import type { RunVerdict } from '../model/verdict.js';
export type { RunVerdict } from '../model/verdict.js';

/** What the run-level decision needs to know about each tested address. */
export interface TargetTally {
  host: string;
  address: string;
  port: number;
  /** An SMTP session could be set up. */
  reachable: boolean;
  /** At least one attempt ran there and got an answer: reaching an address proves nothing by itself. */
  tested: boolean;
  relayed: number;
  inconclusive: number;
  /** The transport of this run (absent: one run stands for its address and port). */
  transport?: TargetReport['transport'];
  /** Why nothing was tested, when nothing was: the session's error or the first attempt's reason. */
  why?: string;
}

export function tallyOf(t: TargetReport): TargetTally {
  const ran = t.attempts.some((a) => a.outcome !== 'skipped' && a.reply !== null);
  return {
    host: t.host,
    address: t.address,
    port: t.port,
    reachable: t.reachable,
    tested: t.reachable && ran,
    relayed: t.counts.relayed,
    inconclusive: t.counts.inconclusive,
    transport: t.transport,
    why: t.error ?? t.attempts[0]?.reason ?? 'no attempt ran',
  };
}

/** One address and port, whatever the transport: plaintext and STARTTLS runs test the same service. */
const serviceKey = (t: TargetTally): string => `${t.address || t.host}|${t.port}`;

/**
 * Runs that leave their address and port less than tested. A run whose session
 * was set up but that ran nothing on purpose is covered by a tested run of
 * another transport on the same address and port: the plaintext run of a server
 * that demands STARTTLS (its attempts ran inside TLS), the STARTTLS run after
 * plaintext relayed (inside TLS that cannot change). A run whose session could
 * not be set up is never covered: a server that offers STARTTLS and fails the
 * handshake was tested in plaintext only, and what it does inside TLS is
 * unknown (issue 21 §2).
 */
export function untested(targets: readonly TargetTally[]): TargetTally[] {
  const tested = new Set(targets.filter((t) => t.tested).map(serviceKey));
  const seen = new Set<string>();
  return targets.filter((t) => {
    if (t.tested || (t.reachable && tested.has(serviceKey(t)))) return false;
    const k = `${serviceKey(t)}|${t.transport ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * One sentence for a run untested() lists, the same in the warnings and in
 * `strict`'s reasons, so the two never disagree.
 */
export function untestedNote(t: TargetTally): string {
  const where = `${t.address || t.host} port ${t.port}`;
  const why = t.why ?? (t.reachable ? 'no attempt ran' : 'unreachable');
  if (t.transport === 'starttls' && !t.reachable) return `${where}: STARTTLS could not be entered (${why}), so nothing was tested inside it`;
  return `${where}${t.reachable && t.transport ? ` (${t.transport})` : ''} was not tested: ${why}`;
}

/** SPEC §3: open when anything relayed; inconclusive when nothing did but something is unknown or untested. */
export function runVerdict(targets: readonly TargetTally[]): RunVerdict {
  // Nothing tested proves nothing.
  if (targets.length === 0) return 'inconclusive';
  if (targets.some((t) => t.relayed > 0)) return 'open';
  if (targets.some((t) => t.inconclusive > 0) || untested(targets).length > 0) return 'inconclusive';
  return 'closed';
}

export function targetVerdict(t: TargetTally): RunVerdict {
  return runVerdict([t]);
}

/**
 * Why the step fails under the given strictness; empty when it passes.
 * An untested address is only fatal under `normal` when no address of the
 * same host and port was tested (IPv6 on GitHub-hosted runners); a transport
 * offered but not entered (STARTTLS that failed) beside a tested one is a
 * warning under `normal` and fatal under `strict`.
 */
export function failureReasons(targets: readonly TargetTally[], strictness: Strictness): string[] {
  const reasons: string[] = [];
  const relayed = targets.reduce((n, t) => n + t.relayed, 0);
  if (relayed > 0) {
    reasons.push(
      strictness === 'relaxed'
        ? `${relayed} relay attempt(s) were accepted through DATA: the server is an open relay`
        : `${relayed} relay attempt(s) were accepted: the server is an open relay`,
    );
  }
  if (strictness === 'relaxed') return reasons;

  const groups = new Map<string, TargetTally[]>();
  for (const t of targets) {
    const key = t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const [key, group] of groups) {
    if (group.every((t) => !t.tested)) {
      reasons.push(group.some((t) => t.reachable) ? `${key}: no relay attempt could be run on any address` : `${key}: no address could be reached`);
    } else if (strictness === 'strict') {
      for (const t of untested(group)) reasons.push(strictReason(t));
    }
  }
  if (strictness === 'strict') {
    const inconclusive = targets.reduce((n, t) => n + t.inconclusive, 0);
    if (inconclusive > 0) reasons.push(`${inconclusive} attempt(s) were inconclusive (strictness: strict)`);
  }
  return reasons;
}

function strictReason(t: TargetTally): string {
  if (t.transport === 'starttls' && !t.reachable) return untestedNote(t);
  return `${t.address || t.host} port ${t.port} ${t.reachable ? 'was reached but not tested' : 'could not be reached'}`;
}
