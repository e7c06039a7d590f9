import type { TargetReport } from '../report/model.js';
import type { Strictness } from '../settings.js';

export type RunVerdict = 'open' | 'closed' | 'inconclusive';

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
}

export function tallyOf(t: TargetReport): TargetTally {
  const ran = t.attempts.some((a) => a.outcome !== 'skipped' && a.reply !== null);
  return { host: t.host, address: t.address, port: t.port, reachable: t.reachable, tested: t.reachable && ran, relayed: t.counts.relayed, inconclusive: t.counts.inconclusive };
}

/** One address and port, whatever the transport: plaintext and STARTTLS runs test the same service. */
const serviceKey = (t: TargetTally): string => `${t.address || t.host}|${t.port}`;

/** Services (address and port) where no attempt ran on any transport. */
function untested(targets: readonly TargetTally[]): TargetTally[] {
  const tested = new Set(targets.filter((t) => t.tested).map(serviceKey));
  const seen = new Set<string>();
  return targets.filter((t) => {
    const k = serviceKey(t);
    if (tested.has(k) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
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
 * same host and port was tested (IPv6 on GitHub-hosted runners).
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
      for (const t of untested(group)) reasons.push(`${t.address || t.host} port ${t.port} ${t.reachable ? 'was reached but not tested' : 'could not be reached'}`);
    }
  }
  if (strictness === 'strict') {
    const inconclusive = targets.reduce((n, t) => n + t.inconclusive, 0);
    if (inconclusive > 0) reasons.push(`${inconclusive} attempt(s) were inconclusive (strictness: strict)`);
  }
  return reasons;
}
