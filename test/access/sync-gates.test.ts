// Access layers decided at once in the CLI's pipeline (access/sync-gate.ts): a request let through
// reaches the app with no promise in between, and the synchronous path refuses exactly the requests
// the composed middleware refuses: the same table decisions, 403s and 429s, headers included, also
// against the limit kept in a real Redis.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import fc from 'fast-check';
import { basicAuth } from '../../src/access/basic-auth.ts';
import { ipFilter } from '../../src/access/ip-filter.ts';
import { rateLimit } from '../../src/access/rate-limit.ts';
import { LocalRateTable, type RateLimitStore } from '../../src/access/rate-store.ts';
import { RedisLink } from '../../src/access/redis-link.ts';
import { redisRateStore } from '../../src/access/redis-rate-store.ts';
import { buildPipeline, toLoadedApp } from '../../src/config/pipeline.ts';
import type { Context, Handler, Middleware } from '../../src/types.ts';
import { createContext } from '../../src/testing.ts';
import { type PrivateRedis, skipWithoutRedis, startRedis } from './redis-server.ts';

const app = toLoadedApp(
  (req: Request, ctx: Context) => new Response(`ok ${new URL(req.url).pathname} ${ctx.remoteUser ?? '-'}`),
);

// Users for Basic auth under /private: one {SHA}, one bcrypt (cost 4: quick, still a real hash).
const dir = mkdtempSync(join(tmpdir(), 'foyer-gates-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const htpasswd = join(dir, 'htpasswd');
writeFileSync(
  htpasswd,
  `alice:{SHA}${createHash('sha1').update('secret').digest('base64')}\nbob:${bcrypt.hashSync('pw2', 4)}\n`,
);
const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

/** A private table that decides in this process (as the single process's default store does). */
function syncStore(): RateLimitStore {
  const t = new LocalRateTable();
  return { take: async (key, spec) => t.take(key, spec), takeNow: (key, spec) => t.take(key, spec) };
}

/** The same kind of table reached only through a promise (as a worker reaches the primary's). */
function asyncStore(): RateLimitStore {
  const t = new LocalRateTable();
  return { take: async (key, spec) => t.take(key, spec) };
}

interface Limits {
  burst: number;
  dryRun: boolean;
  byHeader: boolean;
}

function layers(store: RateLimitStore, o: Limits): Middleware[] {
  return [
    ipFilter({ deny: ['203.0.113.0/24'], rules: [{ path: '/admin', allow: ['loopback'] }] }),
    rateLimit({
      rate: '1r/m',
      burst: o.burst,
      dryRun: o.dryRun,
      rules: [{ path: '/login', rate: '1r/m' }],
      store,
      ...(o.byHeader ? { key: (req: Request) => req.headers.get('x-key') ?? undefined } : {}),
    }),
    basicAuth({ file: htpasswd, paths: ['/private'], realm: 'gates' }),
  ];
}

/** The same layers without their gates: every request goes through the composed middleware. */
const withoutGates = (layers: Middleware[]): Middleware[] =>
  layers.map(
    (l): Middleware =>
      (req, ctx, next) =>
        l(req, ctx, next),
  );

const pipeline = (access: Middleware[]): Handler => buildPipeline({ config: {}, app, access });

interface Call {
  address: string;
  path: string;
  key: string | undefined;
  authorization: string | undefined;
}

/** Status, the access layers' headers and the body, whatever path answered. */
async function outcome(handler: Handler, c: Call) {
  const headers: Record<string, string> = {};
  if (c.key !== undefined) headers['x-key'] = c.key;
  if (c.authorization !== undefined) headers.authorization = c.authorization;
  const res = await handler(
    new Request(`http://127.0.0.1${c.path}`, { headers }),
    createContext({ remoteAddress: c.address }),
  );
  const h = (n: string) => res.headers.get(n);
  return [res.status, h('retry-after'), h('ratelimit-policy'), h('ratelimit'), h('www-authenticate'), await res.text()];
}

const calls = fc.array(
  fc.record({
    address: fc.constantFrom(
      '192.0.2.1',
      '192.0.2.2',
      '127.0.0.1',
      '203.0.113.9',
      '2001:db8:1:1::1',
      '2001:db8:1:1:ffff::9',
      '2001:db8:1:2::1',
    ),
    path: fc.constantFrom(
      '/',
      '/login',
      '/%6cogin',
      '/login/../login',
      '/admin',
      '/admin/x',
      '/%61dmin',
      '/private',
      '/private/x',
      '/%70rivate',
      '/other',
    ),
    key: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    authorization: fc.option(
      fc.constantFrom(
        basic('alice:secret'),
        basic('alice:wrong'),
        basic('bob:pw2'),
        basic('mallory:x'),
        basic('alice'),
        'Basic !!!',
        'Bearer x',
      ),
      { nil: undefined },
    ),
  }),
  { maxLength: 24 },
);
const limits = fc.record({ burst: fc.integer({ min: 0, max: 3 }), dryRun: fc.boolean(), byHeader: fc.boolean() });

describe('access layers decided at once', () => {
  test('a request the access layers let through is answered synchronously when the app is', () => {
    const handler = pipeline(layers(syncStore(), { burst: 5, dryRun: false, byHeader: false }));
    const out = handler(new Request('http://127.0.0.1/hello'), createContext({ remoteAddress: '192.0.2.1' }));
    assert.equal(typeof (out as Promise<Response>).then, 'undefined', 'a promise where a Response was due');
    assert.equal((out as Response).status, 200);
  });

  test('credentials verified once are then decided at once', async () => {
    const handler = pipeline(layers(syncStore(), { burst: 5, dryRun: false, byHeader: false }));
    const call = () =>
      handler(
        new Request('http://127.0.0.1/private', { headers: { authorization: basic('bob:pw2') } }),
        createContext({ remoteAddress: '192.0.2.1' }),
      );
    const first = call();
    assert.equal(typeof (first as Promise<Response>).then, 'function', 'a bcrypt hash is checked asynchronously');
    assert.equal(await (await first).text(), 'ok /private bob');
    const again = call();
    assert.equal(typeof (again as Promise<Response>).then, 'undefined');
    assert.equal(await (again as Response).text(), 'ok /private bob');
  });

  test('a layer that cannot decide at once sends the request through the middleware, from that layer on', async () => {
    const handler = pipeline(layers(asyncStore(), { burst: 0, dryRun: false, byHeader: false }));
    const ctx = () => createContext({ remoteAddress: '192.0.2.1' });
    const first = handler(new Request('http://127.0.0.1/'), ctx());
    assert.equal(typeof (first as Promise<Response>).then, 'function');
    assert.equal((await first).status, 200);
    assert.equal((await handler(new Request('http://127.0.0.1/'), ctx())).status, 429);
    // The address rule still refuses first, without taking from the limit.
    assert.equal(
      (await handler(new Request('http://127.0.0.1/'), createContext({ remoteAddress: '203.0.113.1' }))).status,
      403,
    );
  });

  test('the synchronous path refuses exactly what the composed middleware refuses', async () => {
    await fc.assert(
      fc.asyncProperty(limits, calls, async (o, seq) => {
        const now = pipeline(layers(syncStore(), o));
        const later = pipeline(withoutGates(layers(asyncStore(), o)));
        for (const c of seq) assert.deepEqual(await outcome(now, c), await outcome(later, c), JSON.stringify(c));
      }),
      { numRuns: 150 },
    );
  });
});

describe('access layers decided at once, against the limit in Redis', { skip: skipWithoutRedis }, () => {
  let redis: PrivateRedis;
  let link: RedisLink;
  before(async () => {
    redis = await startRedis();
    link = new RedisLink({ url: redis.url, log: createContext().log, prefix: 'gates:' });
    for (let i = 0; i < 100 && link.client.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    await link.close();
    await redis.stop();
  });

  test('an in-process table decides as the shared Redis limit does', async () => {
    await fc.assert(
      fc.asyncProperty(limits, calls, async (o, seq) => {
        await link.client.flushall();
        const now = pipeline(layers(syncStore(), o));
        const shared = pipeline(layers(redisRateStore({ link, fallback: asyncStore() }), o));
        for (const c of seq) assert.deepEqual(await outcome(now, c), await outcome(shared, c), JSON.stringify(c));
        assert.equal(link.down, false, 'Redis answered every request');
      }),
      { numRuns: 40 },
    );
  });
});
