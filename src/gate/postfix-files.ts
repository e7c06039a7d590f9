/**
 * main.cf and master.cf as data, with the line each entry starts on, so that
 * every change made for the runner and every refusal can point at the file and
 * line a pull request changed. Pure: text in, structures out, text back.
 */

/** One `name = value` of main.cf (continuation lines joined with a space). */
export interface MainParam {
  name: string;
  value: string;
  /** 1-based line the parameter starts on. */
  line: number;
}

/** postconf(5): a logical line starts at column 0; lines starting with white space continue it; # lines are comments. */
export function parseMainCf(text: string): MainParam[] {
  const params: MainParam[] = [];
  let current: MainParam | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    if (/^\s*#/.test(raw) || raw.trim() === '') {
      // A comment or blank line ends nothing in postconf(5): a continuation may follow it.
      return;
    }
    if (/^\s/.test(raw)) {
      if (current) current.value = `${current.value} ${raw.trim()}`.trim();
      return;
    }
    // `service/type/name` is the postfix-overrides form of a master.cf -o (postconf -P).
    const m = /^([A-Za-z0-9_./-]+)\s*=\s*(.*)$/.exec(raw);
    if (!m) {
      current = undefined;
      return;
    }
    current = { name: m[1], value: m[2].trim(), line: i + 1 };
    params.push(current);
  });
  return params;
}

/** One service of master.cf. */
export interface MasterService {
  /** Service field: `smtp`, `submission`, `127.0.0.1:2525`, `[::1]:25`, `2525`. */
  service: string;
  type: string;
  private: string;
  unpriv: string;
  chroot: string;
  wakeup: string;
  maxproc: string;
  command: string;
  /** Arguments after the command: `-o name=value` pairs and others, in order. */
  args: string[];
  line: number;
}

/**
 * master.cf(5): eight fields then the command's arguments; lines starting with
 * white space continue the entry. `-o { name = value with spaces }` is kept as
 * one argument (Postfix 3.0 syntax).
 */
export function parseMasterCf(text: string): MasterService[] {
  const entries: { text: string; line: number }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (/^\s*#/.test(raw) || raw.trim() === '') return;
    if (/^\s/.test(raw) && entries.length > 0) {
      entries[entries.length - 1].text += ` ${raw.trim()}`;
      return;
    }
    entries.push({ text: raw.trim(), line: i + 1 });
  });
  return entries.flatMap(({ text, line }) => {
    const words = splitArgs(text);
    if (words.length < 8) return [];
    const [service, type, priv, unpriv, chroot, wakeup, maxproc, command, ...args] = words;
    return [{ service, type, private: priv, unpriv, chroot, wakeup, maxproc, command, args, line }];
  });
}

/** Splits on white space, keeping `{ … }` groups (with their braces) as one word. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    if (text[i] === '{') {
      let depth = 0;
      let j = i;
      for (; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}' && --depth === 0) break;
      }
      out.push(text.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j])) j++;
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

/** The `-o` overrides of a service as name/value pairs (braced or plain), with their index in args. */
export function serviceOverrides(s: MasterService): { name: string; value: string; index: number }[] {
  const out: { name: string; value: string; index: number }[] = [];
  for (let i = 0; i < s.args.length - 1; i++) {
    if (s.args[i] !== '-o') continue;
    const raw = s.args[i + 1];
    const body = raw.startsWith('{') ? raw.slice(1, -1).trim() : raw;
    const eq = body.indexOf('=');
    if (eq > 0) out.push({ name: body.slice(0, eq).trim(), value: body.slice(eq + 1).trim(), index: i + 1 });
  }
  return out;
}

/** An `-o` argument for a value: braced when it holds white space or commas. */
export function overrideArg(name: string, value: string): string {
  return /[\s,]/.test(value) ? `{ ${name} = ${value} }` : `${name}=${value}`;
}

export function formatMasterService(s: MasterService): string {
  const head = [s.service, s.type, s.private, s.unpriv, s.chroot, s.wakeup, s.maxproc, s.command].join(' ');
  return [head, ...argLines(s.args)].join('\n');
}

/** Arguments one per continuation line, `-o` kept with its value. */
function argLines(args: readonly string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-o' && i + 1 < args.length) {
      lines.push(`  -o ${args[i + 1]}`);
      i++;
    } else lines.push(`  ${args[i]}`);
  }
  return lines;
}

/** A main.cf value as it is written back: Postfix reads a value up to the end of the logical line. */
export function formatMainCf(params: ReadonlyMap<string, string>): string {
  return [...params].map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}
