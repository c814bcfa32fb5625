import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Server } from '../../src/server.ts';
import { exchange, firstResponse, statuses } from '../helpers/raw-client.ts';
import { sleep, start } from '../helpers/loopback-server.ts';

describe('keep-alive and pipelining', () => {
  let server: Server;
  before(async () => {
    server = await start(async (req) => {
      const url = new URL(req.url);
      if (url.pathname === '/slow') await sleep(150);
      if (url.pathname === '/async') await sleep(1);
      return new Response(`path=${url.pathname}`);
    });
  });
  after(() => server.close(500));

  test('answers several requests on one HTTP/1.1 connection', async () => {
    const r = await exchange(
      server.address.port,
      ['GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n'],
      { gapMs: 30 },
    );
    assert.deepEqual(statuses(r.text), [200, 200]);
    assert.match(r.text, /path=\/a[\s\S]*path=\/b/);
    assert.equal(r.closed, false, 'the connection stays open between requests');
  });

  test('closes an HTTP/1.0 connection after one response unless keep-alive is asked for', async () => {
    const plain = await exchange(server.address.port, 'GET / HTTP/1.0\r\n\r\nGET /second HTTP/1.0\r\n\r\n');
    assert.deepEqual(statuses(plain.text), [200]);
    assert.equal(plain.closed, true);
    const ka = await exchange(server.address.port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    assert.equal(firstResponse(ka.text).headers.get('connection'), 'keep-alive');
    assert.equal(ka.closed, false);
  });

  test('Connection: close ends the connection and ignores bytes after it', async () => {
    const r = await exchange(
      server.address.port,
      'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.deepEqual(statuses(r.text), [200]);
    assert.equal(firstResponse(r.text).headers.get('connection'), 'close');
    assert.equal(r.closed, true);
  });

  test('writes pipelined responses in request order even when the first handler is slowest', async () => {
    const r = await exchange(
      server.address.port,
      'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /async HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n',
      { quietMs: 400 },
    );
    const order = [...r.text.matchAll(/path=(\/[a-z]+)/g)].map((m) => m[1]);
    assert.deepEqual(order, ['/slow', '/async', '/fast']);
  });

  test('answers sixteen pipelined requests sent in one write', async () => {
    const one = 'GET /p HTTP/1.1\r\nHost: x\r\n\r\n';
    const r = await exchange(server.address.port, one.repeat(16));
    assert.equal(statuses(r.text).length, 16);
  });

  test('ignores empty lines before a request line (RFC 9112 §2.2)', async () => {
    const r = await exchange(
      server.address.port,
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.deepEqual(statuses(r.text), [200, 200]);
  });

  test('closes after maxRequestsPerConnection requests', async () => {
    const s = await start(() => new Response('ok'), { limits: { maxRequestsPerConnection: 2 } });
    try {
      const one = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
      const r = await exchange(s.address.port, one.repeat(3));
      assert.deepEqual(statuses(r.text), [200, 200]);
      assert.match(r.text, /connection: close/);
      assert.equal(r.closed, true);
    } finally {
      await s.close(500);
    }
  });

  test('stops reading past maxPipelinedRequests and still answers every request', async () => {
    let running = 0;
    let most = 0;
    const s = await start(
      async () => {
        running++;
        most = Math.max(most, running);
        await sleep(5);
        running--;
        return new Response('ok');
      },
      { limits: { maxPipelinedRequests: 2 } },
    );
    try {
      const r = await exchange(s.address.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(10), { quietMs: 500 });
      assert.equal(statuses(r.text).length, 10);
      assert.ok(most <= 2, `at most 2 handlers ran at once, saw ${most}`);
    } finally {
      await s.close(500);
    }
  });
});
