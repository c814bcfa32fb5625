import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Server } from '../../src/server.ts';
import { exchange, firstResponse, RawConnection, statuses } from '../helpers/raw-client.ts';
import { sleep, start } from '../helpers/loopback-server.ts';

describe('request bodies', () => {
  let server: Server;
  before(async () => {
    server = await start(
      async (req) => {
        const path = new URL(req.url).pathname;
        if (path === '/echo') return new Response(await req.text());
        if (path === '/json') return Response.json({ got: await req.json() });
        if (path === '/count') {
          let n = 0;
          const reader = req.body!.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            n += value.byteLength;
          }
          return new Response(String(n));
        }
        if (path === '/form') {
          const f = await req.formData();
          return new Response(String(f.get('a')));
        }
        return new Response('ignored the body');
      },
      { limits: { maxBodySize: 8 * 1024 * 1024 } },
    );
  });
  after(() => server.close(500));

  test('reads a Content-Length body', async () => {
    const r = firstResponse(
      (await exchange(server.address.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello')).text,
    );
    assert.equal(r.body, 'hello');
  });

  test('reads a chunked body with extensions and trailers', async () => {
    const raw =
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nhel\r\n2\r\nlo\r\n0\r\nX-T: 1\r\n\r\n';
    const r = firstResponse((await exchange(server.address.port, raw)).text);
    assert.equal(r.body, 'hello');
  });

  test('reads a body that arrives one byte at a time', async () => {
    const raw = 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    const r = await exchange(server.address.port, raw.split(''), { gapMs: 1 });
    assert.equal(firstResponse(r.text).body, 'hello');
  });

  test('parses JSON bodies', async () => {
    const body = '{"a":[1,2]}';
    const r = firstResponse(
      (
        await exchange(
          server.address.port,
          `POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        )
      ).text,
    );
    assert.equal(r.body, '{"got":{"a":[1,2]}}');
  });

  test('parses urlencoded forms through the real Request', async () => {
    const body = 'a=b%20c';
    const raw = `POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    assert.equal(firstResponse((await exchange(server.address.port, raw)).text).body, 'b c');
  });

  test('streams a large body through req.body', async () => {
    const size = 3 * 1024 * 1024;
    const raw = Buffer.concat([
      Buffer.from(`POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`),
      Buffer.alloc(size, 97),
    ]);
    const r = await exchange(server.address.port, raw, { quietMs: 1000 });
    assert.equal(firstResponse(r.text).body, String(size));
  });

  test('skips an unread body so the next pipelined request is parsed at the right byte', async () => {
    const raw =
      'POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nGET /evil H' +
      'GET /echo HTTP/1.1\r\nHost: x\r\n\r\n';
    const r = await exchange(server.address.port, raw);
    assert.deepEqual(statuses(r.text), [200, 200]);
    assert.doesNotMatch(r.text, /evil/);
  });

  test('rejects a malformed chunk with 400 and closes', async () => {
    const raw = 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n';
    const r = await exchange(server.address.port, raw);
    assert.deepEqual(statuses(r.text), [400]);
    assert.equal(r.closed, true);
  });

  test('sends 100 Continue when the handler reads a body that was expected', async () => {
    const s = await RawConnection.open(server.address.port);
    s.send('POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    await s.until((got) => got.includes('100 Continue'));
    assert.match(s.text, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    s.send('hello');
    await s.until((got) => got.includes('hello'));
    s.destroy();
    assert.deepEqual(statuses(s.text), [100, 200]);
    assert.match(s.text, /hello$/);
  });

  test('answers without 100 Continue and closes when the handler ignores an expected body', async () => {
    const r = await exchange(
      server.address.port,
      'POST /ignore HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
    );
    assert.deepEqual(statuses(r.text), [200]);
    assert.equal(r.closed, true);
    // RFC 9110 §10.1.1: the server says it will close, so the client sends no request after it.
    assert.match(r.text, /\r\nconnection: close\r\n/i);
  });

  test('answers 417 to an expectation it does not know', async () => {
    const r = await exchange(
      server.address.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 5\r\n\r\nhello',
    );
    assert.deepEqual(statuses(r.text), [417]);
  });
});

describe('request body backpressure', () => {
  test('a handler that stops reading stops the client, and everything arrives once it reads again', async () => {
    const size = 32 * 1024 * 1024;
    let release: () => void = () => {};
    const resumed = new Promise<void>((r) => {
      release = r;
    });
    let firstChunk = false;
    const s = await start(
      async (req) => {
        const reader = req.body!.getReader();
        let n = 0;
        const first = await reader.read();
        n += first.value?.byteLength ?? 0;
        firstChunk = true;
        await resumed; // the handler stops reading here
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          n += value.byteLength;
        }
        return new Response(String(n));
      },
      { limits: { maxBodySize: size } },
    );
    try {
      const client = await RawConnection.open(s.address.port);
      const socket = client.socket;
      socket.write(`POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
      const chunk = Buffer.alloc(1024 * 1024, 97);
      for (let i = 0; i < size / chunk.length; i++) socket.write(chunk);
      for (let i = 0; i < 200 && !firstChunk; i++) await sleep(10);
      await sleep(300);
      // The server stopped reading: the kernel buffers filled and the rest waits in the client.
      assert.ok(socket.writableLength > 8 * 1024 * 1024, `client still holds ${socket.writableLength} bytes`);
      release();
      await client.until((got) => got.includes('\r\n\r\n'), 5000);
      socket.destroy();
      assert.equal(firstResponse(client.text).body, String(size));
    } finally {
      await s.close(500);
    }
  });
});
