import { code, mdText } from './escape.js';
import type { BaseChange, BaseReport, GateReport } from '../model/report.js';

/**
 * "Against the base": what the pull request did to the relay, per master.cf
 * service and vector, for the job summary and the terminal. Service names and
 * vector ids come from the repository's files: they go through mdText/code
 * here and termText in the terminal.
 */

const short = (commit: string): string => commit.slice(0, 7);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * The sentence that answers "did this pull request open it?". Plain text but for
 * what `esc` makes of the commit and the directory, the only parts not written
 * by relay-check (the summary passes mdText).
 */
function baseSentence(b: BaseReport, esc: (s: string) => string = (s) => s): string {
  const at = `commit ${esc(short(b.commit))}`;
  if (b.status === 'new') return `new configuration: ${esc(b.configDir)} does not exist at the base (${at}), nothing to compare`;
  if (b.status === 'unavailable') return esc(b.warning ?? `base not compared (commit ${short(b.commit)})`);
  // Counted as distinct vectors on named services: a vector opened on smtp and submission is one trick, on two doors.
  const where = (c: BaseChange): string => {
    const rows = b.changes.filter((x) => x.change === c);
    const services = [...new Set(rows.map((x) => x.service))].map(esc);
    const names = services.length <= 3 ? `${services.slice(0, -1).join(', ')}${services.length > 1 ? ' and ' : ''}${services[services.length - 1]}` : `${services.length} services`;
    return `${plural(new Set(rows.map((x) => x.vector)).size, 'vector')} on ${names}`;
  };
  const parts: string[] = [];
  if (b.opened > 0) parts.push(`this pull request opened ${where('opened')} that the base (${at}) refused`);
  if (b.predates > 0) {
    parts.push(b.opened > 0 ? `${where('unchanged-open')} relayed on the base already` : `already open on the base (${at}): this pull request did not open it (${where('unchanged-open')} relayed there too)`);
  }
  if (b.closed > 0) parts.push(`this pull request closed ${where('closed')} that relayed on the base`);
  return parts.length > 0 ? parts.join('; ') : `nothing relays on the base (${at}) or here: no relay was opened or closed`;
}

const CHANGE_LABEL: Record<Exclude<BaseChange, 'unchanged'>, string> = {
  opened: '**opened** by this pull request',
  'unchanged-open': 'already open on the base',
  closed: 'closed by this pull request',
};

/** At most this many vector ids in one cell; the JSON report has every row. */
const IDS_PER_CELL = 6;

/** Markdown lines for the job summary; none without a base comparison. */
export function baseSummaryLines(g: GateReport | undefined): string[] {
  const b = g?.base;
  if (b === undefined) return [];
  const out = ['### Against the base', ''];
  if (b.status === 'unavailable') return [...out, '> [!WARNING]', `> ${baseSentence(b, mdText)}`];
  if (b.status === 'new') return [...out, `${code(b.configDir)} does not exist at the base (commit ${code(short(b.commit))}): a new configuration, nothing to compare.`];
  out.push(`${code(b.configDir)} at the base, commit ${code(short(b.commit))}, ${g?.exim ? 'through Exim host checking again' : 'on a second private Postfix'}: ${baseSentence(b, mdText)}.`);
  // An open relay fails the step wherever it came from; say so where it predates the pull request.
  if (b.predates > 0) out.push('', `An open relay fails the step even when it predates the pull request: fix it here.`);
  const head = new Set(b.changes.filter((c) => c.head !== null).map((c) => c.service));
  const base = new Set(b.changes.filter((c) => c.base !== null).map((c) => c.service));
  const only = (a: Set<string>, not: Set<string>): string[] => [...a].filter((s) => !not.has(s));
  if (only(head, base).length > 0) out.push('', `Only in this pull request: ${only(head, base).map(code).join(', ')}.`);
  if (only(base, head).length > 0) out.push('', `Only on the base: ${only(base, head).map(code).join(', ')}.`);
  const rows: string[] = [];
  for (const change of ['opened', 'unchanged-open', 'closed'] as const) {
    for (const service of new Set(b.changes.filter((c) => c.change === change).map((c) => c.service))) {
      const ids = b.changes.filter((c) => c.change === change && c.service === service).map((c) => c.vector);
      const cell = `${ids.slice(0, IDS_PER_CELL).map(code).join(', ')}${ids.length > IDS_PER_CELL ? `, ${ids.length - IDS_PER_CELL} more` : ''}`;
      rows.push(`| ${code(service)} | ${CHANGE_LABEL[change]} | ${ids.length}: ${cell} |`);
    }
  }
  if (rows.length > 0) out.push('', '| master.cf service | Relay | Vectors |', '| --- | --- | --- |', ...rows);
  return out;
}

/** One line for the terminal (plain text: the caller makes it inert); none without a base comparison. */
export function baseTerminalLines(g: GateReport | undefined): string[] {
  const b = g?.base;
  return b === undefined ? [] : [`against the base: ${baseSentence(b)}`];
}
