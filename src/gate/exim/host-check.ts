import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';

/**
 * Exim's host-checking mode (`exim -bh ADDRESS`, the Exim specification's "-bh" and
 * `exim_checkaccess`) behind a loopback listener: every connection the engine opens
 * is one `-bh` process, whose standard input and output carry the SMTP session "as
 * if from ADDRESS", through the configuration's ACLs, with nothing delivered. The
 * engine's sessions, pool and budget run unchanged over it, as over a socket; the
 * listener only joins the socket to the child's stdio.
 *
 * What -bh writes beside SMTP (measured on Exim 4.96): a banner on standard output
 * before the greeting ("**** SMTP testing session as if from host 203.0.113.10", an
 * empty line) and "**** SMTP testing: that is not a real message id!" after DATA;
 * its commentary (">>> processing "accept" (/conf 123)", ">>> accept: condition test
 * succeeded in ACL "acl_check_rcpt"") and "LOG:" lines on standard error. The
 * banner lines never reach the client. The cause (cause.ts) replays a relayed attempt in a
 * session of its own and reads that one's standard error.
 */

/** How long a session's -bh process may outlive its connection before it is stopped. */
const CHILD_GRACE_MS = 2_000;

export interface HostCheckListener {
  port: number;
  /** Stops listening, ends every session's process and connection. */
  close(): Promise<void>;
}

export interface HostCheckCommand {
  /** The command and its arguments, up to and including `-bh ADDRESS`. */
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
}

/** A line -bh writes on standard output that is not SMTP (the banner, the DATA note). */
function isHostCheckBanner(line: string): boolean {
  return line.startsWith('**** ') || line === '';
}

/**
 * Standard output of -bh without its banner lines: SMTP replies only (a reply line is
 * never empty, and none starts with "**** "). Keeps a partial last line for the next chunk.
 */
class BannerFilter {
  private partial = '';

  feed(chunk: string): string {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    let out = '';
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '');
      if (!isHostCheckBanner(line)) out += `${line}\r\n`;
    }
    return out;
  }
}

/** Starts the listener on 127.0.0.1 (an ephemeral port). */
export async function listenHostCheck(cmd: HostCheckCommand): Promise<HostCheckListener> {
  const live = new Map<net.Socket, ChildProcessWithoutNullStreams>();
  const server = net.createServer((socket) => {
    const child = serve(socket, cmd);
    live.set(socket, child);
    child.on('close', () => live.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...live.values()].map((c) => ended(c)));
      for (const socket of live.keys()) socket.destroy();
      await closed;
    },
  };
}

/** One connection: one -bh process, the socket joined to its stdio; its commentary (standard error) read and let go. */
function serve(socket: net.Socket, cmd: HostCheckCommand): ChildProcessWithoutNullStreams {
  const [bin, ...args] = cmd.argv;
  const child = spawn(bin, args, { env: cmd.env, stdio: ['pipe', 'pipe', 'pipe'] });
  socket.setNoDelay(true);
  const filter = new BannerFilter();
  child.stdout.setEncoding('latin1').on('data', (c: string) => {
    const out = filter.feed(c);
    if (out !== '' && !socket.destroyed) socket.write(Buffer.from(out, 'latin1'));
  });
  // Read, or a chatty session would block on a full pipe.
  child.stderr.resume();
  socket.on('data', (d: Buffer) => {
    if (child.stdin.writable) child.stdin.write(d);
  });
  child.stdin.on('error', () => undefined);
  socket.on('error', () => undefined);
  // The client left: end of input ends the session; a process that lingers is stopped.
  socket.on('close', () => {
    child.stdin.end();
    setTimeout(() => child.kill('SIGTERM'), CHILD_GRACE_MS).unref();
  });
  child.on('error', () => socket.destroy());
  child.on('close', () => socket.end());
  return child;
}

function ended(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('close', () => resolve());
    child.stdin.end();
    setTimeout(() => child.kill('SIGTERM'), CHILD_GRACE_MS).unref();
  });
}
