import { code, mdText } from './escape.js';

/** What a gate that could not run says: the one-line reason and the configuration lines behind it. */
export interface GateFailure {
  /** The input the gate ran for (`exim-config`: Exim's words in the advice). */
  input?: string;
  message: string;
  problems: readonly { file: string; line: number | null; change: string }[];
}

/**
 * The job summary of a gate that could not test the configuration (Postfix refused it, the
 * sandbox could not stand in for something it names): never an empty page. What failed, where
 * (file and line when known), and what to do. Everything from Postfix or the configuration
 * is escaped: a pull request writes it.
 */
export function gateFailureSummary(f: GateFailure, configDir: string): string {
  const rows = f.problems.map((p) => `| ${code(p.file)} | ${p.line === null ? '—' : String(p.line)} | ${mdText(p.change)} |`);
  return [
    '## relay-check: ⚠️ The configuration could not be tested',
    `**${mdText(f.message)}** The step fails: nothing was tested, so nothing is known about relaying.`,
    ...(rows.length > 0 ? ['| File | Line | Problem |\n| --- | --- | --- |\n' + rows.join('\n')] : []),
    '### What to do',
    (f.input === 'exim-config'
      ? [
          `- Fix what is named above in ${code(configDir)}${rows.length > 0 ? ' (the annotations point at the lines)' : ''}, or run \`exim -C FILE -bV\` on a copy to see Exim's own words.`,
          '- What runs a command or reaches a socket (`${run}`, `${perl}`, `${readsocket}`, `${dlfunc}`, `${readfile}`, `${expand:}`, a `queryprogram` router, `perl_startup`) is refused: a pull request must not run code on the runner. Keep it out of the directory the gate reads.',
        ]
      : [
          `- Fix what is named above in ${code(configDir)}${rows.length > 0 ? ' (the annotations point at the lines)' : ''}, or run \`postfix -c DIR check\` on a copy to see Postfix's own words.`,
          '- What only your servers have (an SQL or LDAP map, a file outside the directory) can be stood in for with `postfix-overrides`: a file of `name = value` lines applied over the configuration.',
        ]
    ).join('\n'),
  ].join('\n\n') + '\n';
}
