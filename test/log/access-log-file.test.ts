// The access log as a file: one parseable line per request under a bounded load, JSON fields,
// reopening after a rename (logrotate) and after copytruncate, and a stuck destination that
// drops and counts lines instead of growing memory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import autocannon from 'autocannon';
import { createFormatter } from '../../src/log/access-format.ts';
import { AccessLog } from '../../src/log/access-log.ts';
import type { Transaction } from '../../src/reception/transaction.ts';
import { exchange, firstResponse } from '../helpers/raw-client.ts';
import { sleep, start } from '../helpers/loopback-server.ts';

const COMBINED = /^(\S+) - (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'foyer-access-log-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const readLines = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean);

describe('access log file', () => {
  test('one parseable line per request under a bounded load', async () => {
    const path = join(dir, 'load.log');
    const server = await start(() => new Response('ok'), { accessLog: { path } });
    const r = await autocannon({
      url: `${server.url}/load?x=1`,
      connections: 8,
      pipelining: 4,
      amount: 3000,
      headers: { 'user-agent': 'bounded-load' },
    });
    await server.close();
    const lines = readLines(path);
    assert.equal(r.requests.sent, 3000);
    assert.equal(lines.length, r.requests.sent);
    for (const l of lines) {
      const m = COMBINED.exec(l);
      assert.ok(m, `unparseable line ${JSON.stringify(l)}`);
      assert.equal(m[4], 'GET /load?x=1 HTTP/1.1');
      assert.equal(m[5], '200');
      assert.equal(m[8], 'bounded-load');
    }
  });

  test('json: one object per line with the request, response, timing and id', async () => {
    const path = join(dir, 'json.log');
    const server = await start(
      async () => {
        await sleep(20);
        return new Response('hello', { status: 201 });
      },
      { accessLog: { path, format: 'json', worker: 3 } },
    );
    const res = firstResponse(
      (
        await exchange(
          server.address.port,
          Buffer.from(
            `POST /p?q=%C3%A9 HTTP/1.1\r\nHost: x\r\nReferer: http://r/\r\nUser-Agent: café\r\nContent-Length: 0\r\n\r\n`,
            'utf8',
          ),
        )
      ).text,
    );
    await server.close();
    const [line] = readLines(path);
    const o = JSON.parse(line!) as Record<string, unknown>;
    assert.equal(typeof o.time, 'number');
    assert.equal(o.reqId, res.headers.get('x-request-id'));
    assert.equal(o.remoteAddress, '127.0.0.1');
    assert.equal(o.method, 'POST');
    assert.equal(o.url, '/p?q=%C3%A9');
    assert.equal(o.protocol, 'HTTP/1.1');
    assert.equal(o.statusCode, 201);
    assert.equal(o.bytes, 5);
    assert.ok((o.responseTime as number) >= 15, `responseTime ${o.responseTime}`);
    assert.equal(o.referer, 'http://r/');
    assert.equal(o.userAgent, 'café');
    assert.equal(o.worker, 3);
    assert.equal(o.remoteUser, undefined);
  });

  test('reopen() after a rename writes to a new file at the path; the old file keeps its lines', async () => {
    const path = join(dir, 'rotate.log');
    const server = await start(() => new Response('ok'), { accessLog: { path, flushInterval: 10 } });
    await exchange(server.address.port, 'GET /before HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(100);
    renameSync(path, `${path}.1`);
    server.reopenLogs();
    await exchange(server.address.port, 'GET /after HTTP/1.1\r\nHost: x\r\n\r\n');
    await server.close();
    assert.deepEqual(
      readLines(`${path}.1`).map((l) => COMBINED.exec(l)![4]),
      ['GET /before HTTP/1.1'],
    );
    assert.deepEqual(
      readLines(path).map((l) => COMBINED.exec(l)![4]),
      ['GET /after HTTP/1.1'],
    );
  });

  test('copytruncate: lines after the truncation start at the beginning of the file (O_APPEND)', async () => {
    const path = join(dir, 'truncate.log');
    const server = await start(() => new Response('ok'), { accessLog: { path, flushInterval: 10 } });
    for (let i = 0; i < 20; i++)
      await exchange(server.address.port, `GET /old${i} HTTP/1.1\r\nHost: x\r\n\r\n`, { quietMs: 20 });
    await sleep(100);
    truncateSync(path, 0);
    await exchange(server.address.port, 'GET /new HTTP/1.1\r\nHost: x\r\n\r\n');
    await server.close();
    const text = readFileSync(path, 'latin1');
    assert.ok(!text.includes('\0'), 'no hole of NUL bytes where the old lines were');
    assert.deepEqual(
      readLines(path).map((l) => COMBINED.exec(l)![4]),
      ['GET /new HTTP/1.1'],
    );
  });

  test('batches hold whole lines in order; a line longer than a batch is written on its own', async () => {
    const path = join(dir, 'batches.log');
    const log = new AccessLog({ path, batchBytes: 256 });
    const tx = (target: string, ua: string): Transaction => ({
      start: 0,
      end: 1_796_000_000_000,
      method: 'GET',
      target,
      minor: 1,
      rawLine: '',
      status: 200,
      bytes: target.length,
      fields: ['User-Agent', ua],
      ctx: undefined,
      peer: '127.0.0.1',
    });
    const txs = [
      ...Array.from({ length: 7 }, (_, i) => tx(`/small/${i}`, 'a')),
      tx(`/${'"'.repeat(300)}`, 'b'), // escaped: 1,200 bytes, several batches long
      ...Array.from({ length: 7 }, (_, i) => tx(`/after/${i}`, i % 2 ? 'c' : 'a')),
      tx('/x', 'é'.repeat(100)),
    ];
    for (const t of txs) log.record(t);
    await log.close();
    const want = txs.map((t) => createFormatter('combined')(t, t.end)).join('');
    assert.equal(readFileSync(path, 'latin1'), want);
    assert.equal(log.lines, txs.length);
  });

  test('a destination that does not take lines drops them and counts them; memory stays bounded', async (t) => {
    const fifo = join(dir, 'stuck.fifo');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      t.skip('mkfifo is not available');
      return;
    }
    // No reader: the writer cannot even open its destination, like a hung disk.
    const told: string[] = [];
    const log = new AccessLog({
      path: fifo,
      batchBytes: 1024,
      maxBuffered: 16 * 1024,
      onError: (err) => told.push(err.code ?? ''),
    });
    const tx: Transaction = {
      start: Date.now(),
      end: Date.now(),
      method: 'GET',
      target: `/${'x'.repeat(100)}`,
      minor: 1,
      rawLine: '',
      status: 200,
      bytes: 2,
      fields: [],
      ctx: undefined,
      peer: '127.0.0.1',
    };
    for (let i = 0; i < 2000; i++) log.record(tx);
    await log.flush().catch(() => {});
    assert.ok(log.dropped > 1500, `dropped ${log.dropped}`);
    assert.equal(log.lines + log.dropped, 2000);
    // The open failed (no reader: ENXIO, at once, never a blocked thread), and so did the lines past
    // maxBuffered: each told once.
    for (let i = 0; i < 200 && !told.includes('ENXIO'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(told, ['BACKLOG', 'ENXIO']);
    // A reader at last (a log shipper that started late): the writer's next open finds it, and the
    // lines that waited (up to maxBuffered) arrive, then the end once the log closes.
    const reader = createReadStream(fifo);
    let got = '';
    reader.on('data', (d) => (got += d.toString('latin1')));
    const ended = new Promise<void>((r) => reader.on('close', () => r()));
    for (let i = 0; i < 200 && got === ''; i++) await new Promise((r) => setTimeout(r, 50));
    // Failing, the reader's open would wait in node's thread pool for ever: a writer of ours ends it.
    if (got === '') writeFileSync(fifo, '', { flag: 'a' });
    await log.close();
    await ended;
    assert.ok(got.length > 0, 'the lines that waited never reached the late reader');
    assert.equal(got.split('\n').length - 1, log.lines);
  });
});
