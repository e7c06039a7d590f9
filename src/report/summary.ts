import { code, mdText, preText } from './escape.js';
import type { AttemptReport, Report, TargetReport } from './model.js';
import { describeTls, formatAddress } from '../smtp/session.js';

/** GitHub refuses a step summary over 1 MiB; stay well below it. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 64 * 1024;

const BANNER = {
  open: '❌ Open relay',
  closed: '✅ Not an open relay',
  inconclusive: '⚠️ Inconclusive',
} as const;

export function targetLabel(t: Pick<TargetReport, 'host' | 'address' | 'port'>): string {
  if (!t.address) return `${t.host}:${t.port}`;
  const addr = formatAddress(t.address, t.port);
  return t.host === t.address ? addr : `${t.host} (${addr})`;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function attemptRow(t: TargetReport, a: AttemptReport): string[] {
  return [
    mdText(targetLabel(t)),
    code(a.vector),
    a.helo === null ? '' : code(a.helo),
    a.mailFrom === null ? '' : code(a.mailFrom),
    code(a.rcptTo.join(' ')),
    a.reply === null ? mdText(a.reason) : `${code(a.reply)}<br>${mdText(a.reason)}`,
  ];
}

const ATTEMPT_HEAD = ['Target', 'Vector', 'HELO', 'MAIL FROM', 'RCPT TO', 'Server reply'];

/** What the verdict means, in one sentence a mail administrator can act on. */
export function headline(r: Report): string {
  const addresses = r.targets.length;
  const c = r.counts;
  const where = `${addresses} address${addresses === 1 ? '' : 'es'}`;
  switch (r.verdict) {
    case 'open':
      return `${c.relayed} of ${c.tests} relay attempts were accepted on ${where}. Anyone can send mail through this server.`;
    case 'closed':
      return `All ${c.tests} relay attempts on ${where} were refused.`;
    default:
      return `No relay attempt was accepted, but ${c.inconclusive} of ${c.tests} attempts proved nothing and ${r.targets.filter((t) => !t.reachable).length} address(es) could not be tested.`;
  }
}

const ADVICE = [
  '### What to do',
  '',
  '- **Postfix**: keep `smtpd_relay_restrictions` ending in `reject_unauth_destination` (or the stock `defer_unauth_destination`), keep `mynetworks` to the hosts you really trust, and check sender and HELO access maps (`check_sender_access`, `check_helo_access`) for entries that return `OK`. See <https://www.postfix.org/SMTPD_ACCESS_README.html>.',
  '- **Exim**: the `acl_check_rcpt` ACL should `require` `domains = +local_domains` unless the host is in `+relay_from_hosts`.',
  '- Re-run this check after the fix; each row above names the exact commands that got through.',
].join('\n');

/** Adds text while it fits under a byte budget; remembers whether anything was left out. */
class Budget {
  readonly parts: string[] = [];
  private used = 0;
  cut = false;

  constructor(private readonly limit: number) {}

  add(text: string): boolean {
    const bytes = Buffer.byteLength(text) + 2;
    if (this.used + bytes > this.limit) {
      this.cut = true;
      return false;
    }
    this.used += bytes;
    this.parts.push(text);
    return true;
  }

  /** A table with as many rows as fit, and a line saying how many did not. */
  table(head: string[], rows: string[][], prefix = '', suffix = ''): void {
    const reserve = 256;
    const kept: string[][] = [];
    let size = Buffer.byteLength(prefix + suffix + table(head, [])) + reserve;
    for (const row of rows) {
      const bytes = Buffer.byteLength(row.join(' | ')) + 6;
      if (this.used + size + bytes > this.limit) break;
      size += bytes;
      kept.push(row);
    }
    const omitted = rows.length - kept.length;
    const note = omitted > 0 ? `\n\n_${omitted} more row(s) left out to stay under GitHub's 1 MiB summary limit; the JSON report has them all._` : '';
    if (omitted > 0) this.cut = true;
    this.add(`${prefix}${table(head, kept)}${note}${suffix}`);
  }
}

/**
 * The job summary as Markdown: the verdict first, then one row per address,
 * then what went wrong, then everything folded. Every string that came from
 * a server or an input goes through mdText/code/preText. Sections are added
 * in order of importance and cut to stay under GitHub's limit.
 */
export function renderSummary(r: Report, limit = SUMMARY_LIMIT_BYTES): string {
  const out = new Budget(limit - 1024);
  out.add(`## relay-check: ${BANNER[r.verdict]}`);
  out.add(
    `**Verdict: ${r.verdict}** (strictness ${code(r.settings.strictness)}). ${mdText(headline(r))} ` +
      (r.failed ? `The step fails: ${mdText(r.failReasons.join('; '))}.` : 'The step passes.'),
  );
  for (const w of r.warnings.slice(0, 50)) out.add(`> [!WARNING]\n> ${mdText(w)}`);

  out.add('### Targets');
  out.table(
    ['Host', 'Address', 'Port', 'Transport', 'Attempts', 'Relayed', 'Denied', 'Inconclusive', 'Verdict'],
    r.targets.map((t) => [
      mdText(t.host),
      t.address ? code(t.address) : '',
      String(t.port),
      t.tls ? `${t.transport}<br>${mdText(describeTls(t.tls))}` : t.transport,
      String(t.counts.tests),
      String(t.counts.relayed),
      String(t.counts.denied),
      String(t.counts.inconclusive),
      !t.reachable ? `not tested: ${mdText(t.error ?? 'unreachable')}` : t.counts.tests === 0 ? `not tested here (${t.counts.skipped} skipped)` : t.verdict,
    ]),
  );

  const pick = (o: AttemptReport['outcome']): string[][] =>
    r.targets.flatMap((t) => t.attempts.filter((a) => a.outcome === o).map((a) => attemptRow(t, a)));
  const relayed = pick('relayed');
  if (relayed.length > 0) {
    out.add(`### Relayed (${relayed.length})`);
    out.table(ATTEMPT_HEAD, relayed);
    out.add(ADVICE);
  }
  const inconclusive = pick('inconclusive');
  if (inconclusive.length > 0) {
    out.add(`### Inconclusive (${inconclusive.length})`);
    out.table(ATTEMPT_HEAD, inconclusive);
  }

  const all = r.targets.flatMap((t) => t.attempts.map((a) => [...attemptRow(t, a), a.outcome, mdText(a.provenance)]));
  out.table([...ATTEMPT_HEAD, 'Result', 'Provenance'], all, `<details><summary>All attempts (${all.length})</summary>\n\n`, '\n\n</details>');

  const blocks = r.targets.flatMap((t) => [
    ...(t.opening.length > 0 ? [{ t, title: 'greeting and EHLO', lines: t.opening }] : []),
    ...t.attempts.filter((a) => a.transcript.length > 0).map((a) => ({ t, title: `${a.vector}: ${a.outcome}`, lines: a.transcript })),
  ]);
  if (blocks.length > 0 && out.add('### Transcripts')) {
    for (const { t, title, lines } of blocks) {
      const text = lines.map((l) => `${l.dir} ${l.text}`).join('\n');
      const block = `<details><summary>${mdText(targetLabel(t))} ${mdText(title)}</summary>\n\n<pre>${preText(text)}</pre>\n\n</details>`;
      if (!out.add(block)) break;
    }
  }
  let body = out.parts.join('\n\n');
  if (out.cut) body += `\n\n_This summary was cut to stay under GitHub's 1 MiB limit; the JSON report holds every attempt and transcript._`;
  return `${body}\n`;
}
