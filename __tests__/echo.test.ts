import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { diagnose, matchRules, relayPattern } from '../src/diagnosis/diagnose.js';
import { proxiedSentence, proxiedView, seenAsKind, unseenSentence, vantageOf } from '../src/diagnosis/vantage.js';
import { run } from '../src/engine.js';
import { ECHO_RULES, echoedAddress, silentRow } from '../src/mta/echo.js';
import { EVIDENCE_RULES } from '../src/mta/evidence.js';
import type { Report } from '../src/model/report.js';
import { annotations } from '../src/report/annotations.js';
import { renderSummary } from '../src/report/summary.js';
import { renderTerminal } from '../src/report/terminal.js';
import { parseSettings } from '../src/settings.js';
import { startFaultServer, type FaultServer } from './support/fault-server.js';

/**
 * What the server saw (issue 23 §1), without a network of its own: the echo table row by row,
 * when a view counts as proxied, and how the report says it. The real servers' echo is asserted
 * in exim/sendmail/opensmtpd.test.ts; the proxied view end to end in seen-as-netns.test.ts.
 */

describe('the echo table', () => {
  test('every row: a unique id, a known MTA (or any), provenance; an address-reading row reads its own example', () => {
    const mtas = new Set([...EVIDENCE_RULES.map((r) => r.mta)]);
    expect(new Set(ECHO_RULES.map((r) => r.id)).size).toBe(ECHO_RULES.length);
    for (const r of ECHO_RULES) {
      if (r.mta !== null) expect(mtas).toContain(r.mta);
      expect(r.provenance.length).toBeGreaterThan(20);
      expect(r.example).toMatch(/^250[- ]/);
      if (r.pattern === null) {
        // A silent row is for a named MTA, and its example names nothing any row could read.
        expect(r.mta).not.toBeNull();
        expect({ id: r.id, read: echoedAddress(r.example) }).toEqual({ id: r.id, read: null });
      } else {
        for (const line of [r.example, ...(r.alsoSeen ?? [])]) expect({ id: r.id, read: echoedAddress(line) }).toEqual({ id: r.id, read: { address: r.seen, rule: r.id } });
      }
    }
  });

  test.each([
    ['exim-hello', '250-mx.example.net Hello client.example.org [192.0.2.7]', '192.0.2.7'],
    // Exim with reverse DNS: the looked-up name, then the HELO name in parentheses.
    ['exim-hello', '250-mx.example.net Hello ptr.example.org (helo.example) [203.0.113.5]', '203.0.113.5'],
    ['exim-hello', '250 mx.example.net Hello x [IPv6:2001:db8::7]', '2001:db8::7'],
    ['hello-pleased-to-meet-you', '250-mx.example.net Hello client.example.org [192.0.2.7] (may be forged), pleased to meet you', '192.0.2.7'],
    ['hello-pleased-to-meet-you', '250-mx.example.net Hello localhost [IPv6:::1], pleased to meet you', '::1'],
    ['gmail-at-your-service', '250-mx.google.com at your service, [2001:db8::25]', '2001:db8::25'],
    ['any-address-literal', '250-mail.example.net Hello [172.17.0.1]', '172.17.0.1'],
  ])('%s reads %s', (rule, line, address) => {
    expect(echoedAddress(line)).toEqual({ address, rule });
  });

  test('nothing is read from what is not an address, nor from a line that is not a 250', () => {
    for (const line of ['250-mx.example.net', '250-mx Hello x [999.1.1.1]', '250-mx Hello x [mx.example.net]', '554 5.7.1 [192.0.2.1] blocked', '250-mx Hello x [192.0.2.1'])
      expect({ line, read: echoedAddress(line) }).toEqual({ line, read: null });
  });

  test('Postfix names no address, and the table says so', () => {
    expect(silentRow('Postfix')?.id).toBe('postfix-silent');
    expect(silentRow('Exim')).toBeNull();
    expect(silentRow(null)).toBeNull();
  });
});

describe('a proxied view', () => {
  test('a trusted-by-default address not ours, for a connection to a public address', () => {
    // The Docker gateway, a swarm ingress, a proxy on the host, CGNAT, link-local, a ULA.
    for (const seen of ['172.17.0.1', '10.0.0.2', '127.0.0.1', '100.64.1.1', '169.254.0.1', 'fd00::1', '::ffff:172.17.0.1'])
      expect({ seen, proxied: proxiedView('198.51.100.25', '192.0.2.99', seen) }).toEqual({ seen, proxied: true });
    // Docker with IPv6 on the host but not in the containers: an IPv6 client arrives as the IPv4 gateway (anonaddy/docker #205).
    expect(proxiedView('2a01:4f8::25', '2a01:4f8::99', '172.17.0.1')).toBe(true);
    // Seen as ourselves, as a public address, or nothing seen: nothing in between.
    expect(proxiedView('198.51.100.25', '10.0.0.5', '10.0.0.5')).toBe(false);
    expect(proxiedView('198.51.100.25', '10.0.0.5', '::ffff:10.0.0.5')).toBe(false);
    expect(proxiedView('198.51.100.25', '192.0.2.99', '203.0.113.7')).toBe(false);
    expect(proxiedView('198.51.100.25', '192.0.2.99', null)).toBe(false);
    // Connected to a private or loopback address: the gateway may truly be the client (a runner on the Docker host).
    expect(proxiedView('172.17.0.2', '172.17.0.1', '172.17.0.1')).toBe(false);
    expect(proxiedView('127.0.0.1', '127.0.0.1', '172.17.0.1')).toBe(false);
  });

  test('XCLIENT supplied the address itself: never proxied', () => {
    const S = (text: string) => ({ dir: 'S' as const, text, at: 0 });
    const C = (text: string) => ({ dir: 'C' as const, text, at: 0 });
    const opening = [S('220 mx'), C('EHLO a'), S('250-mx Hello a [172.17.0.1]'), C('XCLIENT ADDR=203.0.113.10'), S('220 mx'), C('EHLO a'), S('250-mx Hello a [172.17.0.1]')];
    expect(vantageOf({ localAddress: '192.0.2.99', opening, target: '198.51.100.25' }, '203.0.113.10')).toMatchObject({ proxied: false, xclient: '203.0.113.10' });
    expect(vantageOf({ localAddress: '192.0.2.99', opening, target: '198.51.100.25' }, null)).toMatchObject({ proxied: true, seenAs: '172.17.0.1', echo: 'exim-hello' });
  });

  test('the sentence, in the issue\'s shape, names the kind of address', () => {
    expect(seenAsKind('172.17.0.1')).toBe('a container bridge gateway');
    expect(seenAsKind('172.22.0.1')).toBe('a container bridge gateway');
    expect(seenAsKind('172.17.0.5')).toBe("an address on Docker's default bridge");
    expect(seenAsKind('10.0.0.2')).toMatch(/^a private address: a load balancer/);
    expect(proxiedSentence({ seenAs: '172.17.0.1', proxied: true })).toBe(
      'The server saw you as 172.17.0.1 (a container bridge gateway): every outside client arrives as this address; if it is trusted (`mynetworks`, `relay_from_hosts`, `Connect: RELAY`, `match from src`), anyone can relay.',
    );
    expect(proxiedSentence({ seenAs: '172.17.0.1', proxied: false })).toBeNull();
  });

  test('a relay accepted through a proxied view gets the proxied row, whatever the MTA', () => {
    const all = relayPattern([{ host: 'h', address: '198.51.100.25', port: 25, family: 4, transport: 'plain', attempts: [{ vector: 'external-sender', outcome: 'relayed' }] } as Parameters<typeof relayPattern>[0][number]]);
    for (const mta of ['Postfix', 'Exim', 'Sendmail', 'OpenSMTPD', 'unknown']) expect(matchRules(all, mta, true, undefined, true).map((r) => r.id)).toEqual(['any-proxied-client']);
    // Not proxied: the MTA's own rows, as before.
    expect(matchRules(all, 'Exim', true).map((r) => r.id)).toEqual(['exim-relay-from-hosts']);
  });
});

describe('unknown: the server named no address', () => {
  test('says so, and what finds the session in its log', () => {
    const v = { seenAs: null, xclient: null, helo: 'relay-check.example', at: '2026-12-06T01:50:00Z' };
    expect(unseenSentence(v, 'Postfix')).toBe(
      "unknown (Postfix names no address in its EHLO reply); to find it, look for this session in the server's log (EHLO `relay-check.example`, at 2026-12-06T01:50:00Z): Postfix logs `connect from name[address]` as it opens",
    );
    expect(unseenSentence(v, 'unknown')).toMatch(/^unknown \(it named no address in its EHLO reply\); .*at 2026-12-06T01:50:00Z\)$/);
    expect(unseenSentence({ ...v, seenAs: '192.0.2.1' }, 'Exim')).toBeNull();
    expect(unseenSentence({ ...v, xclient: '203.0.113.10' }, 'Postfix')).toBeNull();
  });
});

/**
 * The report: a fault server that relays and names 172.17.0.1 in its EHLO reply. It listens on
 * loopback, so the run is not proxied by itself; the test then moves the target to a public
 * address (as if the runner had connected there) and re-reads the view, the way the engine does.
 */
describe('the report says it first', () => {
  let server: FaultServer;
  let report: Report;
  beforeAll(async () => {
    server = await startFaultServer((ctx) => {
      const say = (s: string): void => void ctx.socket.write(`${s}\r\n`);
      say('220 mx.proxied.test ESMTP');
      ctx.onLine((line) => {
        const verb = line.split(/[\s:]/)[0].toUpperCase();
        if (verb === 'EHLO') say('250-mx.proxied.test Hello [172.17.0.1]\r\n250 PIPELINING');
        else if (verb === 'QUIT') {
          say('221 bye');
          ctx.socket.end();
        } else say('250 2.0.0 Ok');
      });
    });
    const plain = await run(parseSettings({ host: `127.0.0.1:${server.port}`, tls: 'none', timeout: '20' }));
    const targets = plain.targets.map((t) => {
      const address = '198.51.100.25';
      return { ...t, address, host: address, vantage: vantageOf({ localAddress: '192.0.2.99', opening: t.opening, target: address, at: t.vantage?.at ?? null }, null) };
    });
    report = { ...plain, targets, diagnosis: diagnose(targets) };
  });
  afterAll(async () => {
    await server.close();
  });

  test('on loopback the same run is not proxied, and says what the server saw', async () => {
    const plain = await run(parseSettings({ host: `127.0.0.1:${server.port}`, tls: 'none', timeout: '20' }));
    expect(plain.targets[0].vantage).toMatchObject({ seenAs: '172.17.0.1', echo: 'any-address-literal', helo: expect.any(String), proxied: false });
    expect(plain.targets[0].vantage?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(renderSummary(plain)).toContain('**Seen as** (the address the server judged): 127.0.0.1&#58;');
    expect(renderSummary(plain)).not.toContain('CAUTION');
  });

  test('summary: the caution comes before the verdict sentence; the diagnosis is the proxied row, not said twice', () => {
    expect(report.verdict).toBe('open');
    expect(report.diagnosis?.[0].findings.map((f) => f.rule)).toEqual(['any-proxied-client']);
    const md = renderSummary(report);
    const caution = md.indexOf('> [!CAUTION]\n> The server saw you as 172.17.0.1 &#40;a container bridge gateway&#41;&#58; every outside client');
    expect(caution).toBeGreaterThan(0);
    expect(caution).toBeLessThan(md.indexOf('relays&#58; '));
    expect(md.split('The server saw you as').length).toBe(2);
    expect(md).toContain('<code>mynetworks</code>');
    expect(md).toContain('<code>externalTrafficPolicy&#58; Local</code>');
  });

  test('annotations: the verdict annotation opens with it', () => {
    expect(annotations(report)[0].message).toMatch(/^The server saw you as 172\.17\.0\.1 \(a container bridge gateway\): every outside client arrives as this address; if it is trusted \(mynetworks, /);
  });

  test('terminal: the sentence on the second line, before the verdict sentence', () => {
    const lines = renderTerminal(report, { color: false, verbose: false }).split('\n');
    expect(lines[1]).toMatch(/^The server saw you as 172\.17\.0\.1 \(a container bridge gateway\): every outside client/);
    expect(lines.join('\n')).toMatch(/seen as: 172\.17\.0\.1 \(named in its EHLO reply\)/);
  });
});
