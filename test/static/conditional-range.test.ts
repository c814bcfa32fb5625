import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseRange } from '../../src/handlers/static/range.ts';
import { evaluatePreconditions, etagListMatches, ifRangeMatches } from '../../src/handlers/static/validators.ts';
import type { Server } from '../../src/server.ts';
import { serve } from '../../src/server.ts';
import type { Got, Mw, Tree } from './helpers.ts';
import { get, handler, makeTree } from './helpers.ts';
import { rawGet } from '../helpers/raw-client.ts';

type Send = (path: string, headers?: Record<string, string>, method?: string) => Promise<Got>;

let t: Tree;
let mw: Mw;
let server: Server;
let etag: string;
let lastModified: string;
const PAST = 'Thu, 01 Jan 1970 00:00:00 GMT';
const FUTURE = 'Fri, 01 Jan 2100 00:00:00 GMT';

before(async () => {
  t = makeTree();
  mw = handler(t.root);
  server = await serve({ fetch: mw, port: 0, host: '127.0.0.1', logLevel: 'silent' });
  const r = await get(mw, '/a.txt');
  etag = r.headers.get('etag')!;
  lastModified = r.headers.get('last-modified')!;
});
after(async () => {
  await server.close();
  t.cleanup();
});

// The same matrices in-process and through the engine with raw request bytes (h3's matrix idea).
const inProcess: Send = (path, headers = {}, method = 'GET') => get(mw, path, headers, method);
const overTheWire: Send = async (path, headers = {}, method = 'GET') => {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const r = await rawGet(server.address.port, path, extra, method);
  return { status: r.status, headers: new Headers(r.headers), body: r.body };
};

for (const [transport, send] of [
  ['in-process', inProcess],
  ['over the wire', overTheWire],
] as const) {
  matrices(transport, send);
}

function matrices(transport: string, send: Send): void {
  describe(`conditional requests (RFC 9110 §13.2.2), ${transport}`, () => {
    // [name, headers (functions of the current validators), expected status]
    const matrix: Array<[string, () => Record<string, string>, number]> = [
      ['If-None-Match with the current ETag → 304', () => ({ 'if-none-match': etag }), 304],
      [
        'If-None-Match with the weak form of the ETag → 304 (weak comparison)',
        () => ({ 'if-none-match': `W/${etag}` }),
        304,
      ],
      ['If-None-Match listing the ETag among others → 304', () => ({ 'if-none-match': `"x", ${etag}` }), 304],
      ['If-None-Match: * → 304', () => ({ 'if-none-match': '*' }), 304],
      ['If-None-Match with another ETag → 200', () => ({ 'if-none-match': '"other"' }), 200],
      ['If-Modified-Since at Last-Modified → 304', () => ({ 'if-modified-since': lastModified }), 304],
      ['If-Modified-Since in the past → 200', () => ({ 'if-modified-since': PAST }), 200],
      ['If-Modified-Since that is not a date → 200', () => ({ 'if-modified-since': 'yesterday' }), 200],
      [
        'If-None-Match that fails wins over a matching If-Modified-Since → 200',
        () => ({ 'if-none-match': '"other"', 'if-modified-since': FUTURE }),
        200,
      ],
      ['If-Match with the current ETag → 200', () => ({ 'if-match': etag }), 200],
      ['If-Match: * → 200', () => ({ 'if-match': '*' }), 200],
      ['If-Match with another ETag → 412', () => ({ 'if-match': '"other"' }), 412],
      ['If-Match with the weak form → 412 (strong comparison)', () => ({ 'if-match': `W/${etag}` }), 412],
      ['If-Unmodified-Since in the past → 412', () => ({ 'if-unmodified-since': PAST }), 412],
      ['If-Unmodified-Since in the future → 200', () => ({ 'if-unmodified-since': FUTURE }), 200],
      [
        'If-Match that matches overrides a failing If-Unmodified-Since → 200',
        () => ({ 'if-match': etag, 'if-unmodified-since': PAST }),
        200,
      ],
      ['If-Match failing beats If-None-Match → 412', () => ({ 'if-match': '"x"', 'if-none-match': etag }), 412],
    ];
    for (const [name, headers, status] of matrix) {
      test(name, async () => {
        const r = await send('/a.txt', headers());
        assert.equal(r.status, status);
        if (status === 304) {
          assert.equal(r.body.length, 0);
          assert.equal(r.headers.get('etag'), etag);
          assert.equal(r.headers.get('content-length'), null);
        }
      });
    }
    test('a 304 of a file that varies by encoding still says Vary', async () => {
      const first = await send('/app.js');
      const r = await send('/app.js', { 'if-none-match': first.headers.get('etag')! });
      assert.equal(r.status, 304);
      assert.equal(r.headers.get('vary'), 'Accept-Encoding');
    });
    test('conditionals also apply to streamed large files', async () => {
      const first = await send('/big.bin');
      assert.equal((await send('/big.bin', { 'if-none-match': first.headers.get('etag')! })).status, 304);
    });
    test('etag lists are parsed by quoted string, so a comma inside a tag does not split it', () => {
      assert.equal(etagListMatches('"a,b", "c"', '"a,b"', false), true);
      assert.equal(etagListMatches('"a', '"a"', true), false);
    });
    test('evaluation is pure and follows the RFC order', () => {
      const none = { ifMatch: null, ifNoneMatch: null, ifModifiedSince: null, ifUnmodifiedSince: null };
      assert.equal(evaluatePreconditions(none, '"e"', 0), 'proceed');
      assert.equal(evaluatePreconditions({ ...none, ifNoneMatch: '"e"', ifMatch: '"e"' }, '"e"', 0), 'not-modified');
    });
  });

  describe(`range requests (RFC 9110 §14), ${transport}`, () => {
    const body = (r: Got) => r.body.toString();
    test('bytes=0-2 → 206 with Content-Range', async () => {
      const r = await send('/a.txt', { range: 'bytes=0-2' });
      assert.equal(r.status, 206);
      assert.equal(body(r), 'hel');
      assert.equal(r.headers.get('content-range'), 'bytes 0-2/6');
      assert.equal(r.headers.get('content-length'), '3');
    });
    test('bytes=2- → the rest of the file', async () => {
      const r = await send('/a.txt', { range: 'bytes=2-' });
      assert.equal(body(r), 'llo\n');
      assert.equal(r.headers.get('content-range'), 'bytes 2-5/6');
    });
    test('bytes=-2 → the last two bytes', async () => {
      const r = await send('/a.txt', { range: 'bytes=-2' });
      assert.equal(body(r), 'o\n');
      assert.equal(r.headers.get('content-range'), 'bytes 4-5/6');
    });
    test('a suffix longer than the file → the whole file as 206', async () => {
      const r = await send('/a.txt', { range: 'bytes=-100' });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-range'), 'bytes 0-5/6');
    });
    test('an end past the file is clamped', async () => {
      assert.equal((await send('/a.txt', { range: 'bytes=4-999' })).headers.get('content-range'), 'bytes 4-5/6');
    });
    test('a start past the end → 416 with Content-Range: bytes */size', async () => {
      const r = await send('/a.txt', { range: 'bytes=6-' });
      assert.equal(r.status, 416);
      assert.equal(r.headers.get('content-range'), 'bytes */6');
    });
    test('malformed or foreign-unit ranges are ignored → 200', async () => {
      for (const range of ['bytes=2-1', 'bytes=a-b', 'items=0-1', 'bytes=', 'bytes=--1', 'bytes 0-1']) {
        const r = await send('/a.txt', { range });
        assert.equal(r.status, 200, range);
        assert.equal(body(r), 'hello\n');
      }
    });
    test('several ranges → multipart/byteranges with one part per range', async () => {
      const r = await send('/a.txt', { range: 'bytes=0-0,4-5' });
      assert.equal(r.status, 206);
      const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(r.headers.get('content-type')!);
      assert.ok(m);
      const b = m[1];
      assert.equal(r.headers.get('content-length'), String(r.body.length));
      assert.equal(
        body(r),
        `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-0/6\r\n\r\nh` +
          `\r\n--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 4-5/6\r\n\r\no\n\r\n--${b}--\r\n`,
      );
    });
    test('overlapping ranges are merged into one part', async () => {
      const r = await send('/a.txt', { range: 'bytes=0-2,1-3' });
      assert.equal(r.headers.get('content-range'), 'bytes 0-3/6');
      assert.equal(body(r), 'hell');
    });
    test('multipart ranges of a streamed large file carry the right bytes', async () => {
      const r = await send('/big.bin', { range: 'bytes=10-19,200000-200009' });
      assert.equal(r.status, 206);
      const parts = r.body.toString('latin1');
      assert.ok(parts.includes(t.bigBin.subarray(10, 20).toString('latin1')));
      assert.ok(parts.includes(t.bigBin.subarray(200000, 200010).toString('latin1')));
      assert.equal(r.headers.get('content-length'), String(r.body.length));
    });
    test('a single range of a streamed large file', async () => {
      const r = await send('/big.bin', { range: 'bytes=100000-165535' });
      assert.ok(r.body.equals(t.bigBin.subarray(100000, 165536)));
    });
    test('too many ranges are ignored → 200', async () => {
      const many = Array.from({ length: 20 }, (_, i) => `${i}-${i}`).join(',');
      assert.equal((await get(handler(t.root, { maxRanges: 16 }), '/a.txt', { range: `bytes=${many}` })).status, 200);
    });
    test('If-Range with the current ETag → 206', async () => {
      assert.equal((await send('/a.txt', { range: 'bytes=0-0', 'if-range': etag })).status, 206);
    });
    test('If-Range with another ETag → 200 with the whole file', async () => {
      const r = await send('/a.txt', { range: 'bytes=0-0', 'if-range': '"stale"' });
      assert.equal(r.status, 200);
      assert.equal(body(r), 'hello\n');
    });
    test('If-Range with the Last-Modified date → 206, another date → 200', async () => {
      assert.equal((await send('/a.txt', { range: 'bytes=0-0', 'if-range': lastModified })).status, 206);
      assert.equal((await send('/a.txt', { range: 'bytes=0-0', 'if-range': PAST })).status, 200);
    });
    test('ranges can be switched off', async () => {
      const r = await get(handler(t.root, { ranges: false }), '/a.txt', { range: 'bytes=0-0' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('accept-ranges'), null);
    });
    test('HEAD with a Range answers the 206 headers without a body', async () => {
      const r = await send('/big.bin', { range: 'bytes=0-9' }, 'HEAD');
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-length'), '10');
      assert.equal(r.body.length, 0);
    });
    test('the parser merges, sorts and rejects by the rules', () => {
      assert.deepEqual(parseRange('bytes=5-6, 0-1', 10, 16), [
        { start: 0, end: 1 },
        { start: 5, end: 6 },
      ]);
      assert.deepEqual(parseRange('bytes=0-1,2-3', 10, 16), [{ start: 0, end: 3 }]);
      assert.equal(parseRange('bytes=0-0', 0, 16), 'unsatisfiable');
      assert.equal(parseRange('bytes=-0', 10, 16), 'unsatisfiable');
      assert.equal(ifRangeMatches(`W/"x"`, '"x"', 0), false);
    });
  });
}
