import net from 'node:net';
import type { Vector } from './vectors.js';

/** What the templates are filled with for one target. */
export interface RenderContext {
  user: string;
  domain: string;
  probe: string;
  helo: string;
  /** The server's address, IPv4 or IPv6 (no brackets). */
  address: string;
  /** Host name from the greeting or EHLO reply; absent when the server gave none. */
  srv?: string;
  /** The mail domain: input `domain`, else derived from srv (see mailDomain). */
  mydomain?: string;
}

/** A vector made concrete for one target: the exact command arguments. */
export interface RenderedVector {
  vector: Vector;
  helo: string;
  mailFrom: string;
  rcptTo: string[];
  /**
   * When the relay destination is addressed to the server itself (user%ext@server,
   * ext!user@server, "user@ext"@server, an unqualified local part), the server
   * name it is addressed to ('' for unqualified). Acceptance of such a form only
   * proves a relay when the server refuses unknown mailboxes there.
   */
  routedVia?: string;
}

/**
 * The domain an envelope address is finally addressed to: source routes and
 * quoted local parts removed, then what follows the last @; '' when there is none.
 */
export function finalDomain(path: string): string {
  const bare = path
    .trim()
    .replace(/^<\s*|\s*>$/g, '')
    .replace(/^@[^:]*:/, '')
    .replace(/"(?:[^"\\]|\\.)*"/g, 'q')
    // user@ext@ is read as user@ext by the servers it fools (OpenSMTPD issue 754).
    .replace(/@$/, '');
  const at = bare.lastIndexOf('@');
  return at < 0 ? '' : bare.slice(at + 1).toLowerCase();
}

export type RenderResult = { ok: true; attempt: RenderedVector } | { ok: false; vector: Vector; reason: string; missing: string };

/** RFC 5321 §4.1.3 address literal: IPv6 needs the `IPv6:` tag. */
export function addressLiteral(address: string): string {
  return net.isIPv6(address) ? `[IPv6:${address}]` : `[${address}]`;
}

const PLACEHOLDER = /\{([a-zA-Z0-9]+)\}/g;

/** Fills one template; returns the name of the first placeholder it cannot fill. */
export function fill(template: string, values: Record<string, string | undefined>): { text: string } | { missing: string } {
  let missing: string | undefined;
  const text = template.replace(PLACEHOLDER, (whole, name: string) => {
    if (!(name in values)) throw new Error(`unknown placeholder ${whole} in template "${template}"`);
    const v = values[name];
    if (v === undefined) {
      missing ??= name;
      return whole;
    }
    return v;
  });
  return missing ? { missing } : { text };
}

const WHY_MISSING: Record<string, string> = {
  srv: 'the server gave no host name in its greeting, EHLO reply or certificate, and was named by an address: set `host` to its name, or `domain`',
  mydomain: 'the mail domain is unknown: set the `domain` input (the server gave no host name to derive it from)',
  untagged6: 'only meaningful on an IPv6 address',
};

/**
 * Placeholders a server may leave unfilled although the vectors that need them apply to it:
 * its name and mail domain. A vector skipped for want of one is untested, not irrelevant
 * (unlike {untagged6} on an IPv4 target), so it cannot leave a run closed.
 */
export const NAME_PLACEHOLDERS: ReadonlySet<string> = new Set(['srv', 'mydomain']);

/** IPv6 literal for any target: its own address, or the IPv4-mapped form (RFC 4291 §2.5.5.2). */
export function ipv6Literal(address: string): string {
  return net.isIPv6(address) ? `[IPv6:${address}]` : `[IPv6:::ffff:${address}]`;
}

/**
 * The mail domain when the user gave none: the parent of the server's name
 * when it has one below a registrable-looking domain (mx.example.org →
 * example.org), else the name itself. The server-name vectors cover the name.
 */
export function mailDomain(srv: string | undefined): string | undefined {
  if (!srv) return undefined;
  const labels = srv.split('.');
  if (labels.length < 3) return srv;
  const parent = labels.slice(1);
  // mx.co.uk must not become co.uk: a common second-level public suffix is no mail domain.
  const publicSuffix = parent.length === 2 && /^(co|com|net|org|ac|gov|edu|ne|or|go)$/.test(parent[0]) && /^[a-z]{2}$/i.test(parent[1]);
  return publicSuffix ? srv : parent.join('.');
}

export function renderVector(vector: Vector, ctx: RenderContext): RenderResult {
  const values: Record<string, string | undefined> = {
    user: ctx.user,
    domain: ctx.domain,
    probe: ctx.probe,
    helo: ctx.helo,
    literal: addressLiteral(ctx.address),
    srv: ctx.srv,
    mydomain: ctx.mydomain,
    domainUpper: ctx.domain.toUpperCase(),
    literal6: ipv6Literal(ctx.address),
    untagged6: net.isIPv6(ctx.address) ? `[${ctx.address}]` : undefined,
  };
  const parts = [vector.helo ?? '{helo}', vector.mailFrom, ...vector.rcptTo].map((t) => fill(t, values));
  for (const p of parts) {
    if ('missing' in p) {
      return { ok: false, vector, reason: `needs {${p.missing}}: ${WHY_MISSING[p.missing] ?? 'no value for it'}`, missing: p.missing };
    }
  }
  const [helo, mailFrom, ...rcptTo] = parts.map((p) => (p as { text: string }).text);
  const attempt: RenderedVector = { vector, helo, mailFrom, rcptTo };
  const via = routedVia(vector.rcptTo[vector.rcptTo.length - 1]);
  if (via !== undefined) attempt.routedVia = via === '' ? '' : (fill(via, values) as { text: string }).text.toLowerCase();
  return { ok: true, attempt };
}

/** Placeholders that name the server itself: a destination there is routed through it. */
const SERVER_PLACEHOLDERS = /^\{(srv|mydomain|literal|literal6|untagged6)\}$/;

/**
 * Whether a recipient template is addressed to the server itself, decided on
 * the template and not on the values: a plain `{user}@{domain}` is the external
 * destination even when the server's guessed mail domain happens to equal it.
 * Returns the placeholder it is addressed to ('' for an unqualified local part).
 */
function routedVia(template: string): string | undefined {
  const d = finalDomain(template);
  if (d === '') return '';
  return SERVER_PLACEHOLDERS.test(d) ? d : undefined;
}

/**
 * The host name a server announces: the first word after the code in the
 * greeting, else in the EHLO reply, when it looks like a domain name.
 */
export function serverName(...lines: (string | undefined)[]): string | undefined {
  for (const line of lines) {
    const word = line?.trim().split(/\s+/)[0];
    if (word && /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+\.?$/i.test(word)) {
      return word.replace(/\.$/, '');
    }
  }
  return undefined;
}
