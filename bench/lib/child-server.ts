// Starts servers under test in child processes, so that the load generator and the server never
// share an event loop or a CPU scheduler slot with the harness.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from './types.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const READY = 'BENCH_READY ';
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 3_000;

// Every child runs in its own process group; on any exit of the harness the groups are killed so
// that an interrupted bench never leaves servers behind.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => process.exit(130));
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function stopper(child: ChildProcess, cleanup?: () => void | Promise<void>): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    live.delete(child);
    await cleanup?.();
  };
}

/** Keeps the last few KiB of a child's output, for error messages. */
function tail(child: ChildProcess): () => string {
  let buf = '';
  const keep = (d: Buffer) => {
    buf = (buf + d.toString()).slice(-4096);
  };
  child.stderr?.on('data', keep);
  return () => buf.trim();
}

export interface NodeServerOptions {
  env?: Record<string, string>;
  /** Arguments after the entry path. */
  args?: string[];
  /** Extra node flags, e.g. ['--max-old-space-size=512']. */
  nodeFlags?: string[];
  /** Run the TypeScript entry through tsx even when compiled servers exist (it loads .ts files by URL). */
  tsx?: boolean;
}

/**
 * The command line for a server entry: its compiled copy under plain node when the harness
 * compiled the servers (FOYER_BENCH_SERVERS, see build.ts), else the TypeScript through tsx.
 */
function entryArgs(path: string, options: NodeServerOptions): string[] {
  const compiled = process.env.FOYER_BENCH_SERVERS;
  if (compiled !== undefined && options.tsx !== true && path.endsWith('.ts')) {
    const js = join(compiled, relative(repoRoot, path)).replace(/\.ts$/, '.js');
    if (existsSync(js)) return [...(options.nodeFlags ?? []), js];
  }
  return ['--import', 'tsx', ...(options.nodeFlags ?? []), path];
}

/**
 * Runs a Node entry (compiled, or TypeScript through tsx: see entryArgs) that listens on 127.0.0.1
 * port `process.env.PORT` and prints `BENCH_READY <origin>` on stdout once listening.
 */
export function nodeServer(entry: string | URL, options: NodeServerOptions = {}): Promise<RunningServer> {
  const path = entry instanceof URL ? fileURLToPath(entry) : entry;
  const child = spawn(process.execPath, [...entryArgs(path, options), ...(options.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: 'production', PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return attach(child, path, READY);
}

/**
 * Tracks a server child started detached with piped stdout/stderr: resolves once stdout shows
 * `ready` followed by the origin on the same line, fails (and stops it) if it exits first.
 */
export function attach(child: ChildProcess, name: string, ready: string): Promise<RunningServer> {
  live.add(child);
  const errors = tail(child);
  const stop = stopper(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${name}: ${why}\n${errors()}`)));
    };
    const timer = setTimeout(() => fail(`no ${ready.trim()} line within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    child.stdout!.on('data', function onData(d: Buffer) {
      out += d.toString();
      const i = out.indexOf(ready);
      const eol = out.indexOf('\n', i);
      if (i < 0 || eol < 0) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // keep draining so a chatty server never blocks on a full pipe
      resolve({ url: out.slice(i + ready.length, eol).trim(), stop, pgid: child.pid });
    });
  });
}

/** A port that was free a moment ago on 127.0.0.1 (for programs that cannot report their own). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface ProcessServerOptions {
  /** The port the program was configured to listen on (see freePort()). */
  port: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Runs after the process has exited, e.g. to remove a temporary config directory. */
  cleanup?: () => void | Promise<void>;
}

/** Runs any program that listens on a known port; ready once 127.0.0.1:port accepts a connection. */
export async function processServer(
  command: string,
  args: string[],
  options: ProcessServerOptions,
): Promise<RunningServer> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  live.add(child);
  const errors = tail(child);
  const stop = stopper(child, options.cleanup);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`${command} exited (${child.signalCode ?? child.exitCode}) before it was ready\n${errors()}`);
    }
    if (await accepts(options.port)) return { url: `http://127.0.0.1:${options.port}`, stop, pgid: child.pid };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`${command} did not accept connections on port ${options.port} within ${START_TIMEOUT_MS} ms`);
}

/** Full path of a program on PATH, or undefined. */
export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}
