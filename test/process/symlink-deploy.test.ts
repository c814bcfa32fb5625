// Capistrano-style deploys: `current -> releases/N`, switched atomically, then a reload. The reload
// must re-resolve `current` (app and static root), so the new release is served, with no request
// failing on the way (the old workers keep the files of the release they loaded).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getText, startFoyer, waitFor } from './helpers.ts';
import { startLoad } from './load.ts';

function release(dir: string, name: string): void {
  const root = join(dir, 'releases', name);
  mkdirSync(join(root, 'public'), { recursive: true });
  writeFileSync(join(root, 'public', 'page.txt'), `page of ${name}\n`);
  writeFileSync(
    join(root, 'app.ts'),
    `export default { fetch(req: Request) { return new URL(req.url).pathname === '/app' ? new Response('app of ${name}') : new Response('nf', { status: 404 }); } };\n`,
  );
}

/** Points `current` at `releases/name` in one rename, as deploy tools do. */
function switchTo(dir: string, name: string): void {
  const next = join(dir, 'current.next');
  symlinkSync(join('releases', name), next);
  renameSync(next, join(dir, 'current'));
}

test('a reload after switching the current -> releases/N symlink serves the new release (app and files), failing no request', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-deploy-'));
  release(dir, 'r1');
  release(dir, 'r2');
  switchTo(dir, 'r1');
  const foyer = await startFoyer(['current/public', '--app', 'current/app.ts', '--port', '0', '--workers', '2'], {
    cwd: dir,
  });
  try {
    assert.equal((await getText(`${foyer.origin}/app`)).body, 'app of r1');
    assert.equal((await getText(`${foyer.origin}/page.txt`)).body, 'page of r1\n');
    const load = startLoad(`${foyer.origin}/app`, { connections: 4, timeoutMs: 60_000 });
    switchTo(dir, 'r2');
    foyer.child.kill('SIGHUP');
    await waitFor('the reload', () => (/reload done/.test(foyer.log()) ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();
    assert.deepEqual(result.errors, [], foyer.log());
    assert.equal(result.failed, 0);
    assert.equal((await getText(`${foyer.origin}/app`)).body, 'app of r2');
    assert.equal((await getText(`${foyer.origin}/page.txt`)).body, 'page of r2\n');
  } finally {
    assert.equal(await foyer.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
