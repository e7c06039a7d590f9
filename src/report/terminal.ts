import { baseTerminalLines } from './base.js';
import { logLine } from './escape.js';
import type { Report, TargetReport } from '../model/report.js';
import { diagnosisText, fixText } from './diagnosis.js';
import { adviceBullets, dataNote, headline, HEADLINE_NAMES_UP_TO, pauseNote, reachNote, routeNote, stopNote, transportGaps } from './summary.js';
import { addresses, byFamily, otherFailReasons, FAMILY_LABEL, findings, mtaLabel, ownMailText, proxiedNotes, replyWithReason, routeRows, routeText, seenAsText, skippedGroups, someIds, TRANSPORT_LABEL, vectorIds, whereText, type AddressView, type Finding, type Where } from './view.js';
import { CLI_NAMING, type InputNaming } from '../settings.js';

export interface TerminalOptions {
  color: boolean;
  /** Show every attempt, not only relayed and inconclusive ones. */
  verbose?: boolean;
  /** How advice names inputs: the CLI's flags unless told otherwise. */
  naming?: InputNaming;
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

/** Width the default output wraps prose to: fits an 80-column terminal with the indent. */
const WRAP = 96;

/** Words to lines of at most `width` characters, each line prefixed (the first with `first`). */
function wrap(text: string, width: number, first: string, rest: string): string[] {
  const out: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > width) {
      out.push(line);
      line = rest;
      empty = true;
    }
    line += `${empty ? '' : ' '}${word}`;
    empty = false;
  }
  if (!empty) out.push(line);
  return out;
}

/** Gate mode: each proposed change, its verdict wrapped, its diff as it is (removed lines red, added green). */
function fixLines({ r, c }: TermRun): string[] {
  const out: string[] = [];
  for (const f of fixText(r)) {
    out.push(...wrap(termText(`Change ${f.head}`), WRAP, '', '  '));
    for (const l of f.diff) out.push(paint(c, l.startsWith('-') && !l.startsWith('---') ? 'red' : l.startsWith('+') && !l.startsWith('+++') ? 'green' : 'dim', `    ${termText(l)}`));
  }
  return out;
}

/** relay-check's own Markdown advice for a terminal: no `backticks`, **bold**, <links> or entities. */
function plainAdvice(md: string): string {
  return md
    .replace(/<code>([^<]*)<\/code>/g, '$1')
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/\*\*/g, '')
    .replace(/`/g, '')
    .replace(/<(https?:[^>]+)>/g, '$1');
}

function cmds(f: Finding): string {
  return f.mailFrom === null ? '' : `${f.helo !== null ? `HELO ${f.helo}  ` : ''}MAIL FROM:${f.mailFrom}  RCPT TO:${f.rcptTo.join(' ')}`;
}

/** What every part of the terminal report reads. */
interface TermRun {
  r: Report;
  /** Colour on. */
  c: boolean;
  naming: InputNaming;
  views: AddressView[];
}

/**
 * The CLI's readable report: the verdict, what to do, the targets, then the
 * relayed and inconclusive attempts merged across transports (by family when
 * there are many), so an open server fits on one screen; `verbose` lists every
 * attempt. Colour only when asked (the CLI asks on a TTY); every string from a
 * server or an input goes through termText, so it cannot move the cursor,
 * clear the screen or recolour the terminal.
 */
export function renderTerminal(r: Report, opts: TerminalOptions): string {
  const run: TermRun = { r, c: opts.color, naming: opts.naming ?? CLI_NAMING, views: addresses(r) };
  const parts = opts.verbose ? [...TERMINAL_HEAD, everyAttemptLines] : [...TERMINAL_HEAD, relayedLines, routeLines, inconclusiveLines, footerLines];
  return `${parts.flatMap((part) => part(run)).join('\n')}\n`;
}

/** The first screen, verbose or not: the answer, why, the targets and what to do. */
const TERMINAL_HEAD: readonly ((run: TermRun) => string[])[] = [verdictLines, whyLines, fixLines, warningLines, targetTableLines, targetNoteLines, adviceLines];

/** The verdict line, the sentence of what was found where, its notes, and why the run fails. */
function verdictLines({ r, c }: TermRun): string[] {
  const out: string[] = [];
  const verdictWord = r.verdict === 'open' ? 'OPEN RELAY' : r.verdict === 'closed' ? 'NOT AN OPEN RELAY' : 'INCONCLUSIVE';
  out.push(
    paint(c, 'bold', `relay-check ${termText(r.tool.version)}: `) +
      paint(c, VERDICT_COLOR[r.verdict], verdictWord) +
      ` (strictness ${r.settings.strictness}: ${r.failed ? 'fails' : 'passes'})`,
  );
  // Said first: it changes what every verdict below means.
  for (const note of proxiedNotes(r)) out.push(...wrap(termText(note.replace(/`/g, '')), WRAP, '', '  ').map((l) => paint(c, 'red', l)));
  out.push(...wrap(termText(headline(r)), WRAP, '', ''));
  const reach = reachNote(r, true);
  if (reach) out.push(...wrap(termText(reach.replace(/`/g, '')), WRAP, '', ''));
  for (const note of [dataNote(r), routeNote(r), stopNote(r), pauseNote(r)]) if (note) out.push(...wrap(termText(note.replace(/`/g, '')), WRAP, '', ''));
  for (const reason of otherFailReasons(r)) out.push(paint(c, 'red', `  fails: ${termText(reason)}`));
  return out;
}

function whyLines({ r, c, naming }: TermRun): string[] {
  const out: string[] = [];
  for (const d of diagnosisText(r, naming)) {
    const [first, ...more] = wrap(termText(`Why: ${d.head}`), WRAP, '', '  ');
    out.push(paint(c, 'bold', first), ...more);
    for (const item of d.items) out.push(...wrap(termText(item), WRAP, '  - ', '    '));
  }
  return out;
}

/** Warnings not said elsewhere, what the gate's base commit did, and the blank line before the table. */
function warningLines({ r, c, views }: TermRun): string[] {
  const out: string[] = [];
  const untested = new Set(views.filter((v) => !v.tested).map((v) => v.address || v.host));
  for (const w of r.warnings) if (!r.failReasons.includes(w) && ![...untested].some((u) => u && w.startsWith(`${u} port`))) out.push(paint(c, 'yellow', `  warning: ${termText(w)}`));
  for (const l of baseTerminalLines(r.gate)) out.push(...wrap(termText(l), WRAP, '', '  '));
  out.push('');
  return out;
}

function targetTableLines({ r, c, views }: TermRun): string[] {
  // Vectors, each counted once per address (its worst outcome over the transports), as in the job summary.
  const head = ['TARGET', 'MTA', 'TESTED OVER', 'VECTORS', 'RELAYED', 'DENIED', 'INCONCL', 'RESULT'];
  const rows = views.map((v) => {
    const over = v.runs.map(overLabel).join(', ');
    // The verdict sentence above says why, unless a fleet made it count instead of name.
    const why = views.length > HEADLINE_NAMES_UP_TO ? `: ${termText(v.untestedWhy ?? 'unreachable')}` : '';
    return [termText(v.label), termText(mtaLabel(v, r.gate)), over, String(v.vectors), String(v.relayedVectors), String(v.deniedVectors), String(v.inconclusiveVectors), v.tested ? v.verdict : `not tested${why}`];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (i === head.length - 1 ? 0 : row[i].length))));
  const out = [head.map((h, i) => pad(h, widths[i])).join('  ')];
  for (const row of rows) {
    const result = row[row.length - 1];
    const colored = paint(c, VERDICT_COLOR[result as keyof typeof VERDICT_COLOR] ?? 'yellow', result);
    out.push([...row.slice(0, -1).map((x, i) => pad(x, widths[i])), colored].join('  '));
  }
  return out;
}

/** Under the table: why a transport ran nothing, and the positive control. */
function targetNoteLines({ views }: TermRun): string[] {
  const out: string[] = [];
  for (const g of transportGaps(views)) out.push(...wrap(termText(g), WRAP, '  ', '    '));
  for (const v of views) {
    const own = ownMailText(v);
    if (own) out.push(...wrap(termText(`${views.length > 1 ? `${v.label}: ` : ''}own mail: ${own}`), WRAP, '  ', '    '));
    const seen = seenAsText(v);
    if (seen) out.push(...wrap(termText(`${views.length > 1 ? `${v.label}: ` : ''}seen as: ${seen.replace(/`/g, '')}`), WRAP, '  ', '    '));
  }
  return out;
}

function adviceLines({ r, c, naming }: TermRun): string[] {
  const advice = adviceBullets(r, naming);
  if (advice.length === 0) return [];
  const out = ['', paint(c, 'bold', 'What to do')];
  for (const a of advice) out.push(...wrap(termText(plainAdvice(a)), WRAP, '  - ', '    '));
  return out;
}

/** `verbose`: every attempt merged across transports, and the vectors not run, one entry per reason. */
function everyAttemptLines({ r, c }: TermRun): string[] {
  const all = findings(r, ['relayed', 'inconclusive', 'denied']);
  const skipped = skippedGroups(r);
  const ran = new Set(all.map((f) => f.vector));
  const notRun = new Set(skipped.flatMap((g) => g.vectors).filter((v) => !ran.has(v))).size;
  const out = ['', paint(c, 'bold', `Every attempt (${all.length}, merged across transports${notRun ? `; ${notRun} vector(s) not run` : ''})`)];
  const idWidth = Math.max(0, ...all.map((f) => f.vector.length));
  for (const f of all) {
    out.push(`  ${paint(c, OUTCOME_COLOR[f.outcome], pad(f.outcome, 12))} ${pad(termText(f.vector), idWidth)} ${termText(cmds(f))}`);
    out.push(`  ${' '.repeat(12)} ${paint(c, 'dim', termText(`${replyWithReason(f.reply, f.reason)} on ${whereText(f.where)}`))}`);
  }
  // Vectors not run for one reason are one entry with their count: the reason is the same for each.
  for (const g of skipped) {
    out.push(`  ${paint(c, OUTCOME_COLOR.skipped, pad('skipped', 12))} ${termText(`${g.vectors.length} vector(s): ${someIds(g.vectors)}${g.vectors.length > 3 ? ' (--json lists each)' : ''}`)}`);
    out.push(...wrap(termText(`${g.reason} on ${whereText(g.where)}`), WRAP, `  ${' '.repeat(12)} `, `  ${' '.repeat(12)} `).map((l) => paint(c, 'dim', l)));
  }
  return out;
}

/** The relayed vectors: each with its commands and reply when few, by family when many. */
function relayedLines({ r, c }: TermRun): string[] {
  const relayed = findings(r, ['relayed']);
  if (relayed.length === 0) return [];
  const ids = vectorIds(relayed);
  const heading = paint(c, 'bold', `Relayed: ${ids.length} vector${ids.length === 1 ? '' : 's'}`) + termText(` on ${whereText(mergeWhere(relayed))}`);
  return ['', heading, ...(relayed.length <= 10 ? relayedEach(relayed, c) : relayedByFamily(relayed, c))];
}

function relayedEach(relayed: readonly Finding[], c: boolean): string[] {
  const out: string[] = [];
  const idWidth = Math.max(...relayed.map((f) => f.vector.length));
  for (const f of relayed) {
    const id = pad(termText(f.vector), idWidth);
    const commands = termText(cmds(f));
    const reply = termText(f.reply ?? f.reason);
    const head = `  ${paint(c, 'red', id)}  ${commands}`;
    // The reply on the same line when it fits, else under the commands.
    if (2 + id.length + 2 + commands.length + 2 + reply.length <= WRAP) out.push(`${head}  ${paint(c, 'dim', reply)}`);
    else out.push(head, ...wrap(reply, WRAP, ' '.repeat(idWidth + 4), ' '.repeat(idWidth + 4)).map((l) => paint(c, 'dim', l)));
  }
  return out;
}

function relayedByFamily(relayed: readonly Finding[], c: boolean): string[] {
  const groups = byFamily(relayed);
  const labelWidth = Math.max(...groups.map((g) => FAMILY_LABEL[g.family].length + String(vectorIds(g.findings).length).length + 3));
  const out = groups.map((g) => {
    const gids = vectorIds(g.findings);
    const label = pad(`${FAMILY_LABEL[g.family]} (${gids.length})`, labelWidth);
    const { text, shown } = idsThatFit(gids, label.length);
    return `  ${paint(c, 'red', label)} ${text}${gids.length > shown ? `, +${gids.length - shown} more` : ''}`;
  });
  const replies = [...new Set(relayed.map((f) => f.reply ?? f.reason))];
  out.push(paint(c, 'dim', `  every one answered ${termText(replies.slice(0, 2).join(' / '))}${replies.length > 2 ? ' / …' : ''}; -v lists each with its commands`));
  return out;
}

/** As many ids as fit on one line after a label, leaving room to say how many more. */
function idsThatFit(gids: readonly string[], labelLength: number): { text: string; shown: number } {
  let shown = 0;
  let text = '';
  for (const id of gids) {
    const next = `${text}${shown ? ', ' : ''}${termText(id)}`;
    const more = gids.length - shown - 1 > 0 ? `, +${gids.length - shown - 1} more` : '';
    if (shown > 0 && 3 + labelLength + next.length + more.length > WRAP) break;
    text = next;
    shown++;
  }
  return { text, shown };
}

/** Routing proofs shown without -v: what did not relay and the routing forms come first. */
const ROUTE_LINES_SHOWN = 4;

/** Gate mode: where the instance put the accepted attempts, each with Postfix's log line. */
function routeLines({ r, c }: TermRun): string[] {
  const rows = routeRows(r);
  if (rows.length === 0) return [];
  const out = ['', paint(c, 'bold', "Where the accepted mail went (the private instance's log)")];
  for (const x of rows.slice(0, ROUTE_LINES_SHOWN)) {
    const color = x.proof.relays === true ? 'red' : x.proof.relays === false ? 'green' : 'yellow';
    const [first, ...more] = wrap(termText(`${x.vector} RCPT TO:${x.rcpt} on ${x.label}: ${routeText(x.proof)}`), WRAP, '  ', '    ');
    out.push(`  ${paint(c, color, termText(x.vector))}${first.slice(2 + termText(x.vector).length)}`, ...more);
    out.push(...wrap(termText(x.proof.line ?? x.proof.note ?? ''), WRAP, '      ', '      ').map((l) => paint(c, 'dim', l)));
  }
  if (rows.length > ROUTE_LINES_SHOWN) out.push(paint(c, 'dim', `  ${rows.length - ROUTE_LINES_SHOWN} more; -v gives each attempt's log line, --json its route`));
  return out;
}

/** The inconclusive vectors by reason, at most two lines of reason each. */
function inconclusiveLines({ r, c }: TermRun): string[] {
  const inconclusive = findings(r, ['inconclusive']);
  if (inconclusive.length === 0) return [];
  const byReason = new Map<string, Finding[]>();
  for (const f of inconclusive) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f]);
  const out = ['', paint(c, 'bold', `Inconclusive: ${vectorIds(inconclusive).length} vector(s)`)];
  for (const [reason, list] of byReason) {
    const ids = vectorIds(list);
    const shown = ids.slice(0, 3).join(', ') + (ids.length > 3 ? `, +${ids.length - 3} more` : '');
    out.push(`  ${paint(c, 'yellow', termText(shown))}`);
    // At most two lines per reason: the full text is in -v and --json.
    const lines = wrap(termText(reason), WRAP, '      ', '      ');
    out.push(...(lines.length > 2 ? [...lines.slice(0, 1), `${lines[1].slice(0, WRAP - 1)}…`] : lines));
  }
  return out;
}

function footerLines({ r, c }: TermRun): string[] {
  if (findings(r, ['relayed']).length + findings(r, ['inconclusive']).length === 0) return [];
  return ['', paint(c, 'dim', '-v lists every attempt; --json prints the full report with transcripts')];
}

/** Every address a list of findings was seen at, each once, with all its transports. */
function mergeWhere(list: readonly Finding[]): Where[] {
  const out: Where[] = [];
  for (const f of list) {
    for (const w of f.where) {
      const have = out.find((x) => x.label === w.label);
      if (!have) out.push({ label: w.label, transports: [...w.transports] });
      else for (const t of w.transports) if (!have.transports.includes(t)) have.transports.push(t);
    }
  }
  return out;
}

/** One transport of an address for TESTED OVER: "STARTTLS", "STARTTLS (legacy TLSv1)", "STARTTLS (not tested)". */
function overLabel(t: TargetReport): string {
  const name = TRANSPORT_LABEL[t.transport];
  if (!t.reachable || t.counts.tests === 0) return `${name} (${t.stopped ? 'not run' : 'not tested'})`;
  // Server text never reaches here: the protocol is the TLS library's name for it.
  return t.tls?.legacy ? `${name} (legacy ${t.tls.protocol ?? 'TLS'})` : name;
}
