export interface ConfigPlace {
  /** Relative to the configuration directory: `main.cf`, `master.cf`, or a map file. */
  file: string;
  line: number;
  /** What is set there: `smtpd_relay_restrictions`, `submission/inet -o mynetworks`, `sender_access: example.org`. */
  setting: string;
  value: string;
}

export interface ProposedFix {
  rule: string;
  /** The master.cf services it concerns (one fix in main.cf may close several). */
  services: string[];
  /** Where the cause is set; the first is the line to change. */
  places: ConfigPlace[];
  /** The change as `postfix-overrides` lines (`name = value`, `service/type/name = value`). */
  overrides: string[];
  /** The change as a unified diff of the files it changes (`--- main.cf` / `+++ main.cf`, `@@ -55 +55 @@`), one block per file. */
  diff: string;
}

/** A proposed fix, tried on a fixed copy of the configuration with only the attempts that relayed. */
export interface VerifiedFix extends ProposedFix {
  /** The relayed vectors re-run on the fixed copy. */
  rerun: string[];
  /** Of those, the ones that still relayed. */
  stillRelayed: string[];
  /**
   * True only when the fixed copy denies every re-run attempt on the services it concerns
   * (not inconclusive, not left unrun), every service still accepts the own-domain
   * mailboxes it accepted before from the outside client, and every service that offered
   * AUTH still offers it.
   */
  verified: boolean;
  /** Why it could not be tried (the fixed copy did not start, …). */
  error: string | null;
  /** Why it is not verified though it was tried, one sentence each (empty when verified or not tried). */
  notVerified?: string[];
  /** Own-domain mail from the outside client, per service and mailbox that took it before: does the fixed copy still take it? */
  ownMail?: { service: string; mailbox: string; before: boolean; after: boolean | null; reply: string | null }[];
}

/** relay-hosts: Exim, an ACL `accept hosts = …` (relay_from_hosts, dc_relay_nets) that holds the client. */
export type CauseKind = 'mynetworks' | 'access-map' | 'permit' | 'no-relay-check' | 'relay-domains' | 'relay-hosts';

/** Why one service relayed, from its effective configuration. */
export interface GateCause {
  /** The master.cf service. */
  service: string;
  kind: CauseKind;
  /** The restriction list that let the relay through, and the element in it. */
  list: string;
  element: string;
  /** access-map: the one table of the check that answered, as the instance names it. */
  table?: string;
  /** The client address it was evaluated for (the gate's client address). */
  client: string;
  /** relay-check's sentence, `backticks` for configuration text. */
  sentence: string;
  /** The line that causes it first; then other lines involved (the map entry). Empty: set by a Postfix default. */
  places: ConfigPlace[];
  /** The relayed attempt it was evaluated for. */
  vector: string;
}
