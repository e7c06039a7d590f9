import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { run } from '../src/engine.js';
import type { Report } from '../src/model/report.js';
import { InputError, parseSettings, type RawInputs } from '../src/settings.js';
import { describePostfix } from './support/describe-mta.js';
import { startFaultServer, type FaultContext, type FaultServer } from './support/fault-server.js';
import { startPostfix, type RunningPostfix } from './support/postfix.js';

/**
 * Issue 9, sections 1, 3 and 4: ways the verdict came out backwards, each
 * reproduced with a small server. Every test here failed on the code before
 * the fix (the expected verdict is written down, not computed).
 */

/** A scripted SMTP responder: `rcpt(sender, recipient)` answers each RCPT. */
function scripted(name: string, rcpt: (sender: string, recipient: string) => string, opts: { auth?: boolean } = {}) {
  return (ctx: FaultContext): void => {
    const say = (l: string): void => {
      if (!ctx.socket.destroyed) ctx.socket.write(`${l}\r\n`);
    };
    let sender = '';
    say(`220 ${name} ESMTP`);
    ctx.onLine((line) => {
      const verb = line.split(/[\s:]/)[0].toUpperCase();
      const arg = line.slice(line.indexOf(':') + 1).trim();
      if (verb === 'EHLO') {
        say(`250-${name}`);
        if (opts.auth) say('250-AUTH PLAIN LOGIN');
        say('250 PIPELINING');
      } else if (verb === 'MAIL') {
        sender = arg;
        say('250 2.1.0 Ok');
      } else if (verb === 'RSET') say('250 2.0.0 Ok');
      else if (verb === 'RCPT') say(rcpt(sender, arg));
      else if (verb === 'QUIT') {
        say('221 2.0.0 Bye');
        ctx.socket.end();
      } else say('502 5.5.2 Error: command not recognized');
    });
  };
}

const servers: FaultServer[] = [];
async function serve(behave: (ctx: FaultContext) => void): Promise<number> {
  const s = await startFaultServer(behave);
  servers.push(s);
  return s.port;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const check = (port: number, extra: RawInputs = {}): Promise<Report> =>
  run(parseSettings({ host: '127.0.0.1', port: String(port), timeout: '30', 'connect-timeout': '5', ...extra }));

const byId = (r: Report, id: string) => {
  const a = r.targets[0].attempts.find((x) => x.vector === id);
  if (!a) throw new Error(`no attempt ${id}`);
  return a;
};

describe('a recipient in the guessed mail domain is not a routing trick', () => {
  test('a server greeting as mail.example.com that accepts every recipient but one is open (was: closed, 53 of 54 skipped)', async () => {
    const port = await serve(scripted('mail.example.com', (_s, r) => (r.endsWith('.>') ? '554 5.7.1 no' : '250 2.1.5 Ok')));
    for (const strictness of ['normal', 'strict']) {
      const r = await check(port, { strictness });
      expect(r.verdict).toBe('open');
      expect(r.failed).toBe(true);
      expect(byId(r, 'external-sender').outcome).toBe('relayed');
      expect(byId(r, 'external-sender').routedVia).toBeNull();
    }
  }, 60_000);

  test('a closed mx.corp.test asked to reach me@corp.test says it cannot test (was: open, 25 local deliveries)', async () => {
    // Accepts its own domain (local delivery), refuses everything else.
    const port = await serve(scripted('mx.corp.test', (_s, r) => (/@(mx\.)?corp\.test>$/i.test(r) ? '250 2.1.5 Ok' : '554 5.7.1 <x>: Relay access denied')));
    const r = await check(port, { recipient: 'me@corp.test' });
    expect(r.verdict).toBe('inconclusive');
    expect(r.counts.relayed).toBe(0);
    expect(r.targets[0].errorKind).toBe('recipient-local');
    expect(r.targets[0].error).toMatch(/me@corp\.test is in corp\.test, the domain of the server's name mx\.corp\.test/);
    expect(r.failed).toBe(true);
  }, 60_000);

  test.each([
    [{ host: 'mx.corp.test', recipient: 'me@corp.test' }, /Input 'recipient': "me@corp\.test" is in corp\.test, the domain of host mx\.corp\.test/],
    [{ host: 'mx.corp.test', recipient: 'me@mx.corp.test' }, /Input 'recipient': .* is at mx\.corp\.test, the host under test/],
    [{ host: '192.0.2.1', domain: 'corp.test', recipient: 'me@corp.test' }, /Input 'recipient': .* is in corp\.test, the mail domain the server serves \(`domain`\)/],
    [{ host: '192.0.2.1', domain: 'corp.test', recipient: 'me@eu.corp.test' }, /Input 'recipient'/],
    [{ host: '192.0.2.1', domain: 'example.com' }, /Input 'recipient': "relay-check@example\.com" is in example\.com/],
  ] as const)('refused before connecting: %j', (inputs, message) => {
    expect(() => parseSettings(inputs)).toThrow(InputError);
    expect(() => parseSettings(inputs)).toThrow(message);
    try {
      parseSettings(inputs);
    } catch (e) {
      expect((e as Error).message).not.toMatch(/\n/);
    }
  });

  test.each([
    { host: 'mx.example.com' },
    { host: 'mx.corp.test', recipient: 'me@other.test' },
    { host: 'mx.corp.test', domain: 'mail.corp.test', recipient: 'me@corp.test' },
  ])('allowed: %j', (inputs) => {
    expect(() => parseSettings(inputs)).not.toThrow();
  });
});

describe('a refused sender does not hide the recipient form', () => {
  test('address-literal senders refused at RCPT (delay_reject): the percent hack is retried with an accepted sender and found', async () => {
    const port = await serve(
      scripted('mx.fault.test', (sender, rcpt) => {
        if (sender.includes('[')) return `554 5.7.1 ${sender}: Sender address rejected: Access denied`;
        if (rcpt.includes('relay-check-nx-')) return `550 5.1.1 ${rcpt}: Recipient address rejected: User unknown in local recipient table`;
        // Routes the percent hack: user%ext@[itself] leaves for ext.
        if (/%.*@\[127\.0\.0\.1\]>$/.test(rcpt)) return '250 2.1.5 Ok';
        return `554 5.7.1 ${rcpt}: Relay access denied`;
      }),
    );
    const r = await check(port);
    const pct = byId(r, 'percent-hack-literal');
    // The plain sender relayed by itself here (double-percent-hack uses it), so a sender that
    // only got refusals is chosen: what relays is then the recipient form, not the sender.
    expect(pct.mailFrom).toBe('<relay-check@mx.fault.test>');
    expect(pct.outcome).toBe('relayed');
    expect(pct.reason).toMatch(/the vector's sender <relay-check@\[127\.0\.0\.1\]> was refused: 554 5\.7\.1 .*Sender address rejected: Access denied; the recipient form was then tried with <relay-check@mx\.fault\.test>, a sender this server accepted/);
    // The sender vector itself is not retried: its sender is what it tests, and that was refused.
    const lit = byId(r, 'literal-sender');
    expect(lit).toMatchObject({ outcome: 'denied', rule: 'sender-not-valid-here', mailFrom: '<relay-check@[127.0.0.1]>' });
    expect(r.verdict).toBe('open');
  }, 60_000);

  test('no sender accepted at all: the first refusal stands, and the reason says the recipient form was not tried', async () => {
    const port = await serve(scripted('mx.fault.test', (sender) => `504 5.5.2 ${sender}: Sender address rejected: need fully-qualified address`));
    const r = await check(port);
    const q = byId(r, 'quoted-address');
    expect(q.outcome).toBe('denied');
    expect(q.reason).toMatch(/the recipient form was not tried: no sender got as far as a recipient decision/);
    expect(r.verdict).toBe('closed');
  }, 60_000);
});

describe('a client refused for everyone is a denial', () => {
  test('a submission port refusing every unauthenticated client, offering AUTH: closed, not inconclusive', async () => {
    const port = await serve(scripted('smtp.fault.test', () => '554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied', { auth: true }));
    const r = await check(port, { strictness: 'strict' });
    expect(r.verdict).toBe('closed');
    expect(r.failed).toBe(false);
    expect(byId(r, 'external-sender').rule).toBe('client-refused-auth-only');
  }, 60_000);

  test('a client refused for who it is (no reverse DNS) stays inconclusive with that reason', async () => {
    const port = await serve(scripted('smtp.fault.test', () => '450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.1]', { auth: true }));
    const r = await check(port);
    expect(r.verdict).toBe('inconclusive');
    expect(byId(r, 'external-sender').reason).toMatch(/reverse DNS/);
  }, 60_000);
});

describePostfix('role accounts of any domain (RFC 2142 recipe before reject_unauth_destination)', () => {
  let pf: RunningPostfix;
  beforeAll(async () => {
    pf = await startPostfix([
      {
        name: 'roles',
        overrides: ['{ smtpd_relay_restrictions = permit_mynetworks, check_recipient_access inline:{ postmaster@=OK, abuse@=OK, hostmaster@=OK }, reject_unauth_destination }'],
      },
    ]);
  }, 60_000);
  afterAll(async () => pf?.stop());

  test('the role-mailbox vectors relay, and nothing else does', async () => {
    const r = await check(pf.ports.roles);
    expect(r.verdict).toBe('open');
    const relayed = r.targets[0].attempts.filter((a) => a.outcome === 'relayed').map((a) => a.vector);
    expect(relayed.sort()).toEqual(['role-abuse-external', 'role-hostmaster-external', 'role-postmaster-external', 'role-postmaster-null-sender']);
    expect(byId(r, 'role-abuse-external').rcptTo).toEqual(['<abuse@example.com>']);
  }, 60_000);
});
