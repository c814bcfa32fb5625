import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Server } from '../../src/server.ts';
import type { Limits } from '../../src/reception/limits.ts';
import { exchange, RawConnection, statuses } from '../helpers/raw-client.ts';
import { sleep, start } from '../helpers/loopback-server.ts';

/** A server that reads every body, then answers 200, under the given limits. */
function bodyReader(limits: Partial<Limits>): Promise<Server> {
  return start(
    async (req) => {
      if (req.body) await req.arrayBuffer();
      return new Response('ok');
    },
    { limits },
  );
}

describe('limits', () => {
  let server: Server;
  before(async () => {
    server = await bodyReader({ maxRequestLineSize: 64, maxHeaderSize: 512, maxHeaderCount: 5, maxBodySize: 100 });
  });
  after(() => server.close(500));

  const cases: [string, string, number][] = [
    ['request line over the limit → 414', `GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    ['request line over the limit, still arriving → 414', `GET /${'a'.repeat(100)}`, 414],
    ['header block over the limit → 431', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(600)}\r\n\r\n`, 431],
    [
      'header block over the limit, still arriving → 431',
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(600)}`,
      431,
    ],
    ['more header fields than allowed → 431', `GET / HTTP/1.1\r\nHost: x\r\n${'A: 1\r\n'.repeat(6)}\r\n`, 431],
    ['Content-Length over the body limit → 413', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n', 413],
    [
      'Content-Length with 16 digits → 413',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000\r\n\r\n',
      413,
    ],
    [
      'chunked body over the body limit → 413',
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n${'x'.repeat(100)}\r\n1\r\nx\r\n0\r\n\r\n`,
      413,
    ],
    [
      'a chunk size that would overflow → 413',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n',
      413,
    ],
  ];
  for (const [name, raw, status] of cases) {
    test(name, async () => {
      const r = await exchange(server.address.port, raw);
      assert.deepEqual(statuses(r.text), [status]);
      assert.match(r.text, /connection: close/);
      assert.equal(r.closed, true);
    });
  }

  test('a body exactly at the limit is accepted', async () => {
    const r = await exchange(
      server.address.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`,
    );
    assert.deepEqual(statuses(r.text), [200]);
  });
});

describe('timeouts', () => {
  let server: Server;
  before(async () => {
    server = await bodyReader({ headersTimeout: 200, keepAliveTimeout: 200, bodyTimeout: 200, minBodyRate: 1000 });
  });
  after(() => server.close(500));

  test('a head that does not arrive in time gets 408 and the connection closes (slowloris)', async () => {
    const r = await exchange(server.address.port, 'GET / HTTP/1.1\r\nHost: x\r\n', { quietMs: 2000 });
    assert.deepEqual(statuses(r.text), [408]);
    assert.equal(r.closed, true);
  });

  test('an idle keep-alive connection is closed without a response', async () => {
    const r = await exchange(server.address.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { quietMs: 2000 });
    assert.deepEqual(statuses(r.text), [200]);
    assert.equal(r.closed, true);
  });

  test('a connection busy with back-to-back requests is never cut by the keep-alive timeout', async () => {
    // The idle deadline starts when a connection goes idle, every time: an app that answers within
    // the same turn (no await) must not leave the first idle moment's deadline armed, or a busy
    // connection is closed under a client that is already sending its next request (ECONNRESET).
    const net = await import('node:net');
    const sync = await start(() => new Response('ok'), { limits: { keepAliveTimeout: 200 } });
    try {
      const s = net.connect({ host: '127.0.0.1', port: sync.address.port });
      let answered = 0;
      let closed = false;
      let text = '';
      // On a starved machine this client itself may pause past the timeout between two reads; the
      // server may then rightly close. Only a close after no such pause is the bug.
      let last = Date.now();
      let longestPause = 0;
      s.on('data', (c: Buffer) => {
        const now = Date.now();
        longestPause = Math.max(longestPause, now - last);
        last = now;
        text += c.toString('latin1');
        for (let i = text.indexOf('\r\n\r\nok'); i >= 0; i = text.indexOf('\r\n\r\nok')) {
          text = text.slice(i + 6);
          answered++;
          // Five keep-alive timeouts' worth of requests, each sent as soon as the last is answered.
          if (Date.now() < until && answered < 100_000) s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
          else s.end();
        }
      });
      const ended = new Promise<void>((r) => s.on('close', () => r()));
      s.on('end', () => (closed = Date.now() < until));
      const until = Date.now() + 1000;
      s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await ended;
      if (longestPause < 100)
        assert.equal(closed, false, `the server closed a busy connection after ${answered} responses`);
      assert.ok(answered > 1);
    } finally {
      await sync.close(500);
    }
  });

  // A handler that keeps the thread for longer than the timeout, synchronously.
  const spin = (ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end; );
  };

  // Deadlines that start while a read is handled count from the end of that read's work (one clock
  // read per read), and one that starts later, outside any read, from the clock: either way the
  // keep-alive timeout runs from the answer, however long the handler took (1.5 s past a 1 s timeout).
  const lateAnswers: [string, () => Response | Promise<Response>][] = [
    [
      'an answer that comes after an await',
      async () => {
        await sleep(1500);
        return new Response('ok');
      },
    ],
    [
      'a handler that ran synchronously past it',
      () => {
        spin(1500);
        return new Response('ok');
      },
    ],
  ];
  for (const [what, handler] of lateAnswers) {
    test(`the keep-alive timeout starts at the answer, after ${what}`, async () => {
      const slow = await start(handler, { limits: { keepAliveTimeout: 1000, headersTimeout: 10_000 } });
      try {
        const c = await RawConnection.open(slow.address.port);
        c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.ok(await c.until((t) => statuses(t).length === 1, 10_000), 'the first answer came');
        // Well inside the keep-alive timeout, counted from the answer.
        await sleep(300);
        c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.ok(await c.until((t) => statuses(t).length === 2, 10_000), `the second request was answered: ${c.text}`);
        assert.deepEqual(statuses(c.text), [200, 200]);
        c.destroy();
      } finally {
        await slow.close(500);
      }
    });
  }

  test('the body window starts after a handler that ran synchronously past the body timeout', async () => {
    const busy = await start(
      async (req) => {
        spin(1500);
        return new Response(`got ${(await req.arrayBuffer()).byteLength}`);
      },
      { limits: { bodyTimeout: 1000, headersTimeout: 10_000 } },
    );
    try {
      const c = await RawConnection.open(busy.address.port);
      c.send(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(10)}`);
      // Sent as soon as the spin lets this (same-process) client run: well inside the window.
      await sleep(300);
      c.send('b'.repeat(990));
      assert.ok(await c.until((t) => statuses(t).length === 1, 10_000), 'an answer came');
      assert.deepEqual(statuses(c.text), [200], c.text);
      assert.match(c.text, /got 1000$/);
      c.destroy();
    } finally {
      await busy.close(500);
    }
  });

  test('a connection that never sends anything is closed', async () => {
    const r = await exchange(server.address.port, '', { quietMs: 2000 });
    assert.equal(r.text, '');
    assert.equal(r.closed, true);
  });

  test('a body that stops arriving gets 408 and the connection closes', async () => {
    const r = await exchange(server.address.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', {
      quietMs: 2000,
    });
    assert.deepEqual(statuses(r.text), [408]);
    assert.equal(r.closed, true);
  });
});

describe('slow readers', () => {
  test('a client that stops reading a large response is cut after sendTimeout', async () => {
    const _net = await import('node:net');
    const chunk = new Uint8Array(64 * 1024);
    let pulled = 0;
    const s = await start(
      () =>
        new Response(
          new ReadableStream({
            pull(c) {
              pulled++;
              if (pulled > 4096)
                c.close(); // 256 MiB at most: bounded even if the cut failed
              else c.enqueue(chunk);
            },
          }),
        ),
      { limits: { sendTimeout: 200 } },
    );
    try {
      const { socket } = await RawConnection.open(s.address.port);
      socket.pause(); // never read
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      // A paused client cannot see the close; the server's side can.
      for (let i = 0; i < 100 && s.connections > 0; i++) await sleep(50);
      const connections = s.connections;
      socket.destroy();
      assert.equal(connections, 0, 'the server dropped the connection');
      assert.ok(pulled < 4096, 'the server stopped producing the body');
    } finally {
      await s.close(500);
    }
  });
});

describe('the headers timeout and a full pipeline', () => {
  test('time the server spent not reading (a full pipeline) does not count against the next head', async () => {
    // One request at a time: the second head waits, half read, while the first is answered, far
    // longer than the headers timeout; its rest comes once the first response is out.
    const s = await start(
      async (req) => {
        if (new URL(req.url).pathname === '/1') await sleep(1200);
        return new Response('ok');
      },
      { limits: { maxPipelinedRequests: 1, headersTimeout: 400 } },
    );
    try {
      const { socket } = await RawConnection.open(s.address.port);
      let text = '';
      let sent = false;
      const done = new Promise<void>((resolve) => {
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (!sent && text.includes('\r\n\r\nok')) {
            sent = true;
            setTimeout(() => socket.write('st: x\r\n\r\n'), 100);
          }
          if ((text.match(/HTTP\/1\.1 /g) ?? []).length >= 2) resolve();
        });
        socket.on('close', () => resolve());
      });
      socket.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHo');
      await done;
      socket.destroy();
      assert.deepEqual(statuses(text), [200, 200]);
    } finally {
      await s.close(500);
    }
  });

  test('a client that drips empty lines cannot hold a connection open', async () => {
    // RFC 9112 §2.2 lets a client send empty lines before a request line; sent a byte at a time
    // (a CR, then its LF with the next CR), they must not restart the headers timeout or the
    // keep-alive one each time, or two bytes per timeout keep a connection forever (slowloris).
    const s = await start(() => new Response('ok'), { limits: { headersTimeout: 300, keepAliveTimeout: 600 } });
    try {
      const { socket } = await RawConnection.open(s.address.port);
      let closed = false;
      socket.on('close', () => (closed = true));
      socket.on('error', () => {});
      socket.write('\r');
      for (let i = 0; i < 20 && !closed; i++) {
        await sleep(150);
        if (!closed) socket.write('\n\r');
      }
      socket.destroy();
      assert.equal(closed, true, 'the connection was still open after 3 s of empty lines');
    } finally {
      await s.close(500);
    }
  });

  /** A server with these limits and a connection to it that has had one response. */
  async function keptAlive(limits: Partial<Limits>): Promise<{ s: Server; c: RawConnection }> {
    const s = await start(() => new Response('ok'), { limits });
    const c = await RawConnection.open(s.address.port);
    c.send('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(await c.until((t) => statuses(t).length === 1, 5000));
    return { s, c };
  }

  test('a kept-alive client that idles past the headers timeout, then splits an empty line, is answered', async () => {
    // RFC 9112 §2.2: the empty line is not a head; its lone CR must not start (or date) the
    // headers timeout. Timed from the previous head, it got a 408 at once (noted in session 9).
    const { s, c } = await keptAlive({ headersTimeout: 300, keepAliveTimeout: 5000 });
    try {
      await sleep(500); // idle, longer than the headers timeout, well within the keep-alive one
      c.send('\r');
      await sleep(400); // longer than the sweep's period (75 ms): a deadline that fell due has fired
      c.send('\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.ok(await c.until((t) => statuses(t).length === 2, 5000), c.text);
      assert.deepEqual(statuses(c.text), [200, 200]);
      c.destroy();
    } finally {
      await s.close(500);
    }
  });

  test("a connection holding only an empty line's CR is idle: counted so, and closed at once by a graceful close", async () => {
    const { s, c } = await keptAlive({ headersTimeout: 60_000, keepAliveTimeout: 60_000 });
    try {
      c.send('\r');
      await sleep(200); // on loopback the CR has been read long before
      const states = s.connectionStates();
      assert.deepEqual({ idle: states.idle, reading: states.reading }, { idle: 1, reading: 0 });
      // Graceful close ends idle connections now; one taken for a head in progress would be waited
      // for (here: up to the 60 s timeouts, far past the bound below).
      const closing = s.close(60_000);
      assert.ok(await c.untilClosed(10_000), 'the connection was not closed');
      await closing;
    } finally {
      await s.close(500);
    }
  });
});
