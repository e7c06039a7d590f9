import { logLine } from './escape.js';
import type { AttemptReport, Report } from './model.js';
import { headline, targetLabel } from './summary.js';

export interface TerminalOptions {
  color: boolean;
  /** Show every attempt, not only relayed and inconclusive ones. */
  verbose?: boolean;
}

const COLORS = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;

/**
 * Text from a server or an input, made inert for a terminal: logLine escapes
 * C0 controls (ESC, CR, LF, BEL, …) and defuses `::` workflow commands (the
 * CLI may itself run in a workflow step); this adds C1 controls (U+0080–U+009F:
 * U+009B is a one-character CSI on terminals that honour 8-bit controls) and
 * the bidirectional overrides and isolates that can make a line display as
 * something other than what it holds.
 */
export function termText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return logLine(s).replace(/[\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

function paint(on: boolean, color: keyof typeof COLORS, s: string): string {
  return on ? `\x1b[${COLORS[color]}m${s}\x1b[0m` : s;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

const VERDICT_COLOR = { open: 'red', closed: 'green', inconclusive: 'yellow' } as const;
const OUTCOME_COLOR = { relayed: 'red', denied: 'green', inconclusive: 'yellow', skipped: 'dim' } as const;

/**
 * The CLI's readable report. Colour only when asked (the CLI asks on a TTY);
 * every string from a server or an input goes through termText, so it cannot
 * move the cursor, clear the screen or recolour the terminal.
 */
export function renderTerminal(r: Report, opts: TerminalOptions): string {
  const c = opts.color;
  const out: string[] = [];
  out.push(paint(c, 'bold', `relay-check ${r.tool.version}: `) + paint(c, VERDICT_COLOR[r.verdict], r.verdict.toUpperCase()) + ` (strictness ${r.settings.strictness})`);
  out.push(headline(r));
  for (const reason of r.failReasons) out.push(paint(c, 'red', `  fails: ${termText(reason)}`));
  for (const w of r.warnings) out.push(paint(c, 'yellow', `  warning: ${termText(w)}`));
  out.push('');

  const head = ['TARGET', 'TRANSPORT', 'TESTS', 'RELAYED', 'DENIED', 'INCONCL', 'VERDICT'];
  const rows = r.targets.map((t) => [
    termText(targetLabel(t)),
    t.transport,
    String(t.counts.tests),
    String(t.counts.relayed),
    String(t.counts.denied),
    String(t.counts.inconclusive),
    t.reachable ? t.verdict : `${t.verdict} (${termText(t.error ?? 'unreachable')})`,
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
    out.push(paint(c, 'bold', termText(targetLabel(t))));
    const idWidth = Math.max(...list.map((a) => a.vector.length));
    for (const a of list) {
      const cmds = a.mailFrom === null ? '' : `HELO ${a.helo}  MAIL FROM:${a.mailFrom}  RCPT TO:${a.rcptTo.join(' ')}`;
      out.push(`  ${paint(c, OUTCOME_COLOR[a.outcome], pad(a.outcome, 12))} ${pad(termText(a.vector), idWidth)} ${termText(cmds)}`);
      out.push(`  ${' '.repeat(12)} ${paint(c, 'dim', termText(a.reply ? `${a.reply} (${a.reason})` : a.reason))}`);
    }
  }
  return `${out.join('\n')}\n`;
}
