import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { App } from '../../src/handlers/app/app.ts';
import { json, text } from '../../src/handlers/app/respond.ts';
import { test } from 'node:test';
import { both, type Client, inProcess, loadServe, overSocket } from './harness.ts';

function makeApp(): App {
  const api = new App()
    .get('/', () => text('api root'))
    .get('/items/:id', (_req, ctx) => json({ item: ctx.params.id }))
    .use(async (_req, _ctx, next) => {
      const res = await next();
      res.headers.set('x-api', '1');
      return res;
    });
  const hono = new Hono();
  hono.get('/hello/:name', (c) => c.json({ hello: c.req.param('name'), path: c.req.path }));
  hono.post('/echo', async (c) => c.text(await c.req.text()));
  return new App()
    .get('/', () => text('home'))
    .get('/users/:id', (_req, ctx) => json({ id: ctx.params.id }))
    .get('/users/:id/posts/:post', (_req, ctx) => json(ctx.params))
    .post('/users', () => text('created', 201))
    .delete('/users/:id', () => new Response(null, { status: 204 }))
    .get('/files/*', (_req, ctx) => text(`file ${ctx.params['*']}`))
    .get('/n/:id(^\\d+$)', (_req, ctx) => text(`number ${ctx.params.id}`))
    .mount('/api', api)
    .mount('/hono', hono)
    .mount('/fn', (req) => text(`fn saw ${new URL(req.url).pathname}`));
}

both('routes by method and path with parameters', makeApp, async (client) => {
  assert.equal(await (await client.fetch('/')).text(), 'home');
  const res = await client.fetch('/users/42?x=1');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { id: '42' });
  assert.deepEqual(await (await client.fetch('/users/7/posts/hello%20world')).json(), { id: '7', post: 'hello world' });
  assert.equal((await client.fetch('/users', { method: 'POST' })).status, 201);
  assert.equal((await client.fetch('/users/1', { method: 'DELETE' })).status, 204);
});

both('wildcards and constrained parameters', makeApp, async (client) => {
  assert.equal(await (await client.fetch('/files/a/b/c.txt')).text(), 'file a/b/c.txt');
  assert.equal(await (await client.fetch('/n/123')).text(), 'number 123');
  assert.equal((await client.fetch('/n/abc')).status, 404);
});

both('an unknown path is a 404', makeApp, async (client) => {
  const res = await client.fetch('/nowhere');
  assert.equal(res.status, 404);
  assert.equal(await res.text(), 'Not Found\n');
});

both('a known path with another method is a 405 with Allow', makeApp, async (client) => {
  const res = await client.fetch('/users/1', { method: 'PUT' });
  assert.equal(res.status, 405);
  const allow = (res.headers.get('allow') ?? '').split(', ').sort();
  assert.deepEqual(allow, ['DELETE', 'GET', 'HEAD', 'OPTIONS']);
});

both('OPTIONS on a known path lists the allowed methods', makeApp, async (client) => {
  const res = await client.fetch('/users', { method: 'OPTIONS' });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
});

both('HEAD is answered from the GET route without a body', makeApp, async (client) => {
  const res = await client.fetch('/users/5', { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(await res.text(), '');
});

both('a malformed percent escape in the path is a 400', makeApp, async (client) => {
  const res = await client.fetch('/users/%E4%zz');
  assert.equal(res.status, 400);
});

both('a mounted Foyer app sees paths relative to its prefix and keeps its middleware', makeApp, async (client) => {
  const root = await client.fetch('/api');
  assert.equal(await root.text(), 'api root');
  const item = await client.fetch('/api/items/9');
  assert.deepEqual(await item.json(), { item: '9' });
  assert.equal(item.headers.get('x-api'), '1');
  assert.equal((await client.fetch('/api/none')).status, 404);
});

both('a mounted Hono app gets the request with the prefix removed', makeApp, async (client) => {
  const res = await client.fetch('/hono/hello/ada');
  assert.deepEqual(await res.json(), { hello: 'ada', path: '/hello/ada' });
  const echo = await client.fetch('/hono/echo', { method: 'POST', body: 'ping' });
  assert.equal(await echo.text(), 'ping');
  assert.equal((await client.fetch('/hono/missing')).status, 404);
});

both('a mounted bare handler receives the stripped URL', makeApp, async (client) => {
  assert.equal(await (await client.fetch('/fn/x/y')).text(), 'fn saw /x/y');
});

both(
  'an unmatched request inside a mounted app falls through to the parent',
  () => {
    const sub = new App().get('/known', () => text('sub'));
    return new App().mount('/s', sub).notFound(() => text('parent fallback', 404));
  },
  async (client) => {
    assert.equal(await (await client.fetch('/s/known')).text(), 'sub');
    assert.equal(await (await client.fetch('/s/other')).text(), 'parent fallback');
  },
);

async function headLengthMatchesGet(client: Client): Promise<void> {
  const get = await client.fetch('/users/12345');
  const length = (await get.arrayBuffer()).byteLength;
  const head = await client.fetch('/users/12345', { method: 'HEAD' });
  assert.equal(head.headers.get('content-length'), String(length));
}

test('HEAD carries the Content-Length the GET would have (in-process)', () =>
  headLengthMatchesGet(inProcess(makeApp().fetch)));

test('HEAD carries the Content-Length the GET would have (socket)', async (_t) => {
  const serve = await loadServe();
  const client = await overSocket(makeApp().fetch, serve);
  try {
    await headLengthMatchesGet(client);
  } finally {
    await client.close();
  }
});

both(
  'a foreign router with its own handle() method is mounted through its fetch()',
  () =>
    new App().mount('/other', {
      handle: () => {
        throw new Error('not a Foyer app: handle() has another contract');
      },
      fetch: (req: Request) => text(`fetch saw ${new URL(req.url).pathname}`),
    }),
  async (client) => {
    assert.equal(await (await client.fetch('/other/x')).text(), 'fetch saw /x');
  },
);
