// The process model: `foyer serve` as one process, with 2 workers (the shared socket, and
// round-robin from the primary), against node:http under node:cluster with 2 workers and nginx with
// one and two, and the node:net ceiling as one process and as two cluster workers; keep-alive
// throughput and, with `Connection: close`, the accept rate. CPU µs per request covers the whole
// process group (primary included). Under the table, each server's CPU per request with two
// processes ÷ with one: the target (≤ 1.1 for Foyer) beside what the same step costs nginx
// and a node:net server that does no work of its own on this machine.
import { nodeServer } from '../lib/child-server.ts';
import { nginxPath, startNginx } from '../lib/nginx.ts';
import type { BenchServer, CpuPair, Scenario } from '../lib/types.ts';

const foyer = new URL('../servers/workers-foyer.ts', import.meta.url);
const ceiling = new URL('../servers/app-ceiling.ts', import.meta.url);
const servers: BenchServer[] = [
  { label: 'foyer -w2', start: () => nodeServer(foyer, { args: ['--workers', '2'] }) },
  { label: 'foyer -w2 rr', start: () => nodeServer(foyer, { args: ['--workers', '2', '--balance', 'round-robin'] }) },
  { label: 'foyer -w1', start: () => nodeServer(foyer) },
  // The process model without parallelism: a primary and one worker (--max-requests is one of the
  // options that need a primary; it never triggers here). Against -w1 it is the cluster machinery's
  // own cost; against -w2, what a second worker costs on a machine whose cores the load tool shares.
  {
    label: 'foyer -w1 + primary',
    start: () => nodeServer(foyer, { args: ['--workers', '1', '--max-requests', '999999999999'] }),
  },
  // FOYER_BENCH_BASELINE_CLI=path/to/other/dist/cli.js: the single process of another checkout, to
  // see that the process model left the one-process path as fast as it was.
  ...(process.env.FOYER_BENCH_BASELINE_CLI === undefined
    ? []
    : [
        {
          label: 'foyer -w1 baseline',
          start: () => nodeServer(foyer, { env: { FOYER_BENCH_CLI: process.env.FOYER_BENCH_BASELINE_CLI as string } }),
        },
      ]),
  {
    label: 'node:cluster ×2',
    start: () => nodeServer(new URL('../servers/http-node-cluster.ts', import.meta.url), { env: { WORKERS: '2' } }),
  },
  // The peer's own ratio of two workers to one process, on the same machine in the same run.
  { label: 'node:http ×1', start: () => nodeServer(new URL('../servers/http-node.ts', import.meta.url)) },
  // The bar's ratio: nginx answering from its config, one worker and two. Its requests cost little
  // CPU, like Foyer's, so what a second process costs the kernel on this machine (a worker that runs
  // out of work sleeps and is woken) weighs on its ratio as it does on Foyer's.
  ...(nginxPath === undefined ? [] : [nginxRow(1), nginxRow(2)]),
];
// The physical limit of a node process model: a canned reply to every request head, one process
// and two workers sharing the listening socket as Foyer's do (app-ceiling.ts). Keep-alive only: it
// never closes a connection, so `Connection: close` is not its scenario.
const ceilings: BenchServer[] = [
  { label: 'node:net ceiling ×1', start: () => nodeServer(ceiling) },
  { label: 'node:net ceiling ×2', start: () => nodeServer(ceiling, { env: { WORKERS: '2' } }) },
];

const cpuPairs: CpuPair[] = [
  { name: 'foyer', many: 'foyer -w2', one: 'foyer -w1', max: 1.1 },
  { name: 'nginx', many: 'nginx ×2', one: 'nginx ×1' },
  { name: 'node:net ceiling', many: 'node:net ceiling ×2', one: 'node:net ceiling ×1' },
  { name: 'node:http', many: 'node:cluster ×2', one: 'node:http ×1' },
];

function nginxRow(workers: number): BenchServer {
  return {
    label: `nginx ×${workers}`,
    start: () =>
      startNginx(
        (port) => `  server {
    listen 127.0.0.1:${port};
    location /plaintext { default_type text/plain; return 200 "Hello, World!"; }
  }`,
        workers,
      ),
  };
}

export const scenarios: Scenario[] = [
  {
    name: 'workers-keepalive',
    description: 'GET /plaintext, keep-alive, through the CLI with workers',
    path: '/plaintext',
    servers: [...servers, ...ceilings],
    cpuPairs,
  },
  {
    name: 'workers-close',
    description: 'GET /plaintext with Connection: close (accept rate)',
    path: '/plaintext',
    headers: { connection: 'close' },
    servers,
  },
];
