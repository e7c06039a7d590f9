import net from 'node:net';

/**
 * A stand-in for a SASL backend that accepts any credential: it speaks the Dovecot
 * authentication protocol (version 1.2, the one Postfix's `smtpd_sasl_type = dovecot`
 * client uses) on a loopback port and answers OK to every AUTH, empty password included,
 * like a Dovecot `passdb { driver = static; args = nopassword=y }`. Postfix is real; only
 * the backend's mistake is simulated. It records every AUTH line it saw.
 */
export interface AcceptingAuth {
  port: number;
  /** The AUTH requests, as Postfix sent them (mechanism and the base64 response). */
  seen: string[];
  close(): Promise<void>;
}

export async function acceptingAuth(): Promise<AcceptingAuth> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(['VERSION\t1\t2', 'MECH\tPLAIN\tplaintext', 'SPID\t4242', 'CUID\t1', `COOKIE\t${'0'.repeat(32)}`, 'DONE', ''].join('\n'));
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const f = line.split('\t');
        if (f[0] !== 'AUTH') continue;
        seen.push(`${f[2]} ${f.find((x) => x.startsWith('resp=')) ?? '(no response)'}`);
        const user = Buffer.from((f.find((x) => x.startsWith('resp=')) ?? 'resp=').slice(5), 'base64').toString('latin1').split('\0')[1] || 'anyone';
        s.write(`OK\t${f[1]}\tuser=${user}\n`);
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
