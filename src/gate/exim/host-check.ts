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
 * banner lines never reach the client; standard error is kept per session, for the
 * cause.
 */

/** How long a session's -bh process may outlive its connection before it is killed. */
const CHILD_GRACE_MS = 2_000;
/** Commentary kept per session: a runaway ACL must not fill the memory. */
const MAX_COMMENTARY_LINES = 20_000;

interface HostCheckSession {
  /** One per connection, in order of connection. */
  index: number;
  /** What the client sent, line by line (CRLF dropped). */
  input: string[];
  /** Exim's commentary on standard error (">>> …", "LOG: …"), line by line. */
  commentary: string[];
}

export interface HostCheckListener {
  port: number;
  sessions: HostCheckSession[];
  /** Stops listening and ends every session's process. */
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
  const sessions: HostCheckSession[] = [];
  const children = new Set<ChildProcessWithoutNullStreams>();
  const server = net.createServer((socket) => {
    const session: HostCheckSession = { index: sessions.length + 1, input: [], commentary: [] };
    sessions.push(session);
    children.add(serve(socket, cmd, session, children));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sessions,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...children].map((c) => ended(c)));
    },
  };
}

/** One connection: one -bh process, the socket joined to its stdio. */
function serve(socket: net.Socket, cmd: HostCheckCommand, session: HostCheckSession, children: Set<ChildProcessWithoutNullStreams>): ChildProcessWithoutNullStreams {
  const [bin, ...args] = cmd.argv;
  const child = spawn(bin, args, { env: cmd.env, stdio: ['pipe', 'pipe', 'pipe'] });
  socket.setNoDelay(true);
  const filter = new BannerFilter();
  let inputPartial = '';
  let errPartial = '';
  child.stdout.setEncoding('latin1').on('data', (c: string) => {
    const out = filter.feed(c);
    if (out !== '' && !socket.destroyed) socket.write(Buffer.from(out, 'latin1'));
  });
  child.stderr.setEncoding('latin1').on('data', (c: string) => {
    const lines = (errPartial + c).split('\n');
    errPartial = lines.pop() ?? '';
    for (const l of lines) if (session.commentary.length < MAX_COMMENTARY_LINES) session.commentary.push(l);
  });
  socket.on('data', (d: Buffer) => {
    const lines = (inputPartial + d.toString('latin1')).split('\n');
    inputPartial = lines.pop() ?? '';
    for (const l of lines) session.input.push(l.replace(/\r$/, ''));
    if (child.stdin.writable) child.stdin.write(d);
  });
  child.stdin.on('error', () => undefined);
  socket.on('error', () => undefined);
  // The client left: end of input ends the session; a process that lingers is killed.
  socket.on('close', () => {
    child.stdin.end();
    setTimeout(() => child.kill('SIGTERM'), CHILD_GRACE_MS).unref();
  });
  child.on('error', () => socket.destroy());
  child.on('close', () => {
    if (errPartial !== '') session.commentary.push(errPartial);
    children.delete(child);
    socket.end();
  });
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
