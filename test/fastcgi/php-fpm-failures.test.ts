// The gateway against a real php-fpm when things go wrong: slow scripts, php-fpm down, children
// recycled by pm.max_requests, a dying child, a full wait queue, a client that leaves.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type FastCgiMiddleware, type FastCgiOptions, fastcgi } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmOptions, PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { call, type Dump, docroot, json, skipWithoutPhpFpm, startPhpFpm, text } from './helpers.ts';

/** A private php-fpm and a gateway in front of it for one test; both stopped after it. */
async function withPhp(
  fpmOptions: PhpFpmOptions,
  gatewayOptions: Partial<FastCgiOptions>,
  run: (php: FastCgiMiddleware, fpm: PhpFpmProcess) => Promise<void>,
): Promise<void> {
  const fpm = await startPhpFpm(fpmOptions);
  const php = fastcgi({ upstream: fpm.upstream, root: docroot, ...gatewayOptions });
  try {
    await run(php, fpm);
  } finally {
    php.close();
    await fpm.stop();
  }
}

describe('fastcgi gateway failures against php-fpm', { skip: skipWithoutPhpFpm }, () => {
  test('a slow script is a 504 after readTimeout', async () => {
    await withPhp({ children: 2 }, { readTimeout: 300 }, async (php) => {
      const t0 = Date.now();
      const a = await call(php, '/slow.php?ms=2000');
      assert.equal(a.status, 504);
      assert.ok(Date.now() - t0 < 1500);
      assert.equal(await text(await call(php, '/hello.php')), 'Hello, World!');
    });
  });

  test('php-fpm down is a quick 502, and service recovers when it is back', async () => {
    await withPhp({ children: 2 }, {}, async (php, fpm) => {
      assert.equal((await call(php, '/hello.php')).status, 200);
      await fpm.kill();
      const t0 = Date.now();
      const down = await call(php, '/hello.php');
      assert.equal(down.status, 502);
      assert.ok(Date.now() - t0 < 1000);
      await fpm.start();
      assert.equal(await text(await call(php, '/hello.php')), 'Hello, World!');
    });
  });

  test('a connection recycled by php-fpm (pm.max_requests) is retried on a fresh one', async () => {
    await withPhp({ children: 1, maxRequests: 1 }, { maxConnections: 1 }, async (php) => {
      for (let i = 0; i < 5; i++) {
        const a = await call(php, '/hello.php');
        assert.equal(a.status, 200, `request ${i}`);
        assert.equal(await text(a), 'Hello, World!');
      }
    });
  });

  test('POSTs survive php-fpm recycling its children (pm.max_requests)', async () => {
    // A warm resolution cache: no file-system turn of the event loop between one response and the
    // next POST, which is then written into the connection before its recycled child's FIN is seen
    // (the retry is needed nearly every time; whether it is allowed depends on no clock).
    await withPhp({ children: 1, maxRequests: 1 }, { maxConnections: 1, cacheTtl: 60_000 }, async (php) => {
      for (let i = 0; i < 10; i++) {
        const a = await call(php, '/info.php', {
          method: 'POST',
          body: `n=${i}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(`n=${i}`.length) },
        });
        assert.equal(a.status, 200, `POST ${i}`);
        assert.deepEqual((await json<Dump>(a)).post, { n: String(i) });
      }
    });
  });

  test('php-fpm dying mid-response errors the body: never a truncated body presented as complete', async () => {
    await withPhp({ children: 2 }, {}, async (php) => {
      const a = await call(php, '/die-mid.php');
      assert.equal(a.status, 200);
      await assert.rejects(a.res!.arrayBuffer());
      assert.equal((await call(php, '/hello.php')).status, 200);
    });
  });

  test('a full wait queue is a 503 with Retry-After', async () => {
    await withPhp({ children: 1 }, { maxConnections: 1, maxQueue: 1, retryAfter: 2 }, async (php) => {
      const until = async (cond: () => boolean) => {
        for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
      };
      const slow = call(php, '/slow.php?ms=600');
      await until(() => php.stats.open === 1);
      const queued = call(php, '/hello.php');
      await until(() => php.stats.waiting === 1);
      const refused = await call(php, '/hello.php');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '2');
      assert.equal((await slow).status, 200);
      assert.equal(await text(await queued), 'Hello, World!');
    });
  });

  test('a client that goes away aborts the request and frees the connection', async () => {
    await withPhp({ children: 1 }, { maxConnections: 1 }, async (php) => {
      const { createContext } = await import('../../src/testing.ts');
      const ctx = createContext();
      const pending = php(
        new Request('http://localhost/slow.php?ms=500'),
        ctx,
        async () => new Response(null, { status: 404 }),
      );
      setTimeout(() => ctx.abort(), 50);
      await assert.rejects(Promise.resolve(pending));
      assert.equal(php.stats.open, 0);
      const a = await call(php, '/hello.php');
      assert.equal(await text(a), 'Hello, World!');
    });
  });
});
