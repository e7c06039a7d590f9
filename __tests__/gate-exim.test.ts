import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import { check } from '../src/gate/gate.js';
import { runEximGate } from '../src/gate/exim/gate.js';
import { withoutItem } from '../src/gate/exim/fix.js';
import type { EximInstance } from '../src/gate/exim/instance.js';
import { GateError } from '../src/gate/instance.js';
import type { Report } from '../src/model/report.js';
import { annotations } from '../src/report/annotations.js';
import { renderSummary } from '../src/report/summary.js';
import { parseSettings, type RawInputs } from '../src/settings.js';
import { ROOT, runAction } from './support/action.js';
import { OUTSIDER } from './support/direct-smtp.js';
import { describeExim } from './support/exim.js';
import { expectValid } from './support/schema.js';

/**
 * Issue 24 §2: an Exim configuration in the repository gated like a Postfix one. Each
 * session is Exim's host checking (`exim -bh ADDRESS`): the battery runs over it as over
 * a socket. Each fixture's expected verdict is first shown by a direct -bh session (the
 * command the gate runs, fed a plain SMTP script, read without relay-check's client).
 */

const FIXTURES = path.join(ROOT, '__tests__', 'fixtures', 'gate');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A copy of a fixture, with update-exim4.conf.conf lines replaced (a mistake as an admin makes it). */
function fixtureWith(name: string, ue4cc: Record<string, string> = {}, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `relay-check-exim-${name}-`));
  dirs.push(dir);
  fs.cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  const ue = path.join(dir, 'update-exim4.conf.conf');
  for (const [key, value] of Object.entries(ue4cc)) {
    const text = fs.readFileSync(ue, 'utf8');
    fs.writeFileSync(ue, text.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}='${value}'`));
  }
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

/** RCPT replies of one direct -bh session: MAIL FROM an outside sender, then each recipient. */
function directSession(inst: EximInstance, recipients: readonly string[]): number[] {
  const script = ['EHLO client.example.org', 'MAIL FROM:<someone@example.org>', ...recipients.map((r) => `RCPT TO:<${r}>`), 'QUIT', ''].join('\r\n');
  const [cmd, ...args] = inst.hostCheckArgv;
  const r = spawnSync(cmd, args, { input: script, encoding: 'latin1', timeout: 30_000 });
  // Replies in order: greeting, EHLO (multi-line), MAIL, one per RCPT, QUIT.
  const finals = r.stdout.split('\n').filter((l) => /^\d{3} /.test(l)).map((l) => Number(l.slice(0, 3)));
  if (finals.length !== recipients.length + 4) throw new Error(`unexpected -bh session:\n${r.stdout}\n${r.stderr}`);
  return finals.slice(3, 3 + recipients.length);
}

const settingsFor = (dir: string, extra: RawInputs = {}): ReturnType<typeof parseSettings> => parseSettings({ 'exim-config': dir, timeout: '120', ...extra });

interface Case {
  title: string;
  dir: () => string;
  client?: string;
  verdict: 'open' | 'closed';
  form: 'configure' | 'template' | 'split';
  /** A mailbox of the configuration's own domains (accepted from outside in every case). */
  local: string;
  /** Where it relays: the cause's kind, the matched element, and the first place (a file and the text that starts its line). */
  cause?: { kind: string; element: string; file: string; starts: string };
  /** The proven fix: the line as it reads after the edit. */
  fixed?: string;
}

const CASES: Case[] = [
  { title: "Debian's exim4-config as an internet site (unsplit template): closed", dir: () => fixtureWith('exim-debian-internet'), verdict: 'closed', form: 'template', local: 'postmaster@exim-debian.test' },
  { title: "Debian's exim4-config as an internet site (split conf.d): closed", dir: () => fixtureWith('exim-debian-split'), verdict: 'closed', form: 'split', local: 'postmaster@exim-debian.test' },
  { title: 'a plain configure with the relay ACL of Exim\'s default: closed', dir: () => fixtureWith('exim-plain-closed'), verdict: 'closed', form: 'configure', local: 'postmaster@exim-gate.test' },
  { title: "dc_relay_nets='0.0.0.0/0' (every IPv4 client may relay): open", dir: () => fixtureWith('exim-debian-internet', { dc_relay_nets: '0.0.0.0/0' }), verdict: 'open', form: 'template', local: 'postmaster@exim-debian.test', cause: { kind: 'relay-hosts', element: '0.0.0.0/0', file: 'update-exim4.conf.conf', starts: 'dc_relay_nets=' }, fixed: "dc_relay_nets=''" },
  { title: "dc_relay_nets='172.16.0.0/12' (a Docker bridge), tested as the bridge gateway 172.17.0.1: open", dir: () => fixtureWith('exim-debian-split', { dc_relay_nets: '172.16.0.0/12' }), client: '172.17.0.1', verdict: 'open', form: 'split', local: 'postmaster@exim-debian.test', cause: { kind: 'relay-hosts', element: '172.16.0.0/12', file: 'update-exim4.conf.conf', starts: 'dc_relay_nets=' }, fixed: "dc_relay_nets=''" },
  { title: "dc_relay_nets='172.16.0.0/12', tested as an outsider: closed", dir: () => fixtureWith('exim-debian-split', { dc_relay_nets: '172.16.0.0/12' }), verdict: 'closed', form: 'split', local: 'postmaster@exim-debian.test' },
  { title: "dc_relay_domains='*' (relays to every domain): open", dir: () => fixtureWith('exim-debian-internet', { dc_relay_domains: '*' }), verdict: 'open', form: 'template', local: 'postmaster@exim-debian.test', cause: { kind: 'relay-domains', element: '*', file: 'update-exim4.conf.conf', starts: 'dc_relay_domains=' }, fixed: "dc_relay_domains=''" },
  {
    title: 'relay_from_hosts = * in a plain configure (hosts = * matches every client): open',
    dir: () => fixtureWith('exim-plain-closed', {}, { configure: fs.readFileSync(path.join(FIXTURES, 'exim-plain-closed', 'configure'), 'utf8').replace('hostlist   relay_from_hosts = localhost', 'hostlist   relay_from_hosts = *') }),
    verdict: 'open',
    form: 'configure',
    local: 'postmaster@exim-gate.test',
    cause: { kind: 'relay-hosts', element: '*', file: 'configure', starts: 'hostlist   relay_from_hosts = *' },
    fixed: 'hostlist   relay_from_hosts = ',
  },
  { title: 'an `accept hosts = …` ACL with a prefix-length typo (203.0.0.0/8 for an office /27): open', dir: () => fixtureWith('exim-accept-hosts'), verdict: 'open', form: 'configure', local: 'postmaster@exim-accept.test', cause: { kind: 'relay-hosts', element: '203.0.0.0/8', file: 'configure', starts: 'accept  hosts         = 192.168.10.0/24 : 203.0.0.0/8' }, fixed: '  accept  hosts         = 192.168.10.0/24' },
];

describeExim('gate mode for Exim (exim-config) through exim -bh', () => {
  for (const c of CASES) {
    test(c.title, async () => {
      let direct: number[] = [];
      const dir = c.dir();
      const report = await runEximGate(settingsFor(dir, c.client ? { 'client-address': c.client } : {}), {}, undefined, {
        beforeRun: async (inst) => {
          direct = directSession(inst, ['relay-check@example.com', c.local]);
        },
      });
      // The direct session first: the relay attempt taken (250) or refused (550), the own mailbox taken.
      expect(direct).toEqual([c.verdict === 'open' ? 250 : 550, 250]);
      expect(report.verdict).toBe(c.verdict);
      expect(report.gate?.exim).toEqual({ version: expect.stringMatching(/^4\./), form: c.form, client: c.client ?? OUTSIDER });
      const plain = report.targets.flatMap((t) => t.attempts).find((a) => a.vector === 'external-sender');
      expect(plain?.outcome).toBe(c.verdict === 'open' ? 'relayed' : 'denied');
      expectValid(report);
      // Where it relays: the cause at the repository's line, from Exim's own account of the ACL run.
      const causes = report.gate?.causes ?? [];
      if (!c.cause) expect(causes).toEqual([]);
      else {
        expect(causes.map((x) => [x.kind, x.element])).toContainEqual([c.cause.kind, c.cause.element]);
        const cause = causes.find((x) => x.kind === c.cause?.kind);
        const first = cause?.places[0];
        expect(first?.file).toBe(c.cause.file);
        const text = fs.readFileSync(path.join(dir, c.cause.file), 'utf8').split('\n')[(first?.line ?? 0) - 1] ?? '';
        expect(text.trim().startsWith(c.cause.starts)).toBe(true);
        // Each place is that line of the repository's file, as it reads there (the generated file traced back).
        for (const p of causes.flatMap((x) => x.places)) expect([p.file, p.line, fs.readFileSync(path.join(dir, p.file), 'utf8').split('\n')[p.line - 1]?.trim()]).toEqual([p.file, p.line, p.value]);
        // On the pull request, an error annotation at that line of that file.
        expect(annotations(report)).toContainEqual(expect.objectContaining({ level: 'error', file: `${dir}/${c.cause.file}`, line: first?.line }));
        // The diagnosis says it in Exim's words, at that line.
        expect((report.diagnosis ?? []).flatMap((d) => d.findings).some((f) => f.mta === 'Exim' && f.cause.includes(`\`${c.cause?.file}\` line ${first?.line}`))).toBe(true);
      }
      // The fix, proven on a copy: every attempt that relayed denied, the own domain's mail still taken.
      const fixes = report.gate?.fixes ?? [];
      if (!c.fixed) expect(fixes).toEqual([]);
      else {
        expect(fixes).toHaveLength(1);
        expect(fixes[0].diff.split('\n').at(-1)).toBe(`+${c.fixed}`);
        expect(fixes[0]).toMatchObject({ verified: true, stillRelayed: [], error: null });
        expect(fixes[0].rerun.length).toBe(report.counts.relayed);
        expect(fixes[0].ownMail?.length).toBeGreaterThan(0);
        expect(fixes[0].ownMail?.every((o) => o.before && o.after === true)).toBe(true);
      }
      // Every transport was replaced, and that is reported.
      expect(report.gate?.changes.some((x) => x.subject.startsWith('transport ') && /discard/.test(x.change))).toBe(true);
    }, 120_000);
  }

  test('the sandbox: private spool and log, queue_only, no transport but discards, no TLS, the runner environment dropped', async () => {
    let conf = '';
    await runEximGate(settingsFor(fixtureWith('exim-debian-internet')), {}, undefined, {
      beforeRun: async (inst) => {
        conf = fs.readFileSync(path.join(inst.dir, 'exim.conf'), 'utf8');
      },
    });
    const active = conf.split('\n').filter((l) => !/^\s*(#|$)/.test(l));
    expect(active).toContainEqual(expect.stringMatching(/^spool_directory = \/.*relay-check-exim-gate-.*\/spool$/));
    expect(active).toContainEqual(expect.stringMatching(/^log_file_path = \/.*relay-check-exim-gate-.*\/log\/%slog$/));
    expect(active).toContain('queue_only = true');
    expect(active).toContain('keep_environment = ');
    expect(active).toContain('tls_advertise_hosts = ');
    // Debian's template defines pipe and smtp transports: none is left.
    expect(active.filter((l) => /^\s*driver\s*=/.test(l) && /pipe|smtp|lmtp|autoreply/.test(l) && !/dnslookup|manualroute|redirect|accept/.test(l))).toEqual([]);
    expect(active.filter((l) => /^\s*driver\s*=\s*appendfile/.test(l)).length).toBeGreaterThan(5);
  }, 120_000);

  test('base against head: a pull request that opens dc_relay_nets is "opened" against its base, which was closed', async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-base-'));
    dirs.push(repo);
    const git = (...args: string[]): string => {
      const r = spawnSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    git('init', '-q');
    fs.cpSync(path.join(FIXTURES, 'exim-debian-internet'), path.join(repo, 'exim'), { recursive: true });
    git('add', '.');
    git('commit', '-qm', 'base');
    const baseCommit = git('rev-parse', 'HEAD');
    const ue = path.join(repo, 'exim', 'update-exim4.conf.conf');
    fs.writeFileSync(ue, fs.readFileSync(ue, 'utf8').replace("dc_relay_nets=''", "dc_relay_nets='0.0.0.0/0'"));
    git('commit', '-qam', 'head');
    const report = await runEximGate(settingsFor(path.join(repo, 'exim'), { 'base-ref': baseCommit }));
    expect(report.verdict).toBe('open');
    const base = report.gate?.base;
    expect(base).toMatchObject({ commit: baseCommit, status: 'compared', closed: 0, predates: 0 });
    expect(base?.opened).toBe(report.counts.relayed);
    expect(base?.changes.find((x) => x.vector === 'external-sender')).toMatchObject({ head: 'relayed', base: 'denied', change: 'opened' });
    expect(renderSummary(report)).toContain(`at the base, commit <code>${baseCommit.slice(0, 7)}</code>, through Exim host checking again:`);
  }, 180_000);

  test('strictness relaxed sends DATA through -bh: the message is taken (250 OK id=…) and nothing of the banner reaches the session', async () => {
    const report = await runEximGate(settingsFor(fixtureWith('exim-debian-internet', { dc_relay_nets: '0.0.0.0/0' }), { strictness: 'relaxed' }));
    expect(report.verdict).toBe('open');
    const a = report.targets.flatMap((t) => t.attempts).find((x) => x.vector === 'external-sender');
    expect(a?.outcome).toBe('relayed');
    const said = a?.transcript.filter((l) => l.dir === 'S').map((l) => l.text) ?? [];
    expect(said).toContainEqual(expect.stringMatching(/^250 OK id=/));
    expect(said.filter((l) => l === '' || l.startsWith('****'))).toEqual([]);
  }, 180_000);

  test('through the action bundle (dist/index.js): exit 1, the cause annotated at configure line 18, the verified fix in the job summary', async () => {
    const r = await runAction({ 'exim-config': fixtureWith('exim-accept-hosts') }, 120_000);
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('open');
    expect(r.stdout).toMatch(/::error title=Why it relays%3A acl_check_rcpt%3A accept,file=[^,]*\/configure,line=18::/);
    expect(r.summary).toContain('### Why it relays');
    expect(r.summary).toContain('Exim 4.');
    expect(r.summary).toMatch(/\*\*Verified on a copy&#58;/);
    // The post step is told the private directory, to remove it if the step is killed.
    expect(r.state['gate-dir']).toMatch(/relay-check-exim-gate-/);
  }, 180_000);

  test('through the action bundle: a refused configuration fails the step with the annotation at its line and a summary saying what to do', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-refused-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'configure'), 'keep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  accept condition = ${run{/bin/true}{yes}{no}}\n');
    const r = await runAction({ 'exim-config': dir }, 60_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error title=relay-check%3A exim-config,file=[^,]*\/configure,line=5::/);
    expect(r.summary).toMatch(/^## relay-check: ⚠️ The configuration could not be tested\n/);
    // Exim's words, not Postfix's.
    expect(r.summary).toContain('`exim -C FILE -bV`');
    expect(r.summary).not.toContain('postfix');
  }, 60_000);

  test('Exim missing: unpacked from Debian\'s packages by .ci/install-exim into RELAY_CHECK_EXIM_DIR, then used (nothing installed)', async () => {
    const dest = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-unpack-')), 'exim');
    dirs.push(path.dirname(dest));
    // The sessions run as nobody, who must reach the unpacked libraries.
    fs.chmodSync(path.dirname(dest), 0o755);
    const before = process.env.RELAY_CHECK_EXIM_DIR;
    process.env.RELAY_CHECK_EXIM_DIR = dest;
    const said: string[] = [];
    try {
      const report = await runEximGate(settingsFor(fixtureWith('exim-plain-closed')), {}, (line) => said.push(line));
      expect(report.verdict).toBe('closed');
    } finally {
      if (before === undefined) delete process.env.RELAY_CHECK_EXIM_DIR;
      else process.env.RELAY_CHECK_EXIM_DIR = before;
    }
    expect(said[0]).toBe(`Exim not found: unpacking Debian's exim4-daemon-light into ${dest} (.ci/install-exim; nothing is installed)`);
    expect(fs.existsSync(path.join(dest, 'usr/sbin/exim4'))).toBe(true);
  }, 300_000);

  test('an ACL condition on TLS (encrypted = *) is reported as not tested here, at its line', async () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'exim-plain-closed', 'configure'), 'utf8').replace('  accept  hosts         = +relay_from_hosts\n', '  accept  encrypted     = *\n          authenticated = *\n  accept  hosts         = +relay_from_hosts\n');
    const report = await runEximGate(settingsFor(fixtureWith('exim-plain-closed', {}, { configure: text })));
    const line = text.split('\n').findIndex((l) => l.includes('encrypted')) + 1;
    expect(report.gate?.changes).toContainEqual(expect.objectContaining({ file: 'configure', line, subject: 'encrypted', tested: false }));
    expect(report.verdict).toBe('closed');
  }, 60_000);

  const touched = path.join(os.tmpdir(), `relay-check-exim-hostile-${process.pid}`);
  /** Each with the line its first problem must be named at. */
  const HOSTILE: { title: string; files: Record<string, string>; line: number }[] = [
    {
      title: '${run} built from macros in an ACL',
      files: { configure: `T = ${touched}\nR = run\nkeep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  accept condition = \${R{/usr/bin/touch T}{yes}{yes}}\n` },
      line: 7,
    },
    {
      title: 'a queryprogram router (runs when an address is verified)',
      files: { configure: `keep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  require verify = recipient\n  accept\nbegin routers\nq:\n  driver = queryprogram\n  command = /usr/bin/touch ${touched}\n  command_user = nobody\n` },
      line: 9,
    },
    {
      title: '${readsocket} and ${expand:} in an ACL message',
      files: { configure: `keep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  deny message = \${readsocket{/run/x}{}} \${expand:\\$\\{run\\{/usr/bin/touch ${touched}\\}\\}}\n` },
      line: 5,
    },
    {
      title: 'a shell command in update-exim4.conf.conf (Debian\'s script sources it)',
      files: { 'update-exim4.conf.conf': `dc_eximconfig_configtype='internet'\ndc_relay_nets="$(touch ${touched})"\ndc_use_split_config='false'\n`, 'exim4.conf.template': 'keep_environment =\n' },
      line: 2,
    },
    {
      title: "a PATH of the repository's in update-exim4.conf.conf (Debian's script would run its commands from there)",
      files: { 'update-exim4.conf.conf': `dc_eximconfig_configtype='internet'\nPATH='.'\ndc_use_split_config='false'\n`, 'exim4.conf.template': 'keep_environment =\n', sed: `#!/bin/sh\ntouch ${touched}\n` },
      line: 2,
    },
    {
      title: 'a redirect router that runs an Exim filter when it verifies an address',
      files: { configure: `keep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  require verify = recipient\n  accept\nbegin routers\nf:\n  driver = redirect\n  allow_filter\n  file = /dev/null\n  user = nobody\n` },
      line: 8,
    },
    {
      title: 'an ACL read from a file at run time',
      files: { configure: `keep_environment =\nacl_smtp_rcpt = /tmp/relay-check-no-such-acl\n` },
      line: 2,
    },
    {
      title: '${dlfunc} and ${perl} in a router condition',
      files: { configure: `keep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  require verify = recipient\n  accept\nbegin routers\nr:\n  driver = redirect\n  condition = \${dlfunc{/tmp/x.so}{f}} \${perl{f}}\n  data = :blackhole:\n` },
      line: 10,
    },
    {
      title: 'a nested ACL chosen by an expansion (a file of the repository, read at run time)',
      files: { configure: `keep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  accept acl = \${if true{/tmp/relay-check-no-such-acl}}\n` },
      line: 5,
    },
    {
      title: 'perl_startup',
      files: { configure: `perl_startup = do '${touched}'\nperl_at_start\nkeep_environment =\n` },
      line: 1,
    },
  ];
  test('control: the ${run} configuration, run by Exim itself outside the gate, does leave the file behind', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-control-'));
    dirs.push(dir);
    // Exim drops to its own user (Debian-exim) for the session: it must reach its spool and log.
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, 'spool'), { mode: 0o777 });
    fs.mkdirSync(path.join(dir, 'log'), { mode: 0o777 });
    fs.chmodSync(path.join(dir, 'spool'), 0o777);
    fs.chmodSync(path.join(dir, 'log'), 0o777);
    const conf = path.join(dir, 'configure');
    fs.writeFileSync(conf, `spool_directory = ${dir}/spool\nlog_file_path = ${dir}/log/%slog\n${HOSTILE[0].files.configure}`, { mode: 0o644 });
    fs.rmSync(touched, { force: true });
    const root = process.env.RELAY_CHECK_EXIM_DIR || '/opt/relay-check-exim';
    const lib = fs.readdirSync(path.join(root, 'usr/lib')).filter((n) => n.includes('-linux-gnu')).map((n) => path.join(root, 'usr/lib', n)).join(':');
    const r = spawnSync(path.join(root, 'usr/sbin/exim4'), ['-C', conf, '-bh', OUTSIDER], { input: 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nQUIT\r\n', env: { LD_LIBRARY_PATH: lib }, encoding: 'utf8', timeout: 30_000 });
    expect([fs.existsSync(touched), r.stdout.match(/^250 Accepted/m)?.[0]]).toEqual([true, '250 Accepted']);
    fs.rmSync(touched, { force: true });
  });

  test('a link out of the directory is refused before anything reads it', async () => {
    const dir = fixtureWith('exim-debian-split');
    fs.symlinkSync('/etc/passwd', path.join(dir, 'conf.d', 'main', '00_local'));
    const e = await check(settingsFor(dir)).then(
      () => null,
      (x: unknown) => x,
    );
    expect((e as GateError).message).toBe("Input 'exim-config': conf.d/main/00_local is a link out of the directory (to /etc/passwd): refused");
    expect((e as GateError).problems[0]).toMatchObject({ file: 'conf.d/main/00_local', line: null });
  });

  for (const h of HOSTILE) {
    test(`a hostile configuration is refused, at its line, and nothing of it runs: ${h.title}`, async () => {
      fs.rmSync(touched, { force: true });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-hostile-'));
      dirs.push(dir);
      for (const [f, text] of Object.entries(h.files)) fs.writeFileSync(path.join(dir, f), text);
      const e = await check(settingsFor(dir)).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(GateError);
      const err = e as GateError;
      expect(err.message).toMatch(/^Input 'exim-config': /);
      // Refused by the gate for what it does, not failed by Exim for a mistake.
      expect(err.message).not.toMatch(/Exim refuses the configuration/);
      expect(err.problems.length).toBeGreaterThan(0);
      expect(err.problems[0].line).toBe(h.line);
      expect(fs.existsSync(touched)).toBe(false);
    }, 60_000);
  }

  test('a lookup of a file outside the instance (a checkout\'s .git/config, a home folder) reads nothing: those folders are hidden from the sessions', async () => {
    // A secret nobody may read, where a runner keeps its checkout and home (actions/checkout writes the job's token into .git/config).
    const home = fs.mkdtempSync('/home/relay-check-leak-');
    dirs.push(home);
    fs.chmodSync(home, 0o755);
    const secretFile = path.join(home, 'config');
    const secret = `TOPSECRET-${process.pid}-${Date.now()}`;
    fs.writeFileSync(secretFile, `extraheader: ${secret}\n`, { mode: 0o644 });
    // Control: nobody can read it outside the gate's sessions, so only the hiding keeps it out.
    expect(spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', secretFile], { encoding: 'utf8' }).stdout).toContain(secret);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-leak-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'configure'), `keep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  deny message = leak \${lookup{extraheader}lsearch{${secretFile}}{\$value}{unread}}\n`);
    let replies: string[] = [];
    const report = await runEximGate(settingsFor(dir), {}, undefined, {
      beforeRun: async (inst) => {
        const [cmd, ...args] = inst.hostCheckArgv;
        const r = spawnSync(cmd, args, { input: 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nQUIT\r\n', encoding: 'latin1', timeout: 30_000 });
        replies = r.stdout.split('\n').filter((l) => l.startsWith('550'));
      },
    });
    expect(replies.join('\n')).not.toContain(secret);
    expect(replies).toEqual([expect.stringMatching(/^550 (leak unread|Administrative prohibition)/)]);
    expect(JSON.stringify(report)).not.toContain(secret);
  }, 60_000);

  test('the sessions cannot reach the network, and run as nobody: an ACL that would call out gets nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-exim-netns-'));
    dirs.push(dir);
    // A sender callout would connect to the sender domain's MX; in the namespace there is no route.
    fs.writeFileSync(path.join(dir, 'configure'), 'keep_environment =\nacl_smtp_rcpt = a\nbegin acl\na:\n  deny message = uid $originator_uid dns ${lookup dnsdb{defer_never,a=example.com}{$value}{none}}\n');
    let replies: string[] = [];
    await runEximGate(settingsFor(dir), {}, undefined, {
      beforeRun: async (inst) => {
        const [cmd, ...args] = inst.hostCheckArgv;
        const r = spawnSync(cmd, args, { input: 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nQUIT\r\n', encoding: 'latin1', timeout: 30_000 });
        replies = r.stdout.split('\n').filter((l) => l.startsWith('550'));
      },
    });
    expect(replies).toEqual([expect.stringMatching(/^550 uid 65534 dns none/)]);
  }, 60_000);
});

test('exim-config: one-line errors naming the input, before anything runs', () => {
  const refused = (raw: RawInputs): string => {
    try {
      parseSettings(raw);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  expect(refused({ 'exim-config': 'ex', 'postfix-config': 'pf' })).toBe("Input 'exim-config': tests an Exim configuration: leave `postfix-config` empty (one gate per step)");
  expect(refused({ 'exim-config': 'ex', host: 'mx.example.com' })).toBe("Input 'exim-config': tests a configuration through Exim's host checking: leave `host` empty");
  const s = parseSettings({ 'exim-config': 'ex', 'base-ref': 'main' });
  expect(s.eximConfig).toBe('ex');
  expect(s.clientAddress).toBe(OUTSIDER);
  expect(s.baseRef).toBe('main');
});

test('the fix takes the matched item out of its list, and nothing else', () => {
  const cases: [string, string, string | null][] = [
    ["dc_relay_nets='0.0.0.0/0'", '0.0.0.0/0', "dc_relay_nets=''"],
    ["dc_relay_domains='*'", '*', "dc_relay_domains=''"],
    ['  accept  hosts         = 192.168.10.0/24 : 203.0.0.0/8', '203.0.0.0/8', '  accept  hosts         = 192.168.10.0/24'],
    ['hostlist relay_from_hosts = 127.0.0.1 : 0.0.0.0/0 : 10.0.0.0/8', '0.0.0.0/0', 'hostlist relay_from_hosts = 127.0.0.1 : 10.0.0.0/8'],
    ["dc_relay_nets='<; 10.0.0.0/8 ; 0.0.0.0/0 ; ::/0'", '0.0.0.0/0', "dc_relay_nets='<; 10.0.0.0/8 ; ::/0'"],
    // Not an item of the list (a prefix of one): no edit.
    ["dc_relay_nets='10.0.0.0/8'", '10.0.0.0/80', null],
    ["dc_relay_nets='10.0.0.0/8'", '0.0.0.0/0', null],
  ];
  for (const [text, element, after] of cases) expect([text, withoutItem(text, element)]).toEqual([text, after]);
});
