// Every connection reads into the process's one read buffer (src/reception/shared-reads.ts):
// the bytes of a read are overwritten by the next read of any connection. These tests keep bytes of
// one connection waiting (a head cut by a read's end, a body its handler has not read yet, requests
// behind a full pipeline, an upgraded socket's stream) while other connections read, and check that
// nothing of theirs shows through, over plain TCP and over TLS. Each goes red when the copy it relies
// on is taken out.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { ServeOptions, Server } from '../../src/server.ts';
import { isSharedRead, readIntoShared } from '../../src/reception/shared-reads.ts';
import { exchange, parseResponses, RawConnection } from '../helpers/raw-client.ts';
import { sleep, start } from '../helpers/loopback-server.ts';
import { HALF_CLOSE_GRACE_MS } from '../../src/reception/transaction.ts';
import { makeTestCertificate } from '../helpers/test-certificate.ts';

/** A promise and its resolver: handlers wait on it while other connections read. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

type Open = (port: number, allowHalfOpen?: boolean) => Promise<RawConnection>;

/** Requests on their own connections, each whole, of the same length as `like` but other bytes. */
async function otherTraffic(open: Open, port: number, like: string, times = 5): Promise<void> {
  const filler = like.replace(/[ab]/g, 'z');
  const want = filler.split(' HTTP/1.1\r\n').length - 1;
  for (let i = 0; i < times; i++) {
    const c = await open(port);
    try {
      c.send(filler);
      assert.ok(await c.until((t) => parseResponses(Buffer.from(t, 'latin1')).length >= want, 3000), c.text);
    } finally {
      c.destroy();
    }
  }
}

/** A certificate for the TLS runs (undefined without openssl, which CI installs). */
const cert = makeTestCertificate();
after(() => cert?.remove());

describe('shared read buffer', () => {
  test('an accepted socket reads into it, plain or TLS', async () => {
    const got: boolean[] = [];
    const server = net.createServer((socket) => {
      const switched = readIntoShared(socket, (bytes) => {
        got.push(isSharedRead(bytes) && bytes.toString() === 'ping');
        socket.end('pong');
        return true;
      });
      if (!switched) socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as net.AddressInfo;
      const r = await exchange(port, 'ping');
      assert.equal(r.text, 'pong', 'node 20 to 26 have the onread fields: the switch must take');
      assert.deepEqual(got, [true]);
    } finally {
      server.close();
    }

    if (cert === undefined) return; // openssl is installed wherever CI runs
    const gotTls: boolean[] = [];
    const secure = tls.createServer({ cert: cert.cert, key: cert.key }, (socket) => {
      const switched = readIntoShared(socket, (bytes) => {
        gotTls.push(isSharedRead(bytes) && bytes.toString() === 'ping');
        socket.end('pong');
        return true;
      });
      if (!switched) socket.destroy();
    });
    await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
    try {
      const c = await RawConnection.openTls((secure.address() as net.AddressInfo).port);
      c.send('ping');
      assert.ok(await c.untilClosed(3000));
      assert.equal(c.text, 'pong');
      assert.deepEqual(gotTls, [true]);
    } finally {
      secure.close();
    }
  });

  for (const kind of ['plain', 'tls'] as const) {
    describe(kind, { skip: kind === 'tls' && cert === undefined ? 'openssl not installed' : false }, () => {
      const secure: Partial<ServeOptions> = kind === 'tls' ? { tls: { cert: cert!.cert, key: cert!.key } } : {};
      const open = kind === 'tls' ? RawConnection.openTls : RawConnection.open;

      describe('bytes kept across reads', () => {
        let server: Server;
        let held = gate();
        before(async () => {
          server = await start(
            async (req) => {
              const path = new URL(req.url).pathname;
              if (path.startsWith('/held')) await held.wait;
              const body = req.method === 'POST' ? await req.text() : '';
              return new Response(`${path} ${req.headers.get('x-a') ?? ''} ${body}`);
            },
            { ...secure, limits: { maxPipelinedRequests: 2 } },
          );
        });
        after(() => server.close(500));

        test('a head cut by the end of a read', async () => {
          const port = server.address.port;
          const c = await open(port);
          try {
            c.send('GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\nX-A: aaaaaaaa');
            await otherTraffic(open, port, 'GET /bbbbbbbbbbbbbbbb HTTP/1.1\r\nHost: x\r\nX-A: bbbbbbbb\r\n\r\n');
            c.send('aaaa\r\n\r\n');
            assert.ok(await c.until((t) => t.endsWith(' '), 3000), c.text);
            assert.match(c.text, /\r\n\r\n\/aaaaaaaaaaaaaaaa aaaaaaaaaaaa $/);
          } finally {
            c.destroy();
          }
        });

        test('a body its handler reads only after other connections read', async () => {
          const port = server.address.port;
          held = gate();
          const body = 'a'.repeat(300);
          const c = await open(port);
          try {
            c.send(`POST /held HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
            await otherTraffic(
              open,
              port,
              `POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
            );
            held.open();
            assert.ok(await c.until((t) => t.endsWith(body), 3000), c.text);
            assert.equal(parseResponses(c.bytes)[0]!.body.toString(), `/held  ${body}`);
          } finally {
            c.destroy();
          }
        });

        test('a chunked body its handler reads only after other connections read', async () => {
          const port = server.address.port;
          held = gate();
          const chunk = 'a'.repeat(200);
          const raw = `POST /held HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n${chunk}\r\n`;
          const c = await open(port);
          try {
            c.send(raw);
            await otherTraffic(
              open,
              port,
              `POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 220\r\n\r\n${'a'.repeat(220)}`,
            );
            c.send('0\r\n\r\n');
            held.open();
            assert.ok(await c.until((t) => t.endsWith(chunk), 3000), c.text);
            assert.equal(parseResponses(c.bytes)[0]!.body.toString(), `/held  ${chunk}`);
          } finally {
            c.destroy();
          }
        });

        test('requests waiting behind a full pipeline', async () => {
          const port = server.address.port;
          held = gate();
          const targets = ['/held1', '/held2', '/aaaa3', '/aaaa4', '/aaaa5'];
          const c = await open(port);
          try {
            // One write: the last three stay unparsed in the read while two handlers wait (limit 2).
            c.send(targets.map((t) => `GET ${t} HTTP/1.1\r\nHost: x\r\nX-A: ${t.slice(1)}\r\n\r\n`).join(''));
            await otherTraffic(open, port, 'GET /zzzzz HTTP/1.1\r\nHost: x\r\nX-A: zzzzz\r\n\r\n'.repeat(5));
            held.open();
            assert.ok(await c.until((t) => parseResponses(Buffer.from(t, 'latin1')).length === 5, 3000), c.text);
            assert.deepEqual(
              parseResponses(c.bytes).map((r) => r.body.toString()),
              targets.map((t) => `${t} ${t.slice(1)} `),
            );
          } finally {
            c.destroy();
          }
        });
      });

      describe('a paused connection still sees its client', () => {
        // Reading stops for a full pipeline (limit 2 here). A stream read on up to its highWaterMark and
        // saw a FIN or a reset at once; a socket that stopped reading sees neither until it reads again.
        let server: Server;
        const seen: string[] = [];
        const logged: number[] = [];
        let release = gate();
        before(async () => {
          server = await start(
            async (req, ctx) => {
              const path = new URL(req.url).pathname;
              // Waits for the test to release it, or for its client to go.
              const aborted = await Promise.race([
                release.wait.then(() => false),
                new Promise<boolean>((r) => ctx.signal.addEventListener('abort', () => r(true))),
              ]);
              seen.push(`${path} ${aborted ? 'aborted' : 'finished'}`);
              return new Response(`ok ${path}`);
            },
            { ...secure, limits: { maxPipelinedRequests: 2 }, onTransaction: (t) => logged.push(t.status) },
          );
        });
        after(() => server.close(500));

        test('a half-close right after pipelined requests is a half-close: every request is answered', async () => {
          seen.length = 0;
          logged.length = 0;
          release = gate();
          const raw = [1, 2, 3, 4, 5].map((i) => `GET /r${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
          const c = await open(server.address.port, true);
          try {
            c.end(raw); // the requests and the FIN, while two handlers hold the pipeline
            // The FIN is read while the pipeline is full: only then may the handlers go on.
            await new Promise((r) => setTimeout(r, 200));
            release.open();
            assert.ok(await c.untilClosed(5000), c.text);
            assert.deepEqual(
              parseResponses(c.bytes).map((r) => r.body.toString()),
              [1, 2, 3, 4, 5].map((i) => `ok /r${i}`),
            );
            assert.deepEqual(logged, [200, 200, 200, 200, 200]);
          } finally {
            c.destroy();
          }
        });

        test('reads no further ahead than a bound while the pipeline is full', async () => {
          release = gate();
          const c = await open(server.address.port);
          try {
            const mib = Buffer.from('GET /flood HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(32 * 1024).slice(0, 1024 * 1024));
            // Write until the server stops taking bytes (the kernel's buffers full) or 64 MiB went.
            let still = 0;
            let last = -1;
            while (c.socket.bytesWritten < 64 * 1024 * 1024 && still < 20) {
              if (c.socket.writableLength < 4 * 1024 * 1024) c.socket.write(mib);
              await new Promise((r) => setTimeout(r, 25));
              still = c.socket.bytesWritten === last ? still + 1 : 0;
              last = c.socket.bytesWritten;
            }
            // Kernel buffers on loopback hold a few MiB; a server that read everything took all 64.
            assert.ok(c.socket.bytesWritten < 32 * 1024 * 1024, `the server took ${c.socket.bytesWritten} bytes`);
          } finally {
            release.open();
            c.destroy();
          }
        });

        test('a client that resets while its connection is paused aborts its handlers', async () => {
          seen.length = 0;
          release = gate();
          const raw = [1, 2, 3].map((i) => `GET /g${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
          const c = await open(server.address.port);
          c.send(raw);
          // Past HALF_CLOSE_GRACE_MS: a FIN this late is a client that gave up, not a half-close.
          await new Promise((r) => setTimeout(r, 3 * HALF_CLOSE_GRACE_MS));
          // A reset (TLS sockets cannot send one: their client just goes, with a FIN).
          if (kind === 'tls') c.destroy();
          else c.socket.resetAndDestroy();
          // The handlers are released only if the reset went unseen (bounded wait, not a duration).
          // Only this test's requests count: the flood's handlers may still be finishing.
          const mine = () => seen.filter((x) => x.startsWith('/g')).sort();
          for (let i = 0; i < 300 && mine().length < 2; i++) await new Promise((r) => setTimeout(r, 10));
          release.open();
          for (let i = 0; i < 100 && mine().length < 2; i++) await new Promise((r) => setTimeout(r, 10));
          assert.deepEqual(mine(), ['/g1 aborted', '/g2 aborted']);
        });
      });

      describe('a FIN that comes with bytes read ahead', () => {
        // The FIN of a client that sent everything and half-closed (RFC 9112 §9.6) may be read while
        // its connection waits (a body its handler has not read, responses it has not read, a full
        // pipeline): what it sent before is still served, as when a stream held those bytes.
        test('a body its handler reads late is still whole', async () => {
          const s = await start(
            async (req) => {
              await sleep(300);
              return new Response(`got ${(await req.arrayBuffer()).byteLength}`);
            },
            { ...secure, onTransaction: (t) => logged.push(t.status) },
          );
          const logged: number[] = [];
          const c = await open(s.address.port, true);
          try {
            // 64 KiB fill the body's queue (its handler waits); the rest and the FIN are read ahead.
            const body = 'b'.repeat(120_000);
            c.end(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
            assert.ok(await c.untilClosed(5000), c.text);
            assert.equal(parseResponses(c.bytes)[0]?.body.toString(), 'got 120000');
            assert.deepEqual(logged, [200]);
          } finally {
            c.destroy();
            await s.close(500);
          }
        });

        test('requests behind a response the client has not read yet are answered', async () => {
          const s = await start((req) => {
            const p = new URL(req.url).pathname;
            return new Response(p === '/big' ? 'x'.repeat(4_000_000) : `path ${p}`);
          }, secure);
          const c = await open(s.address.port, true);
          try {
            c.socket.pause(); // the client reads nothing yet: the server's writes block
            c.send('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
            await sleep(50);
            c.end('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
            await sleep(250);
            c.socket.resume();
            assert.ok(await c.untilClosed(5000));
            assert.deepEqual(
              parseResponses(c.bytes).map((r) => r.body.length),
              [4_000_000, 'path /a'.length, 'path /b'.length],
            );
          } finally {
            c.destroy();
            await s.close(500);
          }
        });

        test('requests behind a large response the client reads slowly are not timed out', async () => {
          const logged: number[] = [];
          const s = await start(
            (req) => {
              const p = new URL(req.url).pathname;
              return new Response(p === '/big' ? 'x'.repeat(8_000_000) : `small ${p}`);
            },
            {
              ...secure,
              limits: { headersTimeout: 300, keepAliveTimeout: 300 },
              onTransaction: (t) => logged.push(t.status),
            },
          );
          const c = await open(s.address.port);
          try {
            c.socket.pause(); // reads nothing for longer than either timeout, then everything
            c.send(['/big', '/b', '/c'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
            await sleep(1000);
            c.socket.resume();
            assert.ok(
              await c.until((t) => parseResponses(Buffer.from(t, 'latin1')).length === 3, 10000),
              c.text.slice(-300),
            );
            assert.deepEqual(
              parseResponses(c.bytes).map((r) => r.body.length),
              [8_000_000, 'small /b'.length, 'small /c'.length],
            );
            assert.deepEqual(logged, [200, 200, 200]);
          } finally {
            c.destroy();
            await s.close(500);
          }
        });

        test('pipelined requests past the read-ahead bound, then a FIN, are all answered', async () => {
          const logged: number[] = [];
          const s = await start(
            async () => {
              await sleep(100);
              return new Response('ok');
            },
            { ...secure, limits: { maxPipelinedRequests: 2 }, onTransaction: (t) => logged.push(t.status) },
          );
          const c = await open(s.address.port, true);
          try {
            // 24 heads of 8 KB: about 190 KiB, past READ_AHEAD, so reading stops before the FIN.
            const pad = 'p'.repeat(8000);
            c.end(
              Array.from({ length: 24 }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\nX-Pad: ${pad}\r\n\r\n`).join(''),
            );
            assert.ok(await c.untilClosed(15000), c.text.slice(0, 300));
            assert.equal(parseResponses(c.bytes).length, 24);
            assert.deepEqual(logged, Array(24).fill(200));
          } finally {
            c.destroy();
            await s.close(500);
          }
        });
      });

      test('a client that pipelines and does not read gets a bounded number of requests handled', async () => {
        let handled = 0;
        const body = 'z'.repeat(64 * 1024);
        const s = await start(() => {
          handled++;
          return new Response(body);
        }, secure);
        const c = await open(s.address.port);
        try {
          c.socket.pause(); // reads nothing: every response waits in the server or in the kernel
          const one = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
          const sent = Math.floor(1_000_000 / one.length);
          c.send(one.repeat(sent)); // 1 MB of requests: 37,000 of them, 64 KiB of response each
          let last = -1;
          for (let i = 0; i < 200 && handled !== last; i++) {
            last = handled;
            await sleep(50);
          }
          // Kernel buffers on loopback take a few MiB of responses (60 here); the server then
          // stops parsing. Before, it answered what it had read ahead: 2,400 here (150 MB), 600 over TLS.
          assert.ok(handled < 400, `${handled} of ${sent} requests handled for a client that reads nothing`);
        } finally {
          c.destroy();
          await s.close(500);
        }
      });

      test('an upgraded socket reads with data events, its bytes its own', async () => {
        const s = await start(() => new Response('normal'), {
          ...secure,
          upgrade(_req, socket, head) {
            socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n');
            socket.write(head);
            // After a pause, so that other connections' reads come between the bytes and their echo.
            socket.on('data', (d: Buffer) => setTimeout(() => socket.write(d), 50));
          },
        });
        try {
          const port = s.address.port;
          const c = await open(port);
          try {
            c.send('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nEARLY');
            assert.ok(await c.until((t) => t.endsWith('EARLY'), 3000), c.text);
            c.send('after-the-upgrade');
            await otherTraffic(open, port, 'GET /zzzzzzzzzzzzzzzzzz HTTP/1.1\r\nHost: x\r\n\r\n', 3);
            assert.ok(await c.until((t) => t.endsWith('EARLY' + 'after-the-upgrade'), 3000), c.text);
          } finally {
            c.destroy();
          }
        } finally {
          await s.close(500);
        }
      });

      test('random requests cut at random places on three connections at once keep their bytes', async () => {
        const s = await start(async (req) => new Response(`${new URL(req.url).pathname}|${await req.text()}`), secure);
        try {
          const port = s.address.port;
          const request = fc
            .record({
              path: fc.stringMatching(/^\/[a-z0-9]{0,40}$/),
              body: fc.string({ unit: fc.constantFrom('a', 'b', 'c', '1', '\n'), maxLength: 600 }),
              chunked: fc.boolean(),
            })
            .map(({ path, body, chunked }) => {
              const framing = chunked
                ? `Transfer-Encoding: chunked\r\n\r\n${body.length > 0 ? `${body.length.toString(16)}\r\n${body}\r\n` : ''}0\r\n\r\n`
                : `Content-Length: ${body.length}\r\n\r\n${body}`;
              return { raw: `POST ${path} HTTP/1.1\r\nHost: x\r\n${framing}`, expected: `${path}|${body}` };
            });
          const conn = fc.record({
            requests: fc.array(request, { minLength: 1, maxLength: 4 }),
            cuts: fc.array(fc.nat(), { maxLength: 6 }),
          });
          await fc.assert(
            fc.asyncProperty(fc.array(conn, { minLength: 3, maxLength: 3 }), async (conns) => {
              const opened = await Promise.all(conns.map(() => open(port)));
              try {
                const wires = conns.map((c) => {
                  const raw = c.requests.map((r) => r.raw).join('');
                  const at = [...new Set(c.cuts.map((n) => n % (raw.length + 1)))].sort((a, b) => a - b);
                  const pieces: string[] = [];
                  let from = 0;
                  for (const i of [...at, raw.length]) {
                    pieces.push(raw.slice(from, i));
                    from = i;
                  }
                  return pieces.filter((p) => p.length > 0);
                });
                // Round robin: each connection's next piece in turn, with a pause for the server to read it.
                for (let round = 0; wires.some((w) => w.length > round); round++) {
                  wires.forEach((w, i) => {
                    if (round < w.length) opened[i]!.send(w[round]!);
                  });
                  await new Promise((r) => setTimeout(r, 2));
                }
                for (let i = 0; i < conns.length; i++) {
                  const want = conns[i]!.requests.length;
                  const c = opened[i]!;
                  assert.ok(
                    await c.until((t) => parseResponses(Buffer.from(t, 'latin1')).length === want, 3000),
                    c.text,
                  );
                  assert.deepEqual(
                    parseResponses(c.bytes).map((r) => r.body.toString('latin1')),
                    conns[i]!.requests.map((r) => r.expected),
                  );
                }
              } finally {
                for (const c of opened) c.destroy();
              }
            }),
            { numRuns: 40 },
          );
        } finally {
          await s.close(500);
        }
      });
    });
  }
});
