import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { mailDomain, NAME_PLACEHOLDERS, renderVector, serverName } from '../battery/render.js';
import { vantageOf } from '../diagnosis/vantage.js';
import type { Vector } from '../battery/vectors.js';
import { transaction, type Conn } from './transaction.js';
import { countAttempts, type AttemptReport, type PositiveControl, type TargetReport } from '../report/model.js';
import { CONNECTIONS_PER_ADDRESS, FRUGAL_CONNECTIONS, MAX_RCPTS_PER_TRANSACTION, RETIRED_SESSION_LIFETIME_MS } from '../smtp/limits.js';
import { formatReply } from '../smtp/reply.js';
import { SessionError, type SmtpSession, type TranscriptLine } from '../smtp/session.js';
import { openSession } from '../smtp/setup.js';
import { identifyMta } from '../mta/identify.js';
import { classifyReply } from '../verdict/classify.js';
import { needsEvidence } from '../verdict/evidence.js';
import { settle, type ControlResult } from '../verdict/controls.js';
import { REPLY_RULES } from '../verdict/replies.js';
import { tallyOf, targetVerdict } from '../verdict/run.js';
import { AttemptQueue, FREE_ABANDONS, greylistBackoff, MAX_TRIES, transactionOrder, type Job } from './queue.js';
import { serverState } from './servers.js';

// The report model belongs to the reporting side (another branch edits it); the two
// fields this side adds are declared here and folded into model.ts when both land.
export type Transport = 'plain' | 'starttls' | 'implicit';

export interface TargetSpec {
  host: string;
  address: string;
  port: number;
  transport: Transport;
}

export interface TargetOptions {
  vectors: readonly Vector[];
  recipient: { address: string; user: string; domain: string };
  /** Local part of probe senders. */
  probe: string;
  /** The mail domain the server serves (input `domain`); derived from its name when absent. */
  domain?: string;
  /** The user named `recipient` (not the reserved default): its domain is then checked against the server's guessed mail domain too. */
  recipientGiven?: boolean;
  /** Test as this client through Postfix XCLIENT (input `client-address`). */
  clientAddress?: string;
  helo: string;
  /** Confirm acceptance through DATA (strictness `relaxed`). */
  confirm: boolean;
  /** Connection, greeting and session setup (EHLO, STARTTLS, XCLIENT), ms. */
  connectTimeoutMs: number;
  /** Replies to MAIL, RCPT, RSET and DATA, ms (LIMITS.replyTimeoutMs when absent). */
  replyTimeoutMs?: number;
  /** Absolute deadline (Date.now() scale) for the whole run. */
  deadline: number;
  /**
   * Once the plain attempt (an outside sender to an outside recipient, relay-check's own
   * HELO) relayed, start no further transaction but control probes: the server relays for
   * this client whatever it sends, and every transaction that gets a recipient accepted
   * makes an open Postfix open a queue file, taking one of its inflow tokens (in_flow_delay
   * then slows the server's real mail too). The plain attempt runs first and the other
   * connections wait for its answer.
   */
  stopWhenOpen?: boolean;
  /**
   * The vector that already relayed in plaintext on this port (the STARTTLS pass after a
   * plaintext pass that stopped): the session is set up (its TLS is reported) and nothing
   * is run, since inside TLS the server can only relay too, and each transaction would
   * cost an open server another queue file.
   */
  relayedInPlaintext?: string;
  /** A mailbox the server must accept besides postmaster@ its domain (input `local-recipient`). */
  localRecipient?: string;
}

/**
 * The plain attempt: an outside sender to an outside recipient under relay-check's own HELO.
 * Only this one stops the run when it relays (stopWhenOpen): another vector that trusts nothing
 * either (recipient-as-sender) may be accepted for its one sender address, which says nothing
 * of what else the server relays.
 */
export const PLAIN_ATTEMPT = 'external-sender';

export function isPlainAttempt(v: Vector): boolean {
  return v.id === PLAIN_ATTEMPT;
}

/**
 * An outside address no mail server trusts, for the second look at a server that refuses the
 * client everything (through XCLIENT): k.root-servers.net's, which is in no bogon or
 * documentation list (a filter of those would refuse it for what it is) and in nobody's mynetworks.
 */
export const SECOND_OUTSIDER = '193.0.14.129';

/**
 * The positive control's mailboxes (RFC 5321 §4.5.1: postmaster at every domain a server
 * serves must be accepted): postmaster@ the `domain` input and @ the domain of the server's
 * name where it differs, and the `local-recipient` input.
 */
export function positiveMailboxes(domain: string | undefined, srv: string | undefined, local: string | undefined): string[] {
  const domains = [...new Set([domain, mailDomain(srv)].filter((d): d is string => d !== undefined && d.includes('.')).map((d) => d.toLowerCase()))];
  return [...domains.map((d) => `<postmaster@${d}>`), ...(local ? [`<${local}>`] : [])];
}

const POSITIVE_VECTOR: Vector = { id: 'positive-control', description: 'Positive control: a mailbox the server must accept', provenance: 'RFC 5321 §4.5.1; CheckTLS relay test', mailFrom: '', rcptTo: [] };

/**
 * Whether a vector exists for more than its sender (a recipient form, a HELO
 * name, a local recipient first): when its sender is refused, that part was
 * never evaluated and is worth a retry with a sender the server accepts.
 */
function testsMoreThanSender(v: Vector): boolean {
  return v.helo !== undefined || v.rcptTo.length !== 1 || v.rcptTo[0] !== '<{user}@{domain}>';
}

/** The sender to retry a recipient form with: one the server accepted and that did not relay by itself. */
function fallbackSender(accepted: ReadonlyMap<string, boolean>, plain: string): string | undefined {
  const neutral = [...accepted].filter(([, relayed]) => !relayed).map(([s]) => s);
  return neutral.find((s) => s === plain) ?? neutral.find((s) => s !== '<>') ?? neutral[0] ?? [...accepted.keys()][0];
}

/** A refusal of a new connection for the sessions or connections we already have (Postfix, Sendmail). */
const CONNECTION_LIMIT = /too many connections|connection rate limit/i;
/** The same, naming a rate explicitly (Sendmail "421 4.3.2 Connection rate limit exceeded."): no short wait helps. */
const RATE_LIMIT = /connection rate limit/i;

/** Says another HELO on an open connection (RFC 5321 §4.1.4: EHLO again resets the session's state); a failure retires it. */
async function rehello(conn: Conn, helo: string): Promise<void> {
  try {
    const ehlo = await conn.session.hello(helo);
    if (ehlo.reply.code < 200 || ehlo.reply.code >= 300) return;
    conn.helo = helo;
    conn.ehlo = ehlo;
    conn.transactions = 0;
  } catch {
    // The caller sees the HELO unchanged (or the session closed) and retires the connection.
  }
}

/** A connection idle longer than this while waiting for greylists is closed and reopened later. */
const IDLE_QUIT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const asSessionError = (e: unknown): SessionError => (e instanceof SessionError ? e : new SessionError('protocol', String(e)));

/**
 * Runs the battery against one address: takes connections from the server's
 * pool, spreads transactions over them, keeps each under the error budget the
 * learner has for the server, resumes after drops, and returns one result per
 * vector. Never throws for anything the server does.
 */
export async function runTarget(spec: TargetSpec, opts: TargetOptions): Promise<TargetReport> {
  const started = Date.now();
  const state = serverState(spec.address, spec.port);
  const { pool, learner } = state;
  // The learner is the server's, shared by every run against it: this run's pauses are the difference.
  const pausesBefore = learner.pauses;
  const report: TargetReport = {
    host: spec.host,
    address: spec.address,
    family: net.isIPv6(spec.address) ? 6 : 4,
    port: spec.port,
    transport: spec.transport,
    tls: null,
    reachable: false,
    error: null,
    errorKind: null,
    greeting: null,
    serverName: null,
    extensions: [],
    opening: [],
    connections: 0,
    transactions: 0,
    controls: [],
    errorBudget: learner.budget,
    durationMs: 0,
    verdict: 'inconclusive',
    counts: countAttempts([]),
    attempts: [],
  };
  const finish = (): TargetReport => {
    report.counts = countAttempts(report.attempts);
    report.durationMs = Date.now() - started;
    report.verdict = targetVerdict(tallyOf(report));
    return report;
  };
  const results = new Map<string, AttemptReport>();
  let tlsDemanded: string | undefined;
  /** Connections this run holds open now: with a per-client connection rate, they carry the work. */
  let live = 0;

  /** A session from the pool: waits for a free slot, and for another one after "421 too many connections". */
  const open = async (helo: string): Promise<Conn> => {
    for (let refusals = 1; ; refusals++) {
      const slot = await pool.acquire(opts.deadline);
      if (!slot) throw new SessionError('deadline', 'the run deadline was reached while waiting for a free connection slot');
      const index = ++report.connections;
      try {
        const { session, greeting, ehlo } = await openSession({
          address: spec.address,
          port: spec.port,
          connectTimeoutMs: opts.connectTimeoutMs,
          replyTimeoutMs: opts.replyTimeoutMs,
          deadline: opts.deadline,
          implicitTls: spec.transport === 'implicit',
          serverName: net.isIP(spec.host) ? undefined : spec.host,
          helo,
          starttls: spec.transport === 'starttls',
          clientAddress: opts.clientAddress,
        });
        report.greeting ??= formatReply(greeting);
        report.tls ??= session.tls ?? null;
        if (index === 1) {
          report.opening = [...session.transcript];
          // A bare greeting (a container id, a product banner) names nothing: the certificate's
          // name or the name the user connected to stand in, so the vectors that need it still run.
          report.serverName = serverName(greeting.lines[0], ehlo.reply.lines[0], session.tls?.subject ?? undefined, net.isIP(spec.host) ? undefined : spec.host) ?? null;
          report.extensions = [...ehlo.extensions.keys()];
          report.vantage = vantageOf({ localAddress: session.localAddress, opening: report.opening }, opts.clientAddress ?? null);
        }
        live++;
        return { session, index, helo, ehlo, errors: 0, transactions: 0, slot, abandoned: false };
      } catch (e) {
        const err = asSessionError(e);
        if (!CONNECTION_LIMIT.test(err.message)) {
          slot.release();
          throw err;
        }
        // Postfix counts sessions we left while it sleeps out its error delay
        // (smtpd_client_connection_count_limit): wait for one of ours to end, or a while
        // when none of ours is there, and try again.
        const wait = pool.tooMany(refusals);
        slot.release();
        if (wait !== undefined) {
          // None of ours was held: not a count of our sessions but a rate of new ones (Postfix
          // smtpd_client_connection_rate_limit, Sendmail ClientRate). Each try is another
          // connection it counts: the ones we hold carry the work; only the last one waits.
          learner.beFrugal(`the server limits new connections per client (${err.reply ? formatReply(err.reply) : err.message})`);
          if (live > 0) throw new SessionError('rate-limited', err.message);
          if (RATE_LIMIT.test(err.message) || Date.now() + wait >= opts.deadline) throw err;
          await sleep(wait);
        }
      }
    }
  };

  /** Leaves a connection; its slot stays taken until the server lets the session go. */
  const leave = async (conn: Conn): Promise<void> => {
    // Past the error budget (or with replies still owed) QUIT would be answered after an
    // error sleep: say it, close our side, and let the server end the session in its time.
    const wait = !conn.abandoned && !learner.maySleep(conn.errors);
    live--;
    learner.release(conn);
    await conn.session.quit({ wait, lingerMs: RETIRED_SESSION_LIFETIME_MS });
    conn.slot.retire(conn.session.gone);
  };

  // The first connection tells us the server's name, which the templates need.
  let first: Conn;
  try {
    first = await open(opts.helo);
    report.reachable = true;
  } catch (e) {
    const err = asSessionError(e);
    if (err.kind === 'client-refused' && err.reply) {
      // The outside client is refused for everything: every vector is denied by that one answer.
      const c = classifyReply(err.reply, 'mail', REPLY_RULES, { auth: err.transcript.some((l) => l.dir === 'S' && /^250[- ]AUTH\b/i.test(l.text)) });
      const reply = formatReply(err.reply);
      report.reachable = true;
      report.opening = err.transcript;
      report.attempts = opts.vectors.map((v) => ({ ...notRun(v, ''), outcome: 'denied' as const, reason: `${c.reason} (${err.message.replace(/:.*$/, '')})`, rule: c.rule, reply, tries: 1, connection: 1 }));
      // Nothing was asked, and nothing could be: the refusal covers the postmaster too (RFC 5321
      // §4.5.1's bare <postmaster> when no domain is known).
      const greeting = err.transcript.find((l) => l.dir === 'S' && /^220[ -]/.test(l.text))?.text.slice(4);
      const mailboxes = positiveMailboxes(opts.domain, serverName(greeting), opts.localRecipient);
      if (mailboxes.length === 0) mailboxes.push('<postmaster>');
      report.positiveControl = { accepted: false, sender: null, probes: mailboxes.map((mailbox) => ({ mailbox, accepted: false, reply, rule: c.rule })), note: 'the client was refused before any mail command' };
      if (opts.clientAddress !== undefined && !report.opening.some((l) => l.dir === 'S' && /^250[- ]AUTH\b/i.test(l.text))) {
        report.positiveControl.elsewhere = await askElsewhere(spec, opts, mailboxes[0], `<${opts.probe}@${opts.recipient.domain}>`);
      }
      return finish();
    }
    // No SMTP session, so nothing was tested here: the address counts as not
    // reached whether TCP failed or the server would not talk (errorKind says which).
    report.reachable = false;
    report.error = err.message;
    report.errorKind = err.kind;
    if (CONNECTION_LIMIT.test(err.message) && learner.frugal !== undefined) {
      // Said once, in the server's words, with when to try again: earlier runs spent the window.
      report.error = `${err.message}: the server limits new connections per client, and earlier connections (other runs too) used up its window; run again once it has passed (Sendmail: ConnectionRateWindowSize, 60 s by default, 10 minutes in Debian's sendmail.mc; Postfix: anvil_rate_time_unit, 60 s)`;
      report.errorKind = 'rate-limited';
    }
    report.opening = err.transcript;
    return finish();
  }

  // Sendmail's stock rate control counts every new connection of a client over a window (Debian:
  // 15 per 10 minutes, all runs together) and it has no error sleep to spread refusals against:
  // known from its greeting, it gets few connections with more on each.
  if (identifyMta({ greeting: report.greeting ? [report.greeting] : [], extensions: report.extensions, replies: [] }).name === 'Sendmail') {
    learner.beFrugal('Sendmail counts new connections per client (ClientRate; Debian\'s stock sendmail.mc allows 15 per 10 minutes)');
  }

  const mydomain = opts.domain ?? mailDomain(report.serverName ?? undefined);
  const own = ownDomain(opts.recipient.domain, report.serverName ?? undefined, opts.domain, opts.recipientGiven ? mydomain : undefined);
  if (own) {
    // Every "relay" here would be local delivery: say so rather than report an open relay.
    await leave(first);
    report.error = `cannot test: the recipient ${opts.recipient.address} is ${own}, so accepting it is local delivery; set \`recipient\` to a mailbox outside the server's domains`;
    report.errorKind = 'recipient-local';
    report.attempts = opts.vectors.map((v) => ({ ...notRun(v, report.error ?? ''), outcome: 'skipped' as const }));
    return finish();
  }

  const queue = new AttemptQueue();
  const plainSender = `<${opts.probe}@${opts.recipient.domain}>`;
  // The positive control: asked early (before refusals can spend the error budget), after the
  // plain attempt, with the plain sender (a refused sender is retried like a vector's).
  const mailboxes = positiveMailboxes(opts.domain, report.serverName ?? undefined, opts.localRecipient);
  const positive: PositiveControl = {
    accepted: null,
    sender: null,
    probes: mailboxes.map((mailbox) => ({ mailbox, accepted: null, reply: null, rule: null })),
    note: mailboxes.length === 0 ? 'not asked: no mail domain is known (the server gave no host name with a domain in it, and `domain` is not set)' : null,
  };
  const positiveJobs: Job[] = mailboxes.map((m) => ({ rendered: { vector: POSITIVE_VECTOR, helo: opts.helo, mailFrom: plainSender, rcptTo: [m] }, tries: 0, earlier: [], positive: m }));
  // The plain attempts first: with stopWhenOpen their answer decides whether anything else runs.
  const ordered = opts.stopWhenOpen ? [...opts.vectors.filter(isPlainAttempt), ...opts.vectors.filter((v) => !isPlainAttempt(v))] : opts.vectors;
  let positiveQueued = false;
  for (const v of ordered) {
    if (!positiveQueued && !isPlainAttempt(v)) {
      queue.push(...positiveJobs);
      positiveQueued = true;
    }
    const r = renderVector(v, {
      user: opts.recipient.user,
      domain: opts.recipient.domain,
      probe: opts.probe,
      helo: opts.helo,
      address: spec.address,
      srv: report.serverName ?? undefined,
      mydomain,
    });
    if (r.ok) queue.push({ rendered: r.attempt, tries: 0, earlier: [] });
    // Without the server's name these vectors still apply, untested: inconclusive, not skipped.
    else if (NAME_PLACEHOLDERS.has(r.missing)) results.set(v.id, notRun(v, `not tested: ${r.reason}`));
    else results.set(v.id, { ...notRun(v, r.reason), outcome: 'skipped' });
  }
  if (!positiveQueued) queue.push(...positiveJobs);

  // A control probe per server name that an accepted routing trick was addressed
  // to: a mailbox that cannot exist there. A server that accepts it accepts
  // anything at that name, so the trick proves nothing about relaying. Only
  // run when needed, so a closed server never pays for them.
  const controls = new Map<string, ControlResult>();
  const nonce = randomBytes(4).toString('hex');
  // The control is sent with the sender the trick was accepted with: a server that refuses
  // relay-check's plain sender (a DNS check on it, say) would refuse the control at MAIL and
  // prove nothing about the mailbox.
  const needControl = (d: string, sender: string): void => {
    if (controls.has(d)) return;
    const mailbox = d === '' ? `<relay-check-nx-${nonce}>` : `<relay-check-nx-${nonce}@${d}>`;
    const vector: Vector = { id: `control:${d || 'unqualified'}`, description: 'Control: a mailbox that does not exist', provenance: 'relay-check control probe', mailFrom: '', rcptTo: [] };
    controls.set(d, { domain: d, mailbox, accepted: null, reply: null });
    queue.push({ rendered: { vector, helo: opts.helo, mailFrom: sender, rcptTo: [mailbox] }, tries: 0, earlier: [], control: d });
  };

  // Senders the server let through to a recipient decision, and whether that relayed.
  const acceptedSenders = new Map<string, boolean>();
  // Attempts whose sender was refused: retried with an accepted sender after the first pass.
  const senderRefused: Job[] = [];

  // stopWhenOpen: the plain attempt that relayed, and why nothing more runs.
  let stop: { after: string; reason: string } | undefined;
  // Until the first transaction (the plain attempt's) is answered, the other connections wait.
  let holding = opts.stopWhenOpen === true && opts.vectors.some(isPlainAttempt);
  let resolveHold = (): void => undefined;
  const hold = holding ? new Promise<void>((resolve) => (resolveHold = resolve)) : Promise.resolve();
  const releaseHold = (): void => {
    holding = false;
    resolveHold();
  };

  const record = (job: Job, conn: Conn | undefined, fields: Partial<AttemptReport>, transcript: TranscriptLine[]): void => {
    const { vector, helo, mailFrom, rcptTo } = job.rendered;
    if (job.positive !== undefined) {
      const p = positive.probes.find((x) => x.mailbox === job.positive);
      if (p) {
        p.reply = fields.reply ?? fields.reason ?? null;
        // Any refusal counts, temporary ones too: what matters is whether this client's mail gets in.
        p.accepted = fields.outcome === 'relayed' ? true : fields.reply ? false : null;
        p.rule = p.accepted === false ? (fields.rule ?? null) : null;
        positive.sender = mailFrom;
      }
      return;
    }
    if (job.control !== undefined) {
      const c = controls.get(job.control);
      if (c) {
        c.reply = fields.reply ?? fields.reason ?? null;
        // Only a refusal of the mailbox itself (at RCPT) says the name does not take any mailbox.
        c.accepted = fields.outcome === 'relayed' ? true : fields.outcome === 'denied' && fields.stage === 'rcpt' ? false : null;
      }
      return;
    }
    results.set(vector.id, {
      vector: vector.id,
      description: vector.description,
      provenance: vector.provenance,
      helo,
      mailFrom,
      rcptTo,
      outcome: 'inconclusive',
      reason: '',
      rule: null,
      reply: null,
      stage: null,
      connection: conn?.index ?? null,
      tries: job.tries,
      transcript: [...job.earlier, ...transcript],
      routedVia: job.rendered.routedVia ?? null,
      ...fields,
    });
  };

  let notRunOpen = 0;
  const skipOpen = (job: Job): void => {
    if (job.positive !== undefined) {
      positive.note = `not asked: the plain attempt (${stop?.after ?? PLAIN_ATTEMPT}) relayed, which needs no control`;
      return;
    }
    notRunOpen++;
    record(job, undefined, { outcome: 'skipped', reason: stop?.reason ?? 'not run' }, []);
  };

  const notRunAtDeadline = (job: Job): void => {
    const g = job.greylisted;
    if (!g) return record(job, undefined, { reason: 'not run: the run deadline was reached' }, []);
    record(
      job,
      undefined,
      { ...g.fields, connection: g.connection, reason: `greylisted: still deferred after ${g.tries} tries when the run's deadline came (raise \`timeout\` above the greylist delay)` },
      [],
    );
  };

  /** What one vector's answer means for it: recorded, retried after a greylist, or kept for the sender-fallback pass. */
  const decide = (job: Job, conn: Conn, v: NonNullable<Awaited<ReturnType<typeof transaction>>['verdicts'][number]>, transcript: TranscriptLine[]): void => {
    if (v.rule === 'greylisted' || v.rule === 'greylisted-code') {
      // A greylist defers a (client, sender, recipient) triple it has not seen: the same
      // triple retried after the delay goes through, so retry while the deadline allows.
      const fields = { outcome: v.outcome, reason: v.reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
      const g = (job.greylisted ??= { tries: 0, fields, connection: conn.index });
      g.tries++;
      g.fields = fields;
      g.connection = conn.index;
      job.earlier.push(...transcript);
      const backoff = greylistBackoff(g.tries);
      if (Date.now() + backoff < opts.deadline) {
        job.notBefore = Date.now() + backoff;
        job.tries = 0;
        queue.push(job);
      } else {
        notRunAtDeadline(job);
      }
      return;
    }
    const reason = job.greylisted ? `${v.reason}, after ${job.greylisted.tries} greylist deferral(s)` : v.reason;
    const fields = { outcome: v.outcome, reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
    // An accepted positive control shows the sender is accepted, not that it relays.
    const relayed = v.outcome === 'relayed' && job.positive === undefined;
    if (v.subject === 'recipient' || v.outcome === 'relayed') acceptedSenders.set(job.rendered.mailFrom, (acceptedSenders.get(job.rendered.mailFrom) ?? false) || relayed);
    if (v.subject === 'sender' && v.outcome !== 'relayed' && !job.senderRefusal && job.control === undefined && testsMoreThanSender(job.rendered.vector)) {
      // The sender was refused (its form, or checks of its domain), so the recipient form
      // or HELO this vector exists for was never evaluated: retry it once with a sender
      // the server accepted, when one is known after the first pass.
      job.senderRefusal = { mailFrom: job.rendered.mailFrom, fields: { ...fields, connection: conn.index } };
      job.earlier.push(...transcript);
      senderRefused.push(job);
      return;
    }
    const refusal = job.senderRefusal;
    if (refusal) fields.reason += ` (the vector's sender ${refusal.mailFrom} was refused: ${refusal.fields.reply}; the recipient form was then tried with ${job.rendered.mailFrom}, a sender this server accepted)`;
    record(job, conn, fields, transcript);
    if (v.outcome === 'relayed' && job.control === undefined && job.rendered.routedVia !== undefined) needControl(job.rendered.routedVia, job.rendered.mailFrom);
    if (opts.stopWhenOpen && stop === undefined && v.outcome === 'relayed' && job.control === undefined && isPlainAttempt(job.rendered.vector)) {
      const after = job.rendered.vector.id;
      stop = { after, reason: `not run: the plain attempt (${after}) relayed, so this server relays for this client whatever it sends; no further transaction was started, since on an open server each one opens a queue file (and Postfix's in_flow_delay then slows its real mail)` };
      for (const j of queue.take((j) => j.control === undefined)) skipOpen(j);
    }
    if (v.rule === 'starttls-required') tlsDemanded = `the server demands STARTTLS (${formatReply(v.decisive)})`;
  };

  const worker = async (initial: Conn | undefined, lead = false): Promise<void> => {
    let conn = initial;
    const retire = async (): Promise<void> => {
      if (conn) await leave(conn);
      conn = undefined;
    };
    try {
      for (;;) {
        if (queue.size === 0) return;
        const now = Date.now();
        const job = queue.next(conn?.helo, now);
        if (!job) {
          // Only greylisted attempts are left, waiting for their retry time.
          const wake = queue.nextWake();
          if (conn && wake - now > IDLE_QUIT_MS) await retire();
          await sleep(Math.max(0, Math.min(wake, opts.deadline) - now));
          if (Date.now() >= opts.deadline) for (const j of queue.drain()) notRunAtDeadline(j);
          continue;
        }
        if (Date.now() >= opts.deadline) {
          notRunAtDeadline(job);
          continue;
        }
        if (stop !== undefined && job.control === undefined) {
          skipOpen(job);
          continue;
        }
        if (tlsDemanded) {
          // Every plaintext attempt would get the same 530 and count as an error.
          record(job, undefined, { reason: `not run: ${tlsDemanded}`, rule: 'starttls-required' }, []);
          continue;
        }
        const budget = learner.budget;
        // Every RCPT of the job may be refused: it goes on a connection with room for all of
        // them, or a fresh one, so none of its replies comes after an error sleep.
        const full = conn !== undefined && conn.errors > 0 && conn.errors + job.rendered.rcptTo.length > budget;
        // Past the floor, a connection goes on only as the learner's explorer (see explore),
        // and not even then when this transaction is all that is left: exploring would be given
        // up at once (see transaction's idle), leaving a command the server sleeps on and a
        // session it holds, with its slot, for the whole error sleep. A fresh one answers at once.
        const lastWork = queue.size === 0 || queue.allShare(job);
        // Every RCPT of the job may be refused: the last one's reply comes after all the others.
        const capped = conn !== undefined && conn.errors > 0 && learner.maySleep(conn.errors + job.rendered.rcptTo.length - 1) && (lastWork || !learner.explore(conn));
        // Where new connections are dear, another HELO is said on the connection at hand.
        if (conn && conn.helo !== job.rendered.helo && learner.frugal !== undefined && !conn.session.closed && !full && !capped && conn.errors < budget) {
          const before = conn.session.transcript.length;
          await rehello(conn, job.rendered.helo);
          job.earlier.push(...conn.session.transcript.slice(before));
        }
        if (conn && (conn.helo !== job.rendered.helo || conn.errors >= budget || full || capped || conn.session.closed)) await retire();
        if (!conn) {
          try {
            conn = await open(job.rendered.helo);
          } catch (e) {
            const err = asSessionError(e);
            // Refused for the connection rate while others of ours are open: they take the job.
            if (err.kind === 'rate-limited') {
              queue.unshift(job);
              return;
            }
            job.tries++;
            if (job.tries < MAX_TRIES && err.kind !== 'deadline') queue.unshift(job);
            else record(job, undefined, { reason: err.kind === 'deadline' ? 'not run: the run deadline was reached' : `not run: ${err.message}` }, []);
            continue;
          }
        }
        // Vectors sharing the HELO and the sender share one transaction, so an accepting
        // server opens one queue file for them rather than one each. The transaction itself
        // stops starting vectors at the error budget; those it never tried come back.
        // Relaxed mode confirms each accepted vector with its own message: one per transaction.
        // Frugal: few connections, so a transaction carries no more than its share, and every
        // connection has work (Sendmail throttles each refused RCPT past the third per session).
        const recipients = Math.min(state.recipientLimit, MAX_RCPTS_PER_TRANSACTION, learner.frugal !== undefined ? Math.max(1, Math.ceil(queue.size / FRUGAL_CONNECTIONS)) : MAX_RCPTS_PER_TRANSACTION);
        // While the others wait, the plain attempt goes alone: its answer is all they wait for
        // (a closed server's refusal comes at once, with no companion's reply to sleep on).
        const alone = opts.confirm || (lead && holding);
        const txn = transactionOrder([job, ...(alone ? [] : queue.companions(job, recipients - 1, Date.now()))]);
        for (const j of txn) j.tries++;
        const mark = conn.session.transcript.length;
        report.transactions = (report.transactions ?? 0) + 1;
        // Control probes (positive ones too) never send DATA: they only ask whether a mailbox is accepted.
        const res = await transaction(
          conn,
          txn.map((j) => j.rendered),
          opts,
          learner,
          opts.confirm && txn[0].control === undefined && txn[0].positive === undefined,
          queue.whenEmpty(),
        );
        const transcript = conn.session.transcript.slice(mark);
        if (res.recipientLimit !== undefined) state.recipientLimit = Math.max(1, Math.min(state.recipientLimit, res.recipientLimit));
        // Never tried (budget reached, session gone before their RCPT, over the recipient
        // limit): back to the front, with no try spent.
        const untried = txn.slice(res.untriedFrom ?? txn.length);
        for (const j of untried) j.tries--;
        const tried = txn.slice(0, res.untriedFrom ?? txn.length);
        tried.forEach((j, i) => {
          const v = res.verdicts[i];
          if (v && conn) decide(j, conn, v, transcript);
        });
        const undecided = [...tried.filter((_, i) => res.verdicts[i] === undefined)];
        queue.unshift(...untried);
        if (lead) releaseHold();
        // Nothing could start here (no room left for even the first vector): a fresh connection can.
        if (res.untriedFrom === 0 && !res.abandoned && !res.interrupted) await retire();
        if (res.abandoned) {
          // The server began sleeping before its replies: those RCPTs were never answered,
          // so they go again, untried, on a connection with room in the budget.
          for (const j of undecided) {
            // Given up on by our choice (nothing else was left to run), not for the server's
            // delay: no try spent and no abandon counted.
            const free = res.gaveUp === true || (j.abandons = (j.abandons ?? 0) + 1) <= FREE_ABANDONS;
            if (free) j.tries--;
            const why = res.gaveUp
              ? `reply not waited for after ${conn.errors} refusal(s) on this connection (it might be slept on, and nothing else was left to run); tried again on a new connection`
              : `reply overdue after ${conn.errors} refusal(s) on this connection (the server's error sleep); not answered, tried again on a new connection`;
            j.earlier.push(...transcript, { dir: '*', text: why, at: transcript[transcript.length - 1]?.at ?? 0 });
          }
          const spent = undecided.filter((j) => j.tries >= MAX_TRIES);
          for (const j of spent) record(j, undefined, { reason: `interrupted: the server kept delaying its reply after ${conn.errors} refusal(s) (error sleep)` }, transcript);
          queue.unshift(...undecided.filter((j) => j.tries < MAX_TRIES));
          await retire();
          continue;
        }
        if (res.interrupted) {
          const why = res.interrupted instanceof SessionError ? res.interrupted.message : `server closing: ${formatReply(res.interrupted)}`;
          // A drop after refusals means the server's limit is lower than our budget.
          learner.dropped(conn.errors);
          await retire();
          const deadline = res.interrupted instanceof SessionError && res.interrupted.kind === 'deadline';
          const again: Job[] = [];
          for (const j of undecided) {
            if (j.tries < MAX_TRIES && !deadline) {
              j.earlier.push(...transcript, { dir: '*', text: `interrupted (${why}); retrying on a new connection`, at: transcript[transcript.length - 1]?.at ?? 0 });
              again.push(j);
            } else {
              record(j, undefined, { reason: deadline ? 'not run: the run deadline was reached' : `interrupted twice: ${why}`, stage: null }, transcript);
            }
          }
          queue.unshift(...again);
        }
      }
    } finally {
      if (lead) releaseHold();
      await retire();
    }
  };

  /** A worker that waits for the plain attempt's answer, its connection opened meanwhile so only that transaction is waited for. */
  const follower = async (): Promise<void> => {
    let conn: Conn | undefined;
    try {
      conn = await open(opts.helo);
    } catch {
      // The worker opens its own when it has something to run.
    }
    await hold;
    await worker(conn);
  };

  const pass = async (initial: Conn | undefined, lead: boolean): Promise<void> => {
    const workers = Math.max(1, Math.min(learner.frugal !== undefined ? FRUGAL_CONNECTIONS : CONNECTIONS_PER_ADDRESS, queue.size));
    // Followers only while there is a plain attempt to wait for (not with fullBattery, nor in the sender-fallback pass).
    const wait = lead && holding;
    await Promise.all(Array.from({ length: workers }, (_, i) => (i === 0 ? worker(initial, lead) : wait ? follower() : worker(undefined))));
  };
  if (opts.relayedInPlaintext !== undefined) {
    const after = opts.relayedInPlaintext;
    stop = { after, reason: `not run: the plain attempt (${after}) already relayed in plaintext on this port, so the server relays for this client whatever it sends; inside STARTTLS that cannot change, and each transaction would open another queue file on an open server` };
    for (const j of queue.drain()) skipOpen(j);
  }
  await pass(first, true);
  if (senderRefused.length > 0) {
    const sender = fallbackSender(acceptedSenders, plainSender);
    for (const job of senderRefused.splice(0)) {
      const refusal = job.senderRefusal;
      if (!refusal) continue;
      if (stop !== undefined) {
        record(job, undefined, { ...refusal.fields, reason: `${refusal.fields.reason}; the recipient form was not retried with another sender: the plain attempt relayed` }, []);
      } else if (sender !== undefined && sender !== refusal.mailFrom && Date.now() < opts.deadline) {
        job.rendered = { ...job.rendered, mailFrom: sender };
        job.tries = 0;
        queue.push(job);
      } else {
        const why = sender === undefined ? 'no sender got as far as a recipient decision on this server in this run' : 'the run deadline was reached';
        record(job, undefined, { ...refusal.fields, reason: `${refusal.fields.reason}; the recipient form was not tried: ${why} (set \`sender\` to an address the server accepts)` }, []);
      }
    }
    if (queue.size > 0) await pass(undefined, false);
  }

  report.errorBudget = learner.shown;
  if (stop !== undefined) report.stopped = { after: stop.after, notRun: notRunOpen };
  if (learner.pauses > pausesBefore) report.pauses = learner.pauses - pausesBefore;
  report.controls = [...controls.values()];
  positive.accepted = positive.probes.some((p) => p.accepted === true) ? true : positive.probes.some((p) => p.accepted === false) ? false : null;
  report.positiveControl = positive;
  // Refused everything, its own postmaster included, while testing as another client: ask as a
  // second outsider whether that refusal is about the address tested from or about every outsider.
  const catchAll = [...results.values()].some((a) => a.outcome === 'denied' && needsEvidence(a.rule));
  if (positive.accepted === false && catchAll && opts.clientAddress !== undefined && !report.extensions.includes('AUTH') && Date.now() < opts.deadline) {
    positive.elsewhere = await askElsewhere(spec, opts, positive.probes[0].mailbox, positive.sender ?? plainSender);
  }
  // Before settle: whether an accepted routing form relays depends on the MTA.
  if (report.greeting !== null) {
    report.mta = identifyMta({
      greeting: report.opening.filter((l) => l.dir === 'S' && /^220[ -]/.test(l.text)).map((l) => l.text),
      extensions: report.extensions,
      replies: [...[...results.values()].map((a) => a.reply), ...report.controls.map((c) => c.reply)],
    });
  }
  report.attempts = opts.vectors.map((v) => settle(results.get(v.id) ?? notRun(v, 'not run'), controls, report.mta));
  return finish();
}

/**
 * The positive control asked as SECOND_OUTSIDER through XCLIENT, on a connection of its own
 * (RCPT only): refused there too, the server refuses every outside client; accepted, its
 * refusals were about the address tested from.
 */
async function askElsewhere(spec: TargetSpec, opts: TargetOptions, mailbox: string, sender: string): Promise<NonNullable<PositiveControl['elsewhere']>> {
  const address = SECOND_OUTSIDER;
  let session: SmtpSession | undefined;
  try {
    ({ session } = await openSession({
      address: spec.address,
      port: spec.port,
      connectTimeoutMs: opts.connectTimeoutMs,
      replyTimeoutMs: opts.replyTimeoutMs,
      deadline: opts.deadline,
      implicitTls: spec.transport === 'implicit',
      serverName: net.isIP(spec.host) ? undefined : spec.host,
      helo: opts.helo,
      starttls: spec.transport === 'starttls',
      clientAddress: address,
    }));
    const mail = await session.command(`MAIL FROM:${sender}`);
    // A refused sender says nothing about the mailbox, unless the refusal is of the client.
    if (mail.code >= 300) return { address, accepted: classifyReply(mail, 'mail').subject === 'client' ? false : null, reply: formatReply(mail) };
    const rcpt = await session.command(`RCPT TO:${mailbox}`);
    return { address, accepted: rcpt.code < 300, reply: formatReply(rcpt) };
  } catch (e) {
    const err = asSessionError(e);
    if (err.kind === 'client-refused' && err.reply) return { address, accepted: false, reply: formatReply(err.reply) };
    return { address, accepted: null, reply: err.message };
  } finally {
    await session?.quit();
  }
}

/**
 * Which of the server's own names the recipient's domain is, if any: its host
 * name, the `domain` input, or the mail domain guessed from its name when the
 * user chose the recipient (the default's reserved domain is never a server's).
 */
function ownDomain(rcptDomain: string, srv: string | undefined, domain: string | undefined, guessed: string | undefined): string | undefined {
  const d = rcptDomain.toLowerCase();
  if (srv !== undefined && d === srv.toLowerCase()) return `at ${srv}, the name the server gives itself`;
  if (domain !== undefined && d === domain) return `in ${domain}, the mail domain the server serves`;
  if (guessed !== undefined && d === guessed.toLowerCase()) return `in ${guessed}, the domain of the server's name ${srv ?? ''} (set \`domain\` if it does not serve ${guessed})`;
  return undefined;
}

/**
 * `tls: auto` on a port other than 465: the plaintext connection got no byte of
 * a greeting in time. A server in implicit-TLS (wrapper) mode waits silently
 * for a ClientHello, so that is worth one TLS handshake before giving up.
 */
export function silentGreeting(t: TargetReport): boolean {
  return !t.reachable && t.errorKind === 'timeout' && t.greeting === null && !t.opening.some((l) => l.dir === 'S');
}

function notRun(v: Vector, reason: string): AttemptReport {
  return {
    routedVia: null,
    vector: v.id,
    description: v.description,
    provenance: v.provenance,
    helo: null,
    mailFrom: null,
    rcptTo: [],
    outcome: 'inconclusive',
    reason,
    rule: null,
    reply: null,
    stage: null,
    connection: null,
    tries: 0,
    transcript: [],
  };
}
