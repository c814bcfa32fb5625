// With workers (a node:cluster harness): every request of a bounded load has its line in the one
// access log file, whole; metrics and status are summed across workers in the primary; SIGUSR1 to
// the primary reopens the log in every worker.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { sleep } from '../helpers/loopback-server.ts';

const fixture = fileURLToPath(new URL('./fixtures/cluster-server.ts', import.meta.url));
const LINE = /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/(?:load|after) HTTP\/1\.1" 200 2 "-" "[^"]*"$/;

let dir: string;
let child: ChildProcess;
let port: number;
let admin: string;

describe('access log and metrics with two workers', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'foyer-cluster-log-'));
    child = spawn(process.execPath, ['--import', 'tsx', fixture, join(dir, 'access.log'), '2'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ready = await new Promise<{ port: number; admin: string }>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('cluster harness did not start')), 20_000);
      child.stdout!.on('data', (c) => {
        out += c;
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(JSON.parse(out.slice(0, nl)));
        }
      });
      child.on('exit', (code) => reject(new Error(`harness exited ${code}`)));
    });
    port = ready.port;
    admin = ready.admin;
  });
  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const SENT = 2000;

  test('metrics and status are summed across workers in the primary', async () => {
    const r = await autocannon({ url: `http://127.0.0.1:${port}/load`, connections: 8, amount: SENT });
    assert.equal(r.requests.sent, SENT);
    await sleep(100);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    const total = /^foyer_http_requests_total\{method="GET",status="200"\} (\d+)$/m.exec(metrics);
    assert.equal(Number(total?.[1]), SENT, metrics.slice(0, 2000));
    assert.match(metrics, /^foyer_workers 2$/m);
    assert.match(metrics, /^foyer_http_request_duration_seconds_count 2000$/m);
    assert.match(metrics, /^process_resident_memory_bytes\{worker="1"\} \d+/m);
    assert.match(metrics, /^process_resident_memory_bytes\{worker="2"\} \d+/m);
    const status = (await (await fetch(`${admin}/status?format=json`)).json()) as {
      workers: { id: number; pid: number; requests: number; state: string }[];
    };
    assert.equal(status.workers.length, 2);
    assert.deepEqual(
      status.workers.map((w) => w.state),
      ['serving', 'serving'],
    );
    assert.equal(
      status.workers.reduce((n, w) => n + w.requests, 0),
      SENT,
    );
    for (const w of status.workers) assert.ok(w.requests > 0, `worker ${w.id} served nothing`);
    assert.equal((await fetch(`${admin}/health`)).status, 200);
  });

  test('SIGUSR1 reopens the log in every worker; every request has its whole line', async () => {
    const path = join(dir, 'access.log');
    renameSync(path, `${path}.1`);
    child.kill('SIGUSR1');
    await sleep(300);
    const r = await autocannon({ url: `http://127.0.0.1:${port}/after`, connections: 4, amount: 200 });
    child.kill('SIGTERM');
    await once(child, 'exit');
    const old = readFileSync(`${path}.1`, 'utf8').split('\n').filter(Boolean);
    const fresh = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    assert.equal(old.length, SENT);
    assert.equal(fresh.length, r.requests.sent);
    for (const l of [...old, ...fresh]) assert.match(l, LINE);
    assert.ok(old.every((l) => l.includes('/load')));
    assert.ok(fresh.every((l) => l.includes('/after')));
  });
});
