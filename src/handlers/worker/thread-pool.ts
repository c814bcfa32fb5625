// A piscina pool of worker threads, shaped for Foyer: dynamic between minThreads and maxThreads
// with idle threads exiting (seed 002's TTL, seed 003's dynamic pool), TypeScript entry files
// loadable when Foyer itself runs from its sources, and a way to kill one thread by id (a runaway
// task: piscina's own abort needs signals that forbid sharing a thread between tasks).
import process from 'node:process';
import { availableParallelism } from 'node:os';
import type { ResourceLimits, TransferListItem, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { FoyerConfigError } from '../../util/errors.ts';

export interface PoolOptions {
  /** Threads kept even when idle (default 1, started with the first task). */
  minThreads?: number;
  /** Most threads (default: cores − 1, at least 1). */
  maxThreads?: number;
  /** Milliseconds an idle thread above minThreads lives (default 30 000). */
  idleTimeout?: number;
  /** Tasks waiting for a thread; beyond it run() fails with a queue-full error (default 256). */
  maxQueue?: number;
  /** Tasks one thread runs at once when they await (default 4; 1 for strictly one at a time). */
  concurrentTasksPerThread?: number;
  /** V8 heap and stack limits per thread; a thread over them dies and is replaced. */
  resourceLimits?: ResourceLimits;
}

export const defaultMaxThreads = (): number => Math.max(1, availableParallelism() - 1);

/** The sibling module `name` with this module's own extension: `.ts` from the sources, `.js` from dist. */
export function siblingEntry(name: string, base: string): string {
  const ext = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, base).href;
}

/** A worker running a `.ts` entry needs tsx's loader, which is inherited only if the process has it. */
function execArgvFor(entry: string): string[] | undefined {
  // tsx's ESM-only loader (`--import tsx/esm`) is not enough: see below.
  if (!entry.endsWith('.ts') || process.execArgv.some((a) => a.includes('tsx') && !a.includes('tsx/esm')))
    return undefined;
  // The whole of tsx (its CommonJS hook too): piscina require()s the entry first, and tsx's ESM
  // hooks do not take effect in worker threads on Node 20.
  return [...process.execArgv, '--import', import.meta.resolve('tsx')];
}

export function positiveInt(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new FoyerConfigError('FOYER_BAD_OPTION', `${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** Throws a TypeError naming the first bad pool option: a typo is a startup error, not a first-request one. */
export function checkPoolOptions(options: PoolOptions): void {
  positiveInt('maxThreads', options.maxThreads, 1);
  positiveInt('minThreads', options.minThreads, 0);
  positiveInt('concurrentTasksPerThread', options.concurrentTasksPerThread, 1);
  positiveInt('idleTimeout', options.idleTimeout, 0);
  positiveInt('maxQueue', options.maxQueue, 0);
}

export class ThreadPool {
  readonly piscina: Piscina;
  readonly maxThreads: number;
  /** Threads being terminated: they stay in piscina's list until they exit, but get no new task. */
  readonly #killed = new Set<number>();

  constructor(entry: string, options: PoolOptions = {}, workerData?: unknown) {
    const maxThreads = positiveInt('maxThreads', options.maxThreads, 1) ?? defaultMaxThreads();
    const minThreads = Math.min(positiveInt('minThreads', options.minThreads, 0) ?? 1, maxThreads);
    const perThread = positiveInt('concurrentTasksPerThread', options.concurrentTasksPerThread, 1) ?? 4;
    const execArgv = execArgvFor(entry);
    this.maxThreads = maxThreads;
    this.piscina = new Piscina({
      filename: entry,
      minThreads,
      maxThreads,
      idleTimeout: positiveInt('idleTimeout', options.idleTimeout, 0) ?? 30_000,
      maxQueue: positiveInt('maxQueue', options.maxQueue, 0) ?? 256,
      concurrentTasksPerWorker: perThread,
      // No Atomics.wait between tasks: it would freeze a thread's event loop while it is idle, and
      // with it the preloading module and the waitUntil work of finished requests (measured no slower).
      atomics: 'disabled',
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
      ...(execArgv === undefined ? {} : { execArgv }),
      ...(workerData === undefined ? {} : { workerData }),
      // Idle threads first, then a new thread while the pool may grow, and only then a share of a
      // busy thread: CPU-bound tasks spread over threads before they queue behind each other.
      loadBalancer: (_task, workers) => {
        let best: (typeof workers)[number] | null = null;
        for (const w of workers) {
          if (w.terminating || w.destroyed || this.#killed.has(w.id)) continue;
          if (w.currentUsage === 0) return w;
          if (w.currentUsage < perThread && (best === null || w.currentUsage < best.currentUsage)) best = w;
        }
        return best !== null && this.piscina.threads.length < maxThreads ? null : best;
      },
    });
    // A thread's failure reaches the tasks on it as rejections; the pool-level event needs a listener.
    this.piscina.on('error', () => {});
  }

  run<R>(task: unknown, transferList?: TransferListItem[]): Promise<R> {
    return this.piscina.run(task, transferList === undefined ? {} : { transferList: transferList as never });
  }

  /** Terminates the thread with `threadId` (stuck in a loop); piscina fails its tasks and replaces it. */
  kill(threadId: number): boolean {
    const worker = this.piscina.threads.find((w: Worker) => w.threadId === threadId);
    if (worker === undefined) return false;
    this.#killed.add(threadId);
    worker.once('exit', () => this.#killed.delete(threadId));
    void worker.terminate();
    return true;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  get queued(): number {
    return this.piscina.queueSize;
  }

  close(): Promise<void> {
    return this.piscina.destroy();
  }
}
