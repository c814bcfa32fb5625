// Runs tasks in this process's worker threads: one try with a hard timeout (the thread is
// terminated: piscina's abort), retries with exponential backoff. Used by the in-process queue and
// by a Redis consumer (BullMQ does the retries there, so it asks for one try).
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageChannel } from 'node:worker_threads';
import type { TaskMessage } from './task-entry.ts';
import { isUnknownTask } from './task-failure.ts';
import { siblingEntry, ThreadPool } from './thread-pool.ts';
import type { TaskQueueOptions } from './task-types.ts';

export class TaskRunner {
  readonly pool: ThreadPool;

  constructor(
    readonly module: string,
    concurrency: number,
    readonly timeout: number,
    options: TaskQueueOptions,
  ) {
    const entry = siblingEntry('task-entry', import.meta.url);
    this.pool = new ThreadPool(
      entry,
      {
        ...options,
        minThreads: Math.min(options.minThreads ?? 0, concurrency),
        maxThreads: concurrency,
        // Tasks are queued here, not refused: maxQueue bounds memory, not latency.
        maxQueue: options.maxQueue ?? 100_000,
      },
      { preload: module },
    );
  }

  /** One try. A timed-out try rejects with a TimeoutError and its thread is replaced. */
  once(name: string, payload: unknown): Promise<unknown> {
    const task: TaskMessage = { module: this.module, name, payload };
    if (this.timeout <= 0) return this.pool.run(task);
    // The clock starts when the task does (the thread says so), not while it waits for a thread
    // or a thread boots. The timer is ref'd: a pending task keeps the process alive, as its
    // unref'd thread alone would not.
    const abort = new AbortController();
    const { port1, port2 } = new MessageChannel();
    let timer: NodeJS.Timeout | undefined;
    port1.once('message', () => {
      timer = setTimeout(() => abort.abort(), this.timeout);
      port1.close();
    });
    return this.pool.piscina
      .run({ ...task, started: port2 }, { signal: abort.signal, transferList: [port2] as never })
      .catch((err: unknown) => {
        if (abort.signal.aborted) {
          const timeout = new Error(`timed out after ${this.timeout} ms`);
          timeout.name = 'TimeoutError';
          throw timeout;
        }
        throw err;
      })
      .finally(() => {
        clearTimeout(timer);
        port1.close();
      });
  }

  /** Up to `attempts` tries, waiting backoff, 2×backoff, … between them. Resolves with the result or the last error and the tries made. */
  async withRetries(
    name: string,
    payload: unknown,
    attempts: number,
    backoff: number,
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown; tries: number }> {
    let error: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(backoff * 2 ** (i - 1));
      try {
        return { ok: true, value: await this.once(name, payload) };
      } catch (err) {
        error = err;
        if (isUnknownTask(err)) return { ok: false, error, tries: i + 1 };
      }
    }
    return { ok: false, error, tries: attempts };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
