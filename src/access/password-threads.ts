// bcrypt is slow on purpose: one comparison at cost 10 is about 70 ms of CPU in bcryptjs here, and
// on the event loop those 70 ms are added to every other request in flight (a few clients sending
// wrong passwords pushed other requests to 95–200 ms). So bcrypt runs on worker threads, one
// comparison per thread at a time, half the cores at most: the event loop keeps serving, and
// password checks can take at most that share of the machine.
//
// Checks waiting for a thread are bounded per checker (maxPendingChecks, default 32): past it, a
// request that needs a password hashed gets 503 with Retry-After instead of a place in a queue that
// grows without end. Credentials verified before are answered from the checker's cache without a
// thread, so a flood of wrong passwords delays only logins, not users already logged in.
import { availableParallelism } from 'node:os';
import { siblingEntry, ThreadPool } from '../handlers/worker/thread-pool.ts';
import { FoyerError } from '../util/errors.ts';
import type { BcryptTask } from './bcrypt-entry.ts';

export const DEFAULT_MAX_PENDING_CHECKS = 32;

let pool: ThreadPool | undefined;

/** The process's password threads, started with the first bcrypt check; idle threads exit after 30 s. */
function threads(): ThreadPool {
  pool ??= new ThreadPool(siblingEntry('bcrypt-entry', import.meta.url), {
    minThreads: 0,
    maxThreads: Math.max(1, Math.floor(availableParallelism() / 2)),
    concurrentTasksPerThread: 1,
    idleTimeout: 30_000,
    // The checkers bound what they send (maxPendingChecks each); this only stops piscina refusing first.
    maxQueue: 1 << 20,
  });
  return pool;
}

/** Compares on a password thread, or refuses (503) when `limit` checks of this counter are already waiting or running. */
export class BcryptQueue {
  #pending = 0;
  constructor(readonly limit = DEFAULT_MAX_PENDING_CHECKS) {}

  get pending(): number {
    return this.#pending;
  }

  compare(password: string, hash: string): Promise<boolean> {
    if (this.#pending >= this.limit) {
      return Promise.reject(
        new FoyerError('FOYER_AUTH_BUSY', `${this.limit} password checks already waiting`, { 'retry-after': '1' }),
      );
    }
    this.#pending++;
    const task: BcryptTask = { password, hash };
    return threads()
      .run<boolean>(task)
      .finally(() => {
        this.#pending--;
      });
  }
}

/** Stops the password threads (tests; a process exits without it: idle threads do not keep it alive). */
export async function closePasswordThreads(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}
