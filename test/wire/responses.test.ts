import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Server } from '../../src/server.ts';
import { HttpError } from '../../src/util/errors.ts';
import { exchange, firstResponse, statuses } from '../helpers/raw-client.ts';
import { start } from '../helpers/loopback-server.ts';

const enc = new TextEncoder();
function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

/** A stream whose parts each arrive a few milliseconds apart: its length is unknown when the head leaves. */
function slowStreamOf(...parts: string[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(c) {
      await new Promise((r) => setTimeout(r, 5));
      if (i < parts.length) c.enqueue(enc.encode(parts[i++]));
      else c.close();
    },
  });
}

describe('response framing', () => {
  let server: Server;
  before(async () => {
    server = await start((req) => {
      const path = new URL(req.url).pathname;
      switch (path) {
        case '/text':
          return new Response('héllo');
        case '/bytes':
          return new Response(new Uint8Array([1, 2, 3]), { headers: { 'content-type': 'application/octet-stream' } });
        case '/stream':
          return new Response(streamOf('ab', 'cd'));
        case '/stream-slow':
          return new Response(slowStreamOf('ab', 'cd'));
        case '/stream-length':
          return new Response(streamOf('ab', 'cd'), { headers: { 'content-length': '4' } });
        case '/stream-short':
          return new Response(streamOf('ab'), { headers: { 'content-length': '4' } });
        case '/stream-short-late':
          return new Response(slowStreamOf('ab', ''), { headers: { 'content-length': '4' } });
        case '/no-content':
          return new Response(null, { status: 204 });
        case '/not-modified':
          return new Response(null, { status: 304, headers: { etag: '"x"' } });
        case '/header-injection':
          return new Response('x', { headers: { 'x-bad': 'a\r\nset-cookie: evil=1' } });
        case '/bad-name':
          return new Response('x', { headers: [['bad name', 'v']] });
        case '/throw':
          throw new Error('secret stack detail');
        case '/http-error':
          throw new HttpError(418, 'short and stout');
        case '/bad-status-error':
          throw new HttpError(1000, 'not a status');
        case '/status-text-injection':
          return new Response('x', { statusText: 'OK\r\nset-cookie: evil=1' });
        case '/not-a-response':
          return 'oops' as unknown as Response;
        case '/cookies': {
          const h = new Headers();
          h.append('set-cookie', 'a=1');
          h.append('set-cookie', 'b=2');
          return new Response('c', { headers: h });
        }
        case '/te':
          return new Response('x', { headers: { 'transfer-encoding': 'gzip', 'content-length': '99' } });
        default:
          return new Response('ok');
      }
    });
  });
  after(() => server.close(500));
  const get = (path: string, extra = '', version = '1.1') =>
    exchange(server.address.port, `GET ${path} HTTP/${version}\r\nHost: x\r\n${extra}\r\n`);

  test('sends Content-Length in bytes for a string body and a default content type', async () => {
    const r = firstResponse((await get('/text')).text);
    assert.equal(r.headers.get('content-length'), '6');
    assert.equal(r.headers.get('content-type'), 'text/plain;charset=UTF-8');
    assert.ok(r.headers.has('date'));
  });

  test('sends byte bodies as they are', async () => {
    const r = await get('/bytes');
    assert.ok(r.bytes.subarray(r.bytes.length - 3).equals(Buffer.from([1, 2, 3])));
  });

  test('streams a body of unknown length with chunked coding on HTTP/1.1', async () => {
    const r = firstResponse((await get('/stream-slow')).text);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    assert.equal(r.headers.get('content-length'), undefined);
    assert.equal(r.body, 'abcd');
  });

  test('sends a stream that is complete at once with a Content-Length', async () => {
    for (const version of ['1.1', '1.0']) {
      const r = firstResponse((await get('/stream', '', version)).text);
      assert.equal(r.headers.get('transfer-encoding'), undefined);
      assert.equal(r.headers.get('content-length'), '4');
      assert.equal(r.body, 'abcd');
    }
  });

  test('ends a streamed body by closing the connection on HTTP/1.0', async () => {
    const r = await get('/stream-slow', '', '1.0');
    const res = firstResponse(r.text);
    assert.equal(res.headers.get('transfer-encoding'), undefined);
    assert.equal(res.body, 'abcd');
    assert.equal(r.closed, true);
  });

  test('uses a declared Content-Length for a stream', async () => {
    const r = firstResponse((await get('/stream-length')).text);
    assert.equal(r.headers.get('content-length'), '4');
    assert.equal(r.body, 'abcd');
  });

  test('answers 500 when a stream is shorter than its Content-Length before anything was sent', async () => {
    const r = await exchange(
      server.address.port,
      'GET /stream-short HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.deepEqual(statuses(r.text), [500, 200]);
  });

  test('closes the connection when a stream ends short of its Content-Length after bytes were sent', async () => {
    const r = await get('/stream-short-late');
    assert.deepEqual(statuses(r.text), [200]);
    assert.ok(r.text.endsWith('\r\n\r\nab'), 'the head and the two bytes, then the cut');
    assert.equal(r.closed, true);
  });

  test('sends no body for HEAD but the length GET would have', async () => {
    const r = await exchange(
      server.address.port,
      'HEAD /text HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const [head, next] = [
      r.text.slice(0, r.text.indexOf('\r\n\r\n') + 4),
      r.text.slice(r.text.indexOf('\r\n\r\n') + 4),
    ];
    assert.match(head, /content-length: 6\r\n/);
    assert.ok(next.startsWith('HTTP/1.1 200'), 'the next response follows the head directly');
  });

  test('sends no body and no length for 204', async () => {
    const r = await exchange(
      server.address.port,
      'GET /no-content HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.deepEqual(statuses(r.text), [204, 200]);
    assert.doesNotMatch(r.text.split('\r\n\r\n')[0]!, /content-length/);
  });

  test('sends no body for 304', async () => {
    const r = await exchange(
      server.address.port,
      'GET /not-modified HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.deepEqual(statuses(r.text), [304, 200]);
  });

  test('answers 500 instead of writing a header value with CR/LF', async () => {
    const r = await get('/header-injection');
    assert.deepEqual(statuses(r.text), [500]);
    assert.doesNotMatch(r.text, /evil/);
  });

  test('answers 500 for a header name that is not a token', async () => {
    assert.deepEqual(statuses((await get('/bad-name')).text), [500]);
  });

  test('answers 500 without the stack when the handler throws, and keeps the connection', async () => {
    const r = await exchange(
      server.address.port,
      'GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.deepEqual(statuses(r.text), [500, 200]);
    assert.doesNotMatch(r.text, /secret stack detail/);
  });

  test('answers an HttpError with its status and message', async () => {
    const r = firstResponse((await get('/http-error')).text);
    assert.equal(r.status, 418);
    assert.match(r.body, /short and stout/);
  });

  test('answers 500 when an HttpError carries a status that is not an error status', async () => {
    const r = await get('/bad-status-error');
    assert.deepEqual(statuses(r.text), [500]);
    assert.doesNotMatch(r.text, /not a status/);
  });

  test('refuses a statusText with CR/LF: 500, never a split response', async () => {
    const r = await get('/status-text-injection');
    assert.deepEqual(statuses(r.text), [500]);
    assert.doesNotMatch(r.text, /evil/);
  });

  test('answers 500 when the handler returns something that is not a Response', async () => {
    assert.deepEqual(statuses((await get('/not-a-response')).text), [500]);
  });

  test('sends each Set-Cookie on its own line', async () => {
    const r = await get('/cookies');
    assert.equal([...r.text.matchAll(/set-cookie: /g)].length, 2);
  });

  test('replaces framing headers set by the handler with its own', async () => {
    const r = firstResponse((await get('/te')).text);
    assert.equal(r.headers.get('transfer-encoding'), undefined);
    assert.equal(r.headers.get('content-length'), '1');
  });

  test('answers HTTP/1.1 to a higher 1.x minor version', async () => {
    const r = await get('/', '', '1.7');
    assert.deepEqual(statuses(r.text), [200]);
  });
});

describe('HEAD responses', () => {
  test('keep the Content-Length a handler declares with no body', async () => {
    const s = await start(() => new Response(null, { headers: { 'content-length': '1234' } }));
    try {
      const r = await exchange(s.address.port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const [head, rest] = r.text.split(/\r\n\r\n/, 2);
      assert.match(head!, /content-length: 1234\r\n|content-length: 1234$/);
      assert.ok(rest!.startsWith('HTTP/1.1 200'), 'no body follows the HEAD response');
      assert.match(r.text.slice(r.text.indexOf('HTTP/1.1 200', 10)), /content-length: 0/, 'GET with no body says 0');
    } finally {
      await s.close(500);
    }
  });
});

describe('HEAD answered from a GET response, as Hono does (new Response(null, getResponse))', () => {
  test('carries the GET body length, or no length, never a 0 it does not know', async () => {
    const s = await start((req) => {
      const get = new URL(req.url).pathname === '/known' ? new Response('twelve bytes') : new Response(null);
      return req.method === 'HEAD' ? new Response(null, get) : get;
    });
    try {
      const known = await exchange(s.address.port, 'HEAD /known HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(known.text, /content-length: 12\r\n/);
      const unknown = await exchange(
        s.address.port,
        'HEAD /unknown HTTP/1.1\r\nHost: x\r\n\r\nGET /known HTTP/1.1\r\nHost: x\r\n\r\n',
      );
      assert.deepEqual(statuses(unknown.text), [200, 200]);
      assert.doesNotMatch(unknown.text.split('\r\n\r\n')[0]!, /content-length/);
    } finally {
      await s.close(500);
    }
  });
});
