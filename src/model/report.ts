import type { Diagnosis, Vantage } from './diagnosis.js';
import type { GateCause, VerifiedFix } from './gate.js';
import type { MtaIdentity } from './mta.js';
import type { TlsInfo, TranscriptLine } from './session.js';
import type { Outcome, RunVerdict, Stage, Strictness, TlsMode } from './verdict.js';

/**
 * The Report: plain data, the same object the JSON file holds. Every renderer
 * (job summary, annotations, terminal) reads this and nothing else, so they
 * cannot disagree. Bump SCHEMA_VERSION on any incompatible change.
 */
export const SCHEMA_VERSION = 1;

export type AttemptOutcome = Outcome | 'skipped';

export interface AttemptReport {
  vector: string;
  description: string;
  provenance: string;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  outcome: AttemptOutcome;
  /** Why: the classification's reason, the skip reason, or what interrupted it. */
  reason: string;
  /** Classification table row that decided, when a reply decided. */
  rule: string | null;
  /** The reply that decided, as the server sent it. */
  reply: string | null;
  stage: Stage | null;
  /** Which connection to this address carried the final try (1-based). */
  connection: number | null;
  /** The server name the relay destination is addressed to (user%ext@server …); '' unqualified; null: elsewhere. */
  routedVia: string | null;
  /** 1, or 2 when the attempt was interrupted and retried. */
  tries: number;
  transcript: TranscriptLine[];
  /** Gate mode, an accepted attempt: where the private instance put its relay destination, from its maillog. */
  route?: RouteProof;
}

/**
 * Where a private Postfix put an accepted recipient (gate mode). The accepted attempt is sent
 * through DATA to the instance, whose every delivery class (local, virtual, relay, default)
 * is a discard with a next hop of its own; the delivery agent's log line names the class.
 */
export interface RouteProof {
  /**
   * The class the relay destination resolved to; `bounced`: Postfix returned it itself (the
   * error transport, status=bounced); null: not shown (see note).
   */
  class: 'local' | 'virtual' | 'relay' | 'default' | 'bounced' | null;
  /** true: handed to the relay or default class (the mail leaves the server); false: kept or returned by it; null: not shown. */
  relays: boolean | null;
  /** The recipient as Postfix logged it (to=), after its own rewriting. */
  recipient: string | null;
  /** The message's queue id in the instance. */
  queueId: string | null;
  /** The delivery agent's maillog line, without the syslog date and host: the proof, as Postfix wrote it. */
  line: string | null;
  /** Why nothing was shown (DATA refused, the message diverted by the configuration, no log line in time); null when shown. */
  note: string | null;
}

export interface Counts {
  /** Attempts run (not skipped). */
  tests: number;
  relayed: number;
  denied: number;
  inconclusive: number;
  skipped: number;
}

export interface TargetReport {
  /** The host as the user named it. */
  host: string;
  /** Gate mode: the master.cf service this address stands for, as `submission (587)`. */
  service?: string;
  /** Transactions (MAIL FROM) sent to this address on this transport. */
  transactions?: number;
  /**
   * Set when the plain attempt relayed and relay-check started nothing further here
   * (every transaction that gets a recipient accepted makes an open server open a queue
   * file): the vector that relayed, and how many vectors were therefore not run.
   */
  stopped?: { after: string; notRun: number };
  /**
   * Accepted recipients whose reply came late (LIMITS.slowReplyMs or more): Postfix's
   * inflow control (in_flow_delay) pausing before a new queue file, or a callout.
   */
  pauses?: number;
  /** `tls: auto` got no plaintext greeting and found implicit TLS here instead. */
  tlsDetected?: boolean;
  /** The address tested (empty when a name did not resolve). */
  address: string;
  family: 4 | 6 | null;
  port: number;
  /** plain, STARTTLS (RFC 3207) or implicit TLS (RFC 8314). */
  transport: 'plain' | 'starttls' | 'implicit';
  /** What TLS looked like on the first connection; null in plaintext. */
  tls: TlsInfo | null;
  /** An SMTP session could be set up (TCP, greeting, EHLO, and TLS/XCLIENT when asked); false: nothing was tested. */
  reachable: boolean;
  /** Why the address could not be tested (fully or at all). */
  error: string | null;
  /** The kind of that failure (connect-refused, timeout, tls, xclient, …). */
  errorKind: string | null;
  greeting: string | null;
  serverName: string | null;
  extensions: string[];
  /** Greeting and EHLO of the first connection (or what came before it failed). */
  opening: TranscriptLine[];
  connections: number;
  /**
   * The positive control (RFC 5321 §4.5.1): mailboxes the server must accept from this client,
   * asked with the same client and sender as the battery, RCPT only. A refusal that no relay
   * wording explains counts as a relay denial only next to an accepted one (src/verdict/evidence.ts).
   */
  positiveControl?: PositiveControl;
  /** Control probes: does the server accept any mailbox at the names routing tricks were addressed to? */
  controls: { domain: string; mailbox: string; accepted: boolean | null; reply: string | null }[];
  /** Errors allowed per connection at the end of the run (learned from the server). */
  errorBudget: number;
  /** Which MTA answered, by the evidence table (src/mta/evidence.ts); absent when nothing was heard. */
  mta?: MtaIdentity;
  /** Where the test ran from as the server saw it (first connection); absent when no session was set up. */
  vantage?: Vantage;
  /** Identity doors this client was offered or shown (issue 23 §2); absent when there were none. */
  doors?: IdentityDoors;
  durationMs: number;
  verdict: RunVerdict;
  counts: Counts;
  attempts: AttemptReport[];
}

/** What the identity tricks found besides their attempts (src/schedule/tricks.ts). */
export interface IdentityDoors {
  /** XFORWARD offered to this client, with its attributes: it changes what Postfix logs, not whom it trusts. No verdict. */
  xforward: string | null;
  /** Why the PROXY tricks ran here (the sign the plaintext connection showed, or the input); null when they did not. */
  proxy: string | null;
  /** What deserves a warning though nothing relayed (XFORWARD offered, an AUTH with nothing accepted), one sentence each. */
  notes: string[];
}

/** Does the server accept mail for its own domain from this client? */
export interface PositiveControl {
  /** true: a mailbox was accepted; false: every one was refused; null: not asked, or no answer. */
  accepted: boolean | null;
  /** The sender it was asked with (the battery's plain sender). */
  sender: string | null;
  /** Each mailbox asked; `rule` is the reply-table row of a refusal (a relay denial: not a domain the server serves). */
  probes: { mailbox: string; accepted: boolean | null; reply: string | null; rule: string | null }[];
  /** Why it was not asked or not decided (no domain known, the plain attempt relayed, …). */
  note: string | null;
  /**
   * The same control asked as a second, unrelated outside client (through XCLIENT), when this
   * client was refused everything: refused there too, the server refuses every outsider.
   */
  elsewhere?: { address: string; accepted: boolean | null; reply: string | null };
}

export interface Report {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'relay-check'; version: string };
  startedAt: string;
  durationMs: number;
  settings: {
    hosts: string[];
    ports: number[];
    strictness: Strictness;
    tls: TlsMode;
    recipient: string;
    domain: string | null;
    clientAddress: string | null;
    senders: string[];
    helos: string[];
    timeoutMs: number;
    connectTimeoutMs: number;
  };
  /** How the hosts were found when only `domain` was given (MX, or the domain itself). */
  discovery: { domain: string; mx: { exchange: string; priority: number }[]; implicit: boolean } | null;
  verdict: RunVerdict;
  /** True when the step/CLI should fail under the strictness that applied. */
  failed: boolean;
  failReasons: string[];
  /** Non-fatal problems worth a warning (e.g. an untested IPv6 address). */
  warnings: string[];
  counts: Counts;
  targets: TargetReport[];
  /** Why each host that relayed relays (src/diagnosis/): empty when nothing relayed. */
  diagnosis?: Diagnosis[];
  /** Gate mode (input `postfix-config`): what was built and changed to test the configuration. */
  gate?: GateReport;
}

/** A configuration tested on a private Postfix (issue "Gate the configuration in the pull request"). */
export interface GateReport {
  /** The directory as given. */
  configDir: string;
  /** The commit the configuration came from (GITHUB_SHA or `git rev-parse HEAD`), when known. */
  commit: string | null;
  /** Empty for an Exim configuration (see `exim`). */
  postfixVersion: string;
  /** An Exim configuration (input `exim-config`), tested through Exim's host checking (`exim -bh`). */
  exim?: { version: string; form: 'configure' | 'template' | 'split'; client: string };
  /** Every smtpd listener of master.cf, where it ran here (Exim: the one `-bh` listener, line 0). */
  services: { name: string; original: string; command: 'smtpd' | 'postscreen' | 'exim'; wrapper: boolean; tlsRequired: boolean; address: string; port: number; line: number }[];
  /** Every change made to run on a runner; `tested: false` marks what could not be tested here. */
  changes: { file: string; line: number | null; subject: string; change: string; tested: boolean }[];
  /** Why each service that relayed relays, read from the instance's effective configuration (postconf -x, postconf -P) for the client address tested. */
  causes?: GateCause[];
  /** The fixes proposed (for each cause, else by the diagnosis), each tried on a fixed copy with the attempts that relayed. */
  fixes?: VerifiedFix[];
  /** The same directory at the pull request's base commit (or input `base-ref`), tested on a second private Postfix. */
  base?: BaseReport;
}

/** What the pull request did to one vector on one service: relayed on head only, on the base only, on both, on neither. */
export type BaseChange = 'opened' | 'closed' | 'unchanged-open' | 'unchanged';

/** Base against head (issue 11, "Base against head"). */
export interface BaseReport {
  /** The base commit (resolved), or the ref as given when it could not be resolved. */
  commit: string;
  configDir: string;
  /** compared: both ran; new: the directory does not exist at the base; unavailable: the base could not be tested. */
  status: 'compared' | 'new' | 'unavailable';
  /** Why the base was not compared (status unavailable). Not a failure. */
  warning?: string;
  /** One row per master.cf service and vector; an outcome is null where the service or vector did not run on that side. */
  changes: { service: string; vector: string; head: AttemptOutcome | null; base: AttemptOutcome | null; change: BaseChange }[];
  /** Rows per change: relayed on head only, on the base only, on both (the relay predates the pull request). */
  opened: number;
  closed: number;
  predates: number;
}

export function countAttempts(attempts: readonly AttemptReport[]): Counts {
  const c: Counts = { tests: 0, relayed: 0, denied: 0, inconclusive: 0, skipped: 0 };
  for (const a of attempts) {
    c[a.outcome]++;
    if (a.outcome !== 'skipped') c.tests++;
  }
  return c;
}

export function sumCounts(all: readonly Counts[]): Counts {
  const c: Counts = { tests: 0, relayed: 0, denied: 0, inconclusive: 0, skipped: 0 };
  for (const x of all) for (const k of Object.keys(c) as (keyof Counts)[]) c[k] += x[k];
  return c;
}
