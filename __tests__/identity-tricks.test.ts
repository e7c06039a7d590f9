import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { IDENTITY_TRICKS, PROXY_SIGNS, proxySign } from '../src/battery/tricks.js';
import { VECTORS } from '../src/battery/vectors.js';
import { authMechanisms, proxyHeader } from '../src/smtp/identity.js';
import { run } from '../src/engine.js';
import { runGate } from '../src/gate/gate.js';
import { DEFAULT_MASTER_CF } from '../src/gate/sandbox.js';
import type { AttemptReport, Report } from '../src/model/report.js';
import { annotations } from '../src/report/annotations.js';
import { renderSummary } from '../src/report/summary.js';
import { parseSettings } from '../src/settings.js';
import { ROOT } from './support/action.js';
import { describePostfix } from './support/describe-mta.js';
import { direct, PROBE_FROM, PROBE_TO, Wire } from './support/direct-smtp.js';
import { acceptingAuth, forwarder, type AcceptingAuth } from './support/identity-servers.js';
import { startPostfix, type RunningPostfix } from './support/postfix.js';
import { expectValid } from './support/schema.js';

/**
 * Issue 23 §2, the identity tricks, against real Postfix: each door left open the way
 * people leave it, the expected outcome shown first by a direct session, then relay-check's
 * verdict and the trick's outcome; beside each, the same server without the mistake.
 *
 * XCLIENT needs the client to arrive from an address other than the one it claims: a
 * forwarder re-originates our connections from 127.0.0.2 (as docker-proxy does from the
 * bridge gateway), and the server trusts only 127.0.0.1.
 */

// Debian's Cyrus SASL as installed (libsasl2-modules, no mech_list restriction): ANONYMOUS is there.
const SASL_ANON = path.join(ROOT, '__tests__', 'fixtures', 'realworld-postfix', 'common', 'sasl-anon');
let pf: RunningPostfix;
let auth: AcceptingAuth;
let loginOnly: AcceptingAuth;
let pair: { dir: string; cert: string; key: string };

/** A throwaway self-signed pair for the TLS-only AUTH service (openssl; fails loudly without it). */
function makeCertificate(): { dir: string; cert: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-identity-tls-'));
  fs.chmodSync(dir, 0o755);
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=mx.relay-check.test', '-keyout', key, '-out', cert, '-days', '2'], { encoding: 'utf8', timeout: 30_000 });
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.error?.message ?? made.stderr}`);
  fs.chmodSync(key, 0o644);
  return { dir, cert, key };
}
const closers: (() => Promise<void>)[] = [];
const fwd: Record<string, number> = {};

async function check(port: number, extra: Record<string, string> = {}): Promise<Report> {
  const r = await run(parseSettings({ host: '127.0.0.1', port: String(port), tls: 'none', 'connect-timeout': '8', timeout: '90', ...extra }));
  expectValid(r);
  return r;
}
const attempt = (r: Report, id: string): AttemptReport | undefined => r.targets.flatMap((t) => t.attempts).find((a) => a.vector === id);
const rules = (r: Report): string[] => (r.diagnosis ?? []).flatMap((d) => d.findings.map((f) => f.rule));
const tricksRun = (r: Report): string[] => r.targets.flatMap((t) => t.attempts).filter((a) => /^(xclient|auth|proxy)-/.test(a.vector)).map((a) => a.vector);

/** A direct session that starts with a PROXY v1 header claiming `claim`: the RCPT reply to the plain relay attempt. */
async function proxied(port: number, claim: string): Promise<string> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  socket.write(`PROXY TCP4 ${claim} 127.0.0.1 41000 ${port}\r\n`);
  const wire = new Wire(socket);
  try {
    expect((await wire.reply()).code).toBe(220);
    expect((await wire.command('EHLO client.example.org')).code).toBe(250);
    expect((await wire.command(`MAIL FROM:<${PROBE_FROM}>`)).code).toBe(250);
    const rcpt = await wire.command(`RCPT TO:<${PROBE_TO}>`);
    await wire.command('QUIT').catch(() => undefined);
    return `${rcpt.code} ${rcpt.text}`;
  } finally {
    wire.close();
  }
}

/** A direct session: EHLO's AUTH line, then one AUTH exchange (lines as sent) and, when it succeeded, the relay attempt. */
async function authSession(port: number, exchange: string[], opts: { starttls?: boolean } = {}): Promise<{ ehlo: string; auth: string; rcpt: string | null }> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  const wire = new Wire(socket);
  try {
    await wire.reply();
    let ehlo = (await wire.command('EHLO client.example.org')).text;
    if (opts.starttls) {
      expect((await wire.command('STARTTLS')).code).toBe(220);
      await wire.upgrade();
      ehlo = (await wire.command('EHLO client.example.org')).text;
    }
    let last = { code: 0, text: '' };
    for (const line of exchange) last = await wire.command(line);
    let rcpt: string | null = null;
    if (last.code === 235) {
      await wire.command(`MAIL FROM:<${PROBE_FROM}>`);
      const r = await wire.command(`RCPT TO:<${PROBE_TO}>`);
      rcpt = `${r.code} ${r.text}`;
    }
    await wire.command('QUIT').catch(() => undefined);
    return { ehlo, auth: `${last.code} ${last.text}`, rcpt };
  } finally {
    wire.close();
  }
}
const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

describe('the identity tricks table and its wire forms', () => {
  test('every row: a kebab-case id unique among vectors, its provenance and a real example; AUTH rows name a mechanism, PROXY rows a version', () => {
    const ids = [...VECTORS.map((v) => v.id), ...IDENTITY_TRICKS.map((t) => t.id)];
    expect(new Set(ids).size).toBe(ids.length);
    for (const t of IDENTITY_TRICKS) {
      expect({ id: t.id, ok: /^[a-z0-9]+(-[a-z0-9]+)*$/.test(t.id) && t.provenance.length > 10 && t.example.length > 0 && t.description.length > 10 }).toEqual({ id: t.id, ok: true });
      expect({ id: t.id, mechanism: t.door === 'auth' ? typeof t.mechanism : 'n/a', proxy: t.door === 'proxy' ? typeof t.proxy : 'n/a' }).toEqual({ id: t.id, mechanism: t.door === 'auth' ? 'string' : 'n/a', proxy: t.door === 'proxy' ? 'object' : 'n/a' });
    }
    // The PROXY control runs first: the loopback claims are read against it.
    expect(IDENTITY_TRICKS.filter((t) => t.door === 'proxy').map((t) => t.id)).toEqual(['proxy-v1-outsider', 'proxy-v1-loopback', 'proxy-v2-loopback']);
  });

  test('PROXY signs: each row\'s example lands on that row; a refusal that names nothing of the sort lands on none', () => {
    for (const s of PROXY_SIGNS) expect(proxySign(s.silent ? null : s.example, s.silent === true)?.id).toBe(s.id);
    expect(proxySign('421 4.3.2 Service shutting down', false)).toBeUndefined();
    expect(proxySign('554 5.7.1 Client host rejected', false)).toBeUndefined();
    expect(proxySign(null, false)).toBeUndefined();
  });

  test('PROXY headers: v1 is the row\'s text line; v2 is the signature, 0x21, 0x11, 12 bytes of addresses and ports', () => {
    const v1 = proxyHeader(1, '127.0.0.1', '127.0.0.1', 40000, 25);
    expect(v1.bytes.toString('latin1')).toBe('PROXY TCP4 127.0.0.1 127.0.0.1 40000 25\r\n');
    expect(v1.text).toBe(IDENTITY_TRICKS.find((t) => t.id === 'proxy-v1-loopback')?.example);
    const v2 = proxyHeader(2, '127.0.0.1', '192.0.2.25', 40000, 25);
    expect([...v2.bytes]).toEqual([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c, 127, 0, 0, 1, 192, 0, 2, 25, 0x9c, 0x40, 0x00, 0x19]);
    expect(IDENTITY_TRICKS.find((t) => t.id === 'proxy-v2-loopback')?.example.replace(/ …$/, '')).toBe(
      [...v2.bytes.subarray(0, 20)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' '),
    );
    expect(() => proxyHeader(1, '::1', '127.0.0.1', 1, 25)).toThrow(/IPv4/);
  });

  test('AUTH mechanisms from an EHLO reply, both spellings', () => {
    expect(authMechanisms(['mx.example.org', 'PIPELINING', 'AUTH PLAIN LOGIN ANONYMOUS', 'AUTH=PLAIN LOGIN'])).toEqual(['PLAIN', 'LOGIN', 'ANONYMOUS']);
    expect(authMechanisms(['mx.example.org', 'AUTHX FOO'])).toEqual([]);
  });
});

describePostfix('identity tricks against real Postfix (issue 23 §2)', () => {
  beforeAll(async () => {
    pair = makeCertificate();
    auth = await acceptingAuth();
    closers.push(() => auth.close());
    loginOnly = await acceptingAuth({ mechanisms: ['LOGIN'], accept: false });
    closers.push(() => loginOnly.close());
    pf = await startPostfix(
      [
        // XCLIENT for all of loopback while only 127.0.0.1 is trusted: anyone on 127/8 can claim to be it.
        { name: 'xclient-open', overrides: ['smtpd_authorized_xclient_hosts=127.0.0.0/8', 'mynetworks=127.0.0.1/32'] },
        // The same server with XCLIENT for its own proxy only.
        { name: 'xclient-closed', overrides: ['smtpd_authorized_xclient_hosts=127.0.0.1/32', 'mynetworks=127.0.0.1/32'] },
        // A PROXY-protocol port reached directly, loopback trusted (the proxy's own address).
        { name: 'proxy-open', overrides: ['smtpd_upstream_proxy_protocol=haproxy', 'mynetworks=127.0.0.0/8'] },
        // The same port, loopback not trusted.
        { name: 'proxy-closed', overrides: ['smtpd_upstream_proxy_protocol=haproxy'] },
        // Cyrus SASL with ANONYMOUS and an empty smtpd_sasl_security_options; XFORWARD for loopback.
        { name: 'sasl-anonymous', overrides: ['smtpd_sasl_auth_enable=yes', 'smtpd_sasl_security_options=', 'smtpd_authorized_xforward_hosts=127.0.0.0/8'] },
        // The same with Postfix's default noanonymous.
        { name: 'sasl-closed', overrides: ['smtpd_sasl_auth_enable=yes'] },
        // A backend that accepts any user with an empty password (a Dovecot nopassword passdb, simulated).
        { name: 'sasl-any-password', overrides: ['smtpd_sasl_auth_enable=yes', 'smtpd_sasl_type=dovecot', `smtpd_sasl_path=inet:127.0.0.1:${auth.port}`] },
        // A backend that offers LOGIN only and refuses every login; and Cyrus offered in plaintext and inside STARTTLS alike.
        { name: 'sasl-login-only', overrides: ['smtpd_sasl_auth_enable=yes', 'smtpd_sasl_type=dovecot', `smtpd_sasl_path=inet:127.0.0.1:${loginOnly.port}`] },
        { name: 'sasl-both', overrides: ['smtpd_sasl_auth_enable=yes', 'smtpd_tls_security_level=may', `smtpd_tls_cert_file=${pair.cert}`, `smtpd_tls_key_file=${pair.key}`] },
        // An open relay that also offers XCLIENT and STARTTLS: the tricks have nothing to add.
        { name: 'open-relay', overrides: ['mynetworks=0.0.0.0/0', 'smtpd_authorized_xclient_hosts=127.0.0.0/8', 'smtpd_tls_security_level=may', `smtpd_tls_cert_file=${pair.cert}`, `smtpd_tls_key_file=${pair.key}`] },
        // The same backend, AUTH offered only inside TLS (smtpd_tls_auth_only).
        {
          name: 'sasl-tls-only',
          overrides: ['smtpd_sasl_auth_enable=yes', 'smtpd_sasl_type=dovecot', `smtpd_sasl_path=inet:127.0.0.1:${auth.port}`, 'smtpd_tls_auth_only=yes', 'smtpd_tls_security_level=may', `smtpd_tls_cert_file=${pair.cert}`, `smtpd_tls_key_file=${pair.key}`],
        },
      ],
      { cyrus_sasl_config_path: SASL_ANON },
    );
    for (const name of ['xclient-open', 'xclient-closed']) {
      const f = await forwarder('127.0.0.2', pf.ports[name]);
      fwd[name] = f.port;
      closers.push(() => f.close());
    }
  }, 60_000);
  afterAll(async () => {
    for (const c of closers) await c();
    await pf?.stop();
    if (pair) fs.rmSync(pair.dir, { recursive: true, force: true });
  });

  test('XCLIENT offered to everyone: claiming 127.0.0.1 relays; the plain attempt does not; the row names smtpd_authorized_xclient_hosts', async () => {
    // Direct: as ourselves (127.0.0.2) refused; after XCLIENT ADDR=127.0.0.1 accepted.
    expect((await direct(fwd['xclient-open'], { mode: 'plain', client: null })).verdict).toBe('closed');
    expect((await direct(fwd['xclient-open'], { mode: 'plain', client: '127.0.0.1' })).verdict).toBe('open');
    const r = await check(fwd['xclient-open']);
    expect(r.verdict).toBe('open');
    expect(r.failed).toBe(true);
    expect(attempt(r, 'external-sender')?.outcome).toBe('denied');
    const x = attempt(r, 'xclient-loopback');
    expect(x).toMatchObject({ outcome: 'relayed', stage: 'rcpt', mailFrom: '<relay-check@example.com>', rcptTo: ['<relay-check@example.com>'] });
    expect(x?.reason).toMatch(/after XCLIENT ADDR=127\.0\.0\.1 .*anyone can claim to be trusted/);
    expect(x?.transcript.some((l) => l.dir === 'C' && l.text === 'XCLIENT ADDR=127.0.0.1')).toBe(true);
    expect(rules(r)).toEqual(['postfix-xclient-hosts']);
    expect(r.diagnosis?.[0].findings[0].settings).toContain('smtpd_authorized_xclient_hosts');
  }, 120_000);

  test('an open relay: the plain attempt (the tricks\' control) relayed, so no trick runs, in plaintext or inside STARTTLS', async () => {
    expect((await direct(pf.ports['open-relay'], { mode: 'plain', client: null })).verdict).toBe('open');
    const r = await check(pf.ports['open-relay'], { tls: 'auto' });
    expect(r.verdict).toBe('open');
    expect(r.targets.map((t) => [t.transport, t.attempts.find((a) => a.vector === 'xclient-loopback')?.outcome, t.attempts.find((a) => a.vector === 'xclient-loopback')?.reason])).toEqual([
      ['plain', 'skipped', expect.stringMatching(/its control \(external-sender.*relayed/)],
      ['starttls', 'skipped', expect.stringMatching(/already relayed in plaintext/)],
    ]);
    // No connection of ours ever said XCLIENT.
    expect(r.targets.flatMap((t) => t.attempts.flatMap((a) => a.transcript)).some((l) => l.dir === 'C' && /^XCLIENT/.test(l.text))).toBe(false);
  }, 120_000);

  test('XCLIENT for the proxy only: not offered to us, no trick, closed', async () => {
    await expect(direct(fwd['xclient-closed'], { mode: 'plain', client: '127.0.0.1' })).rejects.toThrow(/XCLIENT not offered/);
    const r = await check(fwd['xclient-closed']);
    expect(r.verdict).toBe('closed');
    expect(tricksRun(r)).toEqual([]);
  }, 120_000);

  test('PROXY port reached directly: the plain connection shows it (421 after the proxy timeout); a header claiming 127.0.0.1 relays, its control does not', async () => {
    expect(await proxied(pf.ports['proxy-open'], '127.0.0.1')).toMatch(/^250 /);
    expect(await proxied(pf.ports['proxy-open'], '203.0.113.77')).toMatch(/^454 .*Relay access denied/);
    const r = await check(pf.ports['proxy-open']);
    expect(r.verdict).toBe('open');
    const [t] = r.targets;
    expect(t.doors?.proxy).toMatch(/postfix-proxy-timeout/);
    expect(attempt(r, 'proxy-v1-outsider')?.outcome).toBe('denied');
    expect(attempt(r, 'proxy-v1-loopback')).toMatchObject({ outcome: 'relayed' });
    expect(attempt(r, 'proxy-v2-loopback')).toMatchObject({ outcome: 'relayed' });
    expect(attempt(r, 'proxy-v1-loopback')?.transcript[1]).toMatchObject({ dir: 'C', text: expect.stringMatching(/^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+$/) });
    expect(t.mta?.name).toBe('Postfix');
    expect(rules(r)).toEqual(['postfix-upstream-proxy']);
    // `off`: not tried at all.
    const off = await check(pf.ports['proxy-open'], { 'proxy-protocol': 'off' });
    expect(tricksRun(off)).toEqual([]);
  }, 120_000);

  test('PROXY port with loopback untrusted: the header is taken, the relay refused; the battery itself could not run (inconclusive, not closed)', async () => {
    expect(await proxied(pf.ports['proxy-closed'], '127.0.0.1')).toMatch(/^454 .*Relay access denied/);
    const r = await check(pf.ports['proxy-closed']);
    expect(attempt(r, 'proxy-v1-loopback')?.outcome).toBe('denied');
    expect(attempt(r, 'proxy-v2-loopback')?.outcome).toBe('denied');
    expect(r.verdict).toBe('inconclusive');
  }, 120_000);

  test('`proxy-protocol: try` on a port that does not read headers: the tricks are refused (the header read as a command), nothing relays', async () => {
    const r = await check(pf.ports['sasl-closed'], { 'proxy-protocol': 'try' });
    expect(r.verdict).toBe('closed');
    for (const id of ['proxy-v1-outsider', 'proxy-v1-loopback', 'proxy-v2-loopback']) expect({ id, outcome: attempt(r, id)?.outcome, rule: attempt(r, id)?.rule }).toEqual({ id, outcome: 'denied', rule: 'identity-refused' });
  }, 120_000);

  test('Cyrus ANONYMOUS with empty security options: AUTH ANONYMOUS is accepted but Postfix does not relay for it (warned, closed); XFORWARD reported', async () => {
    const d = await authSession(pf.ports['sasl-anonymous'], [`AUTH ANONYMOUS ${b64('relay-check')}`]);
    expect(d.ehlo).toMatch(/AUTH .*\bANONYMOUS\b/);
    expect(d.auth).toMatch(/^235 /);
    expect(d.rcpt).toMatch(/^454 .*Relay access denied/);
    const r = await check(pf.ports['sasl-anonymous']);
    expect(r.verdict).toBe('closed');
    expect(attempt(r, 'auth-anonymous')).toMatchObject({ outcome: 'denied', rule: expect.stringMatching(/relay/) });
    expect(attempt(r, 'auth-plain-empty')).toMatchObject({ outcome: 'denied', rule: 'identity-refused' });
    // LOGIN goes to the same password check as PLAIN: not tried where PLAIN is offered (failed logins are counted).
    expect(attempt(r, 'auth-login-empty')).toBeUndefined();
    expect(r.warnings.join('\n')).toMatch(/AUTH ANONYMOUS with no credential was accepted .*noanonymous/);
    expect(r.targets[0].doors?.xforward).toMatch(/ADDR/);
    expect(r.warnings.join('\n')).toMatch(/XFORWARD is offered to this client .*no verdict/);
    // Said as what they are: an identity door, in the summary and as annotations.
    expect(annotations(r).filter((a) => a.title === 'Identity door').map((a) => a.level)).toEqual(['warning', 'warning']);
    expect(renderSummary(r)).toMatch(/> \[!WARNING\]\n> .*AUTH ANONYMOUS with no credential was accepted/);
    // Never a password: the PLAIN response is authzid, a made-up user, and nothing.
    const plain = attempt(r, 'auth-plain-empty')?.transcript.find((l) => l.dir === 'C' && l.text.startsWith('AUTH PLAIN '))?.text.slice(11) ?? '';
    expect(Buffer.from(plain, 'base64').toString('latin1')).toMatch(/^\0relay-check-nobody-[0-9a-f]{8}\0$/);
  }, 120_000);

  test('the same Cyrus SASL with noanonymous: ANONYMOUS not offered, empty passwords refused, closed', async () => {
    const d = await authSession(pf.ports['sasl-closed'], [`AUTH PLAIN ${b64('\0nobody-here\0')}`]);
    expect(d.ehlo).not.toMatch(/ANONYMOUS/);
    expect(d.auth).toMatch(/^535 /);
    const r = await check(pf.ports['sasl-closed']);
    expect(r.verdict).toBe('closed');
    expect(attempt(r, 'auth-anonymous')).toBeUndefined();
    expect(attempt(r, 'auth-plain-empty')?.outcome).toBe('denied');
    expect(r.warnings.join('\n')).not.toMatch(/AUTH/);
  }, 120_000);

  test('a backend that accepts an empty password: any client can authenticate, and relays: open', async () => {
    const d = await authSession(pf.ports['sasl-any-password'], [`AUTH PLAIN ${b64('\0nobody-here\0')}`]);
    expect(d.auth).toMatch(/^235 /);
    expect(d.rcpt).toMatch(/^250 /);
    const r = await check(pf.ports['sasl-any-password']);
    expect(r.verdict).toBe('open');
    expect(attempt(r, 'external-sender')?.outcome).toBe('denied');
    expect(attempt(r, 'auth-plain-empty')).toMatchObject({ outcome: 'relayed' });
    expect(attempt(r, 'auth-plain-empty')?.reason).toMatch(/any client can authenticate/);
    expect(rules(r)).toEqual(['postfix-sasl-empty-credentials']);
    // What reached the backend: PLAIN, a made-up user, an empty password.
    expect(auth.seen.some((s) => /^PLAIN resp=/.test(s) && /^\0relay-check-nobody-[0-9a-f]{8}\0$/.test(Buffer.from(s.slice(11), 'base64').toString('latin1')))).toBe(true);
  }, 120_000);

  test('LOGIN only: the LOGIN trick runs (a made-up user, an empty line for the password) and is refused; AUTH in plaintext and TLS: tried once, in plaintext', async () => {
    const d = await authSession(pf.ports['sasl-login-only'], ['AUTH LOGIN', b64('nobody-here'), '']);
    expect(d.ehlo).toMatch(/AUTH LOGIN\b/);
    expect(d.auth).toMatch(/^535 /);
    const r = await check(pf.ports['sasl-login-only']);
    expect(r.verdict).toBe('closed');
    expect(tricksRun(r)).toEqual(['auth-login-empty']);
    const login = attempt(r, 'auth-login-empty');
    expect(login).toMatchObject({ outcome: 'denied', rule: 'identity-refused', reply: expect.stringMatching(/^535 /) });
    // The user name is base64 of relay-check-nobody-<8 hex>: decoded, since its last characters follow the random hex.
    const sent = login?.transcript.filter((l) => l.dir === 'C').map((l) => l.text).slice(1, 4) ?? [];
    expect([sent[0], Buffer.from(sent[1] ?? '', 'base64').toString('latin1'), sent[2]]).toEqual(['AUTH LOGIN', expect.stringMatching(/^relay-check-nobody-[0-9a-f]{8}$/), '']);
    // What reached the backend: a made-up user and an empty password, never more.
    expect(loginOnly.seen).toContainEqual(expect.stringMatching(/^LOGIN user=relay-check-nobody-[0-9a-f]{8} password=$/));
    const both = await check(pf.ports['sasl-both'], { tls: 'auto' });
    expect(both.targets.map((t) => [t.transport, t.attempts.filter((a) => a.vector.startsWith('auth-')).map((a) => a.vector)])).toEqual([
      ['plain', ['auth-plain-empty']],
      ['starttls', []],
    ]);
  }, 120_000);

  test('AUTH offered only inside TLS: the tricks run inside STARTTLS, not in plaintext, and relay there', async () => {
    expect((await authSession(pf.ports['sasl-tls-only'], [])).ehlo).not.toMatch(/AUTH/);
    const d = await authSession(pf.ports['sasl-tls-only'], [`AUTH PLAIN ${b64('\0nobody-here\0')}`], { starttls: true });
    expect(d).toMatchObject({ auth: expect.stringMatching(/^235 /), rcpt: expect.stringMatching(/^250 /) });
    const r = await check(pf.ports['sasl-tls-only'], { tls: 'auto' });
    const plain = r.targets.find((t) => t.transport === 'plain');
    const secure = r.targets.find((t) => t.transport === 'starttls');
    expect(plain?.attempts.filter((a) => a.vector.startsWith('auth-'))).toEqual([]);
    expect(secure?.attempts.filter((a) => a.vector.startsWith('auth-')).map((a) => a.vector)).toEqual(['auth-plain-empty']);
    expect(secure?.attempts.find((a) => a.vector === 'auth-plain-empty')).toMatchObject({ outcome: 'relayed' });
    expect(secure?.attempts.find((a) => a.vector === 'auth-plain-empty')?.transcript.some((l) => l.dir === '*' && /^STARTTLS: /.test(l.text))).toBe(true);
    expect(r.verdict).toBe('open');
  }, 120_000);
});

describePostfix('the gate runs the identity tricks too (issue 23 §3)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  function config(main: string, mynetworks = '127.0.0.0/8'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-identity-gate-'));
    dirs.push(dir);
    fs.writeFileSync(
      path.join(dir, 'main.cf'),
      `myhostname = mx.gate.test\nmydomain = gate.test\nmydestination = $myhostname, localhost, $mydomain\nmynetworks = ${mynetworks}\nalias_maps =\nalias_database =\ncompatibility_level = 3.6\n${main}`,
    );
    return dir;
  }
  function withMaster(dir: string, master: string): string {
    fs.writeFileSync(path.join(dir, 'master.cf'), master);
    return dir;
  }
  const gate = (dir: string): Promise<Report> => runGate(parseSettings({ 'postfix-config': dir, timeout: '120', 'connect-timeout': '10' }));

  test('smtpd_authorized_xclient_hosts widened to everyone fails the gate; loopback only passes', async () => {
    const wide = await gate(config('smtpd_authorized_xclient_hosts = 0.0.0.0/0\n'));
    expectValid(wide);
    expect(wide.verdict).toBe('open');
    expect(wide.failed).toBe(true);
    expect(attempt(wide, 'xclient-loopback')?.outcome).toBe('relayed');
    expect(attempt(wide, 'external-sender')?.outcome).toBe('denied');
    expect(rules(wide)).toContain('postfix-xclient-hosts');
    expect(wide.gate?.changes.some((c) => c.subject === 'smtpd_authorized_xclient_hosts' && /0\.0\.0\.0\/0/.test(c.change))).toBe(true);
    const narrow = await gate(config('smtpd_authorized_xclient_hosts = 127.0.0.0/8\n'));
    expect(narrow.verdict).toBe('closed');
    expect(tricksRun(narrow)).toEqual([]);
  }, 300_000);

  test('anonymous SASL: AUTH ANONYMOUS runs in the gate and is accepted; Postfix does not relay for it, so it is a warning, not a failure', async () => {
    const r = await gate(config('smtpd_sasl_auth_enable = yes\nsmtpd_sasl_security_options =\n'));
    expectValid(r);
    expect(attempt(r, 'auth-anonymous')?.outcome).toBe('denied');
    expect(attempt(r, 'auth-plain-empty')?.outcome).toBe('denied');
    expect(r.warnings.join('\n')).toMatch(/AUTH ANONYMOUS with no credential was accepted/);
    expect(r.verdict).toBe('closed');
    const safe = await gate(config('smtpd_sasl_auth_enable = yes\n'));
    expect(attempt(safe, 'auth-anonymous')).toBeUndefined();
    expect(attempt(safe, 'auth-plain-empty')?.outcome).toBe('denied');
  }, 300_000);

  test('a PROXY-protocol service: the battery runs through a header naming the outsider; a header claiming 127.0.0.1 relays where loopback is trusted, fails the gate', async () => {
    // Debian's master.cf, its smtp service behind a proxy.
    const master = DEFAULT_MASTER_CF.replace(/^smtp(\s+)inet(.*)smtpd$/m, 'smtp$1inet$2smtpd -o smtpd_upstream_proxy_protocol=haproxy');
    expect(master).toContain('smtpd -o smtpd_upstream_proxy_protocol=haproxy');
    const open = await gate(withMaster(config(''), master));
    expectValid(open);
    // The battery ran as the outsider (through the header): its plain attempt was refused.
    expect(attempt(open, 'external-sender')?.outcome).toBe('denied');
    expect(open.targets[0].opening[1]).toMatchObject({ dir: 'C', text: expect.stringMatching(/^PROXY TCP4 203\.0\.113\.10 /) });
    expect(open.targets[0].opening.some((l) => l.dir === 'C' && /^XCLIENT/.test(l.text))).toBe(false);
    expect(attempt(open, 'proxy-v1-outsider')?.outcome).toBe('denied');
    expect(attempt(open, 'proxy-v1-loopback')?.outcome).toBe('relayed');
    expect(open.verdict).toBe('open');
    expect({ rules: rules(open), diagnosis: open.diagnosis, causes: open.gate?.causes }).toMatchObject({ rules: expect.arrayContaining(['postfix-upstream-proxy']) });
    // The same service with loopback untrusted.
    const closed = await gate(withMaster(config('', '192.0.2.0/24'), master));
    expect(attempt(closed, 'proxy-v1-loopback')?.outcome).toBe('denied');
    expect(closed.verdict).toBe('closed');
  }, 300_000);
});
