import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BODY_READERS, readBody, settle } from '../../test/helpers/body-readers.ts';
import { nastyChar } from '../../test/helpers/nasty-chars.ts';
import { LightResponse, NativeResponse } from './light-response.ts';

const Light = LightResponse as unknown as typeof Response;

describe('LightResponse', () => {
  test('a Response built from another keeps its status once the body is read', async () => {
    for (const make of [
      () => new Light('x', { status: 418, statusText: 'teapot', headers: { a: 'b' } }),
      () => new NativeResponse('x', { status: 418, statusText: 'teapot', headers: { a: 'b' } }),
    ]) {
      const copy = new Light(make().body, make());
      // What Hono's cors() and Foyer's compression do: touch the headers, then read the body.
      copy.headers.set('x-after', '1');
      assert.equal(await copy.clone().text(), 'x');
      assert.equal(copy.status, 418);
      assert.equal(copy.statusText, 'teapot');
      assert.equal(copy.headers.get('a'), 'b');
      assert.equal(copy.headers.get('x-after'), '1');
    }
  });

  test('reads its init once: later changes to the init object change nothing', () => {
    const headers: Record<string, string> = { a: '1' };
    const init = { status: 201, headers };
    const r = new Light('x', init);
    init.status = 500;
    headers.b = '2';
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('b'), null);
  });
});

// ── differential: the light Response against undici's, for any body, init and sequence of reads ──

const enc = new TextEncoder();
type Body = ConstructorParameters<typeof Response>[0];
type Recipe = { kind: string; text: string; type: string };
const BODY_KINDS = [
  'string',
  'arraybuffer',
  'uint8array',
  'int16array',
  'dataview',
  'blob',
  'urlsearchparams',
  'formdata',
  'stream',
  'null',
  'undefined',
  'number',
  'object',
] as const;

function makeBody(r: Recipe): unknown {
  const bytes = enc.encode(r.text);
  switch (r.kind) {
    case 'string':
      return r.text;
    case 'arraybuffer':
      return bytes.buffer.slice(0);
    case 'uint8array':
      return bytes;
    case 'int16array':
      return new Int16Array(bytes.buffer.slice(0, bytes.byteLength - (bytes.byteLength % 2)));
    case 'dataview':
      return new DataView(bytes.buffer.slice(0));
    case 'blob':
      return new Blob([bytes], { type: r.type });
    case 'urlsearchparams':
      return new URLSearchParams({ k: r.text, t: r.type });
    case 'formdata': {
      const f = new FormData();
      f.append('k', r.text);
      return f;
    }
    case 'stream':
      return new ReadableStream({
        start(c) {
          if (bytes.byteLength > 0) c.enqueue(bytes);
          c.close();
        },
      });
    case 'null':
      return null;
    case 'undefined':
      return undefined;
    case 'number':
      return 42;
    default:
      return { toString: () => r.text };
  }
}

const nastyText = fc.oneof(
  fc.constantFrom('', 'hello', '{"a":[1,2]}', 'null', '\ufeff{"bom":1}', 'caf\u00e9', '\ud800', 'a=1&b=2'),
  fc.string({ maxLength: 12 }),
);
const recipe = fc.record({
  kind: fc.constantFrom(...BODY_KINDS),
  text: nastyText,
  type: fc.constantFrom('', 'text/plain', 'Application/JSON; Charset=UTF-8', 'multipart/form-data'),
});
/** Header values where validators go wrong, as a table (also used below) and as random strings. */
const NASTY_VALUES = [
  'v',
  ' padded ',
  '\t\r\n trimmed \r\n',
  'caf\u00e9',
  '\u00ff',
  '\u0100',
  '\u010d\u010aSet-Cookie: a=b',
  'a\r\nb',
  'a\rb',
  'a\nb',
  'a\u0000b',
  'a\u0001b',
  'a\u007fb',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\ud83d\ude00',
  'application/json',
  '',
];
const headerValue = fc.oneof(fc.constantFrom(...NASTY_VALUES), fc.string({ unit: nastyChar, maxLength: 6 }));
const headerName = fc.constantFrom('x-a', 'X-A', 'content-type', 'set-cookie', 'bad name', 'x-\u00e9', '');
const headersInit = fc.oneof(
  fc.constant(undefined),
  fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }).map((pairs) => ({ shape: 'array', pairs })),
  fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }).map((pairs) => ({ shape: 'object', pairs })),
  fc
    .array(fc.tuple(fc.constantFrom('x-a', 'content-type'), fc.constantFrom('1', 'text/html')), { maxLength: 2 })
    .map((pairs) => ({ shape: 'headers', pairs })),
);
const init = fc.option(
  fc.record(
    {
      status: fc.constantFrom(
        200,
        201,
        204,
        205,
        304,
        404,
        418,
        599,
        199,
        600,
        0,
        101,
        103,
        '201',
        201.7,
        Number.NaN,
        65736,
      ),
      statusText: fc.constantFrom('', 'OK', 'Teapot', 'caf\u00e9', 'bad\r\n', '\u0100', ' x '),
      headers: headersInit,
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
const READERS = BODY_READERS;

type Init = { status?: unknown; statusText?: string; headers?: { shape: string; pairs: [string, string][] } };
function makeInit(i: Init | undefined): ResponseInit | undefined {
  if (i === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if ('status' in i) out.status = i.status;
  if ('statusText' in i) out.statusText = i.statusText;
  const h = i.headers;
  if (h !== undefined) {
    if (h.shape === 'array') out.headers = h.pairs;
    else if (h.shape === 'object') out.headers = Object.fromEntries(h.pairs);
    else out.headers = new Headers(h.pairs);
  }
  return out as ResponseInit;
}

async function read(r: Response, how: (typeof READERS)[number]): Promise<unknown> {
  if (how !== 'clone') return readBody(r, how);
  const c = r.clone();
  return [await c.text(), await r.text(), c.status, c.statusText];
}

/** Everything observable about a Response, after one mutation and two reads. */
async function observe(make: () => Response, how: (typeof READERS)[number], mutate: boolean): Promise<unknown> {
  const built = await settle(make);
  if ('err' in built) return built;
  const r = built.ok;
  const before = {
    status: r.status,
    statusText: r.statusText,
    ok: r.ok,
    type: r.type,
    url: r.url,
    redirected: r.redirected,
    bodyUsed: r.bodyUsed,
    headers: [...r.headers],
    setCookie: r.headers.getSetCookie(),
    isResponse: r instanceof NativeResponse,
  };
  const mutated = mutate ? await settle(() => r.headers.set('x-later', 'yes')) : null;
  const first = await settle(() => read(r, how));
  const after = { bodyUsed: r.bodyUsed, status: r.status, headers: [...r.headers] };
  const second = await settle(() => r.text());
  // A FormData body's boundary is random: name it the same on both sides.
  return JSON.stringify({ before, mutated, first, after, second }).replace(/formdata-undici-\d+/g, 'BOUNDARY');
}

describe('LightResponse against undici Response', () => {
  test('accepts and refuses the same header values in every init shape (table)', () => {
    const outcome = (f: () => Response) => {
      try {
        const r = f();
        return JSON.stringify([...r.headers]);
      } catch (e) {
        return (e as Error).name;
      }
    };
    for (const v of NASTY_VALUES)
      for (const name of ['location', 'X-\u00e9', 'x\u0100', 'bad name'])
        for (const shape of [
          (C: typeof Response) => new C(null, { status: 302, headers: { [name]: v } }),
          (C: typeof Response) => new C(null, { status: 204, headers: [[name, v]] }),
          (C: typeof Response) => new C('x', { status: 200, headers: [[name, v]] }),
          (C: typeof Response) => {
            const r = new C(null, { status: 304 });
            r.headers.append(name, v);
            return r;
          },
        ])
          assert.equal(
            outcome(() => shape(Light)),
            outcome(() => shape(NativeResponse)),
            `${name}: ${JSON.stringify(v)}`,
          );
  });

  test('constructs, reads, clones and fails as undici does, from every BodyInit and init', async () => {
    await fc.assert(
      fc.asyncProperty(recipe, init, fc.constantFrom(...READERS), fc.boolean(), async (rec, i, how, mutate) => {
        const native = await observe(() => new NativeResponse(makeBody(rec) as Body, makeInit(i)), how, mutate);
        const light = await observe(() => new Light(makeBody(rec) as Body, makeInit(i)), how, mutate);
        assert.deepEqual(light, native);
      }),
      { numRuns: 400 },
    );
  });

  test('a Response built from another Response behaves as undici does', async () => {
    await fc.assert(
      fc.asyncProperty(recipe, init, fc.constantFrom(...READERS), fc.boolean(), async (rec, i, how, touch) => {
        const from = (C: typeof Response) => () => {
          const base = new C(makeBody(rec) as Body, makeInit(i));
          if (touch) base.headers.set('x-base', '1');
          return new C(base.body, base);
        };
        assert.deepEqual(await observe(from(Light), how, true), await observe(from(NativeResponse), how, true));
      }),
      { numRuns: 300 },
    );
  });

  test('Response.json, Response.redirect and Response.error behave as undici does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.constant(undefined),
          fc.constant(() => 1),
        ),
        init,
        fc.constantFrom('http://a.test/x', '/relative', 'not a url', 'http://a.test/\u010d'),
        fc.constantFrom(301, 302, 303, 307, 308, 200, 399),
        async (data, i, url, status) => {
          const L = Light as unknown as typeof Response;
          for (const [l, n] of [
            [() => L.json(data, makeInit(i)), () => NativeResponse.json(data, makeInit(i))],
            [() => L.redirect(url, status as 301), () => NativeResponse.redirect(url, status as 301)],
            [() => L.error(), () => NativeResponse.error()],
          ] as const) {
            assert.deepEqual(await observe(l, 'text', false), await observe(n, 'text', false));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
