import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from '../../src/handlers/app/app.ts';
import { json } from '../../src/handlers/app/respond.ts';
import { createContext } from '../../src/testing.ts';
import { FoyerError, HttpError } from '../../src/util/errors.ts';
import { both } from './harness.ts';

function makeApp(): App {
  return new App()
    .get('/boom', () => {
      throw new Error('secret database password in /srv/app/db.ts');
    })
    .get('/teapot', () => {
      throw new HttpError(418, 'Short and stout', { headers: { 'x-kettle': 'on' } });
    })
    .get('/echo/:name', (_req, ctx) => {
      throw new HttpError(422, `<script>alert(1)</script> ${ctx.params.name}`);
    })
    .get('/hidden', () => {
      throw new HttpError(503, 'upstream 10.0.0.3 refused', { headers: { 'retry-after': '5' } });
    })
    .get('/coded', () => {
      throw new FoyerError('FOYER_FORBIDDEN', 'user 17 lacks role admin');
    });
}

both('an unexpected throw is a 500 without the message or stack', makeApp, async (client) => {
  const res = await client.fetch('/boom');
  assert.equal(res.status, 500);
  const body = await res.text();
  assert.equal(body, 'Internal Server Error\n');
  assert.doesNotMatch(body, /secret|db\.ts|at /);
});

both('an HttpError sets status, headers and its exposed message', makeApp, async (client) => {
  const res = await client.fetch('/teapot');
  assert.equal(res.status, 418);
  assert.equal(res.headers.get('x-kettle'), 'on');
  assert.equal(await res.text(), 'Short and stout\n');
});

both('a 5xx HttpError message is not shown unless exposed', makeApp, async (client) => {
  const res = await client.fetch('/hidden');
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '5');
  assert.doesNotMatch(await res.text(), /10\.0\.0\.3/);
});

both('a catalogue error shows its catalogue message, never the detail', makeApp, async (client) => {
  const res = await client.fetch('/coded', { headers: { accept: 'application/json' } });
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { error: { status: 403, code: 'FOYER_FORBIDDEN', message: 'Forbidden' } });
});

both('errors are JSON when Accept prefers JSON and text otherwise', makeApp, async (client) => {
  const asJson = await client.fetch('/missing', { headers: { accept: 'text/plain;q=0.5, application/json' } });
  assert.equal(asJson.status, 404);
  assert.match(asJson.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(((await asJson.json()) as { error: { code: string } }).error.code, 'FOYER_NOT_FOUND');
  const asText = await client.fetch('/missing', { headers: { accept: '*/*' } });
  assert.match(asText.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(asText.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(await asText.text(), 'Not Found\n');
  const asPage = await client.fetch('/missing', { headers: { accept: 'text/html,*/*;q=0.8' } });
  assert.match(asPage.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await asPage.text(), /<h1>404 <span>Not Found<\/span><\/h1>/);
});

both('user input in an error message is never served as markup', makeApp, async (client) => {
  const res = await client.fetch('/echo/%3Cimg%20src%3Dx%3E', { headers: { accept: 'text/html' } });
  assert.equal(res.status, 422);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const page = await res.text();
  assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &lt;img src=x&gt;/);
  assert.doesNotMatch(page, /<script|<img/);
});

both(
  'a user error handler renders every error, including 404 and 405',
  () =>
    makeApp()
      .post('/only-post', () => new Response('x'))
      .onError((err) => json({ oops: err.status, code: err.code }, { status: err.status, headers: err.headers })),
  async (client) => {
    const nf = await client.fetch('/nope');
    assert.deepEqual(await nf.json(), { oops: 404, code: 'FOYER_NOT_FOUND' });
    const na = await client.fetch('/only-post');
    assert.equal(na.status, 405);
    assert.equal(na.headers.get('allow'), 'POST, OPTIONS');
    const boom = await client.fetch('/boom');
    assert.deepEqual(await boom.json(), { oops: 500, code: 'FOYER_INTERNAL' });
  },
);

both(
  'an error handler that throws falls back to the default response',
  () =>
    makeApp().onError(() => {
      throw new Error('handler broke');
    }),
  async (client) => {
    const res = await client.fetch('/teapot');
    assert.equal(res.status, 500);
    assert.equal(await res.text(), 'Internal Server Error\n');
  },
);

test('the original error reaches the user hook as the cause of a 500', async () => {
  let seen: unknown;
  const app = makeApp().onError((err) => {
    seen = err.cause;
    return new Response('x', { status: err.status });
  });
  await app.fetch(new Request('http://127.0.0.1/boom'), createContext());
  assert.match(String(seen), /secret database password/);
});

test('app.fetch works without a context, like any fetch app', async () => {
  const res = await makeApp().fetch(new Request('http://127.0.0.1/teapot'));
  assert.equal(res.status, 418);
});

test('5xx errors are logged with the original error', async () => {
  const lines: string[] = [];
  const { createLogger } = await import('../../src/log/logger.ts');
  const log = createLogger('info', { write: (s: string) => lines.push(s) });
  await makeApp().fetch(new Request('http://127.0.0.1/boom'), createContext({ log }));
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, /secret database password/);
});

test('a failing waitUntil task is logged, not lost, and does not change the response', async () => {
  const lines: string[] = [];
  const { createLogger } = await import('../../src/log/logger.ts');
  const log = createLogger('info', { write: (s: string) => lines.push(s) });
  const ctx = createContext({ log });
  const app = new App().get('/defer', (_req, c) => {
    c.waitUntil(Promise.reject(new Error('deferred work broke')));
    return json({ ok: true });
  });
  const res = await app.fetch(new Request('http://127.0.0.1/defer'), ctx);
  assert.equal(res.status, 200);
  await ctx.settled();
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, /deferred work broke/);
});
