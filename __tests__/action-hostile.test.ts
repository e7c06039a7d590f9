import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import { runAction, type ActionRun } from './support/action.js';
import { startFaultServer, type FaultServer } from './support/fault-server.js';

/**
 * The action bundle (dist/index.js) against a server whose every word is an
 * attack on the job summary or the runner's log, and against bad inputs.
 */

const HOSTILE_BANNER = [
  '220-mx.evil.test <script>alert(1)</script> <img src=x onerror=alert(2)>',
  '220-::error title=x::forged annotation',
  '220-| forged | table | `code` [click](javascript:alert(3)) @everyone',
  '220 mx.evil.test ESMTP',
];

let hostile: FaultServer;
let result: ActionRun;

beforeAll(async () => {
  hostile = await startFaultServer((ctx) => {
    ctx.socket.write(HOSTILE_BANNER.map((l) => `${l}\r\n`).join(''));
    ctx.onLine((line) => {
      const verb = line.split(/[\s:]/)[0].toUpperCase();
      const say = (l: string): boolean => ctx.socket.write(`${l}\r\n`);
      if (verb === 'EHLO') say('250-mx.evil.test\r\n250-::warning::forged warning\r\n250 PIPELINING');
      else if (verb === 'MAIL' || verb === 'RSET') say('250 ::warning::ok <script>x</script>');
      // Half the vectors "accepted" so relayed rows and error annotations carry server text too.
      // The control probe's mailbox is refused, so the accepted tricks stand as relays.
      else if (verb === 'RCPT' && line.includes('relay-check-nx-')) say('550 5.1.1 ::error::no such user <i>x</i>');
      else if (verb === 'RCPT' && line.includes('%')) say('250 2.1.5 ::error title=y::accepted](javascript:alert(4)) | <b>');
      else if (verb === 'RCPT') say('451 4.3.0 ::warning::<img src=x onerror=alert(5)> | `tick` try later');
      else if (verb === 'QUIT') ctx.socket.end('221 ::error::bye\r\n');
      else say('502 5.5.2 ::error::what');
    });
  });
  result = await runAction({ host: `127.0.0.1:${hostile.port}`, 'connect-timeout': '5', timeout: '30' });
});

afterAll(async () => {
  await hostile.close();
  fs.rmSync(result.dir, { recursive: true, force: true });
});

describe('the action against a hostile server', () => {
  test('it reports: open (some vectors accepted), outputs set, exit 1', () => {
    expect(result.code).toBe(1);
    expect(result.outputs.verdict).toBe('open');
    expect(result.outputs['open-relay']).toBe('true');
    expect(Number(result.outputs.accepted)).toBeGreaterThan(0);
    expect(Number(result.outputs.inconclusive)).toBeGreaterThan(0);
    const report = JSON.parse(fs.readFileSync(result.reportPath, 'utf8'));
    expect(report.schemaVersion).toBe(1);
    expect(report.targets[0].greeting).toContain('<script>alert(1)</script>');
  });

  test('no server text reaches the summary unescaped', () => {
    const s = result.summary;
    expect(s).toContain('Open relay');
    // The hostile strings are there, but only as entities.
    expect(s).toContain('&#60;img src=x onerror=alert&#40;5&#41;&#62;');
    for (const bad of ['<script', '<img', '<b>', '](javascript:', '[click]', '`tick`', '@everyone', '::error']) {
      expect(s).not.toContain(bad);
    }
    // Every table row keeps its column count: no server `|` splits a cell.
    for (const table of s.split(/\n\n/).filter((b) => b.trimStart().startsWith('|') || b.includes('\n| '))) {
      const rows = table.split('\n').filter((l) => l.startsWith('|'));
      const cols = rows.map((r) => r.split('|').length);
      expect(new Set(cols).size).toBe(1);
    }
  });

  test('no server line can act as a workflow command in the log', () => {
    const commands = result.stdout.split('\n').filter((l) => /^\s*::/.test(l));
    // Only relay-check's own commands start a line: groups and its annotations.
    for (const c of commands) {
      expect(c).toMatch(/^::(group|endgroup|error title=relay-check%3A open relay::|error title=Open relay|error title=More in the job summary::|warning title=(Inconclusive|Address not tested|Identity door|More in the job summary)::|notice title=)/);
    }
    expect(result.stdout).not.toMatch(/^\s*::error title=x::/m);
    expect(result.stdout).not.toMatch(/^\s*::warning::/m);
    expect(result.stdout).not.toMatch(/^\s*::error::/m);
    // The verdict is the first annotation, and no level has more than GitHub shows.
    expect(commands.find((c) => !/^::(end)?group/.test(c))).toMatch(/^::error title=relay-check%3A open relay::/);
    for (const level of ['error', 'warning', 'notice']) expect(commands.filter((c) => c.startsWith(`::${level} `)).length).toBeLessThanOrEqual(10);
    // The forged lines are still visible for a human, defused.
    expect(result.stdout).toContain('S: 220-::error title=x::forged annotation');
  });
});

describe('bad input', () => {
  let server: FaultServer;
  beforeAll(async () => {
    // Counts connections: a bad input must be refused before any is made.
    server = await startFaultServer((ctx) => {
      ctx.socket.end('220 mx.never.test ESMTP\r\n');
    });
  });
  afterAll(async () => server.close());

  test.each([
    [{ strictness: 'paranoid' }, "Input 'strictness'"],
    [{ port: '0' }, "Input 'port'"],
    [{ port: '25,70000' }, "Input 'port'"],
    [{ host: '' }, "Input 'host'"],
    [{ host: '300.1.1.1' }, "Input 'host'"],
    [{ recipient: 'a\rb@example.com' }, "Input 'recipient'"],
    [{ timeout: 'soon' }, "Input 'timeout'"],
    [{ 'client-address': 'mx.example.org' }, "Input 'client-address'"],
  ])('%j fails with one line naming the input, before any connection', async (bad, name) => {
    const r = await runAction({ host: `127.0.0.1:${server.port}`, ...bad });
    expect(r.code).toBe(1);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(name);
    expect(r.outputs).toEqual({});
    expect(fs.existsSync(r.reportPath)).toBe(false);
    expect(server.connections).toBe(0);
    fs.rmSync(r.dir, { recursive: true, force: true });
  });
});
