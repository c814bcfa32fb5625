// A response body that fails. Before its first byte nothing was written: the client gets a 500
// and the requests pipelined behind it are answered. After bytes left, the connection is cut:
// a truncated body must never pass for a complete one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NativeResponse } from '../../src/reception/light-response.ts';
import type { Server } from '../../src/server.ts';
import { exchange, firstResponse, statuses } from '../helpers/raw-client.ts';
import { start } from '../helpers/loopback-server.ts';

const enc = new TextEncoder();

async function usedBody(): Promise<Response> {
  const r = new NativeResponse('already read');
  await r.text();
  return r;
}

const FAILING: Record<string, () => Response | Promise<Response>> = {
  '/pull-throws': () =>
    new Response(
      new ReadableStream({
        pull() {
          throw new Error('no data today');
        },
      }),
    ),
  '/pull-rejects': () =>
    new Response(
      new ReadableStream({
        async pull() {
          await null;
          throw new Error('no data today');
        },
      }),
    ),
  '/start-errors': () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.error(new Error('broken from the start'));
        },
      }),
    ),
  '/string-chunk': () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue('not bytes' as unknown as Uint8Array);
          c.close();
        },
      }),
    ),
  '/locked': () => {
    const s = new ReadableStream({
      start(c) {
        c.enqueue(enc.encode('x'));
        c.close();
      },
    });
    s.getReader();
    return new Response(s);
  },
  '/used': usedBody,
  '/declared-too-long': () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(enc.encode('12345'));
          c.close();
        },
      }),
      { headers: { 'content-length': '2' } },
    ),
};

describe('a response body that fails', () => {
  let server: Server;
  before(async () => {
    server = await start((req) => {
      const path = new URL(req.url).pathname;
      if (path === '/late-failure') {
        let n = 0;
        return new Response(
          new ReadableStream({
            async pull(c) {
              await new Promise((r) => setTimeout(r, 5));
              if (n++ === 0) c.enqueue(enc.encode('partial'));
              else throw new Error('failed mid-body');
            },
          }),
        );
      }
      return FAILING[path]?.() ?? new Response('next');
    });
  });
  after(() => server.close(500));

  for (const path of Object.keys(FAILING)) {
    test(`before its first byte (${path.slice(1)}): 500, and the pipelined request behind it is answered`, async () => {
      const r = await exchange(
        server.address.port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n`,
        { quietMs: 1000 }, // a kept connection: done when nothing more comes
      );
      assert.deepEqual(statuses(r.text), [500, 200]);
      assert.ok(r.text.endsWith('next'));
      assert.equal(r.closed, false);
    });
  }

  test('before its first byte on a connection that closes: 500, then the close', async () => {
    const r = await exchange(server.address.port, 'GET /pull-throws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(statuses(r.text), [500]);
    assert.match(firstResponse(r.text).headers.get('connection') ?? '', /close/);
    assert.equal(r.closed, true);
  });

  test('after bytes were written: the connection is cut, nothing else is sent', async () => {
    const r = await exchange(
      server.address.port,
      'GET /late-failure HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.deepEqual(statuses(r.text), [200]);
    assert.match(r.text, /transfer-encoding: chunked[\s\S]*partial\r\n$/);
    assert.equal(r.closed, true);
  });
});

describe('fetch Responses of known size', () => {
  let server: Server;
  before(async () => {
    server = await start((req) => {
      switch (new URL(req.url).pathname) {
        case '/string':
          return new NativeResponse('hello');
        case '/bytes':
          return new NativeResponse(new Uint8Array([1, 2, 3]));
        case '/blob':
          return new NativeResponse(new Blob(['blob!'], { type: 'text/x-blob' }));
        case '/params':
          return new NativeResponse(new URLSearchParams({ a: '1', b: 'é' }));
        default:
          return new Response(new Blob(['light blob']));
      }
    });
  });
  after(() => server.close(500));

  test('go out with a Content-Length, not chunked', async () => {
    const cases: [string, string][] = [
      ['/string', '5'],
      ['/bytes', '3'],
      ['/blob', '5'],
      ['/params', '12'],
      ['/light-blob', '10'],
    ];
    // Node 24+ streams a native Blob body over more than one event-loop turn, and a native Response
    // does not tell its source: there it goes out chunked (correct framing, as node:http does). A
    // light Response keeps its Blob, whose size is the Content-Length on every line.
    const blobIsSlow = Number(process.versions.node.split('.')[0]) >= 24;
    for (const [path, length] of cases) {
      const r = firstResponse((await exchange(server.address.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)).text);
      if (path === '/blob' && blobIsSlow) {
        assert.equal(r.body.length, Number(length), path);
        continue;
      }
      assert.equal(r.headers.get('transfer-encoding'), undefined, path);
      assert.equal(r.headers.get('content-length'), length, path);
    }
  });
});
