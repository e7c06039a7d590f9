import net from 'node:net';
import tls from 'node:tls';
import { LIMITS } from './limits.js';
import { ProtocolError, ReplyReader, sanitizeLine, type Reply } from './reply.js';
import type { TlsInfo, TranscriptLine } from '../model/session.js';
export type { TlsInfo, TranscriptLine } from '../model/session.js';

export type SessionFailure =
  | 'connect-refused'
  | 'unreachable'
  | 'connect-timeout'
  | 'timeout'
  | 'closed'
  | 'protocol'
  | 'tls'
  | 'xclient'
  /** The client we speak as (XCLIENT) is refused for everything: a policy answer, not a failure. */
  | 'client-refused'
  /** The server limits new connections per client and refused this one while others of ours are open: they go on. */
  | 'rate-limited'
  | 'deadline';

/** Why a session could not go on; carries what the user needs to see. */
export class SessionError extends Error {
  /** What was said before the failure, when the session is gone with it. */
  transcript: TranscriptLine[] = [];
  /** The server's reply that ended it, when one did. */
  reply?: Reply;

  constructor(
    readonly kind: SessionFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SessionError';
  }
}

export interface ConnectOptions {
  address: string;
  port: number;
  /** Connection plus complete greeting, ms; also bounds each setup reply (EHLO, STARTTLS, XCLIENT). */
  connectTimeoutMs: number;
  /** Replies to MAIL, RCPT, RSET and DATA, ms (LIMITS.replyTimeoutMs when absent). */
  replyTimeoutMs?: number;
  /** Absolute time (Date.now()) after which nothing more is started or awaited. */
  deadline?: number;
  limits?: { maxLineBytes: number; maxLinesPerReply: number; maxSessionBytes: number };
  /** Implicit TLS (SMTPS, RFC 8314): TLS from the first byte. */
  implicitTls?: boolean;
  /** Host name for SNI and the certificate check; absent when the target is an address. */
  serverName?: string;
  /**
   * Bytes written as soon as TCP is up, before the greeting is read: a PROXY protocol
   * header (src/smtp/identity.ts), shown in the transcript as `text`. Plaintext only.
   */
  preamble?: { bytes: Buffer; text: string };
}

/**
 * The client side of every TLS session. A relay test is not a TLS audit: a server
 * that only speaks TLS 1.0 or 1.1 (with the SHA-1 signatures and short keys that
 * come with them) still relays or refuses inside it, so it is entered and its
 * protocol reported as legacy. Node's defaults (minVersion TLSv1.2) end such a
 * handshake with "tlsv1 alert protocol version", which left the server untested
 * inside TLS. The ClientHello still offers TLS 1.3 first, so a current server
 * negotiates as before. OpenSSL's DEFAULT list has no anonymous or NULL ciphers,
 * so the server still shows its certificate. Measured: a Postfix limited to
 * TLSv1 or to TLSv1.1 completes the handshake with these settings, and with
 * Node's defaults does not, on Node 20.20 (OpenSSL 3.0.19) and Node 24.22
 * (OpenSSL 3.5.9) alike (__tests__/postfix-tls.test.ts; docs/mta-notes.md, "Legacy TLS").
 * At security level 0 the certificate check no longer refuses short keys or
 * SHA-1 signatures, so `verified` can be kinder than a default client there.
 */
const TEST_TLS = { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0', rejectUnauthorized: false } as const satisfies tls.ConnectionOptions;

/** Protocols RFC 8996 deprecates. */
const LEGACY_PROTOCOLS: readonly string[] = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1'];

export interface Ehlo {
  /** 'EHLO' or 'HELO' (when EHLO was refused). */
  verb: 'EHLO' | 'HELO';
  reply: Reply;
  /** Upper-cased extension keywords with their parameters, e.g. PIPELINING, SIZE 10240000. */
  extensions: Map<string, string>;
}

/**
 * One SMTP conversation over TCP. It only talks and listens: it records a
 * transcript and returns replies, and never decides what a reply means.
 */
export class SmtpSession {
  readonly transcript: TranscriptLine[] = [];
  private readonly started = Date.now();
  private readonly queue: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: SessionError) => void } | undefined;
  private failure: SessionError | undefined;
  private readTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private reader: ReplyReader;
  /** TLS details once the session is encrypted. */
  tls: TlsInfo | undefined;
  private markGone: () => void = () => undefined;
  /** Settles once the socket is closed, by either side: the server no longer holds the session. */
  readonly gone: Promise<void> = new Promise((resolve) => (this.markGone = resolve));

  private constructor(
    private socket: net.Socket,
    private readonly opts: ConnectOptions,
  ) {
    this.reader = new ReplyReader(opts.limits ?? LIMITS);
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(errorFromSocket(err, this.opts)));
    socket.on('close', () => {
      this.ended = true;
      this.fail(new SessionError('closed', 'the server closed the connection'));
      this.markGone();
    });
  }

  /**
   * STARTTLS (RFC 3207). Returns the server's reply; the session is encrypted
   * only when it was 220. Anything the server sent before the handshake is
   * thrown away (the STARTTLS command-injection flaw, CVE-2011-0411).
   */
  async startTls(timeoutMs?: number): Promise<Reply> {
    const reply = await this.command('STARTTLS', timeoutMs ?? this.opts.connectTimeoutMs);
    if (reply.code !== 220) return reply;
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    // Errors of the plain socket now surface through the TLS socket; its close
    // still says the server let the session go (a TLS socket may not emit close
    // after a half-close).
    plain.on('error', () => undefined);
    plain.on('close', () => this.markGone());
    this.queue.length = 0;
    this.reader = new ReplyReader(this.opts.limits ?? LIMITS);
    const secure = tls.connect({ ...TEST_TLS, socket: plain, servername: this.opts.serverName });
    this.socket = secure;
    this.attach(secure);
    const limit = this.limitTo(timeoutMs ?? this.opts.connectTimeoutMs);
    await this.handshake(secure, limit);
    await ticketsOrSoon(secure);
    this.note(`STARTTLS: ${describeTls(this.tls)}`);
    return reply;
  }

  private handshake(secure: tls.TLSSocket, limit: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        const err = new SessionError('tls', `TLS handshake did not finish within ${(limit / 1000).toFixed(1)} s`);
        this.fail(err);
        this.destroy();
        reject(err);
      }, limit);
      secure.once('secureConnect', () => {
        clearTimeout(t);
        this.tls = tlsInfo(secure, this.opts.serverName);
        resolve();
      });
      secure.once('error', (e: Error) => {
        clearTimeout(t);
        const err = new SessionError('tls', `TLS handshake failed: ${tlsReason(e)}`);
        this.fail(err);
        reject(err);
      });
    });
  }

  /** Connects and reads the complete greeting before anything is sent (postscreen drops early talkers). */
  static async connect(opts: ConnectOptions): Promise<{ session: SmtpSession; greeting: Reply }> {
    const socket = opts.implicitTls
      ? tls.connect({ ...TEST_TLS, host: opts.address, port: opts.port, servername: opts.serverName })
      : new net.Socket();
    // Every command is one write that waits for its reply: Nagle's algorithm would hold a
    // write back until the last one is acknowledged, and the peer's delayed ACK (40 ms on
    // Linux) then adds to every exchange that follows a TLS handshake's last flight.
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    const session = new SmtpSession(socket, opts);
    session.note(`connect ${formatAddress(opts.address, opts.port)}${opts.implicitTls ? ' (implicit TLS)' : ''}`);
    let tcpUp = false;
    const connected = new Promise<void>((resolve, reject) => {
      socket.once(opts.implicitTls ? 'secureConnect' : 'connect', () => {
        tcpUp = true;
        if (opts.preamble && !opts.implicitTls) {
          session.transcript.push({ dir: 'C', text: sanitizeLine(opts.preamble.text), at: Date.now() - session.started });
          socket.write(opts.preamble.bytes);
        }
        if (socket instanceof tls.TLSSocket) {
          session.tls = tlsInfo(socket, opts.serverName);
          session.note(`TLS: ${describeTls(session.tls)}`);
        }
        resolve();
      });
      // A refused or unroutable connection must end now, not at the connect timeout.
      socket.once('close', () => {
        if (!tcpUp) reject(session.failure ?? new SessionError('closed', 'the connection closed before it was established'));
      });
    });
    if (!opts.implicitTls) socket.connect({ host: opts.address, port: opts.port });
    const limit = session.limitTo(opts.connectTimeoutMs);
    try {
      const greeting = await withTimeout(
        connected.then(() => session.read(limit + 100)),
        limit,
        () =>
          tcpUp
            ? new SessionError('timeout', `connected, but no complete greeting within ${(opts.connectTimeoutMs / 1000).toFixed(1)} s`)
            : new SessionError('connect-timeout', `no connection within ${(opts.connectTimeoutMs / 1000).toFixed(1)} s`),
      );
      return { session, greeting };
    } catch (e) {
      session.destroy();
      const err = session.failure ?? asSessionError(e);
      err.transcript = session.transcript;
      throw err;
    }
  }

  /** Sends one command and waits for its reply. */
  async command(line: string, timeoutMs?: number): Promise<Reply> {
    this.write([line]);
    return this.next(timeoutMs);
  }

  /**
   * Sends commands in one write without waiting (RFC 2920 PIPELINING when there
   * are several: the caller must only do that when the server advertised it).
   * Read their replies with next().
   */
  send(lines: string[]): void {
    this.write(lines);
  }

  /** The next reply, waiting at most timeoutMs (the reply timeout by default) and never past the deadline. */
  next(timeoutMs?: number): Promise<Reply> {
    return this.read(this.limitTo(timeoutMs ?? this.opts.replyTimeoutMs ?? LIMITS.replyTimeoutMs));
  }

  /** EHLO, falling back to HELO when the server refuses EHLO (RFC 5321 §3.2); bounded like the greeting. */
  async hello(name: string): Promise<Ehlo> {
    const reply = await this.command(`EHLO ${name}`, this.opts.connectTimeoutMs);
    if (reply.code >= 200 && reply.code < 300) {
      return { verb: 'EHLO', reply, extensions: parseExtensions(reply) };
    }
    if (reply.code === 421) return { verb: 'EHLO', reply, extensions: new Map() };
    const helo = await this.command(`HELO ${name}`, this.opts.connectTimeoutMs);
    return { verb: 'HELO', reply: helo, extensions: new Map() };
  }

  /**
   * Polite goodbye: QUIT with a short wait, then the socket is gone either way.
   *
   * `wait: false` is for a server that now delays every reply (Postfix's error
   * sleep after its soft error limit) or still owes replies: our end is closed
   * without a QUIT, since the server would hold the session (and its process)
   * through one more sleep just to answer it, while end of input ends it at
   * once. The socket stays open for reading until the server closes it, or
   * lingerMs passed: `gone` says when the server let the session go.
   */
  async quit(opts: { wait: boolean; lingerMs?: number } = { wait: true }): Promise<void> {
    if (!opts.wait) {
      if (!this.closed) {
        this.note('closing without QUIT: the server delays its replies');
        this.socket.end();
        // Neither this timer nor the half-closed socket may keep the process alive.
        setTimeout(() => this.destroy(), opts.lingerMs ?? LIMITS.quitTimeoutMs).unref();
        this.socket.unref();
        // A reply we stopped waiting for may still be awaited (to settle the budget): not at the cost of the process's exit.
        this.readTimer?.unref();
      } else {
        this.destroy();
      }
      this.ended = true;
      return;
    }
    if (!this.ended && !this.failure) {
      try {
        await this.command('QUIT', LIMITS.quitTimeoutMs);
      } catch {
        // The server may hang up first or sleep on errors; we are leaving anyway.
      }
    }
    this.destroy();
  }

  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.ended = true;
    // A socket destroyed before it ever connected may not emit close on every path.
    this.markGone();
  }

  get closed(): boolean {
    return this.ended || this.failure !== undefined;
  }

  /** Our end of the connection: the address the server sees us connect from (before any NAT). */
  get localAddress(): string | null {
    return this.socket.localAddress ?? null;
  }

  /** Milliseconds until the run's deadline, or Infinity. */
  private limitTo(ms: number): number {
    const left = this.opts.deadline === undefined ? Infinity : this.opts.deadline - Date.now();
    return Math.max(0, Math.min(ms, left));
  }

  private note(text: string): void {
    this.transcript.push({ dir: '*', text, at: Date.now() - this.started });
  }

  private write(lines: string[]): void {
    if (this.failure) throw this.failure;
    for (const l of lines.flatMap((x) => x.split('\r\n'))) this.transcript.push({ dir: 'C', text: sanitizeLine(l), at: Date.now() - this.started });
    this.socket.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  private onData(chunk: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.reader.feed(chunk);
    } catch (e) {
      const msg = e instanceof ProtocolError ? e.message : String(e);
      this.fail(new SessionError('protocol', msg));
      this.destroy();
      return;
    }
    for (const r of replies) {
      for (const raw of r.raw) this.transcript.push({ dir: 'S', text: raw, at: Date.now() - this.started });
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(r);
      } else {
        this.queue.push(r);
      }
    }
  }

  private fail(err: SessionError): void {
    if (!this.failure) {
      this.failure = err;
      this.note(`${err.kind}: ${err.message}`);
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  private read(timeoutMs: number, kind: SessionFailure = 'timeout'): Promise<Reply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    const deadlineHit = this.opts.deadline !== undefined && Date.now() >= this.opts.deadline;
    if (deadlineHit || timeoutMs <= 0) {
      return Promise.reject(new SessionError('deadline', 'the run deadline was reached'));
    }
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readTimer = undefined;
        this.waiter = undefined;
        const atDeadline = this.opts.deadline !== undefined && Date.now() >= this.opts.deadline - 5;
        const err = atDeadline
          ? new SessionError('deadline', 'the run deadline was reached')
          : new SessionError(kind, `no complete reply within ${(timeoutMs / 1000).toFixed(1)} s`);
        this.fail(err);
        this.destroy();
        reject(err);
      }, timeoutMs);
      this.readTimer = timer;
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }
}

function tlsInfo(s: tls.TLSSocket, serverName: string | undefined): TlsInfo {
  const cert = s.getPeerCertificate();
  let verifyError: string | null = s.authorized ? null : String(s.authorizationError ?? 'not trusted');
  if (!verifyError && serverName && cert && Object.keys(cert).length > 0) {
    verifyError = tls.checkServerIdentity(serverName, cert)?.message ?? null;
  }
  const subject = cert?.subject?.CN;
  const protocol = s.getProtocol() ?? null;
  return {
    protocol,
    legacy: protocol !== null && LEGACY_PROTOCOLS.includes(protocol),
    cipher: s.getCipher()?.name ?? null,
    verified: verifyError === null,
    verifyError,
    subject: typeof subject === 'string' ? subject : Array.isArray(subject) ? subject.join(', ') : null,
  };
}

export function describeTls(t: TlsInfo | undefined): string {
  if (!t) return 'none';
  return `${t.protocol ?? '?'}${t.legacy ? ' (legacy)' : ''} ${t.cipher ?? '?'}, certificate ${t.subject ? `CN=${t.subject} ` : ''}${t.verified ? 'verifies' : `would not verify (${t.verifyError})`}`;
}

function parseExtensions(reply: Reply): Map<string, string> {
  const ext = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const [kw, ...params] = line.trim().split(/\s+/);
    if (kw) ext.set(kw.toUpperCase(), params.join(' '));
  }
  return ext;
}

export function formatAddress(address: string, port: number): string {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

function errorFromSocket(err: NodeJS.ErrnoException, opts: ConnectOptions): SessionError {
  const where = formatAddress(opts.address, opts.port);
  switch (err.code) {
    case 'ECONNREFUSED':
      return new SessionError('connect-refused', `connection to ${where} refused`);
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return new SessionError('unreachable', `no route to ${where} (${err.code})`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new SessionError('closed', `connection reset by the server (${err.code})`);
    default:
      // An implicit-TLS handshake fails here, not in handshake(): the same words as STARTTLS's.
      if (err.code?.startsWith('ERR_SSL_')) return new SessionError('tls', `${where}: TLS handshake failed: ${tlsReason(err)}`);
      return new SessionError('closed', `${where}: ${err.message}`);
  }
}

/**
 * OpenSSL's reason without its address-and-file dump: "80CC…:error:0A00042E:SSL
 * routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1601:SSL
 * alert number 70" says "tlsv1 alert protocol version (SSL alert number 70)".
 */
export function tlsReason(e: Error): string {
  const m = /:SSL routines:[^:]*:([^:]+):[^\n]*?(SSL alert number \d+)?\s*$/.exec(e.message);
  if (!m) return e.message.trim();
  return m[2] ? `${m[1]} (${m[2]})` : m[1];
}

function asSessionError(e: unknown): SessionError {
  return e instanceof SessionError ? e : new SessionError('protocol', e instanceof Error ? e.message : String(e));
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => SessionError): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(asSessionError(e));
      },
    );
  });
}

/**
 * How long to wait for a TLS 1.3 server's session tickets before speaking.
 * The server sends them right after the handshake; a command written before
 * they arrive leaves them unacknowledged, and a server that writes with
 * Nagle's algorithm on (Postfix) then holds its reply until the client's
 * delayed ACK: 40 ms on Linux, on every STARTTLS session.
 */
const TLS_TICKET_WAIT_MS = 20;

/** Resolves once the first session ticket came (its ACK then rides on our next command), or after TLS_TICKET_WAIT_MS. */
function ticketsOrSoon(secure: tls.TLSSocket): Promise<void> {
  if (secure.getProtocol() !== 'TLSv1.3') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      secure.off('session', done);
      // Not from inside the event: it is emitted while the TLS layer is still reading the
      // record, and a write made there (the next command) never reached the server.
      setImmediate(resolve);
    };
    const t = setTimeout(done, TLS_TICKET_WAIT_MS);
    secure.on('session', done);
  });
}
