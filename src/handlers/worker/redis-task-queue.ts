// The Redis-backed task queue (BullMQ): every instance on the same Redis and queue name shares
// the work. Tasks wait in Redis until some instance with concurrency > 0 takes them (so tasks
// dispatched before any consumer starts are not lost); each instance hears, through BullMQ's
// event stream, the outcome of the tasks it dispatched. Payloads and results are JSON here.
import { randomUUID } from 'node:crypto';
import type { Job, Queue, QueueEvents, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log/logger.ts';
import { bullmq, ioredis } from '../../util/redis-modules.ts';
import { deferred, type Deferred } from './deferred.ts';
import { taskError } from './task-failure.ts';
import type { TaskRunner } from './task-runner.ts';
import type { FinishListener, TaskFailure, TaskQueue } from './task-types.ts';

interface Pending {
  task: string;
  /** Set for run(): the caller waits for this one task. */
  waiter: Deferred<unknown> | undefined;
}

export interface RedisQueueOptions {
  url: string;
  name: string;
  attempts: number;
  backoff: number;
  log: Logger | undefined;
}

export class RedisTaskQueue implements TaskQueue {
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #worker: Worker | undefined;
  readonly #connection: Redis;
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<FinishListener>();
  readonly #ready: Promise<unknown>;

  constructor(
    readonly options: RedisQueueOptions,
    readonly runner: TaskRunner | undefined,
    concurrency: number,
  ) {
    // BullMQ's blocking commands need maxRetriesPerRequest: null; Worker and QueueEvents duplicate it.
    const { Queue, QueueEvents, Worker } = bullmq();
    this.#connection = new (ioredis().Redis)(options.url, { maxRetriesPerRequest: null, lazyConnect: false });
    const connection = this.#connection;
    const report = (what: string) => (err: Error) => options.log?.warn({ err, queue: options.name }, what);
    this.#connection.on('error', report('task queue: redis error'));
    this.#queue = new Queue(options.name, { connection });
    this.#queue.on('error', report('task queue error'));
    this.#events = new QueueEvents(options.name, { connection });
    this.#events.on('error', report('task queue events error'));
    this.#events.on('completed', ({ jobId, returnvalue }) => this.#settle(jobId, returnvalue, undefined));
    this.#events.on('failed', ({ jobId, failedReason }) => void this.#failed(jobId, failedReason));
    if (runner !== undefined && concurrency > 0) {
      // BullMQ retries (attempts/backoff on the job); here each try runs once, in a worker thread.
      this.#worker = new Worker(options.name, (job: Job) => runner.once(job.name, job.data), {
        connection,
        concurrency,
      });
      this.#worker.on('error', report('task consumer error'));
    }
    // Outcomes are read from the event stream from when it is ready: nothing is dispatched before.
    this.#ready = Promise.all([this.#events.waitUntilReady(), this.#queue.waitUntilReady()]);
  }

  async run<R>(task: string, payload?: unknown): Promise<R> {
    const waiter = deferred<unknown>();
    await this.#add(task, payload, waiter);
    return (await waiter.promise) as R;
  }

  dispatch(task: string, payload?: unknown): Promise<string> {
    return this.#add(task, payload, undefined);
  }

  async #add(task: string, payload: unknown, waiter: Deferred<unknown> | undefined): Promise<string> {
    await this.#ready;
    const id = randomUUID();
    this.#pending.set(id, { task, waiter });
    try {
      await this.#queue.add(task, payload ?? null, {
        jobId: id,
        attempts: this.options.attempts,
        backoff: { type: 'exponential', delay: this.options.backoff },
        // Finished jobs are kept a while for inspection, never forever.
        removeOnComplete: { age: 3600, count: 10_000 },
        removeOnFail: { age: 24 * 3600, count: 10_000 },
      });
    } catch (err) {
      this.#pending.delete(id);
      throw err;
    }
    return id;
  }

  onFinish(listener: FinishListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #failed(id: string, reason: string): Promise<void> {
    if (!this.#pending.has(id)) return;
    const job = await this.#queue.getJob(id).catch(() => undefined);
    const name = job?.stacktrace?.at(-1)?.split(':', 1)[0] ?? 'Error';
    const failure: TaskFailure = { name, message: reason, attempts: job?.attemptsMade ?? this.options.attempts };
    this.#settle(id, undefined, failure);
  }

  #settle(id: string, result: unknown, failure: TaskFailure | undefined): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return; // another instance's task
    this.#pending.delete(id);
    if (pending.waiter !== undefined) {
      if (failure === undefined) pending.waiter.resolve(result);
      else pending.waiter.reject(taskError(pending.task, id, failure));
      return;
    }
    for (const listener of this.#listeners) {
      try {
        listener(pending.task, result, id, failure);
      } catch (err) {
        this.options.log?.error({ err, task: pending.task }, 'task finish listener failed');
      }
    }
  }

  async close(): Promise<void> {
    await this.#worker?.close();
    await this.runner?.close();
    await this.#events.close();
    await this.#queue.close();
    await this.#connection.quit().catch(() => {});
  }
}
