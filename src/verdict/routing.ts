import type { MtaIdentity } from '../mta/identify.js';

/**
 * What an MTA does with a routing form it accepted at a name where it accepts
 * any mailbox (the control was accepted too). The reply cannot tell local
 * delivery from relaying; what the MTA is known to do with the form can.
 * A form and MTA with no row stay inconclusive, saying so.
 */
export type RoutingForm = 'percent' | 'bang' | 'source-route' | 'quoted';

export interface RoutingRule {
  mta: string;
  form: RoutingForm;
  /** relayed: the MTA routes the form onward; skipped: it delivers it locally (or bounces it), so it is no relay test. */
  decision: 'relayed' | 'skipped';
  why: string;
  provenance: string;
}

export const ROUTING_RULES: readonly RoutingRule[] = [
  { mta: 'Sendmail', form: 'percent', decision: 'relayed', why: 'Sendmail routes user%host@relaydomain to host once it accepts it (by default it refuses such an address unless host may be relayed to; FEATURE(loose_relay_check) makes it accept and route it)', provenance: 'Sendmail cf/README FEATURE(loose_relay_check); "sendmail" 4th ed. §7.4.2; measured: Sendmail 8.17.1.9 with loose_relay_check accepts <u%example.com@relay domain>, without it answers 550 5.7.1 Relaying denied' },
  { mta: 'Sendmail', form: 'bang', decision: 'relayed', why: 'Sendmail rewrites host!user to user@host (UUCP routing in the stock rulesets) and routes it there', provenance: 'Sendmail cf/README (UUCP addresses, ruleset 3 canonicalisation); measured: Sendmail 8.17.1.9 with loose_relay_check accepts <example.com!u@relay domain>' },
  { mta: 'Postfix', form: 'percent', decision: 'relayed', why: 'Postfix rewrites user%host@domain to user@host (allow_percent_hack = yes by default) before reject_unauth_destination judges it: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) allow_percent_hack; trivial-rewrite(8) "local" context (rewriting before resolving)' },
  { mta: 'Postfix', form: 'bang', decision: 'relayed', why: 'Postfix rewrites host!user to user@host (swap_bangpath = yes by default) before reject_unauth_destination judges it: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) swap_bangpath; trivial-rewrite(8)' },
  { mta: 'Postfix', form: 'source-route', decision: 'relayed', why: 'Postfix strips a source route (@a:user@host to user@host) before the relay check: an accepted one was judged as mail to host', provenance: 'Postfix trivial-rewrite(8) "strip source routed addresses (@site,@site:user@domain) to user@domain form"' },
  { mta: 'Postfix', form: 'quoted', decision: 'relayed', why: 'Postfix looks inside a quoted local part ("user@host"@domain is resolved as user@host, resolve_dequoted_address = yes by default) before the relay check: an accepted one was judged as mail to host', provenance: 'Postfix postconf(5) resolve_dequoted_address; measured: Postfix 3.7 answers <"relay-check@example.com"> with "454 4.7.1 <relay-check@example.com>: Relay access denied" (the dequoted address judged)' },
  { mta: 'Exim', form: 'percent', decision: 'skipped', why: 'Exim does not perform the percent hack unless percent_hack_domains names the domain (unset by default): user%host is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, main option percent_hack_domains (default unset)' },
  { mta: 'Exim', form: 'bang', decision: 'skipped', why: 'Exim does not route bang paths: host!user is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, "Address processing" (no UUCP bang-path routing)' },
  { mta: 'Exim', form: 'quoted', decision: 'skipped', why: 'Exim takes a quoted local part as it stands: "user@host" is a local part here and the mail is delivered or bounced locally', provenance: 'Exim specification, RFC 5321 local parts; measured: Exim 4.96 with a catch-all local domain (__tests__/exim.test.ts)' },
  { mta: 'Exim', form: 'source-route', decision: 'relayed', why: 'Exim discards a source route and acts on the final address, which its relay ACL judged: an accepted one was accepted for host', provenance: 'Exim specification, "Source routes" (RFC 5321 §C: routes are ignored)' },
  { mta: 'OpenSMTPD', form: 'percent', decision: 'skipped', why: 'OpenSMTPD does not perform the percent hack: user%host is a local part here, and the mail is delivered locally', provenance: 'OpenSMTPD smtpd.conf(5) (no percent-hack routing); measured: OpenSMTPD 6.8.0p2 with a catch-all virtual domain queues <u%example.com@its domain> for local delivery (envelope dispatcher local, dest unchanged; __tests__/opensmtpd.test.ts)' },
  { mta: 'OpenSMTPD', form: 'bang', decision: 'skipped', why: 'OpenSMTPD does not route bang paths: host!user is a local part here, and the mail is delivered locally', provenance: 'OpenSMTPD smtpd.conf(5) (no UUCP routing); measured: OpenSMTPD 6.8.0p2 with a catch-all virtual domain queues <example.com!u@its domain> for local delivery (envelope dispatcher local, dest unchanged; __tests__/opensmtpd.test.ts)' },
  { mta: 'OpenSMTPD', form: 'source-route', decision: 'relayed', why: 'OpenSMTPD strips a source route (@a:user@host to user@host) before its match rules judge the address: an accepted one was accepted for host', provenance: 'measured: OpenSMTPD 6.8.0p2 answers <@its domain:u@example.com> with "550 Invalid recipient: <u@example.com>" (the route stripped; __tests__/opensmtpd.test.ts)' },
];

/** The routing form of a recipient path, if it has one. */
export function routingForm(rcpt: string): RoutingForm | undefined {
  const path = rcpt.trim().replace(/^<\s*/, '').replace(/\s*>$/, '');
  if (/^@[^:]*:/.test(path)) return 'source-route';
  if (path.startsWith('"')) return 'quoted';
  const at = path.lastIndexOf('@');
  const local = at < 0 ? path : path.slice(0, at);
  if (local.includes('%')) return 'percent';
  if (local.includes('!')) return 'bang';
  return undefined;
}

export type RoutingDecision = { decision: 'relayed' | 'skipped'; why: string } | { decision: 'inconclusive'; why: string };

/** What an accepted routing form at a catch-all name means on this MTA. */
export function routingDecision(rcpt: string, mta: MtaIdentity | undefined, rules: readonly RoutingRule[] = ROUTING_RULES): RoutingDecision {
  const form = routingForm(rcpt);
  if (!mta || mta.name === 'unknown') return { decision: 'inconclusive', why: 'the MTA could not be identified, and whether it routes this form onward depends on the MTA' };
  if (mta.confidence === 'low' || mta.confidence === 'none') return { decision: 'inconclusive', why: `the MTA looks like ${mta.name} on weak evidence only, and whether it routes this form onward depends on the MTA` };
  const row = form === undefined ? undefined : rules.find((r) => r.mta === mta.name && r.form === form);
  if (!row) return { decision: 'inconclusive', why: `whether ${mta.name} routes this ${form ?? 'address'} form onward is not known to relay-check` };
  return { decision: row.decision, why: row.why };
}
