import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: string;
  outputs: Record<string, string>;
  /** What the step saved for its post step (core.saveState). */
  state: Record<string, string>;
  reportPath: string;
  dir: string;
}

/** Parses GITHUB_OUTPUT's `name<<delimiter` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]);
    out[m[1]] = value.join('\n');
  }
  return out;
}

/**
 * Runs the committed action bundle the way the runner does: `node dist/index.js`
 * with INPUT_* variables and temp GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files.
 */
export async function runAction(inputs: Record<string, string>, timeoutMs = 60_000, extraEnv: Record<string, string> = {}): Promise<ActionRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-action-'));
  const outputFile = path.join(dir, 'output');
  const summaryFile = path.join(dir, 'summary');
  fs.writeFileSync(outputFile, '');
  fs.writeFileSync(summaryFile, '');
  // As on a runner: core.saveState writes here (the post step's state), not to the log.
  const stateFile = path.join(dir, 'state');
  fs.writeFileSync(stateFile, '');
  const reportPath = path.join(dir, 'report.json');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_STATE: stateFile,
    'INPUT_REPORT-PATH': reportPath,
    // The runner's GITHUB_* variables where a test stands in for GitHub (GITHUB_API_URL at a fake API).
    ...extraEnv,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'index.js')], { env, cwd: dir });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  return {
    code,
    stdout,
    stderr,
    summary: fs.readFileSync(summaryFile, 'utf8'),
    outputs: parseOutputs(fs.readFileSync(outputFile, 'utf8')),
    state: parseOutputs(fs.readFileSync(stateFile, 'utf8')),
    reportPath,
    dir,
  };
}

/** @github/local-action, a devDependency: GitHub's tool for running an action on a workstation. */
const LOCAL_ACTION_BIN = path.join(ROOT, 'node_modules', '@github', 'local-action', 'bin', 'local-action.js');

export interface LocalActionRun {
  code: number | null;
  stdout: string;
  summary: string;
  /** From the stub's `::set-output name=…::value` lines. */
  outputs: Record<string, string>;
  reportPath: string;
  dir: string;
}

/**
 * Runs src/main.ts's run() under `local-action run ROOT src/main.ts .env`, as
 * CONTRIBUTING.md's recipe does: local-action replaces @actions/core with its
 * stub, which is why it cannot run the bundle (dist/index.js inlines core and
 * exports no run()). Inputs go in the .env file as INPUT_NAME (hyphens kept).
 * The runner's own GITHUB_* and INPUT_* variables are not passed on, so a CI
 * run of this test cannot write to the real step's outputs or summary.
 */
export async function runLocalAction(inputs: Record<string, string>, timeoutMs = 120_000): Promise<LocalActionRun> {
  if (!fs.existsSync(LOCAL_ACTION_BIN)) throw new Error(`${LOCAL_ACTION_BIN} is missing: it is a devDependency (npm install -D @github/local-action), run npm ci`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-local-action-'));
  const summaryFile = path.join(dir, 'summary.md');
  const reportPath = path.join(dir, 'report.json');
  const lines = [`GITHUB_STEP_SUMMARY=${summaryFile}`, 'ACTIONS_STEP_DEBUG=false', `INPUT_REPORT-PATH=${reportPath}`];
  for (const [k, v] of Object.entries(inputs)) {
    if (/[\n\r"]/.test(v)) throw new Error(`input ${k}: a .env value here is one line without quotes`);
    lines.push(`INPUT_${k.toUpperCase()}="${v}"`);
  }
  const envFile = path.join(dir, '.env');
  fs.writeFileSync(envFile, `${lines.join('\n')}\n`);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(GITHUB_|INPUT_|RUNNER_|ACTIONS_)/.test(k)) env[k] = v;
  const child = spawn(process.execPath, [LOCAL_ACTION_BIN, 'run', ROOT, 'src/main.ts', envFile], { env, cwd: ROOT });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  const outputs = Object.fromEntries([...stdout.matchAll(/^::set-output name=([^:]+)::(.*)$/gm)].map((m) => [m[1], m[2]]));
  return { code, stdout, summary: fs.existsSync(summaryFile) ? fs.readFileSync(summaryFile, 'utf8') : '', outputs, reportPath, dir };
}
