import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
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
      throw new Error('after the clock was read'); // rendered as a 500 by the engine
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
  // The read is over: the clock is Date.now() again.
  const before = Date.now();
  assert.ok(ahead(60_000, readClock) >= before + 60_000);
});

/** Sends `raw` on `socket` and resolves with what comes back until a pause of 100 ms. */
function ask(socket: Socket, raw: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => {
        socket.off('data', onData);
        resolve(text);
      }, 100);
    };
    socket.on('data', onData);
    socket.write(raw);
  });
}

test('each read has its own time: the clock is not kept from one read to the next', async () => {
  const seen: number[] = [];
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    fetch: () => {
      seen.push(readClock());
      return new Response('ok');
    },
  });
  const real = Date.now;
  const socket = createConnection(server.address.port, '127.0.0.1');
  try {
    const request = 'GET / HTTP/1.1\r\nhost: a\r\n\r\n';
    assert.match(await ask(socket, request), /^HTTP\/1\.1 200 /);
    Date.now = () => real() + 60_000;
    assert.match(await ask(socket, request), /^HTTP\/1\.1 200 /);
  } finally {
    Date.now = real;
    socket.destroy();
    await server.close();
  }
  assert.equal(seen.length, 2);
  assert.ok(seen[1]! - seen[0]! >= 60_000, 'the second read is timed by the clock it was read with');
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
    // One write of 56 bytes: on loopback one segment, taken by one read.
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
