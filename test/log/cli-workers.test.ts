// The observability wiring of the real command line with two workers (cli.ts → primary → workers):
// one startup summary from the primary; exactly one access-log line per request whatever ended it
// (200, a handler's 500, parser refusals, both 408s, a client gone: 499); a bounded load with a
// whole line per request and the primary's /metrics summing both workers; SIGUSR1 reopening the
// log in every worker; a killed worker counted while /metrics keeps answering; /health 503 while
// draining.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { getText, type Running, startFoyer, waitFor } from '../process/helpers.ts';
import { sleep } from '../helpers/loopback-server.ts';
import { exchange } from '../helpers/raw-client.ts';

const site = fileURLToPath(new URL('./fixtures/site/', import.meta.url));
const COMBINED_START = /^127\.0\.0\.1 - - \[[^\]]+\] "/;
const COMBINED = /^127\.0\.0\.1 - - \[[^\]]+\] "[^"]*" \d{3} \d+ "[^"]*" "[^"]*"$/;

let dir: string;
let logPath: string;
let foyer: Running;
let port: number;
let admin: string;

const lines = (path = logPath) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
const metrics = async () => (await getText(`${admin}/metrics`)).body;
/** Lines are batched for up to 250 ms in each worker. */
const settle = () => sleep(700);

describe('the CLI with --workers 2: access log, metrics, status, health', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'foyer-cli-workers-'));
    logPath = join(dir, 'access.log');
    foyer = await startFoyer(
      [
        join(site, 'public'),
        '--app',
        join(site, 'app.ts'),
        '--port',
        '0',
        '--workers',
        '2',
        '--access-log',
        logPath,
        '--admin',
        '127.0.0.1:0',
        '--log-format',
        'json',
        '--limit',
        'headersTimeout=1000',
        '--limit',
        'bodyTimeout=1000',
      ],
      { cwd: dir },
    );
    port = Number(new URL(foyer.origin).port);
    const summary = await waitFor('the startup summary', () =>
      foyer
        .log()
        .split('\n')
        .find((l) => l.includes('foyer ready')),
    );
    admin = (JSON.parse(summary) as { admin: string }).admin;
  });
  after(async () => {
    await foyer?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('the primary prints one startup summary naming workers, root, app, access log and admin', async () => {
    await sleep(300);
    const ready = foyer
      .log()
      .split('\n')
      .filter((l) => l.includes('foyer ready'));
    assert.equal(ready.length, 1, foyer.log());
    const s = JSON.parse(ready[0]!) as Record<string, unknown>;
    assert.equal(s.msg, `foyer ready on ${foyer.origin}`);
    assert.equal(s.workers, 2);
    assert.equal(s.pid, foyer.pid);
    assert.equal(s.root, join(site, 'public'));
    assert.equal(s.accessLog, `${logPath} (combined)`);
    assert.match(String(s.admin), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await getText(`${admin}/health`)).status, 200);
  });

  test('every way a request ends writes exactly one line with its status', async () => {
    const before = lines().length;
    const ask = (raw: string | string[], quietMs = 300) => exchange(port, raw, { quietMs });
    await ask('GET /ok?t=200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await ask('GET /boom?t=500 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await ask('GET /t=400 HTTP/1.1\r\nHost: x\r\nBad Field: y\r\n\r\n');
    await ask(
      'POST /upload?t=413 HTTP/1.1\r\nHost: x\r\nReferer: http://r/\r\nContent-Length: 99999999\r\nUser-Agent: ua-413\r\n\r\n',
    );
    await ask(`GET /t=414${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    // A request line over the whole head's limit (16 KiB) arriving with its head: still 414.
    await ask(`GET /t=414big${'a'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await ask(`GET /t=431 HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(200)}\r\n`);
    // Heads and bodies that stop coming: cut after the 1 s limits (--limit).
    await ask('GET /t=408h HTTP/1.1\r\nHost: x\r\n', 2500);
    await ask('POST /upload?t=408b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nten bytes.', 2500);
    // A client that leaves before its response: 499.
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('GET /slow?ms=800&t=499 HTTP/1.1\r\nHost: x\r\n\r\n');
        setTimeout(() => s.destroy(), 200);
      });
      s.on('close', () => resolve());
      s.on('error', () => {});
    });
    await sleep(800);
    await settle();
    const fresh = lines().slice(before);
    const expected: [string, number][] = [
      ['t=200', 200],
      ['t=500', 500],
      ['t=400', 400],
      ['t=413', 413],
      ['t=414', 414],
      ['t=414big', 414],
      ['t=431', 431],
      ['t=408h', 408],
      ['t=408b', 408],
      ['t=499', 499],
    ];
    assert.equal(fresh.length, expected.length, fresh.join('\n'));
    for (const [mark, status] of expected) {
      const found = fresh.filter((l) => l.includes(`${mark} HTTP/1.1"`) || l.includes(`${mark}a`));
      assert.equal(found.length, 1, `${mark}: ${fresh.join('\n')}`);
      assert.match(found[0]!.slice(0, 300), COMBINED_START, mark);
      assert.equal(Number(/" (\d{3}) \d+ "/.exec(found[0]!)?.[1]), status, found[0]);
    }
    // A 413 decided on Content-Length is logged with what its head carried.
    const tooLarge = fresh.find((l) => l.includes('t=413'));
    assert.match(tooLarge ?? '', /"POST \/upload\?t=413 HTTP\/1\.1" 413 \d+ "http:\/\/r\/" "ua-413"$/);
    assert.match(await metrics(), /^foyer_http_requests_total\{method="POST",status="413"\} [1-9]/m);
  });

  test('a bounded load: one whole line per request, and /metrics sums both workers', async () => {
    const SENT = 1000;
    const countBefore = metric(await metrics(), /^foyer_http_requests_total\{method="GET",status="200"\} (\d+)$/m);
    const linesBefore = lines().length;
    const r = await autocannon({ url: `http://127.0.0.1:${port}/ok?load`, connections: 8, amount: SENT });
    assert.equal(r.requests.sent, SENT);
    assert.equal(r.non2xx, 0);
    await settle();
    const all = lines();
    const fresh = all.slice(linesBefore);
    assert.equal(fresh.length, SENT);
    for (const l of all) assert.match(l, COMBINED);
    assert.ok(fresh.every((l) => l.includes('"GET /ok?load HTTP/1.1" 200 2 ')));
    const text = await metrics();
    const countAfter = metric(text, /^foyer_http_requests_total\{method="GET",status="200"\} (\d+)$/m);
    assert.equal(countAfter - countBefore, SENT);
    assert.match(text, /^foyer_workers 2$/m);
    assert.match(text, /^process_resident_memory_bytes\{worker="1"\} \d+/m);
    assert.match(text, /^process_resident_memory_bytes\{worker="2"\} \d+/m);
    const status = JSON.parse((await getText(`${admin}/status?format=json`)).body) as {
      workers: { requests: number; state: string }[];
    };
    assert.deepEqual(
      status.workers.map((w) => w.state),
      ['serving', 'serving'],
    );
  });

  test('SIGUSR1 to the primary reopens the log in every worker', async () => {
    renameSync(logPath, `${logPath}.1`);
    const reopened = foyer.log().split('log files reopened').length;
    foyer.child.kill('SIGUSR1');
    await waitFor('the reopen', () => (foyer.log().split('log files reopened').length > reopened ? true : undefined));
    // New connections each time, so that both workers serve some of them.
    for (let i = 0; i < 20; i++) assert.equal((await getText(`${foyer.origin}/ok?rotated`)).status, 200);
    await settle();
    const fresh = lines();
    assert.equal(fresh.length, 20);
    for (const l of fresh) assert.match(l, /"GET \/ok\?rotated HTTP\/1\.1" 200 /);
    assert.ok(lines(`${logPath}.1`).every((l) => !l.includes('rotated')));
  });

  test('a killed worker is replaced and counted, and /metrics answers meanwhile', async () => {
    const status = JSON.parse((await getText(`${admin}/status?format=json`)).body) as { workers: { pid: number }[] };
    process.kill(status.workers[0]!.pid, 'SIGKILL');
    await sleep(200);
    const during = await getText(`${admin}/metrics`);
    assert.equal(during.status, 200);
    assert.match(during.body, /^foyer_worker_restarts_total 1$/m);
    await waitFor('the replacement', async () => (/^foyer_workers 2$/m.test(await metrics()) ? true : undefined));
    const s = JSON.parse((await getText(`${admin}/status?format=json`)).body) as { workers: unknown[] };
    assert.equal(s.workers.length, 2);
  });

  test('/health answers 503 while the workers drain, and the request in flight completes', async () => {
    const slow = getText(`${foyer.origin}/slow?ms=2500`);
    await sleep(400);
    foyer.child.kill('SIGTERM');
    await waitFor('draining', async () => ((await getText(`${admin}/health`)).status === 503 ? true : undefined), 2000);
    assert.equal((await getText(`${admin}/health`)).body, 'draining\n');
    assert.deepEqual(await slow, { status: 200, body: 'slow' });
    const exit = foyer.child.exitCode ?? ((await once(foyer.child, 'exit')) as [number | null])[0];
    assert.equal(exit, 0);
  });
});
