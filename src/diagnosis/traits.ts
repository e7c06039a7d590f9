import type { Trait } from '../model/diagnosis.js';
export type { Trait } from '../model/diagnosis.js';
const NMAP_ROUTING: Trait[] = ['routing', 'host-sender'];

/** Traits by vector id (src/battery/vectors.ts); the ids are a public contract. */
export const VECTOR_TRAITS: Readonly<Record<string, readonly Trait[]>> = {
  'null-sender': ['null-sender'],
  'external-sender': [],
  'server-name-sender': ['own-sender'],
  'literal-sender': ['host-sender'],
  // nmap's routing forms all send from the server's address literal.
  'percent-hack-literal': NMAP_ROUTING,
  'percent-hack-server-name': NMAP_ROUTING,
  'quoted-address': NMAP_ROUTING,
  'quoted-percent': NMAP_ROUTING,
  'double-at-literal': NMAP_ROUTING,
  'quoted-at-literal': NMAP_ROUTING,
  'double-at-server-name': NMAP_ROUTING,
  'source-route-literal': NMAP_ROUTING,
  'source-route-server-name': NMAP_ROUTING,
  'bang-path': NMAP_ROUTING,
  'bang-path-literal': NMAP_ROUTING,
  'bang-path-server-name': NMAP_ROUTING,
  'literal-recipient': ['local', 'host-sender'],
  'own-domain-sender': ['own-sender'],
  'own-domain-postmaster-sender': ['own-sender'],
  'localhost-sender': ['host-sender'],
  // Postfix completes a bare sender with myorigin, Exim with qualify_domain: the server's own domain.
  'bare-user-sender': ['own-sender'],
  'recipient-as-sender': [],
  'server-name-sender-quoted-recipient': ['own-sender', 'routing'],
  'null-sender-upper-case-domain': ['null-sender', 'syntax'],
  'helo-localhost': ['helo'],
  'helo-localhost-localhost-sender': ['helo', 'host-sender'],
  'helo-server-name': ['helo', 'own-sender'],
  'helo-localhost-localdomain': ['helo'],
  'helo-literal': ['helo', 'host-sender'],
  'helo-own-domain': ['helo', 'own-sender'],
  'helo-loopback-literal': ['helo', 'null-sender'],
  'unbracketed-recipient': ['syntax'],
  'unbracketed-paths': ['syntax'],
  'spaced-paths': ['syntax'],
  'spaces-inside-brackets': ['syntax'],
  'trailing-at': ['syntax', 'routing'],
  'percent-trailing-at': ['syntax', 'routing'],
  'upper-case-domain': ['syntax'],
  'trailing-dot-domain': ['syntax'],
  'quoted-local-part-own-domain': ['routing'],
  'quoted-percent-own-domain': ['routing'],
  'percent-hack-own-domain': ['routing'],
  'double-percent-hack': ['routing'],
  'bang-path-own-domain': ['routing'],
  'source-route-own-domain': ['routing'],
  'source-route-two-hops': ['routing'],
  'percent-hack-null-sender': ['routing', 'null-sender'],
  'percent-hack-ipv6-literal': ['routing'],
  'ipv6-literal-sender': ['host-sender'],
  'source-route-ipv6-literal': ['routing'],
  'untagged-ipv6-literal': ['routing'],
  'role-postmaster-external': ['role'],
  'role-abuse-external': ['role'],
  'role-hostmaster-external': ['role'],
  'role-postmaster-null-sender': ['role', 'null-sender'],
  'external-after-postmaster': ['after-local'],
  'external-after-postmaster-null-sender': ['after-local', 'null-sender'],
  'external-after-postmaster-server-name': ['after-local'],
  'external-after-postmaster-bare': ['after-local'],
  // The identity tricks (src/battery/tricks.ts): the plain attempt after a claim of identity.
  'xclient-loopback': ['xclient'],
  'auth-anonymous': ['auth'],
  'auth-plain-empty': ['auth'],
  'auth-login-empty': ['auth'],
  // The PROXY control names an outside address: a plain attempt through the header.
  'proxy-v1-outsider': [],
  'proxy-v1-loopback': ['proxy'],
  'proxy-v2-loopback': ['proxy'],
};

/** The traits of a vector; input vectors by their id's prefix; a vector not in the table has none (a plain attempt). */
export function traitsOf(vector: string): readonly Trait[] {
  if (/^input-sender-\d+$/.test(vector)) return ['input-sender'];
  if (/^input-helo-\d+$/.test(vector)) return ['helo'];
  return VECTOR_TRAITS[vector] ?? [];
}

/** Words for a trait, completing "relays only for …". */
export const TRAIT_TEXT: Readonly<Record<Trait, string>> = {
  'null-sender': 'the null sender (bounces)',
  'own-sender': "senders in the server's own domain or at its host name",
  'host-sender': "senders at localhost or at the server's address literal",
  helo: 'some HELO names (localhost, its own name)',
  routing: 'addresses that hide the destination in the local part (percent hack, bang path, source route, quoting)',
  syntax: 'malformed addresses (no brackets, spaces, case, trailing dot)',
  role: "other domains' role mailboxes (postmaster@, abuse@, hostmaster@)",
  'after-local': 'an outside recipient after an accepted local one',
  'input-sender': 'the sender given in the `sender` input',
  local: 'local delivery',
  xclient: 'a client that claims to be 127.0.0.1 through XCLIENT (anyone can)',
  proxy: 'a client that claims to be 127.0.0.1 in a PROXY protocol header (anyone who reaches the port can)',
  auth: 'a client that authenticates with no credential (anyone can)',
};
