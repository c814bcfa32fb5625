// Foyer's /plaintext behind the access layer, for the cost of each check per request:
// ACCESS=none | rate (memory) | redis (REDIS_URL) | basic (a bcrypt htpasswd entry);
// WORKERS=2 runs two cluster workers with the rate-limit table in the primary, reached over IPC.
import cluster from 'node:cluster';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { loadFoyer } from '../lib/foyer.ts';
import { PLAINTEXT, port, ready } from './ready.ts';

const mode = process.env.ACCESS ?? 'none';
const workers = Number(process.env.WORKERS ?? 0);
const foyer = await loadFoyer();

if (workers > 0 && cluster.isPrimary) {
  // The primary's side of the RPC (what `--workers` wires up): the shared tables, answering workers.
  const { provideRateService } = await import('../../src/access/rate-store.ts');
  const { serveWorker } = await import('../../src/os/primary-rpc.ts');
  provideRateService();
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork();
    serveWorker(w);
    w.on('message', (m) => {
      if (m === 'listening' && ++listening === workers) ready(port);
    });
  }
  process.once('SIGTERM', () => process.exit(0));
} else {
  // A limit that never triggers: what is measured is the cost of the check itself.
  const never = { rate: '1000000r/s', burst: 1_000_000 };
  let layer:
    | ((req: Request, ctx: import('../../src/index.ts').Context, next: () => Promise<Response>) => unknown)
    | undefined;
  if (mode === 'rate') layer = foyer.rateLimit(never);
  if (mode === 'redis')
    layer = foyer.rateLimit({ ...never, store: foyer.redisRateStore({ url: process.env.REDIS_URL ?? '' }) });
  if (mode === 'basic') {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-'));
    const file = join(dir, 'htpasswd');
    writeFileSync(file, `bench:${bcrypt.hashSync('bench', 10).replace(/^\$2b\$/, '$2y$')}\n`);
    layer = foyer.basicAuth({ file });
  }
  const answer = async () => new Response(PLAINTEXT, { headers: { 'content-type': 'text/plain' } });
  const server = await foyer.serve({
    port: workers > 0 ? port : port,
    host: '127.0.0.1',
    logLevel: 'warn',
    fetch: layer === undefined ? answer : (req, ctx) => layer(req, ctx, answer) as Promise<Response>,
  });
  if (workers > 0) process.send?.('listening');
  else ready(server.address.port);
  process.once('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
}
