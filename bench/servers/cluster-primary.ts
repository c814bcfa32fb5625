// The node:cluster primary of a bench server run as several workers: forks them, prints the ready
// line once every one listens, and stops them on SIGTERM.
import cluster from 'node:cluster';
import { ready } from './ready.ts';

export function runPrimary(workers: number): void {
  let listening = 0;
  cluster.on('listening', (_w, addr) => {
    if (++listening === workers) ready(addr.port);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.once('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
}
