import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { run } from './engine.js';
import type { Report } from './report/model.js';
import { renderTerminal } from './report/terminal.js';
import { InputError, parseSettings, type RawInputs } from './settings.js';
import { VERSION } from './version.js';

export const EXIT = { closed: 0, open: 1, inconclusive: 2, usage: 3 } as const;

export const USAGE = `relay-check ${VERSION}: prove a mail server is not an open relay

usage: relay-check HOST... [options]

  HOST                   name, IPv4 or IPv6 address; name:port and [v6]:port allowed
  -p, --port N[,N]       ports to test (default 25)
  -s, --strictness S     relaxed | normal | strict (default normal)
      --tls MODE         auto | none (default auto)
      --recipient ADDR   external address relay attempts try to reach
                         (default relay-check@example.com)
      --timeout S        seconds for the whole run (default 120)
      --connect-timeout S  seconds for one connection and greeting (default 10)
      --report-path FILE also write the JSON report to FILE
      --json             print the JSON report instead of the table
  -v, --verbose          list every attempt, not only relayed and inconclusive ones
  -h, --help             this text

exit status: 0 closed, 1 open relay, 2 inconclusive or unreachable, 3 bad usage
`;

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTty: boolean;
}

/** Parses argv, runs the engine, prints, and returns the exit status. Never calls process.exit. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string', short: 'p' },
        strictness: { type: 'string', short: 's' },
        tls: { type: 'string' },
        recipient: { type: 'string' },
        timeout: { type: 'string' },
        'connect-timeout': { type: 'string' },
        'report-path': { type: 'string' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    io.stderr(`relay-check: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(USAGE);
    return EXIT.closed;
  }
  const raw: RawInputs = {
    host: positionals.join(','),
    port: values.port,
    strictness: values.strictness,
    tls: values.tls,
    recipient: values.recipient,
    timeout: values.timeout,
    'connect-timeout': values['connect-timeout'],
  };
  let settings;
  try {
    settings = parseSettings(raw);
  } catch (e) {
    if (e instanceof InputError) {
      io.stderr(`relay-check: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
  const total = { done: 0 };
  const report: Report = await run(settings, {
    onTarget: (_t, done, all) => {
      total.done = done;
      if (io.isTty && !values.json && all > 1) io.stderr(`\r${done}/${all} addresses tested`);
    },
  });
  if (io.isTty && !values.json && total.done > 1) io.stderr('\n');
  if (values['report-path']) fs.writeFileSync(values['report-path'], `${JSON.stringify(report, null, 2)}\n`);
  io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderTerminal(report, { color: io.isTty, verbose: values.verbose }));
  return exitCode(report);
}

export function exitCode(r: Report): number {
  if (r.verdict === 'open') return EXIT.open;
  if (r.verdict === 'inconclusive') return EXIT.inconclusive;
  return EXIT.closed;
}
