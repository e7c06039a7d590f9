import { VECTORS, type Vector } from './battery/vectors.js';
import { countAttempts, sumCounts, SCHEMA_VERSION, type Report, type TargetReport } from './report/model.js';
import { runTarget } from './scheduler.js';
import type { Settings } from './settings.js';
import { TARGET_CONCURRENCY } from './smtp/limits.js';
import { planTargets, systemLookup, type Lookup, type PlannedTarget } from './targets.js';
import { failureReasons, runVerdict } from './verdict/run.js';
import { VERSION } from './version.js';

export interface EngineServices {
  lookup?: Lookup;
  /** Override the catalogue (tests). */
  vectors?: readonly Vector[];
  /** Called as each address finishes (progress lines). */
  onTarget?: (t: TargetReport, done: number, total: number) => void;
  connectionsPerAddress?: number;
}

/** relay-check's own HELO name: a name under a reserved domain (RFC 2606), never a real host. */
export const DEFAULT_HELO = 'relay-check.example.net';
export const PROBE_USER = 'relay-check';

/**
 * The engine: settings in, Report out. It knows nothing of GitHub, terminals
 * or Markdown, and never throws for anything a server does.
 */
export async function run(settings: Settings, services: EngineServices = {}): Promise<Report> {
  const started = Date.now();
  const deadline = started + settings.timeoutMs;
  const planned = await planTargets(settings, services.lookup ?? systemLookup);
  const vectors = services.vectors ?? VECTORS;

  const targets: TargetReport[] = new Array(planned.length);
  let next = 0;
  let done = 0;
  const one = async (p: PlannedTarget): Promise<TargetReport> => {
    if (!p.address) return unresolved(p);
    return runTarget(
      { host: p.host, address: p.address, port: p.port },
      {
        vectors,
        recipient: settings.recipient,
        probe: PROBE_USER,
        helo: DEFAULT_HELO,
        confirm: settings.strictness === 'relaxed',
        connectTimeoutMs: settings.connectTimeoutMs,
        // One knob for "how long may this server stay silent": the greeting and every later reply.
        replyTimeoutMs: settings.connectTimeoutMs,
        deadline,
        connectionsPerAddress: services.connectionsPerAddress,
      },
    );
  };
  const lane = async (): Promise<void> => {
    while (next < planned.length) {
      const i = next++;
      targets[i] = await one(planned[i]);
      services.onTarget?.(targets[i], ++done, planned.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(TARGET_CONCURRENCY, planned.length) }, lane));

  const tallies = targets.map((t) => ({ ...t, relayed: t.counts.relayed, inconclusive: t.counts.inconclusive }));
  const failReasons = failureReasons(tallies, settings.strictness);
  const warnings = targets
    .filter((t) => !t.reachable)
    .map((t) => `${t.address || t.host} port ${t.port} was not tested: ${t.error ?? 'unreachable'}`);
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
      timeoutMs: settings.timeoutMs,
      connectTimeoutMs: settings.connectTimeoutMs,
    },
    verdict: runVerdict(tallies),
    failed: failReasons.length > 0,
    failReasons,
    warnings,
    counts: sumCounts(targets.map((t) => t.counts)),
    targets,
  };
}

function unresolved(p: PlannedTarget): TargetReport {
  return {
    host: p.host,
    address: '',
    family: null,
    port: p.port,
    transport: 'plain',
    reachable: false,
    error: p.error ?? 'not resolved',
    greeting: null,
    serverName: null,
    extensions: [],
    opening: [],
    connections: 0,
    errorBudget: 0,
    durationMs: 0,
    verdict: 'inconclusive',
    counts: countAttempts([]),
    attempts: [],
  };
}
