import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VECTORS } from '../battery/vectors.js';
import type { EngineServices } from '../engine.js';
import type { Report } from '../model/report.js';
import { GATE_CLIENT_ADDRESS, type Settings } from '../settings.js';
import { fixForCause } from './cause.js';
import { proposeFixes, type ConfigFiles, type ProposedFix } from './fix.js';
import { parseMainCf, parseMasterCf } from './postfix-files.js';
import type { VerifiedFix } from '../model/gate.js';
import { ROUTED_LOCAL } from '../verdict/route-proof.js';
export type { VerifiedFix } from '../model/gate.js';

/** The configuration's files as the fix finder reads them. */
export function configFiles(configDir: string): ConfigFiles {
  const read = (f: string): string | null => (fs.existsSync(path.join(configDir, f)) ? fs.readFileSync(path.join(configDir, f), 'utf8') : null);
  const masterText = read('master.cf');
  const mainText = read('main.cf');
  return {
    main: parseMainCf(mainText ?? ''),
    mainText,
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
type Target = Report['targets'][number];

/** The fixes to prove: each cause's change where the effective configuration named one, else the diagnosis table's. */
function fixesFor(report: Report, files: ConfigFiles, mydomain: string, client: string): ProposedFix[] {
  const relaying = [...new Set(report.targets.filter((t) => t.counts.relayed > 0).map((t) => serviceName(t.service)).filter((s): s is string => s !== undefined))];
  const causes = report.gate?.causes ?? [];
  const out: ProposedFix[] = [];
  const add = (fix: ProposedFix): void => {
    const same = out.find((x) => x.overrides.join('\n') === fix.overrides.join('\n'));
    if (same) same.services.push(...fix.services.filter((s) => !same.services.includes(s)));
    else out.push(fix);
  };
  for (const c of causes) {
    const fix = fixForCause(c, files);
    if (fix) add(fix);
  }
  const unexplained = relaying.filter((s) => !causes.some((c) => c.service === s));
  for (const fix of (report.diagnosis ?? []).flatMap((d) => proposeFixes(d, unexplained, files, mydomain, client))) add(fix);
  return out;
}

/** Condition 1: every re-run attempt on the fix's services denied; what was not, said. */
function deniedAll(again: Report, mine: (t: Target) => boolean, rerun: readonly string[]): { still: string[]; why: string[] } {
  const on = again.targets.filter(mine);
  const still = [...new Set(on.flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)))];
  // Where it ran: a plaintext attempt skipped because the service demands STARTTLS ran inside it.
  // Accepted but shown by the instance's log to be delivered locally (proof by routing) is no relay either.
  const local = (a: Target['attempts'][number]): boolean => a.outcome === 'skipped' && a.rule === ROUTED_LOCAL;
  const ran = (v: string): Target['attempts'] => on.flatMap((t) => t.attempts.filter((a) => a.vector === v && (a.outcome !== 'skipped' || local(a))));
  const notDenied = rerun.filter((v) => !still.includes(v) && (ran(v).length === 0 || ran(v).some((a) => a.outcome !== 'denied' && !local(a))));
  const why: string[] = [];
  if (notDenied.length > 0) {
    why.push(`${notDenied.length} of the ${rerun.length} attempt(s) that relayed were not denied on the fixed copy (not run or inconclusive: ${notDenied.slice(0, 5).join(', ')}${notDenied.length > 5 ? ', …' : ''})`);
  }
  return { still, why };
}

const bareBox = (m: string): string => m.replace(/^<|>$/g, '');

/**
 * Condition 2: every service still takes, from the outside client, the own-domain
 * mailboxes it took before: the engine's positive control (postmaster@ the domain,
 * and input local-recipient; RCPT only) on the same service and transport. Port 25
 * whose control was not decided before cannot be shown to stay open for mail.
 */
function ownMailKept(before: Report, after: Report): { rows: NonNullable<VerifiedFix['ownMail']>; why: string[] } {
  const rows: NonNullable<VerifiedFix['ownMail']> = [];
  const why: string[] = [];
  for (const t of before.targets) {
    const u = after.targets.find((x) => x.service === t.service && x.transport === t.transport);
    const label = `${t.service ?? t.port} (${t.transport})`;
    const control = t.positiveControl;
    // A submission service (AUTH offered, not the MX) that took the outsider's mail only because it
    // relayed for it: refusing that client on the fixed copy is the fix, not a deaf server.
    if (t.counts.relayed > 0 && offersAuth(t) && !isMx(before, t)) continue;
    if (control?.accepted !== true) {
      // Refused before as well (a submission port): nothing to keep.
      if (control?.accepted === false) continue;
      if (u?.positiveControl?.accepted === false) why.push(`${label} refuses its own domain's mail from an outside client on the fixed copy, and whether it took it before is not known`);
      else if (/ \(25\)$/.test(t.service ?? '')) why.push(`whether ${label} takes its own domain's mail from an outside client is not known (${control?.note ?? 'no positive control'}), so the fix cannot be shown to keep it`);
      continue;
    }
    for (const p of control.probes.filter((x) => x.accepted === true)) {
      const q = u?.positiveControl?.probes.find((x) => x.mailbox === p.mailbox);
      rows.push({ service: serviceName(t.service) ?? String(t.port), mailbox: bareBox(p.mailbox), before: true, after: q?.accepted ?? null, reply: q?.reply ?? u?.positiveControl?.note ?? null });
      if (q?.accepted !== true) why.push(`${label} no longer accepts ${bareBox(p.mailbox)} from an outside client${q?.reply ? ` (${q.reply})` : ': not asked on the fixed copy'}`);
    }
  }
  // One row per service and mailbox: accepted after only where every transport still accepts it.
  const merged = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    const k = `${r.service} ${r.mailbox}`;
    const m = merged.get(k);
    merged.set(k, m ? { ...m, after: m.after === true && r.after === true ? true : m.after === false || r.after === false ? false : null, reply: m.after === true ? r.reply : m.reply } : r);
  }
  return { rows: [...merged.values()], why: [...new Set(why)] };
}

const offersAuth = (t: Target): boolean => t.extensions.some((e) => /^AUTH\b/i.test(e));

/** The service that receives the domain's mail: port 25 in master.cf, the `smtp` service, or postscreen in front of an smtpd. */
function isMx(report: Report, t: Target): boolean {
  const name = serviceName(t.service);
  const s = report.gate?.services.find((x) => x.name === name);
  return name === 'smtp' || / \(25\)$/.test(t.service ?? '') || s?.command === 'postscreen' || /(^|:)25$/.test(s?.original ?? '');
}

/** Condition 3: every service and transport that offered AUTH still offers it. */
function authKept(before: Report, after: Report): string[] {
  const auth = offersAuth;
  return before.targets
    .filter(auth)
    .filter((t) => !after.targets.some((u) => u.service === t.service && u.transport === t.transport && auth(u)))
    .map((t) => `${t.service ?? t.port} (${t.transport}) no longer offers AUTH`);
}

/**
 * Proves each fix: the same configuration with the fix as extra
 * postfix-overrides, on a new private instance, running only the vectors that
 * relayed (each target asks its positive control too). `rerunGate` runs one
 * fixed copy (gate.ts runFixedCopy).
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
  const out: VerifiedFix[] = [];
  for (const fix of fixesFor(report, files, mydomain, settings.clientAddress ?? GATE_CLIENT_ADDRESS)) out.push(await proveFix(settings, report, fix, services, rerunGate));
  return out;
}

/** One proposed change on a fixed copy, judged by the three conditions (see VerifiedFix.verified). */
export async function proveFix(settings: Settings, report: Report, fix: ProposedFix, services: EngineServices, rerunGate: (s: Settings, v: EngineServices) => Promise<Report>): Promise<VerifiedFix> {
  const mine = (t: Target): boolean => fix.services.includes(serviceName(t.service) ?? '');
  const rerun = [...new Set(report.targets.filter(mine).flatMap((t) => t.attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)))];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-fix-'));
  try {
    const file = path.join(dir, 'overrides.cf');
    const before = settings.postfixOverrides ? fs.readFileSync(settings.postfixOverrides, 'utf8').replace(/\n?$/, '\n') : '';
    // Later lines win: the fix goes after the team's own overrides.
    fs.writeFileSync(file, `${before}${fix.overrides.join('\n')}\n`);
    const vectors = (services.vectors ?? VECTORS).filter((v) => rerun.includes(v.id));
    const again = await rerunGate({ ...settings, postfixOverrides: file }, { ...services, vectors, onTarget: undefined });
    const ran = again.targets.some((t) => mine(t) && t.counts.tests > 0);
    const denied = deniedAll(again, mine, rerun);
    const own = ownMailKept(report, again);
    const why = [...denied.why, ...own.why, ...authKept(report, again)];
    const error = ran ? null : `the fixed copy could not be tested: ${again.targets.find(mine)?.error ?? 'no attempt ran'}`;
    return { ...fix, rerun, stillRelayed: denied.still, verified: ran && denied.still.length === 0 && why.length === 0, error, notVerified: why, ownMail: own.rows };
  } catch (e) {
    return { ...fix, rerun, stillRelayed: [], verified: false, error: `the fixed copy did not start: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
