/**
 * Every limit that protects relay-check from a broken or hostile server, and
 * every limit that protects a server from relay-check, in one place. RFC 5321
 * §4.5.3.1 caps a reply line at 512 octets; real servers stay far below that,
 * so the caps leave room without letting one server eat the runner.
 */
export const LIMITS = {
  /** Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512; be generous). */
  maxLineBytes: 4096,
  /** Most lines in one multi-line reply (EHLO lists ~20 at most in practice). */
  maxLinesPerReply: 200,
  /** Most bytes one session may send us in total. */
  maxSessionBytes: 1024 * 1024,
  /**
   * Wait for a reply to MAIL, RCPT, RSET or DATA, in ms, always cut at the run's
   * deadline. RFC 5321 §4.5.3.2 asks clients to wait 5 minutes for MAIL and RCPT:
   * servers answer slowly on purpose (sender-verification callouts, Exim `delay`,
   * tarpits). The greeting, EHLO, STARTTLS and XCLIENT are bounded by
   * `connect-timeout` instead: a server that will not even set up a session is
   * not worth minutes.
   */
  replyTimeoutMs: 300_000,
  /**
   * A reply later than this, after at least one refusal on its connection, is
   * read as the server's error sleep (Postfix smtpd_error_sleep_time, default
   * 1 s, often 10 s). Loopback and internet round trips stay far below it.
   */
  slowReplyMs: 700,
  /** Time given to QUIT before the socket is simply destroyed. */
  quitTimeoutMs: 1_000,
} as const;

/**
 * Postfix slows every reply once a connection made `smtpd_soft_error_limit`
 * (default 10) errors and drops it at `smtpd_hard_error_limit` (20). Stay under
 * the soft limit by default; the budget learner finds a lower one from the server.
 */
export const DEFAULT_ERROR_BUDGET = 8;

/** Connections per address that carry attempts at the same time: enough to hide latency, few enough to be polite. */
export const CONNECTIONS_PER_ADDRESS = 4;

/**
 * Connections per address and pass at a server that limits new connections per client
 * (Sendmail's ClientRate: Debian's stock sendmail.mc allows 15 per 10 minutes, counted over
 * every run in the window): a plaintext and a STARTTLS pass of two runs fit in eight.
 */
export const FRUGAL_CONNECTIONS = 3;

/**
 * Postfix's `smtpd_client_connection_count_limit` default: sessions one client
 * address may hold at one smtpd service. It counts sessions the server still
 * holds, including ones the client already left while the server sleeps.
 */
const POSTFIX_CONNECTION_COUNT_LIMIT = 50;

/**
 * Of those, the share relay-check keeps free: the runner may share its address
 * with other clients (NAT, other jobs), and many servers set the limit lower.
 */
const CONNECTION_SLOT_MARGIN = 40;

/**
 * Sessions relay-check holds at one server (address and port) at any time,
 * counting the ones it left that the server has not closed yet. A lower limit
 * is learned from a `421 … too many connections` greeting.
 */
export const SESSION_SLOTS = POSTFIX_CONNECTION_COUNT_LIMIT - CONNECTION_SLOT_MARGIN;

/**
 * How long a session we left is assumed to live when the server does not close
 * it: three of the longest error sleeps seen in the wild
 * (`smtpd_error_sleep_time = 10s`), since a session left mid-pipeline sleeps
 * once per command still queued.
 */
export const RETIRED_SESSION_LIFETIME_MS = 30_000;

/**
 * Wait before trying again after `421 … too many connections` when none of our
 * own sessions is there to free a slot (someone else holds them); grows per
 * refusal up to the maximum.
 */
export const SLOT_WAIT_MS = 1_000;
export const SLOT_WAIT_MAX_MS = 5_000;

/**
 * Most recipients in one transaction: the least RFC 5321 §4.5.3.1.8 has every
 * server accept (Postfix smtpd_recipient_limit: 1000). A server with a lower
 * limit answers "452 too many recipients" past it; the vectors over it go again
 * in smaller transactions (ServerState.recipientLimit). Refusals never pile up:
 * a transaction starts no vector once its connection reached the error budget.
 */
export const MAX_RCPTS_PER_TRANSACTION = 100;

/** Addresses tested at the same time in one run. */
export const TARGET_CONCURRENCY = 32;
