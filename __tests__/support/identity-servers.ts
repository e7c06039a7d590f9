import net from 'node:net';

/**
 * A stand-in for a SASL backend: it speaks the Dovecot authentication protocol (version
 * 1.2, the one Postfix's `smtpd_sasl_type = dovecot` client uses) on a loopback port and
 * offers `mechanisms` (PLAIN answered at once, LOGIN through two CONT rounds). With
 * `accept` it answers OK to every login, empty password included, like a Dovecot
 * `passdb { driver = static; args = nopassword=y }`; without, FAIL to every one. Postfix
 * is real; only the backend is simulated. It records what each login carried.
 */
export interface AcceptingAuth {
  port: number;
  /** One per login: `PLAIN resp=<base64>` or `LOGIN user=<user> password=<password>`. */
  seen: string[];
  close(): Promise<void>;
}

const fromB64 = (x: string): string => Buffer.from(x, 'base64').toString('latin1');
const toB64 = (x: string): string => Buffer.from(x, 'latin1').toString('base64');

export async function acceptingAuth(opts: { mechanisms?: ('PLAIN' | 'LOGIN')[]; accept?: boolean } = {}): Promise<AcceptingAuth> {
  const mechanisms = opts.mechanisms ?? ['PLAIN'];
  const accept = opts.accept ?? true;
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const answer = (id: string, user: string): string => (accept ? `OK\t${id}\tuser=${user || 'anyone'}\n` : `FAIL\t${id}\tuser=${user}\n`);
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write([`VERSION\t1\t2`, ...mechanisms.map((m) => `MECH\t${m}\tplaintext`), 'SPID\t4242', 'CUID\t1', `COOKIE\t${'0'.repeat(32)}`, 'DONE', ''].join('\n'));
    // LOGIN in progress, by request id: the user once given.
    const login = new Map<string, string | null>();
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const f = buf.slice(0, i).split('\t');
        buf = buf.slice(i + 1);
        if (f[0] === 'AUTH' && f[2] === 'PLAIN') {
          const resp = f.find((x) => x.startsWith('resp='))?.slice(5) ?? '';
          seen.push(`PLAIN resp=${resp}`);
          s.write(answer(f[1], fromB64(resp).split('\0')[1] ?? ''));
        } else if (f[0] === 'AUTH' && f[2] === 'LOGIN') {
          login.set(f[1], null);
          s.write(`CONT\t${f[1]}\t${toB64('Username:')}\n`);
        } else if (f[0] === 'CONT' && login.has(f[1])) {
          const user = login.get(f[1]);
          if (user === null || user === undefined) {
            login.set(f[1], fromB64(f[2] ?? ''));
            s.write(`CONT\t${f[1]}\t${toB64('Password:')}\n`);
          } else {
            login.delete(f[1]);
            seen.push(`LOGIN user=${user} password=${fromB64(f[2] ?? '')}`);
            s.write(answer(f[1], user));
          }
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A forwarder that re-originates each connection from another loopback address (as
 * docker-proxy re-originates from the bridge gateway): the server behind it sees `from`,
 * not 127.0.0.1. Linux routes all of 127.0.0.0/8 to lo, so `from` needs no configuration.
 */
export async function forwarder(from: string, toPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: toPort, localAddress: from });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
