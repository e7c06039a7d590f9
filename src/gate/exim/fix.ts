import fs from 'node:fs';
import path from 'node:path';
import type { GateCause, ProposedFix } from '../../model/gate.js';

/**
 * The change an Exim cause proposes, as an edit of one line of the repository: the
 * matched item taken out of the list that held it (Debian's dc_relay_nets or
 * dc_relay_domains, a `hostlist`/`domainlist` definition, or an ACL's `hosts =`).
 * An ACL that accepts without a domains check gets no proposal: the statement to
 * add depends on the lists the configuration defines, and a guess is not a proof.
 */

export interface EximEdit {
  /** Relative to the configuration directory. */
  file: string;
  line: number;
  before: string;
  after: string;
}

/** How far below an ACL statement's verb its conditions are looked for. */
const STATEMENT_LINES = 8;

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `text` with `element` taken out of the list it is in, with one separator; null when it is not there as a list item. */
export function withoutItem(text: string, element: string): string | null {
  const item = escape(element);
  // An item stands between the start of the value ('=', a quote, `<;`) or a separator, and a separator or the end.
  const re = new RegExp(`(\\s*[:;]\\s*)${item}(?=\\s*(?:[:;'"]|$))|([='"]\\s*(?:<;\\s*)?)${item}\\s*(?:[:;]\\s*)?(?=\\S|$)`);
  const m = re.exec(text);
  if (!m) return null;
  return text.slice(0, m.index) + (m[2] ?? '') + text.slice(m.index + m[0].length);
}

/** The one-line edit that takes the matched item out, on the first line of the cause that holds it. */
function editFor(c: GateCause, read: (file: string) => string[] | null): EximEdit | null {
  if (c.kind !== 'relay-hosts' && c.kind !== 'relay-domains') return null;
  if (c.element === '' || c.element.startsWith('+')) return null;
  const candidates: { file: string; line: number }[] = [];
  for (const p of c.places) {
    candidates.push({ file: p.file, line: p.line });
    // An ACL statement's conditions follow its verb on the next lines (Debian's style).
    if (/: (accept|require)$/.test(p.setting)) for (let k = 1; k <= STATEMENT_LINES; k++) candidates.push({ file: p.file, line: p.line + k });
  }
  for (const at of candidates) {
    const text = read(at.file)?.[at.line - 1];
    if (text === undefined || !/=/.test(text)) continue;
    const after = withoutItem(text, c.element);
    if (after !== null) return { file: at.file, line: at.line, before: text, after };
  }
  return null;
}

/** The proposal for a cause, in the shape the Postfix gate proves (no postfix-overrides: the edit is the change). */
export function eximFix(c: GateCause, configDir: string): { fix: ProposedFix; edit: EximEdit } | null {
  const edit = editFor(c, (file) => {
    const p = path.join(configDir, file);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8').split('\n') : null;
  });
  if (edit === null) return null;
  const diff = [`--- ${edit.file}`, `+++ ${edit.file}`, `@@ -${edit.line} +${edit.line} @@`, `-${edit.before}`, `+${edit.after}`].join('\n');
  return {
    fix: { rule: `gate-cause-${c.kind}`, services: [c.service.replace(/ \(.*\)$/, '')], places: c.places.filter((p) => p.file === edit.file && p.line === edit.line).concat(c.places.filter((p) => !(p.file === edit.file && p.line === edit.line))), overrides: [], diff },
    edit,
  };
}

/** A copy of the configuration directory with the edit made. */
export function applyEdit(configDir: string, to: string, edit: EximEdit): void {
  fs.cpSync(configDir, to, { recursive: true, verbatimSymlinks: true });
  const file = path.join(to, edit.file);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[edit.line - 1] = edit.after;
  fs.writeFileSync(file, lines.join('\n'));
}
