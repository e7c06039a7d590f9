import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { check } from './gate/gate.js';
import { GateError } from './gate/instance.js';
import type { Report } from './report/model.js';
import { renderTerminal } from './report/terminal.js';
import { InputError, parseSettings, type RawInputs } from './settings.js';
import { VERSION } from './version.js';

export const EXIT = { closed: 0, open: 1, inconclusive: 2, usage: 3 } as const;

export const USAGE = `relay-check ${VERSION}: prove a mail server is not an open relay

usage: relay-check HOST... [options]
       relay-check --domain DOMAIN [options]     (tests the domain's MX hosts)
       relay-check --postfix-config DIR [options] (tests a Postfix configuration)

  HOST                   name, IPv4 or IPv6 address; name:port and [v6]:port allowed
  -p, --port N[,N]       ports to test (default 25)
  -s, --strictness S     relaxed | normal | strict (default normal)
      --tls MODE         auto | none | starttls | implicit (default auto: implicit on
                         465, else plaintext and again inside STARTTLS when offered)
  -d, --domain DOMAIN    the mail domain the server serves (own-domain vectors);
                         without HOST, its MX hosts are tested
      --recipient ADDR   external address relay attempts try to reach
                         (default relay-check@example.com)
      --sender ADDR[,..] extra senders to try
      --helo NAME[,..]   extra HELO names to try
      --client-address IP  test as this client through Postfix XCLIENT
      --postfix-config DIR test a Postfix configuration (main.cf, master.cf, maps)
                           on a private Postfix built from it, instead of a host
      --postfix-overrides FILE  name = value lines applied over that configuration
      --timeout S        seconds for the whole run (default 120)
      --connect-timeout S  seconds for one connection and greeting (default 10)
      --report-path FILE also write the JSON report to FILE
      --json             print the JSON report instead of the table
  -v, --verbose          list every attempt, not only relayed and inconclusive ones
  -h, --help             this text

output: a table on stdout, coloured on a terminal unless NO_COLOR is set; a
progress line on stderr when it is a terminal and more than one address is tested
exit status: 0 closed, 1 open relay, 2 inconclusive or unreachable, 3 bad usage
`;

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** stdout is a terminal: the table gets colours (unless NO_COLOR is set). */
  isTty: boolean;
  /** stderr is a terminal: the progress line goes there. Defaults to isTty. */
  stderrIsTty?: boolean;
}

/** https://no-color.org: a non-empty NO_COLOR turns colours off. */
export function wantsColor(io: CliIo, env: NodeJS.ProcessEnv = process.env): boolean {
  return io.isTty && !env.NO_COLOR;
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
        domain: { type: 'string', short: 'd' },
        recipient: { type: 'string' },
        sender: { type: 'string' },
        helo: { type: 'string' },
        'client-address': { type: 'string' },
        'postfix-config': { type: 'string' },
        'postfix-overrides': { type: 'string' },
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
    domain: values.domain,
    recipient: values.recipient,
    sender: values.sender,
    helo: values.helo,
    'client-address': values['client-address'],
    'postfix-config': values['postfix-config'],
    'postfix-overrides': values['postfix-overrides'],
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
  // Progress on stderr, and only when stderr is a terminal: stdout stays the table or the JSON, and a log file gets no \r lines.
  const progress = (io.stderrIsTty ?? io.isTty) && !values.json;
  let shown = false;
  let report: Report;
  try {
    report = await check(
      settings,
      {
        onTarget: (_t, done, all) => {
          if (!progress || all < 2) return;
          io.stderr(`\r\x1b[K${done}/${all} addresses tested`);
          shown = true;
        },
      },
      (line) => io.stderr(`${line}\n`),
    );
  } catch (e) {
    if (!(e instanceof GateError)) throw e;
    // A refused configuration fails like an open relay would: it is not a usage error.
    io.stderr(`relay-check: ${e.message}\n`);
    return EXIT.inconclusive;
  }
  if (shown) io.stderr('\r\x1b[K');
  if (values['report-path']) fs.writeFileSync(values['report-path'], `${JSON.stringify(report, null, 2)}\n`);
  io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderTerminal(report, { color: wantsColor(io), verbose: values.verbose }));
  return exitCode(report);
}

export function exitCode(r: Report): number {
  if (r.verdict === 'open') return EXIT.open;
  if (r.verdict === 'inconclusive') return EXIT.inconclusive;
  return EXIT.closed;
}
