import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createContext, request } from './testing.ts';
import type { Context } from './types.ts';

const echo = (req: Request, ctx: Context) =>
  Response.json({ url: req.url, method: req.method, remote: ctx.remoteAddress, type: req.headers.get('content-type') });

test('request() calls a handler with a Request built from a path and a fresh context', async () => {
  const res = await request(echo, '/a/b?c=d', { headers: { 'content-type': 'text/x' } });
  assert.deepEqual(await res.json(), {
    url: 'http://localhost/a/b?c=d',
    method: 'GET',
    remote: '127.0.0.1',
    type: 'text/x',
  });
});

test('a path starting with // stays a path of the test origin, never a host', async () => {
  const res = await request(echo, '//evil.example/x');
  assert.equal(((await res.json()) as { url: string }).url, 'http://localhost//evil.example/x');
});

test('request() calls an object with fetch (a Hono-style app) and takes a URL or a Request', async () => {
  const app = { fetch: echo };
  assert.equal(
    ((await (await request(app, new URL('http://h.test/p'))).json()) as { url: string }).url,
    'http://h.test/p',
  );
  const res = await request(app, new Request('http://h.test/q', { method: 'DELETE' }));
  assert.equal(((await res.json()) as { method: string }).method, 'DELETE');
});

test('a streamed body reaches the handler, and the given context is the one the handler sees', async () => {
  const ctx = createContext({ remoteAddress: '203.0.113.7' });
  let seen: Context | undefined;
  const body = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode('streamed'));
      c.close();
    },
  });
  const res = await request(
    async (req, c) => {
      seen = c;
      c.waitUntil(Promise.resolve());
      return new Response(await req.text());
    },
    '/up',
    { method: 'POST', body, context: ctx },
  );
  assert.equal(await res.text(), 'streamed');
  assert.equal(seen, ctx);
  assert.equal(ctx.remoteAddress, '203.0.113.7');
  await ctx.settled();
});

test('context init (not a context) makes a fresh context with those fields', async () => {
  const res = await request(echo, '/', { context: { remoteAddress: '::1' } });
  assert.equal(((await res.json()) as { remote: string }).remote, '::1');
});
