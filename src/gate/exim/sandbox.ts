/**
 * The Exim configuration a gate runs: the repository's text with the options that
 * would reach outside the private place replaced (each replacement reported), every
 * transport a discard, and what could run a command or reach a socket refused. Pure
 * text functions: no I/O here.
 *
 * Exim refuses an option set twice ("option set for the second time"), so an owned
 * option is commented out where the configuration sets it and set once by us; a
 * configuration that sets one through a macro fails to start rather than win.
 */

/** A line of the configuration as run, with the line of the generated (or plain) file it came from. */
export interface SourcedLine {
  text: string;
  /** 1-based line in the file the gate read (the generated exim4.conf for Debian's forms); null for a line the gate added. */
  from: number | null;
}

export interface EximChange {
  /** Line in the file the gate read, null when the change is not at a line. */
  line: number | null;
  subject: string;
  change: string;
}

export interface EximSandboxPlaces {
  spool: string;
  log: string;
  /** The binary `exim_path` names (re-executions use it). */
  bin: string;
  /** The account every session runs as (nobody): Exim gives the spool files it writes during DATA to exim_user. */
  user: { uid: number; gid: number };
  /**
   * Debian's forms: the machine's name Exim would take from the runner (Debian's
   * configuration leaves primary_hostname to the host's own FQDN); the mailname stands in.
   */
  primaryHostname?: string;
}

/**
 * Main options the gate sets itself, with why. The private places keep the runner's
 * own spool and logs out of it; queue_only keeps an accepted message where it was
 * taken (host checking delivers nothing anyway); no TLS on a stdio session.
 */
const OWNED_MAIN: readonly { name: string; value: (p: EximSandboxPlaces) => string; why: string }[] = [
  { name: 'spool_directory', value: (p) => p.spool, why: 'a private spool' },
  { name: 'log_file_path', value: (p) => `${p.log}/%slog`, why: 'private logs' },
  { name: 'exim_path', value: (p) => p.bin, why: 'the Exim the gate runs' },
  { name: 'exim_user', value: (p) => String(p.user.uid), why: 'the sessions run as nobody, who owns the private spool' },
  { name: 'exim_group', value: (p) => String(p.user.gid), why: 'the sessions run as nobody, who owns the private spool' },
  { name: 'keep_environment', value: () => '', why: 'the runner environment is not passed on' },
  { name: 'add_environment', value: () => '', why: 'the runner environment is not passed on' },
  { name: 'queue_only', value: () => 'true', why: 'nothing is delivered: an accepted message stays queued' },
  { name: 'system_filter', value: () => '', why: 'no system filter runs' },
  { name: 'tls_advertise_hosts', value: () => '', why: 'host checking (-bh) has no TLS: STARTTLS is not offered and `encrypted` conditions are not tested' },
];

/** Options that run code as Exim starts: refused, not neutralised (the light daemon has no Perl; another build would run it). */
const REFUSED_MAIN = ['perl_startup', 'perl_at_start'];

/**
 * Options of the dnslookup and manualroute routers only (Exim specification, chapters
 * "The dnslookup router" and "The manualroute router"): an `accept` router refuses them.
 */
const LOOKUP_ROUTER_OPTIONS = new Set(['check_secondary_mx', 'check_srv', 'fail_defer_domains', 'ipv4_only', 'ipv4_prefer', 'mx_domains', 'mx_fail_domains', 'qualify_single', 'rewrite_headers', 'same_domain_copy_routing', 'search_parents', 'srv_fail_domains', 'widen_domains', 'host_all_ignored', 'host_find_failed', 'hosts_randomize', 'route_data', 'route_list']);

const MAIN_OPTION = /^\s*(?:hide\s+)?(?:no_|not_)?([a-z][a-z0-9_]*)\s*(?:=|$)/;
const SECTION = /^\s*begin\s+([a-z]+)\s*$/;

/** The sections of a configuration as `begin NAME` lines divide them; `main` before the first. */
function sectionOf(lines: readonly SourcedLine[]): string[] {
  let section = 'main';
  return lines.map((l) => {
    const m = SECTION.exec(l.text);
    if (m) section = m[1];
    return section;
  });
}

/** The continuation lines of line i (Exim joins a line ending in a backslash with the next). */
function continued(lines: readonly SourcedLine[], i: number): number {
  let j = i;
  while (j < lines.length - 1 && /\\\s*$/.test(lines[j].text)) j++;
  return j;
}

const commented = (l: SourcedLine): SourcedLine => ({ text: `# relay-check: ${l.text}`, from: l.from });
const added = (text: string): SourcedLine => ({ text, from: null });

/**
 * The configuration as the gate runs it. Returns the lines with their origin and
 * every change; throws a list of refusals (a line each) when the text sets an option
 * that runs code at start.
 */
export function sandboxExim(input: readonly SourcedLine[], places: EximSandboxPlaces): { lines: SourcedLine[]; changes: EximChange[]; refusals: EximChange[] } {
  const owned = ownedOptions(places);
  const changes: EximChange[] = [];
  const refusals: EximChange[] = [];
  const sections = sectionOf(input);
  const out: SourcedLine[] = [];
  const transports = new Set<string>();
  let router = '';
  let mainEnded = false;
  for (let i = 0; i < input.length; i++) {
    const l = input[i];
    const section = sections[i];
    if (section !== 'main' && !mainEnded) {
      out.push(...ownedMain(owned, places));
      mainEnded = true;
    }
    if (section === 'main') {
      const name = MAIN_OPTION.exec(l.text)?.[1];
      if (name !== undefined && REFUSED_MAIN.includes(name)) refusals.push({ line: l.from, subject: name, change: `\`${name}\` runs Perl as Exim starts: refused (remove it for the gate)` });
      const mine = owned.find((o) => o.name === name);
      if (mine) {
        const end = continued(input, i);
        for (let j = i; j <= end; j++) out.push(commented(input[j]));
        changes.push({ line: l.from, subject: mine.name, change: `set by the gate instead: ${mine.why}` });
        i = end;
        continue;
      }
      out.push(l);
      continue;
    }
    if (section === 'routers') {
      const name = /^\s*([A-Za-z][\w-]*)\s*:\s*$/.exec(l.text)?.[1];
      if (name !== undefined) router = name;
      const driver = /^(\s*driver\s*=\s*)(dnslookup|manualroute)\s*$/.exec(l.text);
      if (driver) {
        out.push({ text: `${driver[1]}accept`, from: l.from });
        changes.push({ line: l.from, subject: `router ${router}`, change: `${driver[2]} replaced by accept: the gate has no DNS, so a domain that reaches it is taken as routable (as one with an MX would be); its address goes to a discard` });
        continue;
      }
      const option = /^\s*(?:no_|not_)?([a-z][a-z0-9_]*)\b/.exec(l.text)?.[1];
      if (option !== undefined && LOOKUP_ROUTER_OPTIONS.has(option)) {
        const end = continued(input, i);
        for (let j = i; j <= end; j++) out.push(commented(input[j]));
        i = end;
        continue;
      }
    }
    if (section === 'transports') {
      const name = /^\s*([A-Za-z][\w-]*)\s*:\s*$/.exec(l.text)?.[1];
      if (name !== undefined && !transports.has(name)) {
        transports.add(name);
        changes.push({ line: l.from, subject: `transport ${name}`, change: 'replaced by a discard (appendfile to /dev/null): nothing leaves' });
      }
      out.push(SECTION.test(l.text) ? l : commented(l));
      continue;
    }
    out.push(l);
  }
  if (!mainEnded) out.push(...ownedMain(owned, places));
  if (places.primaryHostname !== undefined && !changes.some((c) => c.subject === 'primary_hostname')) changes.push({ line: null, subject: 'primary_hostname', change: `${places.primaryHostname} (the directory's mailname) stands in for the machine's own name, which Debian's configuration takes from the host` });
  return { lines: withTransports(out, [...transports]), changes, refusals };
}

type Owned = (typeof OWNED_MAIN)[number];

function ownedOptions(places: EximSandboxPlaces): Owned[] {
  const name = places.primaryHostname;
  return name === undefined ? [...OWNED_MAIN] : [...OWNED_MAIN, { name: 'primary_hostname', value: () => name, why: "the directory's mailname stands in for the machine's name" }];
}

function ownedMain(owned: readonly Owned[], places: EximSandboxPlaces): SourcedLine[] {
  return [added("# relay-check: the gate's own settings"), ...owned.map((o) => added(`${o.name} = ${o.value(places)}`))];
}

/** Every transport of the configuration, by its name, as a discard, right after `begin transports`. */
function withTransports(lines: SourcedLine[], names: readonly string[]): SourcedLine[] {
  const at = lines.findIndex((l) => /^\s*begin\s+transports\s*$/.test(l.text));
  if (at < 0) return lines;
  const discards = names.flatMap((n) => [added(`${n}:`), added('  driver = appendfile'), added('  file = /dev/null'), added('  user = nobody'), added('')]);
  return [...lines.slice(0, at + 1), ...discards, ...lines.slice(at + 1)];
}

/** What the configuration may not do on a runner, as Exim itself prints it (`exim -bP config`: macros expanded, includes read). */
interface Forbidden {
  pattern: RegExp;
  what: string;
}

const FORBIDDEN: readonly Forbidden[] = [
  { pattern: /\$\{\s*run\b/, what: '`${run…}` runs a command' },
  { pattern: /\$\{\s*perl\b/, what: '`${perl…}` runs Perl' },
  { pattern: /\$\{\s*dlfunc\b/, what: '`${dlfunc…}` loads a library' },
  { pattern: /\$\{\s*readsocket\b/, what: '`${readsocket…}` reaches a socket' },
  { pattern: /\$\{\s*readfile\b/, what: '`${readfile…}` reads a file of the runner' },
  { pattern: /\$\{\s*expand\s*:/, what: '`${expand:…}` expands built text (a way around the other refusals)' },
  { pattern: /^\s*driver\s*=\s*queryprogram\b/, what: 'a `queryprogram` router runs a command when an address is verified' },
  { pattern: /^\s*perl_(?:startup|at_start)\b/, what: '`perl_startup` runs Perl as Exim starts' },
  { pattern: /^\s*acl_[a-z_]+\s*=\s*(?:\/|.*\$)/, what: 'an ACL read from a file at run time (or chosen by an expansion) cannot be checked' },
  { pattern: /(?:^|\s)!?acl\s*=\s*(?:\/|.*\$)/, what: 'an ACL read from a file at run time (or chosen by an expansion) cannot be checked' },
  // Content scanning runs a scanner the configuration names (`av_scanner = cmdline:…` with `malware =`), no `${run` needed.
  // exim4-daemon-light has no content scanning (it refuses the option itself); these guard a heavy build.
  { pattern: /^\s*(?:av_scanner|spamd_address)\s*=/, what: '`av_scanner`/`spamd_address` names a scanner to run or reach' },
  { pattern: /(?:^|\s)!?(?:malware|spam)\s*=/, what: 'a `malware`/`spam` ACL condition runs or reaches a content scanner' },
];

export interface Refusal {
  /** The file as `exim -bP config` names it (its `# N "/path"` markers, at each change of file). */
  file: string | null;
  what: string;
  /** The line as Exim read it (macros expanded). */
  text: string;
}

/**
 * Refusals in the configuration as Exim reads it. `exim -bP config` prints it with
 * macros expanded, `.ifdef` resolved and includes read, and cpp-like `# N "file"`
 * markers: a `${run` built from macros is seen here as it would run.
 */
export function refusalsIn(printed: string): Refusal[] {
  const out: Refusal[] = [];
  let file: string | null = null;
  let router: { name: string; filter: boolean; verifies: boolean; file: string | null } | undefined;
  let section = 'main';
  const closeRouter = (): void => {
    if (router?.filter && router.verifies) out.push({ file: router.file, what: `router \`${router.name}\` runs a filter when an address is verified (\`allow_filter\` without \`no_verify\`)`, text: `${router.name}:` });
    router = undefined;
  };
  for (const raw of printed.split('\n')) {
    const marker = /^# (\d+) "(.*)"$/.exec(raw);
    if (marker) {
      file = marker[2];
      continue;
    }
    const text = raw.trim();
    const s = /^begin\s+([a-z]+)$/.exec(text);
    if (s) {
      closeRouter();
      section = s[1];
      continue;
    }
    for (const f of FORBIDDEN) if (f.pattern.test(text)) out.push({ file, what: f.what, text });
    if (section !== 'routers') continue;
    const name = /^([A-Za-z][\w-]*):$/.exec(text)?.[1];
    if (name !== undefined) {
      closeRouter();
      router = { name, filter: false, verifies: true, file };
    } else if (router !== undefined) {
      if (/^allow_filter\b(?!\s*=\s*false)/.test(text)) router.filter = true;
      if (/^no_verify\b|^no_verify_recipient\b|^verify\s*=\s*false\b|^verify_recipient\s*=\s*false\b/.test(text)) router.verifies = false;
    }
  }
  closeRouter();
  return out;
}
