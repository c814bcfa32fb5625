// Offload benchmark (issue: heavy work off the event loop). Two questions, same run, same machine:
//  1. p99 of a cheap route while a CPU-heavy route is under load, heavy work inline vs offloaded;
//  2. the round-trip cost of an offloaded trivial middleware (calls next()) against running it inline,
//     as server CPU µs per request and as req/s.
// Run under the load lock: flock /tmp/foyer-load.lock node --import tsx bench/offload.ts --duration 3 --runs 3
import { parseArgs } from 'node:util';
import { runAutocannon } from './lib/autocannon.ts';
import { buildFoyer } from './lib/build.ts';
import { nodeServer } from './lib/child-server.ts';
import { groupCpuSeconds } from './lib/cpu.ts';
import type { RunningServer, Sample } from './lib/types.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    runs: { type: 'string', default: '1' },
    'heavy-connections': { type: 'string', default: '8' },
    source: { type: 'boolean', default: false },
  },
});
const duration = Number(values.duration);
const runs = Number(values.runs);
const heavyConnections = Number(values['heavy-connections']);
if (!values.source) process.env.FOYER_BENCH_INDEX = await buildFoyer();

const load = (server: RunningServer, path: string, connections: number): Promise<Sample> =>
  runAutocannon({
    url: server.url + path,
    method: 'GET',
    pipelining: 1,
    connections,
    durationSeconds: duration,
  } as never);

interface Row {
  mode: string;
  cheapAloneP99: number;
  cheapP99: number;
  cheapRps: number;
  heavyRps: number;
  trivialRps: number;
  trivialCpuUs: number;
}

async function measure(mode: 'inline' | 'offload'): Promise<Row> {
  const server = await nodeServer(new URL('./servers/offload-foyer.ts', import.meta.url), {
    env: { MODE: mode },
    tsx: true,
  });
  try {
    await load(server, '/heavy', 2); // warm-up: threads up, code hot
    await load(server, '/trivial', 4);
    const alone = await load(server, '/cheap', 2);
    const [cheap, heavy] = await Promise.all([load(server, '/cheap', 2), load(server, '/heavy', heavyConnections)]);
    const before = server.pgid === undefined ? undefined : groupCpuSeconds(server.pgid);
    const trivial = await load(server, '/trivial', 16);
    const after = server.pgid === undefined ? undefined : groupCpuSeconds(server.pgid);
    const cpu = before === undefined || after === undefined ? Number.NaN : ((after - before) / trivial.requests) * 1e6;
    for (const s of [alone, cheap, heavy, trivial]) {
      if (s.errors > 0 || s.badStatus > 0) console.error(`${mode}: ${s.errors} errors, ${s.badStatus} bad statuses`);
    }
    return {
      mode,
      cheapAloneP99: alone.p99,
      cheapP99: cheap.p99,
      cheapRps: cheap.requestsPerSecond,
      heavyRps: heavy.requestsPerSecond,
      trivialRps: trivial.requestsPerSecond,
      trivialCpuUs: cpu,
    };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rows: Record<string, Row[]> = { inline: [], offload: [] };
for (let i = 0; i < runs; i++) {
  for (const mode of i % 2 === 0 ? (['inline', 'offload'] as const) : (['offload', 'inline'] as const)) {
    rows[mode]?.push(await measure(mode));
  }
}
const keys = ['cheapAloneP99', 'cheapP99', 'cheapRps', 'heavyRps', 'trivialRps', 'trivialCpuUs'] as const;
const med = (mode: string) => Object.fromEntries(keys.map((k) => [k, median((rows[mode] ?? []).map((r) => r[k]))]));
const table = [med('inline'), med('offload')];
console.log(
  `\noffload benchmark: ${runs} run(s) × ${duration} s, medians; heavy = pbkdf2 under ${heavyConnections} connections`,
);
console.log(
  '| mode | cheap p99 alone (ms) | cheap p99 under heavy load (ms) | cheap req/s under load | heavy req/s | trivial mw req/s | trivial mw server CPU µs/req |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [i, r] of table.entries()) {
  const f = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(d));
  console.log(
    `| ${i === 0 ? 'inline' : 'offloaded'} | ${f(r.cheapAloneP99)} | ${f(r.cheapP99)} | ${f(r.cheapRps)} | ${f(r.heavyRps)} | ${f(r.trivialRps)} | ${f(r.trivialCpuUs, 1)} |`,
  );
}
const [a, b] = table;
if (a !== undefined && b !== undefined) {
  console.log(
    `\noffloaded trivial middleware: +${((b.trivialCpuUs ?? 0) - (a.trivialCpuUs ?? 0)).toFixed(1)} µs server CPU per request, ` +
      `${(((a.trivialRps ?? 0) / (b.trivialRps ?? 1)) * 1).toFixed(2)}× fewer req/s than inline`,
  );
}
process.exit(0);
