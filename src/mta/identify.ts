import { EVIDENCE_RULES, type EvidenceRule } from './evidence.js';
import type { MtaEvidence, MtaIdentity } from '../model/mta.js';
export type { MtaEvidence, MtaIdentity } from '../model/mta.js';

/** What identification reads: the parts of a target's run that came from the server. */
export interface MtaInput {
  /** The greeting's raw lines (with codes). */
  greeting: readonly string[];
  /** EHLO keywords in the order offered. */
  extensions: readonly string[];
  /** Replies to attempts and control probes, each as sent (lines joined by " / "). */
  replies: readonly (string | null)[];
}

/** Bounded: a hostile server can send many replies; a few of each row are enough. */
const MAX_REPLIES = 500;

function textsFor(rule: EvidenceRule, input: MtaInput): string[] {
  if (rule.source === 'greeting') return input.greeting.length > 0 ? [input.greeting.join('\n')] : [];
  if (rule.source === 'ehlo') return input.extensions.length > 0 ? [input.extensions.join(' ')] : [];
  return input.replies.slice(0, MAX_REPLIES).filter((r): r is string => r !== null);
}

/**
 * Which MTA answered, by the evidence table. Each row counts once (its weight)
 * however often it matched; the MTA with the most weight wins. Rows pointing at
 * different MTAs with equal weight leave it unknown: guessing would be worse.
 */
export function identifyMta(input: MtaInput, rules: readonly EvidenceRule[] = EVIDENCE_RULES): MtaIdentity {
  const hits: { rule: EvidenceRule; seen: string; version: string | null }[] = [];
  for (const rule of rules) {
    for (const text of textsFor(rule, input)) {
      const m = rule.pattern.exec(text);
      if (!m) continue;
      const version = rule.versionGroup !== undefined ? (m[rule.versionGroup] ?? null) : null;
      hits.push({ rule, seen: text.length > 300 ? `${text.slice(0, 300)}…` : text, version });
      break;
    }
  }
  const score = new Map<string, number>();
  for (const h of hits) score.set(h.rule.mta, (score.get(h.rule.mta) ?? 0) + h.rule.weight);
  const ranked = [...score.entries()].sort((a, b) => b[1] - a[1]);
  const evidence = (of: typeof hits): MtaEvidence[] => of.map((h) => ({ rule: h.rule.id, what: h.rule.what, seen: h.seen }));
  if (ranked.length === 0 || (ranked.length > 1 && ranked[0][1] === ranked[1][1])) {
    return { name: 'unknown', version: null, confidence: 'none', evidence: evidence(hits) };
  }
  const [name, points] = ranked[0];
  const mine = hits.filter((h) => h.rule.mta === name);
  const named = mine.some((h) => h.rule.weight === 3);
  // Another MTA's hints beside the winner's lower the confidence: a proxy or a rewritten banner.
  const contested = ranked.length > 1;
  const confidence = named && points >= 4 && !contested ? 'high' : points >= 3 || (named && !contested) ? 'medium' : 'low';
  return { name, version: mine.find((h) => h.version !== null)?.version ?? null, confidence, evidence: evidence(hits) };
}

/**
 * The evidence for the identified MTA that comes from what the server did (its
 * EHLO keywords in that MTA's fixed order, its reply shapes) rather than from what
 * its greeting says: a banner is one setting and can name any MTA, while the order
 * of EHLO lines and the wording of replies come from the MTA's code. Empty when the
 * MTA is known from its greeting alone.
 */
export function behaviouralEvidence(m: MtaIdentity, rules: readonly EvidenceRule[] = EVIDENCE_RULES): MtaEvidence[] {
  const byId = new Map(rules.map((r) => [r.id, r]));
  return m.evidence.filter((e) => {
    const row = byId.get(e.rule);
    return row !== undefined && row.mta === m.name && row.source !== 'greeting';
  });
}
