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
// Threads fail in two ways, and bcryptjs is also loaded here at startup (before `--user` drops root)
// so that a check can always be made on the event loop, as before there were threads:
// - threads that cannot start (their entry unreadable after `--user` dropped root, a packaging that
//   left it out, EMFILE, a process limit): piscina would hold the checks forever. The pool is
//   dropped, its checks and every check for 30 s run on the event loop, then threads are tried
//   again. Logged once per streak, and when threads work again.
// - a thread that dies after it was ready (killed, out of memory): piscina replaces it, the other
//   threads and their checks go on, and the dead thread's check is made again on the pool. With no
//   thread left piscina starts none for checks already queued (it does so only for a new task, with
//   minThreads 0), so a cheap check is sent to wake it. Logged at most once a minute.
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
/** Threads could not start and that was logged; cleared (and logged) when a thread is ready again. */
let failing = false;
/** When a thread's death was last logged (Date.now() ms). */
let deathLoggedAt = Number.NEGATIVE_INFINITY;
/** Pools a thread of which became ready: a failure then is a thread that died, not one that cannot start. */
const started = new WeakSet<ThreadPool>();
/** A well-formed cost-4 hash: the cheapest real check, sent only to make piscina start a thread. */
const WAKE: BcryptTask = { password: '', hash: '$2b$04$0E8nwMnUuUNhHQ3B3kAWyuXcyu0lcUrlLTyVYavTUQOhOl7p6ytYm' };

/** Threads that cannot start: checks run on the event loop for retryMs, then threads are tried again. */
function cannotStart(p: ThreadPool, err: unknown, log: Logger | undefined): void {
  if (pool !== p) return;
  pool = undefined;
  // Fails the checks still queued in it; compareSomewhere() runs each of them here instead.
  void p.close().catch(() => {});
  retryAt = Date.now() + retryMs;
  if (failing) return;
  failing = true;
  log?.error(
    { err: err instanceof Error ? err.message : String(err), retryMs },
    'password threads cannot start; checking bcrypt passwords on the event loop meanwhile',
  );
}

function threadDied(p: ThreadPool, err: unknown, log: Logger | undefined): void {
  const now = Date.now();
  if (now - deathLoggedAt < 60_000) return;
  deathLoggedAt = now;
  log?.warn(
    { err: err instanceof Error ? err.message : String(err), threads: p.threads },
    'a password thread died; its check is made again',
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
  p.piscina.on('workerDestroy', () => {
    // After piscina has forgotten the thread: checks queued and no thread left to take them.
    setImmediate(() => {
      if (pool === p && p.threads === 0 && p.queued > 0) void p.run(WAKE).catch(() => {});
    });
  });
  // A thread that fails without a task of its own (it could not start: piscina then starts no other,
  // even in a pool whose first threads worked) is reported here, not to the tasks queued. Waking
  // the pool would only start another that fails the same way, so the pool goes.
  p.piscina.on('error', (err: unknown) => cannotStart(p, err, log));
  pool = p;
  return p;
}

function onEventLoop(task: BcryptTask): Promise<boolean> {
  return bcrypt.compare(task.password, task.hash);
}

async function compareSomewhere(task: BcryptTask, maxThreads: number, log: Logger | undefined): Promise<boolean> {
  // Twice at most on threads: a thread that died under the check leaves the others (or a new one) to make it.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (pool === undefined && Date.now() < retryAt) break;
    const p = threads(maxThreads, log);
    try {
      return await p.run<boolean>(task);
    } catch (err) {
      if (started.has(p)) threadDied(p, err, log);
      else cannotStart(p, err, log);
    }
  }
  return onEventLoop(task);
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

  /** The 503 for a check refused: `why` goes to the log (ErrorSpec.shed), never to the client. */
  busy(why = `${this.limit} password checks already waiting (maxPendingChecks)`): FoyerError {
    return new FoyerError('FOYER_AUTH_BUSY', why, { 'retry-after': '1' });
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
  deathLoggedAt = Number.NEGATIVE_INFINITY;
  retryMs = retryAfterMs;
  if (threadEntry !== undefined) entry = threadEntry;
  await p?.close();
}

/** The running pool (tests: to kill one of its threads). */
export function passwordPoolForTests(): ThreadPool | undefined {
  return pool;
}
