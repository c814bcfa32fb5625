// Script resolution against a real directory tree: where PATH_INFO splits, what runs, what is
// static, and what is refused.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type FileSystem, nodeFs } from '../../os/file-system.ts';
import { createContext } from '../../testing.ts';
import { fastcgi } from './index.ts';
import { type ResolveOptions, resolvePath } from './resolve.ts';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'foyer-resolve-')));
const root = join(base, 'www');
mkdirSync(join(root, 'blog'), { recursive: true });
mkdirSync(join(root, 'dir.php'));
mkdirSync(join(root, 'assets'));
mkdirSync(join(root, 'uploads'));
writeFileSync(join(root, 'index.php'), '<?php');
writeFileSync(join(root, 'app.php'), '<?php');
writeFileSync(join(root, 'blog', 'index.php'), '<?php');
writeFileSync(join(root, 'dir.php', 'inner.php'), '<?php');
writeFileSync(join(root, 'uploads', 'a.jpg'), '<?php echo "PWNED";');
writeFileSync(join(root, 'assets', 'app.css'), 'body{}');
writeFileSync(join(root, 'Shout.PHP'), '<?php');
writeFileSync(join(base, 'outside.php'), '<?php');
symlinkSync(join(base, 'outside.php'), join(root, 'escape.php'));
symlinkSync(join(root, 'app.php'), join(root, 'alias.php'));
after(() => rmSync(base, { recursive: true, force: true }));

const opts: ResolveOptions = {
  root,
  extensions: ['.php'],
  index: 'index.php',
  frontController: '/index.php',
  fs: nodeFs,
};
const script = (scriptName: string, pathInfo = '') => ({
  kind: 'script',
  scriptName,
  scriptFilename: root + scriptName,
  pathInfo,
});

describe('script resolution', () => {
  test('splits PATH_INFO after the first .php segment that is a real file', async () => {
    assert.deepEqual(await resolvePath('/app.php/a/b', opts), script('/app.php', '/a/b'));
    assert.deepEqual(await resolvePath('/app.php/', opts), script('/app.php', '/'));
    assert.deepEqual(await resolvePath('/dir.php/inner.php/x', opts), script('/dir.php/inner.php', '/x'));
  });

  test('never runs a non-.php file in front of a .php segment (split-path attack)', async () => {
    assert.deepEqual(await resolvePath('/uploads/a.jpg/x.php', opts), script('/index.php'));
    assert.deepEqual(await resolvePath('/uploads/a.jpg', opts), { kind: 'static' });
  });

  test('directories run their index.php, after a redirect to the slash form', async () => {
    assert.deepEqual(await resolvePath('/blog', opts), { kind: 'redirect', location: '/blog/' });
    assert.deepEqual(await resolvePath('/blog/', opts), script('/blog/index.php'));
    assert.deepEqual(await resolvePath('/assets/', opts), { kind: 'static' });
  });

  test('unknown paths go to the front controller, or nowhere without one', async () => {
    assert.deepEqual(await resolvePath('/pretty/url', opts), script('/index.php'));
    assert.deepEqual(await resolvePath('/pretty/url', { ...opts, frontController: '' }), { kind: 'none' });
  });

  test('refuses scripts that leave the root through a symlink, and source look-alikes', async () => {
    assert.deepEqual(await resolvePath('/escape.php', opts), { kind: 'forbidden' });
    assert.deepEqual(await resolvePath('/Shout.PHP', opts), { kind: 'forbidden' });
    assert.deepEqual(await resolvePath('/alias.php', opts), script('/alias.php'));
  });
});

describe('one file-system seam', () => {
  test('the seam given to fastcgi() decides for scripts and static files alike', async () => {
    const denied = (path: string) => path.endsWith('/app.php') || path.endsWith('/app.css');
    const fs: FileSystem = {
      ...nodeFs,
      stat: (path) =>
        denied(path) ? Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' })) : nodeFs.stat(path),
    };
    // No php-fpm is needed: nothing here reaches it.
    const php = fastcgi({ upstream: '127.0.0.1:1', root, fs, frontController: false });
    try {
      for (const path of ['/app.php', '/assets/app.css']) {
        const ctx = createContext();
        const status = await Promise.resolve(
          php(new Request(`http://x${path}`), ctx, async () => new Response(null, { status: 404 })),
        )
          .then((r) => r.status)
          .catch((e: { status?: number }) => e.status);
        assert.equal(status, 403, path);
      }
    } finally {
      php.close();
    }
  });
});
