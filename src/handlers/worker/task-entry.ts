// Runs inside a task thread: one call per task. The module's named exports are the task handlers
// (Swoole's onTask); a default-exported object of functions works too.
import type { MessagePort } from 'node:worker_threads';
import { loadModule } from './load-layer.ts';
import { UNKNOWN_TASK } from './task-failure.ts';

export interface TaskMessage {
  module: string;
  name: string;
  payload: unknown;
  /** Told when the task starts, so that its timeout counts from there. */
  started?: MessagePort;
}

type TaskHandler = (payload: unknown) => unknown;

export default async function runTask({ module, name, payload, started }: TaskMessage): Promise<unknown> {
  const mod = await loadModule(module);
  started?.postMessage(0);
  started?.close();
  const fromDefault = (mod.default as Record<string, unknown> | undefined)?.[name];
  const handler = Object.hasOwn(mod, name) && name !== 'default' ? mod[name] : fromDefault;
  if (typeof handler !== 'function') {
    throw new Error(`${UNKNOWN_TASK}${JSON.stringify(name)} in ${module}`);
  }
  return (handler as TaskHandler)(payload);
}
