import assert from 'node:assert/strict';
import { FoyerError } from '../../src/util/errors.ts';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { StaticFs } from '../../src/handlers/static/index.ts';
import { nodeFs } from '../../src/handlers/static/index.ts';
import { encodeSegment } from '../../src/analysis/target-path.ts';
import type { Tree } from './helpers.ts';
import { get, HOSTILE_NAMES, handler, makeTree } from './helpers.ts';

let t: Tree;
before(() => {
  t = makeTree();
});
after(() => t.cleanup());

describe('serving files', () => {
  test('serves a file with type, length, validators and nosniff', async () => {
    const r = await get(handler(t.root), '/a.txt');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'hello\n');
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(r.headers.get('content-length'), '6');
    assert.match(r.headers.get('etag')!, /^"[^"]+"$/);
    assert.match(r.headers.get('last-modified')!, /GMT$/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
  });
  test('gives binary types no charset and unknown extensions octet-stream', async () => {
    const mw = handler(t.root);
    assert.equal((await get(mw, '/photo.png')).headers.get('content-type'), 'image/png');
    assert.equal((await get(mw, '/big.bin')).headers.get('content-type'), 'application/octet-stream');
  });
  test('serves hostile file names requested percent-encoded', async () => {
    const mw = handler(t.root);
    for (const name of HOSTILE_NAMES) {
      const r = await get(mw, `/${encodeSegment(name)}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.body.toString(), `content of ${name}\n`);
    }
  });
  test('streams a file larger than the cache bound byte for byte', async () => {
    const r = await get(handler(t.root), '/big.bin');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(t.bigBin.length));
    assert.ok(r.body.equals(t.bigBin));
  });
  test('derives the ETag from size and mtime only, so copies of a file on two servers agree', async () => {
    const { copyFileSync, utimesSync } = await import('node:fs');
    copyFileSync(join(t.root, 'a.txt'), join(t.root, 'copy-1.txt'));
    copyFileSync(join(t.root, 'a.txt'), join(t.root, 'copy-2.txt'));
    // Whole seconds: a fractional time would not survive the float round trip exactly.
    for (const n of ['copy-1.txt', 'copy-2.txt']) utimesSync(join(t.root, n), 1_700_000_000, 1_700_000_000);
    const mw = handler(t.root);
    const a = (await get(mw, '/copy-1.txt')).headers.get('etag');
    assert.equal((await get(mw, '/copy-2.txt')).headers.get('etag'), a);
    assert.notEqual((await get(mw, '/a.txt')).headers.get('etag'), a);
  });
  test('serves the same bytes with the cache disabled', async () => {
    const r = await get(handler(t.root, { cache: false }), '/a.txt');
    assert.equal(r.body.toString(), 'hello\n');
  });
  test('answers HEAD with the headers of GET and no body', async () => {
    const mw = handler(t.root);
    const h = await get(mw, '/big.bin', {}, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-length'), String(t.bigBin.length));
    assert.equal(h.body.length, 0);
  });
  test('never opens the file for HEAD', async () => {
    let opens = 0;
    const fs: StaticFs = {
      ...nodeFs,
      open: (p) => {
        opens++;
        return nodeFs.open(p);
      },
    };
    const mw = handler(t.root, { fs });
    for (const p of ['/a.txt', '/big.bin', '/style.css', '/']) {
      assert.equal((await get(mw, p, {}, 'HEAD')).status, 200, p);
    }
    assert.equal(opens, 0);
    assert.equal((await get(mw, '/a.txt')).body.toString(), 'hello\n');
    assert.equal(opens, 1);
  });
  test('adds Cache-Control per pattern, first rule wins', async () => {
    const mw = handler(t.root, {
      cacheControl: [
        { match: '*.css', value: 'public, max-age=31536000, immutable' },
        { match: /\.html$/, value: 'no-cache' },
      ],
    });
    assert.equal((await get(mw, '/style.css')).headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await get(mw, '/')).headers.get('cache-control'), 'no-cache');
    assert.equal((await get(mw, '/a.txt')).headers.get('cache-control'), null);
  });
  test('leaves excluded extensions to next(), in any letter case', async () => {
    const next = async () => new Response('php gateway');
    writeFileSync(join(t.root, 'UPPER.PHP'), '<?php');
    const mw = handler(t.root, { exclude: ['php'] });
    assert.equal((await get(mw, '/script.php', {}, 'GET', next)).body.toString(), 'php gateway');
    assert.equal((await get(mw, '/UPPER.PHP', {}, 'GET', next)).body.toString(), 'php gateway');
    assert.equal((await get(handler(t.root), '/UPPER.PHP', {}, 'GET', next)).body.toString(), '<?php');
    assert.equal((await get(mw, '/a.txt', {}, 'GET', next)).body.toString(), 'hello\n');
  });
  test('applies a type map and an extension allow-list', async () => {
    const mw = handler(t.root, { extensions: ['txt', 'md'], types: { md: 'text/x-markdown' } });
    assert.equal((await get(mw, '/README.md')).headers.get('content-type'), 'text/x-markdown; charset=utf-8');
    assert.equal((await get(mw, '/script.php')).status, 404);
    assert.equal((await get(mw, '/a.txt')).status, 200);
  });
});

describe('misses, errors and redirects', () => {
  test('answers 404 when used as the last handler', async () => {
    assert.equal((await get(handler(t.root), '/missing.txt')).status, 404);
  });
  test('calls next() on a miss when used as middleware', async () => {
    const next = async () => new Response('from next', { status: 299 });
    const r = await get(handler(t.root), '/missing.txt', {}, 'GET', next);
    assert.equal(r.status, 299);
    assert.equal(r.body.toString(), 'from next');
  });
  test('passes other methods to next(), or answers 405 with Allow when last', async () => {
    const next = async () => new Response('app', { status: 201 });
    assert.equal((await get(handler(t.root), '/a.txt', {}, 'POST', next)).status, 201);
    const r = await get(handler(t.root), '/a.txt', {}, 'DELETE');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  });
  test('as middleware, a method no later layer takes is 405 with Allow on a file, and stays 404 elsewhere', async () => {
    const notFound = async (): Promise<Response> => {
      throw new FoyerError('FOYER_NOT_FOUND');
    };
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await get(handler(t.root), '/a.txt', {}, method, notFound);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
    }
    await assert.rejects(get(handler(t.root), '/missing.txt', {}, 'POST', notFound), { status: 404 });
    const plain404 = async () => new Response('nothing', { status: 404 });
    assert.equal((await get(handler(t.root), '/a.txt', {}, 'PUT', plain404)).status, 405);
    assert.equal((await get(handler(t.root), '/missing.txt', {}, 'PUT', plain404)).status, 404);
  });
  test('answers 404 instead of calling next() when fallthrough is off', async () => {
    const next = async () => new Response('app');
    assert.equal((await get(handler(t.root, { fallthrough: false }), '/nope', {}, 'GET', next)).status, 404);
  });
  test('answers 400 for a malformed escape', async () => {
    const r = await get(handler(t.root), '/%zz.txt');
    assert.equal(r.status, 400);
    assert.doesNotMatch(r.body.toString(), /zz/);
  });
  test('denies dotfiles by default with 403, and hides them with ignore', async () => {
    assert.equal((await get(handler(t.root), '/.env')).status, 403);
    assert.equal((await get(handler(t.root), '/.git/config')).status, 403);
    assert.equal((await get(handler(t.root), '/.nothing-here')).status, 403);
    assert.equal((await get(handler(t.root, { dotfiles: 'ignore' }), '/.env')).status, 404);
    assert.equal((await get(handler(t.root, { dotfiles: 'allow' }), '/.env')).status, 200);
  });
  test('serves /.well-known/ despite the dotfile rule, but not dotfiles inside it', async () => {
    writeFileSync(join(t.root, '.well-known', '.htpasswd'), 'user:hash');
    assert.equal((await get(handler(t.root), '/.well-known/security.txt')).status, 200);
    assert.equal((await get(handler(t.root), '/.well-known/.htpasswd')).status, 403);
    assert.equal((await get(handler(t.root), '/sub/.well-known')).status, 403);
  });
  test('refuses a symlink that leads out of the root, follows one that stays inside', async () => {
    const mw = handler(t.root);
    assert.equal((await get(mw, '/link-out.txt')).status, 403);
    assert.equal((await get(mw, '/dir-link-out/key.txt')).status, 403);
    assert.equal((await get(mw, '/link-in.txt')).body.toString(), 'hello\n');
    assert.equal((await get(handler(t.root, { symlinks: 'follow' }), '/link-out.txt')).status, 200);
  });
  test('answers 403 when the file system denies access', async () => {
    const denied = Object.assign(new Error('denied'), { code: 'EACCES' });
    const fs: StaticFs = { ...nodeFs, stat: (p) => (p.endsWith('a.txt') ? Promise.reject(denied) : nodeFs.stat(p)) };
    assert.equal((await get(handler(t.root, { fs }), '/a.txt')).status, 403);
  });
  test('redirects a directory without trailing slash, keeping the query', async () => {
    const r = await get(handler(t.root), '/docs?x=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), '/docs/?x=1');
  });
  test('redirects to a single leading slash, never to another host', async () => {
    const r = await get(handler(t.root), '//docs');
    assert.equal(r.status, 308);
    assert.equal(r.headers.get('location'), '/docs');
  });
  test('serves the index file of a directory', async () => {
    const r = await get(handler(t.root), '/docs/');
    assert.equal(r.body.toString(), '<h1>docs</h1>\n');
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  });
  test('uses configured index names, and misses a directory without one when listing is off', async () => {
    assert.equal((await get(handler(t.root, { index: ['page.html'] }), '/sub/')).body.toString(), '<p>page</p>\n');
    assert.equal((await get(handler(t.root), '/sub/')).status, 404);
  });
  test('misses a file asked for with a trailing slash', async () => {
    assert.equal((await get(handler(t.root), '/a.txt/')).status, 404);
  });
});

describe('compression', () => {
  test('serves a precompressed brotli sibling with Vary and its own ETag', async () => {
    const mw = handler(t.root);
    const plain = await get(mw, '/app.js');
    const br = await get(mw, '/app.js', { 'accept-encoding': 'gzip, br' });
    assert.equal(br.headers.get('content-encoding'), 'br');
    assert.equal(br.headers.get('vary'), 'Accept-Encoding');
    assert.equal(plain.headers.get('vary'), 'Accept-Encoding');
    assert.notEqual(br.headers.get('etag'), plain.headers.get('etag'));
    assert.equal(brotliDecompressSync(br.body).toString(), plain.body.toString());
  });
  test('falls back to the gzip sibling when brotli is refused', async () => {
    const r = await get(handler(t.root), '/app.js', { 'accept-encoding': 'br;q=0, gzip' });
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    assert.equal(gunzipSync(r.body).toString(), 'console.log("precompressed");\n'.repeat(50));
  });
  test('compresses a small compressible file on the fly and keeps the copy', async () => {
    const mw = handler(t.root);
    const a = await get(mw, '/style.css', { 'accept-encoding': 'gzip' });
    const b = await get(mw, '/style.css', { 'accept-encoding': 'gzip' });
    assert.equal(a.headers.get('content-encoding'), 'gzip');
    assert.equal(gunzipSync(a.body).toString(), t.css);
    assert.equal(a.headers.get('content-length'), String(a.body.length));
    assert.ok(a.body.equals(b.body));
  });
  test('compresses a large file while streaming, without Content-Length', async () => {
    const r = await get(handler(t.root), '/big.txt', { 'accept-encoding': 'br' });
    assert.equal(r.headers.get('content-encoding'), 'br');
    assert.equal(r.headers.get('content-length'), null);
    assert.equal(brotliDecompressSync(r.body).toString(), t.bigText);
  });
  test('sends identity when compressing would not shrink the file', async () => {
    writeFileSync(join(t.root, 'noise.json'), randomBytes(4096));
    const r = await get(handler(t.root), '/noise.json', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers.get('content-encoding'), null);
    assert.equal(r.body.length, 4096);
    assert.equal(r.headers.get('vary'), 'Accept-Encoding');
  });
  test('leaves incompressible and tiny files alone', async () => {
    const mw = handler(t.root);
    assert.equal((await get(mw, '/photo.png', { 'accept-encoding': 'gzip' })).headers.get('content-encoding'), null);
    assert.equal((await get(mw, '/a.txt', { 'accept-encoding': 'gzip' })).headers.get('content-encoding'), null);
  });
  test('sends identity to a Range request on a large file rather than compress it', async () => {
    const r = await get(handler(t.root), '/big.txt', { 'accept-encoding': 'gzip', range: 'bytes=0-3' });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-encoding'), null);
    assert.equal(r.body.toString(), 'All ');
  });
});

describe('the in-memory cache', () => {
  test('serves an edited file fresh once the revalidation interval has passed', async () => {
    const p = join(t.root, 'edit.txt');
    writeFileSync(p, 'one');
    const mw = handler(t.root, { cache: { revalidateMs: 0 } });
    assert.equal((await get(mw, '/edit.txt')).body.toString(), 'one');
    writeFileSync(p, 'two, longer');
    const r = await get(mw, '/edit.txt');
    assert.equal(r.body.toString(), 'two, longer');
    assert.equal(r.headers.get('content-length'), '11');
  });
  test('notices a replaced large file when opening it, even inside the revalidation interval', async () => {
    const p = join(t.root, 'large-edit.bin');
    writeFileSync(p, Buffer.alloc(100_000, 1));
    const mw = handler(t.root, { cache: { revalidateMs: 60_000 } });
    assert.equal((await get(mw, '/large-edit.bin')).body.length, 100_000);
    writeFileSync(p, Buffer.alloc(120_000, 2));
    const r = await get(mw, '/large-edit.bin');
    assert.equal(r.headers.get('content-length'), '120000');
    assert.ok(r.body.equals(Buffer.alloc(120_000, 2)));
  });
  test('reads the disk once per interval for a hot file', async () => {
    let stats = 0;
    const fs: StaticFs = {
      ...nodeFs,
      stat: (p) => {
        stats++;
        return nodeFs.stat(p);
      },
    };
    const mw = handler(t.root, { fs, cache: { revalidateMs: 60_000 }, precompressed: false });
    await get(mw, '/a.txt');
    const after = stats;
    for (let i = 0; i < 20; i++) await get(mw, '/a.txt');
    assert.equal(stats, after);
  });
  test('re-reads a file that changed while it was being read instead of serving torn bytes', async () => {
    let reads = 0;
    const p = join(t.root, 'torn.txt');
    writeFileSync(p, 'AAAA');
    const fs: StaticFs = {
      ...nodeFs,
      open: async (path) => {
        const h = await nodeFs.open(path);
        return {
          stat: () => h.stat(),
          close: () => h.close(),
          read: async (buf, off, len, pos) => {
            const r = await h.read(buf, off, len, pos);
            // The first read races with a writer: the file changes between the two fstat calls.
            if (reads++ === 0) await fsp.writeFile(p, 'BBBBBB');
            return r;
          },
        };
      },
    };
    const r = await get(handler(t.root, { fs }), '/torn.txt');
    assert.equal(r.body.toString(), 'BBBBBB');
    assert.equal(r.headers.get('content-length'), '6');
  });
});

test("the cache keeps none of a request's URL: 300 files asked for with 16 KiB queries hold no more than with short ones", async () => {
  const { execFileSync } = await import('node:child_process');
  const script = new URL('./fixtures/kept-after-requests.mts', import.meta.url).pathname;
  const grown = (q: string) =>
    (
      JSON.parse(
        execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, q], { encoding: 'utf8' }),
      ) as {
        grown: number;
      }
    ).grown;
  const short = grown('short');
  const long = grown('long');
  // Kept URLs would add about 300 × 16 KiB = 4.9 MB; the heap's own noise is a few hundred KB.
  assert.ok(long - short < 2_000_000, `the heap grew ${long - short} bytes more with long queries`);
});
