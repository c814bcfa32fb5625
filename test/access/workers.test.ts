import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis-server.ts';

const fixture = fileURLToPath(new URL('./cluster-fixture.ts', import.meta.url));

/** One request on a fresh connection: the cluster hands each connection to the next worker. */
function get(port: number, path: string, cookie?: string) {
  return new Promise<{ status: number; body: string; setCookie: string[] }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: cookie ? { cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
  });
}

describe('state shared by two worker processes', () => {
  let child: ChildProcess;
  let port: number;

  before(async () => {
    port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, FOYER_TEST_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('cluster fixture did not start')), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => reject(new Error('cluster fixture exited')));
    });
  });

  after(async () => {
    if (child.exitCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  });

  test('two workers enforce one rate limit, not one each', async () => {
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await get(port, '/limited'));
    const pids = new Set(results.map((r) => r.body));
    assert.equal(pids.size, 2, 'both workers answered');
    assert.equal(results.filter((r) => r.status === 200).length, 5, results.map((r) => r.status).join(' '));
  });

  test('a session written through one worker is seen by the next request on another', async () => {
    const login = await get(port, '/login/erin');
    const cookie = login.setCookie[0]!.split(';')[0]!;
    const reads = [];
    for (let i = 0; i < 4; i++) reads.push(JSON.parse((await get(port, '/me', cookie)).body));
    assert.equal(new Set(reads.map((r) => r.pid)).size, 2, 'both workers answered');
    assert.ok(reads.every((r) => r.user === 'erin'));
  });
});
