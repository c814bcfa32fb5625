// The CLI's pipeline in-process: app → static files → 404, and which responses get compressed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { buildPipeline, toLoadedApp } from '../../src/config/pipeline.ts';
import type { FoyerConfig } from '../../src/config/schema.ts';
import type { Middleware } from '../../src/types.ts';
import { App } from '../../src/handlers/app/app.ts';
import { text } from '../../src/handlers/app/respond.ts';
import { createContext } from '../../src/testing.ts';
import { LightResponse } from '../../src/reception/light-response.ts';

const root = mkdtempSync(join(tmpdir(), 'foyer-pipeline-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
const big = 'compress me please '.repeat(300);
writeFileSync(join(root, 'big.txt'), big);

function pipeline(config: FoyerConfig) {
  const app = new App()
    .use(async (_req, _ctx, next) => {
      const res = await next();
      res.headers.set('x-app', '1');
      return res;
    })
    .get('/big-app', () => text(big));
  const handler = buildPipeline({
    config: { root, static: { compress: false, precompressed: false, cache: false }, ...config },
    app: toLoadedApp(app),
  });
  return (path: string) =>
    handler(new Request(`http://127.0.0.1${path}`, { headers: { 'accept-encoding': 'gzip' } }), createContext());
}

test('the app answers first, then static files, then a 404', async () => {
  const get = pipeline({});
  const fromApp = await get('/big-app');
  assert.equal(fromApp.headers.get('x-app'), '1');
  const fromDisk = await get('/big.txt');
  assert.equal(fromDisk.status, 200);
  assert.equal(fromDisk.headers.get('x-app'), '1');
  const missing = await get('/nope');
  assert.equal(missing.status, 404);
});

test('app responses are compressed; static files passed on by the app are left to the static handler', async () => {
  const get = pipeline({});
  assert.equal((await get('/big-app')).headers.get('content-encoding'), 'gzip');
  const file = await get('/big.txt');
  assert.equal(file.headers.get('content-encoding'), null);
  assert.equal(await file.text(), big);
});

test('compress: false turns compression of app responses off', async () => {
  const get = pipeline({ compress: false });
  const res = await get('/big-app');
  assert.equal(res.headers.get('content-encoding'), null);
  assert.equal(await res.text(), big);
});

test('an app module must export a handler or an object with fetch', () => {
  assert.throws(() => toLoadedApp({ nope: true }, 'x.ts'), /x\.ts must default-export a fetch handler/);
  assert.equal(typeof toLoadedApp(() => new Response('x')).fetch, 'function');
  assert.equal(toLoadedApp({ fetch: () => new Response('x'), handle: () => {} }).handle, undefined);
});

test("a plain fetch app's 404 falls through to static files, and its own 404 wins when they miss too", async () => {
  const handler = buildPipeline({
    config: { root, static: { compress: false, precompressed: false, cache: false } },
    app: toLoadedApp((req: Request) =>
      new URL(req.url).pathname === '/big-app'
        ? new Response(big, { headers: { 'content-type': 'text/plain' } })
        : new Response('app 404', { status: 404 }),
    ),
  });
  const get = (path: string, method = 'GET') =>
    handler(
      new Request(`http://127.0.0.1${path}`, { method, headers: { 'accept-encoding': 'gzip' } }),
      createContext(),
    );
  const own = await get('/big-app');
  assert.equal(own.headers.get('content-encoding'), 'gzip');
  const file = await get('/big.txt');
  assert.equal(file.headers.get('content-encoding'), null, 'a file the app passed on is left to the static handler');
  assert.equal(await file.text(), big);
  const missing = await get('/nope');
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), 'app 404');
  // Any method falls through when the app left the body unread: the static handler refuses POST on a file.
  assert.equal((await get('/big.txt', 'POST')).status, 405);
});

test('a synchronous fetch app is answered synchronously through the default pipeline (compression on)', async () => {
  const small = () => new LightResponse('hello', { headers: { 'content-type': 'text/plain' } }) as unknown as Response;
  const handler = buildPipeline({ config: { root }, app: toLoadedApp(small) });
  const req = new Request('http://127.0.0.1/', { headers: { 'accept-encoding': 'gzip' } });
  const out = handler(req, createContext());
  // No promise: the engine writes the response at once, as with serve({ fetch }) alone.
  assert.ok(!(out instanceof Promise), 'the pipeline returned a promise');
  assert.equal((out as Response).status, 200);
  // An asynchronous app still gets the same pipeline.
  const later = buildPipeline({ config: { root }, app: toLoadedApp(async () => small()) });
  assert.equal((await later(req, createContext())).status, 200);
});

test('errors thrown by the app, synchronously or not, become error responses at the boundary', async () => {
  for (const fetch of [
    () => {
      throw new Error('boom');
    },
    async () => {
      throw new Error('boom');
    },
    () => undefined as unknown as Response,
  ]) {
    const handler = buildPipeline({ config: { root }, app: toLoadedApp(fetch) });
    const res = await handler(new Request('http://127.0.0.1/'), createContext());
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /boom/);
  }
});

test('access layers answer before the app, PHP or static files are reached, and pass on to them', async () => {
  let appCalls = 0;
  const deny: Middleware = (req, _ctx, next) =>
    new URL(req.url).pathname.startsWith('/private') ? new Response('denied', { status: 403 }) : next();
  const handler = buildPipeline({
    config: { root, static: { compress: false, precompressed: false, cache: false } },
    app: toLoadedApp(() => {
      appCalls++;
      return new Response('app', { status: 404 });
    }),
    access: [deny],
  });
  const get = (path: string) => handler(new Request(`http://127.0.0.1${path}`), createContext());
  assert.equal((await get('/private/big.txt')).status, 403);
  assert.equal(appCalls, 0, 'the app ran before the access layer decided');
  const file = await get('/big.txt');
  assert.equal(file.status, 200);
  assert.equal(appCalls, 1);
});

/** A stand-in for the FastCGI layer (PHP needs no php-fpm here): answers by path, as PHP would. */
function phpPipeline(withApp: boolean, seen: object[] = []) {
  const fastcgi = (): Middleware => (req, _ctx, next) => {
    const path = new URL(req.url).pathname;
    if (path === '/big.php')
      return Promise.resolve(new Response(big, { headers: { 'content-type': 'text/html; charset=UTF-8' } }));
    if (path === '/small.php') return Promise.resolve(new Response('hi', { headers: { 'content-type': 'text/html' } }));
    if (path === '/throws.php') throw new Error('sync boom');
    if (path === '/rejects.php') return Promise.reject(new Error('async boom'));
    return next();
  };
  const handler = buildPipeline({
    config: { root, php: '127.0.0.1:9', static: { compress: false, precompressed: false, cache: false } },
    fastcgi,
    onLayer: (l) => seen.push(l),
    ...(withApp ? { app: toLoadedApp(() => new Response('app 404', { status: 404 })) } : {}),
  });
  return (path: string) =>
    handler(new Request(`http://127.0.0.1${path}`, { headers: { 'accept-encoding': 'gzip' } }), createContext());
}

test('PHP responses are compressed in the boundary, with or without an app in front; failures are rendered', async () => {
  for (const withApp of [false, true]) {
    const seen: object[] = [];
    const get = phpPipeline(withApp, seen);
    assert.equal(seen.length, 1, 'metrics see the PHP layer, once');
    const res = await get('/big.php');
    assert.equal(res.headers.get('content-encoding'), 'gzip', `withApp=${withApp}`);
    assert.equal(gunzipSync(Buffer.from(await res.arrayBuffer())).toString(), big);
    const small = await get('/small.php');
    assert.equal(small.headers.get('content-encoding'), null);
    assert.equal(await small.text(), 'hi');
    for (const path of ['/throws.php', '/rejects.php']) {
      const failed = await get(path);
      assert.equal(failed.status, 500, path);
      assert.doesNotMatch(await failed.text(), /boom/);
    }
    assert.equal((await get('/nope')).status, 404);
  }
});

test('with compress: false, PHP responses pass unchanged', async () => {
  const handler = buildPipeline({
    config: { root, php: '127.0.0.1:9', compress: false },
    fastcgi: () => () => Promise.resolve(new Response(big, { headers: { 'content-type': 'text/html' } })),
  });
  const res = await handler(
    new Request('http://127.0.0.1/big.php', { headers: { 'accept-encoding': 'gzip' } }),
    createContext(),
  );
  assert.equal(res.headers.get('content-encoding'), null);
  assert.equal(await res.text(), big);
});

test('static files alone: a file the cache answers at once is answered synchronously (no chain around the handler)', async () => {
  const handler = buildPipeline({ config: { root } });
  const get = () => handler(new Request('http://127.0.0.1/big.txt'), createContext());
  assert.equal((await get()).status, 200);
  const out = get();
  assert.ok(!(out instanceof Promise), 'a cached file came back as a promise');
  assert.equal(await (out as Response).text(), big);
});

test('a PHP body that fails while it is compressed is rendered as an error, not left as a rejection', async () => {
  const failing = () =>
    new Response(
      new ReadableStream({
        pull(c) {
          c.error(new Error('body broke'));
        },
      }),
      { headers: { 'content-type': 'text/html', 'content-length': '5000' } },
    );
  const handler = buildPipeline({
    config: { root, php: '127.0.0.1:9' },
    fastcgi: () => () => Promise.resolve(failing()),
  });
  const res = await handler(
    new Request('http://127.0.0.1/a.php', { headers: { 'accept-encoding': 'gzip' } }),
    createContext(),
  );
  assert.equal(res.status, 500);
  assert.doesNotMatch(await res.text(), /body broke/);
});

test('a PHP layer that answers synchronously is compressed too, and a body that fails then is rendered', async () => {
  let fail = false;
  const handler = buildPipeline({
    config: { root, php: '127.0.0.1:9' },
    fastcgi: () => () =>
      fail
        ? new Response(
            new ReadableStream({
              pull(c) {
                c.error(new Error('body broke'));
              },
            }),
            { headers: { 'content-type': 'text/html', 'content-length': '5000' } },
          )
        : new Response(big, { headers: { 'content-type': 'text/html' } }),
  });
  const get = () =>
    handler(new Request('http://127.0.0.1/a.php', { headers: { 'accept-encoding': 'gzip' } }), createContext());
  const res = await get();
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  assert.equal(gunzipSync(Buffer.from(await res.arrayBuffer())).toString(), big);
  fail = true;
  const failed = await get();
  assert.equal(failed.status, 500);
  assert.doesNotMatch(await failed.text(), /body broke/);
});
