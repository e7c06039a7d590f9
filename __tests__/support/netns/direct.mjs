// A direct SMTP session for the expected verdict, run inside the client's network namespace by
// __tests__/seen-as-netns.test.ts (independent of relay-check's own client): greeting, EHLO,
// MAIL FROM, RCPT TO an outside address, QUIT. Prints {transcript, ehlo, rcpt} as JSON.
// With --greeting, only waits for the 220 (bounded) and quits: "is the server up yet".
import net from 'node:net';

const [host, port, mode] = process.argv.slice(2);
const REPLY_TIMEOUT_MS = 10_000;
const transcript = [];
const sock = net.connect({ host, port: Number(port) });
let buffer = '';
let waiting = null;
sock.on('data', (d) => {
  buffer += d.toString('latin1');
  waiting?.();
});
const fail = (why) => {
  process.stdout.write(`${JSON.stringify({ error: why, transcript })}\n`);
  process.exit(1);
};
sock.on('error', (e) => fail(e.code ?? e.message));
sock.setTimeout(REPLY_TIMEOUT_MS, () => fail('timeout'));

/** The next whole reply (until a "NNN " line). */
function reply() {
  return new Promise((resolve) => {
    const check = () => {
      const lines = buffer.split('\r\n');
      const last = lines.findIndex((l) => /^\d{3} /.test(l));
      if (last < 0) return;
      const got = lines.slice(0, last + 1);
      buffer = lines.slice(last + 1).join('\r\n');
      waiting = null;
      for (const l of got) transcript.push(`S: ${l}`);
      resolve(got);
    };
    waiting = check;
    check();
  });
}
async function command(line) {
  transcript.push(`C: ${line}`);
  sock.write(`${line}\r\n`);
  return reply();
}

const greeting = await reply();
if (mode === '--greeting') {
  await command('QUIT');
  process.stdout.write(`${JSON.stringify({ greeting: greeting.join('\n'), transcript })}\n`);
  process.exit(0);
}
const ehlo = await command('EHLO direct.example.org');
await command('MAIL FROM:<someone@example.org>');
const rcpt = await command('RCPT TO:<relay-check@example.com>');
await command('QUIT');
process.stdout.write(`${JSON.stringify({ ehlo: ehlo[0], rcpt: rcpt.join(' / '), transcript })}\n`);
sock.destroy();
