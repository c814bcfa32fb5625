// The engine's lazy Request against undici's Request: same method, url, headers, body readers,
// clone, bodyUsed and signal, and `new Request(incoming, init)` as `new Request(request, init)`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BODY_READERS, readBody, settle } from '../../test/helpers/body-readers.ts';
import { installGlobals, uninstallGlobals } from './globals.ts';
import { IncomingRequest, NativeRequest } from './incoming-request.ts';
import { type BodyOwner, RequestBody } from './request-body.ts';

const owner: BodyOwner = { bodyDemand() {}, bodyDrained() {} };
const enc = new TextEncoder();

interface Case {
  method: string;
  path: string;
  headers: [string, string][];
  body: string;
  splits: number[];
}

/** The light request as the connection builds it: raw fields, a body arriving in pieces later. */
function light(c: Case): Request {
  const bytes = Buffer.from(enc.encode(c.body));
  const hasBody = bytes.length > 0 && c.method !== 'GET' && c.method !== 'HEAD';
  const body = hasBody ? new RequestBody(owner, bytes.length) : null;
  const signal = new AbortController().signal;
  const raw = c.headers.flat();
  const req = new IncomingRequest(c.method, `http://a.test${c.path}`, raw, body, { signal }, c.path);
  if (body !== null) {
    // Bytes arrive after the handler started, in the pieces the socket gave.
    setImmediate(() => {
      let at = 0;
      for (const s of [...c.splits, bytes.length]) {
        const end = Math.min(bytes.length, Math.max(at, s));
        if (end > at) body.push(bytes.subarray(at, end));
        at = end;
      }
      body.end();
    });
  }
  return req as unknown as Request;
}

function native(c: Case): Request {
  const hasBody = c.body.length > 0 && c.method !== 'GET' && c.method !== 'HEAD';
  return new NativeRequest(`http://a.test${c.path}`, {
    method: c.method,
    headers: c.headers,
    body: hasBody ? enc.encode(c.body) : null,
  });
}

const READERS = [...BODY_READERS, 'none'] as const;

async function read(r: Request, how: (typeof READERS)[number]): Promise<unknown> {
  if (how === 'none') return null;
  if (how !== 'clone') return readBody(r, how);
  const c = r.clone();
  return [c.method, c.url, [...c.headers], await c.text(), await r.text()];
}

async function observe(r: Request, how: (typeof READERS)[number]): Promise<string> {
  const before = {
    method: r.method,
    url: r.url,
    headers: [...r.headers],
    bodyUsed: r.bodyUsed,
    hasBody: r.body !== null,
    isRequest: r instanceof NativeRequest,
    signal: r.signal instanceof AbortSignal && !r.signal.aborted,
    redirect: r.redirect,
    mode: r.mode,
  };
  const first = await settle(() => read(r, how));
  const after = { bodyUsed: r.bodyUsed };
  const second = await settle(() => r.text());
  return JSON.stringify({ before, first, after, second });
}

const token = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'FOO');
const field = fc.tuple(
  fc.constantFrom('Content-Type', 'content-type', 'X-A', 'x-a', 'Accept', 'Cookie'),
  fc.constantFrom(
    'text/plain',
    'Text/Plain; Charset=UTF-8',
    'application/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=b',
    'a=1',
    'caf\u00e9',
    '',
  ),
);
const body = fc.oneof(
  fc.constantFrom('', '{"a":1}', 'a=1&b=%C3%A9', '\ufeffbom', 'not json', 'caf\u00e9'),
  fc.constant('--b\r\nContent-Disposition: form-data; name="k"\r\n\r\nv\r\n--b--\r\n'),
  fc.string({ maxLength: 20 }),
);
const kase: fc.Arbitrary<Case> = fc.record({
  method: token,
  path: fc.constantFrom('/', '/a/b?x=1&y=%20', '/caf%C3%A9'),
  headers: fc.array(field, { maxLength: 3 }),
  body,
  splits: fc.array(fc.nat({ max: 30 }), { maxLength: 3 }),
});

describe('IncomingRequest against undici Request', () => {
  test('method, url, headers, body readers, clone and bodyUsed behave as undici does', async () => {
    await fc.assert(
      fc.asyncProperty(kase, fc.constantFrom(...READERS), async (c, how) => {
        assert.equal(await observe(light(c), how), await observe(native(c), how));
      }),
      { numRuns: 400 },
    );
  });

  test('new Request(incoming, init) behaves as new Request(request, init)', async () => {
    installGlobals();
    try {
      await fc.assert(
        fc.asyncProperty(
          kase,
          fc.option(fc.record({ method: token, headers: fc.array(field, { maxLength: 2 }) }, { requiredKeys: [] }), {
            nil: undefined,
          }),
          fc.constantFrom(...READERS),
          async (c, init, how) => {
            const make = (r: Request) => () => new Request(r, init);
            const l = await settle(make(light(c)));
            const n = await settle(make(native(c)));
            if ('ok' in (l as object) && 'ok' in (n as object)) {
              const lr = (l as { ok: Request }).ok;
              const nr = (n as { ok: Request }).ok;
              assert.equal(await observe(lr, how), await observe(nr, how));
            } else assert.deepEqual(l, n);
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      uninstallGlobals();
    }
  });
});
