import fs from 'node:fs';
import path from 'node:path';
import { jest } from '@jest/globals';
import { run } from '../../src/main.js';
import { parseOutputs } from './action.js';

export interface MainRun {
  outputs: Record<string, string>;
  failed: boolean;
  /** What the action wrote to stdout: its log and workflow commands. */
  log: string;
}

/**
 * Calls run() from src/main.ts in this process with exactly these variables set
 * (INPUT_* named like action.yml's inputs, plus the GITHUB_* given), a fresh
 * GITHUB_OUTPUT file in `dir`, and `summaryFile` as GITHUB_STEP_SUMMARY (@actions/core's
 * summary remembers the first one it sees: pass the same file for a whole test file).
 * process.env and process.exitCode are restored afterwards.
 */
export async function runMain(dir: string, summaryFile: string, inputs: Record<string, string>, github: Record<string, string>): Promise<MainRun> {
  const outputFile = path.join(dir, `output-${Date.now()}-${Math.random()}`);
  fs.writeFileSync(outputFile, '');
  fs.writeFileSync(summaryFile, '');
  const vars: Record<string, string> = {
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    'INPUT_REPORT-PATH': path.join(dir, 'report.json'),
    INPUT_TIMEOUT: '60',
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...github,
  };
  const saved = new Map<string, string | undefined>();
  for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) saved.set(k, process.env[k]);
  for (const k of saved.keys()) delete process.env[k];
  for (const [k, v] of Object.entries(vars)) {
    if (!saved.has(k)) saved.set(k, process.env[k]);
    process.env[k] = v;
  }
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  const stdout: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  try {
    await run();
    return { outputs: parseOutputs(fs.readFileSync(outputFile, 'utf8')), failed: process.exitCode === 1, log: stdout.join('') };
  } finally {
    spy.mockRestore();
    process.exitCode = exitCode;
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Workflow-command lines the action wrote (::notice, ::warning, ::error). */
export function commands(log: string, kind: 'notice' | 'warning' | 'error'): string[] {
  return log.split('\n').filter((l) => l.startsWith(`::${kind}`));
}
