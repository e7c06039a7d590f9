import type { Diagnosis } from '../diagnosis/diagnose.js';
import type { VerifiedFix } from '../gate/prove.js';
import { code, inlineMd, mdText, preText } from './escape.js';
import type { Report } from './model.js';
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
      `- ${either ? `**${i === 0 ? 'Either' : 'Or'}:** ` : '**Likely cause:** '}${inlineMd(f.cause)}\n  **Fix:** ${inlineMd(f.fix)}` +
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
  const kind = v.network === 'loopback' ? 'a loopback address' : v.network === 'cgnat' ? 'a carrier-grade NAT address' : `a ${v.network ?? 'trusted'} address`;
  const where = d.mta === 'Postfix' ? 'Postfix `mynetworks`' : d.mta === 'Exim' ? 'Exim `relay_from_hosts`' : 'Postfix `mynetworks`, Exim `relay_from_hosts`';
  return `This ran from ${v.effective ?? 'an unknown address'} (${kind}) without ${n.name('client-address')}, which a server may simply trust (${where}). To test as an outsider, set ${n.set('client-address', GATE_CLIENT_ADDRESS)} (Postfix XCLIENT, allowed by \`smtpd_authorized_xclient_hosts\`) or run from outside that network.`;
}

/** What a verified fix proved, as a sentence (plain; services and vectors are the configuration's and the catalogue's). */
export function fixVerdict(f: VerifiedFix): string {
  const on = f.services.join(', ');
  if (f.error) return `Not verified: ${f.error}.`;
  if (f.verified) return `Verified: with this change, the ${f.rerun.length} attempt(s) that relayed on ${on} are all denied.`;
  return `Not enough: with this change ${f.stillRelayed.length} of ${f.rerun.length} still relay on ${on} (${f.stillRelayed.slice(0, 5).join(', ')}${f.stillRelayed.length > 5 ? ', …' : ''}).`;
}

/** Gate mode: where in the configuration, the change as a diff, and what the fixed copy showed. Configuration text is escaped. */
function fixMd(f: VerifiedFix, configDir: string): string {
  const where = f.places.map((p) => `${code(`${configDir.replace(/\/+$/, '')}/${p.file}:${p.line}`)} (${code(p.setting)})`).join(', ');
  return `**In the configuration:** ${where}. **${mdText(fixVerdict(f))}**\n\n<pre>${preText(f.diff)}</pre>`;
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
      ...(d.vantageWarning ? [plain(vantageText(d, n) ?? '')] : []),
      ...(d.findings.length === 0
        ? [plain(d.unmatched ?? 'No known cause fits this pattern.')]
        : d.findings.map((f) => `${plain(f.cause)} Fix: ${plain(f.fix)} (${f.docs})`)),
      ...(r.gate?.fixes ?? []).map((f) => `${f.places.map((p) => `${p.file}:${p.line}`).join(', ')}: ${f.diff.replace(/\n/g, '  ')}. ${fixVerdict(f)}`),
    ],
  }));
}
