import dns from 'node:dns/promises';
import net from 'node:net';
import type { Settings } from './settings.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Name → every A and AAAA address; injected so tests can point it elsewhere. */
export type Lookup = (name: string) => Promise<ResolvedAddress[]>;

export const systemLookup: Lookup = async (name) => {
  const all = await dns.lookup(name, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

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
