// Graceful reload: SIGHUP (or `foyer reload`, or a file change with --watch) starts new workers and
// retires the old ones without failing a request; a reload that cannot load keeps the old workers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { alive, cli, descendants, fixtureCopy, getText, startFoyer, tsx, waitFor } from './helpers.ts';
import { startLoad } from './load.ts';

const run = promisify(execFile);

/** Resolves with the set of pids answering `/` after a few new connections. */
async function servingPids(origin: string, n = 6): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await getText(origin)).body.split(' ')[1] as string);
  return seen;
}

test('two reloads under load fail no request, and the new code is served after them', async () => {
  const dir = fixtureCopy();
  writeFileSync(join(dir, 'version.txt'), 'v1');
  const foyer = await startFoyer(['--app', 'who-app.ts', '--port', '0', '--workers', '2'], { cwd: dir });
  try {
    const load = startLoad(`${foyer.origin}/`, { connections: 8, timeoutMs: 120_000 });
    for (const version of ['v2', 'v3']) {
      writeFileSync(join(dir, 'version.txt'), version);
      const before = (foyer.log().match(/reload done/g) ?? []).length;
      foyer.child.kill('SIGHUP');
      await waitFor('the reload', () => ((foyer.log().match(/reload done/g) ?? []).length > before ? true : undefined));
      await waitFor(`${version} served`, () =>
        [...load.result.bodies.keys()].some((b) => b.startsWith(`${version} `)) ? true : undefined,
      );
    }
    // Let the retired workers' last connections finish under the load.
    await new Promise((r) => setTimeout(r, 1000));
    const result = await load.stop();
    assert.deepEqual(result.errors, []);
    assert.equal(result.failed, 0);
    assert.ok(result.ok > 100, `requests: ${result.ok}`);
    const after = await getText(foyer.origin);
    assert.match(after.body, /^v3 /);
  } finally {
    assert.equal(await foyer.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a reload with a bad configuration or an app that fails to load keeps the old workers serving', async () => {
  const dir = fixtureCopy();
  const config = join(dir, 'foyer.config.json');
  writeFileSync(config, JSON.stringify({ app: 'who-app.ts', workers: 2 }));
  const foyer = await startFoyer(['--config', config, '--port', '0'], { cwd: dir });
  try {
    // The workers are the primary's children; which of them answers a few connections is the
    // kernel's choice (shared socket), so the check is: only these answer, and all stay alive.
    const workers = new Set(descendants(foyer.pid).map((p) => String(p.pid)));
    assert.equal(workers.size >= 2, true, 'two workers');
    const onlyTheOldWorkers = async (message: string) => {
      for (const pid of await servingPids(foyer.origin)) assert.ok(workers.has(pid), `${message}: ${pid} is new`);
      for (const pid of workers) assert.ok(alive(Number(pid)), `${message}: worker ${pid} is gone`);
    };
    await onlyTheOldWorkers('before');
    writeFileSync(config, JSON.stringify({ app: 'who-app.ts', workers: 'many' }));
    foyer.child.kill('SIGHUP');
    await waitFor('the failed reload', () => (/reload failed/.test(foyer.log()) ? true : undefined));
    assert.match(foyer.log(), /workers: expected/);
    await onlyTheOldWorkers('the same workers serve');

    writeFileSync(config, JSON.stringify({ app: 'who-app.ts', workers: 2 }));
    writeFileSync(join(dir, 'who-app.ts'), 'export default {{ syntax error');
    foyer.child.kill('SIGHUP');
    await waitFor('the second failed reload', () =>
      (foyer.log().match(/reload failed/g) ?? []).length >= 2 ? true : undefined,
    );
    await onlyTheOldWorkers('the same workers still serve');
    assert.equal((await getText(foyer.origin)).status, 200);
  } finally {
    assert.equal(await foyer.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('foyer reload --pid-file reloads the running server; the pid file is removed on exit', async () => {
  const dir = fixtureCopy();
  const pidFile = join(dir, 'foyer.pid');
  const foyer = await startFoyer(
    ['--app', 'who-app.ts', '--port', '0', '--workers', '1', '--max-requests', '100000', '--pid-file', pidFile],
    {
      cwd: dir,
    },
  );
  try {
    const before = await servingPids(foyer.origin, 2);
    const r = await run(process.execPath, ['--import', tsx, cli, 'reload', '--pid-file', pidFile], { cwd: dir });
    assert.match(r.stdout, new RegExp(`process ${foyer.pid}`));
    await waitFor('new workers', async () => {
      const now = await servingPids(foyer.origin, 2);
      return [...now].some((p) => !before.has(p)) ? true : undefined;
    });
  } finally {
    assert.equal(await foyer.stop(), 0);
  }
  const missing = await run(process.execPath, ['--import', tsx, cli, 'reload', '--pid-file', pidFile], {
    cwd: dir,
  }).catch((err: { code: number; stderr: string }) => err);
  assert.equal((missing as { code: number }).code, 1);
  assert.match((missing as { stderr: string }).stderr, /cannot read the pid file/);
  rmSync(dir, { recursive: true, force: true });
});

test('--watch reloads the workers when a file of the app changes', async () => {
  const dir = fixtureCopy();
  writeFileSync(join(dir, 'version.txt'), 'before');
  const foyer = await startFoyer(['--app', 'who-app.ts', '--port', '0', '--watch'], { cwd: dir });
  try {
    assert.match((await getText(foyer.origin)).body, /^before /);
    writeFileSync(join(dir, 'version.txt'), 'after');
    await waitFor('the change served', async () =>
      /^after /.test((await getText(foyer.origin)).body) ? true : undefined,
    );
    assert.match(foyer.log(), /changed: .*version\.txt.*; reloading/);
  } finally {
    assert.equal(await foyer.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
