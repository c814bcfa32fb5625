// The request figures of /metrics, kept by the request path as plain numbers (a few stores per
// request into typed arrays) and handed to prom-client only when /metrics is scraped, as the
// connection counters already are. prom-client's own counter and histogram calls cost a label
// hash, a closure and an object per request; here the scrape pays instead, once per series.
// What a scrape shows is exactly what prom-client's Counter and Histogram would have shown for the
// same requests (same series, order, bucket bounds, floating-point sums): request-counts.test.ts
// checks it against them.
import type client from 'prom-client';

/** Upper bounds (seconds) of foyer_http_request_duration_seconds. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds (bytes) of foyer_http_response_size_bytes. */
export const SIZE_BUCKETS: readonly number[] = [0, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/** The method label: the methods Foyer implements, NONE for a request line that could not be read, OTHER for the rest. */
export const METHOD_LABELS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'TRACE',
  'NONE',
  'OTHER',
];

function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'CONNECT':
      return 7;
    case 'TRACE':
      return 8;
    case '':
      return 9;
    default:
      return 10;
  }
}

/** Requests by method and status: a counter per series, series listed in the order first seen. */
export class StatusCounts {
  // Three-digit statuses (all the engine and the Response constructor produce) index a typed
  // array; anything else goes to a map, so that no status is lost or mislabelled.
  readonly #counts = new Float64Array(METHOD_LABELS.length * 1000);
  readonly #other = new Map<string, number>();
  /** Series in the order first seen: an index into #counts, or a key of #other. */
  readonly #order: (number | string)[] = [];

  add(method: string, status: number): void {
    const m = methodIndex(method);
    if (status >= 100 && status <= 999 && Number.isInteger(status)) {
      const key = m * 1000 + status;
      if (this.#counts[key]++ === 0) this.#order.push(key);
      return;
    }
    const key = `${METHOD_LABELS[m]} ${status}`;
    const n = this.#other.get(key);
    if (n === undefined) this.#order.push(key);
    this.#other.set(key, (n ?? 0) + 1);
  }

  /** Calls `fn` for every series seen so far, in the order first seen. */
  forEach(fn: (method: string, status: string, count: number) => void): void {
    for (const key of this.#order) {
      if (typeof key === 'number') fn(METHOD_LABELS[Math.floor(key / 1000)]!, String(key % 1000), this.#counts[key]!);
      else {
        const sp = key.indexOf(' ');
        fn(key.slice(0, sp), key.slice(sp + 1), this.#other.get(key)!);
      }
    }
  }
}

/** A histogram without labels: counts per bucket, sum and count, as prom-client keeps them. */
export class PlainHistogram {
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); above the last bound only `count` grows. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    // prom-client's rule: the first bound the value is at most.
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    if (i < b.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** Registers `h` in `registry` as the histogram `name`: what prom-client's Histogram.get() returns. */
export function registerHistogram(registry: client.Registry, name: string, help: string, h: PlainHistogram): void {
  const bucket = `${name}_bucket`;
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { value: number; metricName: string; exemplar?: null; labels: Record<string, string | number> }[] =
        [];
      let acc = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        acc += h.counts[i]!;
        values.push({ value: acc, metricName: bucket, exemplar: null, labels: { le: h.bounds[i]! } });
      }
      values.push(
        { value: h.count, metricName: bucket, exemplar: null, labels: { le: '+Inf' } },
        { value: h.sum, metricName: `${name}_sum`, labels: {} },
        { value: h.count, metricName: `${name}_count`, labels: {} },
      );
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset() {
      h.counts.fill(0);
      h.sum = 0;
      h.count = 0;
    },
  };
  // A plain object with name and get() is a metric to a Registry (prom-client's own cluster
  // aggregation registers its sums the same way).
  registry.registerMetric(metric as unknown as client.Metric);
}
