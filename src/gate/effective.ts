import { spawnSync } from 'node:child_process';
import { run } from './run.js';
import { restrictionItems } from './sandbox.js';
import type { CauseKind } from '../model/gate.js';

/**
 * Gate mode: why a service relayed, read from the private instance's
 * *effective* configuration (postconf with defaults and `$name` expanded,
 * `postconf -P` for the service's master.cf overrides) rather than guessed
 * from the pattern of what relayed. The restriction lists of the service are
 * walked as smtpd walks them at RCPT TO (smtpd_delay_reject = yes, Postfix's
 * default: client, HELO, sender, relay, recipient), for the client address
 * the gate actually tested as, and the element that let the relay through
 * is named. Evaluation is pure; reading the instance and its maps is not.
 */

/** The lists smtpd applies at RCPT TO, in its order (postconf(5) smtpd_delay_reject). */
const RESTRICTION_LISTS = ['smtpd_client_restrictions', 'smtpd_helo_restrictions', 'smtpd_sender_restrictions', 'smtpd_relay_restrictions', 'smtpd_recipient_restrictions'] as const;
const READ = [...RESTRICTION_LISTS, 'mynetworks', 'relay_domains', 'mydestination', 'smtpd_null_access_lookup_key'] as const;
/** Elements that refuse a recipient outside the server's domains: what a relay list must reach. */
export const RELAY_CHECKS = ['reject_unauth_destination', 'defer_unauth_destination'];
/** Elements that refuse whatever reaches them. */
export const REFUSE_ALL = ['reject', 'defer', 'defer_all'];

/** What one relayed attempt looked like to smtpd. */
export interface AttemptContext {
  client: string;
  helo: string | null;
  sender: string | null;
  recipient: string;
}

/** A service's effective values: its `-o` overrides over main.cf over Postfix's defaults, `$name` expanded. */
export type Effective = ReadonlyMap<string, string>;

/** An access table lookup: the value for the first key that has one, 'none', or 'error' (the table cannot be read here). */
export type Lookup = (table: string, keys: readonly string[]) => { key: string; value: string } | 'none' | 'error';

export interface EffectiveCause {
  kind: Exclude<CauseKind, 'relay-hosts'>;
  /** The restriction list that let it through. */
  list: string;
  /** The element: `permit_mynetworks`, `check_sender_access hash:/…`, `permit`. */
  element: string;
  /** mynetworks: the entries that cover the client; access-map: the key that matched and its result; relay-domains: the domain. */
  detail: string;
  /** access-map: the one table of the check that answered (a check may name several). */
  table?: string;
}

/** Elements grouped with the table each check names: `check_sender_access hash:/x` is one. */
export function elementGroups(value: string): string[] {
  const out: string[] = [];
  for (const item of restrictionItems(value)) {
    const last = out[out.length - 1];
    if (last !== undefined && /^[a-z0-9_]+:/.test(item) && /^check_\w+_access$/.test(last.split(' ')[0])) out[out.length - 1] = `${last} ${item}`;
    else out.push(item);
  }
  return out;
}

function ipv4(a: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  return m && m.slice(1).every((x) => Number(x) < 256) ? m.slice(1).reduce((n, x) => n * 256 + Number(x), 0) : null;
}

/** Whether one mynetworks entry (`net/len`, `[v6]/len`, an address) covers the client; IPv4 clients only, and the IPv6 "everyone" forms. */
export function entryCovers(entry: string, client: string): boolean {
  const e = entry.replace(/^\[|\]/g, '');
  if (/^(::|::ffff:0\.0\.0\.0|::ffff:0:0)\/(0|96)$/.test(e)) return true;
  const [net, bits] = e.split('/');
  const n = ipv4(net);
  const c = ipv4(client);
  if (n === null || c === null) return false;
  const len = bits === undefined ? 32 : Number(bits);
  if (!Number.isInteger(len) || len < 0 || len > 32) return false;
  if (len === 0) return true;
  const mask = len >= 32 ? 0xffffffff : ~((1 << (32 - len)) - 1) >>> 0;
  return ((n & mask) >>> 0) === ((c & mask) >>> 0);
}

export const listEntries = (value: string): string[] => value.split(/[\s,]+/).filter(Boolean);

/** Keys smtpd looks up for an address in an access table (access(5)): the address, the domain and its parents, `user@`. */
export function addressKeys(address: string, nullKey = '<>'): string[] {
  if (address === '') return [nullKey];
  const at = address.lastIndexOf('@');
  if (at < 0) return [address];
  const domain = address.slice(at + 1);
  const labels = domain.split('.');
  const parents = labels.slice(1, -1).map((_, i) => labels.slice(i + 1).join('.'));
  return [address, domain, ...parents.flatMap((p) => [p, `.${p}`]), address.slice(0, at + 1)];
}

/** Keys for a client address (access(5) "client address patterns"): the address, then its shorter octet prefixes. */
export function clientKeys(client: string): string[] {
  const parts = client.split('.');
  return parts.length === 4 ? [client, parts.slice(0, 3).join('.'), parts.slice(0, 2).join('.'), parts[0]] : [client];
}

function accessKeys(check: string, ctx: AttemptContext, nullKey: string): string[] {
  if (check === 'check_client_access') return clientKeys(ctx.client);
  if (check === 'check_helo_access') return ctx.helo ? addressKeys(ctx.helo).filter((k) => !k.endsWith('@')) : [];
  if (check === 'check_sender_access') return ctx.sender === null ? [] : addressKeys(ctx.sender, nullKey);
  if (check === 'check_recipient_access') return addressKeys(ctx.recipient);
  return [];
}

const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** Whether a domain list (relay_domains, mydestination, expanded) names the domain; a table in it is not read here. */
function domainListHas(value: string, domain: string, parentMatches = true): boolean {
  return listEntries(value).some((e) => {
    const x = e.toLowerCase();
    return x === domain || (parentMatches && x.startsWith('.') ? domain.endsWith(x) : parentMatches && domain.endsWith(`.${x}`));
  });
}

type Step = { result: 'permit' | 'refuse' | 'dunno' | 'unknown'; cause?: EffectiveCause };

function accessResult(value: string): Step['result'] {
  const v = value.trim().split(/\s+/)[0].toUpperCase();
  if (['OK', 'PERMIT', 'RELAY'].includes(v) || /^2\d\d$/.test(v)) return 'permit';
  if (['REJECT', 'DEFER', 'DEFER_IF_PERMIT', 'DISCARD'].includes(v) || /^[45]\d\d$/.test(v)) return 'refuse';
  if (['DUNNO', 'WARN', 'INFO', 'PREPEND', 'HOLD', 'FILTER', 'REDIRECT', 'BCC'].includes(v)) return 'dunno';
  return 'unknown';
}

/** One element, for one attempt: permits, refuses, says nothing, or cannot be judged here. */
function step(list: string, element: string, eff: Effective, ctx: AttemptContext, lookup: Lookup): Step {
  // A check may name several tables (`check_recipient_access texthash:a texthash:b`): Postfix asks them in order.
  const [name, ...tables] = element.split(' ');
  if (name === 'permit') return { result: 'permit', cause: { kind: 'permit', list, element, detail: 'permit' } };
  if (REFUSE_ALL.includes(name)) return { result: 'refuse' };
  if (name === 'permit_mynetworks') {
    const wide = listEntries(eff.get('mynetworks') ?? '').filter((e) => entryCovers(e, ctx.client));
    return wide.length > 0 ? { result: 'permit', cause: { kind: 'mynetworks', list, element, detail: wide.join(' ') } } : { result: 'dunno' };
  }
  if (RELAY_CHECKS.includes(name) || name === 'permit_auth_destination') {
    const d = domainOf(ctx.recipient);
    const local = domainListHas(eff.get('mydestination') ?? '', d, false);
    const relay = !local && domainListHas(eff.get('relay_domains') ?? '', d);
    if (relay) return { result: name === 'permit_auth_destination' ? 'permit' : 'dunno', cause: { kind: 'relay-domains', list, element, detail: d } };
    if (local) return { result: name === 'permit_auth_destination' ? 'permit' : 'dunno' };
    return { result: name === 'permit_auth_destination' ? 'dunno' : 'refuse' };
  }
  if (/^check_\w+_access$/.test(name) && tables.length > 0) {
    const keys = accessKeys(name, ctx, eff.get('smtpd_null_access_lookup_key') || '<>');
    if (keys.length === 0) return { result: 'unknown' };
    for (const table of tables) {
      const hit = lookup(table, keys);
      if (hit === 'error') return { result: 'unknown' };
      if (hit === 'none') continue;
      const result = accessResult(hit.value);
      return result === 'permit' ? { result, cause: { kind: 'access-map', list, element, detail: `${hit.key} ${hit.value}`, table } } : { result };
    }
    return { result: 'dunno' };
  }
  // Authentication, client certificates, DNS lists, MX checks: the gate's client has none of them.
  if (/^(permit_sasl_authenticated|permit_tls_clientcerts|permit_tls_all_clientcerts|permit_inet_interfaces|permit_mx_backup|permit_dnswl_client|permit_rhswl_client|check_\w+_(mx|ns|a)_access)$/.test(name)) return { result: 'dunno' };
  if (/^(reject_|warn_if_reject|sleep$|defer_if_|check_policy_service)/.test(name)) return { result: 'dunno' };
  return { result: 'unknown' };
}

/**
 * Why this attempt relayed on a service with these effective values: in the
 * relay and recipient lists that hold a relay check, the element that permitted
 * before it (or `relay_domains` naming the recipient's domain); when neither
 * list holds one, that. null when something on the way cannot be judged here (a
 * restriction class, a table that cannot be read), or when by this reading the
 * attempt should have been refused (then the pattern diagnosis speaks instead).
 */
export function causeOf(eff: Effective, ctx: AttemptContext, lookup: Lookup): EffectiveCause[] | null {
  const causes: EffectiveCause[] = [];
  let checked = false;
  for (const list of RESTRICTION_LISTS) {
    const groups = elementGroups(eff.get(list) ?? '');
    const relayList = list === 'smtpd_relay_restrictions' || list === 'smtpd_recipient_restrictions';
    let permitted: EffectiveCause | undefined;
    for (const g of groups) {
      const s = step(list, g, eff, ctx, lookup);
      if (s.result === 'unknown' || s.result === 'refuse') return null;
      if (s.cause?.kind === 'relay-domains' && !causes.some((c) => c.kind === 'relay-domains')) causes.push(s.cause);
      if (s.result === 'permit') {
        permitted = s.cause;
        break;
      }
    }
    if (!relayList || !groups.some((g) => RELAY_CHECKS.includes(g) || REFUSE_ALL.includes(g))) continue;
    checked = true;
    if (permitted && permitted.kind !== 'relay-domains') causes.push(permitted);
  }
  if (!checked) causes.push({ kind: 'no-relay-check', list: 'smtpd_relay_restrictions', element: '', detail: 'neither smtpd_relay_restrictions nor smtpd_recipient_restrictions reaches reject_unauth_destination' });
  return causes.length > 0 ? causes : null;
}

/** Reads the effective configuration of an instance's conf directory: main values, and per master.cf service the `-o` overrides. */
export async function readEffective(conf: string): Promise<{ main: Map<string, string>; services: Map<string, Map<string, string>> }> {
  const main = new Map<string, string>();
  const postconf = async (args: string[]): Promise<string> => (await run('postconf', ['-c', conf, ...args], { timeout: 30_000 })).stdout;
  for (const line of (await postconf(['-x', ...READ])).split('\n')) {
    const m = /^([a-z0-9_]+) = ?(.*)$/.exec(line);
    if (m) main.set(m[1], m[2].trim());
  }
  const services = new Map<string, Map<string, string>>();
  for (const line of (await postconf(['-P', '-x'])).split('\n')) {
    const m = /^(.+)\/inet\/([a-z0-9_]+) = ?(.*)$/.exec(line);
    if (!m) continue;
    const s = services.get(m[1]) ?? new Map<string, string>();
    s.set(m[2], m[3].trim());
    services.set(m[1], s);
  }
  return { main, services };
}

/** The effective values of one service: its overrides over main. */
export function serviceEffective(e: { main: ReadonlyMap<string, string>; services: ReadonlyMap<string, ReadonlyMap<string, string>> }, service: string): Effective {
  return new Map([...e.main, ...(e.services.get(service) ?? new Map<string, string>())]);
}

/** Access table lookups with postmap -q on the instance's own (built) tables; a failing table is "cannot be judged". */
export function postmapLookup(conf: string): Lookup {
  // Every relayed attempt is read: the same table and key come up again and again.
  const seen = new Map<string, string | null | 'error'>();
  const one = (table: string, key: string): string | null | 'error' => {
    const id = `${table}\0${key}`;
    if (!seen.has(id)) {
      const r = spawnSync('postmap', ['-c', conf, '-q', key, table], { encoding: 'utf8', timeout: 10_000 });
      seen.set(id, r.status === 0 ? (r.stdout.trim().split('\n')[0] ?? '') : r.status === 1 ? null : 'error');
    }
    return seen.get(id) ?? null;
  };
  return (table, keys) => {
    for (const key of keys) {
      const v = one(table, key);
      if (v === 'error') return 'error';
      if (v !== null) return { key, value: v };
    }
    return 'none';
  };
}

