// Observability across node:cluster workers. The primary asks each serving worker over the IPC
// channel for its metrics (prom-client's JSON form) and its status figures, and sums the metrics
// with prom-client's AggregatorRegistry.aggregate (same-named series add up). Workers still
// starting, and workers silent past the timeout, are left out: one worker being replaced must not
// take /metrics down (prom-client's own clusterMetrics() fails as a whole when any worker is
// silent for 5 s). Only os/ touches cluster.
import process from 'node:process';
import cluster, { type Worker } from 'node:cluster';
import client from 'prom-client';
import type { WorkerStatus } from '../log/status.ts';
import { workerSnapshot } from './worker-state.ts';

type Topic = 'metrics' | 'status';
interface Ask {
  foyerObserve: 'ask';
  topic: Topic;
  id: number;
}
interface Answer {
  foyerObserve: 'answer';
  id: number;
  value: unknown;
}
const REOPEN = { foyerReopenLogs: true };

/**
 * In a worker: answer the primary's metric and status requests, and reopen logs when it says so
 * (SIGUSR1 reaches the primary; a message, not a signal, reaches the workers). Call once.
 */
export function shareWorkerFigures(
  registries: client.Registry[],
  status: () => WorkerStatus,
  reopenLogs: () => void,
): void {
  if (!cluster.isWorker) return;
  process.on('message', (msg: unknown) => {
    if (msg === null || typeof msg !== 'object') return;
    if ((msg as typeof REOPEN).foyerReopenLogs === true) {
      reopenLogs();
      return;
    }
    const m = msg as Ask;
    if (m.foyerObserve !== 'ask') return;
    const reply = (value: unknown) => process.send?.({ foyerObserve: 'answer', id: m.id, value } satisfies Answer);
    if (m.topic === 'status') reply(status());
    else
      Promise.all(registries.map((r) => r.getMetricsAsJSON())).then(
        (all) => reply(all.flat()),
        () => reply([]),
      );
  });
}

/** Cluster workers past their start (their answering listener is installed by then). */
function servingWorkers(): Worker[] {
  const starting = new Set(workerSnapshot().flatMap((w) => (w.state === 'starting' ? [w.id] : [])));
  return Object.values(cluster.workers ?? {}).filter(
    (w): w is Worker => w !== undefined && w.isConnected() && !starting.has(w.id),
  );
}

let nextId = 1;

/** Asks every serving worker; resolves with the answers that came within `timeoutMs`, by worker. */
function askWorkers(topic: Topic, timeoutMs: number): Promise<{ worker: Worker; value: unknown }[]> {
  const id = nextId++;
  const workers = servingWorkers();
  return new Promise((resolve) => {
    const out: { worker: Worker; value: unknown }[] = [];
    const listeners = new Map<Worker, (msg: unknown) => void>();
    const finish = () => {
      clearTimeout(timer);
      for (const [w, l] of listeners) w.off('message', l);
      resolve(out);
    };
    const timer = setTimeout(finish, timeoutMs);
    if (workers.length === 0) return finish();
    for (const w of workers) {
      const onMessage = (msg: unknown) => {
        const m = msg as Answer;
        if (m === null || typeof m !== 'object' || m.foyerObserve !== 'answer' || m.id !== id) return;
        w.off('message', onMessage);
        listeners.delete(w);
        out.push({ worker: w, value: m.value });
        if (listeners.size === 0) finish();
      };
      listeners.set(w, onMessage);
      w.on('message', onMessage);
      try {
        w.send({ foyerObserve: 'ask', topic, id } satisfies Ask);
      } catch {
        // The worker is going away: it is left out.
      }
    }
  });
}

/** In the primary: the serving workers' metrics, summed (Prometheus text). */
export async function clusterMetrics(timeoutMs = 2000): Promise<string> {
  const answers = await askWorkers('metrics', timeoutMs);
  const registry = client.AggregatorRegistry.aggregate(
    answers.map((a) => a.value as client.MetricObjectWithValues<client.MetricValue<string>>[]),
  );
  return registry.metrics();
}

/** In the primary: each serving worker's status, by worker id; a silent worker is left out. */
export async function clusterStatus(timeoutMs = 2000): Promise<WorkerStatus[]> {
  const answers = await askWorkers('status', timeoutMs);
  return answers.map((a) => ({ ...(a.value as WorkerStatus), id: a.worker.id })).sort((a, b) => a.id - b.id);
}

/** In the primary: every connected worker reopens its log files. */
export function reopenLogsInWorkers(): number {
  let n = 0;
  for (const w of Object.values(cluster.workers ?? {})) {
    if (w?.isConnected()) {
      w.send(REOPEN);
      n++;
    }
  }
  return n;
}

/** In the primary: workers alive now. */
export function liveWorkers(): number {
  return Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected()).length;
}
