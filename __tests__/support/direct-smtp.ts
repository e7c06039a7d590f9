import net from 'node:net';
import tls from 'node:tls';

/**
 * A tiny raw SMTP client, independent of relay-check's own, for establishing a
 * service's expected verdict by a direct session before asserting relay-check's:
 * greeting, EHLO, STARTTLS or implicit TLS as the service needs, XCLIENT, EHLO,
 * MAIL FROM, RCPT TO. 2xx to RCPT is open; a refusal by policy is closed.
 */

export const OUTSIDER = '203.0.113.10';
export const PROBE_FROM = 'someone@example.org';
export const PROBE_TO = 'relay-check@example.com';
const DIRECT_HELO = 'client.example.org';
/** One reply of a direct session; postscreen's greeting may take postscreen_greet_wait first. */
const REPLY_TIMEOUT_MS = 20_000;

export type Verdict = 'open' | 'closed';
type Mode = 'plain' | 'starttls' | 'implicit';

// ---------------------------------------------------------------------------
// A tiny raw SMTP client, independent of relay-check's, for the expected verdicts

export interface Reply {
  code: number;
  text: string;
}

export class Wire {
  private lines: string[] = [];
  private partial = '';
  private closed: string | null = null;
  private wake: (() => void) | null = null;
  readonly transcript: string[] = [];
  private socket!: net.Socket;
  private onData = (d: Buffer): void => {
    this.partial += d.toString('latin1');
    if (this.partial.length > 65536) this.fail('reply too long');
    let i: number;
    while ((i = this.partial.indexOf('\n')) >= 0) {
      this.lines.push(this.partial.slice(0, i).replace(/\r$/, ''));
      this.partial = this.partial.slice(i + 1);
    }
    this.poke();
  };

  constructor(socket: net.Socket) {
    this.attach(socket);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private fail(why: string): void {
    this.closed ??= why;
    this.poke();
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('error', (e) => this.fail(`error: ${e.message}`));
    socket.on('close', () => this.fail('connection closed'));
  }

  /** The next whole reply (multi-line until "NNN "), or an error with the transcript. */
  async reply(timeoutMs = REPLY_TIMEOUT_MS): Promise<Reply> {
    const until = Date.now() + timeoutMs;
    const got: string[] = [];
    for (;;) {
      while (this.lines.length) {
        const l = this.lines.shift() as string;
        this.transcript.push(`S: ${l}`);
        got.push(l);
        const m = /^(\d{3})([ -])/.exec(l);
        if (!m) throw new Error(`not an SMTP reply line: ${JSON.stringify(l)}`);
        if (m[2] === ' ') return { code: Number(m[1]), text: got.join(' / ') };
      }
      if (this.closed) throw new Error(`no reply: ${this.closed}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async command(line: string): Promise<Reply> {
    this.transcript.push(`C: ${line}`);
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS accepted: continue the session inside TLS (certificates are not checked: a throwaway self-signed pair). */
  async upgrade(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const secure = tls.connect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.transcript.push(`-- TLS ${secure.getProtocol()}`);
    this.attach(secure);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

export interface DirectOptions {
  mode: Mode;
  /** XCLIENT ADDR= (null: speak as loopback, no XCLIENT). */
  client: string | null;
  helo?: string;
  from?: string;
  to?: string;
}

export interface DirectResult {
  mode: Mode;
  verdict: Verdict;
  /** The RCPT reply (or the MAIL reply that ended it). */
  reply: string;
  starttlsOffered: boolean;
  transcript: string[];
}

function connect(port: number, mode: Mode): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s =
      mode === 'implicit'
        ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s))
        : net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
    s.setTimeout(60_000, () => s.destroy(new Error('socket idle 60 s')));
  });
}

/**
 * One direct session. 2xx to RCPT is open; 5xx, or 454 "Relay access denied"
 * (defer_unauth_destination), is closed. Anything else (a refused MAIL, an unexpected
 * temporary failure, a drop) decides nothing and fails the case with the transcript.
 */
export async function direct(port: number, o: DirectOptions): Promise<DirectResult> {
  const wire = new Wire(await connect(port, o.mode));
  const expect2 = (r: Reply, what: string, code = /^2/): void => {
    if (!code.test(String(r.code))) throw new Error(`${what} answered ${r.code} ${r.text}`);
  };
  try {
    expect2(await wire.reply(), 'greeting', /^220$/);
    let ehlo = await wire.command(`EHLO ${o.helo ?? DIRECT_HELO}`);
    expect2(ehlo, 'EHLO');
    const starttlsOffered = /\bSTARTTLS\b/i.test(ehlo.text);
    if (o.mode === 'starttls') {
      if (!starttlsOffered) throw new Error('STARTTLS not offered');
      expect2(await wire.command('STARTTLS'), 'STARTTLS', /^220$/);
      await wire.upgrade();
      ehlo = await wire.command(`EHLO ${o.helo ?? DIRECT_HELO}`);
      expect2(ehlo, 'EHLO after STARTTLS');
    }
    if (o.client) {
      if (!/\bXCLIENT\b/i.test(ehlo.text)) throw new Error('XCLIENT not offered');
      const x = await wire.command(`XCLIENT ADDR=${o.client} NAME=[UNAVAILABLE]`);
      // XCLIENT starts a new session as that client. With smtpd_delay_reject = no the server
      // judges the client right there: a client restriction's refusal is the server refusing
      // that client everything (unlike "550 5.7.0 Error: insufficient authorization", which is
      // XCLIENT itself being refused and decides nothing).
      if (x.code >= 500 && /Client host rejected/i.test(x.text)) {
        await wire.command('QUIT').catch(() => undefined);
        return { mode: o.mode, verdict: 'closed', reply: `XCLIENT: ${x.code} ${x.text}`, starttlsOffered, transcript: wire.transcript };
      }
      expect2(x, 'XCLIENT', /^220$/);
      expect2(await wire.command(`EHLO ${o.helo ?? DIRECT_HELO}`), 'EHLO after XCLIENT');
    }
    const mail = await wire.command(`MAIL FROM:<${o.from ?? PROBE_FROM}>`);
    expect2(mail, 'MAIL FROM (a refused sender proves nothing about relaying)');
    const rcpt = await wire.command(`RCPT TO:<${o.to ?? PROBE_TO}>`);
    let verdict: Verdict;
    if (rcpt.code >= 200 && rcpt.code < 300) verdict = 'open';
    else if (rcpt.code >= 500 || (rcpt.code === 454 && /Relay access denied/i.test(rcpt.text))) verdict = 'closed';
    else throw new Error(`RCPT answered ${rcpt.code} ${rcpt.text}: neither accepted nor refused by policy`);
    await wire.command('QUIT').catch(() => undefined);
    return { mode: o.mode, verdict, reply: `${rcpt.code} ${rcpt.text}`, starttlsOffered, transcript: wire.transcript };
  } catch (e) {
    throw new Error(`direct session (${o.mode}) on port ${port}: ${(e as Error).message}\n  ${wire.transcript.join('\n  ')}`);
  } finally {
    wire.close();
  }
}

/**
 * The expected verdict of a service: a direct session in the transport the service needs
 * (implicit TLS, STARTTLS when demanded); on a plaintext service also inside STARTTLS when it
 * is offered, and both must agree (relay-check tests both there).
 */
export async function expectedVerdict(port: number, svc: { wrapper: boolean; tlsRequired: boolean }, o: Omit<DirectOptions, 'mode'>): Promise<DirectResult[]> {
  if (svc.wrapper) return [await direct(port, { ...o, mode: 'implicit' })];
  if (svc.tlsRequired) return [await direct(port, { ...o, mode: 'starttls' })];
  const plain = await direct(port, { ...o, mode: 'plain' });
  const all = [plain];
  if (plain.starttlsOffered) all.push(await direct(port, { ...o, mode: 'starttls' }));
  if (new Set(all.map((r) => r.verdict)).size !== 1) {
    throw new Error(`plaintext and STARTTLS sessions disagree: ${all.map((r) => `${r.mode}: ${r.verdict} (${r.reply})`).join('; ')}`);
  }
  return all;
}

