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
// If the threads cannot run (their entry file unreadable after `--user` dropped root, a packaging
// that left it out, a loader the thread lacks), piscina would keep the checks queued forever. So the
// pool's first error retires it: the checks in it and every later one run here, on the event loop,
// as before there were threads, and the error is logged once. Logins keep working, slower.
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
/** Why the threads were given up, once they were: checks then run on the event loop. */
let retired: string | undefined;

function retire(err: unknown, log: Logger | undefined): void {
  if (retired !== undefined) return;
  retired = err instanceof Error ? err.message : String(err);
  log?.error(
    { err: retired },
    'password threads failed; checking bcrypt passwords on the event loop (slower under wrong-password floods)',
  );
  const p = pool;
  pool = undefined;
  // Fails the checks still queued in it; compare() runs each of them here instead.
  void p?.close().catch(() => {});
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
  // A thread that cannot start (or dies outside a task) is reported here, not to the tasks queued.
  p.piscina.on('error', (err: unknown) => retire(err, log));
  pool = p;
  return p;
}

function onEventLoop(task: BcryptTask): Promise<boolean> {
  return bcrypt.compare(task.password, task.hash);
}

async function compareSomewhere(task: BcryptTask, maxThreads: number, log: Logger | undefined): Promise<boolean> {
  if (retired !== undefined) return onEventLoop(task);
  try {
    return await threads(maxThreads, log).run<boolean>(task);
  } catch (err) {
    // A check that failed because the pool was retired (or failed it) is made here instead.
    if (retired === undefined) retire(err, log);
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
 * Stops the password threads and forgets a retirement; `threadEntry` replaces the threads' entry
 * module from then on (tests: one that cannot load). Idle threads never keep a process alive.
 */
export async function closePasswordThreads(threadEntry?: string): Promise<void> {
  const p = pool;
  pool = undefined;
  retired = undefined;
  if (threadEntry !== undefined) entry = threadEntry;
  await p?.close();
}
