// docs/architecture.md is what a newcomer reads first: every file it names must exist, or it
// sends them looking for code that moved.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(repo, 'docs/architecture.md'), 'utf8');

/** Every `src/…` or `test/…` file path in the page (folders end with `/` and are checked too). */
function citedPaths(text: string): string[] {
  return [...new Set([...text.matchAll(/\b((?:src|test)\/[A-Za-z0-9_./-]*[A-Za-z0-9_/])/g)].map((m) => m[1]!))];
}

test('every src/ and test/ path docs/architecture.md names exists', () => {
  const cited = citedPaths(doc);
  assert.ok(cited.length > 40, `expected the page to cite many files, found ${cited.length}`);
  const missing = cited.filter((p) => !existsSync(join(repo, p)));
  assert.deepEqual(missing, []);
});

test('the path extraction sees a file that does not exist', () => {
  assert.deepEqual(citedPaths('see `src/reception/no-such-file.ts` and src/os/'), [
    'src/reception/no-such-file.ts',
    'src/os/',
  ]);
});

test('the README links to docs/architecture.md', () => {
  assert.match(readFileSync(join(repo, 'README.md'), 'utf8'), /\]\(docs\/architecture\.md\)/);
});
