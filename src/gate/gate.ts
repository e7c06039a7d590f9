import { spawnSync } from 'node:child_process';
import { run, type EngineServices } from '../engine.js';
import type { GateReport, Report } from '../report/model.js';
import type { Settings } from '../settings.js';
import { startGate, type GateInstance, type GateLog } from './instance.js';
import { proveFixes } from './prove.js';

export interface GateHooks {
  /** Called once the instance is up and before the battery runs (tests establish expected verdicts here). */
  beforeRun?: (inst: GateInstance) => Promise<void>;
  /** Told the instance directory as soon as it exists. */
  onDir?: (dir: string) => void;
}

/** The one call both entry points make: a running server, or a configuration on a private Postfix. */
export function check(settings: Settings, services: EngineServices = {}, log?: GateLog, hooks: GateHooks = {}): Promise<Report> {
  return settings.postfixConfig === undefined ? run(settings, services) : runGate(settings, services, log, hooks);
}

/**
 * Gate mode: the configuration of a pull request tested on a private Postfix
 * built from it. The engine runs unchanged against every smtpd service of
 * the instance, as an outside client through XCLIENT; the instance is always
 * stopped and removed afterwards, whatever happened.
 */
export async function runGate(settings: Settings, services: EngineServices = {}, log?: GateLog, hooks: GateHooks = {}, prove = true): Promise<Report> {
  const configDir = settings.postfixConfig;
  if (configDir === undefined) throw new Error('runGate: no postfix-config');
  const tested = await runGateOnce(settings, services, log, hooks);
  if (!prove || !(tested.diagnosis ?? []).some((d) => d.findings.length > 0) || !tested.gate) return tested;
  // The diagnosis points at a setting: try its fix on a fixed copy, with only the attempts that relayed.
  log?.('trying the proposed fix on a copy of the configuration');
  const fixes = await proveFixes(settings, tested, tested.settings.domain ?? '', services, (s, v) => runGate(s, v, log, {}, false));
  return { ...tested, gate: { ...tested.gate, fixes } };
}

async function runGateOnce(settings: Settings, services: EngineServices, log: GateLog | undefined, hooks: GateHooks): Promise<Report> {
  const configDir = settings.postfixConfig;
  if (configDir === undefined) throw new Error('runGate: no postfix-config');
  const inst = await startGate({ configDir, overridesFile: settings.postfixOverrides, log, onDir: hooks.onDir });
  try {
    await hooks.beforeRun?.(inst);
    const wrapper = new Set(inst.services.filter((s) => s.wrapper).map((s) => s.port));
    const report = await run(
      {
        ...settings,
        hosts: [{ input: '127.0.0.1', host: '127.0.0.1', kind: 'ipv4' }],
        ports: inst.services.map((s) => s.port),
        // The configuration's own domain feeds the own-domain vectors, unless the user named one.
        domain: settings.domain ?? (inst.mydomain || undefined),
      },
      { ...services, tlsFor: (port) => (wrapper.has(port) ? 'implicit' : undefined) },
    );
    const byPort = new Map(inst.services.map((s) => [s.port, s]));
    for (const t of report.targets) {
      const s = byPort.get(t.port);
      if (s) t.service = `${s.name} (${s.original})`;
    }
    const gate: GateReport = {
      configDir,
      commit: commitOf(configDir),
      postfixVersion: inst.postfixVersion,
      services: inst.services.map((s) => ({ name: s.name, original: s.original, command: s.command, wrapper: s.wrapper, tlsRequired: s.tlsRequired, address: '127.0.0.1', port: s.port, line: s.line })),
      changes: inst.changes,
    };
    return { ...report, settings: { ...report.settings, hosts: [] }, gate };
  } finally {
    await inst.stop();
  }
}

/** The commit the configuration came from: the workflow's, else the repository's HEAD. */
function commitOf(dir: string): string | null {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  const r = spawnSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8', timeout: 5_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}
