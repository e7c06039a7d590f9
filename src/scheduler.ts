import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { mailDomain, renderVector, serverName, type RenderedVector } from './battery/render.js';
import type { Vector } from './battery/vectors.js';
import { CONNECTIONS_PER_ADDRESS, DEFAULT_ERROR_BUDGET } from './smtp/limits.js';
import { formatReply } from './smtp/reply.js';
import { classifyReply } from './verdict/classify.js';
import { REPLY_RULES } from './verdict/replies.js';
import { SessionError, type TranscriptLine } from './smtp/session.js';
import { openSession } from './smtp/setup.js';
import { attempt, type Conn } from './attempt.js';
import { settle, type ControlResult } from './verdict/controls.js';
import { tallyOf, targetVerdict } from './verdict/run.js';
import { countAttempts, type AttemptReport, type TargetReport } from './report/model.js';

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
  connectTimeoutMs: number;
  replyTimeoutMs?: number;
  /** Absolute deadline (Date.now() scale) for the whole run. */
  deadline: number;
  connectionsPerAddress?: number;
  errorBudget?: number;
}

interface Job {
  rendered: RenderedVector;
  tries: number;
  /** Set on a control probe: the server name whose unknown mailboxes it tests. */
  control?: string;
  /** Transcript of earlier tries, so a retry does not hide what interrupted the first. */
  earlier: TranscriptLine[];
  /** Not before this time (Date.now() scale): a greylisted attempt waits for its retry. */
  notBefore?: number;
  /** Set when the vector's own sender was refused: that first answer, kept while the recipient form is retried. */
  senderRefusal?: { mailFrom: string; fields: Partial<AttemptReport> };
  /** How often the server refused a connection for it with "too many connections". */
  slotWaits?: number;
  /** Set once a greylist deferred the attempt: how often, and the last answer. */
  greylisted?: { tries: number; fields: Partial<AttemptReport>; connection: number };
}

/**
 * Whether a vector exists for more than its sender (a recipient form, a HELO
 * name, a local recipient first): when its sender is refused, that part was
 * never evaluated and is worth a retry with a sender the server accepts.
 */
export function testsMoreThanSender(v: Vector): boolean {
  return v.helo !== undefined || v.rcptTo.length !== 1 || v.rcptTo[0] !== '<{user}@{domain}>';
}

/** The sender to retry a recipient form with: one the server accepted and that did not relay by itself. */
export function fallbackSender(accepted: ReadonlyMap<string, boolean>, plain: string): string | undefined {
  const neutral = [...accepted].filter(([, relayed]) => !relayed).map(([s]) => s);
  return neutral.find((s) => s === plain) ?? neutral.find((s) => s !== '<>') ?? neutral[0] ?? [...accepted.keys()][0];
}

/** First wait before retrying a greylisted attempt; doubles up to the maximum. */
const GREYLIST_BACKOFF_MS = 5_000;
const GREYLIST_BACKOFF_MAX_MS = 60_000;
/** Wait before reconnecting after "421 too many connections"; grows per refusal up to the maximum. */
const SLOT_WAIT_MS = 1_000;
const SLOT_WAIT_MAX_MS = 5_000;
/** A connection idle longer than this while waiting for greylists is closed and reopened later. */
const IDLE_QUIT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the battery against one address: opens connections, spreads attempts
 * over them, keeps each under the server's error limits, resumes after drops,
 * and returns one result per vector. Never throws for anything the server does.
 */
export async function runTarget(spec: TargetSpec, opts: TargetOptions): Promise<TargetReport> {
  const started = Date.now();
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
    controls: [],
    errorBudget: opts.errorBudget ?? DEFAULT_ERROR_BUDGET,
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
  let budget = report.errorBudget;
  let tlsDemanded: string | undefined;
  let connCount = 0;

  const open = async (helo: string): Promise<Conn> => {
    const index = ++connCount;
    report.connections = connCount;
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
      report.serverName = serverName(greeting.lines[0], ehlo.reply.lines[0]) ?? null;
      report.extensions = [...ehlo.extensions.keys()];
    }
    return { session, index, helo, ehlo, errors: 0, attempts: 0 };
  };

  // The first connection tells us the server's name, which the templates need.
  let first: Conn;
  try {
    first = await open(opts.helo);
    report.reachable = true;
  } catch (e) {
    const err = e instanceof SessionError ? e : new SessionError('protocol', String(e));
    if (err.kind === 'client-refused' && err.reply) {
      // The outside client is refused for everything: every vector is denied by that one answer.
      const c = classifyReply(err.reply, 'mail', REPLY_RULES, { auth: err.transcript.some((l) => l.dir === 'S' && /^250[- ]AUTH\b/i.test(l.text)) });
      const reply = formatReply(err.reply);
      report.reachable = true;
      report.opening = err.transcript;
      report.attempts = opts.vectors.map((v) => ({ ...notRun(v, ''), outcome: 'denied' as const, reason: `${c.reason} (${err.message.replace(/:.*$/, '')})`, rule: c.rule, reply, tries: 1, connection: 1 }));
      return finish();
    }
    // No SMTP session, so nothing was tested here: the address counts as not
    // reached whether TCP failed or the server would not talk (errorKind says which).
    report.reachable = false;
    report.error = err.message;
    report.errorKind = err.kind;
    report.opening = err.transcript;
    return finish();
  }

  const mydomain = opts.domain ?? mailDomain(report.serverName ?? undefined);
  const own = ownDomain(opts.recipient.domain, report.serverName ?? undefined, opts.domain, opts.recipientGiven ? mydomain : undefined);
  if (own) {
    // Every "relay" here would be local delivery: say so rather than report an open relay.
    await first.session.quit();
    report.error = `cannot test: the recipient ${opts.recipient.address} is ${own}, so accepting it is local delivery; set \`recipient\` to a mailbox outside the server's domains`;
    report.errorKind = 'recipient-local';
    report.attempts = opts.vectors.map((v) => ({ ...notRun(v, report.error ?? ''), outcome: 'skipped' as const }));
    return finish();
  }

  const jobs: Job[] = [];
  for (const v of opts.vectors) {
    const r = renderVector(v, {
      user: opts.recipient.user,
      domain: opts.recipient.domain,
      probe: opts.probe,
      helo: opts.helo,
      address: spec.address,
      srv: report.serverName ?? undefined,
      mydomain,
    });
    if (r.ok) jobs.push({ rendered: r.attempt, tries: 0, earlier: [] });
    else results.set(v.id, { ...notRun(v, r.reason), outcome: 'skipped' });
  }

  // A control probe per server name that an accepted routing trick was addressed
  // to: a mailbox that cannot exist there. A server that accepts it accepts
  // anything at that name, so the trick proves nothing about relaying. Only
  // run when needed, so a closed server never pays for them.
  const controls = new Map<string, ControlResult>();
  const nonce = randomBytes(4).toString('hex');
  const needControl = (d: string): void => {
    if (controls.has(d)) return;
    const mailbox = d === '' ? `<relay-check-nx-${nonce}>` : `<relay-check-nx-${nonce}@${d}>`;
    const vector: Vector = { id: `control:${d || 'unqualified'}`, description: 'Control: a mailbox that does not exist', provenance: 'relay-check control probe', mailFrom: '', rcptTo: [] };
    controls.set(d, { domain: d, mailbox, accepted: null, reply: null });
    jobs.push({ rendered: { vector, helo: opts.helo, mailFrom: `<${opts.probe}@${opts.recipient.domain}>`, rcptTo: [mailbox] }, tries: 0, earlier: [], control: d });
  };

  // Senders the server let through to a recipient decision, and whether that relayed.
  const acceptedSenders = new Map<string, boolean>();
  // Attempts whose sender was refused: retried with an accepted sender after the first pass.
  const senderRefused: Job[] = [];
  const plainSender = `<${opts.probe}@${opts.recipient.domain}>`;

  const record = (job: Job, conn: Conn | undefined, fields: Partial<AttemptReport>, transcript: TranscriptLine[]): void => {
    const { vector, helo, mailFrom, rcptTo } = job.rendered;
    if (job.control !== undefined) {
      const c = controls.get(job.control);
      if (c) {
        c.reply = fields.reply ?? fields.reason ?? null;
        c.accepted = fields.outcome === 'relayed' ? true : fields.outcome === 'denied' ? false : null;
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

  const recordGreylisted = (job: Job): void => {
    const g = job.greylisted;
    if (!g) return record(job, undefined, { reason: 'not run: the run deadline was reached' }, []);
    record(
      job,
      undefined,
      { ...g.fields, connection: g.connection, reason: `greylisted: still deferred after ${g.tries} tries when the run's deadline came (raise \`timeout\` above the greylist delay)` },
      [],
    );
  };

  const worker = async (initial: Conn | undefined): Promise<void> => {
    let conn = initial;
    try {
      for (;;) {
        if (jobs.length === 0) return;
        const now = Date.now();
        const ready = (j: Job): boolean => (j.notBefore ?? 0) <= now;
        let idx = jobs.findIndex((j) => ready(j) && j.rendered.helo === conn?.helo);
        if (idx < 0) idx = jobs.findIndex(ready);
        if (idx < 0) {
          // Only greylisted attempts are left, waiting for their retry time.
          const wake = Math.min(...jobs.map((j) => j.notBefore ?? 0));
          if (conn && wake - now > IDLE_QUIT_MS) {
            await conn.session.quit({ wait: conn.errors < budget });
            conn = undefined;
          }
          await sleep(Math.max(0, Math.min(wake, opts.deadline) - now));
          if (Date.now() >= opts.deadline) for (const j of jobs.splice(0)) recordGreylisted(j);
          continue;
        }
        const job = jobs.splice(idx, 1)[0];
        if (Date.now() >= opts.deadline) {
          if (job.greylisted) recordGreylisted(job);
          else record(job, undefined, { reason: 'not run: the run deadline was reached' }, []);
          continue;
        }
        if (tlsDemanded) {
          // Every plaintext attempt would get the same 530 and count as an error.
          record(job, undefined, { reason: `not run: ${tlsDemanded}`, rule: 'starttls-required' }, []);
          continue;
        }
        if (conn && (conn.helo !== job.rendered.helo || conn.errors >= budget || conn.session.closed)) {
          await conn.session.quit({ wait: conn.errors < budget });
          conn = undefined;
        }
        if (!conn) {
          try {
            conn = await open(job.rendered.helo);
          } catch (e) {
            const err = e instanceof SessionError ? e : new SessionError('protocol', String(e));
            if (/too many connections/i.test(err.message)) {
              // Postfix still counts sessions we left while it sleeps out its error delay
              // (smtpd_client_connection_count_limit): wait for a slot instead of giving up.
              job.slotWaits = (job.slotWaits ?? 0) + 1;
              const wait = Math.min(SLOT_WAIT_MS * job.slotWaits, SLOT_WAIT_MAX_MS);
              if (Date.now() + wait < opts.deadline) {
                job.notBefore = Date.now() + wait;
                jobs.push(job);
                continue;
              }
            }
            job.tries++;
            if (job.tries < 2 && err.kind !== 'deadline') jobs.unshift(job);
            else record(job, undefined, { reason: `not run: ${err.message}` }, []);
            continue;
          }
        }
        job.tries++;
        const mark = conn.session.transcript.length;
        const before = conn.errors;
        // Control probes never send DATA: they only ask whether a mailbox is accepted.
        const res = await attempt(conn, job.rendered, opts, opts.confirm && job.control === undefined);
        const transcript = conn.session.transcript.slice(mark);
        if ('interrupted' in res) {
          const why = res.interrupted instanceof SessionError ? res.interrupted.message : `server closing: ${formatReply(res.interrupted)}`;
          // A drop after errors means the server's limit is lower than our budget.
          if (conn.errors > 0 || before > 0) budget = Math.max(1, Math.min(budget, Math.max(before, 1)));
          await conn.session.quit();
          conn = undefined;
          const deadline = res.interrupted instanceof SessionError && res.interrupted.kind === 'deadline';
          if (job.tries < 2 && !deadline) {
            job.earlier.push(...transcript, { dir: '*', text: `interrupted (${why}); retrying on a new connection`, at: transcript[transcript.length - 1]?.at ?? 0 });
            jobs.unshift(job);
          } else {
            record(job, undefined, { reason: deadline ? 'not run: the run deadline was reached' : `interrupted twice: ${why}`, stage: null }, transcript);
          }
          continue;
        }
        // Postfix sleeps before every reply once a connection passed its soft error limit.
        if (res.slow && before >= 1) budget = Math.max(1, Math.min(budget, before));
        const v = res.verdict;
        if (v.rule === 'greylisted' || v.rule === 'greylisted-code') {
          // A greylist defers a (client, sender, recipient) triple it has not seen: the same
          // triple retried after the delay goes through, so retry while the deadline allows.
          const fields = { outcome: v.outcome, reason: v.reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
          const g = (job.greylisted ??= { tries: 0, fields, connection: conn.index });
          g.tries++;
          g.fields = fields;
          g.connection = conn.index;
          job.earlier.push(...transcript);
          const backoff = Math.min(GREYLIST_BACKOFF_MS * 2 ** (g.tries - 1), GREYLIST_BACKOFF_MAX_MS);
          if (Date.now() + backoff < opts.deadline) {
            job.notBefore = Date.now() + backoff;
            job.tries = 0;
            jobs.push(job);
          } else {
            recordGreylisted(job);
          }
          continue;
        }
        let reason = job.greylisted ? `${v.reason}, after ${job.greylisted.tries} greylist deferral(s)` : v.reason;
        const fields = { outcome: v.outcome, reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
        if (v.subject === 'recipient' || v.outcome === 'relayed') acceptedSenders.set(job.rendered.mailFrom, (acceptedSenders.get(job.rendered.mailFrom) ?? false) || v.outcome === 'relayed');
        if (v.subject === 'sender' && v.outcome !== 'relayed' && !job.senderRefusal && job.control === undefined && testsMoreThanSender(job.rendered.vector)) {
          // The sender was refused (its form, or checks of its domain), so the recipient form
          // or HELO this vector exists for was never evaluated: retry it once with a sender
          // the server accepted, when one is known after the first pass.
          job.senderRefusal = { mailFrom: job.rendered.mailFrom, fields: { ...fields, connection: conn.index } };
          job.earlier.push(...transcript);
          senderRefused.push(job);
          continue;
        }
        const refusal = job.senderRefusal;
        if (refusal) fields.reason += ` (the vector's sender ${refusal.mailFrom} was refused: ${refusal.fields.reply}; the recipient form was then tried with ${job.rendered.mailFrom}, a sender this server accepted)`;
        record(job, conn, fields, transcript);
        if (v.outcome === 'relayed' && job.control === undefined && job.rendered.routedVia !== undefined) needControl(job.rendered.routedVia);
        if (v.rule === 'starttls-required') tlsDemanded = `the server demands STARTTLS (${formatReply(v.decisive)})`;
      }
    } finally {
      if (conn) await conn.session.quit({ wait: conn.errors < budget });
    }
  };

  const pass = async (initial: Conn | undefined): Promise<void> => {
    const workers = Math.max(1, Math.min(opts.connectionsPerAddress ?? CONNECTIONS_PER_ADDRESS, jobs.length));
    await Promise.all(Array.from({ length: workers }, (_, i) => worker(i === 0 ? initial : undefined)));
  };
  await pass(first);
  if (senderRefused.length > 0) {
    const sender = fallbackSender(acceptedSenders, plainSender);
    for (const job of senderRefused.splice(0)) {
      const refusal = job.senderRefusal;
      if (!refusal) continue;
      if (sender !== undefined && sender !== refusal.mailFrom && Date.now() < opts.deadline) {
        job.rendered = { ...job.rendered, mailFrom: sender };
        job.tries = 0;
        jobs.push(job);
      } else {
        const why = sender === undefined ? 'no sender got as far as a recipient decision on this server in this run' : 'the run deadline was reached';
        record(job, undefined, { ...refusal.fields, reason: `${refusal.fields.reason}; the recipient form was not tried: ${why} (set \`sender\` to an address the server accepts)` }, []);
      }
    }
    if (jobs.length > 0) await pass(undefined);
  }

  report.errorBudget = budget;
  report.controls = [...controls.values()];
  report.attempts = opts.vectors.map((v) => settle(results.get(v.id) ?? notRun(v, 'not run'), controls));
  return finish();
}

/**
 * Which of the server's own names the recipient's domain is, if any: its host
 * name, the `domain` input, or the mail domain guessed from its name when the
 * user chose the recipient (the default's reserved domain is never a server's).
 */
export function ownDomain(rcptDomain: string, srv: string | undefined, domain: string | undefined, guessed: string | undefined): string | undefined {
  const d = rcptDomain.toLowerCase();
  if (srv !== undefined && d === srv.toLowerCase()) return `at ${srv}, the name the server gives itself`;
  if (domain !== undefined && d === domain) return `in ${domain}, the mail domain the server serves`;
  if (guessed !== undefined && d === guessed.toLowerCase()) return `in ${guessed}, the domain of the server's name ${srv ?? ''} (set \`domain\` if it does not serve ${guessed})`;
  return undefined;
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
