import type { Diagnosis } from '../diagnosis/diagnose.js';
import { overrideArg, serviceOverrides, type MainParam, type MasterService } from './postfix-files.js';
import { GATE_CLIENT_ADDRESS } from '../settings.js';
import { entryCovers } from './effective.js';
import { restrictionItems } from './sandbox.js';
import type { ConfigPlace, ProposedFix } from '../model/gate.js';
export type { ConfigPlace, ProposedFix } from '../model/gate.js';

/**
 * Gate mode: the line of the configuration a diagnosis points at, and the
 * change that should close the relay, as `postfix-overrides` lines so that the
 * gate can prove it on a fixed copy. Pure: parsed files in, places and lines out.
 */

/** One change to one file: `remove` (the lines as written, from `line` on) becomes `add`. */
export interface FileEdit {
  file: string;
  line: number;
  remove: string[];
  add: string[];
}

export interface ConfigFiles {
  main: readonly MainParam[];
  /** main.cf's text (the lines a diff removes); absent: the diff is built from the parsed value. */
  mainText?: string | null;
  master: readonly MasterService[] | null;
  /** master.cf's text (to find the line of a `-o` continuation). */
  masterText: string | null;
  /** A map file's text by its path as the configuration names it (`/etc/postfix/sender_access`), or null. */
  mapText: (name: string) => { file: string; text: string } | null;
}

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

/** Whether a mynetworks entry covers the client the gate tested as (or every IPv6 client). */
export function coversOutsider(entry: string, client: string = GATE_CLIENT_ADDRESS): boolean {
  return entryCovers(entry, client);
}

/** The lines of a logical main.cf or master.cf line starting at `line`: it and its indented continuations. */
function logicalLines(text: string | null | undefined, line: number): string[] {
  const lines = (text ?? '').split(/\r?\n/);
  const out = lines[line - 1] === undefined ? [] : [lines[line - 1]];
  for (let i = line; i < lines.length && /^\s+\S/.test(lines[i]) && !/^\s*#/.test(lines[i]) && !/^\s*-o\b/.test(lines[i]); i++) out.push(lines[i]);
  return out;
}

/** The edit that gives a setting a new value where it is written: the main.cf parameter, or the master.cf `-o` on its line. */
export function editOf(files: ConfigFiles, place: ConfigPlace, name: string, after: string): FileEdit {
  if (place.file === 'master.cf') {
    const text = (files.masterText ?? '').split(/\r?\n/)[place.line - 1] ?? '';
    const opt = name.split('/').pop() ?? name;
    const re = new RegExp(`-o\\s+(\\{\\s*${opt}\\s*=[^}]*\\}|${opt}=\\S*)`);
    const arg = masterArg(opt, after);
    const changed = re.test(text) ? text.replace(re, `-o ${arg}`) : `${text}\n  -o ${arg}`;
    return { file: 'master.cf', line: place.line, remove: [text], add: changed.split('\n') };
  }
  const remove = files.mainText ? logicalLines(files.mainText, place.line) : [`${place.setting} = ${place.value}`];
  const lead = /^(\S+?\s*=\s*)/.exec(remove[0] ?? '')?.[1] ?? `${name} = `;
  return { file: place.file, line: place.line, remove, add: [`${lead}${after}`] };
}

/** A new `-o` for a service that has none of that name: inserted after its master.cf entry's first line. */
function insertOption(files: ConfigFiles, service: MasterService, name: string, value: string): FileEdit {
  const head = (files.masterText ?? '').split(/\r?\n/)[service.line - 1] ?? '';
  return { file: 'master.cf', line: service.line, remove: [head], add: [head, `  -o ${masterArg(name, value)}`] };
}

/** An `-o` argument as master.cf entries are usually written: commas, no spaces (`-o mynetworks=127.0.0.0/8,[::1]/128`); braced only when it must be. */
function masterArg(name: string, value: string): string {
  return value.includes('{') || value.includes('}') ? overrideArg(name, value) : `${name}=${value.trim().replace(/\s*,\s*|\s+/g, ',')}`;
}

/** Edits as a unified diff, one `---`/`+++` block per file, hunks in line order with their line numbers. */
export function unifiedDiff(edits: readonly FileEdit[]): string {
  const out: string[] = [];
  for (const file of [...new Set(edits.map((e) => e.file))]) {
    out.push(`--- ${file}`, `+++ ${file}`);
    let shift = 0;
    for (const e of edits.filter((x) => x.file === file).sort((a, b) => a.line - b.line)) {
      const range = (start: number, n: number): string => (n === 1 ? `${start}` : `${n === 0 ? start - 1 : start},${n}`);
      out.push(`@@ -${range(e.line, e.remove.length)} +${range(e.line + shift, e.add.length)} @@`);
      // Lines both sides keep (an entry's head when an option is inserted) are context.
      const common = e.remove.length > 0 && e.add[0] === e.remove[0] ? 1 : 0;
      for (let i = 0; i < common; i++) out.push(` ${e.remove[i]}`);
      for (const l of e.remove.slice(common)) out.push(`-${l}`);
      for (const l of e.add.slice(common)) out.push(`+${l}`);
      shift += e.add.length - e.remove.length;
    }
  }
  return out.join('\n');
}

function diffOf(files: ConfigFiles, place: ConfigPlace, name: string, after: string): string {
  return unifiedDiff([editOf(files, place, name, after)]);
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
export function proposeFix(rule: string, service: string, files: ConfigFiles, mydomain: string, client: string = GATE_CLIENT_ADDRESS): ProposedFix | null {
  const access = ACCESS_OF[rule];
  if (access) {
    for (const list of ['smtpd_relay_restrictions', 'smtpd_recipient_restrictions']) {
      const s = settingFor(files, service, list);
      if (!s) continue;
      const moved = moveAfterRelayCheck(s.value, (g) => access.check.test(g));
      if (moved === null) continue;
      const group = restrictionGroups(s.value).find((g) => access.check.test(g)) ?? '';
      const map = mapPlace(files, group, access.key(mydomain));
      return { rule, services: [service], places: [s.place, ...(map ? [map] : [])], overrides: [`${s.overrideName} = ${moved}`], diff: diffOf(files, s.place, list, moved) };
    }
    return null;
  }
  if (rule === 'postfix-no-relay-check' || rule === 'postfix-ipv6-mynetworks' || rule === 'postfix-service-override') {
    const nets = settingFor(files, service, 'mynetworks');
    const wide = nets ? nets.value.split(/[\s,]+/).filter(Boolean).filter((e) => coversOutsider(e, client)) : [];
    if (rule === 'postfix-service-override') {
      const name = `${service}/inet/smtpd_relay_restrictions`;
      const now = settingFor(files, service, 'smtpd_relay_restrictions');
      const place = nets && wide.length > 0 && nets.place.file === 'master.cf' ? nets.place : now?.place ?? nets?.place;
      if (!place) return null;
      const after = 'permit_sasl_authenticated, reject';
      const entry = files.master?.find((m) => m.service === service && m.type === 'inet');
      const own = now?.place.file === 'master.cf' ? now.place : undefined;
      const edit = own ? editOf(files, own, 'smtpd_relay_restrictions', after) : entry ? insertOption(files, entry, 'smtpd_relay_restrictions', after) : null;
      if (!edit) return null;
      return { rule, services: [service], places: [place], overrides: [`${name} = ${after}`], diff: unifiedDiff([edit]) };
    }
    if (nets && wide.length > 0) {
      const kept = nets.value.split(/[\s,]+/).filter(Boolean).filter((e) => !coversOutsider(e, client));
      const after = kept.length > 0 ? kept.join(', ') : '127.0.0.0/8, [::1]/128';
      return { rule, services: [service], places: [nets.place], overrides: [`${nets.overrideName} = ${after}`], diff: diffOf(files, nets.place, 'mynetworks', after) };
    }
    const list = settingFor(files, service, 'smtpd_relay_restrictions');
    if (list && !restrictionGroups(list.value).some((g) => RELAY_CHECKS.includes(g))) {
      const after = `${restrictionGroups(list.value).filter((g) => g !== 'permit').join(', ')}, reject_unauth_destination`.replace(/^, /, '');
      return { rule, services: [service], places: [list.place], overrides: [`${list.overrideName} = ${after}`], diff: diffOf(files, list.place, 'smtpd_relay_restrictions', after) };
    }
  }
  return null;
}

/** The fixes a diagnosis proposes, one per finding and relaying service, in order. */
export function proposeFixes(d: Diagnosis, services: readonly string[], files: ConfigFiles, mydomain: string, client: string = GATE_CLIENT_ADDRESS): ProposedFix[] {
  const out: ProposedFix[] = [];
  for (const f of d.findings) {
    for (const service of services) {
      const fix = proposeFix(f.rule, service, files, mydomain, client);
      const same = fix && out.find((x) => x.overrides.join('\n') === fix.overrides.join('\n'));
      if (same) same.services.push(service);
      else if (fix) out.push(fix);
    }
  }
  return out;
}
