// One shape for a failed task, whichever queue ran it.
import { FoyerError } from '../../util/errors.ts';
import type { TaskFailure } from './task-types.ts';

/** Structured clone keeps an error's message but not a custom name: the message says it. */
export const UNKNOWN_TASK = 'no task named ';
export const isUnknownTask = (err: unknown): boolean =>
  typeof (err as Error)?.message === 'string' && (err as Error).message.startsWith(UNKNOWN_TASK);

export function taskFailure(err: unknown, attempts: number): TaskFailure {
  const e = err as { name?: unknown; message?: unknown } | null;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(err),
    attempts,
  };
}

/** The error `run()` rejects with: the task's own message kept in `detail` and `cause` (logs, never a client). */
export function taskError(task: string, id: string, failure: TaskFailure, cause?: unknown): FoyerError {
  const code = failure.message.startsWith(UNKNOWN_TASK)
    ? 'FOYER_TASK_UNKNOWN'
    : failure.name === 'TimeoutError' // task-runner.ts: the last try ran past the timeout
      ? 'FOYER_TASK_TIMEOUT'
      : 'FOYER_TASK_FAILED';
  const err = new FoyerError(code, `task ${task} (${id}) failed after ${failure.attempts} tries: ${failure.message}`);
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, configurable: true, writable: true });
  return err;
}
