import type { RouteProof } from '../model/report.js';
import { classNexthop, DELIVERY_CLASSES, type DeliveryClass } from './sandbox.js';

/**
 * Reading a private instance's maillog for where a queued message went. Each
 * delivery class of the instance is discard(8) with a next hop of its own, and
 * discard "logs the next-hop destination as the reason for discarding the mail"
 * (discard(8), postfix.org/discard.8.html), e.g. (Postfix 3.7.11, measured):
 *
 *   postfix/discard[10196]: 63C04212203: to=<u@relay.test>, relay=none, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (relay-check-relay-…)
 *
 * A recipient the instance returns itself (a virtual alias domain without the
 * address) is logged by the error transport with status=bounced. cleanup logs
 * a header/body/access action that diverts the message as `QID: filter: …`,
 * `redirect: …`, `hold: …` or `discard: …`; qmgr logs `QID: removed` when the
 * message is done.
 */

interface DeliveryLine {
  to: string;
  orig: string | null;
  status: string;
  text: string;
  /** From the daemon's name on: the line without the syslog date and host. */
  quoted: string;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function deliveryLines(log: string, queueId: string): DeliveryLine[] {
  const re = new RegExp(`(\\S+\\[\\d+\\]: ${esc(queueId)}: to=<(.*?)>(?:, orig_to=<(.*?)>)?, relay=[^,]*, .*?status=([a-z]+) \\((.*)\\))\\s*$`, 'gm');
  return [...log.matchAll(re)].map((m) => ({ quoted: m[1], to: m[2], orig: m[3] ?? null, status: m[4], text: m[5] }));
}

/** cleanup's FILTER, REDIRECT, HOLD or DISCARD of the message, as it logged it. */
function diversion(log: string, queueId: string): string | null {
  const m = new RegExp(`\\S+\\[\\d+\\]: ${esc(queueId)}: (filter|redirect|hold|discard): .*$`, 'm').exec(log);
  return m ? m[0] : null;
}

/** Whether the instance is done with the message: removed, every recipient logged, or held. */
export function settled(log: string, queueId: string, recipients: number): boolean {
  if (new RegExp(`: ${esc(queueId)}: removed\\s*$`, 'm').test(log)) return true;
  if (deliveryLines(log, queueId).length >= recipients) return true;
  // A held message stays in the queue: nothing more will be logged.
  return diversion(log, queueId)?.includes(`${queueId}: hold: `) ?? false;
}

/** An address for comparing with Postfix's log: no angle brackets, source route or quotes, lower case. */
function bare(path: string): string {
  return path
    .trim()
    .replace(/^<\s*|\s*>$/g, '')
    .replace(/^@[^:]*:/, '')
    .replace(/"/g, '')
    .toLowerCase();
}

/**
 * The lines about the relay destination (the last RCPT): by its own address (as to=, or as
 * orig_to= once rewritten, aliased or redirected), else those no earlier RCPT explains. A
 * copy the configuration adds (always_bcc, recipient_bcc_maps) has an address of its own and
 * does not speak for the destination.
 */
function destinationLines(lines: readonly DeliveryLine[], rcptTo: readonly string[]): DeliveryLine[] {
  const key = (l: DeliveryLine): string => bare(l.orig ?? l.to);
  const dest = bare(rcptTo[rcptTo.length - 1] ?? '');
  const mine = lines.filter((l) => key(l) === dest || bare(l.to) === dest);
  if (mine.length > 0) return mine;
  const earlier = new Set(rcptTo.slice(0, -1).map(bare));
  return lines.filter((l) => !earlier.has(key(l)));
}

function classOf(l: DeliveryLine, tag: string): RouteProof['class'] {
  if (l.status === 'bounced') return 'bounced';
  if (l.status !== 'sent') return null;
  const cls = (Object.values(DELIVERY_CLASSES) as DeliveryClass[]).find((c) => l.text === classNexthop(tag, c));
  return cls ?? null;
}

const RELAYS: Record<NonNullable<RouteProof['class']>, boolean> = { relay: true, default: true, local: false, virtual: false, bounced: false };

/**
 * Where the relay destination of one queued message went, from the instance's
 * maillog. A line counts only when it carries this instance's class tag (or is
 * Postfix's own bounce): a configuration cannot write a look-alike.
 */
export function routeFromLog(log: string, queueId: string, rcptTo: readonly string[], tag: string): RouteProof {
  const none = (note: string): RouteProof => ({ class: null, relays: null, recipient: null, queueId, line: null, note });
  const lines = destinationLines(deliveryLines(log, queueId), rcptTo);
  const known = lines.map((l) => ({ l, cls: classOf(l, tag) })).filter((x): x is { l: DeliveryLine; cls: NonNullable<RouteProof['class']> } => x.cls !== null);
  // Several lines (an alias that expands to several addresses): any that leaves decides.
  const pick = known.find((x) => RELAYS[x.cls]) ?? known[0];
  if (pick) return { class: pick.cls, relays: RELAYS[pick.cls], recipient: pick.l.to, queueId, line: pick.l.quoted, note: null };
  const diverted = diversion(log, queueId);
  if (diverted) return none(`the configuration diverted the message before delivery, so its route is not shown: ${diverted}`);
  if (lines.length > 0) return none(`Postfix did not deliver it to one of the instance's classes: ${lines[0].quoted}`);
  return none(`the instance logged no delivery of queue id ${queueId} in time`);
}
