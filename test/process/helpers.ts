// Foyer as a real process for the process-model tests: started through the CLI (tsx), ready when
// its ready line appears, stopped by signal with a bound. Plus /proc helpers to find descendants.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readyLine } from '../helpers/ready-line.ts';

export const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
export const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** tsx's loader by URL: the server may run in a directory without node_modules. */
export const tsx = import.meta.resolve('tsx');

export interface Running {
  child: ChildProcess;
  origin: string;
  pid: number;
  /** Everything the process wrote to stderr so far (its log). */
  log(): string;
  /** Sends `signal` and resolves with the exit code (SIGKILL after `ms`). */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number | null>;
}

/** A private copy of the fixtures (an app whose files a test may edit). */
export function fixtureCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-process-'));
  cpSync(fixtures, dir, { recursive: true });
  return dir;
}

export async function startFoyer(args: string[], options: { cwd?: string; listenFd?: number } = {}): Promise<Running> {
  const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
  const argv = ['--import', tsx, cli, 'serve', '--no-config', ...args];
  let command = process.execPath;
  if (options.listenFd !== undefined) {
    // As systemd does: the socket as fd 3, LISTEN_PID set to the server's own pid (known only
    // after the fork, hence the shell that sets it and then execs).
    stdio.push(options.listenFd);
    argv.unshift('-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"', process.execPath);
    command = '/bin/sh';
  }
  const child = spawn(command, argv, { cwd: options.cwd ?? fixtures, stdio });
  const ready = await readyLine(child);
  return {
    child,
    origin: ready.origin,
    pid: child.pid as number,
    log: () => ready.stderr(),
    async stop(signal = 'SIGTERM', ms = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      return code;
    },
  };
}

/** Starts a request who-app.ts answers only after a minute; resolves once it is on the wire. */
export function longRequest(origin: string): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(`${origin}/slow?ms=60000`, { agent: false });
    req.on('socket', (s) => s.on('connect', () => setTimeout(resolve, 200)));
    req.on('error', () => {}); // the server goes away under it: expected
    req.on('response', (res) => res.resume());
  });
}

/** GET with `Connection: close` (a new connection each time, so the balancer picks a worker). */
export function getText(url: string): Promise<{ status: number; body: string }> {
  // node:http, not fetch: fetch refuses the "bad ports" below 1024 the privilege test uses.
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { connection: 'close' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Polls `check` every 100 ms until it returns a value other than undefined; throws after `ms` (a bound, generous: workers compile TypeScript and start slowly on a loaded machine). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stat(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const ppid = Number(s.slice(close + 2).split(' ')[1]);
    const state = s.slice(close + 2).split(' ')[0];
    return state === 'Z' ? undefined : { ppid, comm };
  } catch {
    return undefined;
  }
}

/** Live pids under `root` (children, grandchildren …). */
export function descendants(root: number): { pid: number; comm: string }[] {
  const all = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .map((pid) => ({ pid, ...stat(pid) }))
    .filter((p): p is { pid: number; ppid: number; comm: string } => p.ppid !== undefined);
  const out: { pid: number; comm: string }[] = [];
  const walk = (parent: number) => {
    for (const p of all)
      if (p.ppid === parent) {
        out.push({ pid: p.pid, comm: p.comm });
        walk(p.pid);
      }
  };
  walk(root);
  return out;
}

export function alive(pid: number): boolean {
  return stat(pid) !== undefined;
}
