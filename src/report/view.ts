import { networkKind, proxiedSentence, trustedByDefault, unseenSentence } from '../diagnosis/vantage.js';
import type { AttemptOutcome, AttemptReport, Report, TargetReport } from '../model/report.js';
import { formatAddress } from '../smtp/session.js';
import { runVerdict, tallyOf, type RunVerdict } from '../verdict/run.js';

/**
 * What the summary, the terminal and the annotations show, computed once from
 * the report: one entry per address (however many transports tested it) and
 * one finding per vector (however many transports and addresses gave the same
 * answer). The JSON report keeps the per-transport detail; a reader wants
 * "this trick relayed, here, in plaintext and inside STARTTLS" on one line.
 */

export type Transport = TargetReport['transport'];

export const TRANSPORT_LABEL: Record<Transport, string> = { plain: 'plaintext', starttls: 'STARTTLS', implicit: 'implicit TLS' };

/** One address and port, with a run per transport. */
export interface AddressView {
  host: string;
  address: string;
  port: number;
  family: 4 | 6 | null;
  /** `127.0.0.1:25`, or `mx.example.org (192.0.2.1:25)` when the host was a name. */
  label: string;
  runs: TargetReport[];
  verdict: RunVerdict;
  /** At least one attempt ran on some transport and got an answer. */
  tested: boolean;
  /** Why nothing was tested here (when !tested). */
  untestedWhy: string | null;
  /** Distinct vectors that ran here (any transport), and how many relayed / stayed inconclusive. */
  vectors: number;
  relayedVectors: number;
  inconclusiveVectors: number;
  /** Vectors that were denied on every transport that ran them. */
  deniedVectors: number;
}

/** Where a finding was seen: one address, and the transports that gave this answer there. */
export interface Where {
  label: string;
  transports: Transport[];
}

/** One vector's answer, merged across transports and addresses that saw the same commands and reply. */
export interface Finding {
  vector: string;
  description: string;
  provenance: string;
  family: Family;
  outcome: AttemptOutcome;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  reply: string | null;
  reason: string;
  stage: AttemptReport['stage'];
  where: Where[];
  /** The attempts merged into this finding. */
  count: number;
}

export type Family = 'plain' | 'senders' | 'helo' | 'routing' | 'syntax' | 'roles' | 'after-local' | 'local' | 'other';

export const FAMILY_LABEL: Record<Family, string> = {
  plain: 'plain senders (outside, null)',
  senders: 'trusted-looking senders',
  helo: 'HELO names',
  routing: 'routing forms',
  syntax: 'syntax variants',
  roles: 'role mailboxes (postmaster@ …)',
  'after-local': 'outside after a local recipient',
  local: 'local delivery checks',
  other: 'other forms',
};

/**
 * The family of a vector, from its stable id (src/battery/vectors.ts names
 * them by family; the ids are a public contract, so this mapping stays valid).
 */
function familyOf(vector: string): Family {
  if (vector === 'null-sender' || vector === 'external-sender') return 'plain';
  if (/^(helo-|input-helo-)/.test(vector)) return 'helo';
  if (vector.startsWith('external-after-')) return 'after-local';
  if (vector.startsWith('role-')) return 'roles';
  if (vector === 'literal-recipient') return 'local';
  if (/percent|bang|source-route|quoted|double-at|untagged/.test(vector)) return 'routing';
  if (/unbracketed|spaced|spaces-inside|trailing-|upper-case/.test(vector)) return 'syntax';
  if (/(-sender|^input-sender-\d+)$/.test(vector) || vector === 'recipient-as-sender') return 'senders';
  return 'other';
}

function addressLabel(t: Pick<TargetReport, 'host' | 'address' | 'port' | 'service'>): string {
  // Gate mode: the service as the configuration names it; the runner's port is in the gate section.
  if (t.service) return serviceName(t.service);
  if (!t.address) return `${t.host}:${t.port}`;
  const addr = formatAddress(t.address, t.port);
  return t.host === t.address ? addr : `${t.host} (${addr})`;
}

/** The label for details (log groups, transcripts): in gate mode also where the service ran on the runner. */
export function detailLabel(t: Pick<TargetReport, 'host' | 'address' | 'port' | 'service'>): string {
  return t.service ? `${serviceName(t.service)}, run on ${formatAddress(t.address, t.port)}` : addressLabel(t);
}

/**
 * `smtp (25)` as the gate labels a service; a master.cf listener written as
 * host:port is its own port, so `127.0.0.1:2801 (127.0.0.1:2801)` says it once.
 */
function serviceName(service: string): string {
  const m = /^(.*) \((.*)\)$/.exec(service);
  return m && m[1] === m[2] ? m[1] : service;
}

function untestedReason(runs: TargetReport[]): string {
  for (const t of runs) if (!t.reachable && t.error) return t.error;
  for (const t of runs) {
    const ran = t.attempts.find((a) => a.outcome !== 'skipped');
    if (ran) return ran.reason;
  }
  return runs[0]?.attempts[0]?.reason ?? 'no attempt could be run';
}

/** One entry per address and port, in the report's order. */
export function addresses(r: Report): AddressView[] {
  const by = new Map<string, TargetReport[]>();
  for (const t of r.targets) {
    const k = `${t.host}|${t.address}|${t.port}`;
    by.set(k, [...(by.get(k) ?? []), t]);
  }
  return [...by.values()].map((runs) => {
    const t = runs[0];
    const tallies = runs.map(tallyOf);
    const tested = tallies.some((x) => x.tested);
    const ids = (pred: (a: AttemptReport) => boolean): number => new Set(runs.flatMap((x) => x.attempts.filter(pred).map((a) => a.vector))).size;
    // Each vector counted once, by its worst outcome over the transports: relayed, then inconclusive, then denied.
    const worst = new Map<string, AttemptOutcome>();
    const rank: Record<AttemptOutcome, number> = { relayed: 3, inconclusive: 2, denied: 1, skipped: 0 };
    for (const a of runs.flatMap((x) => x.attempts)) if (rank[a.outcome] > rank[worst.get(a.vector) ?? 'skipped']) worst.set(a.vector, a.outcome);
    const count = (o: AttemptOutcome): number => [...worst.values()].filter((x) => x === o).length;
    return {
      host: t.host,
      address: t.address,
      port: t.port,
      family: t.family,
      label: addressLabel(t),
      runs,
      verdict: runVerdict(tallies),
      tested,
      untestedWhy: tested ? null : untestedReason(runs),
      vectors: ids((a) => a.outcome !== 'skipped'),
      relayedVectors: count('relayed'),
      inconclusiveVectors: count('inconclusive'),
      deniedVectors: count('denied'),
    };
  });
}

/** The HELO name most attempts used: relay-check's own. Only a vector that varies it shows its HELO. */
function usualHelo(r: Report): string | null {
  const n = new Map<string, number>();
  for (const t of r.targets) for (const a of t.attempts) if (a.helo !== null) n.set(a.helo, (n.get(a.helo) ?? 0) + 1);
  let best: string | null = null;
  for (const [h, c] of n) if (best === null || c > (n.get(best) ?? 0)) best = h;
  return best;
}

/**
 * The reason with what differs between transports for no reason a reader cares
 * about taken out: each control probe uses a fresh random mailbox.
 */
function sameReason(reason: string): string {
  return reason.replace(/relay-check-nx-[0-9a-f]+/g, 'relay-check-nx-…');
}

/** Findings of the given outcomes, merged: same vector, commands, reply and reason → one finding. */
export function findings(r: Report, outcomes: readonly AttemptOutcome[]): Finding[] {
  const helo = usualHelo(r);
  const out = new Map<string, Finding>();
  for (const t of r.targets) {
    const label = addressLabel(t);
    for (const a of t.attempts) {
      if (!outcomes.includes(a.outcome)) continue;
      const shownHelo = a.helo !== null && a.helo !== helo ? a.helo : null;
      const reason = sameReason(a.reason);
      const key = JSON.stringify([a.outcome, a.vector, shownHelo, a.mailFrom, a.rcptTo, a.reply, reason]);
      let f = out.get(key);
      if (!f) {
        f = {
          vector: a.vector,
          description: a.description,
          provenance: a.provenance,
          family: familyOf(a.vector),
          outcome: a.outcome,
          helo: shownHelo,
          mailFrom: a.mailFrom,
          rcptTo: a.rcptTo,
          reply: a.reply,
          reason,
          stage: a.stage,
          where: [],
          count: 0,
        };
        out.set(key, f);
      }
      f.count++;
      const w = f.where.find((x) => x.label === label);
      if (w) {
        if (!w.transports.includes(t.transport)) w.transports.push(t.transport);
      } else f.where.push({ label, transports: [t.transport] });
    }
  }
  return [...out.values()];
}

/** "127.0.0.1:25 (plaintext, STARTTLS)"; several addresses joined, at most `max` named. */
export function whereText(where: readonly Where[], max = 3): string {
  const one = (w: Where): string => `${w.label} (${w.transports.map((x) => TRANSPORT_LABEL[x]).join(', ')})`;
  const named = where.slice(0, max).map(one);
  if (where.length > max) named.push(`${where.length - max} more address(es)`);
  return named.join('; ');
}

/** Findings grouped by family, largest first. */
export function byFamily(list: readonly Finding[]): { family: Family; findings: Finding[] }[] {
  const m = new Map<Family, Finding[]>();
  for (const f of list) m.set(f.family, [...(m.get(f.family) ?? []), f]);
  return [...m.entries()].map(([family, findings]) => ({ family, findings })).sort((a, b) => b.findings.length - a.findings.length);
}

/** Distinct vector ids of a list, in order. */
export function vectorIds(list: readonly Finding[]): string[] {
  return [...new Set(list.map((f) => f.vector))];
}

/** How the run's client related to the server, for statements that must not claim more than was shown. */
export interface ClientView {
  /** Tested as another client through XCLIENT. */
  clientAddress: string | null;
  /** Relays were accepted on addresses that usually trust their own network, from that network. */
  trustedNetwork: boolean;
  /** The kind of address, for the sentence: "a loopback address", "a private address". */
  kind: string;
}

export function clientView(r: Report, views: readonly AddressView[]): ClientView {
  const open = views.filter((v) => v.verdict === 'open');
  const privateOpen = open.filter((v) => trustedByDefault(networkKind(v.address)));
  const loopback = privateOpen.every((v) => v.address.startsWith('127.') || v.address === '::1' || v.address.startsWith('::ffff:127.'));
  return {
    clientAddress: r.settings.clientAddress,
    trustedNetwork: r.settings.clientAddress === null && privateOpen.length > 0,
    kind: loopback ? 'loopback' : 'private-network',
  };
}

/** Attempts that RCPT accepted and DATA then refused (only under `relaxed`, which sends DATA). */
export function refusedAtData(r: Report): AttemptReport[] {
  return r.targets.flatMap((t) => t.attempts.filter((a) => a.stage === 'data' && a.outcome !== 'relayed'));
}

/** Address and port pairs where no relay attempt ran on any transport (the `unreachable` output). */
export function untestedAddresses(r: Report): AddressView[] {
  return addresses(r).filter((v) => !v.tested);
}

/**
 * The reply and, when it adds something, the reason: "554 5.7.1 Relay access
 * denied" says "relay denied" already, so the words are not printed twice.
 */
export function replyWithReason(reply: string | null, reason: string): string {
  if (reply === null) return reason;
  const words = (s: string): string[] => s.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const said = new Set(words(reply));
  const adds = words(reason).filter((w) => !['the', 'a', 'an', 'by', 'of'].includes(w) && !said.has(w));
  return adds.length === 0 ? reply : `${reply} (${reason})`;
}

/**
 * Why the step fails, without repeating what the verdict sentence already says:
 * verdict/run.ts puts the relayed count first when anything relayed (counted per
 * transport, which would contradict the per-vector sentence); the rest follow.
 */
export function otherFailReasons(r: Report): string[] {
  const rest = r.counts.relayed > 0 ? r.failReasons.slice(1) : r.failReasons;
  // The verdict sentence names each untested address with its reason already; verdict/run.ts's
  // "HOST:PORT: no address could be reached" for it is not even true when XCLIENT was refused.
  const untested = untestedAddresses(r);
  const said = new Set(untested.flatMap((v) => v.runs.map((t) => t.error).filter((e): e is string => e !== null)));
  const keys = untested.map((v) => `${v.host.includes(':') ? `[${v.host}]` : v.host}:${v.port}: `);
  return rest.filter((reason) => !said.has(reason) && !keys.some((k) => reason.startsWith(k)));
}

/** One line for many skipped vectors that share a reason: a run stopped early would otherwise list each. */
export interface SkippedGroup {
  reason: string;
  vectors: string[];
  where: Where[];
}

/** Skipped findings by reason, in order; each group a single line in every renderer. */
export function skippedGroups(r: Report): SkippedGroup[] {
  const by = new Map<string, SkippedGroup>();
  for (const f of findings(r, ['skipped'])) {
    const g = by.get(f.reason) ?? { reason: f.reason, vectors: [], where: [] };
    if (!g.vectors.includes(f.vector)) g.vectors.push(f.vector);
    for (const w of f.where) {
      const have = g.where.find((x) => x.label === w.label);
      if (!have) g.where.push({ label: w.label, transports: [...w.transports] });
      else for (const t of w.transports) if (!have.transports.includes(t)) have.transports.push(t);
    }
    by.set(f.reason, g);
  }
  return [...by.values()];
}

/** "a, b, c and 54 more": a list of vector ids that stays one line. */
export function someIds(ids: readonly string[], show = 3): string {
  return ids.length <= show ? ids.join(', ') : `${ids.slice(0, show).join(', ')} and ${ids.length - show} more`;
}

/** The MTA an address answered as, for the target tables: "Exim 4.96 (high confidence)", "unknown", or "—" when nothing was heard. */
export function mtaLabel(v: AddressView, gate?: Report['gate']): string {
  // Gate mode: the MTA is the one relay-check built, not a guess from the banner.
  if (gate?.exim) return `Exim ${gate.exim.version}`;
  if (gate) return `Postfix ${gate.postfixVersion}`;
  const m = v.runs.find((t) => t.mta && t.mta.name !== 'unknown')?.mta ?? v.runs.find((t) => t.mta)?.mta;
  if (!m) return '—';
  if (m.name === 'unknown') return 'unknown';
  return `${m.name}${m.version ? ` ${m.version}` : ''} (${m.confidence} confidence)`;
}

/**
 * The positive control over an address's transports, in one sentence of plain text (renderers
 * escape it): whether the server accepts mail for its own domain from this client, with the reply.
 * Null when nothing was tested there.
 */
export function ownMailText(v: AddressView): string | null {
  // An open relay needs no control: what relayed is the evidence.
  if (!v.tested || v.verdict === 'open') return null;
  const controls = v.runs.map((t) => t.positiveControl).filter((c): c is NonNullable<TargetReport['positiveControl']> => c !== undefined);
  const probes = controls.flatMap((c) => c.probes);
  const accepted = probes.find((p) => p.accepted === true);
  if (accepted) return `accepts mail for its own domain from this client (${accepted.mailbox}: ${accepted.reply ?? 'accepted'})`;
  // A plaintext "530 Must issue a STARTTLS command first" says less than the refusal inside TLS.
  const refused = probes.find((p) => p.accepted === false && p.rule !== 'starttls-required') ?? probes.find((p) => p.accepted === false);
  const elsewhere = controls.find((c) => c.elsewhere)?.elsewhere;
  const second = elsewhere ? `; as ${elsewhere.address}: ${elsewhere.accepted === true ? 'accepted' : elsewhere.accepted === false ? 'refused' : 'no answer'} (${elsewhere.reply ?? ''})` : '';
  if (refused) return `refuses mail for its own domain from this client (${refused.mailbox}: ${refused.reply ?? 'refused'})${second}`;
  const note = controls.find((c) => c.note)?.note;
  return note ?? null;
}

/**
 * Said first: the server saw a proxy's address instead of ours (one sentence per address it
 * saw, however many targets). Plain text with `backticks`; renderers escape it.
 */
export function proxiedNotes(r: Report): string[] {
  const said = new Map<string, string>();
  for (const t of r.targets) {
    const s = t.vantage ? proxiedSentence(t.vantage) : null;
    if (s && t.vantage?.seenAs) said.set(t.vantage.seenAs, s);
  }
  return [...said.values()];
}

/**
 * The address the server named for this client, or, when it named none, that it is unknown and
 * how to find it (not for loopback targets: nothing stands between, and every run would say it).
 * Null under XCLIENT, which supplied the address itself. Plain text with `backticks`.
 */
export function seenAsText(v: AddressView): string | null {
  const t = v.runs.find((x) => x.vantage);
  const seen = t?.vantage;
  if (!t || !seen || seen.xclient !== null) return null;
  if (seen.seenAs !== null) return `${seen.seenAs} (named in its EHLO reply)`;
  if (networkKind(v.address) === 'loopback') return null;
  return unseenSentence(seen, t.mta?.name ?? null);
}

/** One accepted attempt's routing proof (gate mode), merged across the transports of a service. */
export interface RouteRow {
  /** The service, as the targets table names it. */
  label: string;
  vector: string;
  family: Family;
  /** The relay destination as sent. */
  rcpt: string;
  proof: NonNullable<AttemptReport['route']>;
}

/** Every routing proof of the run, once per service and vector: what did not relay first, then routing forms, then the rest. */
export function routeRows(r: Report): RouteRow[] {
  const out = new Map<string, RouteRow>();
  for (const t of r.targets) {
    for (const a of t.attempts) {
      if (!a.route) continue;
      const label = addressLabel(t);
      const key = JSON.stringify([label, a.vector]);
      if (!out.has(key)) out.set(key, { label, vector: a.vector, family: familyOf(a.vector), rcpt: a.rcptTo[a.rcptTo.length - 1] ?? '', proof: a.route });
    }
  }
  const rank = (x: RouteRow): number => (x.proof.relays === false ? 0 : x.proof.relays === null ? 1 : x.family === 'routing' ? 2 : 3);
  return [...out.values()].sort((a, b) => rank(a) - rank(b));
}

/** Where a proof says the mail went, in a few words. */
export function routeText(p: NonNullable<AttemptReport['route']>): string {
  if (p.class === null) return 'not shown';
  const to = { default: 'default transport: relayed', relay: 'relay transport (relay_domains): relayed', local: 'local transport: not a relay', virtual: 'virtual mailbox transport: not a relay', bounced: 'bounced by the server itself: not a relay' } as const;
  return to[p.class];
}
