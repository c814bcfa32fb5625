// node:http under node:cluster with WORKERS workers (default 2): the peer for Foyer's --workers.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { plainHandler } from './http-node-handler.ts';
import { port, ready } from './ready.ts';

const workers = Number(process.env.WORKERS ?? 2);
if (cluster.isPrimary) {
  let listening = 0;
  cluster.on('listening', (_w, addr) => {
    if (++listening === workers) ready(addr.port);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.once('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const server = createServer(plainHandler);
  server.keepAliveTimeout = 30_000;
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
