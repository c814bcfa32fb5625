// The access layer's cost per request: a rate limit that never triggers (in memory, with two
// workers asking the primary over IPC, on Redis) and Basic auth with a bcrypt entry (answered from
// the verified-credentials cache), each against the same server without it.
import { spawn } from 'node:child_process';
import { freePort, nodeServer, which } from '../lib/child-server.ts';
import type { BenchServer, RunningServer, Scenario } from '../lib/types.ts';

const entry = new URL('../servers/access-foyer.ts', import.meta.url);

async function withWorkers(env: Record<string, string>): Promise<RunningServer> {
  // Cluster workers share the primary's port: it must be fixed before they start.
  const port = await freePort();
  return nodeServer(entry, { env: { ...env, WORKERS: '2', PORT: String(port) } });
}

/** A private redis-server for the Redis variant, stopped with the server. */
async function withRedis(): Promise<RunningServer> {
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await new Promise((r) => setTimeout(r, 300));
  const server = await nodeServer(entry, { env: { ACCESS: 'redis', REDIS_URL: `redis://127.0.0.1:${port}` } });
  return {
    ...server,
    async stop() {
      await server.stop();
      redis.kill('SIGTERM');
    },
  };
}

const servers: BenchServer[] = [
  { label: 'none', start: () => nodeServer(entry, { env: { ACCESS: 'none' } }) },
  { label: 'rate (memory)', start: () => nodeServer(entry, { env: { ACCESS: 'rate' } }) },
  ...(which('redis-server') ? [{ label: 'rate (redis)', start: withRedis }] : []),
  { label: 'basic (bcrypt)', start: () => nodeServer(entry, { env: { ACCESS: 'basic' } }) },
  { label: 'none, 2 workers', start: () => withWorkers({ ACCESS: 'none' }) },
  { label: 'rate, 2 workers', start: () => withWorkers({ ACCESS: 'rate' }) },
];

export const scenarios: Scenario[] = [
  {
    name: 'access',
    description: 'GET /plaintext through a never-triggering rate limit or Basic auth, keep-alive',
    path: '/plaintext',
    headers: { authorization: `Basic ${Buffer.from('bench:bench').toString('base64')}` },
    servers,
  },
];
