#!/usr/bin/env node
// Validates action.yml and every workflow under .github/workflows against
// SchemaStore's schemas (@action-validator/core, WebAssembly: no network, no
// native build). `npm run lint:actions`; exits 1 on any error.
//
// action-validator 0.6.0's action schema predates `runs.using: node24` (GitHub
// runs it since 2025): action.yml is checked with node24 read as node20, and
// `using` itself is checked here against what GitHub accepts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateAction, validateWorkflow } from '@action-validator/core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USING = /^(\s*using:\s*)(['"]?)(node\d+|composite|docker)\2\s*(#.*)?$/m;
const KNOWN_USING = new Set(['node20', 'node24', 'composite', 'docker']);

function workflows() {
  const dir = path.join(root, '.github', 'workflows');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join('.github', 'workflows', f));
}

const files = process.argv.length > 2 ? process.argv.slice(2) : ['action.yml', ...workflows()];
let failed = 0;
for (const file of files) {
  const text = fs.readFileSync(path.resolve(root, file), 'utf8');
  const isAction = /(^|\/)action\.ya?ml$/.test(file);
  let src = text;
  const notes = [];
  if (isAction) {
    const m = USING.exec(text);
    if (!m) {
      console.error(`${file}: no runs.using line found`);
      failed++;
      continue;
    }
    if (!KNOWN_USING.has(m[3])) {
      console.error(`${file}: runs.using '${m[3]}' is not one GitHub runs (${[...KNOWN_USING].join(', ')})`);
      failed++;
      continue;
    }
    if (m[3] === 'node24') {
      src = text.replace(USING, (_all, lead, q) => `${lead}${q}node20${q}`);
      notes.push('runs.using node24 checked as node20');
    }
  }
  const result = isAction ? validateAction(src) : validateWorkflow(src);
  if (result.errors.length > 0) {
    console.error(`${file}: ${result.errors.length} error(s)`);
    console.error(JSON.stringify(result.errors, null, 2));
    failed++;
  } else {
    console.log(`ok ${file}${notes.length ? ` (${notes.join('; ')})` : ''}`);
  }
}
if (failed > 0) {
  console.error(`lint:actions: ${failed} of ${files.length} file(s) failed`);
  process.exit(1);
}
console.log(`lint:actions: ${files.length} file(s) valid`);
