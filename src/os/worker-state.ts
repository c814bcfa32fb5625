// What the primary knows about its workers, for /status and /health (the admin listener runs in the
// primary): a snapshot of the workers, the restarts counter, and whether the server is draining.
// Written only by the primary's supervisor (worker-pool.ts); read by anyone in the primary. In the
// single-process model the snapshot is empty and draining is set during a graceful stop.

export type WorkerStateName = 'starting' | 'ready' | 'retiring';

export interface WorkerInfo {
  /** node:cluster worker id (unique for the primary's life). */
  id: number;
  pid: number;
  /** Epoch milliseconds. */
  startedAt: number;
  state: WorkerStateName;
  /** Requests this worker answered, as last reported (about once a second). */
  requests?: number;
  /** Restarts of this worker's slot after a crash. */
  restarts: number;
}

const workers = new Map<number, WorkerInfo>();
let restartCount = 0;
let drainingNow = false;

/** A copy of every live worker, oldest first. */
export function workerSnapshot(): WorkerInfo[] {
  return [...workers.values()].map((w) => ({ ...w }));
}

/** Workers replaced after an unexpected exit, since the primary started. */
export function workerRestarts(): number {
  return restartCount;
}

/** True while a shutdown or a reload is in progress. */
export function isDraining(): boolean {
  return drainingNow;
}

// ── written by the supervisor ────────────────────────────────────────────────────────────────

export function trackWorker(info: WorkerInfo): void {
  workers.set(info.id, info);
}

export function updateWorker(id: number, change: Partial<Omit<WorkerInfo, 'id'>>): void {
  const w = workers.get(id);
  if (w !== undefined) Object.assign(w, change);
}

export function forgetWorker(id: number): void {
  workers.delete(id);
}

export function countRestart(): void {
  restartCount++;
}

export function setDraining(value: boolean): void {
  drainingNow = value;
}
