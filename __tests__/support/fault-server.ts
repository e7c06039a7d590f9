import net from 'node:net';

/**
 * A TCP server on loopback whose behaviour is one function per connection:
 * the raw material for servers that misbehave in ways Postfix never will.
 * Every socket is destroyed on close(), and timers registered through `later`
 * are cleared, so a test cannot leave a tarpit running.
 */
export interface FaultServer {
  port: number;
  connections: number;
  close(): Promise<void>;
}

export interface FaultContext {
  socket: net.Socket;
  /** setTimeout that close() cancels. */
  later(ms: number, fn: () => void): void;
  /** Calls fn for each complete line the client sends. */
  onLine(fn: (line: string) => void): void;
  /** 1-based index of this connection. */
  index: number;
}

export async function startFaultServer(behave: (ctx: FaultContext) => void): Promise<FaultServer> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    state.connections++;
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    const lineHandlers: ((line: string) => void)[] = [];
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        for (const h of lineHandlers) h(line);
      }
    });
    behave({
      socket,
      index: state.connections,
      later: (ms, fn) => {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!socket.destroyed) fn();
        }, ms);
        timers.add(t);
      },
      onLine: (fn) => lineHandlers.push(fn),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A well-behaved closed responder used inside fault scenarios (e.g. "drop after every second command"). */
export function closedResponder(ctx: FaultContext, opts: { name?: string; pipelining?: boolean } = {}): (line: string) => void {
  const say = (l: string): void => {
    if (!ctx.socket.destroyed) ctx.socket.write(`${l}\r\n`);
  };
  const name = opts.name ?? 'mx.fault.test';
  return (line: string) => {
    const verb = line.split(/[\s:]/)[0].toUpperCase();
    if (verb === 'EHLO') {
      say(`250-${name}`);
      say(opts.pipelining === false ? '250 8BITMIME' : '250 PIPELINING');
    } else if (verb === 'HELO') say(`250 ${name}`);
    else if (verb === 'MAIL' || verb === 'RSET') say('250 2.0.0 Ok');
    else if (verb === 'RCPT') say(`554 5.7.1 ${line.slice(line.indexOf(':') + 1)}: Relay access denied`);
    else if (verb === 'QUIT') {
      say('221 2.0.0 Bye');
      ctx.socket.end();
    } else say('502 5.5.2 Error: command not recognized');
  };
}
