import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/**
 * What the unpacked-MTA harnesses (exim.ts, sendmail.ts, opensmtpd.ts) share: a
 * daemon started in its own process group, waited for until it greets on its
 * loopback port, and stopped with its per-connection children.
 */

/** How long a daemon may take to greet on its port. */
const START_TIMEOUT_MS = 15_000;

/** SIGTERM to the daemon's process group, SIGKILL if it lingers. */
export async function killGroup(child: ChildProcess, exited: Promise<string>): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // Already gone.
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    signal('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!done) {
      signal('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    }
  }
  // Per-connection children may outlive the daemon briefly.
  signal('SIGKILL');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** Polls until the port answers with a 220 greeting (bounded), failing early if the daemon exits. */
export async function waitForGreeting(port: number, exited: Promise<string>): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS;
  let dead: string | undefined;
  void exited.then((why) => (dead = why));
  let last = 'no answer';
  while (Date.now() < until) {
    if (dead) throw new Error(dead);
    const line = await greeting(port).catch((e: Error) => `(${e.message})`);
    if (line.startsWith('220')) return;
    last = line;
    await sleep(100);
  }
  throw new Error(`no 220 greeting within ${START_TIMEOUT_MS / 1000} s (last: ${last})`);
}

/** The first line a server sends, then QUIT. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(buf.split('\n')[0].replace(/\r$/, ''));
    };
    const timer = setTimeout(() => done(new Error('timeout')), 2000);
    sock.on('error', (e) => done(e));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) {
        sock.write('QUIT\r\n');
        done();
      }
    });
    sock.on('close', () => done(new Error('closed before the greeting')));
  });
}
