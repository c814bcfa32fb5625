// `npm run bench -- --profile SCENARIO`: the scenario's subject (its first server, or the first of
// --servers) runs with node's --cpu-prof under the scenario's load; the profile is written when the
// server exits and summarised here (self time by function), for Chrome DevTools or speedscope.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { probe, rawRequest } from './raw-request.ts';
import type { LoadOptions, Sample, Scenario } from './types.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self-time share per function, highest first. */
export function topSelfTime(file: string, count: number): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(?:dist|src|node_modules)\//, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
}

export async function profileScenario(
  scenario: Scenario,
  dir: string,
  warmup: number,
  duration: number,
  options: (url: string, seconds: number) => LoadOptions,
  load: (o: LoadOptions) => Promise<Sample>,
): Promise<void> {
  const server = scenario.servers[0]!;
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const name = `${scenario.name}-${server.label.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}`;
  // node names each thread's profile CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; with
  // --import hooks (tsx) a loader thread writes one too, so each run gets its own directory and
  // the main thread's (thread 0) is kept.
  const tmp = join(out, `${name}.tmp`);
  const running = await server.start({ nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${tmp}`] });
  try {
    const url = running.url + scenario.path;
    const pipelining = scenario.pipelining ?? 1;
    const raw = rawRequest({
      url,
      method: scenario.method ?? 'GET',
      headers: scenario.headers ?? {},
      body: scenario.body,
    });
    await probe(url, raw, pipelining);
    if (warmup > 0) await load(options(url, warmup));
    const sample = await load(options(url, duration));
    console.log(`${scenario.name}: ${server.label} under load, ${Math.round(sample.requestsPerSecond)} req/s`);
  } finally {
    await running.stop();
  }
  const written = (() => {
    try {
      return readdirSync(tmp);
    } catch {
      return [];
    }
  })();
  const main = written.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (main === undefined) throw new Error(`${server.label} wrote no profile (does its start() pass nodeFlags on?)`);
  const file = join(out, `${name}.cpuprofile`);
  renameSync(join(tmp, main), file);
  rmSync(tmp, { recursive: true, force: true });
  console.log(`CPU profile of ${server.label}: ${file}\n(open in Chrome DevTools › Performance, or speedscope)`);
  console.log('self time, top functions:');
  for (const line of topSelfTime(file, 25)) console.log(`  ${line}`);
}
