import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { App } from '../../src/handlers/app/app.ts';
import { compress, compressor } from '../../src/handlers/app/compress.ts';
import { kReal, LightResponse } from '../../src/reception/light-response.ts';
import { json, sse, stream, text } from '../../src/handlers/app/respond.ts';
import { preferredEncoding } from '../../src/util/negotiate.ts';
import { both } from './harness.ts';
import { createContext } from '../../src/testing.ts';

const big = 'hello compression '.repeat(200);

function makeApp(): App {
  return new App()
    .use(compress({ threshold: 100 }))
    .get('/big', () => text(big))
    .get('/small', () => text('tiny'))
    .get('/json', () => json({ items: Array.from({ length: 100 }, (_, i) => ({ i, name: `item ${i}` })) }))
    .get('/png', () => new Response(new Uint8Array(5000), { headers: { 'content-type': 'image/png' } }))
    .get(
      '/encoded',
      () => new Response(zlib.gzipSync(big), { headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' } }),
    )
    .get('/no-transform', () => text(big, { headers: { 'cache-control': 'public, no-transform' } }))
    .get('/range', () =>
      text(big.slice(0, 500), { status: 206, headers: { 'content-range': `bytes 0-499/${big.length}` } }),
    )
    .get('/etag', () => text(big, { headers: { etag: '"abc"' } }))
    .get('/streamed', () =>
      stream(
        (async function* () {
          for (let i = 0; i < 50; i++) yield `line ${i} ${'x'.repeat(100)}\n`;
        })(),
        { headers: { 'content-type': 'text/plain' } },
      ),
    );
}

function decode(enc: string | null, body: Buffer): string {
  if (enc === 'br') return zlib.brotliDecompressSync(body).toString();
  if (enc === 'gzip') return zlib.gunzipSync(body).toString();
  if (enc === 'deflate') return zlib.inflateSync(body).toString();
  return body.toString();
}

async function get(client: { fetch(p: string, i?: RequestInit): Promise<Response> }, path: string, ae: string) {
  const res = await client.fetch(path, { headers: { 'accept-encoding': ae } });
  const body = Buffer.from(await res.arrayBuffer());
  return { res, body, enc: res.headers.get('content-encoding') };
}

both('compresses with the coding the client prefers by q-value', makeApp, async (client) => {
  for (const [ae, expected] of [
    ['gzip, deflate, br', 'br'],
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['deflate', 'deflate'],
    ['br;q=0, *;q=0.1', 'gzip'],
  ] as const) {
    const { res, body, enc } = await get(client, '/big', ae);
    assert.equal(enc, expected, ae);
    assert.equal(decode(enc, body), big);
    assert.ok(body.length < big.length / 5);
    assert.equal(res.headers.get('vary'), 'Accept-Encoding');
  }
});

both('does not compress when the client accepts no offered coding', makeApp, async (client) => {
  for (const ae of ['identity', 'br;q=0, gzip;q=0, deflate;q=0', '']) {
    const { res, body, enc } = await get(client, '/big', ae);
    assert.equal(enc, null, ae);
    assert.equal(body.toString(), big);
    assert.equal(res.headers.get('vary'), 'Accept-Encoding');
  }
});

both('leaves small, incompressible, encoded, no-transform and partial responses alone', makeApp, async (client) => {
  assert.equal((await get(client, '/small', 'gzip')).enc, null);
  assert.equal((await get(client, '/png', 'gzip')).enc, null);
  const encoded = await get(client, '/encoded', 'br');
  assert.equal(encoded.enc, 'gzip');
  assert.equal(zlib.gunzipSync(encoded.body).toString(), big);
  assert.equal((await get(client, '/no-transform', 'gzip')).enc, null);
  const range = await get(client, '/range', 'gzip');
  assert.equal(range.enc, null);
  assert.equal(range.res.status, 206);
});

both('compresses JSON and weakens a strong ETag', makeApp, async (client) => {
  const { body, enc } = await get(client, '/json', 'gzip');
  assert.equal(enc, 'gzip');
  assert.equal(JSON.parse(decode(enc, body)).items.length, 100);
  const tagged = await get(client, '/etag', 'gzip');
  assert.equal(tagged.res.headers.get('etag'), 'W/"abc"');
});

both('compresses a streamed body as it flows', makeApp, async (client) => {
  const { body, enc } = await get(client, '/streamed', 'gzip');
  assert.equal(enc, 'gzip');
  const lines = decode(enc, body).trimEnd().split('\n');
  assert.equal(lines.length, 50);
  assert.match(lines[49] as string, /^line 49 /);
});

test('a compressed event stream delivers the first event before the stream ends', { timeout: 5000 }, async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const app = new App().use(compress({ threshold: 0 })).get('/events', () =>
    sse(
      (async function* () {
        yield { event: 'tick', data: { n: 1 } };
        await gate;
        yield { data: 'done' };
      })(),
    ),
  );
  const res = await app.fetch(new Request('http://127.0.0.1/events', { headers: { 'accept-encoding': 'gzip' } }));
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  const reader = res.body!.getReader();
  const inflate = zlib.createGunzip();
  const seen: string[] = [];
  inflate.on('data', (c: Buffer) => seen.push(c.toString()));
  // Without a flush per event this loop would wait for data that only comes after `release()`,
  // and the test would time out.
  while (!seen.join('').includes('\n\n')) {
    const { value, done } = await reader.read();
    assert.equal(done, false);
    await new Promise<void>((r) => inflate.write(value, () => setImmediate(r)));
  }
  assert.equal(seen.join(''), 'event: tick\ndata: {"n":1}\n\n');
  release();
  await reader.cancel();
});

test('Accept-Encoding negotiation follows RFC 9110 q-values', () => {
  const offers = ['br', 'gzip', 'deflate'];
  assert.equal(preferredEncoding('gzip', offers), 'gzip');
  assert.equal(preferredEncoding('x-gzip', offers), 'gzip');
  assert.equal(preferredEncoding('*', offers), 'br');
  assert.equal(preferredEncoding('*;q=0', offers), undefined);
  assert.equal(preferredEncoding('gzip;q=0.8, deflate;q=0.9', offers), 'deflate');
  assert.equal(preferredEncoding('gzip;q=bogus', offers), undefined);
  assert.equal(preferredEncoding(null, offers), undefined);
});

test('a light response under the minimum is passed on as it is: no Vary, its headers and body never built', () => {
  const shrink = compressor();
  const req = new Request('http://127.0.0.1/', { headers: { 'accept-encoding': 'gzip, br' } });
  for (const body of ['tiny', new Uint8Array(10), null]) {
    const res = new LightResponse(body, { headers: { 'content-type': 'text/plain' } });
    // Synchronous and the same object: no promise, no copy, nothing for the engine to undo.
    assert.equal(shrink(req, res as unknown as Response), res);
    assert.equal(res[kReal], undefined, 'a real Response (body stream) was built');
    assert.equal(res.headers.get('vary'), null);
  }
  const large = new LightResponse('x'.repeat(2000), { headers: { 'content-type': 'text/plain' } });
  assert.ok(shrink(req, large as unknown as Response) instanceof Promise, 'a large body is still compressed');
});

test('without Accept-Encoding a large compressible response only gains Vary: its body is not read', () => {
  const res = new Response(big, { headers: { 'content-type': 'text/plain' } });
  const out = compressor()(new Request('http://127.0.0.1/'), res);
  assert.equal(out, res);
  assert.equal(res.bodyUsed, false);
  assert.equal(res.headers.get('vary'), 'Accept-Encoding');
});

test('compress() called directly takes any next an async middleware would: a Response, a thenable, a throw', async () => {
  // The reference: the middleware as an async function (what it was), with the same compressor.
  const shrink = compressor();
  const reference = async (req: Request, _ctx: unknown, next: () => unknown) =>
    shrink(req, await (next() as Promise<Response>));
  const mw = compress();
  const ctx = createContext();
  const req = () => new Request('http://x/', { headers: { 'accept-encoding': 'gzip' } });
  const nexts: Record<string, () => unknown> = {
    promise: () => Promise.resolve(new Response(big, { headers: { 'content-type': 'text/plain' } })),
    response: () => new Response(big, { headers: { 'content-type': 'text/plain' } }),
    // biome-ignore lint/suspicious/noThenProperty: a thenable is the case under test
    thenable: () => ({ then: (ok: (r: Response) => void) => ok(new Response('small')) }),
    throws: () => {
      throw new Error('boom');
    },
    rejects: () => Promise.reject(new Error('late boom')),
  };
  const outcome = async (call: () => unknown) => {
    let out: unknown;
    try {
      out = call();
    } catch (err) {
      return `sync ${(err as Error).message}`;
    }
    if (!(out instanceof Promise)) return 'not a promise';
    try {
      const res = await out;
      return `${res.status} ${res.headers.get('content-encoding')} ${(await res.arrayBuffer()).byteLength}`;
    } catch (err) {
      return `rejects ${(err as Error).message}`;
    }
  };
  for (const [name, next] of Object.entries(nexts)) {
    assert.equal(
      await outcome(() => mw(req(), ctx, next as never)),
      await outcome(() => reference(req(), ctx, next)),
      name,
    );
  }
});
