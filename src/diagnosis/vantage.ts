import net from 'node:net';
import type { TranscriptLine } from '../smtp/session.js';
import type { NetworkKind, Vantage } from '../model/diagnosis.js';
export type { NetworkKind, Vantage } from '../model/diagnosis.js';

/** What kind of network an address is in; null for what is not an address. */
export function networkKind(address: string): NetworkKind | null {
  let a = address.toLowerCase().replace(/^\[|\]$/g, '').replace(/^ipv6:/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) a = mapped[1];
  if (net.isIPv4(a)) {
    const [x, y, z] = a.split('.').map(Number);
    if (x === 127) return 'loopback';
    if (x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168)) return 'private';
    if (x === 100 && y >= 64 && y <= 127) return 'cgnat';
    if (x === 169 && y === 254) return 'link-local';
    // RFC 5737: relay-check's own stand-in for an outsider (203.0.113.10).
    if ((x === 192 && y === 0 && z === 2) || (x === 198 && y === 51 && z === 100) || (x === 203 && y === 0 && z === 113)) return 'documentation';
    return 'public';
  }
  if (net.isIPv6(a)) {
    if (a === '::1') return 'loopback';
    if (/^f[cd]/.test(a)) return 'private';
    if (/^fe[89ab]/.test(a)) return 'link-local';
    if (/^2001:0?db8:/.test(a)) return 'documentation';
    return 'public';
  }
  return null;
}

/** Networks servers commonly trust by default: a relay accepted from there may be by design. */
export function trustedByDefault(kind: NetworkKind | null): boolean {
  return kind === 'loopback' || kind === 'private' || kind === 'cgnat' || kind === 'link-local';
}

/** The address in an EHLO reply's first line ("250-mx Hello name [192.0.2.1]"), if it holds one. */
export function addressInEhlo(opening: readonly TranscriptLine[]): string | null {
  // The last EHLO reply counts: after XCLIENT or STARTTLS the server greets anew.
  const ehloAt = opening.map((l, i) => (l.dir === 'C' && /^EHLO /i.test(l.text) ? i : -1)).filter((i) => i >= 0);
  const start = ehloAt.at(-1);
  if (start === undefined) return null;
  const reply = opening.slice(start + 1).find((l) => l.dir === 'S' && /^250[- ]/.test(l.text));
  const m = reply && /\[(?:IPv6:)?([0-9a-fA-F:.]+)\]/.exec(reply.text);
  return m && net.isIP(m[1]) ? m[1] : null;
}

/** Whether XCLIENT was sent and accepted in this opening (Postfix answers 220 with a new greeting). */
function xclientAccepted(opening: readonly TranscriptLine[]): boolean {
  const i = opening.findIndex((l) => l.dir === 'C' && /^XCLIENT /i.test(l.text));
  return i >= 0 && opening.slice(i + 1).find((l) => l.dir === 'S')?.text.startsWith('220') === true;
}

export function vantageOf(t: { localAddress?: string | null; opening: readonly TranscriptLine[] }, clientAddress: string | null): Vantage {
  const connectedFrom = t.localAddress ?? null;
  const seenAs = addressInEhlo(t.opening);
  const xclient = clientAddress !== null && xclientAccepted(t.opening) ? clientAddress : null;
  const effective = xclient ?? seenAs ?? connectedFrom;
  return { connectedFrom, seenAs, xclient, effective, network: effective === null ? null : networkKind(effective) };
}
