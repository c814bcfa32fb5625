import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { test } from 'node:test';
import { rateLimit } from '../access/rate-limit.ts';
import { serve } from '../server.ts';
import { readClock } from './read-clock.ts';

/** Runs `fn` with Date.now() `ms` ahead of the real clock. */
function ahead<T>(ms: number, fn: () => T): T {
  const real = Date.now;
  Date.now = () => real() + ms;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

test('a handler run from a read decides with the read time; outside a read the clock is read anew', async () => {
  let during: [number, number] | undefined;
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    fetch: () => {
      during = [readClock(), ahead(60_000, readClock)];
      throw new Error('after the clock was read');
    },
  });
  try {
    const res = await fetch(`http://127.0.0.1:${server.address.port}/`);
    assert.equal(res.status, 500);
    await res.arrayBuffer();
  } finally {
    await server.close();
  }
  assert.ok(during !== undefined);
  assert.equal(during[1], during[0], 'the same read time, whatever Date.now() says meanwhile');
  // The handler threw, and the read is over: the clock is Date.now() again.
  const before = Date.now();
  assert.ok(ahead(60_000, readClock) >= before + 60_000);
});

test("the rate limit's table is timed by the read: a later request of the same read sees no time pass", async () => {
  // One request per second, no burst, keyed by the client's address. Two requests pipelined in one
  // write; the first one's handler moves Date.now() two seconds on: timed by the read, the second
  // is still refused (timed by Date.now(), it would be let through).
  const limit = rateLimit({ rate: '1r/s' });
  const real = Date.now;
  let calls = 0;
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    fetch: (req, ctx) =>
      limit(req, ctx, () => {
        calls++;
        Date.now = () => real() + 2_000;
        return Promise.resolve(new Response('ok'));
      }),
  });
  try {
    const socket = createConnection(server.address.port, '127.0.0.1');
    const request = 'GET / HTTP/1.1\r\nhost: a\r\n\r\n';
    socket.end(request + request);
    let text = '';
    for await (const chunk of socket) text += chunk;
    assert.match(text, /^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 429 /);
  } finally {
    Date.now = real;
    await server.close();
  }
  assert.equal(calls, 1);
});
