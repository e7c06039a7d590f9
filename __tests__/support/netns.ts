import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Availability } from './describe-mta.js';

/**
 * Network namespaces of a test's own (iproute2 `ip netns`, as root), wired so that a client, a
 * "Docker host" and a "container" talk over addresses that exist only inside them:
 *
 *   client ns  c0 192.0.2.99/24 ── h0 192.0.2.1/24   host ns   d0 172.17.0.1/16 ── e0 172.17.0.2/16  box ns
 *
 * No namespace has a default route and none is joined to the machine's own network (a new
 * namespace has forwarding off), so nothing in them can reach a real address: the client cannot
 * even reach the box, only the host's 192.0.2.1. TEST-NET-1 (RFC 5737) stands for a public
 * address; 172.17.0.1/16 is Docker's default bridge.
 */

const IP = 'ip';
const CMD_TIMEOUT_MS = 10_000;

export const CLIENT_ADDR = '192.0.2.99';
export const HOST_PUBLIC_ADDR = '192.0.2.1';
export const GATEWAY_ADDR = '172.17.0.1';
export const BOX_ADDR = '172.17.0.2';

export interface Namespaces {
  client: string;
  host: string;
  box: string;
  /** Starts a process inside a namespace (its own process group, so it can be ended with its children). */
  spawnIn(ns: string, argv: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Runs a process inside a namespace to its end (bounded), returning its stdout. */
  runIn(ns: string, argv: readonly string[], timeoutMs?: number): { status: number | null; stdout: string; stderr: string };
  /** Deletes the namespaces (their interfaces go with them). */
  remove(): void;
}

function ip(args: readonly string[]): void {
  const r = spawnSync(IP, args, { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

let probed: Availability | undefined;

/** Whether namespaces can be made here: Linux, root, iproute2 with netns and veth (probed once by making a pair). */
export function netnsAvailable(): Availability {
  probed ??= probe();
  return probed;
}

function probe(): Availability {
  if (process.platform !== 'linux') return { ok: false, why: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'creating network namespaces needs root' };
  const which = spawnSync(IP, ['-V'], { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
  if (which.error || which.status !== 0) return { ok: false, why: 'no `ip` (iproute2): apt-get install iproute2' };
  const a = `rc-probe-${process.pid}-a`;
  const b = `rc-probe-${process.pid}-b`;
  try {
    ip(['netns', 'add', a]);
    ip(['netns', 'add', b]);
    ip(['-n', a, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1', 'netns', b]);
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `cannot create network namespaces here: ${(e as Error).message}` };
  } finally {
    for (const n of [a, b]) spawnSync(IP, ['netns', 'del', n], { timeout: CMD_TIMEOUT_MS });
  }
}

/** A veth pair between two namespaces, addressed and up. */
function wire(a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string): void {
  ip(['-n', a, 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b]);
  ip(['-n', a, 'addr', 'add', aAddr, 'dev', aIf]);
  ip(['-n', b, 'addr', 'add', bAddr, 'dev', bIf]);
  ip(['-n', a, 'link', 'set', aIf, 'up']);
  ip(['-n', b, 'link', 'set', bIf, 'up']);
}

/** Makes the three namespaces above; names carry the pid and `label`, so parallel test files and blocks do not meet. */
export function makeNamespaces(label: string): Namespaces {
  const tag = `rc-${label}-${process.pid}`;
  const names = { client: `${tag}-client`, host: `${tag}-host`, box: `${tag}-box` };
  const remove = (): void => {
    for (const n of Object.values(names)) spawnSync(IP, ['netns', 'del', n], { timeout: CMD_TIMEOUT_MS });
  };
  try {
    for (const n of Object.values(names)) {
      ip(['netns', 'add', n]);
      ip(['-n', n, 'link', 'set', 'lo', 'up']);
    }
    wire(names.client, 'c0', `${CLIENT_ADDR}/24`, names.host, 'h0', `${HOST_PUBLIC_ADDR}/24`);
    wire(names.host, 'd0', `${GATEWAY_ADDR}/16`, names.box, 'e0', `${BOX_ADDR}/16`);
  } catch (e) {
    remove();
    throw e;
  }
  return {
    ...names,
    spawnIn: (ns, argv, env) => spawn(IP, ['netns', 'exec', ns, ...argv], { env: env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }),
    runIn: (ns, argv, timeoutMs = 60_000) => {
      const r = spawnSync(IP, ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
      return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
    },
    remove,
  };
}

/** The routes of a namespace, for the test that none leads out. */
export function routesOf(ns: Namespaces, name: string): string {
  // A failed `ip route show` prints nothing, which would read as "no route out": it throws instead.
  const show = (args: string[]): string => {
    const r = ns.runIn(name, [IP, ...args], CMD_TIMEOUT_MS);
    if (r.status !== 0) throw new Error(`${IP} ${args.join(' ')} in ${name}: exit ${r.status}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  return show(['route', 'show']) + show(['-6', 'route', 'show']);
}
