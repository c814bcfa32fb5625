// Slow-client attacks on PHP, bounded: a small php-fpm pool, clients that upload a byte at a time
// or never read their response, and ordinary requests that must still be answered meanwhile.
// nginx survives both by buffering (fastcgi_request_buffering, fastcgi_buffers + temp files):
// php-fpm children are taken only once a request is whole and given back as soon as PHP is done.
// The tests assert that the other requests succeed, never how fast.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FastCgiMiddleware, fastcgi } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { type Server, serve } from '../../src/server.ts';
import { call, docroot, json, skipWithoutPhpFpm, startPhpFpm } from './helpers.ts';

const POOL = 2;
const ATTACKERS = 4;

/** A GET on its own connection; resolves with the status line and body. */
function get(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(new Error(`no answer to ${target}`)), 15_000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(text.slice(9, 12)), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    s.write(`GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  });
}

function opened(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
