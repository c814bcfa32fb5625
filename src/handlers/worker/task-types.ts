// The task queue's public types, shared by the in-process and the Redis (BullMQ) queues.
import type { Logger } from '../../log/logger.ts';
import type { PoolOptions } from './thread-pool.ts';

export interface TaskQueueOptions extends PoolOptions {
  /** Module (URL or path) whose named exports are the tasks: `export async function mail(p) { … }`. */
  module: string | URL;
  /**
   * Tasks this instance runs at once, in worker threads (default: cores − 1, at least 1). 0 makes it
   * a producer only (needs `redis`: another instance consumes).
   */
  concurrency?: number;
  /** Redis URL (`redis://host:6379/0`): the queue is BullMQ, shared by every instance on it. */
  redis?: string;
  /** Queue name in Redis (default `foyer-tasks`). */
  name?: string;
  /** Tries per task, the first included (default 1). */
  attempts?: number;
  /** Milliseconds before the first retry, doubled for each next one (default 1000). */
  backoff?: number;
  /** Milliseconds a task may run; past it its thread is terminated and the try fails (default 60 000; 0 for none). */
  timeout?: number;
  /** Where failures of onFinish listeners and Redis connection trouble are logged. */
  log?: Logger;
}

/** Why a task failed, as its finish listeners see it. */
export interface TaskFailure {
  name: string;
  message: string;
  attempts: number;
}

/** Swoole's finish: `failure` is set (and `result` undefined) when the task failed after its last try. */
export type FinishListener = (task: string, result: unknown, id: string, failure?: TaskFailure) => void;

export interface TaskQueue {
  /** Runs a task and resolves with its result (Swoole's taskwait); rejects with FOYER_TASK_FAILED (FOYER_TASK_TIMEOUT, FOYER_TASK_UNKNOWN). */
  run<R = unknown>(task: string, payload?: unknown): Promise<R>;
  /** Queues a task and resolves with its id at once; the result reaches onFinish listeners (Swoole's task). */
  dispatch(task: string, payload?: unknown): Promise<string>;
  /** Adds a finish listener; returns a function that removes it. */
  onFinish(listener: FinishListener): () => void;
  /** Stops taking tasks, lets running ones finish (Redis) or stops the threads (local), closes connections. */
  close(): Promise<void>;
}
