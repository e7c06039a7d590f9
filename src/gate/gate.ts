import path from 'node:path';
import { run, type EngineServices } from '../engine.js';
import type { GateReport, Report } from '../model/report.js';
import { GATE_CLIENT_ADDRESS, type Settings } from '../settings.js';
import { againstBase } from './base.js';
import { serviceCauses, withCauses, type GateCause } from './cause.js';
import { postmapLookup, readEffective, serviceEffective } from './effective.js';
import { startGate, type GateInstance, type GateLog } from './instance.js';
import { runEximGate } from './exim/gate.js';
import { configFiles, proveFixes } from './prove.js';
import { proveRoutes } from './route.js';
import { run as runCommand } from './run.js';

export interface GateHooks {
  /** Called once the instance is up and before the battery runs (tests establish expected verdicts here). */
  beforeRun?: (inst: GateInstance) => Promise<void>;
  /** Told the instance directory as soon as it exists. */
  onDir?: (dir: string) => void;
}

/** The one call both entry points make: a running server, or a configuration on a private Postfix. */
export function check(settings: Settings, services: EngineServices = {}, log?: GateLog, hooks: GateHooks = {}): Promise<Report> {
  if (settings.eximConfig !== undefined) return runEximGate(settings, services, log, { onDir: hooks.onDir });
  return settings.postfixConfig === undefined ? run(settings, services) : runGate(settings, services, log, hooks);
}

/**
 * Gate mode: the configuration of a pull request tested on a private Postfix
 * built from it. The engine runs unchanged against every smtpd service of
 * the instance, as an outside client through XCLIENT; the instance is always
 * stopped and removed afterwards, whatever happened.
 */
export async function runGate(settings: Settings, services: EngineServices = {}, log?: GateLog, hooks: GateHooks = {}): Promise<Report> {
  let report = await runInstance(settings, services, log, hooks, 'head');
  const causes = report.gate?.causes ?? [];
  if (causes.length > 0) {
    const relaying = [...new Set(report.targets.filter((t) => t.counts.relayed > 0).map((t) => t.service?.replace(/ \(.*\)$/, '') ?? ''))];
    report = { ...report, diagnosis: (report.diagnosis ?? []).map((d) => withCauses(d, causes, relaying)) };
  }
  if (report.gate !== undefined && (report.diagnosis ?? []).some((d) => d.findings.length > 0)) {
    // The cause points at a setting: try its fix on a fixed copy, with only the attempts that relayed.
    log?.('trying the proposed fix on a copy of the configuration');
    const fixes = await proveFixes(settings, report, report.settings.domain ?? '', services, (s, v) => runFixedCopy(s, v, log, { onDir: hooks.onDir }));
    report = { ...report, gate: { ...report.gate, fixes } };
  }
  if (settings.baseRef === undefined || report.gate === undefined) return report;
  const base = await againstBase(report, settings.postfixConfig as string, settings.baseRef, {
    how: 'on a second private Postfix',
    log,
    runBase: (dir) => runInstance({ ...settings, postfixConfig: dir, baseRef: undefined }, services, log, { onDir: hooks.onDir }, 'base'),
  });
  return { ...report, gate: { ...report.gate, base } };
}

/** A fixed copy of the configuration (the fix in postfix-overrides) on its own instance. */
export function runFixedCopy(settings: Settings, services: EngineServices, log?: GateLog, hooks: GateHooks = {}): Promise<Report> {
  return runInstance(settings, services, log, hooks, 'fixed');
}

/** One configuration directory on one private instance; for the head, when something relayed, also why (the effective configuration). */
async function runInstance(settings: Settings, services: EngineServices, log: GateLog | undefined, hooks: GateHooks, role: 'head' | 'fixed' | 'base'): Promise<Report> {
  const configDir = settings.postfixConfig;
  if (configDir === undefined) throw new Error('runGate: no postfix-config');
  const inst = await startGate({ configDir, overridesFile: settings.postfixOverrides, log, onDir: hooks.onDir });
  try {
    await hooks.beforeRun?.(inst);
    const wrapper = new Set(inst.services.filter((s) => s.wrapper).map((s) => s.port));
    const proxied = new Set(inst.services.filter((s) => s.proxy).map((s) => s.port));
    const byPort = new Map(inst.services.map((s) => [s.port, s]));
    const battery = await run(
      {
        ...settings,
        hosts: [{ input: '127.0.0.1', host: '127.0.0.1', kind: 'ipv4' }],
        ports: inst.services.map((s) => s.port),
        // The configuration's own domain feeds the own-domain vectors, unless the user named one.
        domain: settings.domain ?? (inst.mydomain || undefined),
      },
      {
        ...services,
        // A private instance: every vector runs even where the plain attempt relayed, so the
        // fix is proved against all of them and the base comparison sees each one.
        fullBattery: true,
        tlsFor: (port) => (wrapper.has(port) ? 'implicit' : undefined),
        // A PROXY-protocol service is reached as its proxy would reach it: a header naming the outside client.
        proxied: (port) => proxied.has(port),
        serviceFor: (port) => {
          const s = byPort.get(port);
          return s ? `${s.name} (${s.original})` : undefined;
        },
      },
    );
    // Where each accepted attempt really went: the instance's log decides it (route.ts).
    const report = await proveRoutes(battery, { clientAddress: settings.clientAddress ?? GATE_CLIENT_ADDRESS, connectTimeoutMs: settings.connectTimeoutMs, tag: inst.classTag, maillog: inst.maillog, log });
    const causes = role === 'head' && report.counts.relayed > 0 ? await effectiveCauses(inst, report, settings.clientAddress ?? GATE_CLIENT_ADDRESS, configDir) : [];
    const gate: GateReport = {
      configDir,
      commit: await commitOf(configDir),
      postfixVersion: inst.postfixVersion,
      services: inst.services.map((s) => ({ name: s.name, original: s.original, command: s.command, wrapper: s.wrapper, tlsRequired: s.tlsRequired, address: '127.0.0.1', port: s.port, line: s.line })),
      changes: inst.changes,
      ...(causes.length > 0 ? { causes } : {}),
    };
    return { ...report, settings: { ...report.settings, hosts: [] }, gate };
  } finally {
    await inst.stop();
  }
}

/** Why each service that relayed relays, from the running instance's effective configuration (its maps looked up with postmap). */
async function effectiveCauses(inst: GateInstance, report: Report, client: string, configDir: string): Promise<GateCause[]> {
  const conf = path.join(inst.dir, 'conf');
  const eff = await readEffective(conf);
  const lookup = postmapLookup(conf);
  const files = configFiles(configDir);
  return inst.services.flatMap((s) => {
    const attempts = report.targets.filter((t) => t.port === s.port).flatMap((t) => t.attempts);
    if (!attempts.some((a) => a.outcome === 'relayed')) return [];
    // The instance's master.cf names each listener by its loopback address and port.
    return serviceCauses(s.name, attempts, serviceEffective(eff, `127.0.0.1:${s.port}`), client, lookup, files);
  });
}

/** The commit the configuration came from: the workflow's, else the repository's HEAD. */
async function commitOf(dir: string): Promise<string | null> {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  const r = await runCommand('git', ['-C', dir, 'rev-parse', 'HEAD'], { timeout: 5_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}
