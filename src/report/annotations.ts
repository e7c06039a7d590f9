import type { Report } from '../model/report.js';
import { fixVerdict } from './diagnosis.js';
import { headline, reachNote } from './summary.js';
import { findings, otherFailReasons, proxiedNotes, whereText } from './view.js';

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  title: string;
  message: string;
  /** Gate mode: the configuration file (as the repository names it) and line the annotation concerns. */
  file?: string;
  line?: number;
}

/**
 * GitHub shows at most 10 error, 10 warning and 10 notice annotations per step
 * (and 50 per job), in the order they were printed, and silently drops the rest:
 * actions/toolkit docs/problem-matchers.md, "Limitations" (added in
 * actions/toolkit#734; the notice level in a later revision). Past this many of
 * a level the last one shown says how many were left out.
 */
export const ANNOTATIONS_PER_LEVEL = 10;

/**
 * The verdict first (it is the one annotation a reader must see: an error when
 * the step fails, else a warning for inconclusive or a notice for closed), then
 * one error per relayed vector (merged across transports and addresses), one
 * warning per inconclusive reason and per untested address; at most
 * ANNOTATIONS_PER_LEVEL per level, the last saying how many more the summary
 * has. @actions/core escapes the properties and message of each, so server text
 * cannot break out.
 */
export function annotations(r: Report): Annotation[] {
  const first = verdictAnnotation(r);
  const rest = detailAnnotations(r);
  const out: Annotation[] = [first];
  for (const level of ['error', 'warning', 'notice'] as const) {
    const room = ANNOTATIONS_PER_LEVEL - (first.level === level ? 1 : 0);
    const of = rest.filter((a) => a.level === level);
    if (of.length <= room) {
      out.push(...of);
      continue;
    }
    out.push(...of.slice(0, room - 1));
    out.push({
      level,
      title: 'More in the job summary',
      message: `${of.length - (room - 1)} more ${level} annotation(s) left out (GitHub shows ${ANNOTATIONS_PER_LEVEL} per level per step); the job summary and the JSON report list them all.`,
    });
  }
  return out;
}

function verdictAnnotation(r: Report): Annotation {
  const reach = reachNote(r);
  // The proxied view first, as in the summary: it changes what the verdict means.
  const proxied = proxiedNotes(r).map((n) => `${n.replace(/`/g, '')} `).join('');
  const text = `${proxied}${headline(r)}${reach ? ` ${reach.replace(/`/g, '')}` : ''}`;
  if (r.failed) {
    const title = r.verdict === 'open' ? 'relay-check: open relay' : `relay-check: ${r.verdict}`;
    const more = otherFailReasons(r);
    return { level: 'error', title, message: `${text} The step fails${more.length ? `: ${more.join('; ')}` : ''}.` };
  }
  if (r.verdict === 'open') return { level: 'error', title: 'relay-check: open relay', message: text };
  if (r.verdict === 'inconclusive') return { level: 'warning', title: 'relay-check: inconclusive', message: text };
  return { level: 'notice', title: 'relay-check: not an open relay', message: text };
}

function detailAnnotations(r: Report): Annotation[] {
  const out: Annotation[] = [];
  // Gate mode, first of the errors: the lines the diagnosis points at, so they show on the pull request's files.
  const dir = (r.gate?.configDir ?? '').replace(/\/+$/, '');
  const placed = new Set<string>();
  for (const fix of r.gate?.fixes ?? []) {
    // The cause the effective configuration named at this line, else the diagnosis row the fix came from.
    const cause = (r.gate?.causes ?? []).find((c) => c.places[0] && c.places[0].file === fix.places[0]?.file && c.places[0].line === fix.places[0]?.line);
    const finding = (r.diagnosis ?? []).flatMap((d) => d.findings).find((f) => f.rule === fix.rule);
    const why = cause ? `On ${cause.service}: ${cause.sentence}` : finding?.cause ?? '';
    for (const p of fix.places) {
      placed.add(`${p.file}:${p.line}`);
      out.push({
        level: 'error',
        title: `Why it relays: ${p.setting}`,
        message: `${why.replace(/`/g, '')}\n${fixVerdict(fix)}\n${fix.diff}`,
        file: `${dir}/${p.file}`,
        line: p.line,
      });
    }
  }
  // Causes with no change to prove (relay_domains, a table in mynetworks) still point at their line.
  for (const c of r.gate?.causes ?? []) {
    const p = c.places[0];
    if (!p || placed.has(`${p.file}:${p.line}`)) continue;
    placed.add(`${p.file}:${p.line}`);
    out.push({ level: 'error', title: `Why it relays: ${p.setting}`, message: `On ${c.service}: ${c.sentence.replace(/`/g, '')}`, file: `${dir}/${p.file}`, line: p.line });
  }
  for (const f of findings(r, ['relayed'])) {
    out.push({
      level: 'error',
      title: `Open relay: ${f.vector}`,
      message: `${f.description}, on ${whereText(f.where)}: ${f.helo !== null ? `HELO ${f.helo}, ` : ''}MAIL FROM:${f.mailFrom ?? ''} RCPT TO:${f.rcptTo.join(' ')} was answered ${f.reply ?? f.reason}`,
    });
  }
  // Vectors, as the summary counts them: the same vector inconclusive on two transports is one.
  const reasons = new Map<string, { ids: Set<string>; where: ReturnType<typeof findings>[number]['where'] }>();
  for (const f of findings(r, ['inconclusive'])) {
    const e = reasons.get(f.reason) ?? { ids: new Set<string>(), where: [] };
    e.ids.add(f.vector);
    for (const w of f.where) if (!e.where.some((x) => x.label === w.label)) e.where.push(w);
    reasons.set(f.reason, e);
  }
  for (const [reason, e] of reasons) {
    out.push({ level: 'warning', title: 'Inconclusive', message: `${e.ids.size} vector(s) on ${whereText(e.where)}: ${reason}` });
  }
  // A warning that is also why the step fails (strict: STARTTLS not entered) is in the error already.
  // The identity tricks' notes (XFORWARD offered, an AUTH with nothing accepted) are not about an untested address.
  const doors = new Set(r.targets.flatMap((t) => t.doors?.notes ?? []));
  for (const w of r.warnings) if (!r.failReasons.includes(w)) out.push({ level: 'warning', title: doors.has(w) ? 'Identity door' : 'Address not tested', message: w });
  // Gate mode: what could not be tested here, on its line (a gap in what the gate proves).
  const gate = r.gate;
  const dirOf = (gate?.configDir ?? '').replace(/\/+$/, '');
  for (const c of gate?.changes.filter((x) => !x.tested) ?? []) {
    out.push({ level: 'warning', title: 'Not tested here', message: `${c.subject}: ${c.change}`, file: `${dirOf}/${c.file}`, ...(c.line !== null ? { line: c.line } : {}) });
  }
  // What the gate changed to run on a runner is its own doing, not something wrong in the pull
  // request's files: one notice listing them, on no file (annotations on files are for findings).
  const changed = gate?.changes.filter((x) => x.tested) ?? [];
  if (changed.length > 0) {
    out.push({
      level: 'notice',
      title: `Changed to run on a runner (${changed.length})`,
      message: changed.map((c) => `${c.file}${c.line !== null ? `:${c.line}` : ''} ${c.subject}: ${c.change}`).join('; '),
    });
  }
  return out;
}
