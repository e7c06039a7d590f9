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
  /** Reads a PROXY protocol header before the greeting (smtpd_ or postscreen_upstream_proxy_protocol = haproxy). */
  proxy: boolean;
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
  /**
   * Drawn at random per instance: the discard next hops carry it, so a log line that names a
   * delivery class can only have been written by that class (a configuration cannot guess it and
   * FILTER or REDIRECT a message to a look-alike).
   */
  classTag: string;
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

/**
 * Postfix's address classes (ADDRESS_CLASS_README) and the parameter naming each one's
 * transport. Each becomes discard(8) with a next hop of its own: discard logs the next hop as
 * its reason (`status=sent (relay-check-relay-…)`), so the maillog says which class a
 * recipient resolved to (SAFETY: nothing may leave the runner).
 */
export const DELIVERY_CLASSES = { local_transport: 'local', virtual_transport: 'virtual', relay_transport: 'relay', default_transport: 'default' } as const;
export type DeliveryClass = (typeof DELIVERY_CLASSES)[keyof typeof DELIVERY_CLASSES];
const TRANSPORTS = Object.keys(DELIVERY_CLASSES) as (keyof typeof DELIVERY_CLASSES)[];

/** The discard next hop of a class in an instance: the text discard(8) logs for it. */
export function classNexthop(tag: string, cls: DeliveryClass): string {
  return `relay-check-${cls}-${tag}`;
}

function classTransport(tag: string, t: keyof typeof DELIVERY_CLASSES): string {
  return `discard:${classNexthop(tag, DELIVERY_CLASSES[t])}`;
}
/** Parameters that route mail elsewhere; emptied so only the transports above remain. */
const ROUTING = ['transport_maps', 'relayhost', 'sender_dependent_relayhost_maps', 'sender_dependent_default_transport_maps', 'mailbox_transport', 'mailbox_transport_maps', 'mailbox_command', 'mailbox_command_maps', 'fallback_transport', 'fallback_transport_maps', 'content_filter'] as const;
/**
 * Postfix's own daemons that deliver nothing and run nothing a configuration names: the only
 * master.cf commands kept. Every other unix service (the delivery agents smtp, lmtp, local,
 * virtual; pipe and spawn, which run commands; anything else) becomes discard(8), so whatever
 * points at it (a transport, content_filter, a header_checks FILTER, a wakeup) reaches a discard.
 */
const SAFE_DAEMONS = new Set(['smtpd', 'postscreen', 'tlsproxy', 'dnsblog', 'pickup', 'cleanup', 'qmgr', 'oqmgr', 'nqmgr', 'tlsmgr', 'trivial-rewrite', 'bounce', 'verify', 'flush', 'proxymap', 'showq', 'error', 'discard', 'anvil', 'scache', 'postlogd']);
/**
 * Parameters that run a command or hand mail to a program outside Postfix, in main.cf or as a
 * service's `-o`: emptied. debugger_command runs as root when a master.cf service carries -D;
 * smtpd_proxy_filter passes every message through a server before it is queued;
 * smtpd_milter_maps names milters per client.
 */
const HOOKS: Record<string, { why: string; tested: boolean }> = {
  debugger_command: { why: 'it runs a command (master.cf -D): nothing from a configuration runs here', tested: true },
  smtpd_proxy_filter: { why: 'a before-queue content filter is a server that cannot be reached from a runner: not tested here', tested: false },
  smtpd_milter_maps: { why: 'milters cannot be reached from a runner: not tested here', tested: false },
};
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

type Origin = { file: string; line: number | null };

/** A `service/type/name = value` line of postfix-overrides: an override for one master.cf service. */
interface FileServiceOverride {
  service: string;
  type: string;
  name: string;
  value: string;
  line: number;
}

/** Parameters that name certificate and key files. */
const TLS_FILES = [...TLS_PAIR.cert, ...TLS_PAIR.key, 'smtpd_tls_chain_files', ...TLS_OPTIONAL];

/** The sandbox as it is being built: main.cf's values, where each came from, and what was changed or refused. */
class Draft {
  readonly values = new Map<string, string>();
  readonly where = new Map<string, Origin>();
  readonly changes: GateChange[] = [];
  readonly refusals: GateChange[] = [];
  readonly build: Sandbox['build'] = [];
  readonly create: Sandbox['create'] = [];

  constructor(readonly input: SandboxInput) {}

  at(name: string): Origin {
    return this.where.get(name) ?? { file: 'main.cf', line: null };
  }

  /** Sets a main.cf value and lists the change, unless the value is already that. */
  set(name: string, value: string, change: string, tested = true): void {
    if (this.values.get(name) === value) return;
    this.values.set(name, value);
    this.changes.push({ ...this.at(name), subject: name, change, tested });
  }

  /** The instance's copy of a file the configuration names, if the configuration directory has it. */
  resolveFile(file: string): string | undefined {
    const rel = file.replace(/^\$\{?config_directory\}?\//, '').replace(/^\/etc\/postfix\//, '');
    if (this.input.files.has(rel)) return path.join(this.input.instance.conf, rel);
    const base = path.basename(file);
    if (this.input.files.has(base)) return path.join(this.input.instance.conf, base);
    return undefined;
  }
}

export function buildSandbox(input: SandboxInput): Sandbox {
  const d = new Draft(input);
  const forServices = readParameters(d);
  ownPlaces(d);
  nothingDelivered(d);
  // The battery runs as an outside client through XCLIENT from loopback.
  const xclientHosts = d.values.get('smtpd_authorized_xclient_hosts') ?? '';
  d.set('smtpd_authorized_xclient_hosts', gateXclientHosts(xclientHosts), xclientChange(xclientHosts));
  withoutUnreachableChecks(d);
  filesOutside(d);
  saslStandIn(d);
  for (const [name, value] of [...d.values]) d.values.set(name, fixMaps(d, name, value, d.at(name)));
  certificates(d);
  const { master, services } = sandboxMaster(d, forServices);

  // SAFETY: whatever the files and overrides said, nothing can be delivered and nothing runs.
  for (const t of TRANSPORTS) if (d.values.get(t) !== classTransport(input.classTag, t)) throw new Error(`sandbox: ${t} is not its class's discard`);
  for (const name of Object.keys(HOOKS)) if (d.values.get(name)) throw new Error(`sandbox: ${name} is set`);
  for (const s of master) {
    if (!SAFE_DAEMONS.has(s.command)) throw new Error(`sandbox: ${s.service} runs ${s.command}`);
    if (s.args.some((a, i) => a !== '-o' && s.args[i - 1] !== '-o')) throw new Error(`sandbox: ${s.service} keeps an argument other than -o`);
    if (serviceOverrides(s).some((o) => o.value !== '' && (o.name in HOOKS || (ROUTING as readonly string[]).includes(o.name)))) throw new Error(`sandbox: ${s.service} keeps a routing or hook override`);
  }

  return { main: d.values, master, services, changes: d.changes, refusals: d.refusals, build: d.build, create: d.create, origins: d.where };
}

/**
 * The gate speaks through XCLIENT from loopback; the configuration's own list stays after
 * it, so an outside client it authorizes (the gate's client address, once XCLIENT made us
 * that) is still offered XCLIENT, and the XCLIENT identity trick tests what the
 * repository's value allows (src/schedule/tricks.ts). Postfix judges the list again for
 * the address XCLIENT gave (measured on 3.7: XCLIENT is no longer offered to an outsider
 * the list does not cover).
 */
function gateXclientHosts(value: string): string {
  const own = value.trim();
  return own === '' || own === '127.0.0.0/8' ? '127.0.0.0/8' : `127.0.0.0/8, ${own}`;
}

function xclientChange(value: string): string {
  const own = value.trim();
  if (own === '' || own === '127.0.0.0/8') return `${own || '(none)'} → 127.0.0.0/8: relay-check tests as an outside client through XCLIENT`;
  return `${own} → 127.0.0.0/8, ${own}: relay-check tests as an outside client through XCLIENT from loopback; the configuration's own list is kept after it, so the XCLIENT identity trick tests whom it authorizes`;
}

/** main.cf with line numbers, then the team's overrides on top (as postconf -e would); those for a master.cf service are returned. */
function readParameters(d: Draft): FileServiceOverride[] {
  for (const p of d.input.main) {
    d.values.set(p.name, p.value);
    d.where.set(p.name, { file: 'main.cf', line: p.line });
  }
  const forServices: FileServiceOverride[] = [];
  const file = d.input.overridesFile;
  for (const o of d.input.overrides) {
    const parts = o.name.split('/');
    if (parts.length === 3) {
      forServices.push({ service: parts[0], type: parts[1], name: parts[2], value: o.value, line: o.line });
      continue;
    }
    d.values.set(o.name, o.value);
    d.where.set(o.name, { file, line: o.line });
    d.changes.push({ file, line: o.line, subject: o.name, change: `set by postfix-overrides: ${o.name} = ${o.value}`, tested: true });
  }
  return forServices;
}

/** The instance's own queue, data and log; this machine's installation and accounts; loopback only. */
function ownPlaces(d: Draft): void {
  const { values, input } = d;
  for (const [name, value] of [
    ['queue_directory', input.instance.queue],
    ['data_directory', input.instance.data],
    ['maillog_file', input.instance.log],
  ] as const) {
    const before = values.get(name);
    values.set(name, value);
    if (before !== undefined) d.changes.push({ ...d.at(name), subject: name, change: `${before} → the private instance's own (${path.basename(value)})`, tested: true });
  }
  values.set('maillog_file_prefixes', `/var, /dev/stdout, ${path.dirname(input.instance.log)}`);
  for (const name of INSTALL_PATHS) {
    if (values.has(name)) {
      d.changes.push({ ...d.at(name), subject: name, change: `${values.get(name)} → this machine's Postfix installation`, tested: true });
      values.delete(name);
    }
  }
  for (const [name, v] of [['mail_owner', 'postfix'], ['setgid_group', 'postdrop']] as const) {
    if (values.has(name) && values.get(name) !== v) d.set(name, v, `${values.get(name)} → ${v} (this machine's Postfix accounts)`);
  }
  d.set('inet_interfaces', 'loopback-only', `${values.get('inet_interfaces') ?? 'all'} → loopback-only: the runner listens on 127.0.0.1 only`);
  d.set('inet_protocols', 'ipv4', `${values.get('inet_protocols') ?? 'all'} → ipv4 (the services listen on 127.0.0.1)`);
}

/** SAFETY: every transport a discard, every other route emptied. */
function nothingDelivered(d: Draft): void {
  const defaulted: string[] = [];
  for (const t of TRANSPORTS) {
    const before = d.values.get(t);
    d.values.set(t, classTransport(d.input.classTag, t));
    if (before === undefined) defaulted.push(t);
    else d.changes.push({ ...d.at(t), subject: t, change: `${before} → discard: with the ${DELIVERY_CLASSES[t]} class's own next hop (nothing leaves the runner; the log names the class)`, tested: true });
  }
  if (defaulted.length) d.changes.push({ file: 'main.cf', line: null, subject: defaulted.join(', '), change: 'set to discard:, each class with its own next hop (nothing leaves the runner; the log names the class)', tested: true });
  for (const [name, hook] of Object.entries(HOOKS)) {
    const before = d.values.get(name);
    if (before) d.set(name, '', `${before} → empty: ${hook.why}`, hook.tested);
  }
  for (const name of ROUTING) {
    const before = d.values.get(name);
    if (before !== undefined && before !== '') {
      d.values.set(name, '');
      d.changes.push({ ...d.at(name), subject: name, change: `${before} → empty: every transport is discard: here`, tested: name !== 'content_filter' });
    }
  }
}

/**
 * Parameters whose value may be read from a file (`/file/name`): Debian's stock
 * `myorigin = /etc/mailname`, lists such as `mydestination = /etc/postfix/local-domains`.
 * A file outside the configuration directory is not on the runner: the directory's own
 * copy stands in when it has one; for myorigin, Postfix's default ($myhostname) does
 * (it decides no relaying). Either way the change is reported. Left alone, Postfix
 * stops the gate with "/etc/mailname: cannot open file" and no line to look at.
 */
const FILE_VALUED = ['myorigin', 'mydestination', 'mynetworks', 'relay_domains', 'permit_mx_backup_networks', 'virtual_alias_domains', 'virtual_mailbox_domains'];

function filesOutside(d: Draft): void {
  for (const name of FILE_VALUED) {
    const value = d.values.get(name);
    if (value === undefined) continue;
    const tokens = value.split(/[\s,]+/).filter((t) => t.startsWith('/'));
    let next = value;
    const said: string[] = [];
    for (const t of tokens) {
      const copy = d.resolveFile(t);
      if (copy !== undefined) {
        next = next.replace(t, copy);
        said.push(`${t} → the copy in the configuration directory (${path.basename(copy)})`);
      } else if (name === 'myorigin') {
        next = '$myhostname';
        said.push(`${t} is not in the configuration directory → $myhostname, Postfix's default (myorigin decides no relaying)`);
      }
    }
    if (next !== value) d.set(name, next, said.join('; '));
  }
}

/** Milters, DNS blocklists and policy services cannot be reached from a runner: taken out, listed as not tested. */
function withoutUnreachableChecks(d: Draft): void {
  const { values } = d;
  for (const m of MILTERS) {
    const v = values.get(m);
    if (v) d.set(m, '', `milters ${v} not tested here (they cannot be reached from a runner)`, false);
  }
  if (MILTERS.some((m) => d.input.main.some((p) => p.name === m && p.value !== '')) || values.has('milter_default_action')) {
    d.set('milter_default_action', 'accept', `${values.get('milter_default_action') ?? 'tempfail'} → accept (milters are not tested here)`, false);
  }
  if (values.get('postscreen_dnsbl_sites')) d.set('postscreen_dnsbl_sites', '', `DNS blocklists ${values.get('postscreen_dnsbl_sites')} not tested here (no DNS on a runner)`, false);
  for (const [name, value] of [...values]) {
    const { value: next, removed } = withoutPolicyServices(value);
    if (removed.length === 0) continue;
    values.set(name, next);
    for (const r of removed) d.changes.push({ ...d.at(name), subject: name, change: `${r} not tested here (a policy service cannot be reached from a runner)`, tested: false });
  }
}

/** SASL: Dovecot's socket is not on a runner; Cyrus with no accounts stands in. */
function saslStandIn(d: Draft): void {
  const { values } = d;
  const inUse = values.get('smtpd_sasl_auth_enable') === 'yes' || (d.input.master ?? []).some((s) => serviceOverrides(s).some((o) => o.name === 'smtpd_sasl_auth_enable' && o.value === 'yes'));
  if (!inUse) return;
  if ((values.get('smtpd_sasl_type') ?? 'cyrus') !== 'cyrus') {
    d.set('smtpd_sasl_type', 'cyrus', `${values.get('smtpd_sasl_type')} → cyrus with no accounts: AUTH is offered, every login fails`);
    d.set('smtpd_sasl_path', 'smtpd', `${values.get('smtpd_sasl_path') ?? ''} → smtpd (Cyrus)`);
  }
  values.set('cyrus_sasl_config_path', path.join(d.input.instance.conf, 'sasl'));
  // ANONYMOUS as Debian's libsasl2-modules offers it: whether Postfix offers it is then the
  // configuration's smtpd_sasl_security_options, which the AUTH identity trick tests.
  d.create.push({ file: 'sasl/smtpd.conf', content: 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: /nonexistent/relay-check-sasldb2\nmech_list: PLAIN LOGIN ANONYMOUS\n' });
}

/** A value with its maps pointed at the instance's copies (and queued for postmap/postalias); a map that cannot be had is a refusal. */
function fixMaps(d: Draft, name: string, value: string, origin: Origin): string {
  let out = value;
  for (const ref of mapRefs(value)) {
    if (SERVER_MAPS.has(ref.type)) {
      d.refusals.push({ ...origin, subject: name, change: `${name} uses ${ref.whole}, which needs a server or database a runner does not have: stand it in with postfix-overrides (for example ${name} = texthash:test/${name})`, tested: false });
      continue;
    }
    if (!d.input.mapTypes.has(ref.type)) {
      d.refusals.push({ ...origin, subject: name, change: `${name} uses the map type ${ref.type}:, which this Postfix does not support${PACKAGE_OF[ref.type] ? ` (install the Debian package ${PACKAGE_OF[ref.type]})` : ''}`, tested: false });
      continue;
    }
    const file = d.resolveFile(ref.name);
    if (!file) {
      if (ALIAS_PARAMS.has(name) && /(^|\/)aliases$/.test(ref.name)) out = out.replace(ref.whole, aliasesStandIn(d, name, ref, origin));
      else d.refusals.push({ ...origin, subject: name, change: `${name} names ${ref.name}, which is not in the configuration directory: add the file or override ${name} in postfix-overrides`, tested: false });
      continue;
    }
    const next = `${ref.proxy ? 'proxy:' : ''}${ref.type}:${file}`;
    if (next !== ref.whole) {
      out = out.replace(ref.whole, next);
      if (!/^\$\{?config_directory/.test(ref.name)) d.changes.push({ ...origin, subject: name, change: `${ref.name} → the copy in the configuration directory`, tested: true });
    }
    if (INDEXED_MAPS.has(ref.type) && !d.build.some((b) => b.map === `${ref.type}:${file}`)) {
      d.build.push({ command: ALIAS_PARAMS.has(name) ? 'postalias' : 'postmap', map: `${ref.type}:${file}` });
    }
  }
  return out;
}

/** Local recipient validation reads the aliases; Debian's default holds postmaster only. Returns the reference to write. */
function aliasesStandIn(d: Draft, name: string, ref: MapRef, origin: Origin): string {
  const stand = path.join(d.input.instance.conf, 'aliases');
  if (!d.create.some((c) => c.file === 'aliases')) d.create.push({ file: 'aliases', content: 'postmaster: root\n' });
  d.changes.push({ ...origin, subject: name, change: `${ref.name} is not in the configuration directory: an aliases file with postmaster only stands in`, tested: true });
  if (INDEXED_MAPS.has(ref.type)) d.build.push({ command: 'postalias', map: `${ref.type}:${stand}` });
  return `${ref.proxy ? 'proxy:' : ''}${ref.type}:${stand}`;
}

/** Certificates name files of the production host: the directory's copy, else a throwaway pair stands in. */
function tlsStandIn(d: Draft, name: string, value: string): { value: string; change: string } | undefined {
  if (value === '') return undefined;
  const { cert, key } = d.input.instance;
  if (name === 'smtpd_tls_chain_files') {
    const files = value.split(/[\s,]+/).filter(Boolean);
    if (files.every((f) => d.resolveFile(f))) return { value: files.map((f) => d.resolveFile(f) as string).join(', '), change: `${value} → the copies in the configuration directory` };
    return { value: `${key}, ${cert}`, change: `${value} → a throwaway self-signed pair (STARTTLS and implicit TLS are still tested)` };
  }
  const local = d.resolveFile(value);
  if (local) return { value: local, change: `${value} → the copy in the configuration directory` };
  if (TLS_PAIR.cert.includes(name)) return { value: cert, change: `${value} → a throwaway self-signed certificate (STARTTLS and implicit TLS are still tested)` };
  if (TLS_PAIR.key.includes(name)) return { value: key, change: `${value} → the throwaway key` };
  if (TLS_OPTIONAL.includes(name)) return { value: '', change: `${value} is not on a runner: left out` };
  return undefined;
}

function certificates(d: Draft): void {
  for (const name of TLS_FILES) {
    const v = d.values.get(name);
    const t = v === undefined ? undefined : tlsStandIn(d, name, v);
    if (t) d.set(name, t.value, t.change);
  }
  // Debian's "No configuration" main.cf has no TLS at all; a service that asks for it needs a pair.
  if (!TLS_PAIR.cert.some((n) => d.values.get(n)) && !d.values.get('smtpd_tls_chain_files')) {
    d.values.set('smtpd_tls_cert_file', d.input.instance.cert);
    d.values.set('smtpd_tls_key_file', d.input.instance.key);
  }
}

/** master.cf for the instance: chroot off, overrides made safe, listeners on their loopback ports, delivery agents discard(8). */
function sandboxMaster(d: Draft, forServices: readonly FileServiceOverride[]): { master: MasterService[]; services: GateService[] } {
  const { input } = d;
  const master: MasterService[] = (input.master ?? parseDefault()).map((s) => ({ ...s, args: [...s.args] }));
  if (input.master === null) d.changes.push({ file: 'master.cf', line: null, subject: 'master.cf', change: "the directory has no master.cf: Debian's default services stand in (smtp on port 25)", tested: true });
  const services: GateService[] = [];
  const chrooted: string[] = [];
  const replaced: string[] = [];
  const disabled: MasterService[] = [];
  for (const s of master) {
    if (s.chroot !== 'n') {
      if (s.chroot === 'y' || s.chroot === '-') chrooted.push(s.service);
      s.chroot = 'n';
    }
    const origin = { file: 'master.cf', line: input.master === null ? null : s.line };
    // The team's overrides first, so they are made safe like the file's own.
    applyFileOverrides(d, s, forServices);
    safeServiceOverrides(d, s, origin);
    if (isListener(s)) services.push(placeListener(d, s, origin, services.length));
    else if (s.type === 'inet') {
      disabled.push(s);
      d.changes.push({ ...origin, subject: s.service, change: `inet service ${s.service} (${s.command}) is not SMTP: not started here`, tested: false });
    } else if (!SAFE_DAEMONS.has(s.command)) {
      if (s.type === 'unix') replaced.push(toDiscard(s));
      else {
        disabled.push(s);
        d.changes.push({ ...origin, subject: s.service, change: `${s.type} service ${s.service} runs ${s.command}, which is not one of Postfix's own daemons: not started here`, tested: true });
      }
    }
    onlyOverrides(d, s, origin);
  }
  if (chrooted.length) d.changes.push({ file: 'master.cf', line: null, subject: 'chroot', change: `chroot off for ${chrooted.join(', ')} (the jail is not populated on a runner)`, tested: true });
  if (replaced.length) d.changes.push({ file: 'master.cf', line: null, subject: 'delivery agents', change: `${replaced.join(', ')} deliver to discard(8): nothing leaves the runner and no command runs`, tested: true });
  const kept = withRequiredServices(d, master.filter((s) => !disabled.includes(s)));
  if (services.length === 0) d.refusals.push({ file: 'master.cf', line: null, subject: 'master.cf', change: 'no inet smtpd or postscreen service: there is nothing to test', tested: false });
  return { master: kept, services };
}

/** A unix service that is not one of Postfix's own safe daemons becomes discard(8), with no wakeup; returns how it is named in the change. */
function toDiscard(s: MasterService): string {
  const was = `${s.service} (${s.command}${s.wakeup !== '-' && s.wakeup !== '0' ? `, woken every ${s.wakeup}` : ''})`;
  s.command = 'discard';
  s.wakeup = '-';
  s.args = keepOverrides(s.args);
  return was;
}

/** Arguments other than `-o` (`-D` runs debugger_command as root, `-v`, a pipe's argv) are dropped. */
function onlyOverrides(d: Draft, s: MasterService, origin: Origin): void {
  const kept = keepOverrides(s.args);
  if (kept.length === s.args.length) return;
  const dropped = s.args.filter((a, i) => a !== '-o' && s.args[i - 1] !== '-o');
  d.changes.push({ ...origin, subject: s.service, change: `argument(s) ${dropped.join(' ')} dropped: only -o overrides are kept (-D would run debugger_command)`, tested: true });
  s.args = kept;
}

/** A service's own `-o` overrides, made safe as main.cf's values are. */
function safeServiceOverrides(d: Draft, s: MasterService, origin: Origin): void {
  for (const o of serviceOverrides(s)) {
    const subject = `${s.service} -o ${o.name}`;
    let v = fixMaps(d, `${s.service}/${s.type} -o ${o.name}`, o.value, origin);
    if (MILTERS.includes(o.name) && v !== '') {
      d.changes.push({ ...origin, subject, change: `milters ${v} not tested here`, tested: false });
      v = '';
    }
    const policy = withoutPolicyServices(v);
    for (const r of policy.removed) d.changes.push({ ...origin, subject, change: `${r} not tested here (a policy service cannot be reached from a runner)`, tested: false });
    v = policy.value;
    const tls = TLS_FILES.includes(o.name) ? tlsStandIn(d, o.name, v) : undefined;
    if (tls) {
      d.changes.push({ ...origin, subject, change: tls.change, tested: true });
      v = tls.value;
    }
    if (o.name === 'smtpd_sasl_type' && v !== 'cyrus') {
      d.changes.push({ ...origin, subject: `${s.service} -o smtpd_sasl_type`, change: `${v} → cyrus with no accounts`, tested: true });
      v = 'cyrus';
    }
    if (o.name === 'smtpd_sasl_path' && d.values.get('smtpd_sasl_type') === 'cyrus') v = 'smtpd';
    if (o.name === 'smtpd_authorized_xclient_hosts' && v !== gateXclientHosts(v)) {
      d.changes.push({ ...origin, subject, change: xclientChange(v), tested: true });
      v = gateXclientHosts(v);
    }
    const transport = TRANSPORTS.find((t) => t === o.name);
    if (transport) v = classTransport(d.input.classTag, transport);
    else if ((ROUTING as readonly string[]).includes(o.name)) v = '';
    else if (o.name in HOOKS && v !== '') {
      d.changes.push({ ...origin, subject, change: `${v} → empty: ${HOOKS[o.name].why}`, tested: HOOKS[o.name].tested });
      v = '';
    }
    if (v !== o.value) s.args[o.index] = overrideArg(o.name, v);
  }
}

/** postfix-overrides' `service/type/name` lines for this service, replacing or adding `-o`. */
function applyFileOverrides(d: Draft, s: MasterService, forServices: readonly FileServiceOverride[]): void {
  for (const f of forServices.filter((x) => x.service === s.service && x.type === s.type)) {
    const existing = serviceOverrides(s).find((o) => o.name === f.name);
    if (existing) s.args[existing.index] = overrideArg(f.name, f.value);
    else s.args.push('-o', overrideArg(f.name, f.value));
    d.changes.push({ file: d.input.overridesFile, line: f.line, subject: `${s.service}/${s.type} -o ${f.name}`, change: `set by postfix-overrides: ${f.value}`, tested: true });
  }
}

/** An smtpd or postscreen listener moved to the nth free loopback port, described as it was in production. */
function placeListener(d: Draft, s: MasterService, origin: Origin, nth: number): GateService {
  const port = d.input.ports[nth];
  if (port === undefined) throw new Error('buildSandbox: fewer ports than listeners (see listenerCount)');
  const own = (n: string): string | undefined => serviceOverrides(s).find((o) => o.name === n)?.value ?? d.values.get(n);
  const wrapper = own('smtpd_tls_wrappermode') === 'yes';
  const tlsRequired = !wrapper && (own('smtpd_tls_security_level') === 'encrypt' || own('smtpd_enforce_tls') === 'yes');
  const proxy = own(s.command === 'postscreen' ? 'postscreen_upstream_proxy_protocol' : 'smtpd_upstream_proxy_protocol') === 'haproxy';
  const original = SERVICE_PORTS[s.service] ?? s.service;
  // A listener written as host:port is best known by its syslog name (postfix/submission).
  const syslog = serviceOverrides(s).find((o) => o.name === 'syslog_name')?.value.split('/').pop();
  const name = /[:.]/.test(s.service) && syslog && !syslog.includes('$') ? syslog : s.service;
  d.changes.push({ ...origin, subject: s.service, change: `${name} (${original}) → 127.0.0.1:${port}`, tested: true });
  s.service = `127.0.0.1:${port}`;
  return { name, original, command: s.command as 'smtpd' | 'postscreen', wrapper, tlsRequired, proxy, port, line: s.line };
}

function withRequiredServices(d: Draft, kept: MasterService[]): MasterService[] {
  for (const [name, line] of Object.entries(REQUIRED_SERVICES)) {
    if (!kept.some((s) => s.service === name && s.type !== 'inet')) {
      const [svc] = parseLine(line);
      kept.push(svc);
      d.changes.push({ file: 'master.cf', line: null, subject: name, change: `added ${name} (${svc.command}): the private instance needs it`, tested: true });
    }
  }
  return kept;
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
