import fs from 'node:fs';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { check } from './gate/gate.js';
import { GateError } from './gate/instance.js';
import type { Report } from './model/report.js';
import { renderTerminal } from './report/terminal.js';
import { ACTION_NAMING, CLI_NAMING, InputError, parseSettings, type RawInputs, type Settings } from './settings.js';
import { VERSION } from './version.js';

/**
 * The exit status is the action's pass/fail, under the same --strictness: a
 * script gets the answer the workflow step would give, with one meaning. A bug
 * in relay-check has a code of its own, so a script never reads it as bad usage.
 */
export const EXIT = { pass: 0, relayed: 1, failed: 2, usage: 3, internal: 4 } as const;

export const USAGE = `relay-check ${VERSION}: prove a mail server is not an open relay

usage: relay-check HOST... [options]
       relay-check --domain DOMAIN [options]     (tests the domain's MX hosts)
       relay-check --postfix-config DIR [options] (tests a Postfix configuration)
       relay-check --exim-config DIR [options]    (tests an Exim configuration)

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
      --local-recipient ADDR  a mailbox the server must accept (positive control),
                         where postmaster@ its domain is handled elsewhere
      --helo NAME[,..]   extra HELO names to try
      --client-address IP  test as this client through Postfix XCLIENT
      --proxy-protocol M auto | try | off (default auto): the PROXY protocol trick
                         (a header claiming 127.0.0.1) where the port expects one
      --postfix-config DIR test a Postfix configuration (main.cf, master.cf, maps)
                           on a private Postfix built from it, instead of a host
      --postfix-overrides FILE  name = value lines applied over that configuration
      --exim-config DIR  test an Exim configuration (a plain configure file, or
                         Debian's update-exim4.conf.conf with exim4.conf.template
                         or conf.d/) through exim -bh as an outside client
      --base-ref REF     also test that configuration at commit REF (git) and say
                         which relays the change opened, closed or left open
      --timeout S        seconds for the whole run (default 120)
      --connect-timeout S  seconds for one connection and greeting (default 10)
      --report-path FILE also write the JSON report to FILE
      --json             print the JSON report instead of the table
  -v, --verbose          list every attempt, not only relayed and inconclusive ones
  -h, --help             this text

output: the verdict, what to do, the targets and the relayed and inconclusive
attempts by family on stdout (every attempt with -v), coloured on a terminal
unless NO_COLOR is set; a progress line on stderr when it is a terminal

exit status follows --strictness, as the action's pass/fail does:
  0  passes (closed; or inconclusive where the strictness allows it)
  1  fails because a relay attempt was accepted (an open relay)
  2  fails for another reason (inconclusive under strict, nothing reachable, ...)
  3  bad usage
  4  relay-check itself failed (a bug: please report it with the message)
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
function wantsColor(io: CliIo, env: NodeJS.ProcessEnv = process.env): boolean {
  return io.isTty && !env.NO_COLOR;
}

/** The command line's flags; HOST arguments are positionals. */
const FLAGS = {
  port: { type: 'string', short: 'p' },
  strictness: { type: 'string', short: 's' },
  tls: { type: 'string' },
  domain: { type: 'string', short: 'd' },
  recipient: { type: 'string' },
  sender: { type: 'string' },
  'local-recipient': { type: 'string' },
  helo: { type: 'string' },
  'client-address': { type: 'string' },
  'proxy-protocol': { type: 'string' },
  'postfix-config': { type: 'string' },
  'postfix-overrides': { type: 'string' },
  'exim-config': { type: 'string' },
  'base-ref': { type: 'string' },
  timeout: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'report-path': { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

// No return type written: node:util does not export the one parseArgs infers; Flags names it.
function parseFlags(args: string[]) {
  return parseArgs({ args, allowPositionals: true, options: FLAGS });
}

type Flags = ReturnType<typeof parseFlags>;

/** Parses argv, runs the engine, prints, and returns the exit status. Never calls process.exit. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const flags = readFlags(argv, io);
  if (typeof flags === 'number') return flags;
  const settings = settingsFrom(flags, io);
  if (settings === null) return EXIT.usage;
  const report = await runCheck(settings, io, flags.values.json === true);
  if (report === null) return EXIT.failed;
  const { values } = flags;
  if (values['report-path']) fs.writeFileSync(values['report-path'], `${JSON.stringify(report, null, 2)}\n`);
  io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderTerminal(report, { color: wantsColor(io), verbose: values.verbose, naming: CLI_NAMING }));
  return exitCode(report);
}

/** The flags, or the exit status when there is nothing to run: bad flags, --help, or no arguments at all. */
function readFlags(argv: string[], io: CliIo): Flags | number {
  let flags: Flags;
  try {
    flags = parseFlags(argv);
  } catch (e) {
    io.stderr(`relay-check: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return EXIT.usage;
  }
  if (flags.values.help) {
    io.stdout(USAGE);
    return EXIT.pass;
  }
  if (argv.length === 0) {
    io.stderr(USAGE);
    return EXIT.usage;
  }
  return flags;
}

/** The flags as the action's inputs, parsed as the action parses them; null (said on stderr) when one is wrong. */
function settingsFrom({ values, positionals }: Flags, io: CliIo): Settings | null {
  const raw: RawInputs = {
    host: positionals.join(','),
    port: values.port,
    strictness: values.strictness,
    tls: values.tls,
    domain: values.domain,
    recipient: values.recipient,
    sender: values.sender,
    'local-recipient': values['local-recipient'],
    helo: values.helo,
    'client-address': values['client-address'],
    'proxy-protocol': values['proxy-protocol'],
    'postfix-config': values['postfix-config'],
    'postfix-overrides': values['postfix-overrides'],
    'exim-config': values['exim-config'],
    'base-ref': values['base-ref'],
    timeout: values.timeout,
    'connect-timeout': values['connect-timeout'],
  };
  try {
    return parseSettings(raw);
  } catch (e) {
    if (e instanceof InputError) {
      io.stderr(`relay-check: ${flagMessage(e)}\n`);
      return null;
    }
    throw e;
  }
}

/** Runs the check with a progress line; null (said on stderr) when the gate refuses the configuration. */
async function runCheck(settings: Settings, io: CliIo, json: boolean): Promise<Report | null> {
  // Progress on stderr, and only when stderr is a terminal: stdout stays the table or the JSON, and a log file gets no \r lines.
  const progress = (io.stderrIsTty ?? io.isTty) && !json ? startProgress(io) : null;
  try {
    return await check(settings, { onTarget: (_t, done, all) => progress?.update(done, all) }, (line, body) => io.stderr(`${[line, ...(body ?? []).map((l) => `  ${l}`)].join('\n')}\n`));
  } catch (e) {
    if (!(e instanceof GateError)) throw e;
    // A configuration the gate refuses fails as the action's step would: it is not a usage error.
    io.stderr(`relay-check: ${gateMessage(e)}\n`);
    return null;
  } finally {
    progress?.stop();
  }
}

/**
 * main() with its unexpected exceptions turned into EXIT.internal: everything a
 * server or the user can do wrong is a verdict or a usage error, so what reaches
 * here is a bug in relay-check, and the message asks for a report.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await main(argv, io);
  } catch (e) {
    io.stderr(`relay-check failed, please report (exit ${EXIT.internal}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.internal;
  }
}

function exitCode(r: Report): number {
  if (!r.failed) return EXIT.pass;
  return r.verdict === 'open' ? EXIT.relayed : EXIT.failed;
}

/** A settings error as the command line names things: flags, and HOST for the positional argument. */
function flagMessage(e: InputError): string {
  if (e.input === 'host' && /^Input 'host': is required unless/.test(e.message)) return 'name a HOST to test, give --domain to test its MX hosts, or --postfix-config to test a configuration (relay-check --help)';
  return e.describe(CLI_NAMING);
}

/**
 * A configuration the gate refuses. GateError (src/gate) carries its input and
 * builds the action's "Input '…': " prefix itself; the CLI swaps that prefix,
 * which GateError defines, for the flag.
 */
function gateMessage(e: GateError): string {
  const prefix = ACTION_NAMING.error(e.input);
  return e.message.startsWith(prefix) ? `${CLI_NAMING.error(e.input)}${e.message.slice(prefix.length)}` : e.message;
}

/**
 * "testing 1 address: 0/1 done, 12 s": redrawn every second so a long run is
 * never silent. The engine reports finished addresses; the seconds show it is alive.
 */
function startProgress(io: CliIo): { update: (done: number, all: number) => void; stop: () => void } {
  const started = Date.now();
  let done = 0;
  let all = 0;
  let shown = false;
  const draw = (): void => {
    const secs = Math.round((Date.now() - started) / 1000);
    const what = all === 0 ? 'testing' : `${done}/${all} addresses tested`;
    io.stderr(`\r\x1b[K${what}, ${secs} s`);
    shown = true;
  };
  const timer = setInterval(draw, 1000);
  timer.unref();
  return {
    update: (d, a) => {
      done = d;
      all = a;
      draw();
    },
    stop: () => {
      clearInterval(timer);
      if (shown) io.stderr('\r\x1b[K');
    },
  };
}
