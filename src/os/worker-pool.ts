// The primary's supervisor: N slots, each served by one node:cluster worker. A worker that dies is
// replaced (at most one restart a second per slot, doubling while it keeps dying young); a reload
// or a recycle replaces workers one at a time: the new one must say ready before the old one is
// told to retire, so the listening socket always has a worker and no request is refused. At most
// 2 × N workers are alive at any time (old ones retiring, new ones starting), which is what the
// php-fpm pool is sized for (see cli-primary.ts).
import cluster, { type Worker } from 'node:cluster';
import { LOG_CLOSE_GRACE_MS } from '../log/access-log.ts';
import type { Logger } from '../log/logger.ts';
import { serveWorker } from './primary-rpc.ts';
import { isToPrimary, type ToWorker } from './worker-messages.ts';
import {
  countRestart,
  forgetWorker,
  setDraining,
  trackWorker,
  updateWorker,
  type WorkerStateName,
} from './worker-state.ts';

/** After its log's grace, time for a retiring worker to report and exit before it is killed. */
const EXIT_MARGIN_MS = 1_000;
export interface WorkerPoolOptions {
  size: number;
  log: Logger;
  /** Environment of each forked worker. */
  env: () => Record<string, string>;
  /** A retiring worker is killed after this many ms. */
  shutdownTimeout: number;
  /** A new worker that is not ready after this many ms (default 60 000) is killed and counts as failed. */
  startTimeout?: number;
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  restarts: number;
  lastStart: number;
  backoff: number;
  timer: NodeJS.Timeout | undefined;
}

const MIN_RESTART_INTERVAL = 1000;
const MAX_BACKOFF = 30_000;
/** A worker that dies within this long of its start is crash-looping: the backoff doubles. */
const YOUNG = 10_000;

export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #states = new Map<number, WorkerStateName>();
  readonly #alive = new Set<Worker>();
  #queue: Promise<unknown> = Promise.resolve();
  #stopping = false;
  #url = '';

  constructor(options: WorkerPoolOptions) {
    this.#o = options;
  }

  /** The URL the first ready worker reported. */
  get url(): string {
    return this.#url;
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Starts every slot; resolves when all are ready, rejects (after stopping them) if one fails. */
  async start(): Promise<void> {
    for (let i = 0; i < this.#o.size; i++)
      this.#slots.push({ index: i, worker: undefined, restarts: 0, lastStart: 0, backoff: 0, timer: undefined });
    try {
      await Promise.all(this.#slots.map(async (slot) => (slot.worker = await this.#spawn(slot))));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Forks a worker for `slot` and resolves once it says ready. */
  #spawn(slot: Slot): Promise<Worker> {
    slot.lastStart = Date.now();
    const worker = cluster.fork({ ...this.#o.env(), FOYER_WORKER_SLOT: String(slot.index) });
    this.#alive.add(worker);
    serveWorker(worker);
    this.#setState(worker, 'starting');
    trackWorker({
      id: worker.id,
      pid: worker.process.pid ?? 0,
      startedAt: slot.lastStart,
      state: 'starting',
      restarts: slot.restarts,
    });
    worker.on('message', (m: unknown) => {
      if (!isToPrimary(m)) return;
      if (m.foyerWorker === 'stats') updateWorker(worker.id, { requests: m.requests });
      else if (m.foyerWorker === 'recycle' && slot.worker === worker && !this.#stopping) {
        this.#o.log.info({ worker: worker.process.pid, reason: m.reason }, 'recycling a worker');
        this.#serial(() => this.#replace(slot)).catch((err: unknown) =>
          this.#o.log.error({ err }, 'could not start a replacement worker; keeping the old one'),
        );
      }
    });
    worker.on('exit', (code, signal) => this.#onExit(slot, worker, code, signal));
    // A worker that dies while we write to it (EPIPE) must not take the primary down: 'exit' follows.
    worker.on('error', (err) => this.#o.log.debug({ err: err.message, worker: worker.process.pid }, 'worker channel'));
    return new Promise<Worker>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(new Error(`a worker was not ready within ${this.#o.startTimeout ?? 60_000} ms`));
      }, this.#o.startTimeout ?? 60_000);
      const onMessage = (m: unknown) => {
        if (!isToPrimary(m) || m.foyerWorker !== 'ready') return;
        clearTimeout(timer);
        worker.off('exit', onEarlyExit);
        if (this.#url === '') this.#url = m.url;
        this.#setState(worker, 'ready');
        resolve(worker);
      };
      const onEarlyExit = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        reject(new Error(`a new worker exited before it was ready (${signal ?? `code ${code}`})`));
      };
      worker.on('message', onMessage);
      worker.once('exit', onEarlyExit);
    });
  }

  #setState(worker: Worker, state: WorkerStateName): void {
    this.#states.set(worker.id, state);
    updateWorker(worker.id, { state });
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    this.#alive.delete(worker);
    const state = this.#states.get(worker.id);
    this.#states.delete(worker.id);
    forgetWorker(worker.id);
    if (slot.worker !== worker || this.#stopping || state === 'retiring' || state === 'starting') return;
    // An unexpected exit of a serving worker: replace it, no faster than once a second per slot.
    slot.worker = undefined;
    this.#scheduleRestart(slot, { worker: worker.process.pid, code, signal }, 'worker died; starting a new one');
  }

  #scheduleRestart(slot: Slot, detail: Record<string, unknown>, message: string): void {
    const now = Date.now();
    slot.backoff =
      now - slot.lastStart < YOUNG ? Math.min(Math.max(slot.backoff * 2, MIN_RESTART_INTERVAL), MAX_BACKOFF) : 0;
    const wait = Math.max(slot.backoff, slot.lastStart + MIN_RESTART_INTERVAL - now, 0);
    slot.restarts++;
    countRestart();
    this.#o.log.error({ ...detail, slot: slot.index, restartInMs: wait, restarts: slot.restarts }, message);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.#stopping) return;
      this.#spawn(slot).then(
        (w) => {
          if (this.#stopping || slot.worker !== undefined) void this.#retire(w);
          else slot.worker = w;
        },
        (err: unknown) =>
          this.#scheduleRestart(slot, { err: (err as Error).message }, 'replacement worker failed to start'),
      );
    }, wait);
  }

  /** Runs replacements one after another (bounds the workers alive at once). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Starts a new worker for `slot`, then retires the old one. Throws (old one kept) if the new one fails. */
  async #replace(slot: Slot): Promise<void> {
    if (this.#stopping) return;
    while (this.#alive.size >= 2 * this.#slots.length) await new Promise((r) => setTimeout(r, 50));
    if (slot.timer !== undefined) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
    }
    const old = slot.worker;
    const fresh = await this.#spawn(slot);
    if (this.#stopping) {
      this.#retire(fresh);
      return;
    }
    slot.worker = fresh;
    slot.backoff = 0;
    if (old !== undefined) this.#retire(old);
  }

  /** Tells a worker to finish and exit; kills it after the shutdown timeout. */
  #retire(worker: Worker): Promise<void> {
    if (worker.isDead()) return Promise.resolve();
    this.#setState(worker, 'retiring');
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    try {
      worker.send({ foyerWorker: 'retire' } satisfies ToWorker);
    } catch {
      worker.process.kill('SIGTERM');
    }
    // The worker's own close takes the shutdown timeout for its requests, then up to the log's grace
    // for its last lines, and a moment to exit: killed before that, they would be lost uncounted.
    // Clamped: a timer past 2^31-1 ms fires at once.
    const timer = setTimeout(
      () => {
        this.#o.log.warn({ worker: worker.process.pid }, 'a retiring worker did not finish in time; killing it');
        worker.process.kill('SIGKILL');
      },
      Math.min(this.#o.shutdownTimeout + LOG_CLOSE_GRACE_MS + EXIT_MARGIN_MS, 2 ** 31 - 1),
    );
    return exited.finally(() => clearTimeout(timer));
  }

  /**
   * Replaces every worker: starts the new ones together, and once every one of them said ready,
   * retires the old ones. If a new worker fails to start, the new ones are stopped, the old ones
   * keep serving, and the error is thrown for the caller to log.
   */
  reload(size = this.#slots.length): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopping) return;
      setDraining(true);
      try {
        const slots = Array.from(
          { length: size },
          (_, i): Slot =>
            this.#slots[i] ?? { index: i, worker: undefined, restarts: 0, lastStart: 0, backoff: 0, timer: undefined },
        );
        const started = await Promise.allSettled(slots.map((slot) => this.#spawn(slot)));
        const failure = started.find((r) => r.status === 'rejected');
        if (failure !== undefined || this.#stopping) {
          for (const r of started) if (r.status === 'fulfilled') void this.#retire(r.value);
          if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
          return;
        }
        const old: Worker[] = [];
        for (const slot of this.#slots.slice(size)) {
          if (slot.timer !== undefined) clearTimeout(slot.timer);
          if (slot.worker !== undefined) old.push(slot.worker);
        }
        slots.forEach((slot, i) => {
          if (slot.timer !== undefined) clearTimeout(slot.timer);
          slot.timer = undefined;
          if (slot.worker !== undefined) old.push(slot.worker);
          slot.worker = (started[i] as PromiseFulfilledResult<Worker>).value;
          slot.backoff = 0;
        });
        this.#slots.length = 0;
        this.#slots.push(...slots);
        for (const w of old) void this.#retire(w);
      } finally {
        if (!this.#stopping) setDraining(false);
      }
    });
  }

  /** Retires every worker (graceful) and resolves when all have exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    setDraining(true);
    for (const slot of this.#slots) if (slot.timer) clearTimeout(slot.timer);
    await Promise.all([...this.#alive].map((w) => this.#retire(w)));
  }

  /** Kills every worker now (a second signal). */
  kill(): void {
    this.#stopping = true;
    for (const w of this.#alive) w.process.kill('SIGKILL');
  }
}
