import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VECTORS } from '../battery/vectors.js';
import type { EngineServices } from '../engine.js';
import type { Report } from '../report/model.js';
import type { Settings } from '../settings.js';
import { proposeFixes, type ConfigFiles, type ProposedFix } from './fix.js';
import { parseMainCf, parseMasterCf } from './postfix-files.js';

/** A proposed fix, tried on a fixed copy of the configuration with only the attempts that relayed. */
export interface VerifiedFix extends ProposedFix {
  /** The relayed vectors re-run on the fixed copy. */
  rerun: string[];
  /** Of those, the ones that still relayed. */
  stillRelayed: string[];
  /** True when every re-run attempt was denied. */
  verified: boolean;
  /** Why it could not be tried (the fixed copy did not start, …). */
  error: string | null;
}

/** The configuration's files as the fix finder reads them. */
export function configFiles(configDir: string): ConfigFiles {
  const read = (f: string): string | null => (fs.existsSync(path.join(configDir, f)) ? fs.readFileSync(path.join(configDir, f), 'utf8') : null);
  const masterText = read('master.cf');
  return {
    main: parseMainCf(read('main.cf') ?? ''),
    master: masterText === null ? null : parseMasterCf(masterText),
    masterText,
    mapText: (name) => {
      // The configuration directory stands for /etc/postfix (as the sandbox maps it).
      const rel = name.startsWith('/etc/postfix/') ? name.slice('/etc/postfix/'.length) : name.startsWith('/') ? null : name;
      if (rel === null || rel.split('/').includes('..')) return null;
      const text = read(rel);
      return text === null ? null : { file: rel, text };
    },
  };
}

const serviceName = (label: string | undefined): string | undefined => label?.replace(/ \(.*\)$/, '');

/**
 * Proves each fix the diagnosis proposes: the same configuration with the fix
 * as extra postfix-overrides, on a new private instance, running only the
 * vectors that relayed. `rerunGate` is runGate without proving again.
 */
export async function proveFixes(
  settings: Settings,
  report: Report,
  mydomain: string,
  services: EngineServices,
  rerunGate: (s: Settings, v: EngineServices) => Promise<Report>,
): Promise<VerifiedFix[]> {
  const configDir = settings.postfixConfig;
  if (configDir === undefined) return [];
  const files = configFiles(configDir);
  const relaying = [...new Set(report.targets.filter((t) => t.counts.relayed > 0).map((t) => serviceName(t.service)).filter((s): s is string => s !== undefined))];
  const fixes = (report.diagnosis ?? []).flatMap((d) => proposeFixes(d, relaying, files, mydomain));
  const out: VerifiedFix[] = [];
  for (const fix of fixes) {
    const mine = (t: Report['targets'][number]): boolean => fix.services.includes(serviceName(t.service) ?? '');
    const relayedHere = report.targets.filter(mine).flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector));
    const rerun = [...new Set(relayedHere)];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-fix-'));
    try {
      const file = path.join(dir, 'overrides.cf');
      const before = settings.postfixOverrides ? fs.readFileSync(settings.postfixOverrides, 'utf8').replace(/\n?$/, '\n') : '';
      // Later lines win: the fix goes after the team's own overrides.
      fs.writeFileSync(file, `${before}${fix.overrides.join('\n')}\n`);
      const vectors = (services.vectors ?? VECTORS).filter((v) => rerun.includes(v.id));
      const again = await rerunGate({ ...settings, postfixOverrides: file }, { ...services, vectors, onTarget: undefined });
      const still = [...new Set(again.targets.filter(mine).flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)))];
      const ran = again.targets.some((t) => mine(t) && t.counts.tests > 0);
      out.push({ ...fix, rerun, stillRelayed: still, verified: ran && still.length === 0, error: ran ? null : `the fixed copy could not be tested: ${again.targets.find(mine)?.error ?? 'no attempt ran'}` });
    } catch (e) {
      out.push({ ...fix, rerun, stillRelayed: [], verified: false, error: `the fixed copy did not start: ${e instanceof Error ? e.message : String(e)}` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
