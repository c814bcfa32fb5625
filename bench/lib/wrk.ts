// Load through wrk: the raw request goes to a temporary file that bench/lib/wrk-request.lua repeats
// `pipelining` times per write.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawRequest } from './raw-request.ts';
import type { LoadOptions, Sample } from './types.ts';

const script = fileURLToPath(new URL('./wrk-request.lua', import.meta.url));

export async function runWrk(o: LoadOptions): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-'));
  const reqFile = join(dir, 'request.bin');
  writeFileSync(reqFile, rawRequest(o));
  const origin = new URL(o.url).origin;
  // One wrk thread: on a 2-core machine the other core belongs to the server.
  const args = ['-t1', `-c${o.connections}`, `-d${o.durationSeconds}s`, '--timeout', '5s', '-s', script, origin];
  args.push('--', reqFile, String(o.pipelining));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      // wrk stops itself after -d; this bound only catches a wrk that never finishes.
      const limitMs = (o.durationSeconds + 30) * 1000;
      const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(killer);
        if (code === 0) resolve(stdout);
        else reject(new Error(signal ? `wrk killed after ${limitMs} ms` : `wrk exited ${code}: ${stderr}`));
      });
    });
    const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
    if (!line) throw new Error(`wrk printed no summary:\n${out}`);
    const r = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
    const seconds = r.duration_us! / 1e6;
    return {
      requestsPerSecond: r.requests! / seconds,
      p99: r.p99_us! / 1000,
      mean: r.mean_us! / 1000,
      requests: r.requests!,
      errors: r.connect! + r.read! + r.write! + r.timeout!,
      badStatus: r.status!,
      durationSeconds: seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
