// node:http under node:cluster with WORKERS workers (default 2): the peer for Foyer's --workers.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { plainHandler } from './http-node-handler.ts';
import { runPrimary } from './cluster-primary.ts';
import { port } from './ready.ts';

const workers = Number(process.env.WORKERS ?? 2);
if (cluster.isPrimary) runPrimary(workers);
else {
  const server = createServer(plainHandler);
  server.keepAliveTimeout = 30_000;
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
