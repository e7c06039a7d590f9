import { spawn } from 'node:child_process';

export interface RunResult {
  /** Exit code; null when the command was killed (the timeout) or never started. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** Why there is no exit code: the command could not start, or ran past the timeout. */
  error?: Error;
}

/**
 * A command run without blocking the event loop: spawnSync of `postfix start` once
 * stalled a caller's timers for the child's whole run (the SIGTERM gate test's flake).
 * Like spawnSync with a timeout: SIGTERM at `timeout` ms, `input` written to stdin.
 */
export function run(cmd: string, args: readonly string[], opts: { timeout: number; input?: string }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    let started = true;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      error = new Error(`${cmd} timed out after ${opts.timeout} ms`);
      child.kill('SIGTERM');
      // A daemon it started may hold the pipes open: stop reading so that 'close' comes.
      child.stdout.destroy();
      child.stderr.destroy();
    }, opts.timeout);
    child.on('error', (e) => {
      started = false;
      error ??= e;
    });
    // A command that exits without reading its input must not fail the write (EPIPE).
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: started ? code : null, stdout, stderr, ...(error ? { error } : {}) });
    });
  });
}
