import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, type EngineServices } from '../../engine.js';
import type { GateCause, VerifiedFix } from '../../model/gate.js';
import type { GateReport, Report } from '../../model/report.js';
import { GATE_CLIENT_ADDRESS, type Settings } from '../../settings.js';
import { againstBase } from '../base.js';
import type { GateLog } from '../instance.js';
import { proveFix } from '../prove.js';
import { run as runCommand } from '../run.js';
import { eximCause, eximFindings } from './cause.js';
import { holdsEximConfig } from './config.js';
import { applyEdit, eximFix } from './fix.js';
import { startEximGate, type EximInstance } from './instance.js';

export interface EximGateHooks {
  /** Called once the listener is up and before the battery runs (tests establish expected verdicts here). */
  beforeRun?: (inst: EximInstance) => Promise<void>;
  /** Told the private directory as soon as it exists. */
  onDir?: (dir: string) => void;
}

/** The service name an Exim gate's one listener reports. */
const EXIM_SERVICE = 'smtp';

/**
 * Gate mode for an Exim configuration: the battery, unchanged, over `exim -bh`
 * sessions as an outside client. No XCLIENT: host checking itself is "as if from"
 * the client address.
 */
export async function runEximGate(settings: Settings, services: EngineServices = {}, log?: GateLog, hooks: EximGateHooks = {}): Promise<Report> {
  let report = await runEximInstance(settings, services, log, hooks);
  const causes = report.gate?.causes ?? [];
  if (report.gate !== undefined && causes.length > 0) {
    log?.('trying the proposed fix on a copy of the configuration');
    const fixes = await proveEximFixes(settings, report, causes, services, log, hooks);
    report = { ...report, gate: { ...report.gate, fixes } };
  }
  if (settings.baseRef === undefined || report.gate === undefined) return report;
  const base = await againstBase(report, settings.eximConfig as string, settings.baseRef, {
    how: 'through Exim host checking',
    log,
    holdsConfig: holdsEximConfig,
    runBase: (dir) => runEximInstance({ ...settings, eximConfig: dir, baseRef: undefined }, services, log, { onDir: hooks.onDir }),
  });
  return { ...report, gate: { ...report.gate, base } };
}

/** Each cause's edit on a copy of the directory, through a second -bh listener, judged as the Postfix gate judges a fix. */
async function proveEximFixes(settings: Settings, report: Report, causes: readonly GateCause[], services: EngineServices, log: GateLog | undefined, hooks: EximGateHooks): Promise<VerifiedFix[]> {
  const configDir = settings.eximConfig as string;
  const out: VerifiedFix[] = [];
  for (const c of causes) {
    const proposal = eximFix(c, configDir);
    if (proposal === null || out.some((f) => f.diff === proposal.fix.diff)) continue;
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-fix-'));
    try {
      applyEdit(configDir, copy, proposal.edit);
      out.push(await proveFix(settings, report, proposal.fix, services, (s, v) => runEximInstance({ ...s, eximConfig: copy, baseRef: undefined }, v, log, { onDir: hooks.onDir })));
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  }
  return out;
}

/** One configuration directory through one private Exim. */
async function runEximInstance(settings: Settings, services: EngineServices, log: GateLog | undefined, hooks: EximGateHooks): Promise<Report> {
  const configDir = settings.eximConfig;
  if (configDir === undefined) throw new Error('runEximGate: no exim-config');
  const client = settings.clientAddress ?? GATE_CLIENT_ADDRESS;
  const inst = await startEximGate({ configDir, client, log, onDir: hooks.onDir });
  try {
    await hooks.beforeRun?.(inst);
    const port = inst.listener.port;
    const original = `exim -bh ${client}`;
    const report = await run(
      {
        ...settings,
        hosts: [{ input: '127.0.0.1', host: '127.0.0.1', kind: 'ipv4' }],
        ports: [port],
        tls: 'none',
        // -bh is the client address: XCLIENT is Postfix's and Exim does not offer it.
        clientAddress: undefined,
        domain: settings.domain ?? (inst.domain || undefined),
      },
      { ...services, fullBattery: true, serviceFor: (p) => (p === port ? `${EXIM_SERVICE} (${original})` : undefined) },
    );
    const causes = report.counts.relayed > 0 ? await causesOf(inst, report, client, `${EXIM_SERVICE} (${original})`) : [];
    const gate: GateReport = {
      configDir,
      commit: await commitOf(configDir),
      postfixVersion: '',
      exim: { version: inst.version, form: inst.form, client },
      services: [{ name: EXIM_SERVICE, original, command: 'exim', wrapper: false, tlsRequired: false, address: '127.0.0.1', port, line: 0 }],
      changes: inst.changes,
      ...(causes.length > 0 ? { causes } : {}),
    };
    const diagnosis = causes.length > 0 ? (report.diagnosis ?? []).map((d) => ({ ...d, findings: eximFindings(causes), unmatched: null })) : report.diagnosis;
    return { ...report, ...(diagnosis ? { diagnosis } : {}), settings: { ...report.settings, hosts: [], clientAddress: client }, gate };
  } finally {
    await inst.stop();
  }
}

/** Relayed attempts replayed for their cause: each is one short -bh session. */
const MAX_REPLAYS = 12;

/**
 * Why it relayed: each relayed attempt (up to MAX_REPLAYS) replayed alone in a -bh
 * session, so that Exim's account of its RCPT ACL run is that attempt's and no other's.
 */
async function causesOf(inst: EximInstance, report: Report, client: string, service: string): Promise<GateCause[]> {
  if (inst.rcptAcl === '') return [];
  const relayed = report.targets.flatMap((t) => t.attempts).filter((a) => a.outcome === 'relayed').slice(0, MAX_REPLAYS);
  const out: GateCause[] = [];
  for (const a of relayed) {
    if (a.mailFrom === null || a.rcptTo.length === 0) continue;
    const path = (x: string): string => (x.startsWith('<') ? x : `<${x}>`);
    const commands = [`EHLO ${a.helo ?? 'relay-check.example.net'}`, `MAIL FROM:${path(a.mailFrom)}`, ...a.rcptTo.map((r) => `RCPT TO:${path(r)}`), 'QUIT', ''];
    const [cmd, ...args] = inst.hostCheckArgv;
    const r = await runCommand(cmd, args, { timeout: 30_000, input: commands.join('\r\n') });
    const cause = eximCause({ acl: inst.rcptAcl, commentary: r.stderr.split('\n'), lines: inst.lines, ...(inst.ue4cc ? { ue4cc: inst.ue4cc } : {}), client, vector: a.vector, service });
    if (cause && !out.some((c) => c.kind === cause.kind && c.list === cause.list && c.element === cause.element)) out.push(cause);
  }
  return out;
}

/** The commit the configuration came from: the workflow's, else the repository's HEAD. */
async function commitOf(dir: string): Promise<string | null> {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  const r = await runCommand('git', ['-C', dir, 'rev-parse', 'HEAD'], { timeout: 5_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}
