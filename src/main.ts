import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { check } from './gate/gate.js';
import { GateError, killNow } from './gate/instance.js';
import { annotations } from './report/annotations.js';
import { postComment } from './report/comment.js';
import { logLine } from './report/escape.js';
import type { Report } from './report/model.js';
import { renderSummary, targetLabel } from './report/summary.js';
import { INPUT_NAMES, InputError, parseSettings, type RawInputs, type Settings } from './settings.js';

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
    // The token is used for the comment only and never enters Settings or the report.
    token = (raw['github-token'] ?? '').trim();
    if (token) core.setSecret(token);
  } catch (e) {
    core.setFailed(e instanceof InputError ? e.message : `relay-check: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  try {
    // The post step (action.yml) removes the instance if this step is killed before it can.
    const report = await check(settings, {}, (line) => core.info(logLine(line)), { onDir: (dir) => core.saveState('gate-dir', dir) });
    await publish(report, settings, token);
  } catch (e) {
    if (e instanceof GateError) {
      // A configuration Postfix or the sandbox refuses is a failed gate, pointed at its file and line.
      for (const p of e.problems) core.error(logLine(p.change), { title: 'relay-check: postfix-config', file: path.join(settings.postfixConfig ?? '', p.file), startLine: p.line ?? undefined });
      core.setFailed(e.message);
      return;
    }
    // Only a bug in relay-check gets here: servers' misbehaviour is part of the report.
    core.setFailed(`relay-check failed unexpectedly: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

async function publish(report: Report, settings: Settings, token: string): Promise<void> {
  const file = path.resolve(settings.reportPath);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  for (const t of report.targets) {
    core.startGroup(logLine(`${targetLabel(t)}: ${t.verdict} (${t.counts.relayed} relayed, ${t.counts.denied} denied, ${t.counts.inconclusive} inconclusive)`));
    if (t.error) core.info(logLine(`  ${t.error}`));
    for (const l of t.opening) core.info(logLine(`  ${l.dir}: ${l.text}`));
    for (const a of t.attempts) {
      core.info(logLine(`${a.outcome.toUpperCase()} ${a.vector}: ${a.reply ?? ''} ${a.reason}`));
      for (const l of a.transcript) core.info(logLine(`  ${l.dir}: ${l.text}`));
    }
    core.endGroup();
  }
  for (const c of report.gate?.changes ?? []) {
    // Changes made to run the configuration on a runner show on the pull request's files.
    const props = { title: c.tested ? 'relay-check: changed to run on a runner' : 'relay-check: not tested here', file: path.join(report.gate?.configDir ?? '', c.file), startLine: c.line ?? undefined };
    if (c.tested) core.notice(logLine(`${c.subject}: ${c.change}`), props);
    else core.warning(logLine(`${c.subject}: ${c.change}`), props);
  }
  for (const a of annotations(report)) {
    const props = { title: a.title };
    if (a.level === 'error') core.error(a.message, props);
    else if (a.level === 'warning') core.warning(a.message, props);
    else core.notice(a.message, props);
  }

  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(renderSummary(report)).write();
  }

  core.setOutput('verdict', report.verdict);
  core.setOutput('open-relay', String(report.verdict === 'open'));
  core.setOutput('accepted', String(report.counts.relayed));
  core.setOutput('inconclusive', String(report.counts.inconclusive));
  core.setOutput('tests', String(report.counts.tests));
  core.setOutput('report', file);

  // Before the verdict fails the step: an open relay is what a reviewer most needs to see. Never throws.
  if (settings.comment) await postComment(report, token);

  core.info(`relay-check: ${report.verdict} (${report.counts.tests} attempts, ${report.counts.relayed} relayed, ${report.counts.inconclusive} inconclusive)`);
  if (report.failed) core.setFailed(`relay-check: ${report.failReasons.join('; ')}`);
}
