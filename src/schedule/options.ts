import type { Vector } from '../battery/vectors.js';

/** What one run against one address is told: where, how, and with which battery. */
export type Transport = 'plain' | 'starttls' | 'implicit';

export interface TargetSpec {
  host: string;
  address: string;
  port: number;
  transport: Transport;
}

export interface TargetOptions {
  vectors: readonly Vector[];
  recipient: { address: string; user: string; domain: string };
  /** Local part of probe senders. */
  probe: string;
  /** The mail domain the server serves (input `domain`); derived from its name when absent. */
  domain?: string;
  /** The user named `recipient` (not the reserved default): its domain is then checked against the server's guessed mail domain too. */
  recipientGiven?: boolean;
  /** Test as this client through Postfix XCLIENT (input `client-address`). */
  clientAddress?: string;
  /**
   * The port reads a PROXY protocol header first (gate mode): every session names its client
   * (clientAddress, else 127.0.0.1) in a v1 header, as the proxy in front would, instead of XCLIENT.
   */
  viaProxy?: boolean;
  helo: string;
  /** Confirm acceptance through DATA (strictness `relaxed`). */
  confirm: boolean;
  /** Connection, greeting and session setup (EHLO, STARTTLS, XCLIENT), ms. */
  connectTimeoutMs: number;
  /** Replies to MAIL, RCPT, RSET and DATA, ms (LIMITS.replyTimeoutMs when absent). */
  replyTimeoutMs?: number;
  /** Absolute deadline (Date.now() scale) for the whole run. */
  deadline: number;
  /**
   * Once the plain attempt (an outside sender to an outside recipient, relay-check's own
   * HELO) relayed, start no further transaction but control probes: the server relays for
   * this client whatever it sends, and every transaction that gets a recipient accepted
   * makes an open Postfix open a queue file, taking one of its inflow tokens (in_flow_delay
   * then slows the server's real mail too). The plain attempt runs first and the other
   * connections wait for its answer.
   */
  stopWhenOpen?: boolean;
  /**
   * The vector that already relayed in plaintext on this port (the STARTTLS pass after a
   * plaintext pass that stopped): the session is set up (its TLS is reported) and nothing
   * is run, since inside TLS the server can only relay too, and each transaction would
   * cost an open server another queue file.
   */
  relayedInPlaintext?: string;
  /** The AUTH identity tricks already ran on this port in plaintext: not again inside STARTTLS (failed logins are counted). */
  authTriedInPlaintext?: boolean;
  /** A mailbox the server must accept besides postmaster@ its domain (input `local-recipient`). */
  localRecipient?: string;
}
