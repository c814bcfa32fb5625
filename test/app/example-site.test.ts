// The example application (examples/site/app.ts) does what its page promises.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import app from '../../examples/site/app.ts';
import { both, inProcess } from './harness.ts';

both(
  'the example JSON API lists, creates, reads and deletes notes',
  () => app,
  async (client) => {
    const created = await client.fetch('/api/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: `hello ${client.mode}` }),
    });
    assert.equal(created.status, 201);
    const note = (await created.json()) as { id: number; text: string };
    assert.equal(created.headers.get('location'), `/api/notes/${note.id}`);
    assert.ok(created.headers.get('x-request-id'));
    assert.deepEqual(await (await client.fetch(`/api/notes/${note.id}`)).json(), note);
    const list = (await (await client.fetch('/api/notes')).json()) as unknown[];
    assert.ok(list.length >= 2);
    assert.equal((await client.fetch(`/api/notes/${note.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await client.fetch(`/api/notes/${note.id}`)).status, 404);
    const invalid = await client.fetch('/api/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text": 5}',
    });
    assert.equal(invalid.status, 422);
  },
);

both(
  'the example form post redirects with 303',
  () => app,
  async (client) => {
    const res = await client.fetch('/contact', { method: 'POST', body: new URLSearchParams({ message: 'hi' }) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/?sent=1');
    assert.equal((await client.fetch('/contact', { method: 'POST', body: new URLSearchParams({}) })).status, 400);
  },
);

both(
  'the example upload reports the files it received',
  () => app,
  async (client) => {
    const form = new FormData();
    form.append('file', new File(['abc'], 'a.txt', { type: 'text/plain' }));
    const res = await client.fetch('/upload', { method: 'POST', body: form });
    assert.deepEqual(await res.json(), {
      fields: {},
      files: [{ field: 'file', name: 'a.txt', type: 'text/plain', size: 3 }],
    });
  },
);

both(
  'the example greets by name with the name escaped',
  () => app,
  async (client) => {
    const res = await client.fetch('/hello/%3Cb%3E');
    assert.match(await res.text(), /Hello, &lt;b&gt;!/);
  },
);

// In-process only: the socket client reads whole bodies, and the clock ticks for 10 s.
test('the example clock streams server-sent events', async () => {
  const res = await inProcess(app.fetch).fetch('/clock');
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), /^event: tick\nid: 0\ndata: \{"now":"/);
  await reader.cancel();
});

both(
  'the example hashes a password in a worker thread',
  () => app,
  async (client) => {
    const res = await client.fetch('/hash', { method: 'POST', body: new URLSearchParams({ password: 'hunter2' }) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { hash: string; inWorkerThread: boolean };
    assert.equal(body.inWorkerThread, true);
    assert.equal(Buffer.from(body.hash, 'base64').length, 32);
    const empty = await client.fetch('/hash', { method: 'POST', body: new URLSearchParams({}) });
    assert.equal(empty.status, 422);
  },
);

both(
  'the example logs in, shows the private page only with the session, and logs out',
  () => app,
  async (client) => {
    assert.equal((await client.fetch('/account/private', { redirect: 'manual' })).status, 303);
    const wrong = await client.fetch('/account/login', {
      method: 'POST',
      body: new URLSearchParams({ user: 'demo', password: 'nope' }),
    });
    assert.equal(wrong.status, 401);
    const login = await client.fetch('/account/login', {
      method: 'POST',
      body: new URLSearchParams({ user: 'demo', password: 'demo' }),
      redirect: 'manual',
    });
    assert.equal(login.status, 303);
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const page = await client.fetch('/account/private', { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Hello, demo\./);
    const out = await client.fetch('/account/logout', { method: 'POST', headers: { cookie }, redirect: 'manual' });
    assert.match(out.headers.getSetCookie()[0]!, /Max-Age=0/);
    assert.equal((await client.fetch('/account/private', { headers: { cookie }, redirect: 'manual' })).status, 303);
  },
);
