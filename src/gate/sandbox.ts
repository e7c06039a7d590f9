import path from 'node:path';
import { overrideArg, serviceOverrides, splitArgs, type MainParam, type MasterService } from './postfix-files.js';

/**
 * What a configuration from a repository must change to run on a runner, as a
 * pure function: parsed files in, the files to write and every change out.
 * Everything that decides relaying is kept; what names the production host
 * (paths, certificates, listeners), what cannot be reached from a runner
 * (milters, policy services) and what could deliver mail is changed, and each
 * change is listed with the file and line it concerns. Map types that need a
 * server stop the gate unless `postfix-overrides` stands in for them.
 */

export interface GateChange {
  /** File the change concerns, relative to the configuration directory (or the overrides file as given). */
  file: string;
  /** 1-based line in that file; null for something the file lacks. */
  line: number | null;
  /** The parameter or service concerned. */
  subject: string;
  /** What was changed and why, one line. */
  change: string;
  /** false: something that decides mail could not be tested here ("not tested here"). */
  tested: boolean;
}

export interface GateService {
  /** master.cf service field as written: `smtp`, `submission`, `127.0.0.1:10025`. */
  name: string;
  /** What it listened on in production: `25`, `587`, `127.0.0.1:10025`. */
  original: string;
  command: 'smtpd' | 'postscreen';
  /** Implicit TLS (smtpd_tls_wrappermode=yes). */
  wrapper: boolean;
  /** STARTTLS demanded before mail (smtpd_tls_security_level = encrypt). */
  tlsRequired: boolean;
  port: number;
  line: number;
}

export interface SandboxInput {
  main: readonly MainParam[];
  /** null when the directory has no master.cf: Debian's default services stand in. */
  master: readonly MasterService[] | null;
  /** `name = value` lines of postfix-overrides (`service/type/name` for a master.cf service). */
  overrides: readonly MainParam[];
  overridesFile: string;
  /** Files in the configuration directory, relative paths with `/`. */
  files: ReadonlySet<string>;
  /** Map types this Postfix supports (`postconf -m`). */
  mapTypes: ReadonlySet<string>;
  /** Where the instance lives. */
  instance: { conf: string; queue: string; data: string; log: string; cert: string; key: string };
  /** A free loopback port per listener, in master.cf order (see listenerCount). */
  ports: readonly number[];
}

export interface Sandbox {
  /** main.cf to write, in the original order, new parameters last. */
  main: Map<string, string>;
  master: MasterService[];
  services: GateService[];
  changes: GateChange[];
  /** Reasons the gate cannot start; empty when it can. */
  refusals: GateChange[];
  /** Indexed maps to build in the instance, `type:path` (postalias for alias maps). */
  build: { command: 'postmap' | 'postalias'; map: string }[];
  /** Files to create in the instance, relative to conf (e.g. a stand-in aliases file). */
  create: { file: string; content: string }[];
  /** Where each main.cf parameter came from, to point Postfix's complaints at the repository's lines. */
  origins: Map<string, { file: string; line: number | null }>;
}

/** Map types whose lookups need a server or a database the runner does not have. */
const SERVER_MAPS = new Set(['mysql', 'pgsql', 'ldap', 'sqlite', 'socketmap', 'tcp', 'memcache', 'nis', 'nisplus', 'netinfo']);
/** Map types named by a file path. */
const FILE_MAPS = new Set(['btree', 'cdb', 'cidr', 'dbm', 'hash', 'lmdb', 'pcre', 'regexp', 'sdbm', 'texthash']);
/** File maps that must be compiled with postmap/postalias before Postfix can read them. */
const INDEXED_MAPS = new Set(['btree', 'cdb', 'dbm', 'hash', 'lmdb', 'sdbm']);
/** Debian packages that add a map type to Postfix. */
const PACKAGE_OF: Record<string, string> = { pcre: 'postfix-pcre', lmdb: 'postfix-lmdb', cdb: 'postfix-cdb' };
/** Parameters whose maps are alias files (postalias, not postmap). */
const ALIAS_PARAMS = new Set(['alias_maps', 'alias_database']);

/** Transports that must be discards (SAFETY: nothing may leave the runner). */
const TRANSPORTS = ['default_transport', 'relay_transport', 'local_transport', 'virtual_transport'] as const;
/** Parameters that route mail elsewhere; emptied so only the transports above remain. */
const ROUTING = ['transport_maps', 'relayhost', 'sender_dependent_relayhost_maps', 'sender_dependent_default_transport_maps', 'mailbox_transport', 'mailbox_transport_maps', 'mailbox_command', 'mailbox_command_maps', 'fallback_transport', 'fallback_transport_maps', 'content_filter'] as const;
/** Delivery agents in master.cf: each becomes discard(8). */
const DELIVERY_COMMANDS = new Set(['smtp', 'lmtp', 'local', 'virtual', 'pipe']);
/** Parameters naming places of the production host: this machine's installation stands in. */
const INSTALL_PATHS = ['daemon_directory', 'command_directory', 'shlib_directory', 'meta_directory', 'sendmail_path', 'newaliases_path', 'mailq_path', 'manpage_directory', 'html_directory', 'readme_directory', 'sample_directory', 'multi_instance_directories', 'multi_instance_wrapper', 'multi_instance_enable'] as const;
const TLS_PAIR = { cert: ['smtpd_tls_cert_file', 'smtpd_tls_dcert_file', 'smtpd_tls_eccert_file'], key: ['smtpd_tls_key_file', 'smtpd_tls_dkey_file', 'smtpd_tls_eckey_file'] };
const TLS_OPTIONAL = ['smtpd_tls_CAfile', 'smtpd_tls_CApath', 'smtpd_tls_dh1024_param_file', 'smtpd_tls_dh512_param_file', 'smtp_tls_CAfile', 'smtp_tls_CApath', 'smtp_tls_cert_file', 'smtp_tls_key_file', 'smtp_tls_chain_files'];
const MILTERS = ['smtpd_milters', 'non_smtpd_milters'];

/** Well-known ports of master.cf service names (services(5)); anything else is as written. */
const SERVICE_PORTS: Record<string, string> = { smtp: '25', submission: '587', submissions: '465', smtps: '465', ssmtp: '465' };

/** Postfix's own unix services, chroot off, for a directory without master.cf (as in Debian's master.cf). */
export const DEFAULT_MASTER_CF = `smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

/** Services the instance needs whatever master.cf says (maillog_file needs postlogd; discard delivers). */
const REQUIRED_SERVICES: Record<string, string> = {
  postlog: 'postlog   unix-dgram n  -       n       -       1       postlogd',
  discard: 'discard   unix  -       -       n       -       -       discard',
};

function isListener(s: MasterService): boolean {
  return s.type === 'inet' && (s.command === 'smtpd' || s.command === 'postscreen');
}

/** How many free ports the sandbox needs. */
export function listenerCount(master: readonly MasterService[] | null): number {
  return master === null ? 1 : master.filter(isListener).length;
}

interface MapRef {
  whole: string;
  proxy: boolean;
  type: string;
  name: string;
}

/** `type:name` references in a value; `proxy:type:name` counts as the inner map. */
export function mapRefs(value: string): MapRef[] {
  const out: MapRef[] = [];
  const re = /(?<![\w$])(proxy:)?([a-z][a-z0-9]*):((?:\/|\$\{?config_directory\}?\/)[^\s,{}]*|inet:[^\s,{}]+|unix:[^\s,{}]+|[A-Za-z][^\s,{}]*)/g;
  for (const m of value.matchAll(re)) {
    const type = m[2];
    if (!FILE_MAPS.has(type) && !SERVER_MAPS.has(type)) continue;
    out.push({ whole: m[0], proxy: m[1] !== undefined, type, name: m[3] });
  }
  return out;
}

/**
 * Restriction items as Postfix reads them (comma or white space separated),
 * braced groups kept whole; `check_policy_service` and its argument removed.
 */
export function withoutPolicyServices(value: string): { value: string; removed: string[] } {
  const items = restrictionItems(value);
  const kept: string[] = [];
  const removed: string[] = [];
  for (let i = 0; i < items.length; i++) {
    if (items[i] === 'check_policy_service' && i + 1 < items.length) {
      removed.push(`check_policy_service ${items[i + 1]}`);
      i++;
    } else kept.push(items[i]);
  }
  return { value: removed.length ? kept.join(', ') : value, removed };
}

/** Items of a restriction list: separated by commas or white space outside `{ … }`. */
export function restrictionItems(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of value) {
    if (ch === '{') depth++;
    if (ch === '}') depth = Math.max(0, depth - 1);
    if (depth === 0 && (ch === ',' || /\s/.test(ch))) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

export function buildSandbox(input: SandboxInput): Sandbox {
  const changes: GateChange[] = [];
  const refusals: GateChange[] = [];
  const build: Sandbox['build'] = [];
  const create: Sandbox['create'] = [];
  const { conf } = input.instance;

  // main.cf with line numbers, then the team's overrides on top (as postconf -e would).
  const values = new Map<string, string>();
  const where = new Map<string, { file: string; line: number | null }>();
  for (const p of input.main) {
    values.set(p.name, p.value);
    where.set(p.name, { file: 'main.cf', line: p.line });
  }
  const serviceOverridesFromFile: { service: string; type: string; name: string; value: string; line: number }[] = [];
  for (const o of input.overrides) {
    const parts = o.name.split('/');
    if (parts.length === 3) {
      serviceOverridesFromFile.push({ service: parts[0], type: parts[1], name: parts[2], value: o.value, line: o.line });
      continue;
    }
    values.set(o.name, o.value);
    where.set(o.name, { file: input.overridesFile, line: o.line });
    changes.push({ file: input.overridesFile, line: o.line, subject: o.name, change: `set by postfix-overrides: ${o.name} = ${o.value}`, tested: true });
  }
  const at = (name: string): { file: string; line: number | null } => where.get(name) ?? { file: 'main.cf', line: null };
  const set = (name: string, value: string, change: string, tested = true): void => {
    const before = values.get(name);
    if (before === value) return;
    values.set(name, value);
    changes.push({ ...at(name), subject: name, change, tested });
  };

  // --- the instance's own places -------------------------------------------------------
  for (const [name, value] of [
    ['queue_directory', input.instance.queue],
    ['data_directory', input.instance.data],
    ['maillog_file', input.instance.log],
  ] as const) {
    const before = values.get(name);
    values.set(name, value);
    if (before !== undefined) changes.push({ ...at(name), subject: name, change: `${before} → the private instance's own (${path.basename(value)})`, tested: true });
  }
  values.set('maillog_file_prefixes', `/var, /dev/stdout, ${path.dirname(input.instance.log)}`);
  for (const name of INSTALL_PATHS) {
    if (values.has(name)) {
      changes.push({ ...at(name), subject: name, change: `${values.get(name)} → this machine's Postfix installation`, tested: true });
      values.delete(name);
    }
  }
  for (const [name, v] of [['mail_owner', 'postfix'], ['setgid_group', 'postdrop']] as const) {
    if (values.has(name) && values.get(name) !== v) set(name, v, `${values.get(name)} → ${v} (this machine's Postfix accounts)`);
  }
  set('inet_interfaces', 'loopback-only', `${values.get('inet_interfaces') ?? 'all'} → loopback-only: the runner listens on 127.0.0.1 only`);
  set('inet_protocols', 'ipv4', `${values.get('inet_protocols') ?? 'all'} → ipv4 (the services listen on 127.0.0.1)`);

  // --- SAFETY: nothing is delivered -----------------------------------------------------
  for (const t of TRANSPORTS) {
    const before = values.get(t);
    values.set(t, 'discard:');
    if (before !== undefined && before !== 'discard:') changes.push({ ...at(t), subject: t, change: `${before} → discard: (nothing leaves the runner)`, tested: true });
  }
  const defaulted = TRANSPORTS.filter((t) => !input.main.some((p) => p.name === t));
  if (defaulted.length) changes.push({ file: 'main.cf', line: null, subject: defaulted.join(', '), change: 'set to discard: (nothing leaves the runner)', tested: true });
  for (const name of ROUTING) {
    const before = values.get(name);
    if (before !== undefined && before !== '') {
      values.set(name, '');
      changes.push({ ...at(name), subject: name, change: `${before} → empty: every transport is discard: here`, tested: name !== 'content_filter' });
    }
  }

  // --- XCLIENT from loopback: the battery runs as an outside client --------------------
  set('smtpd_authorized_xclient_hosts', '127.0.0.0/8', `${values.get('smtpd_authorized_xclient_hosts') || '(none)'} → 127.0.0.0/8: relay-check tests as an outside client through XCLIENT`);

  // --- milters and policy services cannot be reached from a runner ---------------------
  for (const m of MILTERS) {
    const v = values.get(m);
    if (v) set(m, '', `milters ${v} not tested here (they cannot be reached from a runner)`, false);
  }
  if (MILTERS.some((m) => input.main.some((p) => p.name === m && p.value !== '')) || values.has('milter_default_action')) {
    set('milter_default_action', 'accept', `${values.get('milter_default_action') ?? 'tempfail'} → accept (milters are not tested here)`, false);
  }
  if (values.get('postscreen_dnsbl_sites')) set('postscreen_dnsbl_sites', '', `DNS blocklists ${values.get('postscreen_dnsbl_sites')} not tested here (no DNS on a runner)`, false);
  for (const [name, value] of [...values]) {
    const { value: next, removed } = withoutPolicyServices(value);
    if (removed.length === 0) continue;
    values.set(name, next);
    for (const r of removed) changes.push({ ...at(name), subject: name, change: `${r} not tested here (a policy service cannot be reached from a runner)`, tested: false });
  }

  // --- SASL: Dovecot's socket is not on a runner; Cyrus with no accounts stands in -------
  const saslInUse = values.get('smtpd_sasl_auth_enable') === 'yes' || (input.master ?? []).some((s) => serviceOverrides(s).some((o) => o.name === 'smtpd_sasl_auth_enable' && o.value === 'yes'));
  if (saslInUse) {
    if ((values.get('smtpd_sasl_type') ?? 'cyrus') !== 'cyrus') {
      set('smtpd_sasl_type', 'cyrus', `${values.get('smtpd_sasl_type')} → cyrus with no accounts: AUTH is offered, every login fails`);
      set('smtpd_sasl_path', 'smtpd', `${values.get('smtpd_sasl_path') ?? ''} → smtpd (Cyrus)`);
    }
    values.set('cyrus_sasl_config_path', path.join(conf, 'sasl'));
    create.push({ file: 'sasl/smtpd.conf', content: 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: /nonexistent/relay-check-sasldb2\nmech_list: PLAIN LOGIN\n' });
  }

  // --- maps and files --------------------------------------------------------------------
  const resolveFile = (file: string): string | undefined => {
    const rel = file.replace(/^\$\{?config_directory\}?\//, '').replace(/^\/etc\/postfix\//, '');
    if (input.files.has(rel)) return path.join(conf, rel);
    const base = path.basename(file);
    if (input.files.has(base)) return path.join(conf, base);
    return undefined;
  };
  const fixValue = (name: string, value: string, origin: { file: string; line: number | null }): string => {
    let out = value;
    for (const ref of mapRefs(value)) {
      if (SERVER_MAPS.has(ref.type)) {
        refusals.push({ ...origin, subject: name, change: `${name} uses ${ref.whole}, which needs a server or database a runner does not have: stand it in with postfix-overrides (for example ${name} = texthash:test/${name})`, tested: false });
        continue;
      }
      if (!input.mapTypes.has(ref.type)) {
        refusals.push({ ...origin, subject: name, change: `${name} uses the map type ${ref.type}:, which this Postfix does not support${PACKAGE_OF[ref.type] ? ` (install the Debian package ${PACKAGE_OF[ref.type]})` : ''}`, tested: false });
        continue;
      }
      const file = resolveFile(ref.name);
      if (!file) {
        if (ALIAS_PARAMS.has(name) && /(^|\/)aliases$/.test(ref.name)) {
          // Local recipient validation reads the aliases; Debian's default holds postmaster only.
          const stand = path.join(conf, 'aliases');
          if (!create.some((c) => c.file === 'aliases')) create.push({ file: 'aliases', content: 'postmaster: root\n' });
          out = out.replace(ref.whole, `${ref.proxy ? 'proxy:' : ''}${ref.type}:${stand}`);
          changes.push({ ...origin, subject: name, change: `${ref.name} is not in the configuration directory: an aliases file with postmaster only stands in`, tested: true });
          if (INDEXED_MAPS.has(ref.type)) build.push({ command: 'postalias', map: `${ref.type}:${stand}` });
          continue;
        }
        refusals.push({ ...origin, subject: name, change: `${name} names ${ref.name}, which is not in the configuration directory: add the file or override ${name} in postfix-overrides`, tested: false });
        continue;
      }
      const next = `${ref.proxy ? 'proxy:' : ''}${ref.type}:${file}`;
      if (next !== ref.whole) {
        out = out.replace(ref.whole, next);
        if (!/^\$\{?config_directory/.test(ref.name)) changes.push({ ...origin, subject: name, change: `${ref.name} → the copy in the configuration directory`, tested: true });
      }
      if (INDEXED_MAPS.has(ref.type) && !build.some((b) => b.map === `${ref.type}:${file}`)) {
        build.push({ command: ALIAS_PARAMS.has(name) ? 'postalias' : 'postmap', map: `${ref.type}:${file}` });
      }
    }
    return out;
  };
  for (const [name, value] of [...values]) values.set(name, fixValue(name, value, at(name)));

  // Certificates name files of the production host: a throwaway pair stands in.
  const tlsFix = (name: string, value: string, note: (n: string, v: string, c: string) => void): void => {
    if (value === '') return;
    if (name === 'smtpd_tls_chain_files') {
      const files = value.split(/[\s,]+/).filter(Boolean);
      if (files.every((f) => resolveFile(f))) return note(name, files.map((f) => resolveFile(f) as string).join(', '), `${value} → the copies in the configuration directory`);
      return note(name, `${input.instance.key}, ${input.instance.cert}`, `${value} → a throwaway self-signed pair (STARTTLS and implicit TLS are still tested)`);
    }
    const local = resolveFile(value);
    if (local) return note(name, local, `${value} → the copy in the configuration directory`);
    if (TLS_PAIR.cert.includes(name)) return note(name, input.instance.cert, `${value} → a throwaway self-signed certificate (STARTTLS and implicit TLS are still tested)`);
    if (TLS_PAIR.key.includes(name)) return note(name, input.instance.key, `${value} → the throwaway key`);
    if (TLS_OPTIONAL.includes(name)) return note(name, '', `${value} is not on a runner: left out`);
  };
  for (const name of [...TLS_PAIR.cert, ...TLS_PAIR.key, 'smtpd_tls_chain_files', ...TLS_OPTIONAL]) {
    const v = values.get(name);
    if (v !== undefined) tlsFix(name, v, (n, next, c) => set(n, next, c));
  }
  // Debian's "No configuration" main.cf has no TLS at all; a service that asks for it needs a pair.
  if (!TLS_PAIR.cert.some((n) => values.get(n)) && !values.get('smtpd_tls_chain_files')) {
    values.set('smtpd_tls_cert_file', input.instance.cert);
    values.set('smtpd_tls_key_file', input.instance.key);
  }

  // --- master.cf --------------------------------------------------------------------------
  const master: MasterService[] = (input.master ?? parseDefault()).map((s) => ({ ...s, args: [...s.args] }));
  if (input.master === null) changes.push({ file: 'master.cf', line: null, subject: 'master.cf', change: "the directory has no master.cf: Debian's default services stand in (smtp on port 25)", tested: true });
  const services: GateService[] = [];
  let next = 0;
  const chrooted: string[] = [];
  const replaced: string[] = [];
  const disabled: MasterService[] = [];
  for (const s of master) {
    if (s.chroot !== 'n') {
      if (s.chroot === 'y' || s.chroot === '-') chrooted.push(s.service);
      s.chroot = 'n';
    }
    const origin = { file: 'master.cf', line: input.master === null ? null : s.line };
    for (const o of serviceOverrides(s)) {
      let v = fixValue(`${s.service}/${s.type} -o ${o.name}`, o.value, origin);
      if (MILTERS.includes(o.name) && v !== '') {
        changes.push({ ...origin, subject: `${s.service} -o ${o.name}`, change: `milters ${v} not tested here`, tested: false });
        v = '';
      }
      const policy = withoutPolicyServices(v);
      for (const r of policy.removed) changes.push({ ...origin, subject: `${s.service} -o ${o.name}`, change: `${r} not tested here (a policy service cannot be reached from a runner)`, tested: false });
      v = policy.value;
      if ([...TLS_PAIR.cert, ...TLS_PAIR.key, 'smtpd_tls_chain_files', ...TLS_OPTIONAL].includes(o.name)) {
        tlsFix(o.name, v, (_n, nv, c) => {
          changes.push({ ...origin, subject: `${s.service} -o ${o.name}`, change: c, tested: true });
          v = nv;
        });
      }
      if (o.name === 'smtpd_sasl_type' && v !== 'cyrus') {
        changes.push({ ...origin, subject: `${s.service} -o smtpd_sasl_type`, change: `${v} → cyrus with no accounts`, tested: true });
        v = 'cyrus';
      }
      if (o.name === 'smtpd_sasl_path' && values.get('smtpd_sasl_type') === 'cyrus') v = 'smtpd';
      if (o.name === 'smtpd_authorized_xclient_hosts') v = '127.0.0.0/8';
      if ((TRANSPORTS as readonly string[]).includes(o.name) || (ROUTING as readonly string[]).includes(o.name)) v = (TRANSPORTS as readonly string[]).includes(o.name) ? 'discard:' : '';
      if (v !== o.value) s.args[o.index] = overrideArg(o.name, v);
    }
    for (const f of serviceOverridesFromFile.filter((x) => x.service === s.service && x.type === s.type)) {
      const existing = serviceOverrides(s).find((o) => o.name === f.name);
      if (existing) s.args[existing.index] = overrideArg(f.name, f.value);
      else s.args.push('-o', overrideArg(f.name, f.value));
      changes.push({ file: input.overridesFile, line: f.line, subject: `${s.service}/${s.type} -o ${f.name}`, change: `set by postfix-overrides: ${f.value}`, tested: true });
    }
    if (isListener(s)) {
      const port = input.ports[next++];
      if (port === undefined) throw new Error('buildSandbox: fewer ports than listeners (see listenerCount)');
      const own = (n: string): string | undefined => serviceOverrides(s).find((o) => o.name === n)?.value ?? values.get(n);
      const wrapper = own('smtpd_tls_wrappermode') === 'yes';
      const tlsRequired = !wrapper && (own('smtpd_tls_security_level') === 'encrypt' || own('smtpd_enforce_tls') === 'yes');
      const original = SERVICE_PORTS[s.service] ?? s.service;
      // A listener written as host:port is best known by its syslog name (postfix/submission).
      const syslog = serviceOverrides(s).find((o) => o.name === 'syslog_name')?.value.split('/').pop();
      const name = /[:.]/.test(s.service) && syslog && !syslog.includes('$') ? syslog : s.service;
      services.push({ name, original, command: s.command as 'smtpd' | 'postscreen', wrapper, tlsRequired, port, line: s.line });
      changes.push({ ...origin, subject: s.service, change: `${name} (${original}) → 127.0.0.1:${port}`, tested: true });
      s.service = `127.0.0.1:${port}`;
    } else if (s.type === 'inet') {
      disabled.push(s);
      changes.push({ ...origin, subject: s.service, change: `inet service ${s.service} (${s.command}) is not SMTP: not started here`, tested: false });
    } else if (s.type === 'unix' && DELIVERY_COMMANDS.has(s.command)) {
      replaced.push(s.service);
      s.command = 'discard';
      s.args = keepOverrides(s.args);
    }
  }
  if (chrooted.length) changes.push({ file: 'master.cf', line: null, subject: 'chroot', change: `chroot off for ${chrooted.join(', ')} (the jail is not populated on a runner)`, tested: true });
  if (replaced.length) changes.push({ file: 'master.cf', line: null, subject: 'delivery agents', change: `${replaced.join(', ')} deliver to discard(8): nothing leaves the runner`, tested: true });
  const kept = master.filter((s) => !disabled.includes(s));
  for (const [name, line] of Object.entries(REQUIRED_SERVICES)) {
    if (!kept.some((s) => s.service === name && s.type !== 'inet')) {
      const [svc] = parseLine(line);
      kept.push(svc);
      changes.push({ file: 'master.cf', line: null, subject: name, change: `added ${name} (${svc.command}): the private instance needs it`, tested: true });
    }
  }
  if (services.length === 0) refusals.push({ file: 'master.cf', line: null, subject: 'master.cf', change: 'no inet smtpd or postscreen service: there is nothing to test', tested: false });

  // SAFETY: whatever the files and overrides said, nothing can be delivered.
  for (const t of TRANSPORTS) if (values.get(t) !== 'discard:') throw new Error(`sandbox: ${t} is not discard:`);
  for (const s of kept) if (s.type === 'unix' && DELIVERY_COMMANDS.has(s.command)) throw new Error(`sandbox: ${s.service} still delivers`);

  return { main: values, master: kept, services, changes, refusals, build, create, origins: where };
}

function keepOverrides(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) if (args[i] === '-o' && i + 1 < args.length) out.push('-o', args[++i]);
  return out;
}

function parseLine(line: string): MasterService[] {
  const [service, type, priv, unpriv, chroot, wakeup, maxproc, command, ...args] = splitArgs(line);
  return [{ service, type, private: priv, unpriv, chroot, wakeup, maxproc, command, args, line: 0 }];
}

function parseDefault(): MasterService[] {
  return DEFAULT_MASTER_CF.trim()
    .split('\n')
    .flatMap((l) => parseLine(l));
}
