import { logLine } from './escape.js';
import type { AttemptReport, Report } from './model.js';
import { headline, targetLabel } from './summary.js';

export interface TerminalOptions {
  color: boolean;
  /** Show every attempt, not only relayed and inconclusive ones. */
  verbose?: boolean;
}

const COLORS = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;

function paint(on: boolean, color: keyof typeof COLORS, s: string): string {
  return on ? `\x1b[${COLORS[color]}m${s}\x1b[0m` : s;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

const VERDICT_COLOR = { open: 'red', closed: 'green', inconclusive: 'yellow' } as const;
const OUTCOME_COLOR = { relayed: 'red', denied: 'green', inconclusive: 'yellow', skipped: 'dim' } as const;

/** The CLI's readable report. Server text is flattened so it cannot move the cursor or recolour the terminal. */
export function renderTerminal(r: Report, opts: TerminalOptions): string {
  const c = opts.color;
  const out: string[] = [];
  out.push(paint(c, 'bold', `relay-check ${r.tool.version}: `) + paint(c, VERDICT_COLOR[r.verdict], r.verdict.toUpperCase()) + ` (strictness ${r.settings.strictness})`);
  out.push(headline(r));
  for (const reason of r.failReasons) out.push(paint(c, 'red', `  fails: ${reason}`));
  for (const w of r.warnings) out.push(paint(c, 'yellow', `  warning: ${logLine(w)}`));
  out.push('');

  const head = ['TARGET', 'TRANSPORT', 'TESTS', 'RELAYED', 'DENIED', 'INCONCL', 'VERDICT'];
  const rows = r.targets.map((t) => [
    logLine(targetLabel(t)),
    t.transport,
    String(t.counts.tests),
    String(t.counts.relayed),
    String(t.counts.denied),
    String(t.counts.inconclusive),
    t.reachable ? t.verdict : `${t.verdict} (${logLine(t.error ?? 'unreachable')})`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (i === head.length - 1 ? 0 : row[i].length))));
  out.push(head.map((h, i) => pad(h, widths[i])).join('  '));
  for (const row of rows) {
    const verdict = row[row.length - 1];
    const colored = paint(c, VERDICT_COLOR[verdict.split(' ')[0] as keyof typeof VERDICT_COLOR] ?? 'bold', verdict);
    out.push([...row.slice(0, -1).map((x, i) => pad(x, widths[i])), colored].join('  '));
  }

  const show = (a: AttemptReport): boolean => opts.verbose === true || a.outcome === 'relayed' || a.outcome === 'inconclusive';
  for (const t of r.targets) {
    const list = t.attempts.filter(show);
    if (list.length === 0) continue;
    out.push('');
    out.push(paint(c, 'bold', logLine(targetLabel(t))));
    for (const a of list) {
      const cmds = a.mailFrom === null ? '' : `HELO ${a.helo}  MAIL FROM:${a.mailFrom}  RCPT TO:${a.rcptTo.join(' ')}`;
      out.push(`  ${paint(c, OUTCOME_COLOR[a.outcome], pad(a.outcome, 12))} ${pad(a.vector, 26)} ${logLine(cmds)}`);
      out.push(`  ${' '.repeat(12)} ${paint(c, 'dim', logLine(a.reply ? `${a.reply} (${a.reason})` : a.reason))}`);
    }
  }
  return `${out.join('\n')}\n`;
}
