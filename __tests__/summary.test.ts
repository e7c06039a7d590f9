import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { marked } from 'marked';
import { startDemoServer, type DemoServer } from '../src/demo.js';
import { DIAGNOSIS_RULES } from '../src/diagnosis/rules.js';
import { run } from '../src/engine.js';
import type { Report } from '../src/model/report.js';
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
const ALLOWED_TAGS = new Set(['h2', 'h3', 'p', 'strong', 'em', 'code', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'details', 'summary', 'pre', 'blockquote', 'br', 'ul', 'li', 'a', 'sub']);

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
  // The whole battery on the open server: the rendering of many relayed families (and HELO rows) is what is tested.
  [openReport, closedReport, hostileReport] = await Promise.all([run(settings(open.port), { fullBattery: true }), run(settings(closed.port)), run(settings(hostile.port))]);
});

afterAll(async () => {
  await Promise.all([open.close(), closed.close(), hostile.close()]);
});

describe('the job summary rendered to HTML', () => {
  test('open run: the first section holds the verdict, why it relays, the targets and what to do; then one row per vector, three columns at most', () => {
    const h = html(renderSummary(openReport));
    expect(h.indexOf('<h2')).toBe(0);
    expect(h).toMatch(/^<h2[^>]*>relay-check: ❌ Open relay<\/h2>/);
    // Before the first h3 after "What to do": the verdict sentence, why it relays, the targets table, the advice.
    const h3 = [...h.matchAll(/<h3[^>]*>([^<]*)<\/h3>/g)].map((m) => m[1]);
    expect(h3.slice(0, 2)).toEqual(['Why it relays', 'What to do']);
    expect(h3[2]).toMatch(/^Relayed: \d+ vectors/);
    const first = h.slice(0, h.indexOf('<h3', h.indexOf('What to do</h3>') + 1));
    const port = openReport.targets[0].port;
    expect(first).toMatch(new RegExp(`<strong>127\\.0\\.0\\.1:${port} relays: \\d+ of \\d+ vectors were accepted`));
    // Loopback without client-address: never "anyone"; the vantage is said once, in "Why it relays", not also beside the verdict.
    expect(first).not.toContain('this proves that this client may relay, not yet that anyone can');
    expect(first.split('which a server may simply trust').length - 1).toBe(1);
    expect(h).not.toMatch(/Anyone can send mail/);
    expect(first).toContain('<th>Result</th>');
    // The demo server hides its MTA: the diagnosis gives the cause any MTA may have, and the vantage.
    expect(first).toMatch(/The server relays for the network this check ran from/);
    expect(first).toMatch(/This ran from 127\.0\.0\.1 \(a loopback address\) without <code>client-address<\/code>, which a server may simply trust/);
    // Said once, in "Why it relays": not again as advice.
    expect(first).not.toMatch(/Test as an outsider first/);
    // Targets table: header plus one row per address.
    const tables = h.split('<table>').slice(1);
    expect(tables[0].split('<tr>').length - 2).toBe(1);
    // More than ten relayed: the family table first, then every relayed attempt folded.
    expect(tables[1]).toContain('<th>Family</th>');
    expect(h).toMatch(/<details><summary>Every relayed attempt \(\d+\)<\/summary>/);
    const relayedTable = tables[2];
    const head = relayedTable.split('</thead>')[0];
    expect((head.match(/<th[\s>]/g) ?? []).length).toBeLessThanOrEqual(3);
    const rows = relayedTable.split('</thead>')[1].split('<tr>').slice(1);
    const relayedVectors = new Set(openReport.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)));
    expect(rows).toHaveLength(relayedVectors.size);
    for (const r of rows) expect((r.match(/<td/g) ?? []).length).toBeLessThanOrEqual(3);
    // HELO only where the vector varies it.
    const helo = rows.filter((r) => r.includes('HELO '));
    expect(helo.length).toBeGreaterThan(0);
    for (const r of helo) expect(r).toMatch(/<code>helo-|<code>input-helo-/);
    expect(h).toMatch(/<details><summary>All attempts \(\d+ rows/);
    expect(h).toContain('<pre>');
    expect(new Set(tags(h))).toEqual(new Set([...tags(h)].filter((t) => ALLOWED_TAGS.has(t))));
  });

  test('a vector relayed in plaintext and inside STARTTLS is one row with both marked', () => {
    // The same run seen over two transports, as tls: auto reports a server offering STARTTLS.
    const t = openReport.targets[0];
    const both: Report = { ...openReport, targets: [t, { ...t, transport: 'starttls' }] };
    const h = html(renderSummary(both));
    const first = h.slice(0, h.indexOf('<h3'));
    expect(first).toMatch(/vectors were accepted \(plaintext and STARTTLS\)/);
    expect(h).toMatch(/<h3>Relayed: \d+ vectors on 127\.0\.0\.1:\d+ \(plaintext, STARTTLS\)<\/h3>/);
    const tables = h.split('<table>').slice(1);
    const rows = tables[2].split('</thead>')[1].split('<tr>').slice(1);
    expect(rows).toHaveLength(new Set(t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)).size);
    // The targets table counts the address once, its vectors once.
    const targetRows = tables[0].split('</thead>')[1].split('<tr>').slice(1);
    expect(targetRows).toHaveLength(1);
    expect(targetRows[0]).toContain(`<td>${t.counts.tests}</td>`);
    // Transcripts: one per address and transport, labelled with both (raw HTML: marked leaves the entities).
    expect(h).toMatch(/<summary>127\.0\.0\.1&#58;\d+, plaintext&#58; greeting, EHLO and \d+ attempts<\/summary>/);
    expect(h).toMatch(/<summary>127\.0\.0\.1&#58;\d+, STARTTLS&#58; greeting, EHLO and \d+ attempts<\/summary>/);
  });

  test('tested as an outside client through XCLIENT: then, and only then, "anyone can send mail"', () => {
    const r: Report = { ...openReport, settings: { ...openReport.settings, clientAddress: '203.0.113.10' } };
    const h = html(renderSummary(r));
    expect(h).toContain('anyone can send mail through this server');
    expect(h).not.toContain('Test as an outsider first');
  });

  test('closed run: says what was proved, no relayed section, no advice, and still folds the evidence', () => {
    const h = html(renderSummary(closedReport));
    expect(h).toMatch(/^<h2[^>]*>relay-check: ✅ Not an open relay<\/h2>/);
    expect(h).toContain(`is closed (all ${closedReport.counts.tests} vectors were refused)`);
    expect(h).not.toContain('Relayed:');
    expect(h).not.toContain('What to do');
    expect(h).toMatch(/<details><summary>All attempts/);
  });

  test('inconclusive only because an address could not be reached: the summary says so, never "closed", never "0 of 0"', () => {
    const t = closedReport.targets[0];
    const down = { ...t, address: '::1', family: 6 as const, reachable: false, error: 'connection to [::1]:25 refused', errorKind: 'connect-refused', attempts: [], counts: { tests: 0, relayed: 0, denied: 0, inconclusive: 0, skipped: 0 }, verdict: 'inconclusive' as const };
    const r: Report = { ...closedReport, verdict: 'inconclusive', targets: [{ ...t, host: 'mx.dual.test' }, { ...down, host: 'mx.dual.test' }] };
    const h = html(renderSummary(r));
    expect(h).toMatch(/^<h2[^>]*>relay-check: ⚠️ Inconclusive<\/h2>/);
    expect(h).toContain('Nothing relayed, but the run could not prove the server closed');
    expect(h).toContain('over IPv6 could not be tested (connection to');
    expect(h).toContain('over IPv4 is closed');
    expect(h).not.toMatch(/0 of 0/);
    const rows = h.split('<table>')[1].split('</thead>')[1].split('<tr>').slice(1);
    expect(rows[1]).toContain('<strong>not tested</strong>');
    expect(rows[1]).not.toMatch(/<td>closed<\/td>/);
  });

  test('a hostile server changes nothing in the page: no tags, attributes or links of its own', () => {
    const md = renderSummary(hostileReport);
    const h = html(md);
    for (const t of tags(h)) expect(ALLOWED_TAGS).toContain(t);
    expect(h).not.toMatch(/<script|<img|<strong>bold/);
    // No tag carries an attribute but relay-check's own advice link.
    const attributes = [...h.matchAll(/<[a-zA-Z][a-zA-Z0-9]*(\s[^>]*)>/g)].map((m) => m[1].trim());
    const own = new Set(DIAGNOSIS_RULES.map((x) => `href="${x.docs}"`));
    for (const a of attributes) if (!own.has(a)) expect(a).toMatch(/^href="https:\/\/www\.postfix\.org\/[A-Za-z_]+\.html"$/);
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
    // The first section survives the cut whole: verdict and targets come before everything else.
    expect(md).toContain('| Target | MTA | Tested over | Vectors |');
  });

  test('"Tested over" holds short labels; why a transport was not tested goes below the table', () => {
    const r: Report = structuredClone(closedReport);
    const why = 'STARTTLS refused: 454 4.7.0 TLS not available due to local problem, and a long explanation that used to fill the table cell with sixty words of detail nobody could read there';
    // A transport that was set up and ran nothing (the verdict sentence does not name it): every attempt skipped.
    const skipped = r.targets[0].attempts.map((a) => ({ ...a, outcome: 'skipped' as const, reason: why, reply: null, transcript: [] }));
    r.targets = [r.targets[0], { ...structuredClone(r.targets[0]), transport: 'starttls', attempts: skipped, counts: { tests: 0, relayed: 0, denied: 0, inconclusive: 0, skipped: skipped.length } }];
    const md = renderSummary(r);
    const row = md.split('\n').find((l) => l.startsWith('| 127.0.0.1&#58;'));
    expect(row).toContain('plaintext<br>STARTTLS: not tested |');
    expect(row).not.toContain('454');
    // The reason once on the first screen (before the folds), after the table.
    expect(md.slice(0, md.indexOf('<details>')).split('454 4.7.0').length - 1).toBe(1);
    expect(md.indexOf('454 4.7.0')).toBeGreaterThan(md.indexOf(row ?? ''));
  });

  test('gate mode: services named as the configuration does, the Postfix and certificate the gate built not judged', () => {
    const r: Report = structuredClone(closedReport);
    const t = r.targets[0];
    t.tls = { protocol: 'TLSv1.3', legacy: false, cipher: 'TLS_AES_256_GCM_SHA384', verified: false, verifyError: 'self-signed certificate', subject: 'mx.relay-check.test' };
    t.mta = { name: 'Postfix', version: null, confidence: 'low', evidence: [] };
    const listener = { ...structuredClone(t), port: t.port + 1, service: '127.0.0.1:2801 (127.0.0.1:2801)' };
    t.service = 'smtp (25)';
    r.targets = [t, listener];
    r.gate = { configDir: 'postfix', commit: null, postfixVersion: '3.7.11', services: [], changes: [] };
    const md = renderSummary(r);
    const rows = md.split('\n').filter((l) => /^\| (smtp|127)/.test(l));
    expect(rows[0]).toMatch(/^\| smtp &#40;25&#41; \| Postfix 3\.7\.11 \|/);
    expect(rows[1]).toMatch(/^\| 127\.0\.0\.1&#58;2801 \| /);
    for (const row of rows) expect(row).not.toContain('→');
    expect(md).not.toMatch(/would not verify|low confidence/);
    expect(md).toContain('TLSv1.3, test certificate');
  });
});
