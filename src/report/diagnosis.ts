import type { Diagnosis } from '../diagnosis/diagnose.js';
import type { VerifiedFix } from '../gate/prove.js';
import { code, inlineMd, mdText } from './escape.js';
import type { Report } from '../model/report.js';
import { ACTION_NAMING, GATE_CLIENT_ADDRESS, type InputNaming } from '../settings.js';

/**
 * "Why it relays": the diagnosis of each host that relayed, for the job
 * summary (Markdown) and the terminal (plain lines). Rows of the diagnosis
 * table are relay-check's own text with `code`; the summary sentence and the
 * places hold host names and addresses, which are escaped like server text.
 */

const several = (r: Report): boolean => (r.diagnosis?.length ?? 0) > 1;

function findingMd(d: Diagnosis): string[] {
  if (d.findings.length === 0) return [inlineMd(d.unmatched ?? 'No known cause fits this pattern.')];
  const either = d.findings.length > 1;
  return d.findings.map(
    (f, i) =>
      // Causes read from the configuration all hold at once; the table's rows are alternatives.
      `- ${f.rule.startsWith('gate-cause-') ? '**Cause:** ' : either ? `**${i === 0 ? 'Either' : 'Or'}:** ` : '**Likely cause:** '}${inlineMd(f.cause)}\n  **Fix:** ${inlineMd(f.fix)}` +
      `${f.settings.length > 0 ? ` Settings: ${f.settings.map((s) => inlineMd(`\`${s}\``)).join(', ')}.` : ''} See <${f.docs}>.`,
  );
}

/**
 * The vantage warning in the reader's words. src/diagnosis decides when it is due
 * (d.vantageWarning is set) and words it for the action; the sentence is built
 * here again from d.vantage so the CLI can name --client-address.
 */
function vantageText(d: Diagnosis, n: InputNaming): string | null {
  if (!d.vantageWarning) return null;
  const v = d.vantage;
  if (!v) return d.vantageWarning;
  // The proxied view is said first, above the verdict (view.ts proxiedNotes), not again here.
  if (v.proxied) return null;
  const kind = v.network === 'loopback' ? 'a loopback address' : v.network === 'cgnat' ? 'a carrier-grade NAT address' : `a ${v.network ?? 'trusted'} address`;
  const where = d.mta === 'Postfix' ? 'Postfix `mynetworks`' : d.mta === 'Exim' ? 'Exim `relay_from_hosts`' : 'Postfix `mynetworks`, Exim `relay_from_hosts`';
  return `This ran from ${v.effective ?? 'an unknown address'} (${kind}) without ${n.name('client-address')}, which a server may simply trust (${where}). To test as an outsider, set ${n.set('client-address', GATE_CLIENT_ADDRESS)} (Postfix XCLIENT, allowed by \`smtpd_authorized_xclient_hosts\`) or run from outside that network.`;
}

/** What a verified fix proved, as a sentence (plain; services and vectors are the configuration's and the catalogue's). */
export function fixVerdict(f: VerifiedFix): string {
  const on = f.services.join(', ');
  if (f.error) return `Not verified: ${f.error}.`;
  // Services grouped by the mailboxes they still take: "smtp, 2525 still accept postmaster@… and root@…".
  const accepted = (f.ownMail ?? []).filter((m) => m.after === true);
  const byBoxes = new Map<string, string[]>();
  for (const svc of [...new Set(accepted.map((m) => m.service))]) {
    const boxes = accepted.filter((m) => m.service === svc).map((m) => m.mailbox).join(' and ');
    byBoxes.set(boxes, [...(byBoxes.get(boxes) ?? []), svc]);
  }
  const kept = [...byBoxes].map(([boxes, svcs]) => `${svcs.join(', ')} still accept${svcs.length === 1 ? 's' : ''} ${boxes}`);
  if (f.verified) return `Verified on a copy: with this change, the ${f.rerun.length} attempt(s) that relayed on ${on} are all denied${kept.length > 0 ? `, and ${kept.join(', ')} from an outside client` : ''}.`;
  const why = [
    ...(f.stillRelayed.length > 0 ? [`${f.stillRelayed.length} of ${f.rerun.length} still relay on ${on} (${f.stillRelayed.slice(0, 5).join(', ')}${f.stillRelayed.length > 5 ? ', …' : ''})`] : []),
    ...(f.notVerified ?? []),
  ];
  return `Not verified: ${why.length > 0 ? why.join('; ') : 'the fixed copy proved nothing'}.`;
}

/** A unified diff in a fenced block: a fence longer than any run of backticks in it, so configuration text cannot close it. */
function diffBlock(diff: string): string {
  const longest = Math.max(0, ...(diff.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}diff\n${diff}\n${fence}`;
}

/** Gate mode: where in the configuration, what the fixed copy showed, and the change as a diff. Configuration text is escaped. */
function fixMd(f: VerifiedFix, configDir: string): string {
  const where = f.places.map((p) => `${code(`${configDir.replace(/\/+$/, '')}/${p.file}:${p.line}`)} (${code(p.setting)})`).join(', ');
  return `**In the configuration:** ${where}. **${mdText(fixVerdict(f))}**\n\n${diffBlock(f.diff)}`;
}

/** The section's Markdown, or null when nothing relayed. */
export function diagnosisMarkdown(r: Report, n: InputNaming = ACTION_NAMING): string | null {
  const ds = r.diagnosis ?? [];
  if (ds.length === 0) return null;
  const parts: string[] = ['### Why it relays'];
  for (const d of ds) {
    parts.push(`${several(r) ? `${mdText(d.host)}: ` : ''}**${inlineMd(d.summary)}**`);
    const vantage = vantageText(d, n);
    if (vantage) parts.push(`> [!IMPORTANT]\n> ${inlineMd(vantage)}`);
    parts.push(findingMd(d).join('\n'));
  }
  for (const f of r.gate?.fixes ?? []) parts.push(fixMd(f, r.gate?.configDir ?? '.'));
  return parts.join('\n\n');
}

/** The same for the terminal: plain text, `code` marks dropped, to be wrapped by the caller. */
export function diagnosisText(r: Report, n: InputNaming = ACTION_NAMING): { head: string; items: string[] }[] {
  const plain = (s: string): string => s.replace(/`/g, '');
  return (r.diagnosis ?? []).map((d) => ({
    head: `${several(r) ? `${d.host}: ` : ''}${d.summary}`,
    items: [
      ...(vantageText(d, n) ? [plain(vantageText(d, n) ?? '')] : []),
      ...(d.findings.length === 0
        ? [plain(d.unmatched ?? 'No known cause fits this pattern.')]
        : d.findings.map((f) => `${plain(f.cause)} Fix: ${plain(f.fix)} (${f.docs})`)),
    ],
  }));
}

/** Gate mode, for the terminal: each fix's places and verdict as a line, then its diff as it is (not wrapped). */
export function fixText(r: Report): { head: string; diff: string[] }[] {
  return (r.gate?.fixes ?? []).map((f) => ({ head: `${f.places.map((p) => `${p.file}:${p.line}`).join(', ')}: ${fixVerdict(f)}`, diff: f.diff.split('\n') }));
}
