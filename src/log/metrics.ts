// Prometheus metrics (prom-client). Two registries per process: `registry` holds the foyer_*
// figures, which the primary sums across workers (same names and labels add up); `processRegistry`
// holds the process metrics labelled with the worker id, so they stay per worker. The request
// path only adds to plain counts (request-counts.ts); prom-client reads them when scraped.
import client from 'prom-client';
import type { Transaction } from '../reception/transaction.ts';
import { DURATION_BUCKETS, PlainHistogram, registerHistogram, SIZE_BUCKETS, StatusCounts } from './request-counts.ts';

/** What a serving process can report about itself; read when metrics or status are asked for. */
export interface LiveFigures {
  connections(): { active: number; idle: number; reading: number; accepted: number };
  /** FastCGI connection pools (open, idle, waiting), if PHP is served. */
  fastcgi?(): { open: number; idle: number; waiting: number }[];
  /** FastCGI upstream failures so far by kind, one record per gateway. */
  upstreamErrors?(): Readonly<Record<string, number>>[];
  /** Static-file cache hits and misses so far, one record per static handler. */
  staticCache?(): { hits: number; misses: number }[];
}

/**
 * A counter that follows a plain number kept by its owner (incremented on the request path for
 * free): at each scrape it adds what the number grew since the last one.
 */
function followingCounter(name: string, help: string, registers: client.Registry[], read: () => number): void {
  let seen = 0;
  new client.Counter({
    name,
    help,
    registers,
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

export class Metrics {
  readonly registry = new client.Registry();
  readonly processRegistry = new client.Registry();
  /** Requests completed by this process (also the status page's figure). */
  requests = 0;
  readonly #byStatus = new StatusCounts();
  readonly #duration = new PlainHistogram(DURATION_BUCKETS);
  readonly #size = new PlainHistogram(SIZE_BUCKETS);
  #sources: LiveFigures | undefined;

  constructor(worker = 0) {
    const registers = [this.registry];
    const self = this;
    const seen = new Map<string, number>();
    new client.Counter({
      name: 'foyer_http_requests_total',
      help: 'Requests completed, by method and status (499: the client left first)',
      labelNames: ['method', 'status'],
      registers,
      collect() {
        self.#byStatus.forEach((method, status, n) => {
          const key = `${method} ${status}`;
          const before = seen.get(key);
          if (before !== n) this.inc({ method, status }, n - (before ?? 0));
          seen.set(key, n);
        });
      },
    });
    registerHistogram(
      this.registry,
      'foyer_http_request_duration_seconds',
      'From the first byte of the request head to the last byte of the response',
      this.#duration,
    );
    registerHistogram(this.registry, 'foyer_http_response_size_bytes', 'Response body bytes sent', this.#size);
    followingCounter(
      'foyer_connections_accepted_total',
      'Client connections accepted',
      registers,
      () => self.#sources?.connections().accepted ?? 0,
    );
    new client.Gauge({
      name: 'foyer_connections_active',
      help: 'Open client connections',
      registers,
      collect() {
        this.set(self.#sources?.connections().active ?? 0);
      },
    });
    new client.Gauge({
      name: 'foyer_connections_idle',
      help: 'Open client connections waiting for a request (keep-alive)',
      registers,
      collect() {
        this.set(self.#sources?.connections().idle ?? 0);
      },
    });
    const pools = () => self.#sources?.fastcgi?.() ?? [];
    const sum = (f: (p: { open: number; idle: number; waiting: number }) => number) =>
      pools().reduce((n, p) => n + f(p), 0);
    new client.Gauge({
      name: 'foyer_fastcgi_connections_busy',
      help: 'FastCGI connections serving a request',
      registers,
      collect() {
        this.set(sum((p) => p.open - p.idle));
      },
    });
    new client.Gauge({
      name: 'foyer_fastcgi_connections_idle',
      help: 'FastCGI connections open and idle',
      registers,
      collect() {
        this.set(sum((p) => p.idle));
      },
    });
    new client.Gauge({
      name: 'foyer_fastcgi_requests_queued',
      help: 'Requests waiting for a FastCGI connection',
      registers,
      collect() {
        this.set(sum((p) => p.waiting));
      },
    });
    const caches = () => self.#sources?.staticCache?.() ?? [];
    followingCounter('foyer_static_cache_hits_total', 'Static files answered from the memory cache', registers, () =>
      caches().reduce((n, c) => n + c.hits, 0),
    );
    followingCounter('foyer_static_cache_misses_total', 'Static file requests that went to the disk', registers, () =>
      caches().reduce((n, c) => n + c.misses, 0),
    );
    const errorsSeen = new Map<string, number>();
    new client.Counter({
      name: 'foyer_fastcgi_upstream_errors_total',
      help: 'FastCGI failures by kind: connect, connect-timeout, closed, protocol, timeout, overloaded, rejected, pool-full',
      labelNames: ['kind'],
      registers,
      collect() {
        const totals = new Map<string, number>();
        for (const rec of self.#sources?.upstreamErrors?.() ?? [])
          for (const [kind, n] of Object.entries(rec)) totals.set(kind, (totals.get(kind) ?? 0) + n);
        for (const [kind, now] of totals) {
          const seen = errorsSeen.get(kind) ?? 0;
          // Every kind shows (at 0) once PHP is served, so a dashboard's rate() has a series from the start.
          this.inc({ kind }, now - seen);
          errorsSeen.set(kind, now);
        }
      },
    });
    this.processRegistry.setDefaultLabels({ worker: String(worker) });
    client.collectDefaultMetrics({ register: this.processRegistry });
  }

  /** Where live figures come from (the server, once it listens). */
  observe(sources: Partial<LiveFigures>): void {
    this.#sources = { ...this.#sources, ...sources } as LiveFigures;
  }

  get sources(): LiveFigures | undefined {
    return this.#sources;
  }

  /** The transaction hook. */
  readonly record = (tx: Transaction): void => {
    this.requests++;
    this.#byStatus.add(tx.method, tx.status);
    this.#duration.observe(Math.max(0, tx.end - tx.start) / 1000);
    this.#size.observe(tx.bytes);
  };

  /** This process's metrics as Prometheus text (the single-process /metrics). */
  async text(): Promise<string> {
    return (await this.registry.metrics()) + (await this.processRegistry.metrics());
  }
}

export const PROMETHEUS_CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;
