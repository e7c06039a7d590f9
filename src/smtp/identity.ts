import net from 'node:net';
import type { Reply } from './reply.js';
import type { Ehlo, SmtpSession } from './session.js';

/**
 * The wire side of the identity tricks (src/battery/tricks.ts): PROXY protocol
 * headers, XCLIENT, and AUTH with nothing. Each only talks and returns what the
 * server said; what it means is decided elsewhere.
 */

/** The PROXY protocol v2 signature (HAProxy proxy-protocol.txt §2.2). */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export interface ProxyHeader {
  bytes: Buffer;
  /** How the transcript shows it. */
  text: string;
}

/**
 * A PROXY header saying a TCP/IPv4 client `source` connected to `destination`. v1 is
 * one text line; v2 is binary: signature, version 2 + PROXY (0x21), TCP over IPv4
 * (0x11), 12 bytes of addresses and ports.
 */
export function proxyHeader(version: 1 | 2, source: string, destination: string, sourcePort: number, destinationPort: number): ProxyHeader {
  if (!net.isIPv4(source) || !net.isIPv4(destination)) throw new Error('proxyHeader: IPv4 addresses only');
  const v1 = `PROXY TCP4 ${source} ${destination} ${sourcePort} ${destinationPort}`;
  if (version === 1) return { bytes: Buffer.from(`${v1}\r\n`, 'latin1'), text: v1 };
  const body = Buffer.alloc(12);
  Buffer.from(source.split('.').map(Number)).copy(body, 0);
  Buffer.from(destination.split('.').map(Number)).copy(body, 4);
  body.writeUInt16BE(sourcePort, 8);
  body.writeUInt16BE(destinationPort, 10);
  const head = Buffer.from([0x21, 0x11, 0x00, body.length]);
  return { bytes: Buffer.concat([V2_SIGNATURE, head, body]), text: `(PROXY v2 binary header: TCP4 ${source}:${sourcePort} → ${destination}:${destinationPort})` };
}

/** XCLIENT as `address`, then EHLO again (the server starts a new session): the refusal when it is not 220. */
export async function xclientAs(session: SmtpSession, address: string, helo: string, timeoutMs: number): Promise<{ reply: Reply; ehlo?: Ehlo }> {
  const addr = net.isIPv6(address) ? `IPV6:${address}` : address;
  const reply = await session.command(`XCLIENT ADDR=${addr}`, timeoutMs);
  if (reply.code !== 220) return { reply };
  return { reply, ehlo: await session.hello(helo) };
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/**
 * AUTH with nothing: ANONYMOUS with a trace string (RFC 4505 §2), or PLAIN / LOGIN as
 * `user` with an empty password. The last reply: 235 means authenticated. Never sends
 * a password.
 */
export async function authWithNothing(session: SmtpSession, mechanism: 'ANONYMOUS' | 'PLAIN' | 'LOGIN', user: string, timeoutMs: number): Promise<Reply> {
  if (mechanism === 'ANONYMOUS') return session.command(`AUTH ANONYMOUS ${b64('relay-check')}`, timeoutMs);
  if (mechanism === 'PLAIN') return session.command(`AUTH PLAIN ${b64(`\0${user}\0`)}`, timeoutMs);
  const first = await session.command('AUTH LOGIN', timeoutMs);
  if (first.code !== 334) return first;
  const second = await session.command(b64(user), timeoutMs);
  if (second.code !== 334) return second;
  // The empty password: a zero-length response is an empty line (RFC 4954 §4).
  return session.command('', timeoutMs);
}

/** The SASL mechanisms an EHLO reply offers (`250-AUTH PLAIN LOGIN`, and the old `AUTH=` form). */
export function authMechanisms(ehloLines: readonly string[]): string[] {
  const out = new Set<string>();
  for (const l of ehloLines) {
    const m = /^AUTH[ =](.*)$/i.exec(l.trim());
    if (m) for (const mech of m[1].trim().split(/\s+/)) if (mech) out.add(mech.toUpperCase());
  }
  return [...out];
}
