// Runs inside a task thread: one call per task. The module's named exports are the task handlers
// (Swoole's onTask); a default-exported object of functions works too.
import { loadModule } from './load-layer.ts';

export interface TaskMessage {
  module: string;
  name: string;
  payload: unknown;
}

type TaskHandler = (payload: unknown) => unknown;

export default async function runTask({ module, name, payload }: TaskMessage): Promise<unknown> {
  const mod = await loadModule(module);
  const fromDefault = (mod.default as Record<string, unknown> | undefined)?.[name];
  const handler = Object.hasOwn(mod, name) && name !== 'default' ? mod[name] : fromDefault;
  if (typeof handler !== 'function') {
    const err = new Error(`no task named ${JSON.stringify(name)} in ${module}`);
    err.name = 'FOYER_TASK_UNKNOWN';
    throw err;
  }
  return (handler as TaskHandler)(payload);
}
