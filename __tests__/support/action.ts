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
export async function runAction(inputs: Record<string, string>, timeoutMs = 60_000): Promise<ActionRun> {
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
