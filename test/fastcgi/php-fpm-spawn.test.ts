// `--php spawn`: Foyer's own php-fpm on a private unix socket, supervised.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fastcgi, parseUpstream, spawnPhpFpm } from '../../src/handlers/fastcgi/index.ts';
import { call, docroot, skipWithoutPhpFpm, text } from './helpers.ts';

test('spawns php-fpm on a private socket, restarts it after a crash, stops it', {
  skip: skipWithoutPhpFpm,
}, async () => {
  const fpm = await spawnPhpFpm({ children: 2 });
  const php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: fpm.children });
  try {
    const up = parseUpstream(fpm.upstream);
    assert.equal(up.kind, 'unix');
    const sock = (up as { path: string }).path;
    assert.equal(statSync(dirname(sock)).mode & 0o777, 0o700, 'socket directory is private');
    assert.equal(await text(await call(php, '/hello.php')), 'Hello, World!');

    const first = fpm.pid!;
    process.kill(first, 'SIGKILL');
    let restarted = false;
    for (let i = 0; i < 100 && !restarted; i++) {
      await new Promise((r) => setTimeout(r, 50));
      restarted = fpm.pid !== undefined && fpm.pid !== first;
    }
    assert.ok(restarted, 'supervisor started a new php-fpm');
    let ok = false;
    for (let i = 0; i < 40 && !ok; i++) {
      const a = await call(php, '/hello.php');
      ok = a.status === 200 && (await text(a)) === 'Hello, World!';
      if (!ok) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(ok, 'requests succeed after the restart');
  } finally {
    php.close();
    await fpm.stop();
  }
  assert.equal(fpm.pid, undefined);
});
