// What the access log costs: the plaintext server with a combined-format log file against the same
// server without one, in the same run. Goal (issue 10): at most 10% fewer requests per second.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeServer } from '../lib/child-server.ts';
import type { BenchServer, Scenario } from '../lib/types.ts';

const entry = new URL('../servers/http-foyer.ts', import.meta.url);
const logFile = () => join(mkdtempSync(join(tmpdir(), 'foyer-bench-log-')), 'access.log');
const servers: BenchServer[] = [
  { label: 'foyer + access log', start: () => nodeServer(entry, { env: { FOYER_BENCH_ACCESS_LOG: logFile() } }) },
  { label: 'foyer', start: () => nodeServer(entry) },
  // The log without X-Request-Id on responses: what the id header costs on its own.
  {
    label: 'log, no X-Request-Id',
    start: () => nodeServer(entry, { env: { FOYER_BENCH_ACCESS_LOG: logFile(), FOYER_BENCH_REQUEST_ID: '0' } }),
  },
];
const targets = [{ peer: 'foyer', min: 0.9 }];

export const scenarios: Scenario[] = [
  {
    name: 'access-log',
    description: 'GET /plaintext, keep-alive, log file on vs off',
    path: '/plaintext',
    servers,
    targets,
  },
  {
    name: 'access-log-pipelined',
    description: 'GET /plaintext, 16-deep pipelining, log file on vs off',
    path: '/plaintext',
    pipelining: 16,
    servers,
    targets,
  },
];
