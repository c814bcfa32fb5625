// The in-process task queue: tasks run in this process's worker threads (Swoole's task workers
// without the separate process), their results reach onFinish listeners on this thread.
import { randomUUID } from 'node:crypto';
import { taskError, taskFailure } from './task-failure.ts';
import type { TaskRunner } from './task-runner.ts';
import type { FinishListener, TaskQueue } from './task-types.ts';
import type { Logger } from '../../log/logger.ts';

export class LocalTaskQueue implements TaskQueue {
  readonly #listeners = new Set<FinishListener>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(
    readonly runner: TaskRunner,
    readonly attempts: number,
    readonly backoff: number,
    readonly log: Logger | undefined,
  ) {}

  async run<R>(task: string, payload?: unknown): Promise<R> {
    this.#open();
    const id = randomUUID();
    const out = await this.runner.withRetries(task, payload, this.attempts, this.backoff);
    if (out.ok) return out.value as R;
    throw taskError(task, id, taskFailure(out.error, out.tries), out.error);
  }

  async dispatch(task: string, payload?: unknown): Promise<string> {
    this.#open();
    const id = randomUUID();
    const done = this.runner.withRetries(task, payload, this.attempts, this.backoff).then((out) => {
      if (out.ok) this.#emit(task, out.value, id, undefined);
      else this.#emit(task, undefined, id, taskFailure(out.error, out.tries));
    });
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
    return id;
  }

  onFinish(listener: FinishListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves when every dispatched task has finished and been reported. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.drain();
    await this.runner.close();
  }

  #emit(...args: Parameters<FinishListener>): void {
    for (const listener of this.#listeners) {
      try {
        listener(...args);
      } catch (err) {
        this.log?.error({ err, task: args[0] }, 'task finish listener failed');
      }
    }
  }

  #open(): void {
    if (this.#closed) throw new TypeError('taskQueue(): the queue is closed');
  }
}
