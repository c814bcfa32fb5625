// `--php spawn`: Foyer starts php-fpm itself with a generated pool config listening on a private
// unix socket (a 0700 temp directory, socket mode 0600), supervises it (restart with backoff on an
// unexpected exit) and stops it on request. pm = static: the pool size is fixed, so Foyer's
// connection pool can be sized to it exactly (see pool.ts on pinned children).
// Process-wide hooks (signals, exit) stay in os/: the caller calls `stop()`.
import process from 'node:process';
import type { Buffer } from 'node:buffer';
import type { ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Logger } from '../../log/logger.ts';
import { silentLogger } from '../../log/logger.ts';
import { spawnWatched, stopWatched } from '../../os/php-fpm-watchdog.ts';
import { FoyerConfigError } from '../../util/errors.ts';

export interface PhpFpmOptions {
  /** php-fpm binary. Default: `php-fpm` or `php-fpmX.Y` on PATH, then /usr/sbin/php-fpm*. */
  binary?: string;
  /** pm.max_children (pm = static). Default 4. Give Foyer's `maxConnections` the same number. */
  children?: number;
  /** Listen on a private unix socket (default) or on 127.0.0.1 with an ephemeral port. */
  listen?: 'unix' | 'tcp';
  /** pm.max_requests: recycle a child after this many requests (0 = never). Default 0. */
  maxRequests?: number;
  /** php_admin_value[...] entries, e.g. `{ memory_limit: '256M' }`. */
  ini?: Record<string, string>;
  /**
   * Unix user (and group) the PHP workers run as when Foyer runs as root, e.g. `www-data`.
   * Without it a root Foyer runs PHP as root (php-fpm's `-R`), which is only fit for CI.
   */
  user?: string;
  group?: string;
  /**
   * Who may connect to the unix socket besides root: Foyer's workers after they dropped
   * privileges (`--user`). Numeric ids. The socket is theirs (listen.owner); its directory stays
   * root's, opened to them for traversal only (0711): they can reach the socket, not list, add,
   * rename or remove anything there.
   */
  socketOwner?: { uid: number; gid: number };
  /** Restart php-fpm when it exits unexpectedly. Default true. */
  supervise?: boolean;
  /**
   * How long a start may take, ms, until php-fpm's socket accepts connections (a restart's backoff
   * comes on top). Default 10 000.
   */
  startTimeout?: number;
  log?: Logger;
}

export interface PhpFpmProcess {
  /** The address to give `fastcgi({ upstream })`. */
  readonly upstream: string;
  readonly children: number;
  readonly pid: number | undefined;
  /** Stops php-fpm for good and removes its directory. */
  stop(): Promise<void>;
  /** Stops the process but keeps its config and address (tests of an upstream outage). */
  kill(): Promise<void>;
  /** Starts it again after `kill()`. */
  start(): Promise<void>;
}

/** Finds a php-fpm binary, or undefined. */
export function findPhpFpm(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const found = names.filter((n) => /^php-fpm(\d+(\.\d+)?)?$/.test(n)).sort();
    for (const name of found) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {}
    }
  }
  return undefined;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: no such group, nothing left behind.
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(target: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(target as { path: string });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const TIMED_OUT = Symbol('timed out');
/** The longest delay setTimeout keeps (a longer one fires at once, with a warning). */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * `p`'s value, or TIMED_OUT after `ms`; the timer does not outlive the race. When the timer fires,
 * one turn of the event loop is left first: a loop that ran late runs its timers before it reads
 * what is waiting in its pipes, and `p` may be settled by that read. A `ms` past setTimeout's
 * range (Infinity too) waits for `p` alone.
 */
async function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  if (!(ms <= MAX_TIMER)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => setImmediate(resolve, TIMED_OUT), Math.max(0, ms));
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The pids /proc lists as `pid`'s children (Linux). Without the kernel's `children` file
 * (CONFIG_PROC_CHILDREN), every process's parent is read instead. None where there is no /proc.
 */
function childrenOf(pid: number): number[] {
  try {
    const list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1');
    return list
      .split(' ')
      .filter((p) => p !== '')
      .map(Number);
  } catch {}
  const out: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) === pid) out.push(Number(entry));
      } catch {}
    }
  } catch {}
  return out;
}

/** Sleeps `ms` without a turn of the event loop. */
const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Whether `pid` is stopped (SIGSTOP took effect); true where /proc cannot say (then the kill is as good as it gets). */
function stopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'T' || state === 't' || state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/**
 * Kills a watchdog and whatever php-fpm it started, reported or not (`reported`: the pid it
 * reported). php-fpm leads a process group of its own, which killing the watchdog does not reach,
 * and once the watchdog is gone nothing holds its lifeline. The watchdog is stopped first, so that
 * it cannot start php-fpm between the reading of its children and the kill. Besides its children,
 * the pid file names the master, believed only when that process's title names this config: a
 * pid file outlives a crashed master, and its pid may be anyone's by now.
 */
function killWatchdog(proc: ChildProcess, reported: number | undefined, conf: string, pidFile: string): void {
  const watchdog = proc.pid;
  if (watchdog === undefined || proc.exitCode !== null || proc.signalCode !== null) {
    if (reported !== undefined) killAll(reported);
    return;
  }
  // Waited for without a turn of the event loop: a Foyer that exits in that turn (a second signal,
  // a crash) would leave the watchdog stopped for good, deaf to its lifeline, php-fpm running.
  proc.kill('SIGSTOP');
  for (let i = 0; i < 100 && !stopped(watchdog); i++) sleepSync(1);
  const pids = new Set(childrenOf(watchdog));
  if (reported !== undefined) pids.add(reported);
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'latin1'), 10);
    if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(`master process (${conf})`)) pids.add(pid);
  } catch {}
  proc.kill('SIGKILL');
  for (const pid of pids) killAll(pid);
}

/** SIGKILL to `pid`'s group (php-fpm leads its own), and to `pid` itself in case it leads none yet. */
function killAll(pid: number): void {
  killGroup(pid);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

// Pool values are written as given: reject anything that could start a new config line.
function iniValue(v: string): string {
  if (/[\r\n\0]/.test(v)) throw new FoyerConfigError('FOYER_BAD_OPTION', 'php-fpm ini values must be single-line');
  return v;
}

/** What php-fpm's runtime directory holds: Foyer writes the config, php-fpm the rest. */
const RUNTIME_FILES = { conf: 'php-fpm.conf', socket: 'php-fpm.sock', pid: 'php-fpm.pid', log: 'error.log' };

/**
 * Removes the runtime directory: its known files, then the directory if that left it empty. Not
 * a recursive removal: what else is there was not put there by Foyer or php-fpm (and unlink
 * removes a symlink itself, never what it names). The watchdog does the same (php-fpm-watchdog.ts).
 */
function removeRuntimeDir(dir: string): void {
  for (const name of [...Object.values(RUNTIME_FILES), '']) {
    try {
      if (name === '') rmdirSync(dir);
      else unlinkSync(join(dir, name));
    } catch {
      // Not there (the socket of a TCP pool), or not a file; a directory that is not empty then
      // (something else was put there) is left as it is.
    }
  }
}

export async function spawnPhpFpm(options: PhpFpmOptions = {}): Promise<PhpFpmProcess> {
  const binary = options.binary ?? findPhpFpm();
  if (binary === undefined) throw new Error('php-fpm not found (install php-fpm, e.g. apt-get install php-fpm)');
  const children = Math.max(1, options.children ?? 4);
  const startTimeout = options.startTimeout ?? 10_000;
  if (typeof startTimeout !== 'number' || !(startTimeout > 0)) {
    throw new FoyerConfigError(
      'FOYER_BAD_OPTION',
      `php-fpm startTimeout must be a positive number of ms (Infinity: no bound), not ${String(options.startTimeout)}`,
    );
  }
  const log = options.log ?? silentLogger;
  const dir = mkdtempSync(join(tmpdir(), 'foyer-php-fpm-'));
  const sock = join(dir, RUNTIME_FILES.socket);
  const port = options.listen === 'tcp' ? await freePort() : 0;
  const listen = options.listen === 'tcp' ? `127.0.0.1:${port}` : sock;
  const target = options.listen === 'tcp' ? { host: '127.0.0.1', port } : { path: sock };
  const asRoot = process.getuid?.() === 0;
  const lines = [
    '[global]',
    `pid = ${join(dir, RUNTIME_FILES.pid)}`,
    `error_log = ${join(dir, RUNTIME_FILES.log)}`,
    'daemonize = no',
    '[foyer]',
    `listen = ${listen}`,
    'listen.mode = 0600',
    ...(asRoot && options.socketOwner !== undefined
      ? [`listen.owner = ${options.socketOwner.uid}`, `listen.group = ${options.socketOwner.gid}`]
      : []),
    ...(asRoot && options.user !== undefined
      ? [`user = ${iniValue(options.user)}`, `group = ${iniValue(options.group ?? options.user)}`]
      : []),
    'pm = static',
    `pm.max_children = ${children}`,
    `pm.max_requests = ${Math.max(0, options.maxRequests ?? 0)}`,
    // The app's environment is not Foyer's: no secrets leak into $_ENV / getenv().
    'clear_env = yes',
    'catch_workers_output = yes',
    'php_admin_flag[log_errors] = on',
    'php_admin_flag[display_errors] = off',
    ...Object.entries(options.ini ?? {}).map(([k, v]) => `php_admin_value[${iniValue(k)}] = ${iniValue(v)}`),
  ];
  const conf = join(dir, RUNTIME_FILES.conf);
  const pidFile = join(dir, RUNTIME_FILES.pid);
  writeFileSync(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
  // Not handed to the workers' user: an owner of the directory could rename it in the sticky
  // temp dir and put a symlink in its place, and root's removal of the known files (stop, the
  // watchdog) would then unlink files of those names wherever the symlink points.
  if (asRoot && options.socketOwner !== undefined) chmodSync(dir, 0o711);

  let child: ChildProcess | undefined;
  // php-fpm's own pid; `child` is the watchdog between us (see os/php-fpm-watchdog.ts).
  let fpmPid: number | undefined;
  let stopping = false;
  let backoff = 500;

  /**
   * Starts php-fpm under a watchdog, after `delay` ms (a restart's backoff, waited out by the
   * watchdog so that one holds the lifeline throughout). An exit is restarted once php-fpm served,
   * and for a restart also before: a start the caller asked for (the first, or start()) that fails
   * is the caller's error, with no restart loop left behind.
   */
  const launch = async (delay: number, restart: boolean): Promise<void> => {
    const args = ['-y', conf, '-F', ...(asRoot && options.user === undefined ? ['-R'] : [])];
    const watched = spawnWatched(binary, args, { dir, files: Object.values(RUNTIME_FILES) }, delay);
    const proc = watched.proc;
    let ready = false;
    child = proc;
    void watched.pid.then((pid) => {
      if (child === proc) fpmPid = pid;
    });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString('utf8');
    });
    proc.once('exit', (code, signal) => {
      const pid = fpmPid;
      if (child === proc) {
        child = undefined;
        fpmPid = undefined;
      }
      // A master killed outright leaves its workers running (orphans holding our stderr pipe): the
      // watchdog kills php-fpm's process group; this is in case the watchdog itself was killed.
      killGroup(pid);
      // The lifeline (stdin) too: an open pipe to a dead watchdog is an fd lost per restart, and
      // would keep the event loop alive after a failed start.
      proc.stdin?.destroy();
      proc.stderr?.destroy();
      if (stopping || !(ready || restart) || options.supervise === false) return;
      log.error({ code, signal, stderr: stderr.slice(0, 1024) }, 'php-fpm exited; restarting');
      const wait = backoff;
      backoff = Math.min(backoff * 2, 30_000);
      launch(wait, true).catch((err: unknown) => {
        // Stopped meanwhile (the backoff or the start cut short): no failure to report.
        if (!stopping) log.error({ err }, 'php-fpm restart failed');
      });
    });
    // One deadline for the whole start: the watchdog's report of php-fpm's pid (after the delay;
    // undefined: the watchdog exited first), then the socket. Bounded throughout: a watchdog that
    // neither reports nor exits (stopped, starved of CPU) must not hang the start.
    const deadline = Date.now() + delay + startTimeout;
    const reported = await within(watched.pid, deadline - Date.now());
    if (reported === TIMED_OUT) {
      // It may have started php-fpm without saying so yet.
      killWatchdog(proc, undefined, conf, pidFile);
      throw new Error('php-fpm did not start: its watchdog reported no start before the start timeout');
    }
    // At least one try, even past the deadline: an event loop that ran late is no failed start.
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      if (await canConnect(target)) {
        backoff = 500;
        ready = true;
        return;
      }
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = proc.exitCode !== null || proc.signalCode !== null;
    // php-fpm too, now: the watchdog's exit handler would, but a caller may exit on this error first.
    killWatchdog(proc, reported, conf, pidFile);
    const why = exited ? `exited with ${proc.exitCode ?? proc.signalCode}` : 'no socket before the start timeout';
    throw new Error(`php-fpm did not start: ${stderr.trim().slice(0, 500) || why}`);
  };

  const terminate = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    // Graceful (children finish their request); then SIGTERM, then SIGKILL.
    const pid = fpmPid;
    stopWatched(proc);
    const t1 = setTimeout(() => proc.kill('SIGTERM'), 3000);
    const t2 = setTimeout(() => killWatchdog(proc, pid, conf, pidFile), 6000);
    await exited;
    clearTimeout(t1);
    clearTimeout(t2);
  };

  if (asRoot && options.user === undefined) log.warn('php-fpm spawned as root runs PHP as root; set the user option');
  try {
    await launch(0, false);
  } catch (err) {
    // A first start that fails is not supervised: the caller gets the error, and no restart loop
    // or runtime directory is left behind.
    stopping = true;
    removeRuntimeDir(dir);
    throw err;
  }
  return {
    upstream: options.listen === 'tcp' ? `127.0.0.1:${port}` : `unix:${sock}`,
    children,
    get pid() {
      return child === undefined ? undefined : fpmPid;
    },
    async stop() {
      stopping = true;
      await terminate();
      removeRuntimeDir(dir);
    },
    async kill() {
      stopping = true;
      await terminate();
    },
    async start() {
      stopping = false;
      await launch(0, false);
    },
  };
}
