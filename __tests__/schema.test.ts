import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SMTPServer } from 'smtp-server';
import { main } from '../src/cli.js';
import { startDemoServer, type DemoServer } from '../src/demo.js';
import { baseReport, compareRuns } from '../src/gate/base.js';
import { run } from '../src/engine.js';
import { SCHEMA_VERSION, type Counts, type Report } from '../src/model/report.js';
import { parseSettings, type RawInputs } from '../src/settings.js';
import { ajv, errorsOf, expectValid, schema } from './support/schema.js';
import { startFaultServer, type FaultServer } from './support/fault-server.js';

/**
 * The JSON report against the JSON Schema shipped in schema/report.schema.json:
 * real reports from open, closed, STARTTLS, DATA-confirming, silent, refused and
 * XCLIENT-refused servers must validate, and the schema must be strict enough
 * to reject what the model does not hold.
 */


/** What a schema cannot say: the counts add up and agree with the attempts. */
function expectConsistent(r: Report): void {
  const sum = (cs: Counts[]): Counts => cs.reduce((a, c) => ({ tests: a.tests + c.tests, relayed: a.relayed + c.relayed, denied: a.denied + c.denied, inconclusive: a.inconclusive + c.inconclusive, skipped: a.skipped + c.skipped }), { tests: 0, relayed: 0, denied: 0, inconclusive: 0, skipped: 0 });
  for (const t of r.targets) {
    expect(t.counts.tests).toBe(t.counts.relayed + t.counts.denied + t.counts.inconclusive);
    expect(t.counts.tests + t.counts.skipped).toBe(t.attempts.length);
    for (const o of ['relayed', 'denied', 'inconclusive', 'skipped'] as const) expect(t.attempts.filter((a) => a.outcome === o)).toHaveLength(t.counts[o]);
  }
  expect(r.counts).toEqual(sum(r.targets.map((t) => t.counts)));
  expect(r.failed).toBe(r.failReasons.length > 0);
}

const servers: { close(): Promise<void> }[] = [];
let open: DemoServer;
let closed: DemoServer;
let silent: FaultServer;
let tlsPort: number;

/** A closed server that offers STARTTLS (smtp-server's built-in self-signed certificate). */
async function startTlsServer(): Promise<number> {
  const server = new SMTPServer({
    name: 'mx.tls-demo.test',
    authOptional: true,
    logger: false,
    onRcptTo(address, _session, callback) {
      if (/@tls-demo\.test$/i.test(address.address)) return callback();
      const err = Object.assign(new Error(`5.7.1 <${address.address}>: Relay access denied`), { responseCode: 554 });
      callback(err);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return (server.server.address() as AddressInfo).port;
}

beforeAll(async () => {
  open = await startDemoServer('open', 'mx.open-demo.test');
  closed = await startDemoServer('closed', 'mx.closed-demo.test');
  silent = await startFaultServer(() => undefined);
  servers.push(open, closed, silent);
  tlsPort = await startTlsServer();
});

afterAll(async () => {
  while (servers.length) await servers.pop()?.close();
});

const check = (raw: RawInputs): Promise<Report> => run(parseSettings({ timeout: '20', 'connect-timeout': '2', ...raw }));

describe('real reports validate against schema/report.schema.json', () => {
  test('the schema is itself valid draft 2020-12 and names schemaVersion 1', () => {
    expect(ajv.validateSchema(schema)).toBe(true);
    expect((schema.properties as Record<string, { const?: unknown }>).schemaVersion.const).toBe(SCHEMA_VERSION);
  });

  test('an open relay', async () => {
    const r = await check({ host: `127.0.0.1:${open.port}`, domain: 'open-demo.test', sender: 'ceo@partner.example', helo: '[192.0.2.1]' });
    expect(r.verdict).toBe('open');
    expectValid(r);
    expectConsistent(r);
  });

  test('an open relay confirmed through DATA (relaxed)', async () => {
    const r = await check({ host: `127.0.0.1:${open.port}`, strictness: 'relaxed' });
    expect(r.targets[0].attempts.some((a) => a.stage === 'data')).toBe(true);
    expectValid(r);
    expectConsistent(r);
  });

  test('a closed server', async () => {
    const r = await check({ host: `127.0.0.1:${closed.port}` });
    expect(r.verdict).toBe('closed');
    expectValid(r);
    expectConsistent(r);
  });

  test('a closed server with STARTTLS: plaintext and TLS targets, TLS details', async () => {
    const r = await check({ host: `127.0.0.1:${tlsPort}` });
    expect(r.targets.map((t) => t.transport)).toEqual(['plain', 'starttls']);
    expect(r.targets[1].tls?.protocol).toMatch(/^TLS/);
    expect(r.targets[1].tls?.verified).toBe(false);
    expectValid(r);
    expectConsistent(r);
  });

  test('faults: a silent server, a refused port, and a server without XCLIENT', async () => {
    const r = await check({ host: `127.0.0.1:${silent.port}, 127.0.0.1:1, 127.0.0.1:${closed.port}`, port: '25', strictness: 'strict' });
    expect(r.verdict).toBe('inconclusive');
    expect(r.targets.map((t) => t.errorKind)).toEqual(['timeout', 'connect-refused', null]);
    expectValid(r);
    expectConsistent(r);
    const x = await check({ host: `127.0.0.1:${closed.port}`, 'client-address': '203.0.113.10' });
    expect(x.targets[0].errorKind).toBe('xclient');
    expect(x.settings.clientAddress).toBe('203.0.113.10');
    expectValid(x);
    expectConsistent(x);
  });

  test('the fields issue 13 added: transactions on every tested target, tlsDetected when auto found implicit TLS', async () => {
    const r = JSON.parse(JSON.stringify(await check({ host: `127.0.0.1:${closed.port}` }))) as Report;
    expect(r.targets[0].transactions).toBeGreaterThan(0);
    expect(errorsOf(r)).toBe('');
    r.targets[0].tlsDetected = true;
    expect(errorsOf(r)).toBe('');
  });

  test('gate.base (base against head): a comparison of two real runs, and the new and unavailable forms', async () => {
    const head = await check({ host: `127.0.0.1:${open.port}` });
    const base = await check({ host: `127.0.0.1:${closed.port}` });
    const asGate = (r: Report, port: number): Report => ({ ...r, gate: { configDir: 'postfix/', commit: null, postfixVersion: '3.7.11', services: [{ name: 'smtp', original: '25', command: 'smtpd', wrapper: false, tlsRequired: false, address: '127.0.0.1', port, line: 0 }], changes: [] } });
    const h = asGate(head, open.port);
    const compared = compareRuns('a'.repeat(40), 'postfix/', h, asGate(base, closed.port));
    expect(compared.opened).toBeGreaterThan(0);
    expect(compared.changes.some((c) => c.head === null || c.base === null)).toBe(false);
    for (const b of [compared, baseReport('b'.repeat(40), 'postfix/', 'new'), baseReport('main', 'postfix/', 'unavailable', [], 'base not compared: commit main not available; use actions/checkout with fetch-depth: 0')]) {
      expectValid({ ...h, gate: { ...(h.gate as NonNullable<Report['gate']>), base: b } });
    }
    const json = JSON.parse(JSON.stringify({ ...h, gate: { ...h.gate, base: compared } })) as { gate: { base: { changes: Record<string, unknown>[]; status: string } } };
    // A service only one side ran: null on the other.
    json.gate.base.changes[0].base = null;
    expect(errorsOf(json)).toBe('');
    for (const [field, value] of [['change', 'worse'], ['head', 'accepted'], ['extra', 1]] as const) {
      const bad = JSON.parse(JSON.stringify(json)) as typeof json;
      bad.gate.base.changes[0][field] = value;
      expect(errorsOf(bad)).not.toBe('');
    }
    const badStatus = JSON.parse(JSON.stringify(json)) as typeof json;
    badStatus.gate.base.status = 'skipped';
    expect(errorsOf(badStatus)).not.toBe('');
  });

  test('the CLI --json output is the same format', async () => {
    let out = '';
    const code = await main([`127.0.0.1:${closed.port}`, '--json', '--timeout', '20'], { stdout: (s) => (out += s), stderr: () => undefined, isTty: false });
    expect(code).toBe(0);
    const r = JSON.parse(out) as Report;
    expectValid(r);
  });
});

describe('the schema is strict', () => {
  let good: Report;
  beforeAll(async () => {
    good = JSON.parse(JSON.stringify(await check({ host: `127.0.0.1:${open.port}` }))) as Report;
  });
  const mutated = (f: (r: Record<string, any>) => void): unknown => {
    const r = JSON.parse(JSON.stringify(good)) as Record<string, any>;
    f(r);
    return r;
  };

  test.each<[string, (r: Record<string, any>) => void]>([
    ['an unknown top-level field', (r) => (r.extra = 1)],
    ['an unknown attempt field', (r) => (r.targets[0].attempts[0].secret = 'x')],
    ['another schemaVersion', (r) => (r.schemaVersion = 2)],
    ['an unknown verdict', (r) => (r.verdict = 'mostly-closed')],
    ['an unknown outcome', (r) => (r.targets[0].attempts[0].outcome = 'accepted')],
    ['an unknown transport', (r) => (r.targets[0].transport = 'tls')],
    ['an unknown transcript direction', (r) => (((r.targets[0].attempts as { transcript: { dir: string }[] }[]).find((a) => a.transcript.length > 0)?.transcript[0] ?? { dir: '' }).dir = 'X')],
    ['a missing field', (r) => delete r.targets[0].counts.skipped],
    ['a port out of range', (r) => (r.targets[0].port = 70000)],
    ['a startedAt that is not a date', (r) => (r.startedAt = 'yesterday')],
    ['a vector id that is not kebab-case', (r) => (r.targets[0].attempts[0].vector = 'Null Sender')],
    ['tlsDetected that is not a boolean', (r) => (r.targets[0].tlsDetected = 'yes')],
    ['a negative transaction count', (r) => (r.targets[0].transactions = -1)],
    ['a negative pause count', (r) => (r.targets[0].pauses = -1)],
    ['a stop without the vector it stopped after', (r) => (r.targets[0].stopped = { notRun: 3 })],
  ])('rejects %s', (_what, f) => {
    expect(errorsOf(good)).toBe('');
    expect(errorsOf(mutated(f))).not.toBe('');
  });
});
