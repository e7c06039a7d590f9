import dns from 'node:dns/promises';
import net from 'node:net';
import type { Settings } from './settings.js';

interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Name → every A and AAAA address; injected so tests can point it elsewhere. */
export type Lookup = (name: string) => Promise<ResolvedAddress[]>;

export const systemLookup: Lookup = async (name) => {
  const all = await dns.lookup(name, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

interface MxRecord {
  exchange: string;
  priority: number;
}

/** DNS as the engine needs it; injected so tests can use a DNS server of their own. */
export interface Resolver {
  lookup: Lookup;
  resolveMx: (domain: string) => Promise<MxRecord[]>;
}

export const systemResolver: Resolver = {
  lookup: systemLookup,
  resolveMx: (domain) => dns.resolveMx(domain),
};

/** A resolver that asks the given DNS servers ("127.0.0.1:5353") for everything, A/AAAA included. */
export function resolverAt(servers: string[]): Resolver {
  const r = new dns.Resolver({ timeout: 2000, tries: 2 });
  r.setServers(servers);
  const settle = async (p: Promise<string[]>): Promise<string[]> => {
    try {
      return await p;
    } catch (e) {
      if (['ENODATA', 'ENOTFOUND'].includes((e as NodeJS.ErrnoException).code ?? '')) return [];
      throw e;
    }
  };
  return {
    resolveMx: (domain) => r.resolveMx(domain),
    lookup: async (name) => {
      const [v4, v6] = await Promise.all([settle(r.resolve4(name)), settle(r.resolve6(name))]);
      if (v4.length + v6.length === 0) throw Object.assign(new Error(`${name} has no A or AAAA record`), { code: 'ENOTFOUND' });
      return [...v4.map((address) => ({ address, family: 4 as const })), ...v6.map((address) => ({ address, family: 6 as const }))];
    },
  };
}

/** How the hosts of a `domain`-only run were found (RFC 5321 §5.1). */
export interface MxDiscovery {
  domain: string;
  /** MX hosts by preference; empty when the domain has none and its own address is used. */
  mx: MxRecord[];
  /** True when there was no MX and the domain itself was tested (implicit MX). */
  implicit: boolean;
}

/**
 * The hosts that receive mail for a domain: its MX hosts by preference, or the
 * domain itself when it has no MX (RFC 5321 §5.1). A null MX (RFC 7505) means
 * the domain takes no mail at all: there is nothing to test.
 */
export async function mxHosts(domain: string, resolver: Resolver): Promise<MxDiscovery> {
  let mx: MxRecord[];
  try {
    // Only the two fields the report's schema has: Node 24's resolver adds `type: 'MX'`.
    mx = (await resolver.resolveMx(domain)).map(({ exchange, priority }) => ({ exchange, priority }));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return { domain, mx: [], implicit: true };
    throw new Error(`MX lookup for ${domain} failed (${code ?? (e instanceof Error ? e.message : String(e))})`);
  }
  if (mx.length === 0) return { domain, mx: [], implicit: true };
  if (mx.length === 1 && (mx[0].exchange === '' || mx[0].exchange === '.')) {
    throw new Error(`${domain} publishes a null MX (RFC 7505): it accepts no mail, so there is no server to test`);
  }
  return { domain, mx: [...mx].sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange)), implicit: false };
}

export interface PlannedTarget {
  host: string;
  port: number;
  /** Absent when the name did not resolve. */
  address?: string;
  error?: string;
}

/** host × port → one entry per address; a name is tested on every address it has. */
export async function planTargets(settings: Pick<Settings, 'hosts' | 'ports'>, lookup: Lookup): Promise<PlannedTarget[]> {
  const out: PlannedTarget[] = [];
  const seen = new Set<string>();
  for (const h of settings.hosts) {
    let addresses: string[];
    let error: string | undefined;
    if (h.kind !== 'name') {
      addresses = [h.host];
    } else {
      try {
        addresses = [...new Set((await lookup(h.host)).map((a) => a.address))];
        if (addresses.length === 0) error = `${h.host} has no A or AAAA address`;
      } catch (e) {
        addresses = [];
        const code = (e as NodeJS.ErrnoException).code;
        error = `${h.host} did not resolve (${code ?? (e instanceof Error ? e.message : String(e))})`;
      }
    }
    for (const port of h.port !== undefined ? [h.port] : settings.ports) {
      if (error) {
        out.push({ host: h.host, port, error });
        continue;
      }
      for (const address of addresses) {
        const key = `${net.isIPv6(address) ? `[${address}]` : address}:${port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ host: h.host, port, address });
      }
    }
  }
  return out;
}
