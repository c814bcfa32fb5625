import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from '../../src/handlers/app/app.ts';
import { readBytes, readForm, readJson, readText } from '../../src/handlers/app/body.ts';
import { json, text } from '../../src/handlers/app/respond.ts';
import { isHttpError } from '../../src/util/errors.ts';
import { both } from './harness.ts';

function makeApp(): App {
  return new App()
    .post('/json', async (req) => json({ got: await readJson(req, { limit: 64 }) }))
    .post('/text', async (req) => text(await readText(req, { limit: 16 })))
    .post('/form', async (req) => {
      const form = await readForm(req, { limit: 1024 });
      const out: Record<string, string> = {};
      for (const [k, v] of form) out[k] = typeof v === 'string' ? v : `file:${v.name}:${v.size}:${await v.text()}`;
      return json(out);
    });
}

const jsonHeaders = { 'content-type': 'application/json' };

both('a JSON body is parsed', makeApp, async (client) => {
  const res = await client.fetch('/json', { method: 'POST', headers: jsonHeaders, body: '{"a":[1,2]}' });
  assert.deepEqual(await res.json(), { got: { a: [1, 2] } });
});

both('malformed JSON is a 400 that does not echo the body', makeApp, async (client) => {
  const res = await client.fetch('/json', {
    method: 'POST',
    headers: { ...jsonHeaders, accept: 'application/json' },
    body: '{"a": <script>',
  });
  assert.equal(res.status, 400);
  const body = await res.text();
  assert.match(body, /FOYER_BAD_JSON/);
  assert.doesNotMatch(body, /script/);
});

both('an empty JSON body is a 400', makeApp, async (client) => {
  const res = await client.fetch('/json', { method: 'POST', headers: jsonHeaders, body: '' });
  assert.equal(res.status, 400);
});

both('JSON with a non-JSON content type is a 415', makeApp, async (client) => {
  const res = await client.fetch('/json', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
  assert.equal(res.status, 415);
});

both('a body over the route limit is a 413', makeApp, async (client) => {
  const res = await client.fetch('/json', {
    method: 'POST',
    headers: jsonHeaders,
    body: JSON.stringify('x'.repeat(100)),
  });
  assert.equal(res.status, 413);
  assert.equal((await client.fetch('/text', { method: 'POST', body: '0123456789abcdefg' })).status, 413);
  assert.equal(
    await (await client.fetch('/text', { method: 'POST', body: '0123456789abcdef' })).text(),
    '0123456789abcdef',
  );
});

both('an urlencoded form is parsed', makeApp, async (client) => {
  const res = await client.fetch('/form', { method: 'POST', body: new URLSearchParams({ name: 'Ada', lang: 'en' }) });
  assert.deepEqual(await res.json(), { name: 'Ada', lang: 'en' });
});

both('a multipart form with a file is parsed in memory', makeApp, async (client) => {
  const form = new FormData();
  form.append('title', 'hello');
  form.append('doc', new File(['file body'], 'a.txt', { type: 'text/plain' }));
  const res = await client.fetch('/form', { method: 'POST', body: form });
  assert.deepEqual(await res.json(), { title: 'hello', doc: 'file:a.txt:9:file body' });
});

both('a malformed multipart body is a 400', makeApp, async (client) => {
  const res = await client.fetch('/form', {
    method: 'POST',
    headers: { 'content-type': 'multipart/form-data' },
    body: 'garbage',
  });
  assert.equal(res.status, 400);
});

both('a multipart form over the limit is a 413', makeApp, async (client) => {
  const form = new FormData();
  form.append('big', new File(['x'.repeat(4096)], 'big.bin'));
  const res = await client.fetch('/form', { method: 'POST', body: form });
  assert.equal(res.status, 413);
});

test('a declared Content-Length over the limit is refused before reading', async () => {
  let pulled = false;
  const body = new ReadableStream({
    pull(c) {
      pulled = true;
      c.enqueue(new Uint8Array(10));
      c.close();
    },
  });
  const req = new Request('http://127.0.0.1/', {
    method: 'POST',
    body,
    headers: { 'content-length': '999999' },
    duplex: 'half',
  } as RequestInit);
  await assert.rejects(readBytes(req, { limit: 100 }), (e: unknown) => isHttpError(e) && e.status === 413);
  assert.equal(pulled, false);
});

test('a streamed body is cut off as soon as it passes the limit', async () => {
  let chunks = 0;
  const body = new ReadableStream({
    pull(c) {
      chunks++;
      c.enqueue(new Uint8Array(100));
    },
  });
  const req = new Request('http://127.0.0.1/', { method: 'POST', body, duplex: 'half' } as RequestInit);
  await assert.rejects(readBytes(req, { limit: 250 }), (e: unknown) => isHttpError(e) && e.status === 413);
  assert.ok(chunks <= 5, `read ${chunks} chunks of an endless body`);
});
