import { behaviouralEvidence, type MtaIdentity } from '../mta/identify.js';

/**
 * What an MTA does with a routing form it accepted at a name where it accepts
 * any mailbox (the control was accepted too). The reply cannot tell local
 * delivery from relaying; what the MTA is known to do with the form can.
 * A form and MTA with no row stay inconclusive, saying so.
 */
type RoutingForm = 'percent' | 'bang' | 'source-route' | 'quoted';

export interface RoutingRule {
  mta: string;
  form: RoutingForm;
  /**
   * relayed: the MTA routes the form onward; skipped: it delivers it locally (or bounces it), so
   * it is no relay test; inconclusive: the MTA is known to leave the decision to another server.
   */
  decision: 'relayed' | 'skipped' | 'inconclusive';
  why: string;
  /**
   * The MTA rewrites the form to user@host before its relay check, *by a setting that can be
   * turned off* (Postfix allow_percent_hack, swap_bangpath, resolve_dequoted_address): "relayed" holds only if it did
   * rewrite, which the plain attempt to user@host with the same sender can show (src/verdict/controls.ts).
   */
  rewrites?: 'by-setting';
  provenance: string;
}

const ROUTING_RULES: readonly RoutingRule[] = [
  // Sendmail accepts these forms at a name where any mailbox goes only at a domain it relays to
  // (class R, with FEATURE(loose_relay_check); or any domain under promiscuous_relay or an access
  // To: RELAY), and there it does not route them itself: it hands the address unchanged to that
  // domain's own server. At its own (class w) names it routes them itself, but checks the routed
  // address first and refuses it ("Relaying denied") unless a plain external recipient would relay
  // too. So the next hop decides: inconclusive, saying which server to test.
  { mta: 'Sendmail', form: 'percent', decision: 'inconclusive', why: 'Sendmail does not route user%host@domain itself at a domain it relays to: it passes the address unchanged to that domain\'s own mail server, which decides whether to route it on to host (FEATURE(loose_relay_check) lets it through; without it Sendmail checks user@host and refuses it); test that server, or remove loose_relay_check', provenance: 'Sendmail cf/README FEATURE(loose_relay_check); cf/m4/proto.m4 ParseRecipient; measured: Sendmail 8.17.1.9 with loose_relay_check and RELAY_DOMAIN sendmail.test answers <u%example.com@sendmail.test> with 250 2.1.5 and resolves it to "mailer esmtp, host sendmail.test, user u%example.com@sendmail.test" (-bt /parse); without loose_relay_check 550 5.7.1 Relaying denied; at its own name (class w) 550 5.7.1 Relaying denied with or without it (__tests__/sendmail.test.ts)' },
  { mta: 'Sendmail', form: 'bang', decision: 'inconclusive', why: 'Sendmail does not route host!user@domain itself at a domain it relays to: it passes the address unchanged to that domain\'s own mail server, which decides whether to route it on to host; test that server, or remove loose_relay_check', provenance: 'Sendmail cf/README FEATURE(loose_relay_check); measured: Sendmail 8.17.1.9 with loose_relay_check and RELAY_DOMAIN sendmail.test answers <example.com!u@sendmail.test> with 250 2.1.5 and resolves it to "mailer esmtp, host sendmail.test, user example.com!u@sendmail.test"; without loose_relay_check, and at its own name, 550 5.7.1 Relaying denied (__tests__/sendmail.test.ts)' },
  { mta: 'Sendmail', form: 'quoted', decision: 'inconclusive', why: 'Sendmail does not route "user@host"@domain itself at a domain it relays to: it passes the address unchanged to that domain\'s own mail server, which decides whether to route it on to host; test that server, or remove loose_relay_check', provenance: 'measured: Sendmail 8.17.1.9 with loose_relay_check and RELAY_DOMAIN sendmail.test answers <"u@example.com"@sendmail.test> with 250 2.1.5 and resolves it to "mailer esmtp, host sendmail.test, user \\"u@example.com\\"@sendmail.test"; without loose_relay_check, and at its own name, 550 5.7.1 Relaying denied (__tests__/sendmail.test.ts)' },
  { mta: 'Haraka', form: 'percent', decision: 'inconclusive', why: 'Haraka does not rewrite user%host@domain: it accepts or refuses by the domain alone (rcpt_to.in_host_list) and hands the address unchanged to its queue plugin (smtp_forward to an inner server, a mailbox store), which decides; test that server', provenance: "measured once by hand: Haraka 3.3.4 (npm) with rcpt_to.in_host_list answers <u%example.com@haraka.test> with \"250 recipient … OK\" and queues it unchanged (core has no percent-hack or bang-path rewriting)" },
  { mta: 'Haraka', form: 'bang', decision: 'inconclusive', why: 'Haraka does not rewrite host!user@domain: it accepts or refuses by the domain alone (rcpt_to.in_host_list) and hands the address unchanged to its queue plugin (smtp_forward to an inner server, a mailbox store), which decides; test that server', provenance: "measured once by hand: Haraka 3.3.4 (npm) with rcpt_to.in_host_list answers <example.com!u@haraka.test> with \"250 recipient … OK\" and queues it unchanged (core has no percent-hack or bang-path rewriting)" },
  { mta: 'Haraka', form: 'quoted', decision: 'inconclusive', why: 'Haraka does not rewrite a quoted local part: it accepts or refuses by the domain alone (rcpt_to.in_host_list) and hands the address unchanged to its queue plugin (smtp_forward to an inner server, a mailbox store), which decides; test that server', provenance: "measured once by hand: Haraka 3.3.4 (npm) with rcpt_to.in_host_list answers <\"u@example.com\"@haraka.test> with \"250 recipient … OK\" and queues it unchanged (core has no percent-hack or bang-path rewriting)" },
  { mta: 'Postfix', form: 'percent', decision: 'relayed', rewrites: 'by-setting', why: 'Postfix rewrites user%host@domain to user@host (allow_percent_hack = yes by default) before reject_unauth_destination judges it: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) allow_percent_hack; trivial-rewrite(8) "local" context (rewriting before resolving)' },
  { mta: 'Postfix', form: 'bang', decision: 'relayed', rewrites: 'by-setting', why: 'Postfix rewrites host!user to user@host (swap_bangpath = yes by default) before reject_unauth_destination judges it: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) swap_bangpath; trivial-rewrite(8)' },
  { mta: 'Postfix', form: 'source-route', decision: 'relayed', why: 'Postfix strips a source route (@a:user@host to user@host) before the relay check: an accepted one was judged as mail to host', provenance: 'Postfix trivial-rewrite(8) "strip source routed addresses (@site,@site:user@domain) to user@domain form"' },
  { mta: 'Postfix', form: 'quoted', decision: 'relayed', rewrites: 'by-setting', why: 'Postfix looks inside a quoted local part ("user@host"@domain is resolved as user@host, resolve_dequoted_address = yes by default) before the relay check: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) resolve_dequoted_address; measured: Postfix 3.7 answers <"relay-check@example.com"> with "454 4.7.1 <relay-check@example.com>: Relay access denied" (the dequoted address judged)' },
  { mta: 'Exim', form: 'percent', decision: 'skipped', why: 'Exim does not perform the percent hack unless percent_hack_domains names the domain (unset by default): user%host is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, main option percent_hack_domains (default unset)' },
  { mta: 'Exim', form: 'bang', decision: 'skipped', why: 'Exim does not route bang paths: host!user is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, "Address processing" (no UUCP bang-path routing)' },
  { mta: 'Exim', form: 'quoted', decision: 'skipped', why: 'Exim takes a quoted local part as it stands: "user@host" is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, RFC 5321 local parts; measured: Exim 4.96 with a catch-all local domain (__tests__/exim.test.ts)' },
  { mta: 'Exim', form: 'source-route', decision: 'relayed', why: 'Exim discards a source route and acts on the final address, which its relay ACL judged: an accepted one was accepted for host', provenance: 'Exim specification, "Source routes" (RFC 5321 §C: routes are ignored)' },
  { mta: 'OpenSMTPD', form: 'percent', decision: 'skipped', why: 'OpenSMTPD does not perform the percent hack: user%host is a local part here, and the mail is delivered locally', provenance: 'OpenSMTPD smtpd.conf(5) (no percent-hack routing); measured: OpenSMTPD 6.8.0p2 with a catch-all virtual domain queues <u%example.com@its domain> for local delivery (envelope dispatcher local, dest unchanged; __tests__/opensmtpd.test.ts)' },
  { mta: 'OpenSMTPD', form: 'bang', decision: 'skipped', why: 'OpenSMTPD does not route bang paths: host!user is a local part here, and the mail is delivered locally', provenance: 'OpenSMTPD smtpd.conf(5) (no UUCP routing); measured: OpenSMTPD 6.8.0p2 with a catch-all virtual domain queues <example.com!u@its domain> for local delivery (envelope dispatcher local, dest unchanged; __tests__/opensmtpd.test.ts)' },
  { mta: 'OpenSMTPD', form: 'source-route', decision: 'relayed', why: 'OpenSMTPD strips a source route (@a:user@host to user@host) before its match rules judge the address: an accepted one was accepted for host', provenance: 'measured: OpenSMTPD 6.8.0p2 answers <@its domain:u@example.com> with "550 Invalid recipient: <u@example.com>" (the route stripped; __tests__/opensmtpd.test.ts)' },
];

/** The routing form of a recipient path, if it has one. */
function routingForm(rcpt: string): RoutingForm | undefined {
  const path = rcpt.trim().replace(/^<\s*/, '').replace(/\s*>$/, '');
  if (/^@[^:]*:/.test(path)) return 'source-route';
  if (path.startsWith('"')) return 'quoted';
  const at = path.lastIndexOf('@');
  const local = at < 0 ? path : path.slice(0, at);
  if (local.includes('%')) return 'percent';
  if (local.includes('!')) return 'bang';
  return undefined;
}

export type RoutingDecision = {
  decision: 'relayed' | 'skipped' | 'inconclusive';
  why: string;
  /** For a form the MTA rewrites only by a setting: the address it would have judged (user@host). */
  rewritten?: string;
};

/**
 * The outside address a routed form stands for, as Postfix reads it with its defaults:
 * `"user@host"@domain` dequoted (resolve_dequoted_address), `user%host@domain` and
 * `user%host%domain2@domain` by the percent hack to user@host, `host!user@domain` by
 * swap_bangpath to user@host. Null for a form with no such reading.
 */
export function rewrittenAddress(rcpt: string): string | null {
  const path = rcpt.trim().replace(/^<\s*/, '').replace(/\s*>$/, '');
  const quoted = /^"([^"]*)"/.exec(path);
  const at = path.lastIndexOf('@');
  const local = quoted ? quoted[1] : at < 0 ? path : path.slice(0, at);
  if (quoted && /^[^@%!]+@[^@%!]+$/.test(local)) return local.toLowerCase();
  const hops = local.split('%');
  if (hops.length >= 2 && hops.every((h) => h !== '' && !/[@!]/.test(h))) return `${hops[0]}@${hops[1]}`.toLowerCase();
  const bang = /^([^%!@]+)!([^%!@]+)$/.exec(local);
  return bang ? `${bang[2]}@${bang[1]}`.toLowerCase() : null;
}

/** What an accepted routing form at a catch-all name means on this MTA. */
export function routingDecision(rcpt: string, mta: MtaIdentity | undefined, rules: readonly RoutingRule[] = ROUTING_RULES): RoutingDecision {
  const form = routingForm(rcpt);
  if (!mta || mta.name === 'unknown') return { decision: 'inconclusive', why: 'the MTA could not be identified, and whether it routes this form onward depends on the MTA' };
  if (mta.confidence === 'low' || mta.confidence === 'none') return { decision: 'inconclusive', why: `the MTA looks like ${mta.name} on weak evidence only, and whether it routes this form onward depends on the MTA` };
  const row = form === undefined ? undefined : rules.find((r) => r.mta === mta.name && r.form === form);
  if (!row) return { decision: 'inconclusive', why: `whether ${mta.name} routes this ${form ?? 'address'} form onward is not known to relay-check` };
  // Not counting an accepted form makes the verdict milder: that takes more than a banner. Counting it (relayed) does not.
  if (row.decision === 'skipped' && behaviouralEvidence(mta).length === 0) {
    return { decision: 'inconclusive', why: `only the greeting says ${mta.name} (a banner is one setting and can name any MTA), and nothing the server did (EHLO keyword order, reply wording) showed it; if it is ${mta.name}: ${row.why}` };
  }
  const rewritten = row.rewrites === 'by-setting' ? rewrittenAddress(rcpt) : null;
  return { decision: row.decision, why: row.why, ...(rewritten ? { rewritten } : {}) };
}
