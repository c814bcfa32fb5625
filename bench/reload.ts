// `npm run bench:reload [-- --duration S --connections N]`: failed requests while the server
// reloads twice under a keep-alive wrk load: Foyer with 2 workers (SIGHUP to the primary) against
// nginx (`nginx -s reload`, i.e. SIGHUP to its master). Bounded: one wrk run per server on 127.0.0.1.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFoyer } from './lib/build.ts';
import { nodeServer } from './lib/child-server.ts';
import { nginxPath, startNginx } from './lib/nginx.ts';
import type { RunningServer, Sample } from './lib/types.ts';
import { runWrk } from './lib/wrk.ts';

const { values } = parseArgs({ options: { duration: { type: 'string' }, connections: { type: 'string' } } });
const duration = Number(values.duration ?? 12);
const connections = Number(values.connections ?? 50);

/** Pids of the direct children of `pid` (the workers), from /proc. */
function children(pid: number): Set<number> {
  const out = new Set<number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.add(Number(name));
    } catch {}
  }
  return out;
}

async function underReloads(label: string, server: RunningServer, pidFile: string): Promise<void> {
  // Two reloads: one after 2 s, one halfway through the rest (Foyer's take a few seconds each).
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const seen = children(pid);
  const hup = () => process.kill(pid, 'SIGHUP');
  const first = setTimeout(hup, 2000);
  const second = setTimeout(hup, 2000 + ((duration - 2) * 1000) / 2);
  const watch = setInterval(() => {
    for (const c of children(pid)) seen.add(c);
  }, 200);
  let s: Sample;
  try {
    s = await runWrk({
      url: `${server.url}/plaintext`,
      method: 'GET',
      headers: {},
      body: undefined,
      pipelining: 1,
      connections,
      durationSeconds: duration,
    });
  } finally {
    clearTimeout(first);
    clearTimeout(second);
    clearInterval(watch);
    await server.stop();
  }
  const failed = s.errors + s.badStatus;
  console.log(
    `${label.padEnd(12)} ${String(s.requests).padStart(9)} requests  ${String(failed).padStart(6)} failed  (socket errors ${s.errors}, bad status ${s.badStatus}); processes seen under the master: ${seen.size}`,
  );
}

process.env.FOYER_BENCH_INDEX = await buildFoyer();
console.log(`two reloads under load: wrk, ${connections} keep-alive connections, ${duration} s per server`);
const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-reload-'));
try {
  const pidFile = join(dir, 'foyer.pid');
  const foyer = await nodeServer(new URL('./servers/workers-foyer.ts', import.meta.url), {
    args: ['--workers', '2', '--pid-file', pidFile],
  });
  await underReloads('foyer -w2', foyer, pidFile);
  if (nginxPath === undefined) console.log('nginx: skipped (not installed)');
  else {
    let prefix = '';
    const nginx = await startNginx((port, p) => {
      prefix = p;
      return `server { listen 127.0.0.1:${port}; keepalive_timeout 30s; location / { return 200 "Hello, World!"; } }`;
    });
    await underReloads('nginx', nginx, join(prefix, 'nginx.pid'));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
