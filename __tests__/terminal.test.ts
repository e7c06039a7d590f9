import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import net from 'node:net';
import { main, type CliIo } from '../src/cli.js';
import { startDemoServer, type DemoServer } from '../src/demo.js';
import { run } from '../src/engine.js';
import type { Report } from '../src/model/report.js';
import { renderTerminal, termText } from '../src/report/terminal.js';
import { parseSettings } from '../src/settings.js';
import { startFaultServer, type FaultServer } from './support/fault-server.js';

/**
 * The CLI's terminal output: colours only when asked for, server text that
 * cannot drive the terminal, progress on stderr only when stderr is a terminal.
 */

// eslint-disable-next-line no-control-regex
const ESCAPES = /[\x1b\x9b]/;
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

let open: DemoServer;
let closed: DemoServer;
let hostile: FaultServer;
let openReport: Report;

beforeAll(async () => {
  open = await startDemoServer('open', 'mx.open-demo.test');
  closed = await startDemoServer('closed', 'mx.closed-demo.test');
  // A relay that answers with terminal escapes: clear screen (ESC [2J), an 8-bit CSI (0x9b), a title change (OSC … BEL).
  hostile = await startFaultServer((ctx) => {
    const say = (s: string): void => {
      ctx.socket.write(Buffer.from(`${s}\r\n`, 'latin1'));
    };
    say('220 mx.hostile.test ESMTP \x1b[2J\x9b31m');
    ctx.onLine((line) => {
      const verb = line.split(/[\s:]/)[0].toUpperCase();
      if (verb === 'EHLO' || verb === 'HELO') say('250 mx.hostile.test');
      else if (verb === 'RCPT') say('250 2.1.5 Ok \x1b[2J\x9b2J \x1b]0;pwned\x07 ::error::owned');
      else if (verb === 'QUIT') {
        say('221 bye');
        ctx.socket.end();
      } else say('250 2.0.0 Ok');
    });
  });
  // The whole battery: that many relayed vectors still fit one screen is what is tested.
  openReport = await run(parseSettings({ host: `127.0.0.1:${open.port}`, timeout: '20' }), { fullBattery: true });
});

afterAll(async () => {
  await open.close();
  await closed.close();
  await hostile.close();
});

describe('renderTerminal', () => {
  test('without colour: no escape codes at all', () => {
    const text = renderTerminal(openReport, { color: false, verbose: true });
    expect(text).toContain('OPEN');
    expect(text).not.toMatch(ESCAPES);
  });

  test('with colour: SGR codes for the verdict and outcomes', () => {
    const text = renderTerminal(openReport, { color: true });
    expect(text).toContain('\x1b[31mOPEN RELAY\x1b[0m');
    expect(renderTerminal(openReport, { color: true, verbose: true })).toContain('\x1b[31mrelayed');
    expect(text).toContain('\x1b[1m');
    // Nothing but SGR sequences: ESC [ digits m.
    // eslint-disable-next-line no-control-regex
    expect(text.replace(/\x1b\[\d+m/g, '')).not.toMatch(ESCAPES);
  });

  test('a server that sends ESC [2J and 0x9b: they reach the terminal as text, with or without colour', async () => {
    const r = await run(parseSettings({ host: `127.0.0.1:${hostile.port}`, timeout: '20' }));
    expect(r.verdict).toBe('open');
    for (const color of [false, true]) {
      const text = renderTerminal(r, { color, verbose: true });
      // eslint-disable-next-line no-control-regex
      const stripped = color ? text.replace(/\x1b\[\d+m/g, '') : text;
      expect(stripped).not.toMatch(ANY_CONTROL);
      expect(text).toContain('\\x1b[2J');
      expect(text).toContain('\\x9b');
      expect(text).toContain('\\x07');
      expect(text.split('\n').some((l) => /^\s*::/.test(l))).toBe(false);
    }
  });

  test('raw escapes put into a report by anything else are escaped by the renderer itself', () => {
    const t = openReport.targets[0];
    const evil = '\x1b[2J\x9b2J\u202Eevil\u2066\r\n::error::x\x07';
    const r: Report = {
      ...openReport,
      failReasons: [evil],
      warnings: [evil],
      targets: [
        { ...t, host: `mx${evil}`, reachable: false, error: evil, attempts: t.attempts.map((a) => ({ ...a, reply: evil, reason: evil, helo: evil, mailFrom: evil, rcptTo: [evil] })) },
      ],
    };
    for (const color of [false, true]) {
      const text = renderTerminal(r, { color, verbose: true });
      // eslint-disable-next-line no-control-regex
      const stripped = color ? text.replace(/\x1b\[\d+m/g, '') : text;
      expect(stripped).not.toMatch(ANY_CONTROL);
      expect(text).toContain('\\x1b[2J\\x9b2J\\u202eevil\\u2066\\x0d\\x0a::error::x\\x07');
      expect(text.split('\n').some((l) => /^\s*::/.test(l))).toBe(false);
    }
  });

  test('an open server fits on one screen: at most 40 lines of at most 100 columns, every relayed vector accounted for', () => {
    const text = renderTerminal(openReport, { color: false });
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(40);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
    expect(lines[0]).toMatch(/^relay-check \S+: OPEN RELAY \(strictness normal: fails\)$/);
    expect(lines[1]).toMatch(/^127\.0\.0\.1:\d+ relays: \d+ of \d+ vectors? (?:was|were) accepted\.$/);
    expect(text).toContain('What to do');
    // Grouped by family with counts that add up to the relayed vectors.
    const relayed = new Set(openReport.targets[0].attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector)).size;
    expect(text).toContain(`Relayed: ${relayed} vector${relayed === 1 ? "" : "s"}`);
    const counts = [...text.matchAll(/^ {2}[a-zA-Z][^\n]*?\((\d+)\) /gm)].map((m) => Number(m[1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(relayed);
    // -v lists every vector.
    const verbose = renderTerminal(openReport, { color: false, verbose: true });
    // (a vector not run is named on its reason's one line, so it may end the line or precede a comma)
    for (const a of openReport.targets[0].attempts) expect(verbose).toMatch(new RegExp(`[ ,:]${a.vector.replace(/[-]/g, '\\-')}(?=[ ,\n]|$)`));
  });

  test('termText: C0, C1 and bidi controls escaped, a leading :: defused, plain text untouched', () => {
    expect(termText('250 2.1.5 Ok <relay-check@example.com> é ü 日本')).toBe('250 2.1.5 Ok <relay-check@example.com> é ü 日本');
    expect(termText('\x9b31m')).toBe('\\x9b31m');
    expect(termText('\u200f')).toBe('\\u200f');
    expect(termText('::warning::x')).not.toMatch(/^\s*::/);
  });
});

describe('the CLI', () => {
  interface Captured {
    code: number;
    stdout: string;
    stderr: string;
  }
  async function cli(argv: string[], io: Partial<CliIo>): Promise<Captured> {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      isTty: false,
      ...io,
    });
    return { code, stdout, stderr };
  }
  const two = (): string[] => [`127.0.0.1:${open.port}`, `127.0.0.1:${closed.port}`, '--timeout', '20'];

  test('on a terminal: colours on stdout, a progress line on stderr that clears itself', async () => {
    const r = await cli(two(), { isTty: true, stderrIsTty: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('\x1b[31mOPEN');
    expect(r.stderr).toContain('1/2 addresses tested');
    expect(r.stderr).toContain('2/2 addresses tested');
    expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
  });

  test('not a terminal (a pipe, a CI log): no colours, nothing on stderr', async () => {
    const r = await cli(two(), { isTty: false, stderrIsTty: false });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(ESCAPES);
    expect(r.stderr).toBe('');
  });

  test('stdout redirected, stderr a terminal: plain table, progress on stderr', async () => {
    const r = await cli(two(), { isTty: false, stderrIsTty: true });
    expect(r.stdout).not.toMatch(ESCAPES);
    expect(r.stderr).toContain('2/2 addresses tested');
  });

  test('stdout a terminal, stderr redirected: no progress', async () => {
    const r = await cli(two(), { isTty: true, stderrIsTty: false });
    expect(r.stderr).toBe('');
  });

  test('--json: exactly the JSON report on stdout, no progress, no colour', async () => {
    const r = await cli([...two(), '--json'], { isTty: true, stderrIsTty: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as Report;
    expect(report.schemaVersion).toBe(1);
    expect(report.targets).toHaveLength(2);
  });

  test('one address on a terminal: a progress line too, cleared at the end', async () => {
    const r = await cli([`127.0.0.1:${closed.port}`], { isTty: true, stderrIsTty: true });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/1\/1 addresses tested, \d+ s/);
    expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
  });

  test('no arguments: the usage text, exit 3', async () => {
    const r = await cli([], {});
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('usage: relay-check HOST... [options]');
    expect(r.stderr).toContain('exit status follows --strictness');
  });

  test("errors name the CLI's own flags and quote the bad piece of a list", async () => {
    expect((await cli(['127.0.0.1', '--port', '25,99999'], {})).stderr).toBe('relay-check: --port: port 99999 is outside 1-65535\n');
    expect((await cli(['127.0.0.1', '--port', '25,abc'], {})).stderr).toBe('relay-check: --port: "abc" is not a port number (1-65535)\n');
    expect((await cli(['127.0.0.1,300.1.1.1'], {})).stderr).toBe('relay-check: HOST: "300.1.1.1" is not a valid IPv4 address\n');
    expect((await cli(['--strictness', 'strict'], {})).stderr).toMatch(/^relay-check: name a HOST to test, give --domain to test its MX hosts, or --postfix-config/);
    const bad = await cli(['127.0.0.1', '--connect-timeout', 'x'], {});
    expect(bad.code).toBe(3);
    expect(bad.stderr).toBe('relay-check: --connect-timeout: "x" is not a number of seconds\n');
    expect(bad.stderr).not.toContain('Input');
  });

  test('the exit status follows --strictness like the action: 0 passes, 1 relayed, 2 fails otherwise', async () => {
    expect((await cli([`127.0.0.1:${closed.port}`], {})).code).toBe(0);
    expect((await cli([`127.0.0.1:${open.port}`, '--timeout', '20'], {})).code).toBe(1);
    // A closed address and one where nothing listens: inconclusive; passes under normal, fails under strict.
    const nothing = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const args = [`127.0.0.1:${closed.port}`, `127.0.0.1:${nothing}`, '--connect-timeout', '2'];
    expect((await cli(args, {})).code).toBe(2);
    expect((await cli([`127.0.0.1:${closed.port}`, '--strictness', 'strict'], {})).code).toBe(0);
  });

  test('NO_COLOR turns colours off on a terminal', async () => {
    const saved = process.env.NO_COLOR;
    process.env.NO_COLOR = '1';
    try {
      const r = await cli([`127.0.0.1:${closed.port}`], { isTty: true });
      expect(r.stdout).not.toMatch(ESCAPES);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });
});
