import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { main, type CliIo } from '../src/cli.js';
import { startDemoServer, type DemoServer } from '../src/demo.js';
import { run } from '../src/engine.js';
import type { Report } from '../src/report/model.js';
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
  openReport = await run(parseSettings({ host: `127.0.0.1:${open.port}`, timeout: '20' }));
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
    expect(text).toContain('\x1b[31mOPEN\x1b[0m');
    expect(text).toContain('\x1b[31mrelayed');
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

  test('one address: no progress line', async () => {
    const r = await cli([`127.0.0.1:${closed.port}`], { isTty: true, stderrIsTty: true });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
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
