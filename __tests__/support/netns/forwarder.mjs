// A TCP forwarder that re-originates every connection from its own address, as Docker's
// userland proxy (docker-proxy) does: it listens on LISTEN_ADDR:LISTEN_PORT and connects to
// TO_ADDR:TO_PORT from FROM_ADDR, so the server behind it sees FROM_ADDR, never the client.
// Run inside a network namespace by __tests__/seen-as-netns.test.ts; prints "listening" when ready.
import net from 'node:net';

const [listenAddr, listenPort, fromAddr, toAddr, toPort] = process.argv.slice(2);
const server = net.createServer((client) => {
  const upstream = net.connect({ host: toAddr, port: Number(toPort), localAddress: fromAddr });
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
  client.on('close', end);
  upstream.on('close', end);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(Number(listenPort), listenAddr, () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));
