/**
 * The identity tricks: ways a client claims to be someone the server trusts,
 * each followed by the plain relay attempt (relay-check's outside sender to the
 * outside recipient). They run only where the server offers the door (XCLIENT,
 * AUTH, a port that expects a PROXY header), and the control of each is the
 * same attempt without the trick: the battery's plain attempt, or for PROXY
 * the same header naming an outside address.
 *
 * Safety: no real credential and no guessed password is ever sent. The AUTH
 * tricks send nothing (ANONYMOUS) or a made-up user with an empty password.
 */

type Door = 'xclient' | 'auth' | 'proxy';

export interface IdentityTrick {
  /** Stable kebab-case id, like a vector's: reports and the diagnosis refer to it. */
  id: string;
  door: Door;
  description: string;
  provenance: string;
  /** What goes on the wire, as the transcript shows it (`{user}` a made-up user, `{addr}` an address). */
  example: string;
  /** AUTH: the SASL mechanism, offered in the EHLO AUTH line. */
  mechanism?: 'ANONYMOUS' | 'PLAIN' | 'LOGIN';
  /** PROXY: the protocol version, and the address the header claims. */
  proxy?: { version: 1 | 2; claims: 'loopback' | 'outsider' };
}

/** The address the XCLIENT and PROXY tricks claim: loopback, which servers trust by default. */
export const CLAIMED_ADDRESS = '127.0.0.1';

/**
 * The PROXY control's address: TEST-NET-3 (RFC 5737), in nobody's trusted networks, and not
 * in Debian Sendmail's stock `Connect:192.0.2` refusal.
 */
export const PROXY_OUTSIDER = '203.0.113.77';

const XCLIENT_README = 'Postfix XCLIENT_README (smtpd_authorized_xclient_hosts: "by default, no clients are allowed to specify XCLIENT")';
const HAPROXY_SPEC = 'HAProxy PROXY protocol specification (proxy-protocol.txt)';

export const IDENTITY_TRICKS: readonly IdentityTrick[] = [
  {
    id: 'xclient-loopback',
    door: 'xclient',
    description: 'XCLIENT offered to us: claim to be 127.0.0.1, then the plain relay attempt',
    provenance: `${XCLIENT_README}; issue 23 §2`,
    example: 'XCLIENT ADDR=127.0.0.1',
  },
  {
    id: 'auth-anonymous',
    door: 'auth',
    mechanism: 'ANONYMOUS',
    description: 'AUTH ANONYMOUS (no credential at all), then the plain relay attempt',
    provenance: 'RFC 4505 (ANONYMOUS SASL mechanism); Cyrus SASL libanonymous with an empty smtpd_sasl_security_options',
    example: 'AUTH ANONYMOUS cmVsYXktY2hlY2s=',
  },
  {
    id: 'auth-plain-empty',
    door: 'auth',
    mechanism: 'PLAIN',
    description: 'AUTH PLAIN as a made-up user with an empty password, then the plain relay attempt',
    provenance: 'RFC 4616 (PLAIN); RFC 4954 (SMTP AUTH); backends that accept empty credentials',
    example: 'AUTH PLAIN AHJlbGF5LWNoZWNrLW5vYm9keS0xYTJiM2M0ZAA=',
  },
  {
    id: 'auth-login-empty',
    door: 'auth',
    mechanism: 'LOGIN',
    description: 'AUTH LOGIN as a made-up user with an empty password, then the plain relay attempt',
    provenance: 'draft-murchison-sasl-login (LOGIN); RFC 4954; backends that accept empty credentials',
    example: 'AUTH LOGIN / cmVsYXktY2hlY2stbm9ib2R5LTFhMmIzYzRk / (empty line)',
  },
  {
    id: 'proxy-v1-outsider',
    door: 'proxy',
    proxy: { version: 1, claims: 'outsider' },
    description: 'Control: a PROXY v1 header naming an outside address, then the plain relay attempt',
    provenance: `${HAPROXY_SPEC} §2.1; the control of the PROXY tricks`,
    example: 'PROXY TCP4 203.0.113.77 127.0.0.1 40000 25',
  },
  {
    id: 'proxy-v1-loopback',
    door: 'proxy',
    proxy: { version: 1, claims: 'loopback' },
    description: 'A PROXY v1 (text) header claiming 127.0.0.1 before the greeting, then the plain relay attempt',
    provenance: `${HAPROXY_SPEC} §2.1; Postfix smtpd_upstream_proxy_protocol = haproxy exposed directly; Haraka haproxy_hosts`,
    example: 'PROXY TCP4 127.0.0.1 127.0.0.1 40000 25',
  },
  {
    id: 'proxy-v2-loopback',
    door: 'proxy',
    proxy: { version: 2, claims: 'loopback' },
    description: 'A PROXY v2 (binary) header claiming 127.0.0.1 before the greeting, then the plain relay attempt',
    provenance: `${HAPROXY_SPEC} §2.2; Postfix 3.5+ reads v2 with smtpd_upstream_proxy_protocol = haproxy`,
    example: '0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A 21 11 00 0C 7F 00 00 01 …',
  },
];

/**
 * What a plaintext connection does on a port that waits for a PROXY header, one row per
 * server. `silent`: no byte within the connect timeout. Otherwise the refusal it sends.
 */
export interface ProxySign {
  id: string;
  /** Matched against the refusal as relay-check formats it ("421 4.3.0 mx Server local error"). */
  refusal?: RegExp;
  silent?: boolean;
  example: string;
  provenance: string;
}

export const PROXY_SIGNS: readonly ProxySign[] = [
  {
    id: 'postfix-proxy-timeout',
    refusal: /^421 4\.3\.0 \S+ Server local error$/,
    example: '421 4.3.0 mx.relay-check.test Server local error',
    provenance: 'Postfix 3.7 smtpd with smtpd_upstream_proxy_protocol = haproxy, after smtpd_upstream_proxy_timeout (5 s) without a header; measured (log: "warning: haproxy read: timeout error")',
  },
  {
    id: 'names-proxy-protocol',
    refusal: /^4\d\d\b.*\bproxy\b/i,
    example: '421 PROXY protocol header expected',
    provenance: 'issue 23 §2 (a 421 naming the proxy protocol)',
  },
  {
    id: 'silent',
    silent: true,
    example: '(connected, no greeting within connect-timeout)',
    provenance: 'Postfix postscreen_upstream_proxy_protocol; Haraka and nginx listeners that wait for the header; issue 23 §2',
  },
];

/** The sign a refusal (or silence) matches, if any. */
export function proxySign(refusal: string | null, silent: boolean): ProxySign | undefined {
  return PROXY_SIGNS.find((s) => (s.silent === true ? silent : refusal !== null && s.refusal !== undefined && s.refusal.test(refusal)));
}
