import net from 'node:net';
import { echoedAddress, silentRow } from '../mta/echo.js';
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

/** The lines of the last EHLO exchange: after XCLIENT or STARTTLS the server greets anew. */
function lastEhlo(opening: readonly TranscriptLine[]): { name: string; firstLine: string | null } | null {
  const ehloAt = opening.map((l, i) => (l.dir === 'C' && /^EHLO /i.test(l.text) ? i : -1)).filter((i) => i >= 0);
  const start = ehloAt.at(-1);
  if (start === undefined) return null;
  const reply = opening.slice(start + 1).find((l) => l.dir === 'S' && /^\d{3}[- ]/.test(l.text));
  return { name: opening[start].text.slice(5).trim(), firstLine: reply && /^250[- ]/.test(reply.text) ? reply.text : null };
}

/** The address an EHLO reply's first line names ("250-mx Hello name [192.0.2.1]"), and the echo row that read it. */
export function echoInEhlo(opening: readonly TranscriptLine[]): { address: string; rule: string } | null {
  const line = lastEhlo(opening)?.firstLine;
  return line ? echoedAddress(line) : null;
}

const bare = (a: string): string => a.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

/**
 * Whether the address the server saw was made by something in between: a trusted-by-default
 * address that is not ours, for a connection to a public address (a runner on the Docker host
 * that connects to the container's bridge address is seen as the gateway, and rightly).
 */
export function proxiedView(target: string | null, connectedFrom: string | null, seenAs: string | null): boolean {
  if (seenAs === null || target === null) return false;
  const to = networkKind(target);
  if (to === null || trustedByDefault(to) || !trustedByDefault(networkKind(seenAs))) return false;
  return connectedFrom === null || bare(connectedFrom) !== bare(seenAs);
}

/** Whether XCLIENT was sent and accepted in this opening (Postfix answers 220 with a new greeting). */
function xclientAccepted(opening: readonly TranscriptLine[]): boolean {
  const i = opening.findIndex((l) => l.dir === 'C' && /^XCLIENT /i.test(l.text));
  return i >= 0 && opening.slice(i + 1).find((l) => l.dir === 'S')?.text.startsWith('220') === true;
}

interface Opened {
  localAddress?: string | null;
  opening: readonly TranscriptLine[];
  /** The address we connected to, and when the session started. */
  target?: string | null;
  at?: string | null;
}

export function vantageOf(t: Opened, clientAddress: string | null): Vantage {
  const connectedFrom = t.localAddress ?? null;
  const echo = echoInEhlo(t.opening);
  const seenAs = echo?.address ?? null;
  const xclient = clientAddress !== null && xclientAccepted(t.opening) ? clientAddress : null;
  const effective = xclient ?? seenAs ?? connectedFrom;
  return {
    connectedFrom,
    seenAs,
    echo: echo?.rule ?? null,
    helo: lastEhlo(t.opening)?.name ?? null,
    at: t.at ?? null,
    proxied: xclient === null && proxiedView(t.target ?? null, connectedFrom, seenAs),
    xclient,
    effective,
    network: effective === null ? null : networkKind(effective),
  };
}

/** What an address the server saw stands for, in words: "a container bridge gateway". */
export function seenAsKind(address: string): string {
  const kind = networkKind(address);
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(address)?.slice(1).map(Number);
  // Docker gives each bridge network a /16 out of 172.16.0.0/12 (172.17.0.0/16 for the default bridge) and its host end .0.1.
  if (v4 && v4[0] === 172 && v4[1] >= 16 && v4[1] <= 31 && v4[2] === 0 && v4[3] === 1) return 'a container bridge gateway';
  if (v4 && v4[0] === 172 && v4[1] === 17) return "an address on Docker's default bridge";
  if (kind === 'loopback') return "a loopback address: a proxy on the server's own host";
  if (kind === 'cgnat') return 'a carrier-grade NAT address';
  if (kind === 'link-local') return 'a link-local address';
  return 'a private address: a load balancer, an ingress or a NAT in front of the server';
}

/**
 * The sentence said first when `proxied`: the server judged every outside client as the
 * address in between. Plain text with `backticks` for code (renderers escape the rest).
 */
export function proxiedSentence(v: Pick<Vantage, 'seenAs' | 'proxied'>): string | null {
  if (!v.proxied || v.seenAs === null) return null;
  return `The server saw you as ${v.seenAs} (${seenAsKind(v.seenAs)}): every outside client arrives as this address; if it is trusted (\`mynetworks\`, \`relay_from_hosts\`, \`Connect: RELAY\`, \`match from src\`), anyone can relay.`;
}

/**
 * When the server named no address: "unknown", and what finds our session in its log (our EHLO
 * name and the time; Postfix logs "connect from name[address]" as the session opens).
 */
export function unseenSentence(v: Pick<Vantage, 'seenAs' | 'xclient' | 'helo' | 'at'>, mta: string | null): string | null {
  if (v.seenAs !== null || v.xclient !== null) return null;
  const why = silentRow(mta) ? `${mta} names no address in its EHLO reply` : 'it named no address in its EHLO reply';
  const find = [v.helo ? `EHLO \`${v.helo}\`` : null, v.at ? `at ${v.at}` : null].filter((x): x is string => x !== null).join(', ');
  return `unknown (${why}); to find it, look for this session in the server's log${find ? ` (${find})` : ''}${mta === 'Postfix' ? ': Postfix logs `connect from name[address]` as it opens' : ''}`;
}
