#!/usr/bin/env node
// The shape of src/ as a check, not a hope (issue 25): every file belongs to a layer
// (layers.json), imports only from its own layer or those below, and no import cycle joins
// files. Exceptions must be listed in layers.json with why. Exits 1 with one line per breach.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'layers.json'), 'utf8'));

/** Every .ts file under src/, relative to the repository, with / separators. */
function sources(dir = 'src') {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(rel);
    return rel.endsWith('.ts') ? [rel] : [];
  });
}

/** The layer of a file: the longest matching prefix in layers.json. */
function layerOf(file) {
  let best;
  for (const [i, layer] of config.layers.entries()) {
    for (const prefix of layer.paths) {
      if ((file === prefix || file.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`) || file === prefix) && (!best || prefix.length > best.prefix.length)) best = { index: i, prefix };
    }
  }
  return best?.index;
}

/** Project files a file imports (relative specifiers only; `import type` included: a type import couples layers too). */
function importsOf(file) {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const out = [];
  for (const st of sf.statements) {
    const spec = (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : undefined;
    if (!spec?.startsWith('.')) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec.replace(/\.js$/, '.ts')));
    out.push(target);
  }
  return out;
}

const allowed = new Set((config.exceptions ?? []).map((e) => `${e.from} -> ${e.to}`));
const files = sources();
const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
const problems = [];
const used = new Set();

for (const f of files) if (layerOf(f) === undefined) problems.push(`${f}: in no layer of layers.json`);
for (const [from, tos] of graph) {
  for (const to of tos) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (a === undefined || b === undefined || b <= a) continue;
    const key = `${from} -> ${to}`;
    if (allowed.has(key)) {
      used.add(key);
      continue;
    }
    problems.push(`${key}: layer ${a + 1} (${config.layers[a].name}) imports layer ${b + 1} (${config.layers[b].name}) above it`);
  }
}

// Cycles: strongly connected components of more than one file (Tarjan).
let index = 0;
const stack = [];
const meta = new Map();
function strong(v) {
  meta.set(v, { index, low: index, on: true });
  index++;
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!meta.has(w)) {
      strong(w);
      meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
    } else if (meta.get(w).on) meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
  }
  if (meta.get(v).low === meta.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      meta.get(w).on = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) problems.push(`import cycle: ${component.sort().join(', ')}`);
  }
}
for (const f of files) if (!meta.has(f)) strong(f);

for (const e of config.exceptions ?? []) if (!used.has(`${e.from} -> ${e.to}`)) problems.push(`layers.json: the exception ${e.from} -> ${e.to} is no longer needed: remove it`);

if (problems.length > 0) {
  console.error(`layers: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`layers: ${files.length} files in ${config.layers.length} layers, no upward import, no cycle`);
