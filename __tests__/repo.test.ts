import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { EXIT } from '../src/cli.js';
import { DEFAULTS, INPUT_NAMES, parseSettings, type RawInputs } from '../src/settings.js';
import { LIMITS } from '../src/smtp/limits.js';
import { VERSION } from '../src/version.js';
import { ROOT } from './support/action.js';

/**
 * Repository hygiene: action.yml, the README, the workflows and the changelog
 * agree with each other and with the code. Schema validation of action.yml and
 * the workflows is `npm run lint:actions` (run here too).
 */

interface ActionYml {
  name: string;
  description: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
}

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

interface Workflow {
  name?: string;
  on: unknown;
  permissions?: Record<string, string>;
  jobs: Record<string, { steps: Step[]; permissions?: Record<string, string> }>;
}

const read = (f: string): string => fs.readFileSync(path.join(ROOT, f), 'utf8');
const action = parse(read('action.yml')) as ActionYml;
const readme = read('README.md');
const docFiles = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f));
/** The Markdown a reader follows links through. */
const markdownFiles = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...docFiles];
const workflowFiles = fs
  .readdirSync(path.join(ROOT, '.github', 'workflows'))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => path.join('.github', 'workflows', f));
const workflows = workflowFiles.map((f) => ({ file: f, wf: parse(read(f)) as Workflow }));

/** The README section under a heading, up to the next heading of the same or higher level. */
function section(heading: string): string {
  const start = readme.indexOf(`${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}"`);
  const level = heading.split(' ')[0];
  const rest = readme.slice(start + heading.length + 1);
  const next = rest.search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return next < 0 ? rest : rest.slice(0, next);
}

/** Names in the first column of a Markdown table (`a`, `b` in one cell allowed). */
function tableNames(md: string): string[] {
  return md
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .flatMap((l) => [...l.split('|')[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
}

/** Every step that runs this action: `uses: ./` in the repository's workflows. */
function localActionSteps(): { file: string; job: string; step: Step }[] {
  return workflows.flatMap(({ file, wf }) => Object.entries(wf.jobs).flatMap(([job, j]) => j.steps.filter((s) => s.uses === './').map((step) => ({ file, job, step }))));
}

describe('action.yml', () => {
  test('its inputs are exactly the ones the code reads, with the same defaults', () => {
    expect(Object.keys(action.inputs).sort()).toEqual([...INPUT_NAMES].sort());
    for (const [name, def] of Object.entries(DEFAULTS)) expect([name, action.inputs[name]?.default]).toEqual([name, def]);
    expect(action.inputs['github-token'].default).toBe('${{ github.token }}');
    for (const [name, i] of Object.entries(action.inputs)) expect([name, i.description.length > 20]).toEqual([name, true]);
    for (const name of ['client-address', 'comment', 'github-token']) expect([name, /not supported yet/i.test(action.inputs[name].description)]).toEqual([name, false]);
  });

  test('its outputs are exactly the ones main.ts sets', () => {
    const main = read('src/main.ts');
    const set = [...main.matchAll(/core\.setOutput\('([^']+)'/g)].map((m) => m[1]);
    expect(Object.keys(action.outputs).sort()).toEqual([...new Set(set)].sort());
  });

  test('it runs the committed bundle on a current Node', () => {
    // The same bundle is the post step: it removes a postfix-config instance a killed main step left.
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/index.js', 'post-if': 'always()' });
  });
});

describe('README', () => {
  test('every input is in the inputs table, and the table names no other', () => {
    expect(tableNames(section('### Inputs')).sort()).toEqual(Object.keys(action.inputs).sort());
  });

  test('every output is in the outputs table, and the table names no other', () => {
    expect(tableNames(section('### Outputs')).sort()).toEqual(Object.keys(action.outputs).sort());
  });

  /** The steps of the YAML blocks of one Markdown file that use relay-check. */
  function exampleSteps(md: string): Step[] {
    const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]) as unknown);
    const steps = blocks.flatMap((b) => {
      if (Array.isArray(b)) return b as Step[];
      const wf = b as Workflow;
      return wf.jobs ? Object.values(wf.jobs).flatMap((j) => j.steps) : [];
    });
    return steps.filter((s) => s.uses?.includes('relay-check'));
  }

  test('its workflow examples (and those of docs/) use org/relay-check@v1 with real inputs', () => {
    const ours = markdownFiles.flatMap((f) => exampleSteps(read(f)));
    expect(ours.length).toBeGreaterThanOrEqual(4);
    for (const s of ours) {
      expect(s.uses).toBe('org/relay-check@v1');
      for (const k of Object.keys(s.with ?? {})) expect([k, k in action.inputs]).toEqual([k, true]);
    }
  });

  test('the first hour: the demo and the test command open it, then a post-deploy check and the gate', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme.slice(0, readme.indexOf('## Use it')));
    expect(firstBlock?.[1]).toMatch(/^npm ci && npm run demo /m);
    expect(firstBlock?.[1]).toMatch(/^npm ci && npm test /m);
    const steps = exampleSteps(readme);
    expect(steps.some((s) => typeof s.with?.host === 'string' && s.with['postfix-config'] === undefined)).toBe(true);
    expect(steps.some((s) => s.with?.['postfix-config'] !== undefined && s.with.host === undefined)).toBe(true);
    // Said once: what to write in place of org/relay-check.
    expect(readme.match(/`org\/relay-check` in the examples stands for/g)).toHaveLength(1);
    expect(readme.split('\n').length).toBeLessThanOrEqual(280);
  });

  test('has the sections a user looks for; contributor material and the reference are one link away', () => {
    for (const h of ['## Try it', '## Use it', '### Inputs', '### Outputs', '## How verdicts are decided', '### Why it relays']) expect(readme).toContain(`\n${h}\n`);
    const contributing = read('CONTRIBUTING.md');
    for (const h of ['## Tests', '## Run the action locally', '## Releases']) expect(contributing).toContain(`\n${h}\n`);
    for (const word of ['RELAY_CHECK_REQUIRE_', '.ci/install-', 'unshare', 'npm run bench', 'npm run screenshots']) {
      expect([word, readme.includes(word)]).toEqual([word, false]);
      expect([word, contributing.includes(word)]).toEqual([word, true]);
    }
    expect(read('docs/reports.md')).toContain('\n## Pull-request comment\n');
    expect(read('docs/json-report.md')).toMatch(/^# JSON report\n/);
    // docs/mta-notes.md is for contributors: linked from CONTRIBUTING.md; every other docs/ page from the README.
    for (const f of docFiles) expect([f, (f === 'docs/mta-notes.md' ? contributing : readme).includes(`](${f})`)]).toEqual([f, true]);
  });

  test('its exit-status table lists exactly the CLI\'s codes', () => {
    const table = readme.slice(readme.indexOf('| exit | meaning |'));
    const codes = [...table.matchAll(/^\| (\d) \|/gm)].map((m) => Number(m[1]));
    expect(codes).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });

  test('connect-timeout is described as what it bounds, with the reply wait of src/smtp/limits.ts', () => {
    const minutes = `${LIMITS.replyTimeoutMs / 60_000} minutes`;
    const row = readme.split('\n').find((l) => l.startsWith('| `connect-timeout` |')) ?? '';
    for (const text of [row, action.inputs['connect-timeout'].description]) {
      expect(text).toContain(minutes);
      expect(text).not.toMatch(/any later reply/);
    }
    for (const text of [readme.split('\n').find((l) => l.startsWith('| `host` |')) ?? '', action.inputs.host.description]) expect(text).toMatch(/must be empty with `?postfix-config/);
  });

  test('every relative link of the README, CONTRIBUTING.md, CHANGELOG.md and docs/ reaches a file, and its #anchor a heading', () => {
    const slug = (h: string): string => h.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const anchors = (file: string): string[] => [...read(file).replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]));
    const broken: string[] = [];
    for (const file of markdownFiles) {
      const text = read(file).replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1];
        if (/^[a-z]+:/.test(link)) continue;
        const [target, anchor] = link.split('#');
        const resolved = target === '' ? file : path.normalize(path.join(path.dirname(file), target));
        if (!fs.existsSync(path.join(ROOT, resolved))) broken.push(`${file}: ${link}`);
        else if (anchor && resolved.endsWith('.md') && !anchors(resolved).includes(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('workflows', () => {
  test('the example workflows exist', () => {
    expect(workflowFiles.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['post-deploy.yml', 'postfix-pr-gate.yml', 'fleet-audit.yml']));
  });

  test('every `uses: ./` step passes only inputs action.yml has, with values the action accepts', () => {
    const steps = localActionSteps();
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (const { file, job, step } of steps) {
      const where = `${file} job ${job}`;
      const inputs = step.with ?? {};
      for (const k of Object.keys(inputs)) expect([where, k, k in action.inputs]).toEqual([where, k, true]);
      expect([where, 'host' in inputs || 'domain' in inputs || 'postfix-config' in inputs]).toEqual([where, true]);
      // Literal values go through the same validation as at run time; expressions are filled in by the runner.
      const raw: RawInputs = 'postfix-config' in inputs ? {} : { host: 'mx.example.org' };
      for (const [k, v] of Object.entries(inputs)) if (!String(v).includes('${{')) raw[k as keyof RawInputs] = String(v);
      expect(() => parseSettings(raw)).not.toThrow();
    }
  });

  test('a local action is checked out first in its job', () => {
    for (const { file, wf } of workflows) {
      for (const [job, j] of Object.entries(wf.jobs)) {
        const local = j.steps.findIndex((s) => s.uses === './');
        if (local < 0) continue;
        const checkout = j.steps.findIndex((s) => s.uses?.startsWith('actions/checkout@'));
        expect([file, job, checkout >= 0 && checkout < local]).toEqual([file, job, true]);
      }
    }
  });

  test('every workflow sets least-privilege permissions; commenting ones ask for pull-requests: write, watching ones for issues: write', () => {
    for (const { file, wf } of workflows) {
      expect([file, wf.permissions?.contents]).toEqual([file, 'read']);
      const asks = (input: string): boolean => Object.values(wf.jobs).some((j) => j.steps.some((s) => s.uses === './' && String(s.with?.[input]) === 'true'));
      if (asks('comment')) expect([file, wf.permissions?.['pull-requests']]).toEqual([file, 'write']);
      expect([file, 'issues: write', wf.permissions?.issues === 'write']).toEqual([file, 'issues: write', asks('issue')]);
    }
    expect(workflows.some(({ wf }) => wf.permissions?.issues === 'write')).toBe(true);
  });

  test('the Postfix gate is one step: postfix-config names the repository config, no hand-written setup', () => {
    const gate = workflows.find((w) => w.file.endsWith('postfix-pr-gate.yml'))?.wf;
    expect(gate).toBeDefined();
    expect(gate?.on).toEqual({ pull_request: { paths: expect.arrayContaining(['postfix/**']) } });
    const steps = Object.values(gate?.jobs ?? {}).flatMap((j) => j.steps);
    expect(steps.filter((s) => s.run !== undefined)).toEqual([]);
    const check = steps.find((s) => s.uses === './');
    expect(check?.with).toMatchObject({ 'postfix-config': 'postfix/', comment: true });
    expect(check?.with?.host).toBeUndefined();
    expect(fs.existsSync(path.join(ROOT, 'postfix', 'main.cf'))).toBe(true);
  });

  test('npm run lint:actions: action.yml and every workflow pass schema validation', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'lint-actions.mjs')], { cwd: ROOT, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toContain(`${workflowFiles.length + 1} file(s) valid`);
    expect(r.status).toBe(0);
  });
});

describe('the repository stands alone', () => {
  /** Source, tests, scripts and CI: what a clone runs. The fixtures are data, checked below. */
  const CODE_DIRS = ['src', '__tests__', 'scripts', 'bench', '.ci'];
  const files = (dir: string): string[] =>
    fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) return rel === path.join('__tests__', 'fixtures') ? [] : files(rel);
      return [rel];
    });

  test('no source, test, script, bench or CI file reaches a folder beside the repository', () => {
    // Built from pieces so this file does not match itself.
    // The folder's name is spelt in pieces so that this check does not find itself (nor the before-stop hook's grep).
    const folder = ['sha', 'red'].join('');
    const outside = new RegExp(['\\.\\./' + folder, "'\\.\\.',\\s*'" + folder + "'", 'MTA-' + 'NOTES', '(?<![\\w/])/work' + '/'].join('|'));
    const hits = CODE_DIRS.flatMap(files).filter((f) => outside.test(read(f)));
    expect(hits).toEqual([]);
  });

  test('the six real-world Postfix configurations are in the repository, each with the NOTES.md naming its source', () => {
    const dir = path.join('__tests__', 'fixtures', 'realworld-postfix');
    for (const stack of ['debian', 'dms', 'mailcow', 'miab', 'iredmail', 'modoboa']) {
      expect([stack, fs.existsSync(path.join(ROOT, dir, stack, 'main.cf'))]).toEqual([stack, true]);
      expect([stack, /^Source: /m.test(read(path.join(dir, stack, 'NOTES.md')))]).toEqual([stack, true]);
    }
    expect(fs.existsSync(path.join(ROOT, dir, 'common', 'sasl', 'smtpd.conf'))).toBe(true);
  });
});

describe('CHANGELOG.md', () => {
  test('has an entry for the current version', () => {
    const changelog = read('CHANGELOG.md');
    const pkg = JSON.parse(read('package.json')) as { version: string };
    expect(pkg.version).toBe(VERSION);
    expect(changelog).toMatch(new RegExp(`^## \\[${VERSION.replace(/\./g, '\\.')}\\]`, 'm'));
  });
});
