import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parseMainCf, parseMasterCf, serviceOverrides, splitArgs } from '../src/gate/postfix-files.js';
import { buildSandbox, listenerCount, mapRefs, restrictionItems, withoutPolicyServices, type SandboxInput } from '../src/gate/sandbox.js';
import { GATE_CLIENT_ADDRESS, parseSettings } from '../src/settings.js';

/** The gate's pure parts: reading main.cf/master.cf and what the sandbox changes. No Postfix needed. */

const INSTANCE = { conf: '/i/conf', queue: '/i/queue', data: '/i/data', log: '/i/maillog', cert: '/i/cert.pem', key: '/i/key.pem' };
const TYPES = new Set(['btree', 'cidr', 'hash', 'inline', 'regexp', 'texthash', 'static', 'unix', 'proxy']);

function sandbox(mainCf: string, masterCf: string | null, o: Partial<SandboxInput> = {}) {
  const master = masterCf === null ? null : parseMasterCf(masterCf);
  return buildSandbox({
    main: parseMainCf(mainCf),
    master,
    overrides: [],
    overridesFile: 'overrides.cf',
    files: new Set(),
    mapTypes: TYPES,
    instance: INSTANCE,
    ports: Array.from({ length: listenerCount(master) }, (_, i) => 40000 + i),
    classTag: 'c0ffee',
    ...o,
  });
}

const MASTER = `smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
smtps     inet  n       -       y       -       -       smtpd
  -o smtpd_tls_wrappermode=yes
628       inet  n       -       y       -       -       qmqpd
smtp      unix  -       -       y       -       -       smtp
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d \${recipient}
`;

describe('parseMainCf', () => {
  test('continuation lines join the parameter they continue; comments and blank lines in between are skipped; lines are where each starts', () => {
    const p = parseMainCf('# c\na = 1\nb = x,\n    y\n# inside\n  z\n\nc=3\n');
    expect(p).toEqual([
      { name: 'a', value: '1', line: 2 },
      { name: 'b', value: 'x, y z', line: 3 },
      { name: 'c', value: '3', line: 8 },
    ]);
  });
});

describe('parseMasterCf', () => {
  test('eight fields, then arguments; continuation lines; braced -o values kept whole', () => {
    const m = parseMasterCf(MASTER);
    expect(m.map((s) => [s.service, s.type, s.command, s.line])).toEqual([
      ['smtp', 'inet', 'smtpd', 1],
      ['submission', 'inet', 'smtpd', 2],
      ['smtps', 'inet', 'smtpd', 6],
      ['628', 'inet', 'qmqpd', 8],
      ['smtp', 'unix', 'smtp', 9],
      ['maildrop', 'unix', 'pipe', 10],
    ]);
    expect(serviceOverrides(m[1])).toEqual([
      { name: 'syslog_name', value: 'postfix/submission', index: 1 },
      { name: 'smtpd_tls_security_level', value: 'encrypt', index: 3 },
      { name: 'smtpd_client_restrictions', value: 'permit_sasl_authenticated, reject', index: 5 },
    ]);
  });
  test('splitArgs keeps braces, restrictionItems splits on commas outside them', () => {
    expect(splitArgs('-o { a = b, c } x')).toEqual(['-o', '{ a = b, c }', 'x']);
    expect(restrictionItems('permit_mynetworks,reject_unauth_destination check_policy_service { inet:x:1, timeout=10s }')).toEqual([
      'permit_mynetworks',
      'reject_unauth_destination',
      'check_policy_service',
      '{ inet:x:1, timeout=10s }',
    ]);
  });
});

describe('mapRefs and policy services', () => {
  test('file maps, proxy over a file map, and server maps are found; other tables are not maps of files', () => {
    expect(mapRefs('hash:/etc/aliases, proxy:hash:/etc/x unix:passwd.byname mysql:/etc/postfix/m.cf texthash:$config_directory/v inline:{ a=b }').map((r) => [r.type, r.name, r.proxy])).toEqual([
      ['hash', '/etc/aliases', false],
      ['hash', '/etc/x', true],
      ['mysql', '/etc/postfix/m.cf', false],
      ['texthash', '$config_directory/v', false],
    ]);
  });
  test('check_policy_service and its argument are taken out, braced or not', () => {
    expect(withoutPolicyServices('permit_mynetworks, reject_unauth_destination, check_policy_service inet:127.0.0.1:10023, check_policy_service { unix:private/spf, timeout=10s }, permit')).toEqual({
      value: 'permit_mynetworks, reject_unauth_destination, permit',
      removed: ['check_policy_service inet:127.0.0.1:10023', 'check_policy_service { unix:private/spf, timeout=10s }'],
    });
    expect(withoutPolicyServices('permit_mynetworks reject')).toEqual({ value: 'permit_mynetworks reject', removed: [] });
  });
});

describe('buildSandbox', () => {
  test('SAFETY: every transport is a discard and every delivery agent discard(8), whatever main.cf says', () => {
    const sb = sandbox('default_transport = smtp\nrelay_transport = relay\nrelayhost = [smarthost.example.net]\ntransport_maps = hash:/etc/postfix/transport\ncontent_filter = smtp-amavis:[127.0.0.1]:10024\n', MASTER);
    // Each class its own discard next hop: discard(8) logs it, so the log names the class.
    expect(['default_transport', 'relay_transport', 'local_transport', 'virtual_transport'].map((t) => sb.main.get(t))).toEqual([
      'discard:relay-check-default-c0ffee',
      'discard:relay-check-relay-c0ffee',
      'discard:relay-check-local-c0ffee',
      'discard:relay-check-virtual-c0ffee',
    ]);
    for (const p of ['relayhost', 'transport_maps', 'content_filter']) expect(sb.main.get(p)).toBe('');
    expect(sb.master.filter((s) => s.type === 'unix').map((s) => [s.service, s.command, s.args])).toEqual(
      expect.arrayContaining([
        ['smtp', 'discard', []],
        ['maildrop', 'discard', []],
      ]),
    );
    expect(sb.refusals).toEqual([]);
  });

  test('SAFETY: a hostile master.cf and main.cf run nothing: spawn, pipe and unknown commands become discard, -D and wakeups go, hooks are emptied', () => {
    const hostile = `smtp      inet  n       -       n       -       -       smtpd -D
  -o smtpd_proxy_filter=unix:private/evil
  -o content_filter=evil:
  -o { smtpd_milter_maps = inline:{ 203.0.113.10=inet:127.0.0.1:9 } }
cleanup   unix  n       -       n       -       0       cleanup -D
evil      unix  -       n       n       -       -       spawn user=nobody argv=/usr/bin/touch /tmp/x
tick      unix  -       n       n       2       1       spawn user=nobody argv=/usr/bin/touch /tmp/y
piped     unix  -       n       n       -       -       pipe flags=q user=nobody argv=/usr/bin/touch /tmp/z
shell     unix  -       n       n       -       -       ../../../bin/sh -c touch
fifo1     fifo  n       -       n       60      1       ../../../bin/sh
`;
    const sb = sandbox('debugger_command = /usr/bin/touch /tmp/d\nsmtpd_proxy_filter = 127.0.0.1:10025\nsmtpd_milter_maps = cidr:/etc/postfix/m\n', hostile, {
      overrides: parseMainCf('smtp/inet/smtpd_proxy_filter = unix:private/evil\n'),
    });
    for (const p of ['debugger_command', 'smtpd_proxy_filter', 'smtpd_milter_maps']) expect(`${p}=${sb.main.get(p)}`).toBe(`${p}=`);
    const byName = new Map(sb.master.map((s) => [s.service, s]));
    expect(['evil', 'tick', 'piped', 'shell'].map((n) => [n, byName.get(n)?.command, byName.get(n)?.wakeup, byName.get(n)?.args])).toEqual([
      ['evil', 'discard', '-', []],
      ['tick', 'discard', '-', []],
      ['piped', 'discard', '-', []],
      ['shell', 'discard', '-', []],
    ]);
    expect(byName.has('fifo1')).toBe(false);
    // No -D anywhere, and the listener's hooks are empty (the postfix-overrides line too).
    for (const s of sb.master) expect(s.args.filter((a, i) => a !== '-o' && s.args[i - 1] !== '-o')).toEqual([]);
    const smtp = sb.master.find((s) => s.type === 'inet');
    expect(serviceOverrides(smtp!).filter((o) => ['smtpd_proxy_filter', 'content_filter', 'smtpd_milter_maps'].includes(o.name)).map((o) => o.value)).toEqual(['', '', '']);
    // Each is said, the before-queue filter and the milters as not tested.
    const said = sb.changes.map((c) => `${c.subject}: ${c.change}`).join('\n');
    expect(said).toMatch(/evil \(spawn\), tick \(spawn, woken every 2\), piped \(pipe\), shell \(\.\.\/\.\.\/\.\.\/bin\/sh\) deliver to discard/);
    expect(said).toMatch(/fifo service fifo1 runs \.\.\/\.\.\/\.\.\/bin\/sh, which is not one of Postfix's own daemons: not started here/);
    expect(said).toMatch(/argument\(s\) -D dropped/);
    expect(sb.changes.filter((c) => !c.tested).map((c) => c.subject)).toEqual(expect.arrayContaining(['smtpd_proxy_filter', 'smtpd_milter_maps', 'smtp -o smtpd_proxy_filter']));
  });

  test('postfix-overrides cannot undo the discard transports', () => {
    const sb = sandbox('myhostname = mx.example.org\n', null, { overrides: parseMainCf('default_transport = smtp:\nrelayhost = [x.example.net]\n') });
    expect(sb.main.get('default_transport')).toBe('discard:relay-check-default-c0ffee');
    expect(sb.main.get('relayhost')).toBe('');
  });

  test('every inet smtpd is moved to its own loopback port and named by master.cf name and original port; other inet services are not started', () => {
    const sb = sandbox('', MASTER);
    expect(sb.services.map((s) => [s.name, s.original, s.port, s.wrapper, s.line])).toEqual([
      ['smtp', '25', 40000, false, 1],
      ['submission', '587', 40001, false, 2],
      ['smtps', '465', 40002, true, 6],
    ]);
    expect(sb.master.filter((s) => s.type === 'inet').map((s) => s.service)).toEqual(['127.0.0.1:40000', '127.0.0.1:40001', '127.0.0.1:40002']);
    // The -o overrides that decide relaying are kept.
    expect(serviceOverrides(sb.master[1]).map((o) => o.value)).toContain('permit_sasl_authenticated, reject');
    expect(sb.changes.map((c) => c.change)).toEqual(expect.arrayContaining(['submission (587) → 127.0.0.1:40001', 'inet service 628 (qmqpd) is not SMTP: not started here']));
    expect(sb.master.every((s) => s.chroot === 'n')).toBe(true);
  });

  test('a listener written as host:port is named by its syslog name', () => {
    const sb = sandbox('', '127.0.0.1:10025 inet n - n - - smtpd\n  -o syslog_name=postfix/10025\n');
    expect(sb.services[0]).toMatchObject({ name: '10025', original: '127.0.0.1:10025' });
  });

  test('no master.cf: Debian default services stand in, smtp on port 25', () => {
    const sb = sandbox('', null);
    expect(sb.services.map((s) => [s.name, s.original])).toEqual([['smtp', '25']]);
    expect(sb.changes.some((c) => /no master\.cf/.test(c.change))).toBe(true);
  });

  test('maps named under /etc/postfix resolve to the copy in the directory and indexed ones are built; a missing file stops the gate with its line', () => {
    const files = new Set(['sender_access', 'access.cidr']);
    const sb = sandbox('a = 1\nsmtpd_relay_restrictions = permit_mynetworks, check_sender_access hash:/etc/postfix/sender_access, check_client_access cidr:/etc/postfix/access.cidr, reject_unauth_destination\n', null, { files });
    expect(sb.main.get('smtpd_relay_restrictions')).toBe('permit_mynetworks, check_sender_access hash:/i/conf/sender_access, check_client_access cidr:/i/conf/access.cidr, reject_unauth_destination');
    expect(sb.build).toEqual([{ command: 'postmap', map: 'hash:/i/conf/sender_access' }]);
    const missing = sandbox('a = 1\nvirtual_alias_maps = hash:/etc/postfix/virtual\n', null);
    expect(missing.refusals).toEqual([expect.objectContaining({ file: 'main.cf', line: 2, subject: 'virtual_alias_maps' })]);
    expect(missing.refusals[0].change).toMatch(/\/etc\/postfix\/virtual, which is not in the configuration directory/);
  });

  test('aliases not in the directory: a postmaster-only file stands in (local recipients stay validated)', () => {
    const sb = sandbox('alias_maps = hash:/etc/aliases\n', null);
    expect(sb.main.get('alias_maps')).toBe('hash:/i/conf/aliases');
    expect(sb.create).toEqual(expect.arrayContaining([{ file: 'aliases', content: 'postmaster: root\n' }]));
    expect(sb.build).toEqual([{ command: 'postalias', map: 'hash:/i/conf/aliases' }]);
  });

  test('server maps stop the gate, naming the parameter and line, unless postfix-overrides stands in', () => {
    const main = 'x = 1\nvirtual_mailbox_maps = proxy:mysql:/etc/postfix/mysql-vmail.cf\n';
    const refused = sandbox(main, null);
    expect(refused.refusals.map((r) => [r.file, r.line, r.subject])).toEqual([['main.cf', 2, 'virtual_mailbox_maps']]);
    expect(refused.refusals[0].change).toMatch(/needs a server or database/);
    const stood = sandbox(main, null, { overrides: parseMainCf('virtual_mailbox_maps = texthash:test/vmail\n'), files: new Set(['test/vmail']) });
    expect(stood.refusals).toEqual([]);
    expect(stood.main.get('virtual_mailbox_maps')).toBe('texthash:/i/conf/test/vmail');
    expect(stood.changes).toEqual(expect.arrayContaining([expect.objectContaining({ file: 'overrides.cf', line: 1, subject: 'virtual_mailbox_maps' })]));
  });

  test('a map type this Postfix lacks is refused with the package to install', () => {
    const sb = sandbox('header_checks = pcre:/etc/postfix/h.pcre\n', null, { files: new Set(['h.pcre']) });
    expect(sb.refusals[0].change).toMatch(/pcre:, which this Postfix does not support \(install the Debian package postfix-pcre\)/);
  });

  test('milters and policy services are taken out and reported as not tested, with their lines', () => {
    const sb = sandbox('smtpd_milters = inet:localhost:8891\nsmtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:10023\n', '127.0.0.1:2525 inet n - n - - smtpd\n  -o smtpd_milters=inet:localhost:8892\n');
    expect(sb.main.get('smtpd_milters')).toBe('');
    expect(sb.main.get('milter_default_action')).toBe('accept');
    expect(sb.main.get('smtpd_recipient_restrictions')).toBe('reject_unauth_destination');
    const untested = sb.changes.filter((c) => !c.tested);
    expect(untested.map((c) => [c.file, c.line, c.subject])).toEqual(
      expect.arrayContaining([
        ['main.cf', 1, 'smtpd_milters'],
        ['main.cf', 2, 'smtpd_recipient_restrictions'],
        ['master.cf', 1, '127.0.0.1:2525 -o smtpd_milters'],
      ]),
    );
    expect(serviceOverrides(sb.master[0]).find((o) => o.name === 'smtpd_milters')?.value).toBe('');
  });

  test('certificates of the production host: a throwaway pair stands in; copies in the directory are used', () => {
    const sb = sandbox('smtpd_tls_cert_file = /etc/letsencrypt/live/mx/fullchain.pem\nsmtpd_tls_key_file = /etc/postfix/key.pem\nsmtpd_tls_CAfile = /etc/ssl/ca.pem\n', null, { files: new Set(['key.pem']) });
    expect(sb.main.get('smtpd_tls_cert_file')).toBe('/i/cert.pem');
    expect(sb.main.get('smtpd_tls_key_file')).toBe('/i/conf/key.pem');
    expect(sb.main.get('smtpd_tls_CAfile')).toBe('');
  });

  test('XCLIENT from loopback, the instance places, loopback only', () => {
    const sb = sandbox('queue_directory = /var/spool/postfix\nsmtpd_authorized_xclient_hosts = 192.0.2.1\n', null);
    // The repository's own list is kept after loopback: the XCLIENT identity trick tests whom it authorizes.
    expect(sb.main.get('smtpd_authorized_xclient_hosts')).toBe('127.0.0.0/8, 192.0.2.1');
    expect(sandbox('smtpd_authorized_xclient_hosts = 127.0.0.0/8\n', null).main.get('smtpd_authorized_xclient_hosts')).toBe('127.0.0.0/8');
    expect(sandbox('queue_directory = /var/spool/postfix\n', null).main.get('smtpd_authorized_xclient_hosts')).toBe('127.0.0.0/8');
    expect(sb.main.get('queue_directory')).toBe('/i/queue');
    expect(sb.main.get('maillog_file')).toBe('/i/maillog');
    expect(sb.main.get('inet_interfaces')).toBe('loopback-only');
  });

  test("Dovecot SASL is not on a runner: Cyrus with no accounts stands in, so AUTH is still offered", () => {
    const sb = sandbox('smtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/auth\nsmtpd_sasl_auth_enable = yes\n', null);
    expect(sb.main.get('smtpd_sasl_type')).toBe('cyrus');
    expect(sb.main.get('smtpd_sasl_path')).toBe('smtpd');
    expect(sb.create.map((c) => c.file)).toContain('sasl/smtpd.conf');
  });

  test('nothing to test: no smtpd listener is a refusal', () => {
    expect(sandbox('', 'pickup unix n - n 60 1 pickup\n').refusals[0].change).toMatch(/no inet smtpd or postscreen service/);
  });
});

describe('settings for gate mode', () => {
  test('postfix-config replaces host and defaults client-address to a documentation address', () => {
    const s = parseSettings({ 'postfix-config': 'postfix/' });
    expect(s.postfixConfig).toBe('postfix/');
    expect(s.hosts).toEqual([]);
    expect(s.clientAddress).toBe(GATE_CLIENT_ADDRESS);
    expect(parseSettings({ 'postfix-config': 'postfix/', 'client-address': '198.51.100.7' }).clientAddress).toBe('198.51.100.7');
  });
  test.each([
    [{ 'postfix-config': 'postfix/', host: 'mx.example.org' }, /^Input 'postfix-config': tests a configuration on a private Postfix: leave `host` empty$/],
    [{ host: 'mx.example.org', 'postfix-overrides': 'o.cf' }, /^Input 'postfix-overrides': applies to a `postfix-config` directory: set that too$/],
    [{ 'postfix-config': 'postfix/\n' + 'x' }, /^Input 'postfix-config': contains a control character$/],
  ])('refused before anything starts: %j', (inputs, message) => {
    expect(() => parseSettings(inputs)).toThrow(message);
  });
});

describe('repoPath: annotations name files as GitHub matches them to the pull request', () => {
  test('relative to the checkout, forward slashes, no ./', async () => {
    const { repoPath } = await import('../src/main.js');
    const ws = process.env.GITHUB_WORKSPACE;
    try {
      delete process.env.GITHUB_WORKSPACE;
      expect(repoPath('./postfix//main.cf')).toBe('postfix/main.cf');
      expect(repoPath('postfix/master.cf')).toBe('postfix/master.cf');
      process.env.GITHUB_WORKSPACE = '/home/runner/work/repo/repo';
      expect(repoPath('/home/runner/work/repo/repo/mail/postfix/main.cf')).toBe('mail/postfix/main.cf');
    } finally {
      if (ws === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = ws;
    }
  });
});

describe('runner: the Postfix master starts as root', () => {
  test('root runs directly, otherwise through sudo -n, and with neither one line naming the input', async () => {
    const { runner, GateError } = await import('../src/gate/instance.js');
    expect(runner(0, () => false)).toEqual({ prefix: [] });
    expect(runner(1000, () => true)).toEqual({ prefix: ['sudo', '-n'] });
    expect(() => runner(1000, () => false)).toThrow(GateError);
    expect(() => runner(1000, () => false)).toThrow("Input 'postfix-config': the Postfix master must start as root: run as root or where `sudo -n` works");
  });
});

describe('files a configuration names outside its directory', () => {
  test("Debian's myorigin = /etc/mailname: the directory's copy stands in, or Postfix's default; reported either way", () => {
    const withCopy = sandbox('myhostname = mail.example.net\nmyorigin = /etc/mailname\n', null, { files: new Set(['mailname']) });
    expect(withCopy.main.get('myorigin')).toBe(path.join(INSTANCE.conf, 'mailname'));
    expect(withCopy.changes.find((c) => c.subject === 'myorigin')).toMatchObject({ file: 'main.cf', line: 2, change: '/etc/mailname → the copy in the configuration directory (mailname)', tested: true });
    const without = sandbox('myhostname = mail.example.net\nmyorigin = /etc/mailname\n', null);
    expect(without.main.get('myorigin')).toBe('$myhostname');
    expect(without.changes.find((c) => c.subject === 'myorigin')?.change).toMatch(/^\/etc\/mailname is not in the configuration directory → \$myhostname/);
  });

  test('a list read from a file: the copy stands in; one the directory lacks is left for Postfix to refuse, with its line', () => {
    const s = sandbox('mydestination = $myhostname, /etc/postfix/local-domains, localhost\nrelay_domains = /etc/relay-domains\n', null, { files: new Set(['local-domains']) });
    expect(s.main.get('mydestination')).toBe(`$myhostname, ${path.join(INSTANCE.conf, 'local-domains')}, localhost`);
    expect(s.main.get('relay_domains')).toBe('/etc/relay-domains');
  });
});
