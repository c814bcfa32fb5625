// Where rate-limit state lives. The default keeps one table of TATs in the primary process (or the
// single process) and workers ask it over IPC: two workers then enforce one limit, not two, which
// is the classic bug of per-process counters. In a single process the call stays in-process.
import { inWorker } from '../os/primary-rpc.ts';
import { batchedCaller, provideBatched } from './primary-batch.ts';
import { gcra, type RateDecision, type RateSpec } from './gcra.ts';
import { readClock } from '../util/read-clock.ts';

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
  /** The key allowed last (it is the last in the Map's order) and its TAT, kept here, not in the Map. */
  #newest: string | undefined;
  #newestTat = 0;
  constructor(readonly maxKeys = 100_000) {}

  take(key: string, spec: RateSpec, now = readClock()): RateDecision {
    // The same client again (every request of a busy one): its TAT is the one kept aside, and the
    // table is not touched (a lookup and a store per request measured ~150 instructions).
    const again = key === this.#newest;
    const { tat, decision } = gcra(again ? this.#newestTat : this.#tats.get(key), now, spec);
    if (decision.allowed) {
      if (again) {
        this.#newestTat = tat;
        return decision;
      }
      // Another key: the one kept aside goes back into the table at its place (it is still the
      // last), and this one is re-inserted so that the Map's order is least recently allowed first.
      if (this.#newest !== undefined) this.#tats.set(this.#newest, this.#newestTat);
      this.#tats.delete(key);
      this.#tats.set(key, tat);
      this.#newest = key;
      this.#newestTat = tat;
      // Over the bound: the least recently allowed key goes. It is the likeliest to have expired,
      // and an expired key is indistinguishable from a new one, so forgetting it changes nothing.
      // Never a scan of the table per request: once full (a flood from many addresses), that
      // would cost every new key a walk over 100 000 entries, and the limiter would be the bottleneck.
      if (this.#tats.size > this.maxKeys) {
        const oldest = this.#tats.keys().next().value as string;
        this.#tats.delete(oldest);
        if (oldest === this.#newest) this.#newest = undefined;
      }
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
