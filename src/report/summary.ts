import { baseSummaryLines } from './base.js';
import { diagnosisMarkdown, fixVerdict } from './diagnosis.js';
import { code, inlineMd, mdText, preText } from './escape.js';
import type { Report, TargetReport } from '../model/report.js';
import {
  addresses,
  byFamily,
  clientView,
  detailLabel,
  FAMILY_LABEL,
  findings,
  otherFailReasons,
  refusedAtData,
  routeRows,
  routeText,
  TRANSPORT_LABEL,
  vectorIds,
  whereText,
  type AddressView,
  type Family,
  type Finding,
  mtaLabel,
  ownMailText,
  proxiedNotes,
  seenAsText,
  skippedGroups,
  someIds,
} from './view.js';
import { describeTls, type TlsInfo } from '../smtp/session.js';
import { LIMITS } from '../smtp/limits.js';
import { ACTION_NAMING, GATE_CLIENT_ADDRESS, type InputNaming } from '../settings.js';
import { networkKind, trustedByDefault } from '../diagnosis/vantage.js';

/** GitHub refuses a step summary over 1 MiB; stay well below it. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 64 * 1024;

/** Past this many relayed vectors the relayed section shows families, and the full list folded. */
const FOLD_FINDINGS_OVER = 10;

const BANNER = {
  open: '❌ Open relay',
  closed: '✅ Not an open relay',
  inconclusive: '⚠️ Inconclusive',
} as const;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "plaintext and STARTTLS": the transports of an address that gave a given answer. */
function transportsText(ts: readonly TargetReport['transport'][]): string {
  const names = ts.map((t) => TRANSPORT_LABEL[t]);
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** The label, with the address family named when the same host was tested over both. */
function spokenLabel(v: AddressView, all: readonly AddressView[]): string {
  const dual = all.some((o) => o.host === v.host && o.port === v.port && o.family !== v.family && o.family !== null);
  return dual && v.family ? `${v.label} over IPv${v.family}` : v.label;
}

/** What was found at one address, as a clause of the verdict sentence. */
function addressClause(v: AddressView, all: readonly AddressView[]): string {
  const name = spokenLabel(v, all);
  if (!v.tested) return `${name} could not be tested (${v.untestedWhy ?? 'unreachable'})`;
  if (v.verdict === 'open') {
    const where = v.runs.filter((t) => t.counts.relayed > 0).map((t) => t.transport);
    return `${name} relays: ${v.relayedVectors} of ${plural(v.vectors, 'vector')} ${v.relayedVectors === 1 ? 'was' : 'were'} accepted${v.runs.length > 1 || where[0] !== 'plain' ? ` (${transportsText(where)})` : ''}`;
  }
  const over = v.runs.filter((t) => t.counts.tests > 0).map((t) => t.transport);
  const overText = over.length > 1 || (over[0] && over[0] !== 'plain') ? `, ${transportsText(over)}` : '';
  const refused = `${v.vectors === 1 ? 'its one vector was' : `all ${v.vectors} vectors were`} refused${overText}`;
  if (v.verdict === 'closed') return `${name} is closed (${refused})`;
  const missed = notEntered(v);
  if (v.inconclusiveVectors === 0 && missed) return `${name} relayed nothing (${refused}), but ${missed}`;
  return `${name} relayed nothing, but ${v.inconclusiveVectors} of ${plural(v.vectors, 'vector')} proved nothing either way${missed ? `, and ${missed}` : ''}`;
}

/** A transport of a tested address whose session could not be set up (STARTTLS offered, handshake failed): what was not tested and why. */
function notEntered(v: AddressView): string | null {
  const missed = v.runs.filter((t) => !t.reachable);
  if (missed.length === 0) return null;
  return missed.map((t) => `${TRANSPORT_LABEL[t.transport]} could not be entered (${t.error ?? 'no session'}), so nothing was tested inside it`).join('; ');
}

const ORDER = { open: 0, inconclusive: 1, closed: 2 } as const;

/**
 * What the verdict means, in one sentence that says what was found where
 * ("localhost ([::1]:25) over IPv6 relays…; localhost (127.0.0.1:25) over IPv4
 * is closed"). Plain text: the terminal prints it as it is, the summary escapes it.
 */
export function headline(r: Report): string {
  const views = addresses(r);
  if (views.length === 0) return 'Nothing was tested: no address to test.';
  const sorted = [...views].sort((a, b) => (a.tested === b.tested ? ORDER[a.verdict] - ORDER[b.verdict] : a.tested ? -1 : 1));
  let clauses: string[];
  if (views.length <= HEADLINE_NAMES_UP_TO) {
    clauses = sorted.map((v) => addressClause(v, views));
  } else {
    // A fleet: name the ones that matter, count the rest.
    const open = sorted.filter((v) => v.tested && v.verdict === 'open');
    const unknown = sorted.filter((v) => v.tested && v.verdict === 'inconclusive');
    const untested = sorted.filter((v) => !v.tested);
    const closed = sorted.filter((v) => v.tested && v.verdict === 'closed');
    const names = (list: AddressView[]): string => list.slice(0, 3).map((v) => v.label).join(', ') + (list.length > 3 ? ` and ${list.length - 3} more` : '');
    clauses = [
      open.length ? `${open.length} of ${views.length} addresses relay (${names(open)})` : '',
      unknown.length ? `${unknown.length} proved nothing either way (${names(unknown)})` : '',
      untested.length ? `${untested.length} could not be tested (${names(untested)})` : '',
      closed.length ? `${plural(closed.length, 'address is', 'addresses are')} closed` : '',
    ].filter(Boolean);
  }
  const body = clauses.join('; ');
  if (r.verdict === 'open') return `${body}.`;
  if (r.verdict === 'closed') return `Not an open relay: ${body}.`;
  return `Nothing relayed, but the run could not prove the server closed: ${body}.`;
}

/**
 * What an open verdict proves about who may relay, without claiming more than
 * was shown: from a loopback or private address without `client-address`, only
 * that this client may relay. Plain text with `backticks` for code.
 */
export function reachNote(r: Report, besideDiagnosis = false): string | null {
  if (r.verdict !== 'open') return null;
  const c = clientView(r, addresses(r));
  const via = r.gate?.exim ? 'Exim host checking, `exim -bh`' : 'XCLIENT';
  if (c.clientAddress && trustedByDefault(networkKind(c.clientAddress))) {
    return `It relayed for the client ${c.clientAddress} (${networkKind(c.clientAddress) === 'loopback' ? 'loopback' : 'a private address'}, tested through ${via}): anyone can send mail through this server if outside clients reach it as ${c.clientAddress} (a forwarder, proxy or container gateway in front of it that does not keep their address).`;
  }
  if (c.clientAddress) return `It relayed for an outside client (tested as ${c.clientAddress} through ${via}): anyone can send mail through this server.`;
  if (c.trustedNetwork) {
    // "Why it relays" says the same, with the address the server saw, right below.
    if (besideDiagnosis && (r.diagnosis ?? []).some((d) => d.vantageWarning)) return null;
    const kind = c.kind === 'loopback' ? 'a loopback address' : 'a private-network address';
    return `Tested from ${kind}, which mail servers often trust by design: this proves that this client may relay, not yet that anyone can.`;
  }
  return 'Anyone who can connect from where this check ran can send mail through this server to any address.';
}

/** A note on attempts RCPT accepted and DATA refused (`relaxed` only). */
export function dataNote(r: Report): string | null {
  const refused = refusedAtData(r);
  if (refused.length === 0) return null;
  return `${plural(refused.length, 'attempt')} got RCPT TO accepted and the message then refused at DATA (${[...new Set(refused.map((a) => a.vector))].slice(0, 3).join(', ')}${refused.length > 3 ? ', …' : ''}): under \`relaxed\` that is not counted as a relay.`;
}

/**
 * Gate mode: every accepted attempt was sent through DATA to the private instance and decided
 * by where its log says the mail went. Plain text with `backticks` for code.
 */
export function routeNote(r: Report): string | null {
  const rows = routeRows(r);
  if (rows.length === 0) return null;
  const n = (f: (x: (typeof rows)[number]) => boolean): number => rows.filter(f).length;
  const parts = [
    n((x) => x.proof.relays === true) ? `${n((x) => x.proof.relays === true)} handed to the relay or default transport (relayed)` : '',
    n((x) => x.proof.relays === false) ? `${n((x) => x.proof.relays === false)} delivered or returned by the server itself (not a relay)` : '',
    n((x) => x.proof.relays === null) ? `${n((x) => x.proof.relays === null)} not shown, decided by the reply` : '',
  ].filter(Boolean);
  return `Each accepted attempt was sent through DATA to the private instance, whose log says where the mail went: ${parts.join(', ')}.`;
}

/** Why vectors did not run where the plain attempt relayed. Plain text with `backticks` for code. */
export function stopNote(r: Report): string | null {
  const stopped = r.targets.flatMap((t) => (t.stopped && t.stopped.notRun > 0 ? [t.stopped] : []));
  if (stopped.length === 0) return null;
  // Vectors, as the table counts them: one skipped on plaintext and inside STARTTLS is one vector not run.
  const notRun = notRunVectors(r);
  const after = [...new Set(stopped.map((s) => `\`${s.after}\``))].join(', ');
  return `relay-check stopped where the plain attempt (${after}) relayed: ${plural(notRun, 'further vector was', 'further vectors were')} not run, since on an open server every transaction that gets a recipient accepted opens a queue file. Once the relay is closed the whole battery runs.`;
}

/** Distinct vectors that ran on no transport of an address where a run stopped early, summed over addresses. */
function notRunVectors(r: Report): number {
  return addresses(r).reduce((n, v) => {
    if (!v.runs.some((t) => t.stopped)) return n;
    const ran = new Set(v.runs.flatMap((t) => t.attempts.filter((a) => a.outcome !== 'skipped').map((a) => a.vector)));
    // Skipped for the stop (src/schedule/target.ts words each such reason "not run: the plain attempt (ID) …"), not for want of an IPv6 address.
    const skipped = new Set(
      v.runs.flatMap((t) => (t.stopped ? t.attempts.filter((a) => a.outcome === 'skipped' && !ran.has(a.vector) && a.reason.startsWith(`not run: the plain attempt (${t.stopped?.after})`)).map((a) => a.vector) : [])),
    );
    return n + skipped.size;
  }, 0);
}

/** Accepted recipients the server was slow to answer (Postfix in_flow_delay). Plain text with `backticks` for code. */
export function pauseNote(r: Report): string | null {
  const pauses = r.targets.reduce((n, t) => n + (t.pauses ?? 0), 0);
  if (pauses === 0) return null;
  return `The server paused before accepting ${plural(pauses, 'recipient')} (${LIMITS.slowReplyMs / 1000} s or more each): Postfix does this when mail arrives faster than it leaves (\`in_flow_delay\`, once its queue-file tokens are used up), and its real mail waits as long meanwhile.`;
}

const POSTFIX_DOC = 'https://www.postfix.org/SMTPD_ACCESS_README.html';
const POSTFIX_ADDR_DOC = 'https://www.postfix.org/ADDRESS_REWRITING_README.html';

/** Advice per family of relayed vector. Markdown from relay-check itself (no server text). */
const FAMILY_ADVICE: Record<Family, string> = {
  plain: `**Relaying is not restricted for this client at all**: a plain message from outside to outside got through. Postfix: end \`smtpd_relay_restrictions\` in \`reject_unauth_destination\` and keep \`mynetworks\` to hosts you trust; Exim: \`acl_check_rcpt\` must \`require domains = +local_domains : +relay_to_domains\` for other hosts. See <${POSTFIX_DOC}>.`,
  senders: '**It trusts sender addresses**, which anyone can forge: remove `OK` results for senders (`check_sender_access`) before `reject_unauth_destination`; let clients that must relay authenticate.',
  helo: '**It trusts HELO names**, which the client chooses: remove `check_helo_access` entries returning `OK` before `reject_unauth_destination`.',
  routing: `**It forwards addresses hidden in the local part** (percent hack, bang paths, source routes, quoted addresses). Postfix: \`allow_percent_hack = no\`, \`swap_bangpath = no\`, \`resolve_dequoted_address = yes\`; Exim: empty \`percent_hack_domains\`. See <${POSTFIX_ADDR_DOC}>.`,
  syntax: '**It relays malformed addresses**: its parser and its relay check disagree. Postfix: `strict_rfc821_envelopes = yes`.',
  roles: "**It relays to other domains' role mailboxes**: an entry like `/^postmaster@/ OK` before `reject_unauth_destination` relays to every domain's postmaster; anchor it to your domains.",
  'after-local': '**It relays an outside recipient after a local one**: the relay check must run at every `RCPT TO`, not once per message.',
  local: '**A local-delivery check was accepted**: see the reply below.',
  other: '**Other forms relayed**: the table below has the exact commands.',
};

/** Gate mode: the change proved on a copy, as the first thing to do; a change that is not verified, with why. */
function fixAdvice(r: Report): string[] {
  const dir = (r.gate?.configDir ?? '.').replace(/\/+$/, '');
  return (r.gate?.fixes ?? []).map((f) => {
    const at = f.places[0];
    const where = at ? `${code(`${dir}/${at.file}`)} line ${at.line}` : code(dir);
    const to = f.diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).map((l) => l.slice(1).trim());
    return `${f.verified ? '**Change' : '**Not verified, do not apply as is: change'} ${where}** to ${to.map((l) => code(l)).join(', ') || 'the change below'}. ${mdText(fixVerdict(f))} The diff is shown with the cause.`;
  });
}

/** The "What to do" bullets that fit this run. Markdown from relay-check; inputs escaped. */
export function adviceBullets(r: Report, n: InputNaming = ACTION_NAMING): string[] {
  const views = addresses(r);
  const out: string[] = [];
  if (r.verdict === 'open') {
    const relayed = findings(r, ['relayed']);
    const c = clientView(r, views);
    const diagnoses = r.diagnosis ?? [];
    // "Why it relays" already says it, with the address the server saw.
    if (c.trustedNetwork && !diagnoses.some((d) => d.vantageWarning)) {
      out.push(
        `**Test as an outsider first**: ${c.kind === 'loopback' ? 'loopback' : 'a private network'} is trusted by Postfix \`mynetworks\` and Exim \`relay_from_hosts\`. Re-run with ${n.set('client-address', GATE_CLIENT_ADDRESS)} (Postfix XCLIENT, allowed by \`smtpd_authorized_xclient_hosts\`) or from outside your network.`,
      );
    }
    // The diagnosis names cause and fix; advice by family is for what it could not explain.
    const explained = diagnoses.length > 0 && diagnoses.every((d) => d.findings.length > 0);
    const families = new Set(relayed.map((f) => f.family));
    // A plain outside-to-outside relay explains every other family: one fix, not seven.
    const fits: Family[] = explained ? [] : families.has('plain') ? ['plain'] : byFamily(relayed).map((g) => g.family);
    out.push(...fixAdvice(r));
    for (const f of fits) {
      const ids = vectorIds(relayed.filter((x) => x.family === f));
      out.push(`${FAMILY_ADVICE[f]}${f === 'plain' ? '' : ` (${ids.slice(0, 4).map((i) => code(i)).join(', ')}${ids.length > 4 ? `, ${ids.length - 4} more` : ''})`}`);
    }
    out.push(
      r.settings.strictness === 'relaxed'
        ? 'Then re-run this check: the tables below name the exact commands that got through.'
        : `Relays are counted when \`RCPT TO\` is accepted; ${n.set('strictness', 'relaxed')} also sends a test message through \`DATA\` and counts only what got through. Fix, then re-run this check.`,
    );
  } else if (r.verdict === 'inconclusive') {
    out.push(...untestedAdvice(views.filter((x) => !x.tested), n));
    for (const v of views.filter((x) => x.tested && x.runs.some((t) => t.transport === 'starttls' && !t.reachable))) {
      const why = v.runs.find((t) => t.transport === 'starttls' && !t.reachable)?.error ?? 'no session';
      // relay-check offers TLS 1.0 to 1.3 at any cipher strength (TEST_TLS): what fails here fails for most clients.
      out.push(
        `${mdText(v.label)} offers STARTTLS, but it could not be entered (${mdText(why)}), so nothing was tested inside it. relay-check accepts TLS 1.0 to 1.3 and weak ciphers, so most clients fail there too: fix the server's TLS (certificate, protocols, ciphers) or stop offering STARTTLS, or test plaintext only with ${n.set('tls', 'none')}.`,
      );
    }
    // Vectors, as the table counts them: one inconclusive in plaintext and inside STARTTLS is one.
    const reasons = new Map<string, Set<string>>();
    for (const f of findings(r, ['inconclusive'])) reasons.set(f.reason, (reasons.get(f.reason) ?? new Set<string>()).add(f.vector));
    for (const [reason, ids] of [...reasons].sort((a, b) => b[1].size - a[1].size).slice(0, 3)) out.push(`${plural(ids.size, 'vector')} proved nothing: ${mdText(reason)}.`);
    if (reasons.size > 3) out.push(`${reasons.size - 3} more reason(s) in the table below.`);
  }
  return out;
}

/**
 * What to do about addresses nothing was tested at. The verdict sentence said why
 * already: this says only the fix, once per kind of failure, and the IPv6 route
 * only to an IPv6 address.
 */
function untestedAdvice(untested: readonly AddressView[], n: InputNaming): string[] {
  const out: string[] = [];
  const xclient = untested.filter((v) => v.runs.some((t) => t.errorKind === 'xclient'));
  if (xclient.length > 0) {
    out.push(
      `Authorize the runner for XCLIENT on ${mdText(xclient.map((v) => v.label).join(', '))}: Postfix \`smtpd_authorized_xclient_hosts\` must list the address the check connects from (\`127.0.0.0/8\` when it runs on the server itself). Or run without ${n.name('client-address')}, as the runner's own address, which the server may trust.`,
    );
  }
  const other = untested.filter((v) => !xclient.includes(v));
  if (other.length > 0) {
    const v6 = other.some((v) => v.family === 6);
    out.push(`Check that the runner can reach ${mdText(other.map((v) => v.label).join(', '))}${v6 ? ' (GitHub-hosted runners have no IPv6 route)' : ''}, or leave ${other.length === 1 ? 'it' : 'them'} out by naming the hosts to test in ${n.name('host')}.`);
  }
  return out;
}

/** `vector-id` and, in one code cell, `HELO x · MAIL FROM → RCPT TO`. */
function attemptCell(f: Finding): string {
  const cmds = f.mailFrom === null ? null : `${f.helo !== null ? `HELO ${f.helo} · ` : ''}${f.mailFrom} → ${f.rcptTo.join(', ')}`;
  return `**${code(f.vector)}**${cmds ? `<br>${code(cmds)}` : ''}`;
}

function whereCell(f: Finding): string {
  return mdText(whereText(f.where));
}

function replyCell(f: Finding, withReason: boolean): string {
  if (f.reply === null) return mdText(f.reason);
  return withReason ? `${code(f.reply)}<br>${mdText(f.reason)}` : code(f.reply);
}

/** Adds text while it fits under a byte budget; remembers whether anything was left out. */
class Budget {
  readonly parts: string[] = [];
  private used = 0;
  cut = false;

  constructor(private readonly limit: number) {}

  add(text: string): boolean {
    const bytes = Buffer.byteLength(text) + 2;
    if (this.used + bytes > this.limit) {
      this.cut = true;
      return false;
    }
    this.used += bytes;
    this.parts.push(text);
    return true;
  }

  /** A table with as many rows as fit, and a line saying how many did not. */
  table(head: string[], rows: string[][], prefix = '', suffix = ''): void {
    const reserve = 256;
    const kept: string[][] = [];
    let size = Buffer.byteLength(prefix + suffix + table(head, [])) + reserve;
    for (const row of rows) {
      const bytes = Buffer.byteLength(row.join(' | ')) + 6;
      if (this.used + size + bytes > this.limit) break;
      size += bytes;
      kept.push(row);
    }
    const omitted = rows.length - kept.length;
    const note = omitted > 0 ? `\n\n_${omitted} more row(s) left out to stay under GitHub's 1 MiB summary limit; the JSON report has them all._` : '';
    if (omitted > 0) this.cut = true;
    this.add(`${prefix}${table(head, kept)}${note}${suffix}`);
  }
}

/**
 * Why a transport of a tested address ran nothing; null when it ran, or when the
 * run stopped there because plaintext relayed (the stop note says that once).
 */
function transportGap(t: TargetReport): string | null {
  if (t.stopped) return null;
  if (!t.reachable) return t.error ?? 'unreachable';
  if (t.counts.tests === 0) return t.attempts.find((a) => a.outcome === 'skipped')?.reason ?? 'no attempt ran';
  return null;
}

/** TLS as the cell shows it. The gate's certificate is one it made itself: whether it verifies says nothing about production. */
function tlsText(tls: TlsInfo, gate: boolean): string {
  return gate ? `${tls.protocol ?? '?'}, test certificate` : describeTls(tls);
}

/** How each transport of an address went, for the targets table: short labels; the reasons go below the table. */
function transportCell(v: AddressView, gate: boolean): string {
  // The result cell says why nothing was tested; saying it twice hides the rest of the row.
  if (!v.tested) return '—';
  return v.runs
    .map((t) => {
      const name = TRANSPORT_LABEL[t.transport];
      if (t.stopped && t.counts.tests === 0) return `${name}: not run`;
      if (transportGap(t) !== null) return `${name}: not tested`;
      return t.tls ? `${name} <sub>${mdText(tlsText(t.tls, gate))}</sub>` : name;
    })
    .join('<br>');
}

/**
 * The reasons the transport cells left out, one per address and transport, as
 * plain text; none the verdict sentence gives already (a transport that could
 * not be entered, on an inconclusive address it names).
 */
export function transportGaps(views: readonly AddressView[]): string[] {
  return views
    .filter((v) => v.tested)
    .flatMap((v) =>
      v.runs.flatMap((t) => {
        const gap = transportGap(t);
        const said = !t.reachable && v.verdict === 'inconclusive' && views.length <= HEADLINE_NAMES_UP_TO;
        return gap === null || said ? [] : [`${v.label}, ${TRANSPORT_LABEL[t.transport]} not tested: ${gap}`];
      }),
    );
}

/** The verdict sentence names each untested address and why up to this many addresses (headline). */
export const HEADLINE_NAMES_UP_TO = 4;

function resultCell(v: AddressView, all: number): string {
  // The verdict sentence said why, unless a fleet made it count instead of name.
  if (!v.tested) return all > HEADLINE_NAMES_UP_TO ? `**not tested**: ${mdText(v.untestedWhy ?? 'unreachable')}` : '**not tested**';
  return v.verdict === 'open' ? '**open relay**' : v.verdict;
}

/** What every section of the job summary reads. */
interface SummaryRun {
  r: Report;
  views: AddressView[];
  naming: InputNaming;
}

/**
 * The job summary as Markdown. The first screen holds the answer: the banner,
 * one sentence of what was found where, the targets, and what to do. Then the
 * relayed attempts (one row per vector, folded by family when there are many),
 * the inconclusive ones by reason, and folded: every attempt and the
 * transcripts, one per address and transport. Every string that came from a
 * server or an input goes through mdText/code/preText. Sections are added in
 * order of importance and cut to stay under GitHub's limit.
 */
export function renderSummary(r: Report, limit = SUMMARY_LIMIT_BYTES, naming: InputNaming = ACTION_NAMING): string {
  const out = new Budget(limit - 1024);
  const run: SummaryRun = { r, views: addresses(r), naming };
  for (const section of SUMMARY_SECTIONS) section(out, run);
  let body = out.parts.join('\n\n');
  if (out.cut) body += `\n\n_This summary was cut to stay under GitHub's 1 MiB limit; the JSON report holds every attempt and transcript._`;
  return `${body}\n`;
}

/** The summary's sections in the order they are read, and in which the budget is spent. */
const SUMMARY_SECTIONS: readonly ((out: Budget, run: SummaryRun) => void)[] = [
  verdictSection,
  warningsSection,
  whyItRelaysSection,
  targetsSection,
  ownMailSection,
  seenAsSection,
  whatToDoSection,
  gateSections,
  relayedSection,
  inconclusiveSection,
  allAttemptsSection,
  transcriptsSection,
];

/** The banner, and the verdict sentence with its notes and whether the step passes. */
function verdictSection(out: Budget, { r }: SummaryRun): void {
  out.add(`## relay-check: ${BANNER[r.verdict]}`);
  // Said first: it changes what every verdict below means.
  for (const note of proxiedNotes(r)) out.add(`> [!CAUTION]\n> ${inlineMd(note)}`);
  const notes = [reachNote(r, true), dataNote(r), routeNote(r), stopNote(r), pauseNote(r)].filter((x): x is string => x !== null).map(inlineMd);
  out.add(
    `**${mdText(headline(r))}** ${notes.join(' ')}${notes.length ? ' ' : ''}` +
      (r.failed
        ? `The step fails (strictness ${code(r.settings.strictness)})${otherFailReasons(r).length ? `: ${mdText(otherFailReasons(r).join('; '))}` : ''}.`
        : `The step passes (strictness ${code(r.settings.strictness)}).`),
  );
}

function warningsSection(out: Budget, { r, views }: SummaryRun): void {
  // Untested addresses are in the verdict sentence and the table; other warnings get a line each.
  const untested = new Set(views.filter((v) => !v.tested).map((v) => v.address || v.host));
  // A warning that is also why the step fails (strict: STARTTLS not entered) is said once, as the reason.
  const warnings = r.warnings.filter((w) => !r.failReasons.includes(w) && ![...untested].some((u) => u && w.startsWith(`${u} port`)));
  for (const w of warnings.slice(0, 20)) out.add(`> [!WARNING]\n> ${mdText(w)}`);
}

function whyItRelaysSection(out: Budget, { r, naming }: SummaryRun): void {
  const why = diagnosisMarkdown(r, naming);
  if (why) out.add(why);
}

/** One row per address, and below it why a transport ran nothing. */
function targetsSection(out: Budget, { r, views }: SummaryRun): void {
  // Vectors, each counted once per address however many transports ran it (its worst outcome).
  out.table(
    ['Target', 'MTA', 'Tested over', 'Vectors', 'Relayed', 'Denied', 'Inconclusive', 'Result'],
    views.map((v) => {
      const n = (x: number): string => (v.tested ? String(x) : '—');
      return [mdText(v.label), mdText(mtaLabel(v, r.gate)), transportCell(v, r.gate !== undefined), n(v.vectors), n(v.relayedVectors), n(v.deniedVectors), n(v.inconclusiveVectors), resultCell(v, views.length)];
    }),
  );
  const gaps = transportGaps(views);
  if (gaps.length > 0) out.add(gaps.map((g) => `- ${mdText(g)}`).join('\n'));
}

function ownMailSection(out: Budget, { views }: SummaryRun): void {
  // The positive control beside the table: what the refusals above are weighed against.
  const own = views.map((v) => [v, ownMailText(v)] as const).filter((x): x is readonly [AddressView, string] => x[1] !== null);
  if (own.length > 0) out.add(`**Own mail** (positive control, RFC 5321 §4.5.1): ${own.map(([v, text]) => `${mdText(v.label)} ${mdText(text)}`).join('; ')}.`);
}

function seenAsSection(out: Budget, { views }: SummaryRun): void {
  const seen = views.map((v) => [v, seenAsText(v)] as const).filter((x): x is readonly [AddressView, string] => x[1] !== null);
  if (seen.length > 0) out.add(`**Seen as** (the address the server judged): ${seen.map(([v, text]) => `${mdText(v.label)}: ${inlineMd(text)}`).join('; ')}.`);
}

function whatToDoSection(out: Budget, { r, naming }: SummaryRun): void {
  const advice = adviceBullets(r, naming);
  if (advice.length > 0) out.add(`### What to do\n\n${advice.map((a) => `- ${a}`).join('\n')}`);
}

/** Gate mode: the configuration tested, and what its base commit did. */
function gateSections(out: Budget, { r }: SummaryRun): void {
  if (r.gate) gateSection(out, r.gate);
  routeSection(out, r);
  if (r.gate?.base) out.add(baseSummaryLines(r.gate).join('\n'));
}

function relayedSection(out: Budget, { r }: SummaryRun): void {
  const relayed = findings(r, ['relayed']);
  if (relayed.length === 0) return;
  // Seen at one place only (the common case): say where once, in the heading, and give the reply the room.
  const places = new Set(relayed.map((f) => whereText(f.where)));
  const one = places.size === 1 ? [...places][0] : null;
  const head = one ? ['Attempt', 'Server reply'] : ['Attempt', 'Where', 'Server reply'];
  const rows = relayed.map((f) => (one ? [attemptCell(f), replyCell(f, f.stage === 'data')] : [attemptCell(f), whereCell(f), replyCell(f, f.stage === 'data')]));
  out.add(`### Relayed: ${plural(vectorIds(relayed).length, 'vector')}${one ? ` on ${mdText(one)}` : ''}`);
  if (relayed.length > FOLD_FINDINGS_OVER) {
    out.table(
      ['Family', 'Relayed', 'For example'],
      byFamily(relayed).map((g) => [mdText(FAMILY_LABEL[g.family]), String(vectorIds(g.findings).length), vectorIds(g.findings).slice(0, 3).map(code).join(', ')]),
    );
    out.table(head, rows, `<details><summary>Every relayed attempt (${relayed.length})</summary>\n\n`, '\n\n</details>');
  } else {
    out.table(head, rows);
  }
}

function inconclusiveSection(out: Budget, { r }: SummaryRun): void {
  const inconclusive = findings(r, ['inconclusive']);
  if (inconclusive.length === 0) return;
  const byReason = new Map<string, Finding[]>();
  for (const f of inconclusive) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f]);
  out.add(`### Inconclusive: ${plural(vectorIds(inconclusive).length, 'vector')}`);
  out.table(
    ['Why nothing was proved', 'Where', 'Vectors'],
    [...byReason].map(([reason, list]) => {
      const ids = vectorIds(list);
      const where = list.flatMap((f) => f.where).filter((w, i, all) => all.findIndex((x) => x.label === w.label) === i);
      const example = list[0].reply !== null ? `<br>e.g. ${code(list[0].reply)}` : '';
      return [`${mdText(reason)}${example}`, mdText(whereText(where)), `${ids.length}: ${ids.slice(0, 4).map(code).join(', ')}${ids.length > 4 ? ', …' : ''}`];
    }),
  );
}

function allAttemptsSection(out: Budget, { r }: SummaryRun): void {
  // Vectors a run did not start share one reason: one row with the count, not a row each.
  const all = findings(r, ['relayed', 'inconclusive', 'denied']);
  const skipped = skippedGroups(r).map((g) => [`${plural(g.vectors.length, 'vector')}: ${mdText(someIds(g.vectors))}`, mdText(whereText(g.where)), 'skipped', mdText(g.reason)]);
  out.table(
    ['Attempt', 'Where', 'Result', 'Server reply'],
    [...all.map((f) => [attemptCell(f), whereCell(f), f.outcome, replyCell(f, true)]), ...skipped],
    `<details><summary>All attempts (${plural(all.length + skipped.length, 'row')}: one per vector and answer${skipped.length ? ', vectors not run one row per reason' : ''})</summary>\n\n`,
    '\n\n</details>',
  );
}

/** One folded transcript per address and transport, while they fit. */
function transcriptsSection(out: Budget, { r }: SummaryRun): void {
  const blocks = r.targets.filter((t) => t.opening.length > 0 || t.attempts.some((a) => a.transcript.length > 0));
  if (blocks.length === 0 || !out.add('### Transcripts')) return;
  for (const t of blocks) if (!out.add(transcriptBlock(t))) break;
}

function transcriptBlock(t: TargetReport): string {
  const lines = [
    ...t.opening.map((l) => `${l.dir} ${l.text}`),
    ...t.attempts.filter((a) => a.transcript.length > 0).flatMap((a) => ['', `# ${a.vector}: ${a.outcome}`, ...a.transcript.map((l) => `${l.dir} ${l.text}`)]),
  ];
  const ran = t.attempts.filter((a) => a.transcript.length > 0).length;
  const title = `${detailLabel(t)}, ${TRANSPORT_LABEL[t.transport]}: ${ran > 0 ? `greeting, EHLO and ${plural(ran, 'attempt')}` : t.reachable ? 'greeting and EHLO; no attempt ran' : 'the connection, which failed'}`;
  return `<details><summary>${mdText(title)}</summary>\n\n<pre>${preText(lines.join('\n'))}</pre>\n\n</details>`;
}

/** How many routing proofs show before the rest is folded. */
const ROUTE_ROWS_SHOWN = 10;

/** Gate mode: where the instance put each accepted attempt, with Postfix's log line as the proof. */
function routeSection(out: Budget, r: Report): void {
  const rows = routeRows(r);
  if (rows.length === 0) return;
  out.add(`### Where the accepted mail went\n\nEach accepted attempt was sent through DATA to the private instance (every delivery class a discard with its own next hop); the delivery agent's log line names the class.`);
  const cells = rows.map((x) => [`${code(x.vector)}<br>${code(x.rcpt)}`, mdText(x.label), mdText(routeText(x.proof)), x.proof.line !== null ? code(x.proof.line) : mdText(x.proof.note ?? '')]);
  const head = ['Attempt', 'Service', 'Went to', "Postfix's log"];
  out.table(head, cells.slice(0, ROUTE_ROWS_SHOWN));
  if (cells.length > ROUTE_ROWS_SHOWN) out.table(head, cells.slice(ROUTE_ROWS_SHOWN), `<details><summary>${cells.length - ROUTE_ROWS_SHOWN} more</summary>\n\n`, '\n\n</details>');
}

/** Gate mode: what was built from the configuration, what could not be tested, what was changed. */
function gateSection(out: Budget, g: NonNullable<Report['gate']>): void {
  const commit = g.commit ? `, commit ${code(g.commit.slice(0, 12))}` : '';
  if (g.exim) {
    const form = { configure: 'a plain Exim configuration', template: "Debian's exim4.conf.template, generated by Debian's update-exim4.conf", split: "Debian's split conf.d/, generated by Debian's update-exim4.conf" }[g.exim.form];
    out.add(`### Configuration tested\n\n${code(g.configDir)}${commit} (${form}) on Exim ${mdText(g.exim.version)} in host-checking mode (${code(`exim -bh ${g.exim.client}`)}: each session through the configuration's ACLs as if from that outside address, nothing delivered), every transport a discard.`);
  } else {
    out.add(`### Configuration tested\n\n${code(g.configDir)}${commit} on a private Postfix ${mdText(g.postfixVersion)}, every transport \`discard:\`, as an outside client through XCLIENT.`);
  }
  out.table(
    [g.exim ? 'Service' : 'master.cf service', 'In production', 'Tested on'],
    g.services.map((s) => [`${code(s.name)} (${s.command}${s.wrapper ? ', implicit TLS' : s.tlsRequired ? ', STARTTLS required' : ''})`, code(s.original), code(`127.0.0.1:${s.port}`)]),
  );
  const where = (c: (typeof g.changes)[number]): string => code(`${c.file}${c.line !== null ? `:${c.line}` : ''}`);
  const untested = g.changes.filter((c) => !c.tested);
  if (untested.length > 0) out.add(`> [!WARNING]\n> Not tested here (cannot run on a runner):\n${untested.map((c) => `> - ${where(c)} ${mdText(`${c.subject}: ${c.change}`)}`).join('\n')}`);
  const changed = g.changes.filter((c) => c.tested);
  out.table(['Where', 'Changed to run on a runner'], changed.map((c) => [where(c), mdText(`${c.subject}: ${c.change}`)]), `<details><summary>${changed.length} change(s) made to run it on a runner</summary>\n\n`, '\n\n</details>');
}
