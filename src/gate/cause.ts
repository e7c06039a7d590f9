import path from 'node:path';
import type { Diagnosis } from '../diagnosis/diagnose.js';
import type { AttemptReport } from '../model/report.js';
import { causeOf, elementGroups, entryCovers, listEntries, REFUSE_ALL, RELAY_CHECKS, type Effective, type EffectiveCause, type Lookup } from './effective.js';
import { editOf, settingFor, unifiedDiff, type ConfigFiles, type ConfigPlace, type ProposedFix } from './fix.js';
import type { GateCause } from '../model/gate.js';
import { networkKind } from '../diagnosis/vantage.js';
export type { GateCause } from '../model/gate.js';

/**
 * Gate mode: the cause of a service's relaying as the effective configuration
 * shows it (src/gate/effective.ts), placed on the line of the repository that
 * sets it, with the smallest change at that line.
 */

const bare = (a: string | null): string | null => (a === null ? null : a.replace(/^\s*<?|>?\s*$/g, ''));

/** The distinct causes of one service's relayed attempts (each attempt read as smtpd reads it). */
export function serviceCauses(service: string, attempts: readonly AttemptReport[], eff: Effective, client: string, lookup: Lookup, files: ConfigFiles): GateCause[] {
  const out: GateCause[] = [];
  for (const a of attempts.filter((x) => x.outcome === 'relayed')) {
    const recipient = bare(a.rcptTo[a.rcptTo.length - 1] ?? null);
    if (!recipient) continue;
    const causes = causeOf(eff, { client, helo: a.helo, sender: bare(a.mailFrom), recipient }, lookup);
    for (const c of causes ?? []) {
      const placed = placeCause(service, c, client, files, a.vector);
      if (!out.some((x) => x.kind === placed.kind && x.list === placed.list && x.element === placed.element)) out.push(placed);
    }
  }
  return out;
}

function sentenceOf(raw: EffectiveCause, client: string): string {
  // Configuration text goes inside `code`: a backtick in it would end the span early.
  const c = { ...raw, detail: raw.detail.replace(/`/g, "'"), element: raw.element.replace(/`/g, "'") };
  const list = `\`${c.list}\``;
  switch (c.kind) {
    case 'mynetworks':
      return loopbackClient(client)
        ? `\`mynetworks\` covers ${client} (\`${c.detail}\`), so \`permit_mynetworks\` in ${list} permits it before the relay check. ${client} is loopback, trusted by design (local programs submit through it): the relay is open only if outside clients arrive as ${client}, which is a forwarder in front of Postfix hiding their address.`
        : `\`mynetworks\` covers the outside client ${client} (\`${c.detail}\`), so \`permit_mynetworks\` in ${list} permits it before the relay check.`;
    case 'access-map':
      return `The access table entry \`${c.detail}\` (\`${c.element.split(' ')[0]}\` in ${list}) permits it before the relay check.`;
    case 'permit':
      return `\`permit\` in ${list} comes before the relay check: it permits every client.`;
    case 'relay-domains':
      return `\`relay_domains\` names ${c.detail}, the domain the relayed attempt was addressed to: Postfix relays to it for any client.`;
    case 'no-relay-check':
      return 'Neither `smtpd_relay_restrictions` nor `smtpd_recipient_restrictions` of this service reaches `reject_unauth_destination`.';
  }
}

/** The line of a map file whose key is the one that matched. */
function mapLine(files: ConfigFiles, table: string, key: string): ConfigPlace | null {
  const name = table.replace(/^[a-z0-9_]+:/, '');
  for (const candidate of [name, `/etc/postfix/${path.basename(name)}`, path.basename(name)]) {
    const map = files.mapText(candidate);
    if (!map) continue;
    const lines = map.text.split(/\r?\n/);
    const i = lines.findIndex((l) => !/^\s*#/.test(l) && l.trim().split(/\s+/)[0]?.toLowerCase() === key.toLowerCase());
    if (i >= 0) return { file: map.file, line: i + 1, setting: `${map.file}: ${key}`, value: lines[i].trim() };
  }
  return null;
}

function placeCause(service: string, c: EffectiveCause, client: string, files: ConfigFiles, vector: string): GateCause {
  const base = { service, kind: c.kind, list: c.list, element: c.element, ...(c.table ? { table: c.table } : {}), client, sentence: sentenceOf(c, client), vector };
  const at = (name: string): ConfigPlace[] => {
    const s = settingFor(files, service, name);
    return s ? [s.place] : [];
  };
  if (c.kind === 'mynetworks') return { ...base, places: at('mynetworks') };
  if (c.kind === 'relay-domains') return { ...base, places: at('relay_domains') };
  if (c.kind === 'access-map') {
    const key = c.detail.split(' ')[0];
    const s = settingFor(files, service, c.list);
    const group = s ? elementGroups(s.value).find((g) => sameCheck(g, c.element)) : undefined;
    const table = group ? (group.split(' ').slice(1).find((t) => sameTable(t, c.table ?? '')) ?? group.split(' ')[1] ?? '') : '';
    const map = group ? mapLine(files, table, key) : null;
    return { ...base, places: [...(s ? [s.place] : []), ...(map ? [map] : [])] };
  }
  return { ...base, places: at(c.list) };
}

/** The same table in the repository's text and in the instance (whose table paths are the instance's copies). */
const sameTable = (repo: string, instance: string): boolean => path.basename(repo.replace(/^[a-z0-9_]+:/, '')) === path.basename(instance.replace(/^[a-z0-9_]+:/, ''));

/** The same access check in the repository's text and in the instance. */
function sameCheck(repo: string, instance: string): boolean {
  const [a, ta = ''] = repo.split(' ');
  const [b, tb = ''] = instance.split(' ');
  return a === b && sameTable(ta, tb);
}

const isCheck = (g: string): boolean => RELAY_CHECKS.includes(g);

/** A list with `remove` taken out before its relay check (or a `reject` that refuses everything), and a relay check appended when it has none. */
function withCheck(value: string, remove: (g: string) => boolean): string {
  const stops = (g: string): boolean => isCheck(g) || REFUSE_ALL.includes(g);
  const groups = elementGroups(value);
  const at = groups.findIndex(stops);
  const kept = groups.filter((g, i) => !(remove(g) && (at < 0 || i < at)));
  return (kept.some(stops) ? kept : [...kept, 'reject_unauth_destination']).join(', ');
}

/**
 * A list with the matching access check moved after the relay check. Of a check
 * that names several tables only the one that answered moves (the others keep
 * their place: a maintenance REJECT table must still come first).
 */
function moved(value: string, match: (g: string) => boolean, table: string | undefined): string | null {
  const groups = elementGroups(value);
  const at = groups.findIndex(isCheck);
  if (at < 0) return null;
  const before = groups.slice(0, at).filter(match);
  if (before.length === 0) return null;
  const split = (g: string): { stay: string | null; go: string } => {
    const [check, ...tables] = g.split(' ');
    const hit = table === undefined ? undefined : tables.find((t) => sameTable(t, table));
    if (tables.length < 2 || hit === undefined) return { stay: null, go: g };
    return { stay: [check, ...tables.filter((t) => t !== hit)].join(' '), go: `${check} ${hit}` };
  };
  const rest = groups.flatMap((g) => (before.includes(g) ? (split(g).stay === null ? [] : [split(g).stay as string]) : [g]));
  const i = rest.findIndex(isCheck);
  return [...rest.slice(0, i + 1), ...before.map((g) => split(g).go), ...rest.slice(i + 1)].join(', ');
}

/** A `$name` standing for a whole element (a list kept in another parameter): the text at this line is not the list. */
const hasListReference = (value: string): boolean => elementGroups(value).some((g) => g.startsWith('$'));

/**
 * Mail-in-a-Box #1586: a box behind LXC port forwarding saw every client as 127.0.0.1. Taking
 * loopback out of mynetworks there would cut off the box's own programs and still leave the
 * forwarder lying about every client: the fix belongs in front of Postfix, so none is proposed here.
 */
const loopbackClient = (client: string): boolean => networkKind(client) === 'loopback';
const LOOPBACK_FIX =
  'Keep the client\'s real address in front of Postfix: a port forward or proxy that re-originates connections from loopback (LXC proxy devices without `nat=true`, Docker\'s userland proxy, a TCP forwarder) makes every outside client look local; forward with the address kept (NAT, or the PROXY protocol with `smtpd_upstream_proxy_protocol`/`postscreen_upstream_proxy_protocol`). No main.cf change is proposed: loopback belongs in `mynetworks`.';

/**
 * The smallest change at the line that causes it: `mynetworks` narrowed to the
 * entries that do not cover the outside client (loopback when none is left),
 * the access check moved after the relay check, `permit` taken out, a relay
 * check added. null when the line cannot be changed as text (a table, a `$name`).
 */
export function fixForCause(c: GateCause, files: ConfigFiles): ProposedFix | null {
  if (c.kind === 'mynetworks' && loopbackClient(c.client)) return null;
  const name = c.kind === 'mynetworks' ? 'mynetworks' : c.kind === 'relay-domains' ? null : c.list;
  if (name === null) return null;
  const s = settingFor(files, c.service, name);
  // A `$name` inside a table path (`texthash:$config_directory/x`) moves with its element unchanged; a `$name` that is itself
  // an element, or any in mynetworks (whose entries are matched as addresses here), cannot be edited as text.
  if (!s || hasListReference(s.value) || (name === 'mynetworks' && (s.value.includes('$') || /(^|[\s,])[a-z]+:\//.test(s.value)))) return null;
  let after: string | null;
  if (c.kind === 'mynetworks') {
    const kept = listEntries(s.value).filter((e) => !entryCovers(e, c.client));
    after = (kept.length > 0 ? kept : ['127.0.0.0/8', '[::1]/128']).join(s.value.includes(',') ? ', ' : ' ');
  } else if (c.kind === 'access-map') after = moved(s.value, (g) => sameCheck(g, c.element), c.table);
  else if (c.kind === 'permit') after = withCheck(s.value, (g) => g === 'permit');
  else after = withCheck(s.value, () => false);
  if (after === null || after === s.value) return null;
  const edit = editOf(files, s.place, name, after);
  return { rule: causeRule(c), services: [c.service], places: c.places.length > 0 ? c.places : [s.place], overrides: [`${s.overrideName} = ${after}`], diff: unifiedDiff([edit]) };
}

/** The rule id a cause's finding and fix share (annotations pair them by it). */
const causeRule = (c: Pick<GateCause, 'kind'>): string => `gate-cause-${c.kind}`;

const DOCS: Record<GateCause['kind'], string> = {
  mynetworks: 'https://www.postfix.org/postconf.5.html#mynetworks',
  'access-map': 'https://www.postfix.org/SMTPD_ACCESS_README.html',
  permit: 'https://www.postfix.org/postconf.5.html#smtpd_relay_restrictions',
  'no-relay-check': 'https://www.postfix.org/postconf.5.html#smtpd_relay_restrictions',
  'relay-domains': 'https://www.postfix.org/postconf.5.html#relay_domains',
  'relay-hosts': 'https://www.exim.org/exim-html-current/doc/html/spec_html/ch-access_control_lists.html',
};
const FIX_TEXT: Record<GateCause['kind'], string> = {
  mynetworks: 'List only the hosts that may relay in `mynetworks` (e.g. `127.0.0.0/8 [::1]/128`) on that line.',
  'access-map': 'Remove the `OK` entry, or move the check after `reject_unauth_destination`.',
  permit: 'Take `permit` out of the list before `reject_unauth_destination`.',
  'no-relay-check': 'End the list in `reject_unauth_destination` (after `permit_mynetworks, permit_sasl_authenticated`).',
  'relay-domains': 'List in `relay_domains` only the domains this server is a backup MX or gateway for.',
  'relay-hosts': 'List only the hosts that may relay in the `accept hosts = …` list (Exim `relay_from_hosts`, Debian `dc_relay_nets`).',
};

/**
 * Gate mode: the diagnosis with the causes the effective configuration showed in
 * place of the pattern table's guesses. The pattern (only some services relay, …)
 * stays the summary; the table's rows stay only for services with no cause found.
 */
export function withCauses(d: Diagnosis, causes: readonly GateCause[], relaying: readonly string[]): Diagnosis {
  if (causes.length === 0) return d;
  const findings = [];
  const seen = new Set<string>();
  for (const c of causes) {
    const key = `${c.kind} ${c.places[0] ? `${c.places[0].file}:${c.places[0].line}` : c.list}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const on = [...new Set(causes.filter((x) => `${x.kind} ${x.places[0] ? `${x.places[0].file}:${x.places[0].line}` : x.list}` === key).map((x) => x.service))];
    const where = c.places[0] ? ` Set at \`${c.places[0].file}\` line ${c.places[0].line}.` : ' Set by a Postfix default.';
    findings.push({
      rule: causeRule(c),
      mta: 'Postfix',
      cause: `On ${on.join(', ')}: ${c.sentence}${where}`,
      settings: [...new Set([c.list, ...(c.kind === 'mynetworks' ? ['mynetworks'] : c.kind === 'relay-domains' ? ['relay_domains'] : [])])],
      fix: c.kind === 'mynetworks' && loopbackClient(c.client) ? LOOPBACK_FIX : FIX_TEXT[c.kind],
      docs: DOCS[c.kind],
      provenance: 'the private instance\'s effective configuration (postconf -x, postconf -P), its restriction lists walked as smtpd walks them at RCPT TO for the client address tested',
    });
  }
  const unexplained = relaying.some((s) => !causes.some((c) => c.service === s));
  return { ...d, findings: [...findings, ...(unexplained ? d.findings : [])], unmatched: null };
}
