import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { App } from '../../src/handlers/app/app.ts';
import { json } from '../../src/handlers/app/respond.ts';
import { receiveMultipart, receiveRaw } from '../../src/handlers/app/uploads.ts';
import { createContext } from '../../src/testing.ts';
import { both, loadServe } from './harness.ts';
import { RawConnection } from '../helpers/raw-client.ts';

const parent = mkdtempSync(join(tmpdir(), 'foyer-upload-test-'));
after(() => rmSync(parent, { recursive: true, force: true }));

function makeApp(seen: string[] = []): App {
  const limits = { dir: parent, maxFileSize: 1000, maxTotalSize: 1500, maxFiles: 3, maxFields: 5 };
  return new App()
    .post('/upload', async (req, ctx) => {
      const up = await receiveMultipart(req, ctx, limits);
      const files = up.files.map((f) => {
        seen.push(f.path);
        return { field: f.field, name: f.filename, size: f.size, content: readFileSync(f.path, 'utf8') };
      });
      return json({ fields: up.fields, files });
    })
    .put('/raw', async (req, ctx) => {
      const up = await receiveRaw(req, ctx, limits);
      const f = up.files[0]!;
      seen.push(f.path);
      return json({ size: f.size, content: readFileSync(f.path, 'utf8') });
    });
}

/** Waits for deferred cleanups: they run after the response, via waitUntil. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50 && readdirSync(parent).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

both('multipart files are streamed to temp files and removed after the request', makeApp, async (client) => {
  const form = new FormData();
  form.append('title', 'two files');
  form.append('a', new File(['alpha'], '../../etc/passwd', { type: 'text/plain' }));
  form.append('b', new File(['beta!'], 'b.txt'));
  const res = await client.fetch('/upload', { method: 'POST', body: form });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { fields: unknown; files: Array<{ name: string; size: number; content: string }> };
  assert.deepEqual(body.fields, { title: 'two files' });
  assert.deepEqual(
    body.files.map((f) => [f.name, f.size, f.content]),
    [
      ['passwd', 5, 'alpha'],
      ['b.txt', 5, 'beta!'],
    ],
  );
  await settle();
  assert.deepEqual(readdirSync(parent), []);
});

both('a file over the per-file limit is a 413 and leaves no temp file', makeApp, async (client) => {
  const form = new FormData();
  form.append('a', new File(['x'.repeat(1001)], 'big.bin'));
  const res = await client.fetch('/upload', { method: 'POST', body: form });
  assert.equal(res.status, 413);
  await settle();
  assert.deepEqual(readdirSync(parent), []);
});

both('files together over the total limit are a 413', makeApp, async (client) => {
  const form = new FormData();
  form.append('a', new File(['x'.repeat(900)], 'a.bin'));
  form.append('b', new File(['y'.repeat(900)], 'b.bin'));
  const res = await client.fetch('/upload', { method: 'POST', body: form });
  assert.equal(res.status, 413);
  await settle();
  assert.deepEqual(readdirSync(parent), []);
});

both('too many files are a 413', makeApp, async (client) => {
  const form = new FormData();
  for (let i = 0; i < 4; i++) form.append(`f${i}`, new File(['x'], `${i}.txt`));
  assert.equal((await client.fetch('/upload', { method: 'POST', body: form })).status, 413);
  await settle();
  assert.deepEqual(readdirSync(parent), []);
});

both('a raw body is streamed to one temp file with a limit', makeApp, async (client) => {
  const ok = await client.fetch('/raw', { method: 'PUT', body: 'raw bytes here' });
  assert.deepEqual(await ok.json(), { size: 14, content: 'raw bytes here' });
  const big = await client.fetch('/raw', { method: 'PUT', body: 'z'.repeat(1001) });
  assert.equal(big.status, 413);
  await settle();
  assert.deepEqual(readdirSync(parent), []);
});

test('a raw body without Content-Length is still cut at the limit', async () => {
  const body = new ReadableStream({
    pull(c) {
      c.enqueue(new Uint8Array(300));
    },
  });
  const req = new Request('http://127.0.0.1/', { method: 'PUT', body, duplex: 'half' } as RequestInit);
  const ctx = createContext();
  await assert.rejects(receiveRaw(req, ctx, { dir: parent, maxFileSize: 1000 }), /Upload exceeds/);
  assert.deepEqual(readdirSync(parent), []);
});

test('cleanup() removes the files at once and is idempotent', async () => {
  const form = new FormData();
  form.append('a', new File(['keep?'], 'a.txt'));
  const req = new Request('http://127.0.0.1/', { method: 'POST', body: form });
  const up = await receiveMultipart(req, undefined, { dir: parent });
  const path = up.files[0]!.path;
  assert.ok(existsSync(path));
  await up.cleanup();
  await up.cleanup();
  assert.equal(existsSync(path), false);
});

both('a truncated multipart body is a 400 and leaves no temp file', makeApp, async (client) => {
  const body = '--XX\r\nContent-Disposition: form-data; name="a"; filename="a.txt"\r\n\r\npartial content without end';
  const res = await client.fetch('/upload', {
    method: 'POST',
    headers: { 'content-type': 'multipart/form-data; boundary=XX' },
    body,
  });
  assert.equal(res.status, 400);
  await settle();
  assert.deepEqual(readdirSync(parent), []);
});

both('a multipart upload with a non-multipart type is a 415', makeApp, async (client) => {
  const res = await client.fetch('/upload', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
  assert.equal(res.status, 415);
});

test('a client that disconnects mid-upload leaves no temp file', { timeout: 10_000 }, async (_t) => {
  const serve = await loadServe();
  let reject!: (e: unknown) => void;
  const failed = new Promise((_, r) => (reject = r));
  const app = makeApp();
  const server = await serve({
    fetch: (req, ctx) =>
      app
        .handle(req, ctx, () => Promise.resolve(new Response('none')))
        .catch((e) => {
          reject(e);
          return new Response('failed', { status: 500 });
        }),
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
  });
  try {
    const { port } = new URL(server.url);
    const socket = await RawConnection.open(Number(port));
    const head =
      'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n';
    socket.send(`${head}--XX\r\nContent-Disposition: form-data; name="a"; filename="a.txt"\r\n\r\n${'x'.repeat(500)}`);
    // Wait until the temp directory exists, i.e. the upload has started writing.
    for (let i = 0; i < 200 && readdirSync(parent).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(readdirSync(parent).length, 1);
    socket.destroy();
    await failed.catch(() => {});
    await settle();
    assert.deepEqual(readdirSync(parent), []);
  } finally {
    await server.close(1000);
  }
});
