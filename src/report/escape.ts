/**
 * Escaping for every place server text ends up. A banner is attacker-chosen:
 * in the job summary it must not open a tag, a link, a table cell or a code
 * span; in the log it must not start a workflow command (`::error::…`).
 */

// Characters that mean something to HTML or to GitHub-flavoured Markdown
// (tables, links, emphasis, code spans, headings, images, autolinks, mentions).
const MARKDOWN_ACTIVE = /[&<>"'|`[\]()*_~\\#!@{}:$]/g;

/** Text safe in Markdown and HTML, including inside a table cell. One line. */
export function mdText(s: string): string {
  return s
    .replace(/\r?\n/g, ' ')
    .replace(MARKDOWN_ACTIVE, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text for a <pre> block: HTML-escaped, newlines kept. */
export function preText(s: string): string {
  return s.replace(/[&<>"'`|[\]()*_~\\#!@{}:$]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Inline code that survives any content. */
export function code(s: string): string {
  return `<code>${mdText(s)}</code>`;
}

/** relay-check's own sentences with `backticks`: code spans become <code>, the rest is escaped. */
export function inlineMd(s: string): string {
  return s
    .split('`')
    .map((part, i) => (i % 2 === 1 ? code(part) : mdText(part)))
    .join('');
}

/**
 * A line for the runner's log. The runner reads a line as a workflow command
 * when it starts with `::` after leading whitespace; control characters could
 * start a new line. Both are defused; everything else stays readable.
 */
export function logLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return /^\s*::/.test(flat) ? `\u2024${flat.replace(/^\s*/, '')}` : flat;
}
