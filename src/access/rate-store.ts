// Where rate-limit state lives. The default keeps one table of TATs in the primary process (or the
// single process) and workers ask it over IPC: two workers then enforce one limit, not two, which
// is the classic bug of per-process counters. In a single process the call stays in-process.
import { inWorker } from '../os/primary-rpc.ts';
import { batchedCaller, provideBatched } from './primary-batch.ts';
import { gcra, type RateDecision, type RateSpec } from './gcra.ts';

/** Decides one request for `key`; implementations are shared by every limiter that uses them. */
export interface RateLimitStore {
  take(key: string, spec: RateSpec): Promise<RateDecision>;
  /** Decides at once, when the table lives in this process (a single process): no promise per request. */
  takeNow?(key: string, spec: RateSpec): RateDecision;
  close?(): Promise<void>;
}

/** A bounded in-memory table of TATs: when full, the least recently allowed key is dropped. */
export class LocalRateTable {
  readonly #tats = new Map<string, number>();
  /** The key allowed last: when present, it is already the last in the Map's order. */
  #newest: string | undefined;
  constructor(readonly maxKeys = 100_000) {}

  take(key: string, spec: RateSpec, now = Date.now()): RateDecision {
    const { tat, decision } = gcra(this.#tats.get(key), now, spec);
    if (decision.allowed) {
      // Re-insert: Map order is then least recently allowed first. The same client again (every
      // request of a busy one) is already last: a delete and set would only churn the table.
      if (key !== this.#newest) {
        this.#tats.delete(key);
        this.#newest = key;
      }
      this.#tats.set(key, tat);
      // Over the bound: the least recently allowed key goes. It is the likeliest to have expired,
      // and an expired key is indistinguishable from a new one, so forgetting it changes nothing.
      // Never a scan of the table per request: once full (a flood from many addresses), that
      // would cost every new key a walk over 100 000 entries, and the limiter would be the bottleneck.
      if (this.#tats.size > this.maxKeys) this.#tats.delete(this.#tats.keys().next().value as string);
    }
    return decision;
  }

  get size(): number {
    return this.#tats.size;
  }
}

export const RATE_SERVICE = 'foyer.rate-limit';

interface TakeCall {
  key: string;
  interval: number;
  burst: number;
}

let primaryTable: LocalRateTable | undefined;

/** Registers the shared table in this process (the primary, or the single process). Idempotent. */
export function provideRateService(maxKeys?: number): void {
  if (primaryTable !== undefined) return;
  const table = new LocalRateTable(maxKeys);
  primaryTable = table;
  provideBatched(RATE_SERVICE, (payload) => {
    const p = payload as TakeCall;
    return table.take(String(p.key), { interval: Number(p.interval), burst: Number(p.burst) });
  });
}

/** The default store: one limit across workers, kept by the primary. */
export function memoryRateStore(): RateLimitStore {
  provideRateService();
  const take = batchedCaller<RateDecision>(RATE_SERVICE);
  const store: RateLimitStore = { take: (key, spec) => take({ key, interval: spec.interval, burst: spec.burst }) };
  // Not a worker: the primary's table is this process's own, the same one take() reaches.
  const table = primaryTable;
  if (!inWorker() && table !== undefined) store.takeNow = (key, spec) => table.take(key, spec);
  return store;
}
