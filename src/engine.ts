import { diagnose } from './diagnosis/diagnose.js';
import { inputVectors, VECTORS, type Vector } from './battery/vectors.js';
import { countAttempts, sumCounts, SCHEMA_VERSION, type Report, type TargetReport } from './model/report.js';
import { proxySign } from './battery/tricks.js';
import { runTarget, silentGreeting, withProxyTricks, type TargetOptions, type TargetSpec, type Transport } from './schedule/target.js';
import { DEFAULTS, type Settings } from './settings.js';
import { TARGET_CONCURRENCY } from './smtp/limits.js';
import { mxHosts, planTargets, systemResolver, type MxDiscovery, type PlannedTarget, type Resolver } from './targets.js';
import type { HostSpec } from './settings.js';
import { weighService } from './verdict/evidence.js';
import { failureReasons, runVerdict, tallyOf, targetVerdict, untested, untestedNote } from './verdict/run.js';
import { VERSION } from './version.js';

export interface EngineServices {
  /** DNS; tests point it at a server of their own. */
  resolver?: Resolver;
  /** Override the catalogue (tests). */
  vectors?: readonly Vector[];
  /** Called as each address finishes (progress lines). */
  onTarget?: (t: TargetReport, done: number, total: number) => void;
  /** The TLS mode of one port when it is not the `tls` input's (gate mode: a wrapper-mode service on any port). */
  tlsFor?: (port: number) => Settings['tls'] | undefined;
  /**
   * Run every vector even once the plain attempt relayed (gate mode, tests). By default a
   * server that relays the plain attempt gets no further transactions: see TargetOptions.stopWhenOpen.
   */
  fullBattery?: boolean;
  /**
   * Ports that read a PROXY protocol header first (gate mode: `smtpd_upstream_proxy_protocol`):
   * every session there names its client in a header instead of XCLIENT, and the PROXY
   * identity tricks run there.
   */
  proxied?: (port: number) => boolean;
  /** What a port stands for (gate mode: the master.cf service, `submission (587)`), set on its targets before anything reads them. */
  serviceFor?: (port: number) => string | undefined;
}

/** relay-check's own HELO name: a name under a reserved domain (RFC 2606), never a real host. */
export const DEFAULT_HELO = 'relay-check.example.net';
const PROBE_USER = 'relay-check';

/**
 * The engine: settings in, Report out. It knows nothing of GitHub, terminals
 * or Markdown, and never throws for anything a server does.
 *
 * In order: discover the hosts (MX), plan the targets (addresses and ports), run them in
 * lanes, assemble the report.
 */
export async function run(settings: Settings, services: EngineServices = {}): Promise<Report> {
  const started = Date.now();
  const resolver = services.resolver ?? systemResolver;
  const found = await discoverHosts(settings, resolver);
  const planned = await planTargets({ hosts: found.hosts, ports: settings.ports }, resolver.lookup);
  const options = targetOptions(settings, services, started + settings.timeoutMs);
  const targets = await runLanes(planned, options, settings, services);
  return assembleReport(settings, started, targets, found);
}

interface Discovered {
  hosts: HostSpec[];
  discovery: MxDiscovery | null;
  error: string | null;
}

/** The hosts to test: those given, or the domain's MX hosts (the domain itself when it has none). */
async function discoverHosts(settings: Settings, resolver: Resolver): Promise<Discovered> {
  const found: Discovered = { hosts: settings.hosts, discovery: null, error: null };
  if (found.hosts.length > 0 || !settings.domain) return found;
  try {
    const discovery = await mxHosts(settings.domain, resolver);
    const names = discovery.implicit ? [settings.domain] : discovery.mx.map((m) => m.exchange);
    return { ...found, discovery, hosts: names.map((n) => ({ input: n, host: n, kind: 'name' as const })) };
  } catch (e) {
    return { ...found, error: e instanceof Error ? e.message : String(e) };
  }
}

function targetOptions(settings: Settings, services: EngineServices, deadline: number): TargetOptions {
  return {
    vectors: [...(services.vectors ?? VECTORS), ...inputVectors(settings)],
    recipient: settings.recipient,
    probe: PROBE_USER,
    domain: settings.domain,
    recipientGiven: settings.recipient.address !== DEFAULTS.recipient,
    clientAddress: settings.clientAddress,
    helo: DEFAULT_HELO,
    confirm: settings.strictness === 'relaxed',
    connectTimeoutMs: settings.connectTimeoutMs,
    deadline,
    stopWhenOpen: services.fullBattery !== true,
    ...(settings.localRecipient !== undefined ? { localRecipient: settings.localRecipient } : {}),
  };
}

/** Every planned target, TARGET_CONCURRENCY at a time; the reports in the planned order. */
async function runLanes(planned: readonly PlannedTarget[], options: TargetOptions, settings: Settings, services: EngineServices): Promise<TargetReport[]> {
  let next = 0;
  let done = 0;
  const perPlanned: TargetReport[][] = new Array(planned.length);
  const lane = async (): Promise<void> => {
    while (next < planned.length) {
      const i = next++;
      perPlanned[i] = await testPlanned(planned[i], options, settings, services);
      const service = services.serviceFor?.(planned[i].port);
      if (service !== undefined) for (const t of perPlanned[i]) t.service = service;
      done++;
      for (const t of perPlanned[i]) services.onTarget?.(t, done, planned.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(TARGET_CONCURRENCY, planned.length) }, lane));
  return perPlanned.flat();
}

/** One planned address and port: one report per transport tested on it. */
async function testPlanned(p: PlannedTarget, shared: TargetOptions, settings: Settings, services: EngineServices): Promise<TargetReport[]> {
  if (!p.address) return [unresolved(p)];
  const options = services.proxied?.(p.port) === true ? { ...shared, viaProxy: true } : shared;
  const spec = { host: p.host, address: p.address, port: p.port };
  const fixed = FIXED_TRANSPORT[services.tlsFor?.(p.port) ?? settings.tls];
  if (fixed) {
    const only = await runTarget({ ...spec, transport: fixed }, options);
    return weighService([fixed === 'plain' ? await proxyIfExpected(only, { ...spec, transport: fixed }, options, settings) : only]);
  }
  if (p.port === 465) return weighService([await runTarget({ ...spec, transport: 'implicit' }, options)]);
  // auto: plaintext first; then again inside STARTTLS when the server offers it.
  const first = await runTarget({ ...spec, transport: 'plain' }, options);
  if (silentGreeting(first)) {
    // No greeting in plaintext: try implicit TLS on a fresh connection, then a PROXY header, before giving up.
    const implicit = await runTarget({ ...spec, transport: 'implicit' }, options);
    if (implicit.reachable) return weighService([{ ...implicit, tlsDetected: true }]);
    return weighService([await proxyIfExpected(first, { ...spec, transport: 'plain' }, options, settings)]);
  }
  const plain = await proxyIfExpected(first, { ...spec, transport: 'plain' }, options, settings);
  if (!plain.extensions.includes('STARTTLS')) return weighService([plain]);
  // Plaintext already relays whatever it is sent: inside STARTTLS only the session is set up.
  const authTried = plain.attempts.some((a) => a.vector.startsWith('auth-') && a.outcome !== 'skipped');
  const secure = await runTarget({ ...spec, transport: 'starttls' }, { ...options, ...(plain.stopped ? { relayedInPlaintext: plain.stopped.after } : {}), ...(authTried ? { authTriedInPlaintext: true } : {}) });
  // One service on two transports: the evidence of either (its positive control, AUTH) counts for both.
  const [weighedPlain, weighedSecure] = weighService([plain, secure]);
  return [deferToTls(weighedPlain, weighedSecure), weighedSecure];
}

/**
 * The PROXY tricks on a plaintext run, when the input asks (`try`) or the port showed it
 * expects a header (`auto`: no greeting in time, or a refusal of the PROXY_SIGNS table).
 * The same run when they do not apply.
 */
async function proxyIfExpected(plain: TargetReport, spec: TargetSpec, options: TargetOptions, settings: Settings): Promise<TargetReport> {
  if (options.viaProxy === true) return withProxyTricks(plain, spec, options, 'the service reads a PROXY protocol header from every client (smtpd_upstream_proxy_protocol = haproxy)');
  if (settings.proxyProtocol === 'off') return plain;
  const refusal = plain.reachable ? null : (plain.opening.find((l) => l.dir === 'S')?.text ?? null);
  const sign = plain.reachable ? undefined : proxySign(refusal, silentGreeting(plain));
  if (settings.proxyProtocol === 'auto' && !sign) return plain;
  const reason = sign ? `the plaintext connection looks like a port that waits for a PROXY header (${sign.silent ? 'no greeting in time' : refusal ?? ''}; sign ${sign.id})` : 'asked for by `proxy-protocol: try`';
  return withProxyTricks(plain, spec, options, reason);
}

function assembleReport(settings: Settings, started: number, targets: TargetReport[], found: Discovered): Report {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'relay-check', version: VERSION },
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    settings: {
      hosts: settings.hosts.map((h) => h.input),
      ports: settings.ports,
      strictness: settings.strictness,
      tls: settings.tls,
      recipient: settings.recipient.address,
      domain: settings.domain ?? null,
      clientAddress: settings.clientAddress ?? null,
      senders: settings.senders,
      helos: settings.helos,
      timeoutMs: settings.timeoutMs,
      connectTimeoutMs: settings.connectTimeoutMs,
    },
    discovery: found.discovery,
    ...judged(targets, settings.strictness, found.error),
  };
}

/** Everything the report decides from its targets: verdict, failure, warnings, counts, diagnosis. */
export function judged(targets: TargetReport[], strictness: Settings['strictness'], discoveryError: string | null): Pick<Report, 'verdict' | 'failed' | 'failReasons' | 'warnings' | 'counts' | 'targets' | 'diagnosis'> {
  const tallies = targets.map(tallyOf);
  // Asked to test as another client and could not: the whole premise of the run is gone.
  const failReasons = [
    ...failureReasons(tallies, strictness),
    ...[...new Set(targets.filter((t) => t.errorKind === 'xclient').map((t) => t.error ?? 'XCLIENT failed'))],
    ...(discoveryError ? [discoveryError] : []),
  ];
  // The runs that make the verdict inconclusive for want of a test, said as strict says them;
  // then what the identity tricks found that decides nothing (XFORWARD, an AUTH with nothing accepted).
  const warnings = [...untested(tallies).map(untestedNote), ...targets.flatMap((t) => t.doors?.notes ?? [])];
  return { verdict: runVerdict(tallies), failed: failReasons.length > 0, failReasons, warnings, counts: sumCounts(targets.map((t) => t.counts)), targets, diagnosis: diagnose(targets) };
}

/**
 * The report again after attempts were decided anew (gate mode: by where the private
 * instance put them): each changed target's counts and verdict, then the run's.
 */
export function rejudge(report: Report, targets: readonly TargetReport[]): Report {
  const recounted = targets.map((t, i) => {
    if (t === report.targets[i]) return t;
    const counted = { ...t, counts: countAttempts(t.attempts) };
    return { ...counted, verdict: targetVerdict(tallyOf(counted)) };
  });
  return { ...report, ...judged(recounted, report.settings.strictness, null) };
}

const FIXED_TRANSPORT: Record<Settings['tls'], Transport | undefined> = {
  auto: undefined,
  none: 'plain',
  starttls: 'starttls',
  implicit: 'implicit',
};

/**
 * In `auto`, a server that demands STARTTLS refuses every plaintext attempt with
 * 530; those attempts were run again inside TLS, so in plaintext they are
 * skipped (with why) rather than left inconclusive.
 */
function deferToTls(plain: TargetReport, secure: TargetReport): TargetReport {
  const demanded = plain.attempts.some((a) => a.rule === 'starttls-required');
  if (!demanded) return plain;
  const where = secure.reachable ? 'was tested inside STARTTLS' : `could not be tested inside STARTTLS either (${secure.error ?? 'no session'})`;
  const attempts = plain.attempts.map((a) =>
    a.rule === 'starttls-required' ? { ...a, outcome: 'skipped' as const, reason: `the server demands STARTTLS first; this vector ${where}` } : a,
  );
  const deferred = { ...plain, attempts, counts: countAttempts(attempts) };
  // Nothing ran in plaintext: this row stands for the service, which the STARTTLS run decided.
  return { ...deferred, verdict: runVerdict([tallyOf(deferred), tallyOf(secure)]) };
}

function unresolved(p: PlannedTarget): TargetReport {
  return {
    host: p.host,
    address: '',
    family: null,
    port: p.port,
    transport: 'plain',
    tls: null,
    reachable: false,
    error: p.error ?? 'not resolved',
    errorKind: 'unresolved',
    greeting: null,
    serverName: null,
    extensions: [],
    opening: [],
    connections: 0,
    controls: [],
    errorBudget: 0,
    durationMs: 0,
    verdict: 'inconclusive',
    counts: countAttempts([]),
    attempts: [],
  };
}
