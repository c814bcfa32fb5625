// When is a client gone? One rule for the app path, the FastCGI path and the log
// (reception/transaction.ts): a FIN that comes with the request is a half-close (the answer is
// served and logged with its status, the signal stays quiet); a FIN after a silence, or a reset,
// is a client that left (the signal aborts, the log says 499). Raw clients, a real app, a real
// php-fpm (skipped without it).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FastCgiMiddleware, fastcgi } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import type { Transaction } from '../../src/reception/transaction.ts';
import { type Server, serve } from '../../src/server.ts';
import { docroot, skipWithoutPhpFpm, startPhpFpm } from '../fastcgi/helpers.ts';
import { sleep } from '../helpers/loopback-server.ts';
import { exchange, RawConnection } from '../helpers/raw-client.ts';

/** Transaction records by target, kept by the server's hook. */
function recorder() {
  const seen = new Map<string, number>();
  return {
    hook: (tx: Transaction) => seen.set(tx.target, tx.status),
    async status(target: string): Promise<number | undefined> {
      for (let i = 0; i < 300 && !seen.has(target); i++) await sleep(10);
      return seen.get(target);
    },
  };
}

/** Sends one request, stays silent for `silentMs`, then closes: `end` a half-close, `close` a full close, `reset` an RST. */
async function leaveAfter(port: number, target: string, silentMs: number, how: 'end' | 'close' | 'reset') {
  const s = await RawConnection.open(port, true);
  s.send(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`);
  await sleep(silentMs);
  if (how === 'end') s.end();
  else if (how === 'close') s.destroy();
  else s.socket.resetAndDestroy();
  return s;
}

describe('a client that closes: the app path', () => {
  let server: Server;
  const log = recorder();
  const sawAbort = new Map<string, boolean>();
  before(async () => {
    server = await serve({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      onTransaction: log.hook,
      async fetch(req, ctx) {
        const url = new URL(req.url);
        // Answers after `ms`, or as soon as the signal aborts, and notes which came first.
        const ms = Number(url.searchParams.get('ms'));
        const aborted = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            resolve(true);
          });
        });
        sawAbort.set(url.search, aborted);
        return new Response(`done ${url.search}`);
      },
    });
  });
  after(() => server.close(500));

  test('a half-close with the request: answered, logged with its status, the signal stays quiet', async () => {
    const r = await exchange(server.address.port, 'GET /?ms=150&a HTTP/1.1\r\nHost: a\r\n\r\n', {
      halfClose: true,
      quietMs: 1000,
    });
    assert.match(r.text, /^HTTP\/1\.1 200 [\s\S]*done \?ms=150&a$/);
    assert.equal(sawAbort.get('?ms=150&a'), false);
    assert.equal(await log.status('/?ms=150&a'), 200);
  });

  for (const how of ['end', 'close', 'reset'] as const) {
    test(`a client that waits, then ${how === 'end' ? 'half-closes' : how === 'close' ? 'closes' : 'resets'}, has left: the signal aborts, logged 499`, async () => {
      const target = `/?ms=5000&${how}`;
      const s = await leaveAfter(server.address.port, target, 300, how);
      assert.equal(await log.status(target), 499);
      assert.equal(sawAbort.get(`?ms=5000&${how}`), true);
      s.destroy();
    });
  }
});

describe('a client that closes: the FastCGI path (php-fpm)', { skip: skipWithoutPhpFpm }, () => {
  let fpm: PhpFpmProcess;
  let php: FastCgiMiddleware;
  let server: Server;
  const log = recorder();
  before(async () => {
    fpm = await startPhpFpm({ children: 2 });
    php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: 2 });
    server = await serve({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      onTransaction: log.hook,
      fetch: (req, ctx) => php(req, ctx, async () => new Response('not found', { status: 404 })),
    });
  });
  after(async () => {
    await server?.close(500);
    php?.close();
    await fpm?.stop();
  });

  test("a half-close with the request: the script's answer, logged with its status", async () => {
    const r = await exchange(server.address.port, 'GET /slow.php?ms=150&a HTTP/1.1\r\nHost: a\r\n\r\n', {
      halfClose: true,
      quietMs: 1000,
    });
    assert.match(r.text, /^HTTP\/1\.1 200 [\s\S]*late$/);
    assert.equal(await log.status('/slow.php?ms=150&a'), 200);
  });

  for (const how of ['end', 'reset'] as const) {
    test(`a client that waits, then ${how === 'end' ? 'half-closes' : 'resets'}, has left: the script is abandoned, logged 499`, async () => {
      const target = `/slow.php?ms=3000&${how}`;
      const started = Date.now();
      const s = await leaveAfter(server.address.port, target, 300, how);
      assert.equal(await log.status(target), 499);
      // Abandoned, not waited for: the record comes long before the script would have ended.
      assert.ok(Date.now() - started < 2700, `recorded after ${Date.now() - started} ms`);
      s.destroy();
    });
  }
});
