// The admin listener of a single process: /health (200 serving, 503 draining), /metrics (the
// names operators alert on), /status as JSON and as a page, seen in headless Chromium with a
// screenshot in test/artifacts/ to look at.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServingObservability } from '../../src/config/observability.ts';
import { staticFiles } from '../../src/handlers/static/index.ts';
import type { Context } from '../../src/types.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Server } from '../../src/server.ts';
import { serve } from '../../src/server.ts';
import { exchange } from '../helpers/raw-client.ts';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));

let dir: string;
let server: Server;
let obs: ServingObservability;
let admin: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'foyer-admin-'));
  const log = createLogger('silent');
  obs = new ServingObservability({ admin: '127.0.0.1:0', accessLog: join(dir, 'access.log') }, log, {
    stdoutIsTty: false,
  });
  // A FastCGI gateway as the pipeline hands it over: its pool (open, idle, waiting) and upstream errors.
  obs.watchLayer({ stats: { open: 4, idle: 1, waiting: 2 }, upstreamErrors: { connect: 2, timeout: 1, protocol: 0 } });
  // A real static handler: one miss (the disk), then hits from its memory cache.
  writeFileSync(join(dir, 'page.txt'), 'page');
  const files = staticFiles(dir);
  obs.watchLayer(files);
  for (let i = 0; i < 3; i++) await files(new Request('http://x/page.txt'), {} as Context);
  server = await serve({ port: 0, fetch: () => new Response('hi'), logger: log, ...obs.serveOptions() });
  await obs.started(server, {});
  admin = obs.adminUrl!;
  for (let i = 0; i < 5; i++) await exchange(server.address.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { quietMs: 20 });
  await exchange(server.address.port, 'GET /x HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', { quietMs: 20 });
});
after(async () => {
  await server?.close();
  await obs?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('admin listener', () => {
  test('is its own listener: the public port does not answer /metrics with metrics', async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(await res.text(), 'hi');
    assert.notEqual(new URL(admin).port, String(server.address.port));
  });

  test('/metrics has the request, connection and FastCGI figures', async () => {
    const res = await fetch(`${admin}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const m = await res.text();
    assert.match(m, /^foyer_http_requests_total\{method="GET",status="200"\} 6$/m);
    assert.match(m, /^foyer_http_requests_total\{method="NONE",status="400"\} 1$/m);
    assert.match(m, /^foyer_http_request_duration_seconds_bucket\{le="\+Inf"\} 7$/m);
    assert.match(m, /^foyer_http_response_size_bytes_sum \d+$/m);
    assert.match(m, /^foyer_connections_accepted_total 7$/m);
    assert.match(m, /^foyer_connections_active \d+$/m);
    assert.match(m, /^foyer_connections_idle \d+$/m);
    assert.match(m, /^foyer_fastcgi_connections_busy 3$/m);
    assert.match(m, /^foyer_fastcgi_connections_idle 1$/m);
    assert.match(m, /^foyer_fastcgi_requests_queued 2$/m);
    assert.match(m, /^foyer_fastcgi_upstream_errors_total\{kind="connect"\} 2$/m);
    assert.match(m, /^foyer_fastcgi_upstream_errors_total\{kind="timeout"\} 1$/m);
    assert.match(m, /^foyer_fastcgi_upstream_errors_total\{kind="protocol"\} 0$/m);
    assert.match(m, /^foyer_static_cache_hits_total 2$/m);
    assert.match(m, /^foyer_static_cache_misses_total 1$/m);
    assert.match(m, /^process_cpu_user_seconds_total\{worker="0"\} /m);
  });

  test('/status?format=json: stub_status figures and the one worker', async () => {
    const s = (await (await fetch(`${admin}/status?format=json`)).json()) as {
      workers: { pid: number; requests: number; state: string; fastcgi: unknown[] }[];
    };
    assert.equal(s.workers.length, 1);
    assert.equal(s.workers[0]!.pid, process.pid);
    assert.equal(s.workers[0]!.requests, 7);
    assert.equal(s.workers[0]!.state, 'serving');
    assert.deepEqual(s.workers[0]!.fastcgi, [{ open: 4, idle: 1, waiting: 2 }]);
  });

  test('on loopback, answers loopback names only: a rebound DNS name cannot read it from a browser', async () => {
    const port = Number(new URL(admin).port);
    const ask = async (host: string) => {
      const r = await exchange(port, `GET /status?format=json HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      return Number(r.text.slice(9, 12));
    };
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`, '127.0.0.2'])
      assert.equal(await ask(host), 200, host);
    for (const host of [
      `attacker.example:${port}`,
      'attacker.example',
      `10.0.0.1:${port}`,
      'localhost.attacker.example',
    ])
      assert.equal(await ask(host), 403, host);
  });

  test('unknown paths are 404, other methods 405', async () => {
    assert.equal((await fetch(`${admin}/nope`)).status, 404);
    assert.equal((await fetch(`${admin}/metrics`, { method: 'POST' })).status, 405);
  });

  test('the status page in a real browser: figures, worker table, pool, refreshing', {
    skip: existsSync(CHROMIUM) ? false : `chromium is not installed at ${CHROMIUM} (apt-get install chromium)`,
  }, async () => {
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'foyer-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 800 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${admin}/status`);
      assert.equal(await page.title(), 'Foyer status');
      const cards = await page.locator('.card').allInnerTexts();
      assert.ok(
        cards.some((c) => /REQUESTS\s+7/i.test(c)),
        cards.join(' | '),
      );
      assert.ok(cards.some((c) => /ACTIVE CONNECTIONS/i.test(c)));
      const row = await page.locator('tbody tr').first().innerText();
      assert.match(row, new RegExp(`\\b${process.pid}\\b`));
      assert.match(row, /serving/);
      assert.match(row, /3 \/ 1 \/ 2/);
      assert.equal(await page.locator('meta[http-equiv="refresh"]').getAttribute('content'), '5');
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'status-page.png'), fullPage: true });
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  test('/health is 200 while serving and 503 once draining', async () => {
    assert.equal((await fetch(`${admin}/health`)).status, 200);
    obs.draining();
    const res = await fetch(`${admin}/health`);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'draining\n');
  });
});
