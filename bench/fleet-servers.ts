/**
 * Child process of the benchmark: N closed SMTP listeners on loopback (the
 * demo's closed server), ports printed as one JSON line. Stops when its
 * parent closes stdout or after five minutes, whichever comes first.
 */
import { startDemoServer, type DemoServer } from '../src/demo.js';

const count = Math.min(Number(process.argv[2] ?? 200), 1000);
const servers: DemoServer[] = [];
for (let i = 0; i < count; i++) servers.push(await startDemoServer('closed', `mx${i}.fleet.test`));
process.stdout.write(`${JSON.stringify(servers.map((s) => s.port))}\n`);
const stop = async (): Promise<void> => {
  await Promise.all(servers.map((s) => s.close()));
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
setTimeout(() => void stop(), 5 * 60_000).unref();
setInterval(() => undefined, 60_000);
