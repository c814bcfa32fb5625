// Observability across node:cluster workers. Metrics: prom-client's AggregatorRegistry (the
// primary asks every worker for its registries over the IPC channel and sums same-named series).
// Status: the same request/answer for each worker's status figures. Only os/ touches cluster.
import cluster from 'node:cluster';
import client from 'prom-client';
import type { WorkerStatus } from '../log/status.ts';

interface StatusRequest {
  foyerStatus: 'request';
  id: number;
}
interface StatusReply {
  foyerStatus: 'reply';
  id: number;
  status: WorkerStatus;
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
  client.AggregatorRegistry.setRegistries(registries);
  // The constructor installs prom-client's listener that answers the primary's requests.
  new client.AggregatorRegistry();
  process.on('message', (msg: unknown) => {
    if (msg !== null && typeof msg === 'object' && (msg as typeof REOPEN).foyerReopenLogs === true) {
      reopenLogs();
      return;
    }
    const m = msg as StatusRequest;
    if (m === null || typeof m !== 'object' || m.foyerStatus !== 'request') return;
    const reply: StatusReply = { foyerStatus: 'reply', id: m.id, status: status() };
    process.send?.(reply);
  });
}

let aggregator: client.AggregatorRegistry<client.PrometheusContentType> | undefined;

/** In the primary: every worker's metrics, summed (Prometheus text). Workers that do not answer in 5 s fail it. */
export function clusterMetrics(): Promise<string> {
  aggregator ??= new client.AggregatorRegistry();
  return aggregator.clusterMetrics();
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

let nextId = 1;

/** In the primary: each connected worker's status; a worker silent for `timeoutMs` is left out. */
export function clusterStatus(timeoutMs = 2000): Promise<WorkerStatus[]> {
  const id = nextId++;
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
  return new Promise((resolve) => {
    const out: WorkerStatus[] = [];
    let pending = workers.length;
    const listeners = new Map<number, (msg: unknown) => void>();
    const finish = () => {
      clearTimeout(timer);
      for (const w of workers) {
        const l = listeners.get(w!.id);
        if (l !== undefined) w!.off('message', l);
      }
      resolve(out.sort((a, b) => a.id - b.id));
    };
    const timer = setTimeout(finish, timeoutMs);
    if (pending === 0) {
      finish();
      return;
    }
    for (const w of workers) {
      const onMessage = (msg: unknown) => {
        const m = msg as StatusReply;
        if (m === null || typeof m !== 'object' || m.foyerStatus !== 'reply' || m.id !== id) return;
        w!.off('message', onMessage);
        listeners.delete(w!.id);
        out.push({ ...m.status, id: w!.id });
        if (--pending === 0) finish();
      };
      listeners.set(w!.id, onMessage);
      w!.on('message', onMessage);
      w!.send({ foyerStatus: 'request', id } satisfies StatusRequest);
    }
  });
}
