// The script lookup stats each `.php` segment of a path from the left. A request line of `/a.php`
// repeated 1,300 times cost 160-230 ms of thread-pool stats (found in review): only the first
// MAX_SCRIPT_CANDIDATES are looked at.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MAX_SCRIPT_CANDIDATES, resolvePath } from '../../src/handlers/fastcgi/resolve.ts';
import { type FileSystem, nodeFs } from '../../src/os/file-system.ts';

const root = mkdtempSync(join(tmpdir(), 'foyer-resolve-'));
after(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(join(root, 'index.php'), '<?php');
// Scripts under directories named like scripts: /d1.php/…/dN.php/s.php is the (N+1)th candidate.
const deep = (n: number) => Array.from({ length: n }, (_, i) => `d${i}.php`).join('/');
mkdirSync(join(root, deep(MAX_SCRIPT_CANDIDATES)), { recursive: true });
writeFileSync(join(root, deep(MAX_SCRIPT_CANDIDATES - 1), 's.php'), '<?php');
writeFileSync(join(root, deep(MAX_SCRIPT_CANDIDATES), 's.php'), '<?php');

function counting(): { fs: FileSystem; stats: () => number } {
  let n = 0;
  const fs: FileSystem = {
    ...nodeFs,
    stat: (p) => {
      n++;
      return nodeFs.stat(p);
    },
  };
  return { fs, stats: () => n };
}

const opts = (fs: FileSystem) => ({
  root,
  extensions: ['.php'],
  index: 'index.php',
  frontController: '/index.php',
  fs,
});

test('a path of many .php segments costs a bounded number of stats', async () => {
  const { fs, stats } = counting();
  const r = await resolvePath(`/${Array(1300).fill('a.php').join('/')}`, opts(fs));
  assert.deepEqual(r.kind === 'script' && r.scriptName, '/index.php'); // the front controller
  assert.ok(stats() <= MAX_SCRIPT_CANDIDATES + 3, `${stats()} stats`);
});

test('a script among the first candidates runs; one past them is not looked for', async () => {
  const within = await resolvePath(`/${deep(MAX_SCRIPT_CANDIDATES - 1)}/s.php/rest`, opts(nodeFs));
  assert.deepEqual(within.kind === 'script' && [within.scriptName, within.pathInfo], [
    `/${deep(MAX_SCRIPT_CANDIDATES - 1)}/s.php`,
    '/rest',
  ]);
  const past = await resolvePath(`/${deep(MAX_SCRIPT_CANDIDATES)}/s.php/rest`, opts(nodeFs));
  assert.deepEqual(past.kind === 'script' && past.scriptName, '/index.php');
});
