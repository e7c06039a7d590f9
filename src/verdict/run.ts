import type { Strictness } from '../settings.js';

export type RunVerdict = 'open' | 'closed' | 'inconclusive';

/** What the run-level decision needs to know about each tested address. */
export interface TargetTally {
  host: string;
  address: string;
  port: number;
  reachable: boolean;
  relayed: number;
  inconclusive: number;
}

/** SPEC §3: open when anything relayed; inconclusive when nothing did but something is unknown. */
export function runVerdict(targets: readonly TargetTally[]): RunVerdict {
  // Nothing tested proves nothing.
  if (targets.length === 0) return 'inconclusive';
  if (targets.some((t) => t.relayed > 0)) return 'open';
  if (targets.some((t) => !t.reachable || t.inconclusive > 0)) return 'inconclusive';
  return 'closed';
}

export function targetVerdict(t: TargetTally): RunVerdict {
  return runVerdict([t]);
}

/**
 * Why the step fails under the given strictness; empty when it passes.
 * An unreachable address is only fatal under `normal` when no address of the
 * same host and port could be reached (IPv6 on GitHub-hosted runners).
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
    if (group.every((t) => !t.reachable)) reasons.push(`${key}: no address could be reached`);
    else if (strictness === 'strict') {
      for (const t of group.filter((x) => !x.reachable)) reasons.push(`${t.address || t.host} port ${t.port} could not be reached`);
    }
  }
  if (strictness === 'strict') {
    const inconclusive = targets.reduce((n, t) => n + t.inconclusive, 0);
    if (inconclusive > 0) reasons.push(`${inconclusive} attempt(s) were inconclusive (strictness: strict)`);
  }
  return reasons;
}
