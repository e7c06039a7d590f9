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
  const localDomain = name.split('.').slice(1).join('.');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('latin1');
    let buffer = '';
    let inData = false;
    let mail = false;
    const say = (line: string): boolean => socket.write(`${line}\r\n`);
    say(`220 ${name} ESMTP relay-check demo (${kind})`);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 65536) return socket.destroy();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (inData) {
          if (line === '.') {
            inData = false;
            mail = false;
            say('250 2.0.0 Ok: queued as DEMO (and thrown away)');
          }
          continue;
        }
        const verb = line.split(/[\s:]/)[0].toUpperCase();
        switch (verb) {
          case 'EHLO':
            say(`250-${name}`);
            say('250-PIPELINING');
            say('250 8BITMIME');
            break;
          case 'HELO':
            say(`250 ${name}`);
            break;
          case 'MAIL':
            mail = true;
            say('250 2.1.0 Ok');
            break;
          case 'RCPT': {
            if (!mail) {
              say('503 5.5.1 Error: need MAIL command');
              break;
            }
            const addr = line.slice(line.indexOf(':') + 1).trim();
            const verdict = demoRecipient(kind, addr, [name, localDomain, '[127.0.0.1]']);
            say(verdict === 'accept' ? '250 2.1.5 Ok' : verdict === 'unknown' ? `550 5.1.1 ${addr}: Recipient address rejected: User unknown` : `554 5.7.1 ${addr}: Relay access denied`);
            break;
          }
          case 'DATA':
            inData = true;
            say('354 End data with <CR><LF>.<CR><LF>');
            break;
          case 'RSET':
            mail = false;
            say('250 2.0.0 Ok');
            break;
          case 'NOOP':
            say('250 2.0.0 Ok');
            break;
          case 'QUIT':
            say('221 2.0.0 Bye');
            socket.end();
            return;
          default:
            say('502 5.5.2 Error: command not recognized');
        }
      }
    });
    socket.on('error', () => socket.destroy());
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
