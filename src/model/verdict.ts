/**
 * Settings: the validated form of the action's inputs and the CLI's flags.
 * Both entry points hand raw strings keyed by input name to parseSettings,
 * so the two cannot disagree on what is valid.
 */
export type Strictness = 'relaxed' | 'normal' | 'strict';

export type TlsMode = 'auto' | 'none' | 'starttls' | 'implicit';

/**
 * The reply-classification table: what a server's answer to a relay attempt
 * means. Rows are tried in order; the first that matches decides. Each row
 * carries a real reply it was written for (`example`) and where that reply
 * comes from; a test walks every row and checks its example lands on it.
 *
 * Enhanced status codes decide where they exist; wording decides where a
 * server sends none (Exim, OpenSMTPD, qmail) or where a code is ambiguous
 * (4.7.1 is a relay denial in Postfix but also a rate limit or a greylist).
 */
export type Outcome = 'relayed' | 'denied' | 'inconclusive';

/** At which command the reply came. */
export type Stage = 'mail' | 'rcpt' | 'data';

/** What a refusal was about. */
export type Subject = 'sender' | 'recipient' | 'client' | 'message';

export type RunVerdict = 'open' | 'closed' | 'inconclusive';
