// Workers under a primary: real processes, real signals, bounded loads on 127.0.0.1.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { getText, startFoyer, waitFor } from './helpers.ts';
import { startLoad } from './load.ts';

const app = ['--app', 'who-app.ts', '--port', '0', '--log-level', 'info'];

test('workers answer from different processes, none of them the primary', async () => {
  const foyer = await startFoyer([...app, '--workers', '2']);
  try {
    const pids = new Set<number>();
    await waitFor('two workers answering', async () => {
      const { body } = await getText(`${foyer.origin}/who`);
      pids.add(JSON.parse(body).pid);
      return pids.size >= 2 ? true : undefined;
    });
    assert.ok(!pids.has(foyer.pid), 'the primary serves nothing');
  } finally {
    assert.equal(await foyer.stop(), 0);
  }
});

test('a worker killed with SIGKILL is replaced; connections to the other worker are unaffected', async () => {
  const foyer = await startFoyer([...app, '--workers', '2']);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const onKept = () =>
    new Promise<number>((resolve, reject) => {
      http
        .get(`${foyer.origin}/who`, { agent }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(JSON.parse(body).pid));
        })
        .on('error', reject);
    });
  try {
    const kept = await onKept();
    const victim = await waitFor('the other worker', async () => {
      const pid = JSON.parse((await getText(`${foyer.origin}/who`)).body).pid as number;
      return pid !== kept ? pid : undefined;
    });
    // Load on the other worker's connections while the victim dies.
    const load = startLoad(`${foyer.origin}/`, { connections: 4 });
    process.kill(victim, 'SIGKILL');
    for (let i = 0; i < 50; i++) assert.equal(await onKept(), kept, 'the kept-alive connection stays with its worker');
    await load.stop();
    const replacement = await waitFor('a replacement worker', async () => {
      const pid = JSON.parse((await getText(`${foyer.origin}/who`)).body).pid as number;
      return pid !== kept && pid !== victim ? pid : undefined;
    });
    assert.ok(replacement > 0);
    assert.match(foyer.log(), /worker died; starting a new one/);
    assert.match(foyer.log(), new RegExp(`"worker":${victim}`));
  } finally {
    agent.destroy();
    assert.equal(await foyer.stop(), 0);
  }
});

test('recycling after --max-requests under load fails no request', async () => {
  const foyer = await startFoyer([...app, '--workers', '2', '--max-requests', '150']);
  try {
    const load = startLoad(`${foyer.origin}/`, { connections: 6, timeoutMs: 90_000 });
    // Each worker is recycled after about 150 requests: run until two more generations served.
    await waitFor('recycled workers serving', () => (load.result.bodies.size >= 4 ? true : undefined), 90_000).catch(
      () => {},
    );
    const result = await load.stop();
    assert.deepEqual(result.errors, []);
    assert.equal(result.failed, 0);
    assert.ok(result.bodies.size >= 4, `workers seen: ${result.bodies.size}`);
    assert.match(foyer.log(), /recycling a worker/);
  } finally {
    assert.equal(await foyer.stop(), 0);
  }
});
