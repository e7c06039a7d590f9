import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import dgram from 'node:dgram';
import net from 'node:net';
import { run } from '../src/engine.js';
import type { Report } from '../src/model/report.js';
import { parseSettings, type RawInputs } from '../src/settings.js';
import { resolverAt, systemLookup } from '../src/targets.js';
import { describePostfix } from './support/describe-mta.js';
import { addSmtpd, loopbackV6Available, requirePostfix, startPostfix, type RunningPostfix } from './support/postfix.js';

/**
 * Issue 4, targets: a name is tested on every address it has (a name with an
 * A record for 127.0.0.1 and an AAAA record for ::1), and a domain on every MX
 * host. Both are served by a DNS server of our own, in process, over UDP, and
 * reach the engine through its injectable resolver (EngineServices.resolver):
 * nothing on the machine (/etc/hosts, resolv.conf) is touched. In both, one
 * address is open and the other closed, on the same port, and the run must
 * find the open one.
 *
 * Every listener is a real Postfix smtpd. The harness gives each service a
 * port of its own, but here two addresses must share one port (the `port`
 * input applies to every address), so the second listener of each pair is
 * added to the running instance's master.cf with the same port, and Postfix
 * reloaded.
 */

const HAVE_V6 = loopbackV6Available();
const OPEN = 'mynetworks=0.0.0.0/0';
/** Open to IPv6 clients too: 0.0.0.0/0 covers IPv4 only. */
const OPEN46 = '{ mynetworks = 0.0.0.0/0, [::]/0 }';

// ---------------------------------------------------------------------------
// A tiny authoritative DNS server (RFC 1035): A, AAAA and MX from a fixed zone,
// NXDOMAIN for unknown names, NODATA (NOERROR, no answer) for unknown types.
// Names in answers are written out in full (no compression pointers).

type Rr = { type: 'A'; address: string } | { type: 'AAAA'; address: string } | { type: 'MX'; priority: number; exchange: string };
type Zone = Record<string, Rr[]>;

const QTYPE = { A: 1, MX: 15, AAAA: 28 } as const;

interface DnsServer {
  port: number;
  /** "name TYPE" of every question asked, in order. */
  queries: string[];
  close(): Promise<void>;
}

function readName(msg: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let off = start;
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = msg[off];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) {
      if (end < 0) end = off + 1;
      return { name: labels.join('.').toLowerCase(), end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | msg[off + 1];
      continue;
    }
    labels.push(msg.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  throw new Error('name too long or looping');
}

function encodeName(name: string): Buffer {
  const n = name.replace(/\.$/, '');
  if (n === '') return Buffer.from([0]);
  const parts = n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`bad IPv6 address in zone: ${address}`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

function rdata(rr: Rr): Buffer {
  if (rr.type === 'A') return Buffer.from(rr.address.split('.').map(Number));
  if (rr.type === 'AAAA') return ipv6Bytes(rr.address);
  const pref = Buffer.alloc(2);
  pref.writeUInt16BE(rr.priority);
  return Buffer.concat([pref, encodeName(rr.exchange)]);
}

function answer(query: Buffer, zone: Zone, log: string[]): Buffer | null {
  if (query.length < 12) return null;
  const id = query.readUInt16BE(0);
  const flags = query.readUInt16BE(2);
  if (flags & 0x8000) return null; // a response, not a query
  const opcode = (flags >> 11) & 0xf;
  const qdcount = query.readUInt16BE(4);
  const header = (rcode: number, ancount: number): Buffer => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(id, 0);
    // QR, the query's opcode, AA, the query's RD; RA off (we recurse for nobody).
    h.writeUInt16BE(0x8000 | (opcode << 11) | 0x0400 | (flags & 0x0100) | rcode, 2);
    h.writeUInt16BE(qdcount === 1 ? 1 : 0, 4);
    h.writeUInt16BE(ancount, 6);
    return h;
  };
  if (opcode !== 0) return header(4, 0); // NOTIMP
  if (qdcount !== 1) return header(1, 0); // FORMERR
  let q: { name: string; end: number };
  try {
    q = readName(query, 12);
  } catch {
    return header(1, 0);
  }
  if (q.end + 4 > query.length) return header(1, 0);
  const qtype = query.readUInt16BE(q.end);
  const question = query.subarray(12, q.end + 4);
  const typeName = Object.entries(QTYPE).find(([, v]) => v === qtype)?.[0] ?? `TYPE${qtype}`;
  log.push(`${q.name} ${typeName}`);
  const rrs = zone[q.name];
  if (!rrs) return Buffer.concat([header(3, 0), question]); // NXDOMAIN
  const matching = rrs.filter((rr) => QTYPE[rr.type] === qtype);
  const answers = matching.map((rr) => {
    const data = rdata(rr);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(qtype, 0);
    fixed.writeUInt16BE(1, 2); // IN
    fixed.writeUInt32BE(60, 4); // TTL
    fixed.writeUInt16BE(data.length, 8);
    return Buffer.concat([encodeName(q.name), fixed, data]);
  });
  return Buffer.concat([header(0, answers.length), question, ...answers]);
}

function startDns(zone: Zone): Promise<DnsServer> {
  const queries: string[] = [];
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    const reply = answer(msg, zone, queries);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      resolve({ port: sock.address().port, queries, close: () => new Promise<void>((r) => sock.close(() => r())) });
    });
  });
}

// ---------------------------------------------------------------------------
// Postfix helpers.

/** Whether nothing listens on address:port right now. */
function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Starts Postfix with `services`, then adds `extra` listeners on ports the
 * harness gave other services. A port the harness probed free on one address
 * may be taken on the other: then start again (new ports).
 */
async function startPaired(
  services: Parameters<typeof startPostfix>[0],
  extra: (ports: Record<string, number>) => { name: string; address: '127.0.0.1' | '127.0.0.2' | '::1'; port: number; overrides: string[] }[],
): Promise<RunningPostfix> {
  for (let round = 1; ; round++) {
    const pf = await startPostfix(services);
    const wanted = extra(pf.ports);
    const free = await Promise.all(wanted.map((e) => portFree(e.address, e.port)));
    if (free.every(Boolean)) {
      try {
        for (const e of wanted) await addSmtpd(pf, e);
        return pf;
      } catch (err) {
        await pf.stop();
        throw err;
      }
    }
    await pf.stop();
    if (round >= 3) throw new Error(`could not find a port free on both addresses of ${JSON.stringify(wanted)} after 3 tries`);
  }
}

function relayedTargets(r: Report): string[] {
  return r.targets.filter((t) => t.counts.relayed > 0).map((t) => `${t.host} ${t.address} ${t.port}`);
}

const timings: string[] = [];
async function timed(label: string, raw: RawInputs, services?: Parameters<typeof run>[1]): Promise<Report> {
  const t0 = Date.now();
  const r = await run(parseSettings({ timeout: '60', 'connect-timeout': '5', ...raw }), services);
  timings.push(`${label.padEnd(28)} ${String(Date.now() - t0).padStart(6)} ms  verdict=${r.verdict} ${r.targets.map((t) => `${t.host}/${t.address}:${t.port}:${t.verdict}`).join(' ')}`);
  return r;
}
afterAll(() => {
  if (timings.length) console.log(`targets timings:\n${timings.join('\n')}`);
});

// ---------------------------------------------------------------------------
// One name, an A (127.0.0.1) and an AAAA (::1) record, the same port; only ::1 is open.

const DUAL = 'dual-test.example';

describePostfix('a name with an A and an AAAA address on the same port', () => {
  if (!HAVE_V6) {
    const msg = 'TARGETS IPv6 TEST NOT RUN: ::1 is not configured on any loopback interface';
    if (requirePostfix()) {
      test('IPv6 loopback is available (RELAY_CHECK_REQUIRE_POSTFIX=1)', () => {
        throw new Error(msg);
      });
    } else {
      console.warn(`\n${'!'.repeat(78)}\n!!! ${msg}\n${'!'.repeat(78)}\n`);
      test.skip('only the ::1 address is open: open, naming ::1', () => undefined);
    }
    return;
  }

  let pf: RunningPostfix;
  let dns: DnsServer;
  beforeAll(async () => {
    // The open smtpd on [::1]:P from the harness; a stock (closed) one added on 127.0.0.1:P.
    pf = await startPaired([{ name: 'open6', overrides: [OPEN46], address: '::1' }], (ports) => [
      { name: 'closed4', address: '127.0.0.1', port: ports.open6, overrides: [] },
    ]);
    dns = await startDns({
      [DUAL]: [
        { type: 'A', address: '127.0.0.1' },
        { type: 'AAAA', address: '::1' },
      ],
    });
  }, 90_000);
  afterAll(async () => {
    await dns?.close();
    await pf?.stop();
  });

  const resolver = () => resolverAt([`127.0.0.1:${dns.port}`]);

  test('the name resolves to both loopback addresses', async () => {
    const all = await resolver().lookup(DUAL);
    expect([...all].sort((a, b) => a.family - b.family)).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
  });

  test('only the ::1 address is open: open, naming ::1; 127.0.0.1 tested too and closed', async () => {
    const port = pf.ports.open6;
    const r = await timed('dual-stack name', { host: DUAL, port: String(port), tls: 'none' }, { resolver: resolver() });
    expect(r.verdict).toBe('open');
    expect(r.failed).toBe(true);
    expect(r.targets.map((t) => t.address).sort()).toEqual(['127.0.0.1', '::1']);
    for (const t of r.targets) {
      expect(t.host).toBe(DUAL);
      expect(t.port).toBe(port);
      expect(t.reachable).toBe(true);
      expect(t.errorKind).toBeNull();
    }
    const v6 = r.targets.find((t) => t.address === '::1');
    const v4 = r.targets.find((t) => t.address === '127.0.0.1');
    expect(v6?.family).toBe(6);
    expect(v6?.verdict).toBe('open');
    expect(v6?.counts.relayed).toBeGreaterThan(0);
    expect(v4?.family).toBe(4);
    expect(v4?.verdict).toBe('closed');
    expect(v4?.counts.relayed).toBe(0);
    expect(v4?.counts.denied).toBeGreaterThanOrEqual(45);
    expect(relayedTargets(r)).toEqual([`${DUAL} ::1 ${port}`]);
    // The addresses came from our DNS server: both record types were asked for.
    expect(dns.queries).toEqual(expect.arrayContaining([`${DUAL} A`, `${DUAL} AAAA`]));
    // The relayed attempts name the ::1 address in their transcript.
    const relayed = v6?.attempts.filter((a) => a.outcome === 'relayed') ?? [];
    expect(relayed.length).toBeGreaterThan(0);
    expect(v6?.opening[0]?.text).toBe(`connect [::1]:${port}`);
    expect(v4?.opening[0]?.text).toBe(`connect 127.0.0.1:${port}`);
    // Postfix saw both: relays from ::1 went through, 127.0.0.1 was denied.
    expect(pf.maillog()).toMatch(/postfix\/closed4\/smtpd\[\d+\]: NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]|postfix\/closed4\/smtpd.*reject: RCPT from [^[]*\[127\.0\.0\.1\]/);
  });
});

// ---------------------------------------------------------------------------
// MX: a domain with two MX hosts on one port; only the second (less preferred) is open.

describePostfix('MX hosts of a domain, from a DNS server of our own', () => {
  let pf: RunningPostfix;
  let dns: DnsServer;
  let port: number;
  let closedPort: number;

  beforeAll(async () => {
    // mx2 (127.0.0.1:P) open, from the harness; mx1 (127.0.0.2:P) closed, added on the same port.
    // 127.0.0.2 needs no interface change: Linux routes all of 127.0.0.0/8 to lo.
    pf = await startPaired(
      [
        { name: 'open', overrides: [OPEN] },
        { name: 'closed', overrides: [] },
      ],
      (ports) => [{ name: 'closed-mx1', address: '127.0.0.2', port: ports.open, overrides: [] }],
    );
    port = pf.ports.open;
    closedPort = pf.ports.closed;
    dns = await startDns({
      'mx-test.example': [
        { type: 'MX', priority: 10, exchange: 'mx1.mx-test.example' },
        { type: 'MX', priority: 20, exchange: 'mx2.mx-test.example' },
      ],
      'mx1.mx-test.example': [{ type: 'A', address: '127.0.0.2' }],
      'mx2.mx-test.example': [{ type: 'A', address: '127.0.0.1' }],
      // No MX: mail goes to the domain's own address (RFC 5321 §5.1).
      'implicit-test.example': [{ type: 'A', address: '127.0.0.1' }],
    });
  }, 90_000);
  afterAll(async () => {
    await dns?.close();
    await pf?.stop();
  });

  const resolver = () => resolverAt([`127.0.0.1:${dns.port}`]);

  test('two MX hosts, only the second open: open, naming mx2; mx1 tested too and closed', async () => {
    const r = await timed('mx two hosts', { domain: 'mx-test.example', port: String(port), tls: 'none' }, { resolver: resolver() });
    expect(r.discovery).toEqual({
      domain: 'mx-test.example',
      implicit: false,
      mx: [
        { exchange: 'mx1.mx-test.example', priority: 10 },
        { exchange: 'mx2.mx-test.example', priority: 20 },
      ],
    });
    expect(r.verdict).toBe('open');
    expect(r.failed).toBe(true);
    expect(r.targets.map((t) => `${t.host} ${t.address}:${t.port} ${t.verdict}`)).toEqual([
      `mx1.mx-test.example 127.0.0.2:${port} closed`,
      `mx2.mx-test.example 127.0.0.1:${port} open`,
    ]);
    expect(relayedTargets(r)).toEqual([`mx2.mx-test.example 127.0.0.1 ${port}`]);
    const mx1 = r.targets[0];
    expect(mx1.reachable).toBe(true);
    expect(mx1.counts.denied).toBeGreaterThanOrEqual(45);
    // The own-domain vectors used the domain given, not a name guessed from the greeting.
    const own = r.targets[1].attempts.find((a) => a.vector === 'own-domain-sender');
    expect(own?.mailFrom).toMatch(/@mx-test\.example>$/);
    // Our DNS server was asked for the MX, then for both hosts' addresses.
    expect(dns.queries).toEqual(expect.arrayContaining(['mx-test.example MX', 'mx1.mx-test.example A', 'mx1.mx-test.example AAAA', 'mx2.mx-test.example A']));
    expect(pf.maillog()).toMatch(/postfix\/closed-mx1\/smtpd.*reject: RCPT from [^[]*\[127\.0\.0\.1\]/);
  });

  test('no MX, an A record: the domain itself is tested (implicit MX)', async () => {
    const r = await timed('implicit mx', { domain: 'implicit-test.example', port: String(closedPort), tls: 'none' }, { resolver: resolver() });
    expect(r.discovery).toEqual({ domain: 'implicit-test.example', mx: [], implicit: true });
    expect(r.targets.map((t) => `${t.host} ${t.address}:${t.port}`)).toEqual([`implicit-test.example 127.0.0.1:${closedPort}`]);
    expect(r.verdict).toBe('closed');
    expect(r.failed).toBe(false);
    expect(dns.queries).toEqual(expect.arrayContaining(['implicit-test.example MX', 'implicit-test.example A']));
  });
});

// No DNS server needed: the default lookup (getaddrinfo) keeps each address's family.
describe('the system lookup', () => {
  test('an IPv4 and an IPv6 literal come back as themselves, with their family', async () => {
    expect(await systemLookup('127.0.0.1')).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(await systemLookup('::1')).toEqual([{ address: '::1', family: 6 }]);
  });
});

// No Postfix needed: these must not connect anywhere.
describe('MX edge cases that leave nothing to test', () => {
  let dns: DnsServer;
  let trap: net.Server;
  let trapPort: number;
  let trapped = 0;

  beforeAll(async () => {
    // A listener at the null-MX domain's own A record: falling back to it would be a bug.
    trap = net.createServer((s) => {
      trapped++;
      s.destroy();
    });
    trapPort = await new Promise<number>((resolve, reject) => {
      trap.once('error', reject);
      trap.listen({ host: '127.0.0.2', port: 0 }, () => resolve((trap.address() as net.AddressInfo).port));
    });
    dns = await startDns({
      // RFC 7505 null MX: "this domain accepts no mail".
      'nullmx-test.example': [
        { type: 'MX', priority: 0, exchange: '' },
        { type: 'A', address: '127.0.0.2' },
      ],
      // An MX host with no address at all.
      'dangling-test.example': [{ type: 'MX', priority: 10, exchange: 'gone.dangling-test.example' }],
      'v6only-test.example': [{ type: 'AAAA', address: '2001:db8::25' }],
    });
  });
  afterAll(async () => {
    await dns?.close();
    await new Promise<void>((r) => trap.close(() => r()));
  });

  const resolver = () => resolverAt([`127.0.0.1:${dns.port}`]);

  test('a null MX (MX 0 .): fails with a reason naming the null MX, and no connection is made', async () => {
    const r = await timed('null mx', { domain: 'nullmx-test.example', port: String(trapPort), tls: 'none' }, { resolver: resolver() });
    expect(r.failed).toBe(true);
    expect(r.failReasons.some((x) => /null MX/i.test(x) && x.includes('nullmx-test.example'))).toBe(true);
    expect(r.verdict).not.toBe('closed');
    expect(r.verdict).not.toBe('open');
    expect(r.targets).toEqual([]);
    expect(trapped).toBe(0);
    // Not even the A record was looked up.
    expect(dns.queries).toEqual(['nullmx-test.example MX']);
  });

  test('an unknown domain: inconclusive and failed, with the name that did not resolve', async () => {
    const r = await timed('nxdomain', { domain: 'nowhere-test.example', port: String(trapPort), tls: 'none' }, { resolver: resolver() });
    expect(r.verdict).toBe('inconclusive');
    expect(r.failed).toBe(true);
    expect(r.targets).toHaveLength(1);
    expect(r.targets[0].errorKind).toBe('unresolved');
    expect(r.targets[0].error).toMatch(/nowhere-test\.example/);
    expect(trapped).toBe(0);
  });

  test('an MX host without addresses: inconclusive and failed, naming the MX host', async () => {
    const r = await timed('dangling mx', { domain: 'dangling-test.example', port: String(trapPort), tls: 'none' }, { resolver: resolver() });
    expect(r.discovery?.mx).toEqual([{ exchange: 'gone.dangling-test.example', priority: 10 }]);
    expect(r.verdict).toBe('inconclusive');
    expect(r.failed).toBe(true);
    expect(r.targets.map((t) => [t.host, t.errorKind])).toEqual([['gone.dangling-test.example', 'unresolved']]);
  });

  test('a name with only an AAAA address is looked up as AAAA through the given resolver', async () => {
    const addrs = await resolver().lookup('v6only-test.example');
    expect(addrs).toEqual([{ address: '2001:db8::25', family: 6 }]);
  });
});
