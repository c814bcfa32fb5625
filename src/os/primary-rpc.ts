// Calls from a worker process to the primary, for the state that must be one across workers
// (rate-limit counters, the default session store, summed figures). In a single process the same
// calls reach the services registered in this process directly, so callers never branch on the
// process model. Only os/ knows that the transport is node:cluster's IPC channel.
import process from 'node:process';
import cluster, { type Worker } from 'node:cluster';

/** A service the primary (or the single process) answers; `from` is the worker id, 0 in-process. */
export type PrimaryService = (payload: unknown, from: number) => unknown | Promise<unknown>;

interface CallMessage {
  foyerRpc: 'call' | 'notify';
  id: number;
  name: string;
  payload: unknown;
}
interface ReplyMessage {
  foyerRpc: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

const services = new Map<string, PrimaryService>();
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
let nextId = 1;
let listening = false;

/** How long a worker waits for the primary before the call fails (callers degrade, never hang). */
export const PRIMARY_CALL_TIMEOUT_MS = 5_000;

/** Registers `name` in this process: the primary, or the single process when there are no workers. */
export function provide(name: string, service: PrimaryService): void {
  services.set(name, service);
}

/** True in a worker process started by the primary: calls cross the IPC channel. */
export function inWorker(): boolean {
  return cluster.isWorker && typeof process.send === 'function';
}

function listenForReplies(): void {
  if (listening) return;
  listening = true;
  process.on('message', (msg: unknown) => {
    const m = msg as ReplyMessage;
    if (m === null || typeof m !== 'object' || m.foyerRpc !== 'reply') return;
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error ?? 'primary service failed'));
  });
}

async function callLocal(name: string, payload: unknown): Promise<unknown> {
  const service = services.get(name);
  if (service === undefined) throw new Error(`no primary service named ${name}`);
  return service(payload, 0);
}

/** Asks the primary's service `name`; rejects if it fails, is unknown, or does not answer in time. */
export function callPrimary<T = unknown>(name: string, payload: unknown): Promise<T> {
  if (!inWorker()) return callLocal(name, payload) as Promise<T>;
  listenForReplies();
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`primary service ${name} did not answer in ${PRIMARY_CALL_TIMEOUT_MS} ms`));
    }, PRIMARY_CALL_TIMEOUT_MS);
    timer.unref();
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
    const msg: CallMessage = { foyerRpc: 'call', id, name, payload };
    process.send?.(msg);
  });
}

/** Fire and forget: tells the primary's service `name` something; no answer, no error. */
export function notifyPrimary(name: string, payload: unknown): void {
  if (!inWorker()) {
    callLocal(name, payload).catch(() => {});
    return;
  }
  const msg: CallMessage = { foyerRpc: 'notify', id: 0, name, payload };
  process.send?.(msg);
}

/** In the primary: answers the calls `worker` makes. Call once per forked worker. */
export function serveWorker(worker: Worker): void {
  worker.on('message', (msg: unknown) => {
    const m = msg as CallMessage;
    if (m === null || typeof m !== 'object' || (m.foyerRpc !== 'call' && m.foyerRpc !== 'notify')) return;
    const service = services.get(m.name);
    const reply = (r: Omit<ReplyMessage, 'foyerRpc' | 'id'>) => {
      if (m.foyerRpc === 'notify' || !worker.isConnected()) return;
      worker.send({ foyerRpc: 'reply', id: m.id, ...r } satisfies ReplyMessage);
    };
    if (service === undefined) {
      reply({ ok: false, error: `no primary service named ${m.name}` });
      return;
    }
    Promise.resolve()
      .then(() => service(m.payload, worker.id))
      .then(
        (value) => reply({ ok: true, value }),
        (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
  });
}
