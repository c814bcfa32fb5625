// What the access log costs: the plaintext server with a combined-format log file against the same
// server without one, in the same run. Goal (issue 10): at most 10% fewer requests per second.
// `access-log-cli*`: the same pair as users run it, `foyer serve --app` with the app of the `app`
// scenarios (new URL(req.url)), with `--access-log FILE` and without. The plaintext pair is the
// stricter figure: its requests cost less, so the same line is a larger share of each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { nodeServer } from '../lib/child-server.ts';
import { foyerCli } from '../lib/foyer-cli.ts';
import type { BenchServer, RunningServer, Scenario } from '../lib/types.ts';

const entry = new URL('../servers/http-foyer.ts', import.meta.url);
/** Starts a server with a fresh log file; the file and its folder go when the server stops. */
async function withLog(start: (file: string) => Promise<RunningServer>): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-log-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const running = await start(join(dir, 'access.log'));
    return { ...running, stop: () => running.stop().finally(remove) };
  } catch (err) {
    remove();
    throw err;
  }
}
const servers: BenchServer[] = [
  {
    label: 'foyer + access log',
    start: (o) => withLog((file) => nodeServer(entry, { ...o, env: { FOYER_BENCH_ACCESS_LOG: file } })),
  },
  { label: 'foyer', start: (o) => nodeServer(entry, o) },
  // The log with X-Request-Id on responses (off by default with combined lines): what the id header costs.
  {
    label: 'log + X-Request-Id',
    start: (o) =>
      withLog((file) =>
        nodeServer(entry, { ...o, env: { FOYER_BENCH_ACCESS_LOG: file, FOYER_BENCH_REQUEST_ID: '1' } }),
      ),
  },
];
// FOYER_BENCH_BASELINE_CLI=other/dist/cli.js: that checkout's build (its dist/index.js) with the
// log on, beside this one in the same run (an A/B of a change to the log's cost).
const baselineCli = process.env.FOYER_BENCH_BASELINE_CLI;
if (baselineCli !== undefined) {
  const index = join(dirname(baselineCli), 'index.js');
  servers.push({
    label: 'baseline + access log',
    start: (o) =>
      withLog((file) => nodeServer(entry, { ...o, env: { FOYER_BENCH_ACCESS_LOG: file, FOYER_BENCH_INDEX: index } })),
  });
}
const targets = [{ peer: 'foyer', min: 0.9 }];

const app = ['bench/fixtures/app/public', '--app', 'bench/fixtures/app/app.mjs'];
const cliServers: BenchServer[] = [
  {
    label: 'foyer serve --app + access log',
    start: (o) => withLog((file) => foyerCli([...app, '--access-log', file], o)),
  },
  { label: 'foyer serve --app', start: (o) => foyerCli(app, o) },
];
const cliTargets = [{ peer: 'foyer serve --app', min: 0.9 }];

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
  {
    name: 'access-log-cli',
    description: 'foyer serve --app, GET /plaintext, keep-alive, log file on vs off',
    path: '/plaintext',
    servers: cliServers,
    targets: cliTargets,
  },
  {
    name: 'access-log-cli-pipelined',
    description: 'foyer serve --app, GET /plaintext, 16-deep pipelining, log file on vs off',
    path: '/plaintext',
    pipelining: 16,
    servers: cliServers,
    targets: cliTargets,
  },
];
