import net from 'node:net';

/**
 * The echo table: where a server says which client address it saw. Most MTAs
 * other than Postfix repeat the client's address in the first line of their
 * EHLO reply; that address, not our socket's, is what their trusted-network
 * check judged. Behind Docker's userland proxy or a load balancer it is the
 * proxy's address, which is how an outside client comes to be trusted
 * (docs: "What the server saw").
 *
 * Rows are data, like the reply table (src/verdict/replies.ts): each carries a
 * real first line it was written for, the address it yields, and where the
 * text comes from; __tests__/echo.test.ts walks every row, and the Exim,
 * Sendmail and OpenSMTPD tests check the rows against the real servers.
 *
 * Not here, for want of a real example: greetings (none of the MTAs measured
 * names the client in its 220) and DATA replies (they carry a queue id, not the
 * Received: line the server writes).
 */
export interface EchoRule {
  id: string;
  /** The MTA the row was written for (as src/mta/evidence.ts names it); null: any server. */
  mta: string | null;
  /**
   * Matched against the EHLO reply's first line as sent ("250-mx Hello …");
   * capture group 1 is the address. null: this MTA names no address at all,
   * and the row says so (the report then says where to look instead).
   */
  pattern: RegExp | null;
  /** A real first line of an EHLO reply. */
  example: string;
  /** Other real first lines this row reads (the same address). */
  alsoSeen?: readonly string[];
  /** The address `pattern` reads from `example` (null for a row that names none). */
  seen: string | null;
  provenance: string;
}

// An address literal's inside: IPv4, or IPv6 after "IPv6:" (RFC 5321 §4.1.3).
const ADDR = String.raw`(?:IPv6:)?([0-9A-Fa-f:.]+)`;

export const ECHO_RULES: readonly EchoRule[] = [
  {
    id: 'exim-hello',
    mta: 'Exim',
    pattern: new RegExp(String.raw`^250[- ]\S+ Hello (?:\S+ )+\[${ADDR}\]$`),
    example: '250-mx.exim.test Hello relay-check.example [127.0.0.1]',
    seen: '127.0.0.1',
    provenance: 'Exim 4.96, measured (__tests__/exim.test.ts); Exim specification ch. "SMTP processing": the EHLO reply names the client host and its IP address',
  },
  {
    // Sendmail and OpenSMTPD word it alike, so the line alone cannot tell them apart (the evidence table does).
    id: 'hello-pleased-to-meet-you',
    mta: null,
    // "(may be forged)" follows the address when Sendmail finds the client's reverse DNS does not check out.
    pattern: new RegExp(String.raw`^250[- ]\S+ Hello \S+ \[${ADDR}\](?: \(may be forged\))?, pleased to meet you$`),
    example: '250-mx.sendmail.test Hello client.outside.test [127.0.0.1], pleased to meet you',
    alsoSeen: ['250-mx.opensmtpd.test Hello relay-check.example [127.0.0.1], pleased to meet you'],
    seen: '127.0.0.1',
    provenance:
      'Sendmail 8.17.1.9 and OpenSMTPD 7, measured (__tests__/sendmail.test.ts, opensmtpd.test.ts); sendmail/srvrsmtp.c "Hello %s, pleased to meet you" (the client name and [address]); OpenSMTPD smtp_session.c, the same words after the HELO name and [address]',
  },
  {
    id: 'gmail-at-your-service',
    mta: null,
    pattern: new RegExp(String.raw`^250[- ]\S+ at your service, \[${ADDR}\]$`),
    example: '250-mx.google.com at your service, [78.37.209.105]',
    seen: '78.37.209.105',
    provenance: 'Google\'s SMTP servers; a published telnet session with smtp.gmail.com (ehlo.me, 2008)',
  },
  {
    id: 'postfix-silent',
    mta: 'Postfix',
    pattern: null,
    example: '250-mx.postfix.test',
    seen: null,
    provenance: 'Postfix smtpd/smtpd.c ehlo_cmd: the first line is "250-" and myhostname only; Postfix logs the client as "connect from name[address]" instead',
  },
  {
    // The last resort: an address literal anywhere in the first line (a greeting text written by hand).
    id: 'any-address-literal',
    mta: null,
    pattern: new RegExp(String.raw`^250[- ].*\[${ADDR}\]`),
    example: '250-mail.example.net Hello [192.0.2.7]',
    seen: '192.0.2.7',
    provenance: 'RFC 5321 §4.1.1.1 (the EHLO reply\'s free text); RFC 5321 §4.1.3 address literals',
  },
];

/** The address an EHLO reply's first line names, and the row that read it; null when no row finds one. */
export function echoedAddress(firstLine: string, rules: readonly EchoRule[] = ECHO_RULES): { address: string; rule: string } | null {
  for (const r of rules) {
    const m = r.pattern?.exec(firstLine);
    if (m && net.isIP(m[1])) return { address: m[1], rule: r.id };
  }
  return null;
}

/** The row saying this MTA names no address (Postfix), if the table has one. */
export function silentRow(mta: string | null | undefined, rules: readonly EchoRule[] = ECHO_RULES): EchoRule | null {
  return rules.find((r) => r.pattern === null && r.mta === mta) ?? null;
}
