// taskQueue(): named tasks outside the request (Swoole's task/finish), in worker threads of this
// process, or on Redis through BullMQ when several instances share the work.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LocalTaskQueue } from './local-task-queue.ts';
import { RedisTaskQueue } from './redis-task-queue.ts';
import { TaskRunner } from './task-runner.ts';
import type { TaskQueue, TaskQueueOptions } from './task-types.ts';
import { checkPoolOptions, defaultMaxThreads, positiveInt } from './thread-pool.ts';
import { FoyerConfigError } from '../../util/errors.ts';

function moduleHref(module: string | URL): string {
  const s = String(module);
  const href = s.startsWith('file:') ? new URL(s).href : pathToFileURL(resolve(s)).href;
  if (!existsSync(fileURLToPath(href)))
    throw new FoyerConfigError('FOYER_BAD_OPTION', `taskQueue(): module not found: ${fileURLToPath(href)}`);
  return href;
}

export function taskQueue(options: TaskQueueOptions): TaskQueue {
  const module = moduleHref(options.module);
  checkPoolOptions(options);
  const concurrency = positiveInt('concurrency', options.concurrency, 0) ?? defaultMaxThreads();
  const attempts = positiveInt('attempts', options.attempts, 1) ?? 1;
  const backoff = positiveInt('backoff', options.backoff, 0) ?? 1000;
  const timeout = positiveInt('timeout', options.timeout, 0) ?? 60_000;
  const runner = concurrency > 0 ? new TaskRunner(module, concurrency, timeout, options) : undefined;
  if (options.redis === undefined) {
    if (runner === undefined)
      throw new FoyerConfigError('FOYER_BAD_OPTION', 'taskQueue(): concurrency 0 (a producer only) needs redis');
    return new LocalTaskQueue(runner, attempts, backoff, options.log);
  }
  const name = options.name ?? 'foyer-tasks';
  return new RedisTaskQueue({ url: options.redis, name, attempts, backoff, log: options.log }, runner, concurrency);
}
