import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StaticFs } from '../../src/handlers/static/index.ts';
import { nodeFs } from '../../src/handlers/static/index.ts';
import type { Tree } from './helpers.ts';
import { get, HOSTILE_NAMES, handler, makeTree } from './helpers.ts';

let t: Tree;
before(() => {
  t = makeTree();
  mkdirSync(join(t.root, 'xss'));
  writeFileSync(join(t.root, 'xss', '<img src=x onerror=alert(1)>.txt'), 'x');
  writeFileSync(join(t.root, 'xss', '"><svg onload=alert(1)>.txt'), 'y');
});
after(() => t.cleanup());

describe('directory listing', () => {
  test('is off by default', async () => {
    assert.equal((await get(handler(t.root), '/sub/')).status, 404);
  });
  test('lists names, sizes and dates in HTML, directories first, dotfiles hidden', async () => {
    const r = await get(handler(t.root, { listing: true, index: false }), '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = r.body.toString();
    assert.match(html, /<title>Index of \/<\/title>/);
    assert.ok(html.indexOf('docs/') < html.indexOf('a.txt'), 'directories come first');
    assert.match(html, /<td class="size">6 B<\/td>/);
    assert.match(html, /<time datetime="\d{4}-\d\d-\d\dT/);
    assert.doesNotMatch(html, /\.env|\.git/);
    assert.doesNotMatch(html, /link-out|dir-link-out/, 'symlinks leaving the root are not listed');
  });
  test('escapes hostile names in text and encodes them in links', async () => {
    const html = (await get(handler(t.root, { listing: true }), '/xss/')).body.toString();
    assert.doesNotMatch(html, /<img src=x/);
    assert.doesNotMatch(html, /<svg onload/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;\.txt/);
    assert.match(html, /href="\.\/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E\.txt"/);
  });
  test('links every hostile fixture name so that following the link serves the file', async () => {
    const mw = handler(t.root, { listing: true, index: false });
    const html = (await get(mw, '/')).body.toString();
    for (const name of HOSTILE_NAMES) {
      const hrefs = [...html.matchAll(/href="\.\/([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
      const href = hrefs.find((h) => decodeURIComponent(h) === name);
      assert.ok(href, `a link for ${name}`);
      assert.equal((await get(mw, `/${href}`)).body.toString(), `content of ${name}\n`);
    }
  });
  test('sorts by size descending when asked', async () => {
    const html = (
      await get(handler(t.root, { listing: true, index: false }), '/?sort=size&order=desc')
    ).body.toString();
    const files = [...html.matchAll(/<tr class="file"><td class="name"><a href="\.\/([^"]+)"/g)].map((m) => m[1]);
    assert.equal(files[0], 'big.bin');
    assert.match(html, /aria-sort="descending"/);
  });
  test('answers JSON when the client asks for it', async () => {
    const r = await get(handler(t.root, { listing: true }), '/sub/', { accept: 'application/json' });
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(r.headers.get('vary'), 'Accept');
    const items = JSON.parse(r.body.toString());
    assert.deepEqual(
      items.map((i: { name: string; type: string }) => [i.name, i.type]),
      [
        ['deeper', 'directory'],
        ['page.html', 'file'],
      ],
    );
  });
  test('answers 403 for a directory that may be entered but not read', async () => {
    const denied = Object.assign(new Error('denied'), { code: 'EACCES' });
    const fs: StaticFs = { ...nodeFs, readdir: () => Promise.reject(denied) };
    assert.equal((await get(handler(t.root, { listing: true, fs }), '/sub/')).status, 403);
  });
  test('still prefers the index file over the listing', async () => {
    assert.equal((await get(handler(t.root, { listing: true }), '/docs/')).body.toString(), '<h1>docs</h1>\n');
  });
});

describe('typo correction', () => {
  test('is off by default', async () => {
    assert.equal((await get(handler(t.root), '/readme.md')).status, 404);
  });
  test('redirects a case mistake to the one matching file, keeping the query', async () => {
    const r = await get(handler(t.root, { typos: true }), '/readme.md?v=2');
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), '/README.md?v=2');
  });
  test('redirects a one-letter slip, in a directory name too', async () => {
    const r = await get(handler(t.root, { typos: true }), '/sbu/pgae.html');
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), '/sub/page.html');
  });
  test('answers 404 when several entries are one edit away', async () => {
    assert.equal((await get(handler(t.root, { typos: true }), '/fole.txt')).status, 404);
  });
  test("answers 300 with the candidates when configured with 'choices'", async () => {
    const r = await get(handler(t.root, { typos: 'choices' }), '/fole.txt');
    assert.equal(r.status, 300);
    const html = r.body.toString();
    assert.match(html, /href="\/file\.txt"/);
    assert.match(html, /href="\/fold\.txt"/);
  });
  test('never corrects towards a dotfile', async () => {
    assert.equal((await get(handler(t.root, { typos: true }), '/.evn')).status, 403);
    assert.equal((await get(handler(t.root, { typos: true }), '/env')).status, 404);
  });
  test('encodes the corrected name in Location', async () => {
    const r = await get(handler(t.root, { typos: true }), '/WITH%20SPACE.txt');
    assert.equal(r.headers.get('location'), '/with%20space.txt');
  });
});
