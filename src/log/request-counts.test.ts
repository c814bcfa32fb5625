import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import client from 'prom-client';
import type { Transaction } from '../reception/transaction.ts';
import { Metrics } from './metrics.ts';
import { DURATION_BUCKETS, METHOD_LABELS, SIZE_BUCKETS } from './request-counts.ts';

const NAMES = ['foyer_http_requests_total', 'foyer_http_request_duration_seconds', 'foyer_http_response_size_bytes'];

/** prom-client fed per request, as the request path used to: the reference for what a scrape shows. */
class Reference {
  readonly registry = new client.Registry();
  readonly #requests: client.Counter;
  readonly #duration: client.Histogram;
  readonly #size: client.Histogram;

  constructor(help: (name: string) => string) {
    const registers = [this.registry];
    this.#requests = new client.Counter({
      name: NAMES[0]!,
      help: help(NAMES[0]!),
      labelNames: ['method', 'status'],
      registers,
    });
    this.#duration = new client.Histogram({
      name: NAMES[1]!,
      help: help(NAMES[1]!),
      buckets: [...DURATION_BUCKETS],
      registers,
    });
    this.#size = new client.Histogram({
      name: NAMES[2]!,
      help: help(NAMES[2]!),
      buckets: [...SIZE_BUCKETS],
      registers,
    });
  }

  record(tx: Transaction): void {
    const known = METHOD_LABELS.slice(0, 9).includes(tx.method);
    const method = known ? tx.method : tx.method === '' ? 'NONE' : 'OTHER';
    this.#requests.labels(method, String(tx.status)).inc();
    this.#duration.observe(Math.max(0, tx.end - tx.start) / 1000);
    this.#size.observe(tx.bytes);
  }
}

const tx = (method: string, status: number, ms: number, bytes: number): Transaction => ({
  start: 1_000_000,
  end: 1_000_000 + ms,
  method,
  target: '/',
  minor: 1,
  rawLine: '',
  status,
  bytes,
  fields: [],
  ctx: undefined,
  peer: '127.0.0.1',
});

const arbTx = fc
  .tuple(
    fc.constantFrom(
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'PATCH',
      'OPTIONS',
      'TRACE',
      'CONNECT',
      '',
      'PROPFIND',
      'get',
    ),
    fc.constantFrom(101, 200, 204, 206, 304, 400, 404, 408, 413, 414, 431, 499, 500, 503, 599),
    fc.oneof(fc.integer({ min: -5, max: 20_000 }), fc.constantFrom(0, 1, 5, 10, 25, 100, 250, 1000, 2500, 10_000)),
    fc.oneof(fc.nat({ max: 20_000_000 }), fc.constantFrom(0, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)),
  )
  .map(([m, s, ms, b]) => tx(m, s, ms, b));

async function scrape(registry: client.Registry): Promise<string> {
  let out = '';
  for (const name of NAMES) out += `${await registry.getSingleMetricAsString(name)}\n`;
  return out;
}

test('the request figures scrape exactly as prom-client fed per request would show them (text, JSON, summed)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(arbTx, { maxLength: 60 }), fc.array(arbTx, { maxLength: 60 }), async (first, second) => {
      const metrics = [new Metrics(1), new Metrics(2)];
      const help = (name: string) => (metrics[0]!.registry.getSingleMetric(name) as unknown as { help: string }).help;
      const refs = [new Reference(help), new Reference(help)];
      // Two workers, scraped between two rounds of requests: counts follow across scrapes.
      for (const [round, list] of [first, second].entries()) {
        list.forEach((t, i) => {
          metrics[(i + round) % 2]!.record(t);
          refs[(i + round) % 2]!.record(t);
        });
        for (let w = 0; w < 2; w++) assert.equal(await scrape(metrics[w]!.registry), await scrape(refs[w]!.registry));
        const ours = await Promise.all(metrics.map((m) => m.registry.getMetricsAsJSON()));
        const theirs = await Promise.all(refs.map((r) => r.registry.getMetricsAsJSON()));
        const keep = (all: client.MetricObjectWithValues<client.MetricValue<string>>[][]) =>
          all.map((list) => list.filter((m) => NAMES.includes(m.name)));
        const summed = async (all: client.MetricObjectWithValues<client.MetricValue<string>>[][]) =>
          client.AggregatorRegistry.aggregate(JSON.parse(JSON.stringify(keep(all)))).metrics();
        assert.equal(await summed(ours), await summed(theirs));
      }
    }),
    { numRuns: 60 },
  );
});

test('a status outside three digits keeps its own series', async () => {
  const m = new Metrics();
  m.record(tx('GET', 200, 1, 5));
  m.record(tx('GET', 42, 1, 5));
  m.record(tx('GET', 42, 1, 5));
  const text = await m.registry.getSingleMetricAsString(NAMES[0]!);
  assert.match(text, /foyer_http_requests_total\{method="GET",status="200"\} 1\n/);
  assert.match(text, /foyer_http_requests_total\{method="GET",status="42"\} 2$/);
});
