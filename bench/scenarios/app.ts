// What users run: `foyer serve ROOT --app app.mjs` (the CLI, built with tsc, its default pipeline
// of compression, the app and the fall-through to static files) with a fetch app that parses
// `new URL(req.url)`, next to the engine alone (`serve({ fetch: app.fetch })`), every peer hosting
// the same app, and the physical limit (node:net answering each request head with a canned reply).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, nodeServer } from '../lib/child-server.ts';
import { foyerCli } from '../lib/foyer-cli.ts';
import { INLINE_BUDGET, INLINE_BUDGET_FLAG } from '../../src/os/jit-tuning.ts';
import type { BenchServer, Scenario } from '../lib/types.ts';

const entry = (name: string) => new URL(`../servers/${name}.ts`, import.meta.url);
const cli: BenchServer = {
  label: 'foyer serve --app',
  start: (o) => foyerCli(['bench/fixtures/app/public', '--app', 'bench/fixtures/app/app.mjs'], o),
};
// The engine alone runs with the inlining budget `foyer serve` sets for itself (src/os/jit-tuning.ts),
// so that CLI ÷ engine is what the CLI's pipeline costs, not a difference of V8 settings. The
// peers run as their users run them, with V8's defaults (so do the ceiling and the last row), so
// the CLI's ratios to them include what the budget gives `foyer serve`.
const engine: BenchServer = {
  label: 'serve({ fetch })',
  start: (o) =>
    nodeServer(entry('app-engine'), {
      ...o,
      nodeFlags: [...(o?.nodeFlags ?? []), `${INLINE_BUDGET_FLAG}=${INLINE_BUDGET}`],
    }),
};
const ceiling: BenchServer = { label: 'node:net ceiling', start: (o) => nodeServer(entry('app-ceiling'), o) };
const nodeHttp: BenchServer = { label: 'node:http', start: (o) => nodeServer(entry('app-node'), o) };
// The ceiling reading as Foyer reads (node's onread mode): the limit for a server that reads that way.
const ceilingOnread: BenchServer = {
  label: 'node:net ceiling, onread',
  start: (o) => nodeServer(entry('app-ceiling'), { ...o, env: { CEILING_ONREAD: '1' } }),
};
// The ceiling plus the app's `new URL()`: how much of the distance to the ceiling is the app's own.
const ceilingUrl: BenchServer = {
  label: 'node:net ceiling + new URL',
  start: (o) => nodeServer(entry('app-ceiling'), { ...o, env: { CEILING_PARSES_URL: '1' } }),
};
// FOYER_BENCH_BASELINE_CLI=other/dist/cli.js: another checkout's CLI beside this one, same run (A/B).
const baseline: BenchServer[] =
  process.env.FOYER_BENCH_BASELINE_CLI === undefined
    ? []
    : [
        {
          label: 'foyer serve --app, baseline',
          start: (o: Parameters<BenchServer['start']>[0]) =>
            foyerCli(
              ['bench/fixtures/app/public', '--app', 'bench/fixtures/app/app.mjs'],
              o,
              process.env.FOYER_BENCH_BASELINE_CLI,
            ),
        },
      ];
// The engine as a library user runs it: serve() never changes its host's V8 settings.
const engineDefaults: BenchServer = {
  label: 'serve({ fetch }), V8 defaults',
  start: (o) => nodeServer(entry('app-engine'), o),
};
const servers: BenchServer[] = [
  cli,
  engine,
  ceiling,
  nodeHttp,
  ceilingOnread,
  ceilingUrl,
  { label: 'fastify', start: (o) => nodeServer(entry('app-fastify'), o) },
  { label: '@hono/node-server', start: (o) => nodeServer(entry('app-hono-node'), o) },
  engineDefaults,
  ...baseline,
];

// The CLI as it runs in production: an access log written to a file, the admin listener up, and a
// per-client rate limit far above what one load generator can send (so it decides every request and
// never refuses one), against the engine alone.
const productionServer = (label: string, cli?: string): BenchServer => ({
  label,
  start: async (o) => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-prod-'));
    const admin = await freePort();
    const running = await foyerCli(
      [
        'bench/fixtures/app/public',
        '--app',
        'bench/fixtures/app/app.mjs',
        '--access-log',
        join(dir, 'access.log'),
        '--admin',
        `127.0.0.1:${admin}`,
        '--rate-limit',
        '100000000r/s',
        '--rate-burst',
        '100000',
      ],
      o,
      cli,
    );
    return { ...running, stop: () => running.stop().finally(() => rmSync(dir, { recursive: true, force: true })) };
  },
});
const production = productionServer('foyer serve --app, production');
// FOYER_BENCH_BASELINE_CLI: the same production setup from another checkout's build, same run.
const productionBaseline =
  process.env.FOYER_BENCH_BASELINE_CLI === undefined
    ? []
    : [productionServer('foyer serve --app, production, baseline', process.env.FOYER_BENCH_BASELINE_CLI)];

// Issue 13's goals: the CLI's pipeline nearly free against the engine alone; keep-alive ≥ 0.8× and
// pipelined ≥ 0.4× the ceiling; ≥ 1.3× node:http keep-alive.
export const scenarios: Scenario[] = [
  {
    name: 'app',
    description: 'GET /plaintext from a fetch app, keep-alive',
    path: '/plaintext',
    servers,
    ceiling: 'node:net ceiling',
    targets: [
      { peer: 'serve({ fetch })', min: 0.95 },
      { peer: 'node:net ceiling', min: 0.8 },
      { peer: 'node:http', min: 1.3, maxP99Ratio: 1 },
    ],
  },
  {
    name: 'app-pipelined',
    description: 'GET /plaintext from a fetch app, 16-deep pipelining',
    path: '/plaintext',
    pipelining: 16,
    servers,
    ceiling: 'node:net ceiling',
    targets: [
      { peer: 'serve({ fetch })', min: 0.95 },
      { peer: 'node:net ceiling', min: 0.4 },
    ],
  },
  {
    // What browsers send: the small body must cost no more than without the header.
    name: 'app-accept-encoding',
    description: 'GET /plaintext from a fetch app with Accept-Encoding: gzip, deflate, br, keep-alive',
    path: '/plaintext',
    headers: { 'accept-encoding': 'gzip, deflate, br' },
    // The baseline CLI (FOYER_BENCH_BASELINE_CLI), when given, is the last of `servers`.
    servers: [cli, engine, ceiling, nodeHttp, engineDefaults, ...baseline],
    ceiling: 'node:net ceiling',
    targets: [{ peer: 'serve({ fetch })', min: 0.95 }],
  },
  {
    name: 'app-production',
    description: 'GET /plaintext from a fetch app, keep-alive, access log file + admin listener + rate limit',
    path: '/plaintext',
    servers: [production, engine, cli, ...productionBaseline],
    targets: [{ peer: 'serve({ fetch })', min: 0.85 }],
  },
  {
    name: 'app-production-pipelined',
    description: 'GET /plaintext from a fetch app, 16-deep pipelining, access log file + admin listener + rate limit',
    path: '/plaintext',
    pipelining: 16,
    servers: [production, engine, cli, ...productionBaseline],
    targets: [{ peer: 'serve({ fetch })', min: 0.85 }],
  },
];
