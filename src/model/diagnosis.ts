/**
 * Where the test ran from, as the server saw it. A server judges relaying by
 * the client's address first (Postfix `mynetworks`, Exim `relay_from_hosts`,
 * Sendmail class R, OpenSMTPD `from local`): a relay accepted from a network
 * the server trusts by design says little about what a stranger may do.
 */
export type NetworkKind = 'loopback' | 'private' | 'cgnat' | 'link-local' | 'documentation' | 'public';

export interface Vantage {
  /** Our end of the first connection (the socket's local address). */
  connectedFrom: string | null;
  /** The address the server named in its EHLO reply (Exim, Sendmail: "Hello name [192.0.2.1]"), when it names one. */
  seenAs: string | null;
  /** The echo-table row (src/mta/echo.ts) that read `seenAs`; null when the server named no address. */
  echo: string | null;
  /** The EHLO name we gave in that session and when it started (ISO 8601): what to look for in the server's log when it named no address. */
  helo: string | null;
  at: string | null;
  /**
   * The server saw a loopback, private, CGNAT or link-local address that is not ours, for a
   * connection we made to a public address: something in between (Docker's userland proxy, a
   * load balancer, a NAT) re-originated it, and every outside client arrives as that address.
   */
  proxied: boolean;
  /** The client address XCLIENT made us, when it was accepted. */
  xclient: string | null;
  /** The address the server judged: XCLIENT's, else what it said it saw, else ours. */
  effective: string | null;
  network: NetworkKind | null;
}

/**
 * What each vector of the catalogue varies against the plain relay attempt
 * (an outside sender, relay-check's own HELO, an outside recipient): the
 * traits a server may trust. The diagnosis reads the pattern of a run through
 * them: when every vector that relayed shares a trait and the plain attempt was
 * refused, that trait is what the server trusts.
 *
 * A vector with no trait is a plain outside-to-outside attempt: its relaying
 * means the server relays for this client whatever it says.
 */
export type Trait =
  /** MAIL FROM:<> (bounces). */
  | 'null-sender'
  /** A sender in the server's mail domain, at its host name, or unqualified (the server completes it with its own domain). */
  | 'own-sender'
  /** A sender at localhost or at the server's address literal. */
  | 'host-sender'
  /** The HELO name is one a server may trust (localhost, its own name, its literal). */
  | 'helo'
  /** The destination hidden in the local part or a route: percent hack, bang path, source route, quoted address. */
  | 'routing'
  /** Path syntax a lax parser gets wrong (no brackets, spaces, case, trailing dot). */
  | 'syntax'
  /** An RFC 2142 role mailbox (postmaster@, abuse@, hostmaster@) of the outside domain. */
  | 'role'
  /** The outside recipient comes after an accepted local one in the same transaction. */
  | 'after-local'
  /** A sender from the `sender` input. */
  | 'input-sender'
  /** The recipient is the server's own (local delivery; never a relay by itself). */
  | 'local'
  /** An identity trick: XCLIENT claiming 127.0.0.1 (src/battery/tricks.ts). */
  | 'xclient'
  /** An identity trick: a PROXY protocol header claiming 127.0.0.1. */
  | 'proxy'
  /** An identity trick: AUTH with no credential (ANONYMOUS, or an empty password). */
  | 'auth';

/** Where the relay was accepted, against where the same attempts were refused. */
export type Where =
  /** Only inside TLS (STARTTLS or implicit); the same attempts in plaintext were refused. */
  | 'tls-only'
  /** Only over IPv6; the same attempts over IPv4 were refused. */
  | 'ipv6-only'
  /** Only on some ports (services) of a host; other ports of the same host refused them. */
  | 'some-services';

/** The pattern of one host's run: what relayed, what it shares, where. */
export interface RelayPattern {
  /** Vectors that relayed on any address, port or transport of the host. */
  relayed: string[];
  /** A plain attempt relayed: the server relays for this client whatever it says. */
  everything: boolean;
  /** Traits every relayed vector has (empty when `everything`, or when nothing is shared). */
  shared: Trait[];
  where: Where[];
  /** Where it relayed and where the same attempts were refused: `127.0.0.1:587 (starttls)`. */
  relayedOn: string[];
  refusedOn: string[];
}

interface DiagnosisFinding {
  rule: string;
  /** The MTA whose settings it names; null for a cause any MTA may have. */
  mta: string | null;
  cause: string;
  settings: readonly string[];
  fix: string;
  docs: string;
  provenance: string;
}

/** Why one host relays. */
export interface Diagnosis {
  host: string;
  /** The MTA it answered as ("unknown" when it could not be told). */
  mta: string;
  pattern: RelayPattern;
  /** One sentence: "Postfix relays only for senders in the server's own domain, on 127.0.0.1:587". */
  summary: string;
  /** The causes that fit, most specific first; empty when no row of the table fits. */
  findings: DiagnosisFinding[];
  /** Said instead of a guess when no row fits. */
  unmatched: string | null;
  /** The client the server judged, on the address that relayed. */
  vantage: Vantage | null;
  /** Set when relaying was accepted from a network servers trust by design, without `client-address`. */
  vantageWarning: string | null;
}
