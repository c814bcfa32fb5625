// The CLI's observability wiring: the access log and metrics of a serving process, the admin
// listener, SIGUSR1 log reopening and the startup summary. In one process everything is local;
// with workers, the primary serves the admin listener from the workers' figures (os/cluster-observe).
import type { AccessLogOptions } from '../log/access-log.ts';
import { serveAdmin, type AdminSources } from '../log/admin.ts';
import { parseAdminAddress } from '../log/admin-address.ts';
import type { Logger } from '../log/logger.ts';
import { Metrics } from '../log/metrics.ts';
import { localStatus, type PoolFigures, type WorkerState } from '../log/status.ts';
import { onLogReopen } from '../os/signals.ts';
import type { Server } from '../server.ts';
import type { FoyerConfig } from './schema.ts';

/** Where the access log goes: the setting, else standard output when it is a terminal (nginx logs by default). */
export function accessLogTarget(config: FoyerConfig, stdoutIsTty: boolean): string | undefined {
  if (config.accessLog === false) return undefined;
  return config.accessLog ?? (stdoutIsTty ? '-' : undefined);
}

export class ServingObservability {
  readonly metrics: Metrics | undefined;
  readonly accessLog: AccessLogOptions | undefined;
  readonly #pools: { stats?: PoolFigures }[] = [];
  #state: WorkerState = 'starting';
  #server: Server | undefined;
  #admin: Server | undefined;
  #stopReopen: (() => void) | undefined;
  readonly #startedAt = Date.now();

  constructor(
    readonly config: FoyerConfig,
    readonly log: Logger,
    opts: { worker?: number; stdoutIsTty: boolean },
  ) {
    const path = accessLogTarget(config, opts.stdoutIsTty);
    this.accessLog =
      path === undefined ? undefined : { path, format: config.accessLogFormat ?? 'combined', worker: opts.worker ?? 0 };
    this.metrics = config.admin === undefined ? undefined : new Metrics(opts.worker ?? 0);
    this.metrics?.observe({
      fastcgi: () => this.#pools.flatMap((p) => (p.stats === undefined ? [] : [p.stats])),
    });
  }

  /** Wraps the FastCGI middleware factory so that its pools show in metrics and status. */
  watchFastcgi<O, M extends object>(factory: (o: O) => M): (o: O) => M {
    return (o) => {
      const mw = factory(o);
      this.#pools.push(mw as { stats?: PoolFigures });
      return mw;
    };
  }

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
    if (this.config.admin !== undefined) {
      const addr = parseAdminAddress(this.config.admin);
      this.#admin = await serveAdmin(addr, this.localSources(), this.log);
    }
    this.#stopReopen = onLogReopen(() => {
      server.reopenLogs();
      this.log.info('log files reopened');
    });
    this.log.info(
      {
        ...summary,
        accessLog: this.accessLog === undefined ? 'off' : `${this.accessLog.path} (${this.accessLog.format})`,
        ...(this.#admin === undefined ? {} : { admin: this.#admin.url }),
      },
      `foyer ready on ${server.url}`,
    );
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
