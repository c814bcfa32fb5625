// Signals that must never kill the server silently, and memory-bound recycling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getText, startFoyer, waitFor } from './helpers.ts';

test('a single process keeps serving after SIGHUP and SIGUSR2, saying why', async () => {
  const foyer = await startFoyer(['--app', 'who-app.ts', '--port', '0']);
  try {
    foyer.child.kill('SIGHUP');
    foyer.child.kill('SIGUSR2');
    await waitFor('the log lines', () =>
      /reloading needs a primary/.test(foyer.log()) && /SIGUSR2 ignored/.test(foyer.log()) ? true : undefined,
    );
    assert.equal((await getText(foyer.origin)).status, 200);
  } finally {
    assert.equal(await foyer.stop(), 0);
  }
});

test('a worker over --max-memory is replaced, between requests', async () => {
  // 1 KiB: every worker is over it at once, so each is replaced about as soon as it is ready.
  const foyer = await startFoyer(['--app', 'who-app.ts', '--port', '0', '--max-memory', '1k']);
  try {
    const first = (await getText(foyer.origin)).body;
    await waitFor('another worker', async () => ((await getText(foyer.origin)).body !== first ? true : undefined));
    assert.match(foyer.log(), /resident memory over 1024 bytes/);
    foyer.child.kill('SIGUSR2');
    await waitFor('the SIGUSR2 line', () => (/SIGUSR2 ignored/.test(foyer.log()) ? true : undefined));
    assert.equal((await getText(foyer.origin)).status, 200);
  } finally {
    assert.equal(await foyer.stop(), 0);
  }
});
