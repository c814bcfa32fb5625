// Slow-client attacks on PHP, bounded: a small php-fpm pool, clients that upload a byte at a time
// or never read their response, and ordinary requests that must still be answered meanwhile.
// nginx survives both by buffering (fastcgi_request_buffering, fastcgi_buffers + temp files):
// php-fpm children are taken only once a request is whole and given back as soon as PHP is done.
// The tests assert that the other requests succeed, never how fast.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FastCgiMiddleware, fastcgi } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { type Server, serve } from '../../src/server.ts';
import { parseResponses, RawConnection, rawExchange } from '../helpers/raw-client.ts';
import { waitFor } from '../process/helpers.ts';
import { call, docroot, json, skipWithoutPhpFpm, startPhpFpm } from './helpers.ts';

const POOL = 2;
const ATTACKERS = 4;

/** A GET on its own connection; resolves with the status line and body. */
async function get(port: number, target: string): Promise<{ status: number; body: string }> {
  const buf = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, 15_000);
  // A response read at PHP's pace under load goes chunked, a buffered one with a Content-Length:
  // both are whole answers, so the body is read through its framing.
  const [res] = parseResponses(buf);
  assert.ok(res, `a whole response to ${target}`);
  return { status: res.status, body: res.body.toString('latin1') };
}

const opened = async (port: number): Promise<Socket> => (await RawConnection.open(port)).socket;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Files this process holds open under `dir` (Linux /proc; unlinked ones included). */
function openFilesIn(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(`${dir}/`)) out.push(target);
    } catch {}
  }
  return out;
}

describe('slow clients against a small php-fpm pool', { skip: skipWithoutPhpFpm }, () => {
  let fpm: PhpFpmProcess;
  let php: FastCgiMiddleware;
  let server: Server;
  const sockets: Socket[] = [];

  before(async () => {
    fpm = await startPhpFpm({ children: POOL });
    // A short queue timeout: a request that cannot get a php-fpm connection fails fast (503).
    php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: POOL, queueTimeout: 1500 });
    server = await serve({
      port: 0,
      logLevel: 'silent',
      limits: { bodyTimeout: 30_000, minBodyRate: 0 },
      fetch: (req, ctx) => php(req, ctx, async () => new Response('none', { status: 404 })),
    });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await server?.close();
    php?.close();
    await fpm?.stop();
  });

  test(`${ATTACKERS} slow uploads hold no php-fpm child: other PHP requests are answered`, async () => {
    const uploads: Socket[] = [];
    for (let i = 0; i < ATTACKERS; i++) {
      const s = await opened(server.address.port);
      sockets.push(s);
      uploads.push(s);
      s.write('POST /info.php HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 200000\r\n\r\n');
      s.write('x'.repeat(70_000));
    }
    // The uploads go on, a byte at a time, while other requests come.
    const trickle = setInterval(() => {
      for (const s of uploads) s.write('x');
    }, 50);
    try {
      await pause(200);
      for (let i = 0; i < 3; i++) {
        const r = await get(server.address.port, '/hello.php');
        assert.equal(r.status, 200);
        assert.equal(r.body, 'Hello, World!');
      }
    } finally {
      clearInterval(trickle);
      for (const s of uploads) s.destroy();
    }
  });

  test(`${ATTACKERS} readers that never read hold no php-fpm child: other PHP requests are answered`, async () => {
    const readers: Socket[] = [];
    for (let i = 0; i < ATTACKERS; i++) {
      const s = await opened(server.address.port);
      sockets.push(s);
      readers.push(s);
      // 8 MiB each, far more than the socket buffers hold; the client reads none of it.
      s.pause();
      s.write('GET /big.php?mb=8 HTTP/1.1\r\nHost: a\r\n\r\n');
    }
    try {
      await pause(300);
      for (let i = 0; i < 3; i++) {
        const r = await get(server.address.port, '/hello.php');
        assert.equal(r.status, 200);
        assert.equal(r.body, 'Hello, World!');
      }
    } finally {
      for (const s of readers) s.destroy();
    }
  });

  test('slow uploads and slow readers together leave PHP to everyone else', async () => {
    const attackers: Socket[] = [];
    for (let i = 0; i < ATTACKERS; i++) {
      const up = await opened(server.address.port);
      up.write('POST /info.php HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 200000\r\n\r\n');
      up.write('x'.repeat(70_000));
      const down = await opened(server.address.port);
      down.pause();
      down.write('GET /big.php?mb=8 HTTP/1.1\r\nHost: a\r\n\r\n');
      attackers.push(up, down);
      sockets.push(up, down);
    }
    const trickle = setInterval(() => {
      for (let i = 0; i < attackers.length; i += 2) attackers[i]!.write('x');
    }, 50);
    try {
      await pause(300);
      const answers = await Promise.all([
        get(server.address.port, '/hello.php'),
        get(server.address.port, '/k64.php'),
        get(server.address.port, '/hello.php'),
      ]);
      assert.deepEqual(
        answers.map((r) => r.status),
        [200, 200, 200],
      );
      assert.equal(answers[1]!.body.length, 65536);
    } finally {
      clearInterval(trickle);
      for (const s of attackers) s.destroy();
    }
  });

  test('a slow reader gets every byte, from memory and the temp file, and the temp file is gone after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-outbuf-'));
    const small = fastcgi({
      upstream: fpm.upstream,
      root: docroot,
      responseMemory: 128 * 1024,
      spoolDir: dir,
      highWaterMark: 16 * 1024,
    });
    try {
      const a = await call(small, '/big.php?mb=2');
      assert.equal(a.status, 200);
      const reader = a.res!.body!.getReader();
      const first = await reader.read();
      let total = first.value?.byteLength ?? 0;
      // PHP finishes while nothing more is read: its output waits in memory and the temp file. (Waited
      // for, not timed: a loaded machine may take seconds to run the script.)
      await waitFor(
        'the php-fpm connection back in the pool',
        () => (small.stats.idle === 1 ? true : undefined),
        20_000,
      );
      assert.equal(openFilesIn(dir).length, 1, 'the overflow went to one temp file');
      assert.deepEqual(readdirSync(dir), [], 'with no name left on disk');
      const hash = createHash('md5').update(first.value!);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        hash.update(value);
      }
      assert.equal(total, 2 * 1024 * 1024);
      const chunk = '0123456789abcdef'.repeat(4096);
      assert.equal(hash.digest('hex'), createHash('md5').update(chunk.repeat(32)).digest('hex'));
      await waitFor('the temp file closed', () => (openFilesIn(dir).length === 0 ? true : undefined), 20_000);
      // A client that leaves mid-way: the buffer and its file go too.
      const b = await call(small, '/big.php?mb=2');
      await waitFor(
        'a temp file for the second response',
        () => (openFilesIn(dir).length === 1 ? true : undefined),
        20_000,
      );
      await b.res!.body!.cancel();
      await waitFor('its temp file closed', () => (openFilesIn(dir).length === 0 ? true : undefined), 20_000);
    } finally {
      small.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a buffered body larger than memory goes through a private temp file, gone afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-spool-'));
    const small = fastcgi({ upstream: fpm.upstream, root: docroot, spoolMemory: 100_000, spoolDir: dir });
    try {
      const body = Buffer.alloc(300_000, 7);
      const d = await json<{ input_length: number; input_md5: string }>(
        await call(small, '/info.php', { method: 'POST', body, headers: { 'content-type': 'application/x-y' } }),
      );
      assert.equal(d.input_length, body.length);
      assert.equal(d.input_md5, createHash('md5').update(body).digest('hex'));
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      small.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
