#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's test runner, TypeScript loaded by tsx.
// Usage: node test/run.mjs [filter...]   (a filter keeps files whose path contains it)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = [...walk(join(root, 'src'), []), ...walk(join(root, 'test'), [])]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  // Heads are frozen once parsed (src/reception/request-reader.ts), in servers the tests spawn too.
  env: { ...process.env, FOYER_FREEZE_HEADS: '1' },
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
