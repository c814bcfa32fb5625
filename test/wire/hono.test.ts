// An unmodified Hono app runs on Foyer: app.fetch is the handler, nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { getCookie, setCookie } from 'hono/cookie';
import { streamText } from 'hono/streaming';
import { compose } from '../../src/handlers/app/compose.ts';
import { compress } from '../../src/handlers/app/compress.ts';
import type { Server } from '../../src/server.ts';
import { start } from '../helpers/loopback-server.ts';

function honoApp(): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    c.header('x-powered-by', 'hono-on-foyer');
  });
  app.get('/', (c) => c.text('hello hono'));
  app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null }));
  app.post('/echo', async (c) => c.json({ body: await c.req.json(), type: c.req.header('content-type') }));
  app.post('/form', async (c) => {
    const body = await c.req.parseBody();
    return c.text(`name=${body.name}`);
  });
  app.get('/cookie', (c) => {
    setCookie(c, 'session', 'abc', { httpOnly: true, path: '/' });
    setCookie(c, 'theme', 'dark');
    return c.text(`had=${getCookie(c, 'session') ?? 'none'}`);
  });
  app.get('/created', (c) => c.json({ ok: true }, 201));
  app.get('/redirect', (c) => c.redirect('/users/7', 302));
  app.get('/stream', (c) =>
    streamText(c, async (s) => {
      await s.write('one ');
      await s.sleep(5);
      await s.write('two');
    }),
  );
  app.get('/raw', (c) => c.text(`${c.req.raw instanceof Request}`));
  app.notFound((c) => c.text('nope', 404));
  return app;
}

describe('an unmodified Hono app', () => {
  let server: Server;
  before(async () => {
    const app = honoApp();
    server = await start(app.fetch);
  });
  after(() => server.close(500));
  const url = (p: string) => server.url + p;

  test('serves a text route and runs its middleware', async () => {
    const r = await fetch(url('/'));
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'hello hono');
    assert.equal(r.headers.get('x-powered-by'), 'hono-on-foyer');
  });

  test('routes with params and query to JSON', async () => {
    const r = await fetch(url('/users/42?q=x'));
    assert.deepEqual(await r.json(), { id: '42', q: 'x' });
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  });

  test('reads JSON bodies and request headers', async () => {
    const r = await fetch(url('/echo'), {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    assert.deepEqual(await r.json(), { body: { a: 1 }, type: 'application/json' });
  });

  test('parses form bodies', async () => {
    const r = await fetch(url('/form'), { method: 'POST', body: new URLSearchParams({ name: 'ada' }) });
    assert.equal(await r.text(), 'name=ada');
  });

  test('reads and sets cookies, each Set-Cookie separately', async () => {
    const r = await fetch(url('/cookie'), { headers: { cookie: 'session=old' } });
    assert.equal(await r.text(), 'had=old');
    assert.deepEqual(
      r.headers.getSetCookie().map((c) => c.split(';')[0]),
      ['session=abc', 'theme=dark'],
    );
  });

  test('sends status codes and redirects', async () => {
    assert.equal((await fetch(url('/created'))).status, 201);
    const r = await fetch(url('/redirect'), { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/users/7');
    assert.equal((await fetch(url('/missing'))).status, 404);
  });

  test('streams responses', async () => {
    const r = await fetch(url('/stream'));
    assert.equal(await r.text(), 'one two');
  });

  test('hands Hono a request that is a Request', async () => {
    assert.equal(await (await fetch(url('/raw'))).text(), 'true');
  });
});

describe('a Hono app with cors() behind compression, to a client that sends Accept-Encoding', () => {
  let server: Server;
  before(async () => {
    const app = new Hono();
    app.use('*', cors());
    app.get('/s/:code', (c) => c.text('x'.repeat(2000), Number(c.req.param('code')) as 201));
    server = await start(compose(compress(), (req) => app.fetch(req)));
  });
  after(() => server.close(500));

  test('keeps the status the app chose', async () => {
    for (const code of [200, 201, 404, 418, 500]) {
      const r = await fetch(`${server.url}/s/${code}`);
      assert.equal(r.status, code);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.ok(r.headers.get('content-encoding'), 'compressed');
      assert.equal(await r.text(), 'x'.repeat(2000));
    }
  });
});
