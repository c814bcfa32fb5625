// Per-request state must live in the request and its context, never in module state: a
// long-running server otherwise leaks one user's data into another's response (DESIGN.md).
import assert from 'node:assert/strict';
import { App } from '../../src/handlers/app/app.ts';
import { compress } from '../../src/handlers/app/compress.ts';
import { json } from '../../src/handlers/app/respond.ts';
import { attribute } from '../../src/types.ts';
import { both } from './harness.ts';

const USER = attribute<{ id: string; token: string }>('test.user');
const TRACE = attribute<string>('test.trace');

/** Random small delays interleave the requests' async steps. */
const jitter = () => new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5)));

function makeApp(): App {
  const admin = new App().get('/whoami/:id', async (_req, ctx) => {
    await jitter();
    return json({ user: ctx.get(USER), trace: ctx.get(TRACE), params: ctx.params });
  });
  return new App()
    .use(async (req, ctx, next) => {
      ctx.set(TRACE, req.headers.get('x-trace') ?? 'none');
      await jitter();
      return next();
    })
    .use(compress())
    .use(async (req, ctx, next) => {
      const auth = req.headers.get('authorization') ?? '';
      ctx.set(USER, { id: auth.replace('Bearer ', ''), token: auth });
      await jitter();
      const res = await next();
      res.headers.set('x-user', ctx.get(USER)?.id ?? '');
      return res;
    })
    .get('/whoami/:id', async (_req, ctx) => {
      await jitter();
      return json({ user: ctx.get(USER), trace: ctx.get(TRACE), params: ctx.params });
    })
    .mount('/admin', admin);
}

both('many concurrent requests never see each other’s attributes or params', makeApp, async (client) => {
  const N = 200;
  const results = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const path = i % 2 === 0 ? `/whoami/${i}` : `/admin/whoami/${i}`;
      const res = await client.fetch(path, {
        headers: { authorization: `Bearer user-${i}`, 'x-trace': `trace-${i}` },
        remoteAddress: `10.0.${i >> 8}.${i & 255}`,
      });
      return { i, res, body: (await res.json()) as { user: { id: string }; trace: string; params: { id: string } } };
    }),
  );
  for (const { i, res, body } of results) {
    assert.equal(res.status, 200);
    assert.equal(body.user.id, `user-${i}`);
    assert.equal(body.trace, `trace-${i}`);
    assert.equal(body.params.id, String(i));
    assert.equal(res.headers.get('x-user'), `user-${i}`);
  }
  // In-process, each request had its own context with its own remote address.
  if (client.mode === 'in-process') {
    const addrs = new Set(client.contexts.map((c) => c.remoteAddress));
    assert.equal(addrs.size, N);
  }
});
