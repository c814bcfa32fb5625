// Symlinks under the document root: `contain` (the default) runs and serves only what really lives
// under the root; `follow` (nginx's default `disable_symlinks off`) follows them anywhere, for
// scripts and static files alike, so that a Debian-packaged PHP app runs from its documented root.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fastcgi } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { call, skipWithoutPhpFpm, startPhpFpm, text } from './helpers.ts';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const PHPSYSINFO = '/usr/share/phpsysinfo';

describe('symlinked scripts and files', { skip: skipWithoutPhpFpm }, () => {
  let fpm: PhpFpmProcess;
  let dir: string;
  let root: string;

  before(async () => {
    fpm = await startPhpFpm({ children: 2 });
    dir = mkdtempSync(join(tmpdir(), 'foyer-symlinks-'));
    root = join(dir, 'root');
    const outside = join(dir, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    writeFileSync(join(outside, 'real.php'), "<?php echo 'outside script ran';");
    writeFileSync(join(outside, 'style.css'), 'body{}');
    writeFileSync(join(root, 'inside.php'), "<?php echo 'inside';");
    symlinkSync(join(outside, 'real.php'), join(root, 'linked.php'));
    symlinkSync(outside, join(root, 'lib'));
  });
  after(async () => {
    await fpm?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('contain (the default) refuses scripts and files whose real path leaves the root', async () => {
    const php = fastcgi({ upstream: fpm.upstream, root });
    try {
      assert.equal(await text(await call(php, '/inside.php')), 'inside');
      for (const path of ['/linked.php', '/lib/real.php', '/lib/style.css']) {
        const r = await call(php, path);
        assert.equal(r.status, 403, path);
        assert.doesNotMatch(await text(r), /ran|body/, path);
      }
    } finally {
      php.close();
    }
  });

  test('follow runs symlinked scripts and serves symlinked files', async () => {
    for (const php of [
      fastcgi({ upstream: fpm.upstream, root, symlinks: 'follow' }),
      fastcgi({ upstream: fpm.upstream, root, static: { symlinks: 'follow' } }),
    ]) {
      try {
        assert.equal(await text(await call(php, '/linked.php')), 'outside script ran');
        assert.equal(await text(await call(php, '/lib/real.php')), 'outside script ran');
        assert.equal(await text(await call(php, '/lib/style.css')), 'body{}');
      } finally {
        php.close();
      }
    }
  });
});

/** `foyer serve ROOT --php ADDR …` until its ready line; resolves with its origin. */
async function serveCli(args: string[]): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--port', '0', '--no-config', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c) => (err += c));
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${err}`)), 20_000);
    child.stdout?.on('data', (c) => {
      out += c;
      const m = /foyer listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, origin };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

const skipPackaged =
  skipWithoutPhpFpm ||
  (existsSync(join(PHPSYSINFO, 'index.php')) ? false : 'phpsysinfo not installed (apt-get install phpsysinfo)');

describe('a Debian-packaged PHP app from its documented root', { skip: skipPackaged }, () => {
  let fpm: PhpFpmProcess;
  before(async () => {
    fpm = await startPhpFpm({ children: 2 });
  });
  after(async () => {
    await fpm?.stop();
  });

  test('phpsysinfo runs with --symlinks follow, its linked stylesheet included; contain refuses the link', async () => {
    const css = '/templates/vendor/bootstrap.min.css';
    const following = await serveCli([PHPSYSINFO, '--php', fpm.upstream, '--symlinks', 'follow']);
    try {
      const page = await fetch(`${following.origin}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /phpSysInfo/i);
      const sheet = await fetch(`${following.origin}${css}`);
      assert.equal(sheet.status, 200);
      assert.match(sheet.headers.get('content-type') ?? '', /^text\/css/);
      await sheet.arrayBuffer();
    } finally {
      await stop(following.child);
    }
    const containing = await serveCli([PHPSYSINFO, '--php', fpm.upstream]);
    try {
      const sheet = await fetch(`${containing.origin}${css}`);
      assert.equal(sheet.status, 403);
      await sheet.arrayBuffer();
    } finally {
      await stop(containing.child);
    }
  });
});
