import { describe, expect, test } from '@jest/globals';
import { EXIT, runCli, USAGE, type CliIo } from '../src/cli.js';

/**
 * Exit status 4 is relay-check's own failure, kept apart from 3 (bad usage): a
 * script that retries on 3 with other flags must not do so for a bug.
 */

function io(over: Partial<CliIo> = {}): CliIo & { err: string[]; out: string[] } {
  const err: string[] = [];
  const out: string[] = [];
  return { stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTty: false, err, out, ...over };
}

describe('CLI exit status', () => {
  test('the codes are distinct and the usage text lists each', () => {
    expect(EXIT).toEqual({ pass: 0, relayed: 1, failed: 2, usage: 3, internal: 4 });
    for (const code of Object.values(EXIT)) expect(USAGE).toMatch(new RegExp(`^  ${code}  \\S`, 'm'));
  });

  test('an exception inside relay-check exits 4 and asks for a report, not 3', async () => {
    const broken = io({
      stdout: () => {
        throw new Error('stdout went away');
      },
    });
    expect(await runCli(['--help'], broken)).toBe(EXIT.internal);
    expect(broken.err.join('')).toMatch(/^relay-check failed, please report \(exit 4\): Error: stdout went away/);
  });

  test('bad usage still exits 3, through the same entry', async () => {
    const bad = io();
    expect(await runCli(['127.0.0.1', '--port', '99999'], bad)).toBe(EXIT.usage);
    expect(bad.err.join('')).toBe('relay-check: --port: port 99999 is outside 1-65535\n');
  });
});
