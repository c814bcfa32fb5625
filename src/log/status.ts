// The figures a serving process reports about itself, and their totals across workers: what the
// status page shows (nginx's stub_status figures plus a per-worker table and the FastCGI pools).
import process from 'node:process';
import type { AccessLog } from './access-log.ts';
import type { Metrics } from './metrics.ts';

export type WorkerState = 'starting' | 'serving' | 'draining' | 'stopped';

export interface PoolFigures {
  open: number;
  idle: number;
  waiting: number;
}

export interface WorkerStatus {
  /** Cluster worker id; 0 for a single process. */
  id: number;
  pid: number;
  /** ms since the epoch. */
  startedAt: number;
  state: WorkerState;
  requests: number;
  rss: number;
  heapUsed: number;
  connections: { active: number; idle: number; reading: number; accepted: number };
  fastcgi: PoolFigures[];
  accessLog: { lines: number; dropped: number } | undefined;
}

export interface StatusSnapshot {
  /** ms since the epoch when the server (the primary) started. */
  startedAt: number;
  draining: boolean;
  restarts: number;
  workers: WorkerStatus[];
}

const startedAt = Date.now();

/** This process's figures. */
export function localStatus(opts: {
  id: number;
  state: WorkerState;
  metrics: Metrics;
  accessLog?: AccessLog | undefined;
}): WorkerStatus {
  const mem = process.memoryUsage();
  const src = opts.metrics.sources;
  return {
    id: opts.id,
    pid: process.pid,
    startedAt,
    state: opts.state,
    requests: opts.metrics.requests,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    connections: src?.connections() ?? { active: 0, idle: 0, reading: 0, accepted: 0 },
    fastcgi: src?.fastcgi?.() ?? [],
    accessLog:
      opts.accessLog === undefined ? undefined : { lines: opts.accessLog.lines, dropped: opts.accessLog.dropped },
  };
}

/** nginx stub_status's figures, summed over workers. */
export function stubStatus(workers: readonly WorkerStatus[]) {
  let active = 0;
  let accepts = 0;
  let requests = 0;
  let reading = 0;
  let waiting = 0;
  for (const w of workers) {
    active += w.connections.active;
    accepts += w.connections.accepted;
    requests += w.requests;
    reading += w.connections.reading;
    waiting += w.connections.idle;
  }
  return { active, accepts, handled: accepts, requests, reading, writing: active - reading - waiting, waiting };
}
