import net from 'node:net';
import { run } from './engine.js';
import { renderTerminal } from './report/terminal.js';
import { parseSettings } from './settings.js';

/**
 * `npm run demo`: two tiny SMTP servers on loopback, one that relays for
 * anyone and one that only takes mail for its own domain, and relay-check run
 * against both. Nothing leaves the machine: the servers store nothing and
 * deliver nothing; they only answer.
 */

export interface DemoServer {
  port: number;
  close(): Promise<void>;
}

/** A minimal SMTP responder, enough to show both verdicts without a real MTA. */
export async function startDemoServer(kind: 'open' | 'closed', name: string, where: { address?: '127.0.0.1' | '::1'; port?: number } = {}): Promise<DemoServer> {
  const own = [name, name.split('.').slice(1).join('.'), '[127.0.0.1]'];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveDemoSession(socket, { kind, name, own, inData: false, mail: false, say: (line) => socket.write(`${line}\r\n`) });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // SAFETY: loopback only, whatever the caller asks.
    server.listen(where.port ?? 0, where.address ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** One demo connection: who answers, and where its transaction stands. */
interface DemoSession {
  kind: 'open' | 'closed';
  name: string;
  /** The domains it takes mail for (demoRecipient's `own`). */
  own: string[];
  inData: boolean;
  mail: boolean;
  say: (line: string) => void;
}

/** The greeting, then one answer per line received; a line longer than 64 KiB ends the connection. */
function serveDemoSession(socket: net.Socket, s: DemoSession): void {
  socket.setEncoding('latin1');
  let buffer = '';
  s.say(`220 ${s.name} ESMTP relay-check demo (${s.kind})`);
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > 65536) return socket.destroy();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (demoLine(s, line) === 'quit') {
        socket.end();
        return;
      }
    }
  });
  socket.on('error', () => socket.destroy());
}

/** Answers one line: message text until the lone dot, else a command. */
function demoLine(s: DemoSession, line: string): 'quit' | null {
  if (s.inData) {
    if (line === '.') {
      s.inData = false;
      s.mail = false;
      s.say('250 2.0.0 Ok: queued as DEMO (and thrown away)');
    }
    return null;
  }
  const verb = line.split(/[\s:]/)[0].toUpperCase();
  switch (verb) {
    case 'EHLO':
      s.say(`250-${s.name}`);
      s.say('250-PIPELINING');
      s.say('250 8BITMIME');
      break;
    case 'HELO':
      s.say(`250 ${s.name}`);
      break;
    case 'MAIL':
      s.mail = true;
      s.say('250 2.1.0 Ok');
      break;
    case 'RCPT':
      s.say(rcptAnswer(s, line));
      break;
    case 'DATA':
      s.inData = true;
      s.say('354 End data with <CR><LF>.<CR><LF>');
      break;
    case 'RSET':
      s.mail = false;
      s.say('250 2.0.0 Ok');
      break;
    case 'NOOP':
      s.say('250 2.0.0 Ok');
      break;
    case 'QUIT':
      s.say('221 2.0.0 Bye');
      return 'quit';
    default:
      s.say('502 5.5.2 Error: command not recognized');
  }
  return null;
}

function rcptAnswer(s: DemoSession, line: string): string {
  if (!s.mail) return '503 5.5.1 Error: need MAIL command';
  const addr = line.slice(line.indexOf(':') + 1).trim();
  const verdict = demoRecipient(s.kind, addr, s.own);
  return verdict === 'accept' ? '250 2.1.5 Ok' : verdict === 'unknown' ? `550 5.1.1 ${addr}: Recipient address rejected: User unknown` : `554 5.7.1 ${addr}: Relay access denied`;
}

/**
 * How the demo servers answer RCPT TO. Both know one local mailbox
 * (postmaster) at their own names. The open one relays everything else,
 * reading %, ! and quoted forms as the external addresses they hide, as a
 * careless MTA would; the closed one refuses anything not local.
 */
export function demoRecipient(kind: 'open' | 'closed', path: string, own: string[]): 'accept' | 'unknown' | 'relay-denied' {
  const bare = path.replace(/^<\s*|\s*>$/g, '').toLowerCase();
  const at = bare.lastIndexOf('@');
  const local = at < 0 ? bare : bare.slice(0, at);
  const domain = at < 0 ? '' : bare.slice(at + 1);
  const toSelf = domain === '' || own.map((o) => o.toLowerCase()).includes(domain);
  const hidesExternal = /[%!"]/.test(local) || local.includes('@') || bare.startsWith('@');
  if (toSelf && !hidesExternal) return local === 'postmaster' ? 'accept' : 'unknown';
  return kind === 'open' ? 'accept' : 'relay-denied';
}

async function demo(): Promise<void> {
  const color = Boolean(process.stdout.isTTY);
  const open = await startDemoServer('open', 'mx.open-demo.test');
  const closed = await startDemoServer('closed', 'mx.closed-demo.test');
  try {
    for (const [label, server] of [
      ['a deliberately open relay', open],
      ['a closed server', closed],
    ] as const) {
      process.stdout.write(`\n=== relay-check 127.0.0.1 --port ${server.port}   (${label}, in-process demo server)\n\n`);
      const report = await run(parseSettings({ host: '127.0.0.1', port: String(server.port), timeout: '30' }));
      process.stdout.write(renderTerminal(report, { color, verbose: label.includes('closed') }));
    }
  } finally {
    await open.close();
    await closed.close();
  }
}

if (process.argv[1] && /demo\.(js|ts)$/.test(process.argv[1])) {
  await demo();
}
