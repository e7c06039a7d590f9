#!/usr/bin/env node
// The CLI's entry for ncc and `npm run`: cli.ts stays importable without side effects.
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  isTty: Boolean(process.stdout.isTTY),
  stderrIsTty: Boolean(process.stderr.isTTY),
}).catch((e: unknown) => {
  process.stderr.write(`relay-check: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 3;
});
