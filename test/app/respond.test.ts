import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from '../../src/handlers/app/app.ts';
import { escapeHtml } from '../../src/util/escape-html.ts';
import { formatSse, html, json, redirect, setHeader, sse, stream, text } from '../../src/handlers/app/respond.ts';
import { both } from './harness.ts';

function makeApp(): App {
  return new App()
    .get('/json', () => json({ ok: true }, 201))
    .get('/text', () => text('plain', { headers: { 'x-a': 'b' } }))
    .get('/html', (req) => html(`<p>${escapeHtml(new URL(req.url).searchParams.get('q'))}</p>`))
    .get('/go', () => redirect('/json', 303))
    .get('/events', () =>
      sse(
        (async function* () {
          yield { event: 'greeting', id: '1', data: { hello: 'world' } };
          yield 'two\nlines';
          yield { comment: 'keep-alive', retry: 1500 };
        })(),
      ),
    )
    .get('/chunks', () =>
      stream(['a', 'b', new TextEncoder().encode('c')], { headers: { 'content-type': 'text/plain' } }),
    );
}

both('JSON, text and HTML helpers set status and content type', makeApp, async (client) => {
  const j = await client.fetch('/json');
  assert.equal(j.status, 201);
  assert.equal(j.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.deepEqual(await j.json(), { ok: true });
  const t = await client.fetch('/text');
  assert.equal(t.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(t.headers.get('x-a'), 'b');
  const h = await client.fetch('/html?q=%3Cscript%3E%22');
  assert.equal(await h.text(), '<p>&lt;script&gt;&quot;</p>');
});

both('redirect sets Location and the status', makeApp, async (client) => {
  const res = await client.fetch('/go', { redirect: 'manual' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/json');
});

both('server-sent events are framed per the event-stream format', makeApp, async (client) => {
  const res = await client.fetch('/events');
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.equal(
    await res.text(),
    'event: greeting\nid: 1\ndata: {"hello":"world"}\n\ndata: two\ndata: lines\n\n: keep-alive\nretry: 1500\n\n',
  );
});

both('a streamed response concatenates strings and bytes', makeApp, async (client) => {
  assert.equal(await (await client.fetch('/chunks')).text(), 'abc');
});

test('event fields cannot inject other fields through newlines', () => {
  assert.equal(formatSse({ event: 'a\ndata: evil', data: 'x' }), 'event: a data: evil\ndata: x\n\n');
});

test('a cancelled stream runs the generator cleanup', async () => {
  let cleaned = false;
  const res = stream(
    (async function* () {
      try {
        for (;;) yield 'x';
      } finally {
        cleaned = true;
      }
    })(),
  );
  const reader = res.body!.getReader();
  await reader.read();
  await reader.cancel();
  assert.equal(cleaned, true);
});

test('setHeader copies a response whose headers are immutable', () => {
  const original = Response.redirect('http://127.0.0.1/x', 302);
  const res = setHeader(original, 'x-b', '1');
  assert.notEqual(res, original);
  assert.equal(res.headers.get('x-b'), '1');
  assert.equal(res.headers.get('location'), 'http://127.0.0.1/x');
});

test('redirect refuses a location with CR/LF (no response splitting)', () => {
  assert.throws(() => redirect('/a\r\nset-cookie: x=1'));
});
