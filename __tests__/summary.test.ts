import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { marked } from 'marked';
import { startDemoServer, type DemoServer } from '../src/demo.js';
import { run } from '../src/engine.js';
import type { Report } from '../src/report/model.js';
import { renderSummary, SUMMARY_LIMIT_BYTES } from '../src/report/summary.js';
import { parseSettings } from '../src/settings.js';
import { startFaultServer, type FaultServer } from './support/fault-server.js';

/**
 * The job summary as a reader sees it: Markdown rendered to HTML by a GFM
 * renderer, checked for structure (verdict heading, tables, folded details)
 * and for anything a server could smuggle in (tags, attributes, links).
 */

const html = (md: string): string => marked.parse(md, { gfm: true, async: false });

/** Every tag the summary may produce; anything else came from a server. */
const ALLOWED_TAGS = new Set(['h2', 'h3', 'p', 'strong', 'em', 'code', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'details', 'summary', 'pre', 'blockquote', 'br', 'ul', 'li', 'a']);

function tags(h: string): string[] {
  return [...h.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)\b/g)].map((m) => m[1].toLowerCase());
}

let open: DemoServer;
let closed: DemoServer;
let hostile: FaultServer;
let openReport: Report;
let closedReport: Report;
let hostileReport: Report;

const EVIL = '<script>alert(1)</script> <img src=x onerror=alert(2)> | `tick` [x](javascript:alert(3)) **bold** # head @someone';

beforeAll(async () => {
  open = await startDemoServer('open', 'mx.open-demo.test');
  closed = await startDemoServer('closed', 'mx.closed-demo.test');
  hostile = await startFaultServer((ctx) => {
    ctx.socket.write(`220-mx.evil.test ${EVIL}\r\n220 mx.evil.test\r\n`);
    ctx.onLine((line) => {
      const verb = line.split(/[\s:]/)[0].toUpperCase();
      if (verb === 'EHLO') ctx.socket.write(`250-mx.evil.test\r\n250 PIPELINING\r\n`);
      else if (verb === 'RCPT' && line.includes('!')) ctx.socket.write(`250 2.1.5 ${EVIL}\r\n`);
      else if (verb === 'RCPT') ctx.socket.write(`554 5.7.1 ${EVIL}\r\n`);
      else if (verb === 'QUIT') ctx.socket.end('221 bye\r\n');
      else ctx.socket.write(`250 ok ${EVIL}\r\n`);
    });
  });
  const settings = (port: number) => parseSettings({ host: `127.0.0.1:${port}`, tls: 'none', 'connect-timeout': '5' });
  [openReport, closedReport, hostileReport] = await Promise.all([run(settings(open.port)), run(settings(closed.port)), run(settings(hostile.port))]);
});

afterAll(async () => {
  await Promise.all([open.close(), closed.close(), hostile.close()]);
});

describe('the job summary rendered to HTML', () => {
  test('open run: verdict heading first, the targets table, the relayed table, advice, folded details', () => {
    const h = html(renderSummary(openReport));
    expect(h.indexOf('<h2')).toBe(0);
    expect(h).toMatch(/^<h2[^>]*>relay-check: ❌ Open relay<\/h2>/);
    const h3 = [...h.matchAll(/<h3[^>]*>([^<]*)<\/h3>/g)].map((m) => m[1]);
    expect(h3.slice(0, 3)).toEqual(['Targets', `Relayed (${openReport.counts.relayed})`, 'What to do']);
    // Targets table: header plus one row per address.
    const tables = h.split('<table>').slice(1);
    expect(tables[0]).toContain('<th>Verdict</th>');
    expect(tables[0].split('<tr>').length - 2).toBe(openReport.targets.length);
    // Relayed table: one row per relayed attempt, 6 columns each.
    const relayedRows = tables[1].split('</thead>')[1].split('<tr>').slice(1);
    expect(relayedRows).toHaveLength(openReport.counts.relayed);
    for (const r of relayedRows) expect(r.match(/<td/g)).toHaveLength(6);
    expect(h).toMatch(/<details><summary>All attempts \(\d+\)<\/summary>/);
    expect(h).toContain('<pre>');
    expect(new Set(tags(h))).toEqual(new Set([...tags(h)].filter((t) => ALLOWED_TAGS.has(t))));
  });

  test('closed run: says what was proved, no relayed section, and still folds the evidence', () => {
    const h = html(renderSummary(closedReport));
    expect(h).toMatch(/^<h2[^>]*>relay-check: ✅ Not an open relay<\/h2>/);
    expect(h).toContain(`All ${closedReport.counts.tests} relay attempts on 1 address were refused.`);
    expect(h).not.toContain('Relayed (');
    expect(h).not.toContain('What to do');
    expect(h).toMatch(/<details><summary>All attempts/);
  });

  test('a hostile server changes nothing in the page: no tags, attributes or links of its own', () => {
    const md = renderSummary(hostileReport);
    const h = html(md);
    for (const t of tags(h)) expect(ALLOWED_TAGS).toContain(t);
    expect(h).not.toMatch(/<script|<img|<strong>bold/);
    // No tag carries an attribute but relay-check's own advice link.
    const attributes = [...h.matchAll(/<[a-zA-Z][a-zA-Z0-9]*(\s[^>]*)>/g)].map((m) => m[1].trim());
    for (const a of attributes) expect(a).toMatch(/^href="https:\/\/www\.postfix\.org\/[A-Za-z_]+\.html"$/);
    // Server text is still there for a human to read, as text (entities).
    expect(h).toContain('&#60;script&#62;alert&#40;1&#41;&#60;/script&#62;');
    // Every row of every table has as many cells as its header.
    for (const table of h.split('<table>').slice(1)) {
      const [head, body = ''] = table.split('</thead>');
      const cols = (head.match(/<th[\s>]/g) ?? []).length;
      for (const row of body.split('<tr>').slice(1)) expect((row.match(/<td/g) ?? []).length).toBe(cols);
    }
  });

  test('a huge report is cut below GitHub’s 1 MiB with a note, the verdict kept', () => {
    const big: Report = structuredClone(closedReport);
    const t = big.targets[0];
    const line = { dir: 'S' as const, text: `250 ${'x'.repeat(400)}`, at: 0 };
    for (const a of t.attempts) a.transcript = Array.from({ length: 200 }, () => line);
    big.targets = Array.from({ length: 40 }, () => t);
    const md = renderSummary(big);
    expect(Buffer.byteLength(md)).toBeLessThan(SUMMARY_LIMIT_BYTES);
    expect(md.startsWith('## relay-check: ✅ Not an open relay')).toBe(true);
    expect(md).toMatch(/cut to stay under GitHub's 1 MiB limit/);
  });
});
