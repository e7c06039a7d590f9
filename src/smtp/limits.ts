/**
 * Every limit that protects relay-check from a broken or hostile server, in one
 * place. RFC 5321 §4.5.3.1 caps a reply line at 512 octets; real servers stay far
 * below that, so the caps leave room without letting one server eat the runner.
 */
export const LIMITS = {
  /** Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512; be generous). */
  maxLineBytes: 4096,
  /** Most lines in one multi-line reply (EHLO lists ~20 at most in practice). */
  maxLinesPerReply: 200,
  /** Most bytes one session may send us in total. */
  maxSessionBytes: 1024 * 1024,
  /** Default wait for any one reply after the greeting, in ms. */
  replyTimeoutMs: 30_000,
  /** A reply slower than this after errors is read as the server's error sleep. */
  slowReplyMs: 700,
  /** Time given to QUIT before the socket is simply destroyed. */
  quitTimeoutMs: 1_000,
} as const;

/**
 * Postfix slows every reply once a connection made `smtpd_soft_error_limit`
 * (default 10) errors and drops it at `smtpd_hard_error_limit` (20). Stay under
 * the soft limit by default; the scheduler learns a lower one from the server.
 */
export const DEFAULT_ERROR_BUDGET = 8;

/** Parallel connections per address: enough to hide latency, few enough to be polite. */
export const CONNECTIONS_PER_ADDRESS = 4;

/** Addresses tested at the same time in one run. */
export const TARGET_CONCURRENCY = 32;
