import type { Report } from './model.js';
import { targetLabel } from './summary.js';

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  title: string;
  message: string;
}

/**
 * One error per relayed vector, one warning per distinct inconclusive reason
 * (per address), a notice for a clean pass. @actions/core escapes the
 * properties and message of each, so server text cannot break out.
 */
/**
 * GitHub shows only the first few annotations of each kind per step; a fleet of
 * open relays would print thousands. Past this many of a level, one more
 * annotation says how many were left out (the summary and JSON have them all).
 */
export const ANNOTATIONS_PER_LEVEL = 50;

export function annotations(r: Report): Annotation[] {
  const all = everyAnnotation(r);
  const out: Annotation[] = [];
  for (const level of ['error', 'warning', 'notice'] as const) {
    const of = all.filter((a) => a.level === level);
    out.push(...of.slice(0, ANNOTATIONS_PER_LEVEL));
    if (of.length > ANNOTATIONS_PER_LEVEL) {
      out.push({ level, title: 'More in the job summary', message: `${of.length - ANNOTATIONS_PER_LEVEL} more ${level} annotation(s) left out; the job summary and the JSON report list them all.` });
    }
  }
  return out;
}

function everyAnnotation(r: Report): Annotation[] {
  const out: Annotation[] = [];
  for (const t of r.targets) {
    const where = targetLabel(t);
    for (const a of t.attempts) {
      if (a.outcome !== 'relayed') continue;
      out.push({
        level: 'error',
        title: `Open relay: ${where} ${a.vector}`,
        message: `${a.description}. MAIL FROM:${a.mailFrom} RCPT TO:${a.rcptTo.join(' ')} was answered ${a.reply ?? ''}`,
      });
    }
    const reasons = new Map<string, number>();
    for (const a of t.attempts) if (a.outcome === 'inconclusive') reasons.set(a.reason, (reasons.get(a.reason) ?? 0) + 1);
    for (const [reason, n] of reasons) {
      out.push({ level: 'warning', title: `Inconclusive: ${where}`, message: `${n} attempt(s): ${reason}` });
    }
  }
  for (const w of r.warnings) out.push({ level: 'warning', title: 'Address not tested', message: w });
  if (r.verdict === 'closed') {
    out.push({
      level: 'notice',
      title: 'Not an open relay',
      message: `All ${r.counts.tests} relay attempts on ${r.targets.length} address(es) were refused.`,
    });
  }
  return out;
}
