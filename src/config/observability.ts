// The CLI's observability wiring: the access log and metrics of a serving process, the admin
// listener, SIGUSR1 log reopening and the startup summary. In one process everything is local;
// with workers, the primary serves the admin listener from the workers' figures (os/cluster-observe).
import type { AccessLogOptions } from '../log/access-log.ts';
import { serveAdmin, type AdminSources } from '../log/admin.ts';
import { parseAdminAddress } from '../log/admin-address.ts';
import type { Logger } from '../log/logger.ts';
import { Metrics } from '../log/metrics.ts';
import { localStatus, type PoolFigures, type WorkerState } from '../log/status.ts';
import {
  clusterMetrics,
  clusterStatus,
  liveWorkers,
  reopenLogsInWorkers,
  shareWorkerFigures,
} from '../os/cluster-observe.ts';
import { onLogReopen } from '../os/signals.ts';
import { isDraining } from '../os/worker-state.ts';
import client from 'prom-client';
import type { Server } from '../server.ts';
import type { FoyerConfig } from './schema.ts';
import type { StaticCacheStats } from '../handlers/static/index.ts';

/** What a resource layer may expose (handlers/static, handlers/fastcgi). */
interface ObservedLayer {
  cacheStats?: StaticCacheStats;
  upstreamErrors?: Readonly<Record<string, number>>;
  staticFiles?: { cacheStats?: StaticCacheStats };
  stats?: PoolFigures;
}

/** Where the access log goes: the setting, else standard output when it is a terminal (nginx logs by default). */
export function accessLogTarget(config: FoyerConfig, stdoutIsTty: boolean): string | undefined {
  if (config.accessLog === false) return undefined;
  return config.accessLog ?? (stdoutIsTty ? '-' : undefined);
}

export class ServingObservability {
  readonly metrics: Metrics | undefined;
  readonly accessLog: AccessLogOptions | undefined;
  readonly #pools: { stats?: PoolFigures }[] = [];
  readonly #caches: StaticCacheStats[] = [];
  readonly #upstreamErrors: Readonly<Record<string, number>>[] = [];
  #state: WorkerState = 'starting';
  #server: Server | undefined;
  #admin: Server | undefined;
  #stopReopen: (() => void) | undefined;
  readonly #startedAt = Date.now();
  readonly #worker: number;

  /** `worker`: the cluster worker id, 0 for a single process (which then serves the admin listener itself). */
  constructor(
    readonly config: FoyerConfig,
    readonly log: Logger,
    opts: { worker?: number; stdoutIsTty: boolean },
  ) {
    this.#worker = opts.worker ?? 0;
    const path = accessLogTarget(config, opts.stdoutIsTty);
    this.accessLog =
      path === undefined ? undefined : { path, format: config.accessLogFormat ?? 'combined', worker: this.#worker };
    this.metrics = config.admin === undefined ? undefined : new Metrics(this.#worker);
    this.metrics?.observe({
      fastcgi: () => this.#pools.flatMap((p) => (p.stats === undefined ? [] : [p.stats])),
      upstreamErrors: () => this.#upstreamErrors,
      staticCache: () => this.#caches,
    });
  }

  /**
   * Sees each resource layer the pipeline builds: a FastCGI gateway (its pool, upstream errors and
   * static handler) or a static handler (its cache), so that metrics and status read their figures.
   */
  readonly watchLayer = (layer: object): void => {
    const l = layer as ObservedLayer;
    if (l.cacheStats !== undefined) this.#caches.push(l.cacheStats);
    if (l.upstreamErrors !== undefined) this.#upstreamErrors.push(l.upstreamErrors);
    if (l.staticFiles?.cacheStats !== undefined) this.#caches.push(l.staticFiles.cacheStats);
    if (l.upstreamErrors !== undefined || 'stats' in l) this.#pools.push(l as { stats?: PoolFigures });
  };

  /** Serve options this process's server takes. */
  serveOptions() {
    return { accessLog: this.accessLog, metrics: this.metrics, requestId: this.config.requestId };
  }

  /** This process's admin sources (a single process). */
  localSources(): AdminSources {
    const metrics = this.metrics!;
    return {
      metrics: () => metrics.text(),
      status: async () => ({
        startedAt: this.#startedAt,
        draining: this.#state === 'draining',
        restarts: 0,
        workers: [localStatus({ id: 0, state: this.#state, metrics, accessLog: this.#server?.accessLog })],
      }),
      draining: () => this.#state !== 'serving',
    };
  }

  /** After the server listens: the admin listener, SIGUSR1, the startup summary. */
  async started(server: Server, summary: Record<string, unknown>): Promise<void> {
    this.#server = server;
    this.#state = 'serving';
    if (this.#worker !== 0) {
      // A worker: the primary serves the admin listener and relays SIGUSR1.
      const metrics = this.metrics ?? new Metrics(this.#worker);
      shareWorkerFigures(
        [metrics.registry, metrics.processRegistry],
        () => localStatus({ id: this.#worker, state: this.#state, metrics, accessLog: server.accessLog }),
        () => server.reopenLogs(),
      );
      return;
    }
    if (this.config.admin !== undefined) {
      const addr = parseAdminAddress(this.config.admin);
      this.#admin = await serveAdmin(addr, this.localSources(), this.log);
    }
    this.#stopReopen = onLogReopen(() => {
      server.reopenLogs();
      this.log.info('log files reopened');
    });
    logSummary(this.log, server.url, summary, this.accessLog, this.#admin?.url);
  }

  /** The admin listener's URL once started (a single process). */
  get adminUrl(): string | undefined {
    return this.#admin?.url;
  }

  /** Graceful shutdown begins: /health answers 503 from now on. */
  draining(): void {
    this.#state = 'draining';
  }

  async close(): Promise<void> {
    this.#state = 'stopped';
    this.#stopReopen?.();
    await this.#admin?.close(1000);
  }
}

/**
 * The one startup summary (listeners, workers, root, app, php, log files, admin), written once by
 * the process that owns the listeners: the single process, or the primary once its workers serve.
 */
function logSummary(
  log: Logger,
  url: string,
  summary: Record<string, unknown>,
  accessLog: { path: string; format?: string } | undefined,
  admin: string | undefined,
): void {
  log.info(
    {
      ...summary,
      accessLog: accessLog === undefined ? 'off' : `${accessLog.path} (${accessLog.format ?? 'combined'})`,
      ...(admin === undefined ? {} : { admin }),
    },
    `foyer ready on ${url}`,
  );
}

/**
 * The primary's part with workers: the admin listener over the workers' summed figures, and
 * SIGUSR1 relayed to every worker. `workers()` reports the process model's view (live workers,
 * restarts so far); by default, the connected cluster workers and no restarts.
 */
export class PrimaryObservability {
  #admin: Server | undefined;
  #stopReopen: (() => void) | undefined;
  #draining = false;
  readonly #startedAt = Date.now();
  readonly #registry = new client.Registry();

  constructor(
    readonly config: FoyerConfig,
    readonly log: Logger,
    readonly workers: () => { live: number; restarts: number } = () => ({ live: liveWorkers(), restarts: 0 }),
  ) {
    const self = this;
    new client.Gauge({
      name: 'foyer_workers',
      help: 'Worker processes serving',
      registers: [this.#registry],
      collect() {
        this.set(self.workers().live);
      },
    });
    let restartsSeen = 0;
    new client.Counter({
      name: 'foyer_worker_restarts_total',
      help: 'Workers replaced after they died (crash, killed)',
      registers: [this.#registry],
      collect() {
        const now = self.workers().restarts;
        if (now > restartsSeen) this.inc(now - restartsSeen);
        restartsSeen = now;
      },
    });
  }

  sources(): AdminSources {
    return {
      metrics: async () => (await clusterMetrics()) + (await this.#registry.metrics()),
      status: async () => ({
        startedAt: this.#startedAt,
        draining: this.#draining || isDraining(),
        restarts: this.workers().restarts,
        workers: await clusterStatus(),
      }),
      // Shutdown, or a reload retiring workers (the process model's flag).
      draining: () => this.#draining || isDraining(),
    };
  }

  /** Returns the admin listener's URL, if there is one. */
  async start(): Promise<string | undefined> {
    this.#stopReopen = onLogReopen(() => {
      const n = reopenLogsInWorkers();
      this.log.info({ workers: n }, 'log files reopened');
    });
    if (this.config.admin === undefined) return undefined;
    this.#admin = await serveAdmin(parseAdminAddress(this.config.admin), this.sources(), this.log);
    return this.#admin.url;
  }

  /** The workers serve: the one startup summary (the workers print none). */
  ready(url: string, summary: Record<string, unknown>, stdoutIsTty: boolean): void {
    const path = accessLogTarget(this.config, stdoutIsTty);
    const accessLog = path === undefined ? undefined : { path, format: this.config.accessLogFormat ?? 'combined' };
    logSummary(this.log, url, summary, accessLog, this.#admin?.url);
  }

  draining(): void {
    this.#draining = true;
  }

  async close(): Promise<void> {
    this.#stopReopen?.();
    await this.#admin?.close(1000);
  }
}
