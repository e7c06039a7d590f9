import { replyText, type Reply } from '../smtp/reply.js';
import { REPLY_RULES, type Outcome, type ReplyRule, type Stage, type Subject } from './replies.js';

export interface Classification {
  outcome: Outcome;
  reason: string;
  /** Id of the table row that decided. */
  rule: string;
  /** What the reply was about: a refused sender means the recipient form was not evaluated. */
  subject: Subject;
}

/** What the run saw of the service, for rows that depend on it (ReplyRule.when). */
export interface Seen {
  /** The EHLO reply offered AUTH. */
  auth?: boolean;
}

export function ruleMatches(rule: ReplyRule, reply: Reply, stage: Stage, seen: Seen = {}): boolean {
  if (rule.stages && !rule.stages.includes(stage)) return false;
  if (rule.when?.auth !== undefined && rule.when.auth !== (seen.auth ?? false)) return false;
  if (rule.codes && (reply.code < rule.codes[0] || reply.code > rule.codes[1])) return false;
  if (rule.enhanced && !(reply.enhanced && rule.enhanced.test(reply.enhanced))) return false;
  if (rule.text && !rule.text.test(replyText(reply))) return false;
  return true;
}

/**
 * What a reply is about: the row says so when it knows; else Postfix's wording
 * ("Sender address rejected", "Client host rejected": with smtpd_delay_reject
 * both come at RCPT); else the command it answered.
 */
function subjectOf(rule: ReplyRule | undefined, reply: Reply, stage: Stage): Subject {
  if (rule?.subject) return rule.subject;
  const text = replyText(reply);
  if (/sender address rejected/i.test(text)) return 'sender';
  if (/client host rejected/i.test(text)) return 'client';
  return stage === 'mail' ? 'sender' : stage === 'data' ? 'message' : 'recipient';
}

/** What one reply means, by the first matching row of the table. */
export function classifyReply(reply: Reply, stage: Stage, rules: readonly ReplyRule[] = REPLY_RULES, seen: Seen = {}): Classification {
  const rule = rules.find((r) => ruleMatches(r, reply, stage, seen));
  const subject = subjectOf(rule, reply, stage);
  // The table ends in catch-alls, so this only happens with a custom table.
  if (!rule) return { outcome: 'inconclusive', reason: `unclassified reply ${reply.code}`, rule: 'none', subject };
  return { outcome: rule.outcome, reason: rule.reason, rule: rule.id, subject };
}

/** The replies one attempt collected; absent ones were never reached. */
export interface AttemptReplies {
  mail: Reply;
  /** One per RCPT, in order; empty when MAIL was refused. */
  rcpt: Reply[];
  /** How many RCPTs the vector has; the last is the relay destination. */
  rcptCount: number;
  /** End-of-data reply, only in `relaxed` confirmation. */
  data?: Reply;
  /** Reply to DATA itself when it was refused (no 354). */
  dataCommand?: Reply;
  /** The destination is the server's own mailbox (e.g. user@[its address]): acceptance is not a relay. */
  localDestination?: boolean;
}

export interface AttemptVerdict extends Classification {
  /** The reply that decided, for the report. */
  decisive: Reply;
  stage: Stage;
}

const isOk = (r: Reply): boolean => r.code >= 200 && r.code < 300;

/**
 * One attempt's result. A refused MAIL FROM decides by its own reply (a sender
 * form refused is a denial; a sender failing verification proves nothing).
 * Otherwise the relay destination's reply (the last RCPT) decides: local
 * recipients before it only set the stage, and their refusal is noted. With
 * `confirm`, acceptance must also survive DATA.
 */
export function classifyAttempt(r: AttemptReplies, confirm: boolean, seen: Seen = {}): AttemptVerdict {
  if (!isOk(r.mail)) {
    const c = classifyReply(r.mail, 'mail', REPLY_RULES, seen);
    const outcome = c.outcome === 'relayed' ? 'inconclusive' : c.outcome;
    return { ...c, outcome, reason: `MAIL FROM refused: ${c.reason}`, decisive: r.mail, stage: 'mail' };
  }
  const last = r.rcpt[r.rcptCount - 1];
  if (!last || r.rcpt.length !== r.rcptCount) {
    // Callers send every RCPT once MAIL is accepted; anything else is a bug in the caller.
    throw new Error(`classifyAttempt: expected ${r.rcptCount} RCPT replies, got ${r.rcpt.length}`);
  }
  const refusedLocal = r.rcpt.slice(0, -1).find((x) => !isOk(x));
  const note = refusedLocal ? ` (the local recipient before it was refused: ${refusedLocal.code})` : '';
  if (!isOk(last)) {
    const c = classifyReply(last, 'rcpt', REPLY_RULES, seen);
    return { ...c, reason: `${c.reason}${note}`, decisive: last, stage: 'rcpt' };
  }
  if (r.localDestination) {
    return { outcome: 'inconclusive', reason: `a recipient at the server itself was accepted (${last.code}): local delivery, which is not relaying unless that mailbox forwards`, rule: 'accepted-local', subject: 'recipient', decisive: last, stage: 'rcpt' };
  }
  if (!confirm) return { outcome: 'relayed', reason: `RCPT TO accepted (${last.code})${note}`, rule: 'accepted', subject: 'recipient', decisive: last, stage: 'rcpt' };
  const dataReply = r.dataCommand ?? r.data;
  if (!dataReply) throw new Error('classifyAttempt: confirmation needs the DATA replies');
  if (isOk(dataReply)) return { outcome: 'relayed', reason: `message accepted at end of DATA (${dataReply.code})`, rule: 'accepted', subject: 'message', decisive: dataReply, stage: 'data' };
  const c = classifyReply(dataReply, 'data');
  const outcome = c.outcome === 'relayed' ? 'inconclusive' : c.outcome;
  return { ...c, outcome, reason: `RCPT accepted but the message was refused: ${c.reason}`, decisive: dataReply, stage: 'data' };
}
