import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, type Availability } from './postfix.js';

/** Debian's postgrey, run in the foreground on a loopback port with its own database. */
const POSTGREY = '/usr/sbin/postgrey';

export function postgreyAvailable(): Availability {
  if (!fs.existsSync(POSTGREY)) return { ok: false, why: `${POSTGREY} not found: install the Debian package "postgrey"` };
  if (spawnSync('getent', ['passwd', 'postgrey']).status !== 0) return { ok: false, why: 'the system user "postgrey" does not exist' };
  return { ok: true };
}

export interface RunningPostgrey {
  port: number;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`postgrey exited with ${child.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`postgrey did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** Starts postgrey with a short delay; the caller points Postfix's check_policy_service at the port. */
export async function startPostgrey(delaySeconds: number): Promise<RunningPostgrey> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-postgrey-'));
  fs.chmodSync(dir, 0o755);
  const db = path.join(dir, 'db');
  fs.mkdirSync(db);
  spawnSync('chown', ['postgrey', db]);
  // Empty whitelists: the stock ones could whitelist the test client.
  const empty = path.join(dir, 'empty');
  fs.writeFileSync(empty, '');
  const port = await freePort();
  const child = spawn(
    POSTGREY,
    [
      `--inet=127.0.0.1:${port}`,
      `--delay=${delaySeconds}`,
      `--dbdir=${db}`,
      '--user=postgrey',
      `--whitelist-clients=${empty}`,
      `--whitelist-recipients=${empty}`,
      '--auto-whitelist-clients=0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(port, 15_000, child);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e instanceof Error ? e.message : String(e)}: ${stderr.slice(-2000)}`);
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r(undefined);
          }, 5000);
          child.once('exit', () => {
            clearTimeout(t);
            r(undefined);
          });
        });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
