// --user: the primary binds as root (a port below 1024), the workers switch to the user before the
// app loads and cannot get root back.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { getText, startFoyer } from './helpers.ts';

const notRoot = process.getuid?.() !== 0 ? 'needs root (privilege drop to nobody)' : false;

/** A free port below 1024 (as root), found by binding. */
async function lowPort(): Promise<number> {
  for (let port = 990; port > 600; port--) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 1024');
}

test('workers run as nobody on a port below 1024 bound by the root primary', { skip: notRoot }, async () => {
  const port = await lowPort();
  const foyer = await startFoyer(['--app', 'who-app.ts', '--port', String(port), '--user', 'nobody', '--workers', '2']);
  try {
    assert.equal(foyer.origin, `http://127.0.0.1:${port}`);
    const who = JSON.parse((await getText(`${foyer.origin}/who`)).body);
    assert.equal(who.uid, 65534, 'uid of nobody');
    assert.notEqual(who.gid, 0, 'not the root group');
    assert.equal(who.regain, false, 'setuid(0) fails');
    assert.doesNotMatch(foyer.log(), /running as root without --user/);
  } finally {
    assert.equal(await foyer.stop(), 0);
  }
});

test('running as root without --user logs a warning; an unknown --user is refused', { skip: notRoot }, async () => {
  const foyer = await startFoyer(['--app', 'who-app.ts', '--port', '0']);
  try {
    assert.match(foyer.log(), /running as root without --user/);
  } finally {
    await foyer.stop();
  }
  await assert.rejects(
    startFoyer(['--app', 'who-app.ts', '--port', '0', '--user', 'no-such-user-foyer']),
    /exited 2 before ready: foyer: --user: no such user "no-such-user-foyer"/,
  );
});
