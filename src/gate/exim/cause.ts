import type { ConfigPlace, GateCause } from '../../model/gate.js';
import type { RepoLine } from './config.js';

/**
 * Why an Exim configuration relayed, from Exim's own account of the RCPT ACL run that
 * accepted the relayed recipient. Host checking (-bh) writes it on standard error:
 *
 *   >>> processing "accept" (/tmp/…/exim.conf 770)
 *   >>> check hosts = +relay_from_hosts
 *   >>> host in "0.0.0.0/0 : 127.0.0.1 : ::::1"? yes (matched "0.0.0.0/0")
 *   >>> accept: condition test succeeded in ACL "acl_check_rcpt"
 *   >>> end of ACL "acl_check_rcpt": ACCEPT
 *
 * (Exim 4.96, Debian's configuration with dc_relay_nets='0.0.0.0/0'.) A nested ACL
 * (`acl = …`) is indented one more space and is not the statement that decided.
 * Pure: the commentary and the configuration's lines in, causes out.
 */

interface Statement {
  verb: string;
  /** The line of the configuration as run (1-based). */
  line: number;
  checks: { condition: string; matched: string | null; list: string | null }[];
  succeeded: boolean;
}

/** The last run of `acl` at top level that ended in ACCEPT, statement by statement; null when there is none. */
function acceptedRun(commentary: readonly string[], acl: string): Statement[] | null {
  const end = commentary.findLastIndex((l) => l === `>>> end of ACL "${acl}": ACCEPT`);
  if (end < 0) return null;
  const start = commentary.slice(0, end).findLastIndex((l) => l === `>>> using ACL "${acl}"`);
  if (start < 0) return null;
  const out: Statement[] = [];
  for (const l of commentary.slice(start + 1, end)) {
    // Top level only: a nested ACL's lines are indented.
    if (!/^>>> \S/.test(l)) continue;
    const p = /^>>> processing "(\w+)" \(.* (\d+)\)$/.exec(l);
    if (p) {
      out.push({ verb: p[1], line: Number(p[2]), checks: [], succeeded: false });
      continue;
    }
    const cur = out.at(-1);
    if (!cur) continue;
    const check = /^>>> check (.*)$/.exec(l);
    if (check) cur.checks.push({ condition: check[1], matched: null, list: null });
    const m = /^>>> .* in "(.*)"\? yes \(matched "(.*?)"(?: - cached)?\)$/.exec(l);
    const last = cur.checks.at(-1);
    if (m && last) {
      // Exim reports the item that matched, then each named list (`+relay_from_hosts`) that held it.
      if (m[2].startsWith('+')) last.list = m[2].slice(1);
      else last.matched ??= m[2];
    }
    if (/^>>> \w+: condition test succeeded in ACL /.test(l)) cur.succeeded = true;
  }
  return out;
}

export interface EximCauseInput {
  acl: string;
  commentary: readonly string[];
  /** The configuration as run, each line with the repository line it came from. */
  lines: readonly { text: string; repo: RepoLine | null }[];
  /** update-exim4.conf.conf's lines, for Debian's forms. */
  ue4cc?: readonly string[];
  client: string;
  vector: string;
  service: string;
}

/** The cause of one relayed attempt, from its replayed session's commentary. */
export function eximCause(i: EximCauseInput): GateCause | null {
  const run = acceptedRun(i.commentary, i.acl);
  const accepted = run?.filter((s) => s.verb === 'accept' && s.succeeded).at(-1);
  if (!run || !accepted) return null;
  const at = (line: number, setting: string): ConfigPlace[] => {
    const r = i.lines[line - 1]?.repo;
    return r?.file && r.line !== null ? [{ file: r.file, line: r.line, setting, value: i.lines[line - 1].text.trim() }] : [];
  };
  const statement = `${i.acl}: accept`;
  const base = { service: i.service, client: i.client, vector: i.vector };
  const hosts = accepted.checks.find((c) => /^hosts\s*=/.test(c.condition) && (c.matched !== null || c.list !== null));
  if (hosts) {
    const list = hosts.list ?? hosts.condition.replace(/^hosts\s*=\s*/, '');
    // A list matched before in the session says only "- cached": the item is in its first match.
    const element = hosts.matched ?? firstHostMatch(i.commentary) ?? `+${list}`;
    const named = hosts.list !== null ? [...definition(i.lines, 'hostlist', hosts.list), ...ue4ccLine(i.ue4cc, hosts.list === 'relay_from_hosts' ? 'dc_relay_nets' : null)] : [];
    const all = element === '*' || /^(0\.0\.0\.0\/0|::\/0)$/.test(element);
    return {
      ...base,
      kind: 'relay-hosts',
      list,
      element,
      sentence: `the RCPT ACL \`${i.acl}\` accepts at \`accept ${hosts.condition}\`: the client ${i.client} is in it (matched \`${element}\`${hosts.list !== null ? ` in \`${hosts.list}\`` : ''})${all ? ', which matches every client' : ''}, before any check of the recipient's domain`,
      // The value that matched first: Debian's dc_relay_nets, else the list's definition, else the statement.
      places: [...named.reverse(), ...at(accepted.line, statement)],
    };
  }
  const domains = run.find((s) => s.succeeded && s.checks.some((c) => /^domains\s*=/.test(c.condition) && c.list === 'relay_to_domains'));
  if (domains) {
    const check = domains.checks.find((c) => c.list === 'relay_to_domains');
    return {
      ...base,
      kind: 'relay-domains',
      list: 'relay_to_domains',
      element: check?.matched ?? '',
      sentence: `the recipient's domain is in \`relay_to_domains\` (matched \`${check?.matched ?? ''}\`)${check?.matched === '*' ? ', which is every domain' : ''}: \`${i.acl}\` lets it through \`${domains.verb} ${check?.condition ?? ''}\``,
      places: [...ue4ccLine(i.ue4cc, 'dc_relay_domains'), ...definition(i.lines, 'domainlist', 'relay_to_domains'), ...at(domains.line, `${i.acl}: ${domains.verb}`)],
    };
  }
  return {
    ...base,
    kind: 'no-relay-check',
    list: i.acl,
    element: 'accept',
    sentence: `the RCPT ACL \`${i.acl}\` accepts the outside recipient at this \`accept\` without requiring \`domains = +local_domains : +relay_to_domains\` first`,
    places: at(accepted.line, statement),
  };
}

function firstHostMatch(commentary: readonly string[]): string | null {
  for (const l of commentary) {
    const m = /^>>> host in ".*"\? yes \(matched "([^+"][^"]*)"\)$/.exec(l);
    if (m) return m[1];
  }
  return null;
}

/** Where a named list is defined (`hostlist relay_from_hosts = …`), at its repository line. */
function definition(lines: EximCauseInput['lines'], type: 'hostlist' | 'domainlist', name: string): ConfigPlace[] {
  const re = new RegExp(`^\\s*(?:hide\\s+)?${type}\\s+${name}\\s*=`);
  const hit = lines.find((l) => re.test(l.text) && l.repo?.file && l.repo.line !== null);
  return hit?.repo?.file && hit.repo.line !== null ? [{ file: hit.repo.file, line: hit.repo.line, setting: `${type} ${name}`, value: hit.text.trim() }] : [];
}

/** Debian's setting behind a list (dc_relay_nets for relay_from_hosts), at its line of update-exim4.conf.conf. */
function ue4ccLine(ue4cc: readonly string[] | undefined, name: string | null): ConfigPlace[] {
  if (!ue4cc || name === null) return [];
  const k = ue4cc.findIndex((l) => new RegExp(`^\\s*${name}=`).test(l));
  return k < 0 ? [] : [{ file: 'update-exim4.conf.conf', line: k + 1, setting: name, value: ue4cc[k].trim() }];
}

const EXIM_ACL_DOC = 'https://www.exim.org/exim-html-current/doc/html/spec_html/ch-access_control_lists.html';

const EXIM_FIX: Record<'relay-hosts' | 'relay-domains' | 'no-relay-check', (c: GateCause) => string> = {
  'relay-hosts': (c) => {
    if (c.places[0]?.setting === 'dc_relay_nets') return 'List in `dc_relay_nets` only the networks that may relay (empty: only localhost), then `update-exim4.conf`.';
    if (/^[\w-]+$/.test(c.list)) return `List in \`${c.list}\` only the hosts that may relay; \`${c.element}\` takes in more.`;
    return `Narrow that \`hosts =\` list to the hosts that may relay: \`${c.element}\` takes in more.`;
  },
  'relay-domains': (c) => (c.places[0]?.setting === 'dc_relay_domains' ? 'List in `dc_relay_domains` only the domains this server is a backup MX or gateway for (never `*`).' : 'List in `relay_to_domains` only the domains this server is a backup MX or gateway for (never `*`).'),
  'no-relay-check': () => 'Before that `accept`, `require domains = +local_domains : +relay_to_domains` (Exim\'s default configuration has it after `accept hosts = +relay_from_hosts` and `accept authenticated = *`).',
};

/** The diagnosis findings an Exim gate's causes make: one per place, in place of the pattern table's guesses. */
export function eximFindings(causes: readonly GateCause[]): { rule: string; mta: string; cause: string; settings: string[]; fix: string; docs: string; provenance: string }[] {
  const seen = new Set<string>();
  return causes.flatMap((c) => {
    const key = `${c.kind} ${c.places[0] ? `${c.places[0].file}:${c.places[0].line}` : c.list}`;
    if (seen.has(key) || c.kind === 'mynetworks' || c.kind === 'access-map' || c.kind === 'permit') return [];
    seen.add(key);
    const where = c.places[0] ? ` Set at \`${c.places[0].file}\` line ${c.places[0].line}.` : '';
    return [
      {
        rule: `gate-cause-${c.kind}`,
        mta: 'Exim',
        cause: `On ${c.service}: ${c.sentence}.${where}`,
        settings: [...new Set([c.list, ...c.places.map((p) => p.setting)])],
        fix: EXIM_FIX[c.kind](c),
        docs: EXIM_ACL_DOC,
        provenance: "Exim's own account of the RCPT ACL run that accepted the relayed recipient (host checking, exim -bh, replayed for that attempt), each statement at its line of the repository",
      },
    ];
  });
}
