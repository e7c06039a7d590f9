import net from 'node:net';
import { mailDomain } from './battery/render.js';
import type { Strictness, TlsMode } from './model/verdict.js';
export type { Strictness } from './model/verdict.js';

type ProxyProtocolMode = 'auto' | 'try' | 'off';

export interface HostSpec {
  /** The token as the user wrote it, for messages. */
  input: string;
  /** Name or address without brackets or port. */
  host: string;
  kind: 'ipv4' | 'ipv6' | 'name';
  /** Port given with the host (`name:port`), overriding the `port` input. */
  port?: number;
}

export interface Settings {
  hosts: HostSpec[];
  ports: number[];
  strictness: Strictness;
  tls: TlsMode;
  recipient: { address: string; user: string; domain: string };
  /** The mail domain the server serves (own-domain vectors); derived from the server's name when absent. */
  domain?: string;
  /** Extra senders to try (input `sender`). */
  senders: string[];
  /** A mailbox the server must accept, for the positive control where postmaster@ its domain is elsewhere (input `local-recipient`). */
  localRecipient?: string;
  /** Extra HELO names to try (input `helo`). */
  helos: string[];
  /** Test as this client address through XCLIENT (input `client-address`). */
  clientAddress?: string;
  /**
   * The PROXY protocol identity trick (input `proxy-protocol`): `auto` only where the plain
   * connection shows the port expects a PROXY header, `try` on every plaintext port, `off` never.
   */
  proxyProtocol: ProxyProtocolMode;
  /** Gate mode: a Postfix configuration directory to build a private instance from (input `postfix-config`). */
  postfixConfig?: string;
  /** A file of `name = value` lines applied over that configuration (input `postfix-overrides`). */
  postfixOverrides?: string;
  /** Gate mode: an Exim configuration directory (a plain `configure`, or Debian's) tested through `exim -bh` (input `exim-config`). */
  eximConfig?: string;
  /** Gate mode: the commit to compare the configuration with (input `base-ref`; the action uses the pull request's base). */
  baseRef?: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  reportPath: string;
  /** Post the summary as a pull-request comment (input `comment`; the token stays out of Settings). */
  comment: boolean;
  /** The scheduled watch: one GitHub issue per failing host and port, closed when it passes (input `issue`). */
  issue: boolean;
}

/** Inputs as action.yml names them; values as strings, empty or absent when unset. */
export type RawInputs = Partial<Record<InputName, string>>;

export const INPUT_NAMES = [
  'host',
  'domain',
  'port',
  'strictness',
  'tls',
  'recipient',
  'sender',
  'local-recipient',
  'helo',
  'client-address',
  'proxy-protocol',
  'postfix-config',
  'postfix-overrides',
  'exim-config',
  'base-ref',
  'timeout',
  'connect-timeout',
  'report-path',
  'comment',
  'issue',
  'github-token',
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

export const DEFAULTS = {
  port: '25',
  strictness: 'normal',
  tls: 'auto',
  'proxy-protocol': 'auto',
  recipient: 'relay-check@example.com',
  timeout: '120',
  'connect-timeout': '10',
  'report-path': 'relay-check-report.json',
  comment: 'false',
  issue: 'false',
} as const satisfies RawInputs;

/** `client-address` in gate mode when none is given: TEST-NET-3, which no real mynetworks holds. */
export const GATE_CLIENT_ADDRESS = '203.0.113.10';

/**
 * How a message names an input, chosen by the entry point: the action says
 * `client-address: 203.0.113.10` (its workflow's `with:` key), the CLI
 * --client-address 203.0.113.10. Settings errors and the renderers' advice take
 * one, so each speaks its reader's language without rewriting text afterwards.
 */
export interface InputNaming {
  /** The input in prose: `client-address` (Markdown code) in the action; --client-address, or HOST, in the CLI. */
  name(input: InputName): string;
  /** The input given a value, as the reader would write it. */
  set(input: InputName, value: string): string;
  /** What an error about the input starts with. */
  error(input: InputName): string;
}

export const ACTION_NAMING: InputNaming = {
  name: (input) => `\`${input}\``,
  set: (input, value) => `\`${input}: ${value}\``,
  error: (input) => `Input '${input}': `,
};

export const CLI_NAMING: InputNaming = {
  name: (input) => (input === 'host' ? 'HOST' : `--${input}`),
  set: (input, value) => (input === 'host' ? value : `--${input} ${value}`),
  error: (input) => `${CLI_NAMING.name(input)}: `,
};

/** An error's detail, naming other inputs the way the reader's entry point does. */
export type InputDetail = string | ((n: InputNaming) => string);

/** A bad input: the message names the input and fits on one line. `message` is the action's wording; describe() any other. */
export class InputError extends Error {
  constructor(
    readonly input: InputName,
    private readonly detail: InputDetail,
  ) {
    super(`${ACTION_NAMING.error(input)}${typeof detail === 'string' ? detail : detail(ACTION_NAMING)}`);
    this.name = 'InputError';
  }

  /** The message as `n` names inputs. */
  describe(n: InputNaming): string {
    return `${n.error(this.input)}${typeof this.detail === 'string' ? this.detail : this.detail(n)}`;
  }
}

const LIST_SEPARATORS = /[\s,]+/;
// Lists may be written one per line in YAML; every other control character is refused.
// C0, DEL and C1 (U+0080–U+009F: some terminals read U+009B as an escape sequence).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_NEWLINE = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
const MULTILINE_INPUTS: ReadonlySet<InputName> = new Set(['host', 'port', 'helo', 'sender']);

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

export function isHostName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length === 0 || n.length > 253) return false;
  const labels = n.split('.');
  // An all-numeric last label is a mistyped address (1.2.3.999), not a name.
  if (/^\d+$/.test(labels[labels.length - 1])) return false;
  return labels.every((l) => LABEL.test(l));
}

function parsePort(input: InputName, text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new InputError(input, `"${text}" is not a port number (1-65535)`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new InputError(input, `port ${port} is outside 1-65535`);
  return port;
}

export function parseHost(token: string): HostSpec {
  const bad = (why: string): never => {
    throw new InputError('host', `"${token}" ${why}`);
  };
  let m = /^\[([^\]]*)\](?::(.*))?$/.exec(token);
  if (m) {
    if (!net.isIPv6(m[1])) bad('is not an IPv6 address in brackets');
    const spec: HostSpec = { input: token, host: m[1], kind: 'ipv6' };
    if (m[2] !== undefined) spec.port = parsePort('host', m[2]);
    return spec;
  }
  if (net.isIPv6(token)) return { input: token, host: token, kind: 'ipv6' };
  if (token.split(':').length > 2) bad('is not a valid IPv6 address (write [address]:port to add a port)');
  m = /^([^:]+)(?::(.*))?$/.exec(token);
  if (!m) return bad('is not a host name or address');
  const host = m[1];
  const spec: HostSpec = net.isIPv4(host)
    ? { input: token, host, kind: 'ipv4' }
    : /^[\d.]+$/.test(host)
      ? bad('is not a valid IPv4 address')
      : isHostName(host)
        ? { input: token, host: host.replace(/\.$/, ''), kind: 'name' }
        : bad('is not a valid host name or address');
  if (m[2] !== undefined) spec.port = parsePort('host', m[2]);
  return spec;
}

function parseSeconds(input: InputName, text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new InputError(input, `"${text}" is not a number of seconds`);
  const s = Number(text);
  const ms = Math.round(s * 1000);
  if (ms < 1 || s > 86_400) throw new InputError(input, `${text} s is outside 0.001-86400 s`);
  return ms;
}

function oneOf<T extends string>(input: InputName, text: string, values: readonly T[]): T {
  const v = text.toLowerCase() as T;
  if (!values.includes(v)) throw new InputError(input, `"${text}" is not one of ${values.join(', ')}`);
  return v;
}

/** A plain address (dot-atom local part; no braces, which the templates use). */
function parseAddress(input: InputName, text: string): Settings['recipient'] {
  const m = /^([A-Za-z0-9!#$%&'*+/=?^_`|~.-]{1,64})@([^@]+)$/.exec(text);
  if (!m || m[1].startsWith('.') || m[1].endsWith('.') || m[1].includes('..') || !isHostName(m[2])) {
    throw new InputError(input, `"${text}" is not a plain mail address like user@example.com`);
  }
  return { address: text, user: m[1], domain: m[2].replace(/\.$/, '') };
}

export function parseRecipient(text: string): Settings['recipient'] {
  return parseAddress('recipient', text);
}

/** A HELO name: a host name or an address literal ([192.0.2.1], [IPv6:…]). */
function parseHelo(text: string): string {
  const lit = /^\[(IPv6:)?([^\]]+)\]$/i.exec(text);
  if (lit ? (lit[1] ? net.isIPv6(lit[2]) : net.isIPv4(lit[2])) : isHostName(text)) return text;
  throw new InputError('helo', `"${text}" is not a host name or an address literal like [192.0.2.1]`);
}

/**
 * Whether the recipient is in one of the server's own domains, as far as the
 * inputs tell before connecting: the `domain` input or a subdomain of it; else
 * a host name or the domain it sits in (mx.corp.test serves corp.test). The
 * default recipient is never checked against host names: its domain is reserved.
 */
function recipientOwnDomain(rcptDomain: string, domain: string | undefined, hosts: readonly HostSpec[], n: InputNaming = ACTION_NAMING): string | undefined {
  const d = rcptDomain.toLowerCase();
  if (domain !== undefined) {
    return d === domain || d.endsWith(`.${domain}`) ? `in ${domain}, the mail domain the server serves (${n.name('domain')})` : undefined;
  }
  for (const h of hosts) {
    if (h.kind !== 'name') continue;
    const name = h.host.toLowerCase().replace(/\.$/, '');
    if (d === name) return `at ${name}, the host under test`;
    if (mailDomain(name) === d && d !== name) return `in ${d}, the domain of host ${name} (set ${n.name('domain')} if the server does not serve ${d})`;
  }
  return undefined;
}

/**
 * A commit or ref for git: a name or object id, with `~`/`^` suffixes. Never a
 * leading `-` (git would read an option), `:` (it is joined as `<ref>:<path>`),
 * `..` (a range), `@{` (reflog syntax) or whitespace.
 */
function parseBaseRef(text: string): string {
  if (text.length > 255 || !/^[A-Za-z0-9_][A-Za-z0-9._/~^@-]*$/.test(text) || text.includes('..') || text.includes('@{') || /(^|\/)\.|\.lock(\/|$)|\/$/.test(text)) {
    throw new InputError('base-ref', `"${text}" is not a commit or ref (a branch, tag or commit id like main, v1.2 or 3f2c1ab)`);
  }
  return text;
}

/** Validates every input; throws InputError on the first bad one. No I/O. */
export function parseSettings(raw: RawInputs): Settings {
  const get = (name: InputName): string => {
    const value = raw[name] ?? '';
    const control = MULTILINE_INPUTS.has(name) ? CONTROL_EXCEPT_NEWLINE : CONTROL;
    if (control.test(value)) throw new InputError(name, 'contains a control character');
    const trimmed = value.trim();
    if (trimmed === '' && name in DEFAULTS) return DEFAULTS[name as keyof typeof DEFAULTS];
    return trimmed;
  };
  for (const name of INPUT_NAMES) get(name);

  const hostText = get('host');
  const hosts = hostText.split(LIST_SEPARATORS).filter(Boolean).map(parseHost);
  // Without host, the domain's MX hosts are tested (the engine resolves them).
  const postfixConfig = get('postfix-config');
  const postfixOverrides = get('postfix-overrides');
  if (postfixConfig !== '' && hosts.length > 0) throw new InputError('postfix-config', (n) => `tests a configuration on a private Postfix: leave ${n.name('host')} empty`);
  if (postfixOverrides !== '' && postfixConfig === '') throw new InputError('postfix-overrides', (n) => `applies to a ${n.name('postfix-config')} directory: set that too`);
  const eximConfig = get('exim-config');
  if (eximConfig !== '' && postfixConfig !== '') throw new InputError('exim-config', (n) => `tests an Exim configuration: leave ${n.name('postfix-config')} empty (one gate per step)`);
  if (eximConfig !== '' && hosts.length > 0) throw new InputError('exim-config', (n) => `tests a configuration through Exim's host checking: leave ${n.name('host')} empty`);
  const gated = postfixConfig !== '' || eximConfig !== '';
  const baseRef = get('base-ref');
  if (baseRef !== '' && !gated) throw new InputError('base-ref', (n) => `compares a ${n.name('postfix-config')} or ${n.name('exim-config')} directory with that commit: set one too`);
  if (baseRef !== '') parseBaseRef(baseRef);
  if (hosts.length === 0 && get('domain') === '' && !gated) {
    throw new InputError('host', (n) => (hostText === '' ? `is required unless ${n.name('domain')} or ${n.name('postfix-config')} is set: name the mail server(s) to test` : 'names no host: only separators were given'));
  }

  const ports = [...new Set(get('port').split(LIST_SEPARATORS).filter(Boolean).map((p) => parsePort('port', p)))];
  if (ports.length === 0) throw new InputError('port', 'is empty');

  const strictness = oneOf('strictness', get('strictness'), ['relaxed', 'normal', 'strict'] as const);
  const tls = oneOf('tls', get('tls'), ['auto', 'none', 'starttls', 'implicit'] as const);

  const proxyProtocol = oneOf('proxy-protocol', get('proxy-protocol'), ['auto', 'try', 'off'] as const);

  const comment = oneOf('comment', get('comment'), ['true', 'false'] as const) === 'true';
  const issue = oneOf('issue', get('issue'), ['true', 'false'] as const) === 'true';
  // The gate's instance lives on random loopback ports for one run: there is no server to keep watching.
  if (issue && postfixConfig !== '') throw new InputError('issue', (n) => `watches the servers named in ${n.name('host')} or ${n.name('domain')}; a ${n.name('postfix-config')} gate has none (use ${n.name('comment')} on its pull request)`);

  const reportPath = get('report-path');
  const domainText = get('domain');
  if (domainText !== '' && !isHostName(domainText)) throw new InputError('domain', `"${domainText}" is not a domain name`);
  // In gate mode the battery runs as an outside client: a documentation address no mynetworks trusts (RFC 5737).
  const client = get('client-address') || (gated ? GATE_CLIENT_ADDRESS : '');
  if (client !== '' && !net.isIP(client)) throw new InputError('client-address', `"${client}" is not an IPv4 or IPv6 address`);
  const list = (name: InputName): string[] => [...new Set(get(name).split(LIST_SEPARATORS).filter(Boolean))];

  const recipient = parseRecipient(get('recipient'));
  const domain = domainText !== '' ? domainText.replace(/\.$/, '').toLowerCase() : undefined;
  const own = (n: InputNaming): string | undefined => recipientOwnDomain(recipient.domain, domain, recipient.address !== DEFAULTS.recipient ? hosts : [], n);
  if (own(ACTION_NAMING)) throw new InputError('recipient', (n) => `"${recipient.address}" is ${own(n)}: accepting it is local delivery, not a relay; name a mailbox outside the server's domains`);

  return {
    hosts,
    ports,
    strictness,
    tls,
    recipient,
    ...(domain !== undefined ? { domain } : {}),
    senders: list('sender').map((x) => parseAddress('sender', x).address),
    ...(get('local-recipient') !== '' ? { localRecipient: parseAddress('local-recipient', get('local-recipient')).address } : {}),
    helos: list('helo').map(parseHelo),
    ...(client !== '' ? { clientAddress: client } : {}),
    proxyProtocol,
    ...(postfixConfig !== '' ? { postfixConfig } : {}),
    ...(postfixOverrides !== '' ? { postfixOverrides } : {}),
    ...(eximConfig !== '' ? { eximConfig } : {}),
    ...(baseRef !== '' ? { baseRef } : {}),
    timeoutMs: parseSeconds('timeout', get('timeout')),
    connectTimeoutMs: parseSeconds('connect-timeout', get('connect-timeout')),
    reportPath,
    comment,
    issue,
  };
}
