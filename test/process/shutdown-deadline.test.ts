// The graceful shutdown's deadline is one setting with two names: `shutdownTimeout` (the CLI's) and
// `limits.closeTimeout` (the engine's, also `--limit closeTimeout=MS`). Before, SIGTERM read only
// the first, so the flag was silently ignored and a request in flight held the process for the
// default 10 s (past Docker's 10 s grace before SIGKILL). The draining line now says which deadline
// runs; a request still in flight is cut at it and the process exits 0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { longRequest, startFoyer, waitFor } from './helpers.ts';

for (const workers of [1, 2]) {
  test(`with --workers ${workers}, --limit closeTimeout is the deadline SIGTERM drains to`, async () => {
    const foyer = await startFoyer([
      '--app',
      'who-app.ts',
      '--port',
      '0',
      '--log-format',
      'json',
      '--limit',
      'closeTimeout=300',
      ...(workers > 1 ? ['--workers', String(workers)] : []),
    ]);
    try {
      await longRequest(foyer.origin);
      const exited = new Promise<number | null>((r) => foyer.child.once('exit', (code) => r(code)));
      foyer.child.kill('SIGTERM');
      const line = await waitFor('the draining line', () =>
        foyer
          .log()
          .split('\n')
          .find((l) => /finishing in-flight requests|workers finish their requests/.test(l)),
      );
      assert.equal(JSON.parse(line).deadlineMs, 300, line);
      assert.equal(await exited, 0, foyer.log());
    } finally {
      await foyer.stop('SIGKILL');
    }
  });
}
