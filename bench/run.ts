// `npm run bench [-- NAME… --runs N --duration S …]`: loads bench/scenarios/*.ts, starts each
// scenario's servers in child processes, loads them one after another from 127.0.0.1 and prints
// req/s, p99 and ratios. See bench/README.md.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runAutocannon } from './lib/autocannon.ts';
import { buildBenchServers, buildFoyer } from './lib/build.ts';
import { groupCpuSeconds } from './lib/cpu.ts';
import { repoRoot, which } from './lib/child-server.ts';
import { probe, rawRequest } from './lib/raw-request.ts';
import { profileScenario } from './lib/profile.ts';
import { formatTable, median, type ServerResult } from './lib/report.ts';
import type { BenchServer, LoadOptions, LoadTool, RunningServer, Sample, Scenario } from './lib/types.ts';
import { runWrk } from './lib/wrk.ts';

const usage = `usage: npm run bench -- [NAME…] [--runs N] [--duration S] [--warmup S] [--connections N]
                        [--tool wrk|autocannon] [--servers LABEL,…] [--source] [--json FILE] [--list]
                        [--profile SCENARIO [--profile-dir DIR]]
NAME keeps the scenarios whose name contains it. See bench/README.md.`;

function fail(message: string): never {
  console.error(`bench: ${message}\n${usage}`);
  process.exit(2);
}

function positiveNumber(name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0))
    fail(`--${name} must be a positive number, got "${value}"`);
  return n;
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      tool: { type: 'string' },
      json: { type: 'string' },
      servers: { type: 'string' },
      source: { type: 'boolean' },
      list: { type: 'boolean' },
      profile: { type: 'string' },
      'profile-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
try {
  parsed = parse();
} catch (err) {
  fail((err as Error).message);
}
const { values: flags, positionals: filters } = parsed;
if (flags.help) {
  console.log(usage);
  process.exit(0);
}
const env = process.env;
const runs = Math.round(positiveNumber('runs', flags.runs ?? env.BENCH_RUNS, 1));
const duration = positiveNumber('duration', flags.duration ?? env.BENCH_DURATION, 5);
const warmup = positiveNumber('warmup', flags.warmup ?? env.BENCH_WARMUP, 1, true);
const defaultConnections = Math.round(positiveNumber('connections', flags.connections ?? env.BENCH_CONNECTIONS, 50));
const toolFlag = flags.tool ?? env.BENCH_TOOL;
if (toolFlag !== undefined && toolFlag !== 'wrk' && toolFlag !== 'autocannon') fail(`unknown --tool "${toolFlag}"`);
const tool: LoadTool = (toolFlag as LoadTool | undefined) ?? (which('wrk') ? 'wrk' : 'autocannon');
if (tool === 'wrk' && !which('wrk')) fail('wrk is not installed (apt-get install wrk), or use --tool autocannon');

async function loadScenarios(): Promise<Scenario[]> {
  const dir = resolve(repoRoot, 'bench/scenarios');
  const all: Scenario[] = [];
  const seen = new Map<string, string>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    try {
      const mod = (await import(pathToFileURL(resolve(dir, file)).href)) as { scenarios?: Scenario[] };
      if (!Array.isArray(mod.scenarios)) {
        console.error(`bench: ${file} exports no \`scenarios\` array; ignored`);
        continue;
      }
      for (const s of mod.scenarios) {
        const other = seen.get(s.name);
        if (other) fail(`scenario "${s.name}" is defined in both ${other} and ${file}`);
        seen.set(s.name, file);
        all.push(s);
      }
    } catch (err) {
      // One broken module must not take the other benchmarks down with it.
      console.error(`bench: cannot load ${file}: ${(err as Error).stack ?? err}`);
    }
  }
  return all;
}

// --servers keeps only the named servers (in the scenario's order; the first kept one is the subject).
const keepServers = flags.servers?.split(',').map((l) => l.trim());
const scenarios = (await loadScenarios())
  .filter((s) => filters.length === 0 || filters.some((f) => s.name.includes(f)))
  .map((s) => (keepServers ? { ...s, servers: s.servers.filter((x) => keepServers.includes(x.label)) } : s))
  .filter((s) => s.servers.length > 0);
if (flags.list) {
  for (const s of scenarios) {
    console.log(
      `${s.name.padEnd(28)} ${s.servers.map((x) => x.label).join(', ')}${s.skip ? `  (skip: ${s.skip})` : ''}`,
    );
  }
  process.exit(0);
}
if (scenarios.length === 0) fail(`no scenario matches ${filters.join(' ')}`);

// Servers are started on first use and stopped after the last selected scenario that uses them.
const lastUse = new Map<BenchServer, number>();
scenarios.forEach((s, i) => {
  if (!s.skip) for (const server of s.servers) lastUse.set(server, i);
});
const running = new Map<BenchServer, Promise<RunningServer>>();
function started(server: BenchServer): Promise<RunningServer> {
  let p = running.get(server);
  if (!p) {
    p = server.start();
    running.set(server, p);
  }
  return p;
}

function load(options: LoadOptions): Promise<Sample> {
  return tool === 'wrk' ? runWrk(options) : runAutocannon(options);
}

// Foyer runs as built (see bench/lib/foyer.ts) unless --source asks for the TypeScript sources.
let foyerFrom = 'TypeScript sources through tsx (--source)';
if (!flags.source) {
  try {
    process.env.FOYER_BENCH_INDEX = await buildFoyer();
    process.env.FOYER_BENCH_SERVERS = await buildBenchServers();
    foyerFrom = 'compiled with tsc, as npm run build; every server entry compiled too (plain node, no tsx)';
  } catch (err) {
    fail(`cannot build Foyer for the bench (use --source to run the sources): ${(err as Error).message}`);
  }
}

console.log(
  `foyer bench: ${tool}, ${cpus().length} cores (load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}), node ${process.version}, ` +
    `${duration} s per server per run, ${runs} run(s), warm-up ${warmup} s; Foyer ${foyerFrom}\n`,
);

if (flags.profile !== undefined) {
  const scenario = scenarios.find((s) => s.name === flags.profile);
  if (!scenario) fail(`--profile: no scenario named "${flags.profile}" (see --list)`);
  if (scenario.skip) fail(`--profile: scenario ${scenario.name} is skipped here: ${scenario.skip}`);
  const options = (url: string, seconds: number): LoadOptions => ({
    url,
    method: scenario.method ?? 'GET',
    headers: scenario.headers ?? {},
    body: scenario.body,
    pipelining: scenario.pipelining ?? 1,
    connections: scenario.connections ?? defaultConnections,
    durationSeconds: seconds,
  });
  const dir = flags['profile-dir'] ?? resolve(repoRoot, 'bench/results/profiles');
  await profileScenario(scenario, dir, warmup, duration, options, load);
  process.exit(0);
}

const report: unknown[] = [];
for (const [index, scenario] of scenarios.entries()) {
  if (scenario.skip) {
    console.log(`scenario ${scenario.name}: skipped — ${scenario.skip}\n`);
    continue;
  }
  const method = scenario.method ?? 'GET';
  const headers = scenario.headers ?? {};
  const pipelining = scenario.pipelining ?? 1;
  const connections = scenario.connections ?? defaultConnections;
  const results: ServerResult[] = scenario.servers.map((s) => ({ label: s.label, samples: [] }));
  const urls: (string | undefined)[] = [];
  const pgids: (number | undefined)[] = [];

  for (const [i, server] of scenario.servers.entries()) {
    try {
      const { url, pgid } = await started(server);
      pgids[i] = pgid;
      const target = url + scenario.path;
      const raw = rawRequest({ url: target, method, headers, body: scenario.body });
      const statuses = await probe(target, raw, pipelining);
      const expected = scenario.expectStatus ?? 200;
      if (statuses.length < pipelining || statuses.some((s) => s !== expected)) {
        throw new Error(`sanity check: expected ${pipelining} × ${expected}, got [${statuses.join(',')}]`);
      }
      urls[i] = target;
    } catch (err) {
      results[i]!.failed = (err as Error).message.split('\n').slice(0, 6).join('\n    ');
    }
  }

  const options = (url: string, seconds: number): LoadOptions => ({
    url,
    method,
    headers,
    body: scenario.body,
    pipelining,
    connections,
    durationSeconds: seconds,
  });
  if (warmup > 0) {
    for (const url of urls) if (url) await load(options(url, warmup)).catch(() => undefined);
  }
  // Interleaved rounds, so that a burst of outside load hurts every server alike; each round starts
  // one server further along, and every other cycle of rounds goes the other way round, so that no
  // server is always the one measured first or right after another (balanced for an even count of
  // runs that is a multiple of the servers', e.g. 2 servers and 4 runs: A B, B A, B A, A B).
  for (let round = 0; round < runs; round++) {
    const backwards = Math.floor(round / urls.length) % 2 === 1;
    for (let k = 0; k < urls.length; k++) {
      const step = (k + round) % urls.length;
      const i = backwards ? urls.length - 1 - step : step;
      const url = urls[i];
      if (!url) continue;
      try {
        const pgid = pgids[i];
        const cpuBefore = pgid === undefined ? undefined : groupCpuSeconds(pgid);
        const sample = await load(options(url, duration));
        const cpuAfter = pgid === undefined ? undefined : groupCpuSeconds(pgid);
        if (cpuBefore !== undefined && cpuAfter !== undefined && sample.requests > 0) {
          sample.cpuPerRequest = (cpuAfter - cpuBefore) / sample.requests;
        }
        sample.round = round;
        results[i]!.samples.push(sample);
        process.stderr.write(
          `  ${scenario.name} run ${round + 1}/${runs} ${results[i]!.label}: ${Math.round(sample.requestsPerSecond)} req/s\n`,
        );
      } catch (err) {
        results[i]!.failed = (err as Error).message;
      }
    }
  }

  console.log(`${formatTable(scenario, results, { connections, duration, runs, tool })}\n`);
  report.push({
    scenario: scenario.name,
    method,
    path: scenario.path,
    pipelining,
    connections,
    tool,
    duration,
    runs,
    results: results.map((r) => ({ label: r.label, failed: r.failed, median: median(r.samples), samples: r.samples })),
  });

  for (const server of scenario.servers) {
    if (lastUse.get(server) === index && running.has(server)) {
      const p = running.get(server)!;
      running.delete(server);
      await p.then((s) => s.stop()).catch(() => undefined);
    }
  }
}

if (flags.json) {
  const file = resolve(flags.json);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, report }, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
