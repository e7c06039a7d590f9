import type { Diagnosis } from '../diagnosis/diagnose.js';
import { serviceOverrides, type MainParam, type MasterService } from './postfix-files.js';
import { restrictionItems } from './sandbox.js';

/**
 * Gate mode: the line of the configuration a diagnosis points at, and the
 * change that should close the relay, as `postfix-overrides` lines so that the
 * gate can prove it on a fixed copy. Pure: parsed files in, places and lines out.
 */

export interface ConfigPlace {
  /** Relative to the configuration directory: `main.cf`, `master.cf`, or a map file. */
  file: string;
  line: number;
  /** What is set there: `smtpd_relay_restrictions`, `submission/inet -o mynetworks`, `sender_access: example.org`. */
  setting: string;
  value: string;
}

export interface ProposedFix {
  rule: string;
  /** The master.cf services it concerns (one fix in main.cf may close several). */
  services: string[];
  /** Where the cause is set; the first is the line to change. */
  places: ConfigPlace[];
  /** The change as `postfix-overrides` lines (`name = value`, `service/type/name = value`). */
  overrides: string[];
  /** The change as a diff of the setting: `- old` / `+ new`. */
  diff: string;
}

export interface ConfigFiles {
  main: readonly MainParam[];
  master: readonly MasterService[] | null;
  /** master.cf's text (to find the line of a `-o` continuation). */
  masterText: string | null;
  /** A map file's text by its path as the configuration names it (`/etc/postfix/sender_access`), or null. */
  mapText: (name: string) => { file: string; text: string } | null;
}

/** The client the gate tests as (GATE_CLIENT_ADDRESS); a mynetworks entry covering it is what lets it relay. */
const OUTSIDER = '203.0.113.10';
const RELAY_CHECKS = ['reject_unauth_destination', 'defer_unauth_destination'];

interface Setting {
  value: string;
  place: ConfigPlace;
  /** The postfix-overrides name that replaces it. */
  overrideName: string;
}

function mainParam(files: ConfigFiles, name: string): MainParam | undefined {
  return [...files.main].reverse().find((p) => p.name === name);
}

function optionLine(files: ConfigFiles, s: MasterService, name: string): number {
  const lines = files.masterText?.split(/\r?\n/) ?? [];
  for (let i = s.line - 1; i < lines.length; i++) {
    if (i > s.line - 1 && !/^\s/.test(lines[i]) && lines[i].trim() !== '' && !/^\s*#/.test(lines[i])) break;
    if (new RegExp(`-o\\s*\\{?\\s*${name}\\s*=`).test(lines[i])) return i + 1;
  }
  return s.line;
}

/**
 * The effective value of a parameter for a service: its `-o` override (one
 * `$name` reference followed into main.cf, as Debian's submission entry does),
 * else main.cf; undefined when neither sets it (Postfix's default applies).
 */
export function settingFor(files: ConfigFiles, service: string, name: string): Setting | undefined {
  const s = files.master?.find((m) => m.service === service && (m.command === 'smtpd' || m.command === 'postscreen'));
  const o = s ? serviceOverrides(s).find((x) => x.name === name) : undefined;
  if (s && o) {
    const ref = /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(o.value);
    const target = ref ? mainParam(files, ref[1]) : undefined;
    if (target) return { value: target.value, place: { file: 'main.cf', line: target.line, setting: target.name, value: target.value }, overrideName: target.name };
    return { value: o.value, place: { file: 'master.cf', line: optionLine(files, s, name), setting: `${s.service}/${s.type} -o ${name}`, value: o.value }, overrideName: `${s.service}/${s.type}/${name}` };
  }
  const p = mainParam(files, name);
  return p ? { value: p.value, place: { file: 'main.cf', line: p.line, setting: name, value: p.value }, overrideName: name } : undefined;
}

/** Restriction items grouped with their table arguments: `check_sender_access hash:/x` is one. */
export function restrictionGroups(value: string): string[] {
  const out: string[] = [];
  for (const item of restrictionItems(value)) {
    if (out.length > 0 && /^[a-z0-9_]+:/.test(item) && /^check_\w+_access$|^check_\w+_\w+_access$/.test(out[out.length - 1].split(' ')[0])) out[out.length - 1] += ` ${item}`;
    else out.push(item);
  }
  return out;
}

/** The list with the matching groups moved after the relay check (inserted when missing). */
export function moveAfterRelayCheck(value: string, matches: (group: string) => boolean): string | null {
  const groups = restrictionGroups(value);
  const check = groups.findIndex((g) => RELAY_CHECKS.includes(g));
  const before = (check < 0 ? groups : groups.slice(0, check)).filter(matches);
  if (before.length === 0) return null;
  const rest = groups.filter((g) => !before.includes(g));
  const at = rest.findIndex((g) => RELAY_CHECKS.includes(g));
  const withCheck = at < 0 ? [...rest, 'reject_unauth_destination'] : rest;
  const i = withCheck.findIndex((g) => RELAY_CHECKS.includes(g));
  return [...withCheck.slice(0, i + 1), ...before, ...withCheck.slice(i + 1)].join(', ');
}

function ipv4(a: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  return m ? m.slice(1).reduce((n, x) => n * 256 + Number(x), 0) : null;
}

/** Whether a mynetworks entry covers the gate's outside client (or every IPv6 client). */
export function coversOutsider(entry: string): boolean {
  const e = entry.replace(/^\[|\]/g, '');
  if (/^(::|::ffff:0\.0\.0\.0|::ffff:0:0)\/(0|96)$/.test(e) || e === '::/0') return true;
  const [net, bits] = e.split('/');
  const n = ipv4(net);
  const o = ipv4(OUTSIDER);
  if (n === null || o === null) return false;
  const len = bits === undefined ? 32 : Number(bits);
  if (len === 0) return true;
  const mask = len >= 32 ? 0xffffffff : ~((1 << (32 - len)) - 1) >>> 0;
  return ((n & mask) >>> 0) === ((o & mask) >>> 0);
}

function diffOf(before: string, after: string): string {
  return `- ${before}\n+ ${after}`;
}

const ACCESS_OF: Record<string, { check: RegExp; key: (mydomain: string) => RegExp }> = {
  'postfix-sender-access': { check: /^check_sender_access\b/, key: (d) => new RegExp(`^\\s*${d.replace(/\./g, '\\.')}\\s+OK\\b`, 'i') },
  'postfix-null-sender': { check: /^check_sender_access\b/, key: () => /^\s*<>\s+OK\b/i },
  'postfix-helo-access': { check: /^check_helo_access\b/, key: () => /^\s*\S+\s+(OK|PERMIT)\b/i },
  'postfix-role-accounts': { check: /^check_recipient_access\b/, key: () => /^\s*\S*(postmaster|abuse|hostmaster)\S*\s+OK\b/i },
};

/** The line of a map file (named by the group's table) that returns OK for what relayed. */
function mapPlace(files: ConfigFiles, group: string, key: RegExp): ConfigPlace | null {
  for (const table of group.split(' ').slice(1)) {
    const name = table.replace(/^[a-z0-9_]+:/, '');
    const map = files.mapText(name);
    if (!map) continue;
    const lines = map.text.split(/\r?\n/);
    const i = lines.findIndex((l) => key.test(l));
    if (i >= 0) return { file: map.file, line: i + 1, setting: `${map.file}: ${lines[i].trim().split(/\s+/)[0]}`, value: lines[i].trim() };
  }
  return null;
}

/** What to change for one finding of a diagnosis, on one service; null when relay-check cannot say. */
export function proposeFix(rule: string, service: string, files: ConfigFiles, mydomain: string): ProposedFix | null {
  const access = ACCESS_OF[rule];
  if (access) {
    for (const list of ['smtpd_relay_restrictions', 'smtpd_recipient_restrictions']) {
      const s = settingFor(files, service, list);
      if (!s) continue;
      const moved = moveAfterRelayCheck(s.value, (g) => access.check.test(g));
      if (moved === null) continue;
      const group = restrictionGroups(s.value).find((g) => access.check.test(g)) ?? '';
      const map = mapPlace(files, group, access.key(mydomain));
      return { rule, services: [service], places: [s.place, ...(map ? [map] : [])], overrides: [`${s.overrideName} = ${moved}`], diff: diffOf(`${s.place.setting} = ${s.value}`, `${s.place.setting} = ${moved}`) };
    }
    return null;
  }
  if (rule === 'postfix-no-relay-check' || rule === 'postfix-ipv6-mynetworks' || rule === 'postfix-service-override') {
    const nets = settingFor(files, service, 'mynetworks');
    const wide = nets ? nets.value.split(/[\s,]+/).filter(Boolean).filter(coversOutsider) : [];
    if (rule === 'postfix-service-override') {
      const name = `${service}/inet/smtpd_relay_restrictions`;
      const now = settingFor(files, service, 'smtpd_relay_restrictions');
      const place = nets && wide.length > 0 && nets.place.file === 'master.cf' ? nets.place : now?.place ?? nets?.place;
      if (!place) return null;
      const after = 'permit_sasl_authenticated, reject';
      return { rule, services: [service], places: [place], overrides: [`${name} = ${after}`], diff: diffOf(now ? `${now.place.setting} = ${now.value}` : 'smtpd_relay_restrictions (Postfix default)', `${service}/inet -o smtpd_relay_restrictions = ${after}`) };
    }
    if (nets && wide.length > 0) {
      const kept = nets.value.split(/[\s,]+/).filter(Boolean).filter((e) => !coversOutsider(e));
      const after = kept.length > 0 ? kept.join(', ') : '127.0.0.0/8, [::1]/128';
      return { rule, services: [service], places: [nets.place], overrides: [`${nets.overrideName} = ${after}`], diff: diffOf(`${nets.place.setting} = ${nets.value}`, `${nets.place.setting} = ${after}`) };
    }
    const list = settingFor(files, service, 'smtpd_relay_restrictions');
    if (list && !restrictionGroups(list.value).some((g) => RELAY_CHECKS.includes(g))) {
      const after = `${restrictionGroups(list.value).filter((g) => g !== 'permit').join(', ')}, reject_unauth_destination`.replace(/^, /, '');
      return { rule, services: [service], places: [list.place], overrides: [`${list.overrideName} = ${after}`], diff: diffOf(`${list.place.setting} = ${list.value}`, `${list.place.setting} = ${after}`) };
    }
  }
  return null;
}

/** The fixes a diagnosis proposes, one per finding and relaying service, in order. */
export function proposeFixes(d: Diagnosis, services: readonly string[], files: ConfigFiles, mydomain: string): ProposedFix[] {
  const out: ProposedFix[] = [];
  for (const f of d.findings) {
    for (const service of services) {
      const fix = proposeFix(f.rule, service, files, mydomain);
      const same = fix && out.find((x) => x.overrides.join('\n') === fix.overrides.join('\n'));
      if (same) same.services.push(service);
      else if (fix) out.push(fix);
    }
  }
  return out;
}
