// bcrypt is slow on purpose: one comparison at cost 10 is about 70 ms of CPU in bcryptjs here, and
// on the event loop those 70 ms are added to every other request in flight (a few clients sending
// wrong passwords pushed other requests to 95–200 ms). So bcrypt runs on worker threads, one
// comparison per thread at a time: the event loop keeps serving, and password checks can take at
// most their share of the machine (half the cores, divided among `--workers` processes).
//
// Checks waiting for a thread are bounded per checker (maxPendingChecks, default 32): past it, a
// request that needs a password checked gets 503 with Retry-After instead of a place in a queue that
// grows without end. Credentials verified before are answered from the checker's cache without a
// thread, so a flood of wrong passwords delays only logins, not users already logged in.
//
// A pool that fails is dropped, and the checks in it run here, on the event loop, as before there
// were threads (bcryptjs is loaded at startup, before `--user` drops root):
// - a thread that dies after it was ready (killed, out of memory) costs its check; the next check
//   starts a new pool;
// - threads that cannot start (their entry unreadable after `--user` dropped root, a packaging
//   that left it out, EMFILE or a process limit) would leave piscina holding the checks forever:
//   checks run on the event loop for RETRY_MS, then a new pool is tried. Logged once per streak
//   of failures, and again when threads work again. Logins keep working, slower meanwhile.
import { availableParallelism } from 'node:os';
import bcrypt from 'bcryptjs';
import type { Logger } from '../log/logger.ts';
import { siblingEntry, ThreadPool } from '../handlers/worker/thread-pool.ts';
import { FoyerError } from '../util/errors.ts';
import type { BcryptTask } from './bcrypt-entry.ts';

export const DEFAULT_MAX_PENDING_CHECKS = 32;

/** Half the cores, shared among `processes` serving processes (`--workers`), at least one. */
export function passwordThreadsFor(processes = 1): number {
  return Math.max(1, Math.floor(availableParallelism() / 2 / Math.max(1, processes)));
}

let pool: ThreadPool | undefined;
let entry = siblingEntry('bcrypt-entry', import.meta.url);
/** Until when checks run on the event loop after threads failed to start (Date.now() ms). */
let retryAt = 0;
let retryMs = 30_000;
/** Threads failed and that was logged; cleared (and logged) when a thread is ready again. */
let failing = false;
/** Pools a thread of which became ready: a failure then is a thread that died, not one that cannot start. */
const started = new WeakSet<ThreadPool>();

function dropPool(p: ThreadPool, err: unknown, log: Logger | undefined): void {
  if (pool !== p) return;
  const ready = started.has(p);
  pool = undefined;
  // Fails the checks still queued in it; compareSomewhere() runs each of them here instead.
  void p.close().catch(() => {});
  if (!ready) retryAt = Date.now() + retryMs;
  if (failing) return;
  failing = true;
  log?.error(
    { err: err instanceof Error ? err.message : String(err), threadsStarted: ready, retryMs: ready ? 0 : retryMs },
    'password threads failed; checking bcrypt passwords on the event loop meanwhile',
  );
}

/** The process's password threads, started with the first bcrypt check; idle threads exit after 30 s. */
function threads(maxThreads: number, log: Logger | undefined): ThreadPool {
  if (pool !== undefined) return pool;
  const p = new ThreadPool(entry, {
    minThreads: 0,
    maxThreads,
    concurrentTasksPerThread: 1,
    idleTimeout: 30_000,
    // The checkers bound what they send (maxPendingChecks each); this only stops piscina refusing first.
    maxQueue: 1 << 20,
  });
  p.piscina.on('workerCreate', () => {
    started.add(p);
    if (!failing) return;
    failing = false;
    log?.info('password threads work again');
  });
  // A thread that cannot start (or dies outside a task) is reported here, not to the tasks queued.
  p.piscina.on('error', (err: unknown) => dropPool(p, err, log));
  pool = p;
  return p;
}

function onEventLoop(task: BcryptTask): Promise<boolean> {
  return bcrypt.compare(task.password, task.hash);
}

async function compareSomewhere(task: BcryptTask, maxThreads: number, log: Logger | undefined): Promise<boolean> {
  if (pool === undefined && Date.now() < retryAt) return onEventLoop(task);
  const p = threads(maxThreads, log);
  try {
    return await p.run<boolean>(task);
  } catch (err) {
    // The thread died under this check, or the pool was dropped with it queued: made here instead.
    dropPool(p, err, log);
    return onEventLoop(task);
  }
}

/** Compares on a password thread, or refuses (503) when `limit` checks of this queue are already waiting or running. */
export class BcryptQueue {
  #pending = 0;
  constructor(
    readonly limit = DEFAULT_MAX_PENDING_CHECKS,
    readonly maxThreads = passwordThreadsFor(),
    readonly log?: Logger,
  ) {}

  get pending(): number {
    return this.#pending;
  }

  /** No room for another check: every check that needs one is refused alike (see basic-auth.ts). */
  get full(): boolean {
    return this.#pending >= this.limit;
  }

  busy(): FoyerError {
    return new FoyerError('FOYER_AUTH_BUSY', `${this.limit} password checks already waiting`, { 'retry-after': '1' });
  }

  compare(password: string, hash: string): Promise<boolean> {
    if (this.full) return Promise.reject(this.busy());
    this.#pending++;
    // Counted down however the check ends; compareSomewhere never throws synchronously (async).
    return compareSomewhere({ password, hash }, this.maxThreads, this.log).finally(() => {
      this.#pending--;
    });
  }
}

/**
 * Stops the password threads and forgets past failures (tests). `threadEntry` replaces the threads'
 * entry module from then on (one that cannot load), `retryAfterMs` the wait before threads are tried
 * again after they failed to start. Idle threads never keep a process alive.
 */
export async function closePasswordThreads(threadEntry?: string, retryAfterMs = 30_000): Promise<void> {
  const p = pool;
  pool = undefined;
  retryAt = 0;
  failing = false;
  retryMs = retryAfterMs;
  if (threadEntry !== undefined) entry = threadEntry;
  await p?.close();
}

/** The running pool (tests: to kill one of its threads). */
export function passwordPoolForTests(): ThreadPool | undefined {
  return pool;
}
