#!/usr/bin/env node
/**
 * The npm registry reachable from this project's machines does not serve some
 * platform-specific optional packages (e.g. @unrs/resolver-binding-darwin-x64,
 * pulled in by jest 30). `npm install` then leaves them out of
 * package-lock.json, and `npm ci` refuses the lock as out of sync. This adds an
 * entry for every optional dependency the lock names but lacks, marked
 * optional, so `npm ci` accepts the lock and skips what it cannot install.
 * Run it after `npm install`; it changes nothing when the lock is complete.
 */
import fs from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    // npm resolves a dependency next to its parent first, then up the tree.
    const nested = `${path ? `${path}/` : ''}node_modules/${name}`;
    if (pkgs[nested] || pkgs[`node_modules/${name}`]) continue;
    pkgs[`node_modules/${name}`] = { version, ...(entry.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}
if (added > 0) {
  lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
  fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
console.log(`complete-lock: ${added} missing optional package(s) added`);
