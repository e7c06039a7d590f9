import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { RenderedVector } from '../battery/render.js';
import { CLAIMED_ADDRESS, IDENTITY_TRICKS, PROXY_OUTSIDER, type IdentityTrick } from '../battery/tricks.js';
import type { Vector } from '../battery/vectors.js';
import type { MtaIdentity } from '../model/mta.js';
import type { AttemptReport, IdentityDoors, TargetReport } from '../model/report.js';
import { identifyMta } from '../mta/identify.js';
import { authMechanisms, authWithNothing, proxyHeader, xclientAs } from '../smtp/identity.js';
import { formatReply } from '../smtp/reply.js';
import type { Ehlo, SmtpSession } from '../smtp/session.js';
import { openSession } from '../smtp/setup.js';
import { asSessionError, setupFor } from './connect.js';
import type { TargetOptions, TargetSpec } from './options.js';
import { notRun, PLAIN_ATTEMPT } from './plan.js';
import type { ServerState } from './servers.js';
import { transaction, type Conn } from './transaction.js';

/**
 * The identity tricks on one target, after its battery: each where the server offers the
 * door, on a connection of its own, followed by the plain relay attempt. The control of each
 * is the same attempt without the trick (the battery's plain attempt; for PROXY, the same
 * header naming an outside address): where the control relayed, the trick proves nothing
 * more and is not run (every accepted transaction costs an open server a queue file).
 * XCLIENT and AUTH here; XFORWARD is only reported.
 */
export async function identityTricks(spec: TargetSpec, opts: TargetOptions, report: TargetReport, state: ServerState): Promise<void> {
  const doors = doorsOf(report, null);
  if (doors.xforward !== null) doors.notes.push(`${where(spec)}: XFORWARD is offered to this client (${doors.xforward || 'no attributes named'}): in Postfix it changes what is logged for the session, not whom the server trusts; no verdict (smtpd_authorized_xforward_hosts)`);
  const tricks = applicable(report, opts);
  if (tricks.length > 0 || doors.xforward !== null) report.doors = doors;
  report.attempts.push(...(await runList(tricks, spec, opts, report, state, doors)));
}

/**
 * The PROXY tricks (v1 and v2 headers claiming 127.0.0.1, after their control: a header
 * naming an outside address) on a plaintext IPv4 port, for `reason`: the sign the plain
 * connection showed, or the input. The port may have given no session at all without one.
 */
export async function proxyTricks(spec: TargetSpec, opts: TargetOptions, report: TargetReport, state: ServerState, reason: string): Promise<void> {
  if (spec.transport !== 'plain' || !net.isIPv4(spec.address)) return;
  const doors = report.doors ?? doorsOf(report, reason);
  doors.proxy = reason;
  report.doors = doors;
  const attempts = await runList(IDENTITY_TRICKS.filter((t) => t.door === 'proxy'), spec, opts, report, state, doors);
  report.attempts.push(...attempts);
  // Without a header the port gave no session: the MTA is known only from the tricks' own.
  report.mta ??= mtaOfSessions(attempts);
}

/** Which MTA answered the trick sessions (their greeting, EHLO keywords and replies); undefined when none got a greeting. */
function mtaOfSessions(attempts: readonly AttemptReport[]): MtaIdentity | undefined {
  const lines = attempts.flatMap((a) => a.transcript.filter((l) => l.dir === 'S').map((l) => l.text));
  const greeting = lines.filter((l) => /^220[ -]/.test(l)).slice(0, 1);
  if (greeting.length === 0) return undefined;
  const extensions = [...new Set(lines.filter((l) => /^250-/.test(l)).map((l) => l.slice(4).split(/\s+/)[0].toUpperCase()))];
  return identifyMta({ greeting, extensions, replies: attempts.map((a) => a.reply) });
}

async function runList(tricks: readonly IdentityTrick[], spec: TargetSpec, opts: TargetOptions, report: TargetReport, state: ServerState, doors: IdentityDoors): Promise<AttemptReport[]> {
  const plain = report.attempts.find((a) => a.vector === PLAIN_ATTEMPT);
  const out: AttemptReport[] = [];
  for (const trick of tricks) {
    const control = trick.door === 'proxy' ? out.find((a) => a.vector === 'proxy-v1-outsider') : plain;
    if (trick.door !== 'proxy' && opts.relayedInPlaintext !== undefined) {
      out.push(skipped(trick, `not run: the plain attempt (${opts.relayedInPlaintext}), the same attempt without the trick, already relayed in plaintext on this port`));
      continue;
    }
    if (control?.outcome === 'relayed') {
      out.push(skipped(trick, `not run: its control (${control.vector}, the same attempt without the trick) relayed, so the trick proves nothing more${trick.door === 'proxy' ? ': this port relays for anyone who sends a PROXY header' : ''}`));
      continue;
    }
    if (trick.door === 'proxy' && control !== undefined && control.outcome === 'inconclusive' && control.reply === null) {
      // No session after the control's header either: another header would only wait as long.
      out.push({ ...notRun(vectorOf(trick), `not run: the control's header got no session either (${control.reason.replace(/^not run: /, '')})`), helo: opts.helo });
      continue;
    }
    if (Date.now() >= opts.deadline) {
      out.push({ ...notRun(vectorOf(trick), 'not run: the run deadline was reached'), helo: opts.helo });
      continue;
    }
    out.push(await tryTrick(trick, spec, opts, report, state, doors));
  }
  return out;
}

/** The XCLIENT and AUTH tricks whose door this target showed, in the table's order. */
function applicable(report: TargetReport, opts: TargetOptions): IdentityTrick[] {
  if (!report.reachable) return [];
  // Failed logins are what fail2ban's postfix-sasl jail counts (maxretry 5 by default): an
  // empty password goes to the backend once per port, by PLAIN, or by LOGIN where PLAIN is
  // not offered (the same password check decides both), and not again inside STARTTLS
  // when plaintext already tried it.
  const offered = report.extensions.includes('AUTH') && opts.authTriedInPlaintext !== true ? authMechanisms(lastEhloLines(report)) : [];
  const mechs = offered.includes('PLAIN') ? offered.filter((m) => m !== 'LOGIN') : offered;
  // With client-address the session is XCLIENT's outsider: XCLIENT still offered means that outsider may claim anything too.
  const xclient = report.extensions.includes('XCLIENT') && opts.clientAddress !== CLAIMED_ADDRESS;
  return IDENTITY_TRICKS.filter((t) => {
    if (t.door === 'proxy') return false;
    if (t.door === 'xclient') return xclient;
    return t.mechanism !== undefined && mechs.includes(t.mechanism);
  });
}

function doorsOf(report: TargetReport, proxy: string | null): IdentityDoors {
  const line = lastEhloLines(report).find((l) => /^XFORWARD\b/i.test(l));
  return { xforward: report.extensions.includes('XFORWARD') ? (line?.replace(/^XFORWARD\s*/i, '') ?? '') : null, proxy, notes: [] };
}

/** The keyword lines of the last EHLO reply of the first connection (after STARTTLS and XCLIENT). */
function lastEhloLines(report: TargetReport): string[] {
  const lines: string[] = [];
  for (const l of report.opening) {
    if (l.dir === 'C' && /^EHLO /i.test(l.text)) lines.length = 0;
    else if (l.dir === 'S' && /^250[- ]/.test(l.text)) lines.push(l.text.slice(4));
  }
  return lines.slice(1);
}

const where = (spec: TargetSpec): string => `${net.isIPv6(spec.address) ? `[${spec.address}]` : spec.address}:${spec.port}${spec.transport === 'plain' ? '' : ` (${spec.transport})`}`;

function vectorOf(trick: IdentityTrick): Vector {
  return { id: trick.id, description: trick.description, provenance: trick.provenance, mailFrom: '<{probe}@{domain}>', rcptTo: ['<{user}@{domain}>'] };
}

function skipped(trick: IdentityTrick, reason: string): AttemptReport {
  return { ...notRun(vectorOf(trick), reason), outcome: 'skipped' };
}

/** The plain attempt (see PLAIN_ATTEMPT) under the trick's id: the same sender, recipient and HELO. */
function rendered(trick: IdentityTrick, opts: TargetOptions): RenderedVector {
  return { vector: vectorOf(trick), helo: opts.helo, mailFrom: `<${opts.probe}@${opts.recipient.domain}>`, rcptTo: [`<${opts.recipient.user}@${opts.recipient.domain}>`] };
}

/** One trick on a connection of its own: the door, then the relay attempt, as one attempt of the report. */
async function tryTrick(trick: IdentityTrick, spec: TargetSpec, opts: TargetOptions, report: TargetReport, state: ServerState, doors: IdentityDoors): Promise<AttemptReport> {
  const attempt = rendered(trick, opts);
  const base = { ...notRun(attempt.vector, ''), helo: attempt.helo, mailFrom: attempt.mailFrom, rcptTo: attempt.rcptTo, tries: 1 };
  const slot = await state.pool.acquire(opts.deadline);
  if (!slot) return { ...base, tries: 0, reason: 'not run: the run deadline was reached while waiting for a free connection slot' };
  const index = ++report.connections;
  let session: SmtpSession | undefined;
  try {
    // The PROXY tricks write their own header, and speak as no one else.
    const setup = trick.door === 'proxy' ? setupFor(spec, { ...opts, viaProxy: false }, opts.helo, undefined) : setupFor(spec, opts, opts.helo, opts.clientAddress);
    const opened = await openSession(trick.proxy ? { ...setup, preamble: proxyFor(trick, spec) } : setup);
    session = opened.session;
    const door = await openDoor(trick, session, opened.ehlo, opts);
    if ('refused' in door) return { ...base, connection: index, transcript: [...session.transcript], outcome: 'denied', reason: `the server refused the trick: ${door.refused}`, rule: 'identity-refused', reply: door.refused };
    const conn: Conn = { session, index, helo: opts.helo, ehlo: door.ehlo, errors: 0, transactions: 0, slot, abandoned: false };
    const res = await transaction(conn, [attempt], opts, state.learner, opts.confirm);
    const v = res.verdicts[0];
    const transcript = [...session.transcript];
    if (!v) return { ...base, connection: index, transcript, reason: `interrupted: ${res.interrupted instanceof Error ? res.interrupted.message : res.interrupted ? formatReply(res.interrupted) : 'no reply decided it'}` };
    const fields = { outcome: v.outcome, reason: v.reason, rule: v.rule, reply: formatReply(v.decisive), stage: v.stage };
    if (v.outcome === 'relayed') fields.reason = `${v.reason} ${RELAYED_BECAUSE[trick.door](door.said)}`;
    else if (trick.door === 'auth') doors.notes.push(authNote(spec, trick, door.said, fields.reply));
    return { ...base, ...fields, connection: index, transcript };
  } catch (e) {
    const err = asSessionError(e);
    const transcript = err.transcript.length > 0 ? err.transcript : [...(session?.transcript ?? [])];
    // A port that does not read PROXY headers ends the session (the v2 signature holds "QUIT\n" for that) or refuses it.
    if (trick.door === 'proxy' && (err.kind === 'closed' || err.kind === 'protocol')) {
      return { ...base, connection: index, transcript, outcome: 'denied', reason: `the server does not take a PROXY header from this client: ${err.message}`, rule: 'identity-refused', reply: err.reply ? formatReply(err.reply) : null };
    }
    return { ...base, connection: index, transcript, reason: `not run: ${err.message}` };
  } finally {
    await session?.quit();
    if (session) slot.retire(session.gone);
    else slot.release();
  }
}

function authNote(spec: TargetSpec, trick: IdentityTrick, said: string, reply: string): string {
  const anonymous = trick.mechanism === 'ANONYMOUS' ? ' Postfix never lets an ANONYMOUS login relay (permit_sasl_authenticated ignores that mechanism); turn it off all the same (smtpd_sasl_security_options = noanonymous).' : ' Whatever accepts an empty password here (the SASL backend) lets anyone log in.';
  return `${where(spec)}: AUTH ${trick.mechanism ?? ''} with no credential was accepted (${said}); the relay attempt after it was refused (${reply}).${anonymous}`;
}

const RELAYED_BECAUSE: Record<IdentityTrick['door'], (said: string) => string> = {
  xclient: (said) => `after XCLIENT ADDR=${CLAIMED_ADDRESS} (${said}): this client may claim any address, so anyone can claim to be trusted`,
  auth: (said) => `after AUTH with no credential (${said}): any client can authenticate`,
  proxy: () => `after a PROXY header claiming ${CLAIMED_ADDRESS}: anyone who reaches this port can claim to be trusted`,
};

/** The PROXY header of a trick: from the claimed (or the outside) address to the target. */
function proxyFor(trick: IdentityTrick, spec: TargetSpec): { bytes: Buffer; text: string } {
  const source = trick.proxy?.claims === 'outsider' ? PROXY_OUTSIDER : CLAIMED_ADDRESS;
  // A source port as a proxy would pick one: ephemeral, any.
  return proxyHeader(trick.proxy?.version ?? 1, source, spec.address, 40_000 + (randomBytes(2).readUInt16BE(0) % 20_000), spec.port);
}

/** Through the door: the EHLO to run the attempt under and what the door said, or the refusal. */
async function openDoor(trick: IdentityTrick, session: SmtpSession, ehlo: Ehlo, opts: TargetOptions): Promise<{ ehlo: Ehlo; said: string } | { refused: string }> {
  if (trick.door === 'proxy') {
    // A server that greets without waiting for the header reads it as a command and answers
    // it (502): every reply after that belongs to the command before. Nothing here can be trusted.
    const answered = session.transcript.find((l) => l.dir === 'S' && /^5\d\d[ -]/.test(l.text));
    if (answered || ehlo.verb === 'HELO') return { refused: `the header was read as a command (${answered?.text ?? 'EHLO refused'})` };
    return { ehlo, said: '' };
  }
  if (trick.door === 'xclient') {
    const r = await xclientAs(session, CLAIMED_ADDRESS, opts.helo, opts.connectTimeoutMs);
    if (!r.ehlo || r.ehlo.reply.code >= 300) return { refused: formatReply(r.ehlo?.reply ?? r.reply) };
    return { ehlo: r.ehlo, said: formatReply(r.reply) };
  }
  // A user that cannot exist anywhere: never a real account, never a guessed password.
  const user = `relay-check-nobody-${randomBytes(4).toString('hex')}`;
  const r = await authWithNothing(session, trick.mechanism ?? 'PLAIN', user, opts.connectTimeoutMs);
  if (r.code !== 235) return { refused: formatReply(r) };
  return { ehlo, said: formatReply(r) };
}
