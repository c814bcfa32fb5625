// The CLI's pipeline in-process: app → static files → 404, and which responses get compressed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
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
