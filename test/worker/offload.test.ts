// offload(): a middleware in a worker thread, exercised through a real server and real threads.
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isMainThread } from 'node:worker_threads';
import { App } from '../../src/handlers/app/app.ts';
import { offload } from '../../src/handlers/worker/offload.ts';
import { attribute } from '../../src/types.ts';
import { eventually, fixture, logBook, request, startServer } from './helpers.ts';
import { RawConnection } from '../helpers/raw-client.ts';

const USER = attribute<{ id: string }>('test.user');
const STAMP = attribute<string>('test.stamp');
const SOCKET = attribute<unknown>('test.socket');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('an offloaded middleware with the default pool', () => {
  const log = logBook();
  const layer = offload(fixture('echo-next.ts'), { maxThreads: 2, timeout: 20_000, queueTimeout: 20_000 });
  // State that exists only on the main thread: the worker can reach it only through next().
  const mainOnly = new Map<string, number>([['visits', 0]]);
  const app = new App()
    .use(async (req, ctx, next) => {
      ctx.set(USER, { id: req.headers.get('x-user') ?? 'anonymous' });
      if (req.headers.has('x-unclonable')) ctx.set(SOCKET, () => 'a function cannot be cloned');
      return next();
    })
    .use(layer)
    .get('/main', (req, ctx) => {
      mainOnly.set('visits', (mainOnly.get('visits') ?? 0) + 1);
      return Response.json({
        isMainThread,
        visits: mainOnly.get('visits'),
        stamp: ctx.get(STAMP),
        fromWorker: req.headers.get('x-from-worker'),
        user: ctx.get(USER),
      });
    })
    .get('/twice', () => new Response('once'))
    .post('/digest-main', async (req) => {
      const bytes = new Uint8Array(await req.arrayBuffer());
      // A large binary answer from the main thread, passed back through the worker.
      return new Response(Buffer.concat([bytes, bytes]), { headers: { 'x-sha': sha(bytes) } });
    });
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    server = await startServer((req, ctx) => app.fetch(req, ctx), log.logger);
  });
  after(async () => {
    await server.close();
    await layer.close();
  });

  test('runs in a worker thread and sees the request and the serialisable context', async () => {
    const res = await request(server.url, '/where', { headers: { 'x-user': 'ada' } });
    assert.equal(res.status, 200);
    const body = JSON.parse(String(res.body));
    assert.equal(body.isMainThread, false);
    assert.deepEqual(body.user, { id: 'ada' });
    assert.equal(body.remote, '127.0.0.1');
  });

  test('next() runs the rest of the chain on the main thread, with its state, and returns its response to the worker', async () => {
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((u) => request(server.url, '/main', { headers: { 'x-user': u } })),
    );
    const visits = new Set<number>();
    for (const [i, res] of results.entries()) {
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-worker-saw'], '200'); // the worker saw the main thread's answer
      const body = JSON.parse(String(res.body));
      assert.equal(body.isMainThread, true);
      assert.match(body.stamp, /^stamped in thread \d+$/); // an attribute set in the worker
      assert.equal(body.fromWorker, body.stamp.replace('stamped in thread ', '')); // the changed request
      assert.deepEqual(body.user, { id: ['a', 'b', 'c', 'd'][i] });
      visits.add(body.visits);
    }
    assert.equal(visits.size, 4); // one shared main-thread counter, each request counted once
  });

  test('a large binary body crosses to the worker and back unchanged', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const res = await request(server.url, '/echo', {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, big.length);
    assert.equal(sha(res.body), sha(big));
  });

  test('a streamed (chunked) upload reaches the worker whole', async () => {
    const parts = Array.from({ length: 20 }, (_, i) => randomBytes(10_000 + i));
    const whole = Buffer.concat(parts);
    const res = await request(server.url, '/digest', { method: 'POST', body: parts });
    assert.equal(res.status, 200);
    let sum = 0;
    for (const b of whole) sum = (sum * 31 + b) >>> 0;
    assert.deepEqual(JSON.parse(String(res.body)), { length: whole.length, sum });
  });

  test('a body passed to next() and a large binary response from the main thread cross both ways', async () => {
    const big = randomBytes(2 * 1024 * 1024);
    const res = await request(server.url, '/digest-main', { method: 'POST', body: big });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-sha'], sha(big));
    assert.equal(res.body.length, big.length * 2);
    assert.equal(sha(res.body), sha(Buffer.concat([big, big])));
  });

  test('an HttpError thrown in the worker keeps its status and headers', async () => {
    const res = await request(server.url, '/teapot');
    assert.equal(res.status, 418);
    assert.equal(res.headers['x-pot'], 'yes');
    assert.match(String(res.body), /short and stout/);
  });

  test('any other exception in the worker is a 500 logged with its stack, never shown', async () => {
    const res = await request(server.url, '/boom');
    assert.equal(res.status, 500);
    assert.doesNotMatch(String(res.body), /kaboom/);
    const line = await log.waitFor((l) => JSON.stringify(l).includes('worker kaboom'));
    assert.match(JSON.stringify(line), /echo-next\.ts/);
  });

  test('next() called twice in the worker is the usual error', async () => {
    const res = await request(server.url, '/twice');
    assert.equal(res.status, 500);
    await log.waitFor((l) => JSON.stringify(l).includes('FOYER_NEXT_CALLED_TWICE'));
  });

  test('a context attribute that cannot be cloned is a clear error naming it', async () => {
    const res = await request(server.url, '/where', { headers: { 'x-unclonable': '1' } });
    assert.equal(res.status, 500);
    const line = await log.waitFor((l) => JSON.stringify(l).includes('FOYER_OFFLOAD_UNSERIALISABLE'));
    assert.match(JSON.stringify(line), /test\.socket/);
  });

  test('a thread that crashes is replaced and the next request is served', async () => {
    const crashed = await request(server.url, '/crash');
    assert.equal(crashed.status, 500);
    const res = await request(server.url, '/where');
    assert.equal(res.status, 200);
  });

  test('the client going away aborts the worker’s signal', async () => {
    const { port } = new URL(server.url);
    const socket = await RawConnection.open(Number(port));
    socket.send('GET /aborted HTTP/1.1\r\nHost: x\r\n\r\n');
    await log.waitFor((l) => l.msg === 'offloaded layer started', 15_000).catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    const line = await log.waitFor((l) => l.msg === 'abort observed', 15_000);
    assert.equal(line.seen, 'aborted');
  });
});

/** The layer inside an App, whose error boundary renders HttpErrors with their headers. */
function behind(layer: ReturnType<typeof offload>) {
  const app = new App().use(layer).all('/*', () => new Response('end'));
  return (req: Request, ctx: Parameters<App['fetch']>[1]) => app.fetch(req, ctx);
}

describe('pool limits', () => {
  test('a runaway loop is cut by the timeout (504), its thread replaced, and the pool serves again', async (t) => {
    const log = logBook();
    const layer = offload(fixture('echo-next.ts'), { maxThreads: 1, timeout: 800, queueTimeout: 30_000 });
    const server = await startServer(behind(layer), log.logger);
    try {
      const first = JSON.parse(String((await request(server.url, '/where')).body));
      const spin = await request(server.url, '/spin');
      assert.equal(spin.status, 504);
      const again = await request(server.url, '/where');
      assert.equal(again.status, 200);
      const second = JSON.parse(String(again.body));
      assert.notEqual(second.threadId, first.threadId); // a fresh thread
      assert.equal(layer.stats.threads, 1);
    } finally {
      await server.close();
      await layer.close();
    }
  });

  test('a request that has answered never has its thread terminated by its timeout (waitUntil work goes on)', async () => {
    // The first request answers at once and lingers past its timeout in waitUntil; the second runs
    // on the same thread across the moment the first one's clock would run out. Only the second
    // one's own timeout may cut that thread.
    const log = logBook();
    const layer = offload(fixture('echo-next.ts'), { maxThreads: 1, timeout: 2000, queueTimeout: 30_000 });
    const server = await startServer(behind(layer), log.logger);
    try {
      const lingering = await request(server.url, '/linger?ms=4000');
      assert.equal(lingering.status, 200);
      await new Promise((r) => setTimeout(r, 1000));
      const slow = await request(server.url, '/slow?ms=1400');
      assert.equal(slow.status, 200, String(slow.body));
      assert.equal(String(slow.body), 'slow done');
    } finally {
      await server.close();
      await layer.close();
    }
  });

  test('idle threads above minThreads exit after idleTimeout', async () => {
    const log = logBook();
    const layer = offload(fixture('echo-next.ts'), {
      minThreads: 0,
      maxThreads: 2,
      idleTimeout: 300,
      concurrentTasksPerThread: 1,
    });
    const server = await startServer(behind(layer), log.logger);
    try {
      assert.equal(layer.stats.threads, 0);
      const both = Promise.all([request(server.url, '/slow?ms=1000'), request(server.url, '/slow?ms=1000')]);
      await eventually(() => layer.stats.threads === 2, 10_000); // the pool grew for the two
      assert.deepEqual(
        (await both).map((r) => r.status),
        [200, 200],
      );
      await eventually(() => layer.stats.threads === 0, 10_000); // and shrank when they idled
    } finally {
      await server.close();
      await layer.close();
    }
  });

  test('a full queue answers 503 with Retry-After', async () => {
    const log = logBook();
    const layer = offload(fixture('echo-next.ts'), {
      maxThreads: 1,
      concurrentTasksPerThread: 1,
      maxQueue: 1,
      retryAfter: 7,
    });
    const server = await startServer(behind(layer), log.logger);
    try {
      await request(server.url, '/where'); // the thread is up
      const results = await Promise.all([1, 2, 3, 4].map(() => request(server.url, '/slow?ms=800')));
      const refused = results.filter((r) => r.status === 503);
      assert.ok(refused.length >= 1, `statuses ${results.map((r) => r.status)}`);
      assert.equal(refused[0]?.headers['retry-after'], '7');
      assert.ok(results.some((r) => r.status === 200));
    } finally {
      await server.close();
      await layer.close();
    }
  });
});
