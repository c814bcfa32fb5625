// A second SIGTERM while the server drains means "now" (nginx's fast shutdown after a graceful one,
// systemd's stop timeout): the process exits 130 at once, without waiting for the request in
// flight, and with workers no worker is left behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alive, descendants, longRequest, startFoyer, waitFor } from './helpers.ts';

for (const workers of [1, 2]) {
  test(`with --workers ${workers}, a second SIGTERM while draining exits 130 at once${workers > 1 ? ', leaving no worker' : ''}`, async () => {
    const foyer = await startFoyer([
      '--app',
      'who-app.ts',
      '--port',
      '0',
      ...(workers > 1 ? ['--workers', String(workers)] : []),
    ]);
    const children = descendants(foyer.pid).map((p) => p.pid);
    try {
      await longRequest(foyer.origin);
      const exited = new Promise<number | null>((r) => foyer.child.once('exit', (code) => r(code)));
      foyer.child.kill('SIGTERM');
      await waitFor('the draining line', () =>
        /finishing in-flight requests|workers finish their requests/.test(foyer.log()) ? true : undefined,
      );
      foyer.child.kill('SIGTERM');
      assert.equal(await exited, 130, foyer.log());
      if (workers > 1) {
        assert.ok(children.length >= workers, 'the workers were seen before the signal');
        await waitFor('the workers to be gone', () => (children.every((pid) => !alive(pid)) ? true : undefined));
      }
    } finally {
      await foyer.stop('SIGKILL');
    }
  });
}
