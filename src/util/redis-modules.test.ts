import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const index = fileURLToPath(new URL('../index.ts', import.meta.url));

test('importing Foyer loads neither ioredis nor BullMQ; the first Redis use does', () => {
  // A fresh process: what the import itself pulls in, then what constructing a Redis store adds.
  const script = `
    import { createRequire } from 'node:module';
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\\\/]node_modules[\\\\/](ioredis|bullmq)[\\\\/]/.test(k)).length;
    const foyer = await import(${JSON.stringify(index)});
    const before = loaded();
    const { ioredis } = await import(${JSON.stringify(fileURLToPath(new URL('./redis-modules.ts', import.meta.url)))});
    ioredis();
    console.log(JSON.stringify({ before, after: loaded(), exports: Object.keys(foyer).length }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { before: number; after: number; exports: number };
  assert.ok(out.exports > 0);
  assert.equal(out.before, 0, 'ioredis or bullmq was loaded by importing Foyer');
  assert.ok(out.after > 0, 'the check can see ioredis once it is loaded');
});
