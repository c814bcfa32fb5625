// Every layer's errors go through the one renderer (util/render-error.ts): the same status gets
// the same body and headers whether the engine, static files, FastCGI, an App, access rules, the
// admin listener or an offloaded layer raised it, with or without an App's error boundary.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ipFilter } from '../../src/access/ip-filter.ts';
import { rateLimit } from '../../src/access/rate-limit.ts';
import { buildPipeline } from '../../src/config/pipeline.ts';
import { App } from '../../src/handlers/app/app.ts';
import { compose } from '../../src/handlers/app/compose.ts';
import { fastcgi } from '../../src/handlers/fastcgi/index.ts';
import { staticFiles } from '../../src/handlers/static/index.ts';
import { offload } from '../../src/handlers/worker/offload.ts';
import { adminFetch } from '../../src/log/admin.ts';
import type { Server } from '../../src/server.ts';
import { serve } from '../../src/server.ts';
import type { Handler } from '../../src/types.ts';
import { FoyerError, HttpError } from '../../src/util/errors.ts';
import { exchange, firstResponse } from '../helpers/raw-client.ts';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const notFound: Handler = () => {
  throw new FoyerError('FOYER_NOT_FOUND');
};

let dir: string;
const servers: Server[] = [];
const ports: Record<string, number> = {};
let offloaded: ReturnType<typeof offload>;

async function start(name: string, fetch: Handler): Promise<void> {
  const s = await serve({ fetch, port: 0, host: '127.0.0.1', logLevel: 'silent' });
  servers.push(s);
  ports[name] = s.address.port;
}

async function get(name: string, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  const raw = `${method} ${path} HTTP/1.1\r\nHost: t\r\n${lines.join('')}Connection: close\r\n\r\n`;
  // Connection: close: the exchange ends when the server closes, however slow the layer.
  return firstResponse((await exchange(ports[name]!, raw, { quietMs: 15_000 })).text);
}

/** What must be equal between layers: status, body and the headers the renderer sets. */
function rendered(r: Awaited<ReturnType<typeof get>>) {
  const h = (n: string) => r.headers.get(n);
  return {
    status: r.status,
    body: r.body,
    type: h('content-type'),
    nosniff: h('x-content-type-options'),
    cache: h('cache-control'),
    vary: h('vary'),
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'foyer-errors-'));
  // No index.php: a miss is not sent to a front controller, so FastCGI passes it on (404).
  writeFileSync(join(dir, 'app.php'), '<?php echo 1;');
  writeFileSync(join(dir, 'a.txt'), 'a');
  // The engine alone: a bare fetch handler that throws.
  await start('engine', (req) => {
    const path = new URL(req.url).pathname;
    if (path === '/busy') throw new HttpError(503, 'pool of 10.0.0.3 full', { headers: { 'retry-after': '7' } });
    if (path === '/branded')
      // An HttpError from another copy of Foyer: same registered symbol, no shared class.
      throw Object.assign(new Error('I am a teapot'), {
        [Symbol.for('foyer.HttpError')]: true,
        status: 418,
        code: 'OTHER_COPY',
        expose: true,
        headers: { 'x-kettle': 'on' },
      });
    if (path === '/plain') throw new Error('secret at /srv/db.ts');
    return notFound(req, undefined as never);
  });
  await start('static', compose(staticFiles(dir)) as unknown as Handler);
  await start('app', new App().get('/x', () => new Response('x')).fetch);
  // FastCGI without a boundary (engine renders) and inside the CLI's pipeline (boundary renders).
  const php = fastcgi({ upstream: '127.0.0.1:1', root: dir, static: true, connectTimeout: 2000 });
  await start('fastcgi', (req, ctx) => compose(php)(req, ctx, () => Promise.reject(new FoyerError('FOYER_NOT_FOUND'))));
  await start(
    'pipeline',
    buildPipeline({ config: { root: dir, php: '127.0.0.1:1', compress: false }, fastcgi: () => php }),
  );
  await start('access', (req, ctx) =>
    compose(ipFilter({ deny: ['127.0.0.1/32'], rules: [] }), notFound)(req, ctx, () =>
      Promise.reject(new FoyerError('FOYER_NOT_FOUND')),
    ),
  );
  const limiter = rateLimit({ rate: '1r/m', burst: 0 });
  await start('ratelimit', (req, ctx) => compose(limiter)(req, ctx, async () => new Response('ok')));
  await start(
    'admin',
    adminFetch({ metrics: async () => '', status: async () => ({}) as never, draining: () => false }) as Handler,
  );
  offloaded = offload(new URL('../worker/fixtures/echo-next.ts', import.meta.url), { maxThreads: 1 });
  await start('offload', (req, ctx) => compose(offloaded)(req, ctx, async () => new Response('end')));
});

after(async () => {
  await Promise.all(servers.map((s) => s.close(1000)));
  await offloaded?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('one rendering for every layer', () => {
  test('a 404 is the same text, JSON and HTML from the engine, static files, an App, FastCGI and the pipeline', async () => {
    for (const accept of [undefined, 'application/json', BROWSER]) {
      const headers: Record<string, string> = accept === undefined ? {} : { accept };
      const engine = rendered(await get('engine', '/nothing', headers));
      assert.equal(engine.status, 404);
      if (accept === undefined) assert.equal(engine.body, 'Not Found\n');
      for (const layer of ['static', 'app', 'fastcgi', 'pipeline']) {
        assert.deepEqual(rendered(await get(layer, '/nothing.txt', headers)), engine, `${layer} ${accept}`);
      }
    }
  });

  test('a 405 is the same from static files and the admin listener, with its Allow', async () => {
    const fromStatic = await get('static', '/a.txt', {}, 'DELETE');
    const fromAdmin = await get('admin', '/status', {}, 'DELETE');
    assert.equal(fromStatic.status, 405);
    assert.equal(fromStatic.body, 'Method Not Allowed\n');
    assert.deepEqual(rendered(fromAdmin), rendered(fromStatic));
    assert.equal(fromAdmin.headers.get('allow'), 'GET, HEAD');
    assert.equal(fromStatic.headers.get('allow'), 'GET, HEAD');
  });

  test('a 403 from the access rules is rendered like any other error', async () => {
    const r = await get('access', '/', { accept: 'application/json' });
    assert.equal(r.status, 403);
    assert.deepEqual(JSON.parse(r.body), { error: { status: 403, code: 'FOYER_FORBIDDEN', message: 'Forbidden' } });
  });

  test('a 502 from FastCGI is the same with or without an App boundary', async () => {
    const bare = await get('fastcgi', '/app.php');
    const piped = await get('pipeline', '/app.php');
    assert.equal(bare.status, 502);
    assert.equal(bare.body, 'Bad Gateway\n');
    assert.deepEqual(rendered(piped), rendered(bare));
  });
});

describe('the engine without an App boundary', () => {
  test("keeps an HttpError's headers (Retry-After) and hides a 5xx message", async () => {
    const r = await get('engine', '/busy');
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '7');
    assert.equal(r.body, 'Service Unavailable\n');
  });

  test('keeps the 429 and RateLimit fields a rate limit throws', async () => {
    await get('ratelimit', '/');
    const r = await get('ratelimit', '/');
    assert.equal(r.status, 429);
    assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(r.headers.get('ratelimit-policy') ?? '', /"default";q=1;w=60/);
    assert.equal(r.body, 'Too Many Requests\n');
  });

  test('recognises an HttpError from another copy of Foyer by its brand', async () => {
    const r = await get('engine', '/branded', { accept: 'application/json' });
    assert.equal(r.status, 418);
    assert.equal(r.headers.get('x-kettle'), 'on');
    assert.deepEqual(JSON.parse(r.body), { error: { status: 418, code: 'OTHER_COPY', message: 'I am a teapot' } });
  });

  test('renders a plain Error as a 500 with only the status text, in HTML too', async () => {
    const r = await get('engine', '/plain', { accept: BROWSER });
    assert.equal(r.status, 500);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.doesNotMatch(r.body, /secret|db\.ts/);
    assert.match(r.body, /500 <span>Internal Server Error<\/span>/);
  });

  test('answers HEAD with the length and no body', async () => {
    const head = await exchange(ports.engine!, 'HEAD /nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    assert.match(head.text, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(head.text, /\r\ncontent-length: 10\r\n/);
    assert.ok(head.text.endsWith('\r\n\r\n'), 'no body after the head');
  });

  test('an offloaded layer’s HttpError keeps its status and headers', async () => {
    const r = await get('offload', '/teapot');
    assert.equal(r.status, 418);
    assert.equal(r.headers.get('x-pot'), 'yes');
    assert.equal(r.body, 'short and stout\n');
  });

  test('a parser refusal is the catalogue message as text, without Vary', async () => {
    const r = firstResponse((await exchange(ports.engine!, 'GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n')).text);
    assert.equal(r.status, 400);
    assert.equal(r.body, 'Malformed header field\n');
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(r.headers.get('vary'), undefined);
    assert.equal(r.headers.get('connection'), 'close');
  });
});
