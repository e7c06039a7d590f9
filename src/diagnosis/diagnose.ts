import type { MtaIdentity } from '../mta/identify.js';
import type { TargetReport } from '../model/report.js';
import { DIAGNOSIS_RULES, type DiagnosisRule, type Where } from './rules.js';
import { TRAIT_TEXT, traitsOf, type Trait } from './traits.js';
import { proxiedSentence, trustedByDefault, type Vantage } from './vantage.js';
import type { RelayPattern, Diagnosis } from '../model/diagnosis.js';
export type { RelayPattern, Diagnosis } from '../model/diagnosis.js';

type Placed = Pick<TargetReport, 'host' | 'address' | 'port' | 'family' | 'transport' | 'service' | 'attempts' | 'mta'> & { vantage?: Vantage };

const placeOf = (t: Placed): string => `${t.service ?? (t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`)}${t.transport === 'plain' ? '' : ` (${t.transport})`}`;
const relayedIn = (t: Placed): Set<string> => new Set(t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector));
const deniedIn = (t: Placed): Set<string> => new Set(t.attempts.filter((a) => a.outcome === 'denied').map((a) => a.vector));

/** The pattern of one host's targets (every address, port and transport of it). */
export function relayPattern(targets: readonly Placed[]): RelayPattern {
  const relayedSet = new Set(targets.flatMap((t) => [...relayedIn(t)]));
  const relayed = [...relayedSet].sort();
  const everything = relayed.some((v) => traitsOf(v).length === 0);
  const all: Trait[] = ['null-sender', 'own-sender', 'host-sender', 'helo', 'routing', 'syntax', 'role', 'after-local', 'input-sender', 'local', 'xclient', 'proxy', 'auth'];
  const shared = everything || relayed.length === 0 ? [] : all.filter((tr) => relayed.every((v) => traitsOf(v).includes(tr)));
  const opening = targets.filter((t) => relayedIn(t).size > 0);
  // A place refused what relayed elsewhere: the comparison that makes a "where".
  const refusing = targets.filter((t) => relayedIn(t).size === 0 && [...deniedIn(t)].some((v) => relayedSet.has(v)));
  const where: Where[] = [];
  const sameService = (a: Placed, b: Placed): boolean => a.address === b.address && a.port === b.port;
  if (opening.length > 0 && opening.every((t) => t.transport !== 'plain') && refusing.some((r) => r.transport === 'plain' && opening.some((o) => sameService(o, r)))) where.push('tls-only');
  if (opening.length > 0 && opening.every((t) => t.family === 6) && refusing.some((r) => r.family === 4)) where.push('ipv6-only');
  const ports = (ts: readonly Placed[]): Set<string> => new Set(ts.map((t) => `${t.port}`));
  const openPorts = ports(opening);
  // Another port of the same address refused it: a per-service setting (master.cf), not the address.
  if (opening.length > 0 && refusing.some((r) => !openPorts.has(`${r.port}`) && opening.some((o) => o.address === r.address))) where.push('some-services');
  return { relayed, everything, shared, where, relayedOn: [...new Set(opening.map(placeOf))], refusedOn: [...new Set(refusing.map(placeOf))] };
}

/** Whether a row fits a pattern and vantage. */
function ruleFits(rule: DiagnosisRule, p: RelayPattern, trusted: boolean, proxied: boolean): boolean {
  const m = rule.match;
  if (p.relayed.length === 0) return false;
  if (m.where !== undefined && !p.where.includes(m.where)) return false;
  if (m.vantage === 'proxied' && !proxied) return false;
  if ((m.vantage === 'trusted' || m.vantage === 'outside') && (m.vantage === 'trusted') !== trusted) return false;
  if (m.relayed === 'everything') return p.everything;
  if (m.relayed !== undefined) {
    const traits = m.relayed;
    return !p.everything && p.relayed.every((v) => traitsOf(v).some((t) => traits.includes(t)));
  }
  return true;
}

/**
 * How closely a row fits: knowing *where* counts most (the where is the finding),
 * then knowing what relayed, then being the MTA's own row, then the vantage;
 * a narrower trait list beats a wider one.
 */
function specificity(r: DiagnosisRule): number {
  const m = r.match;
  const traits = Array.isArray(m.relayed) ? m.relayed.length : 0;
  // A proxied view explains everything else: the server judged a stranger as the proxy.
  if (m.vantage === 'proxied') return 16;
  return (m.where ? 8 : 0) + (m.relayed !== undefined ? 4 : 0) + (r.mta !== null ? 2 : 0) + (m.vantage ? 1 : 0) - Math.max(0, traits - 1) / 10;
}

/** The rows of this MTA or of any MTA that fit, the most specific only. */
export function matchRules(p: RelayPattern, mta: string, trusted: boolean, rules: readonly DiagnosisRule[] = DIAGNOSIS_RULES, proxied = false): DiagnosisRule[] {
  const fits = rules.filter((r) => (r.mta === null || r.mta === mta) && ruleFits(r, p, trusted, proxied));
  if (fits.length === 0) return [];
  const best = Math.max(...fits.map(specificity));
  return fits.filter((r) => specificity(r) === best);
}

/** The MTA a host answered as: the best-evidenced identification among its targets; weak evidence counts as unknown. */
function hostMta(targets: readonly Pick<TargetReport, 'mta'>[]): string {
  const rank = { high: 3, medium: 2, low: 1, none: 0 } as const;
  const known = targets.map((t) => t.mta).filter((m): m is MtaIdentity => m !== undefined && m.name !== 'unknown' && rank[m.confidence] >= 2);
  known.sort((a, b) => rank[b.confidence] - rank[a.confidence]);
  return known[0]?.name ?? 'unknown';
}

function whereText(p: RelayPattern): string {
  if (p.where.includes('tls-only')) return ', only inside TLS (the same attempts in plaintext were refused)';
  if (p.where.includes('ipv6-only')) return ', only over IPv6 (the same attempts over IPv4 were refused)';
  if (p.where.includes('some-services')) {
    // Per service, whatever the transports: "only on submission (587) (refused on smtp (25))".
    const service = (xs: readonly string[]): string => [...new Set(xs.map((x) => x.replace(/ \((starttls|implicit)\)$/, '')))].join(', ');
    return `, only on ${service(p.relayedOn)} (refused on ${service(p.refusedOn)})`;
  }
  return '';
}

function summaryOf(mta: string, p: RelayPattern): string {
  const who = mta === 'unknown' ? 'The server' : mta;
  if (p.everything) return `${who} relays for this client whatever it sends${whereText(p)}.`;
  if (p.shared.length > 0) return `${who} relays only for ${p.shared.map((t) => TRAIT_TEXT[t]).join(' and ')}${whereText(p)}.`;
  return `${who} relays some forms and refuses the plain attempt${whereText(p)}: ${p.relayed.slice(0, 6).join(', ')}${p.relayed.length > 6 ? `, ${p.relayed.length - 6} more` : ''}.`;
}

function vantageWarning(v: Vantage | null, mta: string): string | null {
  if (!v || v.xclient !== null || !trustedByDefault(v.network)) return null;
  const proxied = proxiedSentence(v);
  if (proxied) return proxied;
  const kind = v.network === 'loopback' ? 'a loopback address' : v.network === 'cgnat' ? 'a carrier-grade NAT address' : `a ${v.network} address`;
  const where = mta === 'Postfix' ? 'Postfix `mynetworks`' : mta === 'Exim' ? 'Exim `relay_from_hosts`' : 'Postfix `mynetworks`, Exim `relay_from_hosts`';
  return `This ran from ${v.effective ?? 'an unknown address'} (${kind}) without \`client-address\`, which a server may simply trust (${where}). To test as an outsider, set \`client-address: 203.0.113.10\` (Postfix XCLIENT, allowed by \`smtpd_authorized_xclient_hosts\`) or run from outside that network.`;
}

/**
 * Why each host that relayed relays: its pattern read through the diagnosis
 * table. Hosts are diagnosed apart (a fleet's hosts have different configs);
 * the addresses, ports and transports of one host are compared with each other.
 */
export function diagnose(targets: readonly Placed[], rules: readonly DiagnosisRule[] = DIAGNOSIS_RULES): Diagnosis[] {
  const byHost = new Map<string, Placed[]>();
  for (const t of targets) byHost.set(t.host, [...(byHost.get(t.host) ?? []), t]);
  const out: Diagnosis[] = [];
  for (const [host, ts] of byHost) {
    const pattern = relayPattern(ts);
    if (pattern.relayed.length === 0) continue;
    const relaying = ts.filter((t) => relayedIn(t).size > 0);
    const mta = hostMta(relaying.length > 0 ? relaying : ts);
    const vantage = relaying.find((t) => t.vantage)?.vantage ?? null;
    const trusted = vantage !== null && vantage.xclient === null && trustedByDefault(vantage.network);
    const findings = matchRules(pattern, mta, trusted, rules, vantage?.proxied === true).map((r) => ({ rule: r.id, mta: r.mta, cause: r.cause, settings: r.settings, fix: r.fix, docs: r.docs, provenance: r.provenance }));
    out.push({
      host,
      mta,
      pattern,
      summary: summaryOf(mta, pattern),
      findings,
      unmatched:
        findings.length === 0
          ? `No known cause fits this pattern (${pattern.relayed.length} vector(s) relayed${pattern.everything ? '' : ', the plain attempt was refused'}); relay-check will not guess. The relayed attempts below show exactly what got through.`
          : null,
      vantage,
      // A narrow pattern (the plain attempt refused) shows the network is not simply trusted.
      vantageWarning: pattern.everything ? vantageWarning(vantage, mta) : null,
    });
  }
  return out;
}
