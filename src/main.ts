import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { pullRequestBase } from './gate/base.js';
import { check } from './gate/gate.js';
import { GateError, killNow } from './gate/instance.js';
import { annotations } from './report/annotations.js';
import { postComment } from './report/comment.js';
import { postIssues } from './report/issue.js';
import { logLine } from './report/escape.js';
import type { Report } from './model/report.js';
import { headline, renderSummary } from './report/summary.js';
import { gateFailureSummary } from './report/gate-failure.js';
import { detailLabel, replyWithReason, TRANSPORT_LABEL, untestedAddresses } from './report/view.js';
import { ACTION_NAMING, INPUT_NAMES, InputError, parseSettings, type RawInputs, type Settings } from './settings.js';

/**
 * A file as GitHub matches annotations to a pull request's files: relative to the
 * checkout (GITHUB_WORKSPACE), with forward slashes and no leading `./`.
 */
export function repoPath(file: string): string {
  const ws = process.env.GITHUB_WORKSPACE;
  const rel = ws && path.isAbsolute(file) ? path.relative(ws, file) : file;
  return path.posix.normalize(rel.split(path.sep).join('/')).replace(/^\.\//, '');
}

/**
 * Fails the step. process.exitCode is set here and not left to core: under
 * @github/local-action's stub of @actions/core, setFailed does not set it and
 * core.ExitCode is undefined, so an open relay exited 0 there.
 */
function fail(message: string): void {
  core.setFailed(message);
  process.exitCode = 1;
}

/** The action's post step: a gate instance left behind by a killed main step is stopped and removed. */
export function post(): void {
  const dir = core.getState('gate-dir');
  if (dir) killNow(dir);
}

/** The action: inputs → settings → engine → summary, log, annotations, outputs, exit status. */
export async function run(): Promise<void> {
  let settings: Settings;
  let token = '';
  try {
    const raw: RawInputs = {};
    for (const name of INPUT_NAMES) raw[name] = core.getInput(name);
    settings = parseSettings(raw);
    // On a pull request the gate also tests the configuration at its base, unless base-ref names another commit.
    const prBase = (settings.postfixConfig ?? settings.eximConfig) !== undefined && settings.baseRef === undefined ? pullRequestBase(github.context.eventName, github.context.payload) : undefined;
    if (prBase !== undefined) settings = { ...settings, baseRef: prBase };
    // The token is used for the comment and the watch issues only, and never enters Settings or the report.
    token = (raw['github-token'] ?? '').trim();
    if (token) core.setSecret(token);
  } catch (e) {
    fail(e instanceof InputError ? e.message : `relay-check: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  try {
    // The post step (action.yml) removes the instance if this step is killed before it can.
    const log = (line: string, body?: readonly string[]): void => {
      if (!body) return core.info(logLine(line));
      // The installation's output goes into a collapsed group.
      core.startGroup(logLine(line));
      for (const l of body) core.info(logLine(l));
      core.endGroup();
    };
    const report = await check(settings, {}, log, { onDir: (dir) => core.saveState('gate-dir', dir) });
    await publish(report, settings, token);
  } catch (e) {
    if (e instanceof GateError) {
      // A configuration Postfix or the sandbox refuses is a failed gate, pointed at its file and line.
      const configDir = settings.postfixConfig ?? settings.eximConfig ?? '';
      for (const p of e.problems) core.error(logLine(p.change), { title: `relay-check: ${e.input === 'exim-config' ? 'exim-config' : 'postfix-config'}`, file: repoPath(path.join(configDir, p.file)), startLine: p.line ?? undefined });
      // Never an empty job summary: what failed, where, and what to do.
      await core.summary.addRaw(gateFailureSummary(e, configDir)).write();
      fail(e.message);
      return;
    }
    // Only a bug in relay-check gets here: servers' misbehaviour is part of the report.
    fail(`relay-check failed, please report: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

/**
 * One address and transport's attempts for its log group. Vectors skipped for
 * one reason (a run stopped after the plain attempt relayed: the rest of the
 * battery) are one line with their count, not a line each saying the same.
 */
export function attemptLogLines(t: Report['targets'][number]): string[] {
  const out: string[] = [];
  const skipped = new Map<string, string[]>();
  for (const a of t.attempts) {
    if (a.outcome === 'skipped' && a.transcript.length === 0) {
      skipped.set(a.reason, [...(skipped.get(a.reason) ?? []), a.vector]);
      continue;
    }
    out.push(`${a.outcome.toUpperCase()} ${a.vector}: ${replyWithReason(a.reply, a.reason)}`);
    for (const l of a.transcript) out.push(`  ${l.dir}: ${l.text}`);
  }
  for (const [reason, ids] of skipped) out.push(ids.length === 1 ? `SKIPPED ${ids[0]}: ${reason}` : `SKIPPED ${ids.length} vectors (${ids.join(', ')}): ${reason}`);
  return out;
}

async function publish(report: Report, settings: Settings, token: string): Promise<void> {
  const file = path.resolve(settings.reportPath);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  // Everything per attempt goes inside collapsed groups (one per address and transport); outside
  // them the log has only the annotations and one closing line.
  for (const t of report.targets) {
    const c = t.counts;
    core.startGroup(logLine(`${detailLabel(t)}, ${TRANSPORT_LABEL[t.transport]}: ${t.reachable ? t.verdict : 'not tested'} (${c.tests} attempts: ${c.relayed} relayed, ${c.denied} denied, ${c.inconclusive} inconclusive${c.skipped ? `, ${c.skipped} skipped` : ''})`));
    if (t.error) core.info(logLine(`  ${t.error}`));
    for (const l of t.opening) core.info(logLine(`  ${l.dir}: ${l.text}`));
    for (const line of attemptLogLines(t)) core.info(logLine(line));
    core.endGroup();
  }
  // The verdict comes first and carries the failure: core.setFailed would add an 11th error
  // annotation after the ten GitHub shows, so the exit status is set directly below.
  for (const a of annotations(report)) {
    // Gate-mode annotations about the configuration point at its file and line in the pull request.
    const props = { title: a.title, file: a.file === undefined ? undefined : repoPath(a.file), startLine: a.line };
    if (a.level === 'error') core.error(a.message, props);
    else if (a.level === 'warning') core.warning(a.message, props);
    else core.notice(a.message, props);
  }

  // A base that could not be compared is worth a warning, never a failure.
  if (report.gate?.base?.warning) core.warning(logLine(report.gate.base.warning), { title: 'relay-check: base not compared' });

  if (process.env.GITHUB_STEP_SUMMARY) {
    // The summary's advice names inputs as a workflow writes them (`client-address: …`).
    await core.summary.addRaw(renderSummary(report, undefined, ACTION_NAMING)).write();
  }

  core.setOutput('verdict', report.verdict);
  core.setOutput('open-relay', String(report.verdict === 'open'));
  core.setOutput('accepted', String(report.counts.relayed));
  core.setOutput('inconclusive', String(report.counts.inconclusive));
  core.setOutput('tests', String(report.counts.tests));
  core.setOutput('unreachable', String(untestedAddresses(report).length));
  core.setOutput('report', file);

  // Before the verdict fails the step: an open relay is what a reviewer most needs to see. Never throws.
  if (settings.comment) await postComment(report, token);
  // The scheduled watch: one issue per failing host and port, closed when it passes. Never throws.
  if (settings.issue) await postIssues(report, token);

  core.info(logLine(`relay-check: ${report.verdict}: ${headline(report)} (${report.counts.tests} attempts; the job summary has the details)`));
  if (report.failed) process.exitCode = 1;
}
