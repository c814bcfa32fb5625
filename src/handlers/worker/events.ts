// events(): a PSR-14-style dispatcher (seed 001). Immediate listeners run in order before
// dispatch() resolves; deferred ones run after it, off the caller's path: a function on this
// event loop (like ctx.waitUntil, but not tied to a request), or, named by a string, a task on a
// task queue (another thread, or another machine). A request can emit "user registered" and
// answer without waiting for the welcome mail.
import type { Logger } from '../../log/logger.ts';
import type { TaskQueue } from './task-types.ts';
import { FoyerConfigError } from '../../util/errors.ts';

export type Listener<P = unknown> = (payload: P, event: string) => unknown;

export interface EventsOptions {
  /** Where deferred listeners named by a string are dispatched as tasks. */
  queue?: TaskQueue;
  /** Where failures of deferred listeners are logged. */
  log?: Logger;
}

export interface Events {
  /**
   * Adds a listener. A string is the name of a task on the `queue` (always deferred; the payload
   * is the task's payload). Returns a function that removes it.
   */
  on<P = unknown>(event: string, listener: Listener<P> | string, options?: { deferred?: boolean }): () => void;
  /** Runs the immediate listeners in order (a failure rejects), then schedules the deferred ones. */
  dispatch(event: string, payload?: unknown): Promise<void>;
  /** Resolves when every deferred listener scheduled so far has finished (tests, graceful shutdown). */
  settled(): Promise<void>;
}

interface Entry {
  listener: Listener | string;
  deferred: boolean;
}

export function events(options: EventsOptions = {}): Events {
  const byEvent = new Map<string, Entry[]>();
  const running = new Set<Promise<unknown>>();

  const runDeferred = (event: string, entry: Entry, payload: unknown) => {
    const job = new Promise<unknown>((resolve) => setImmediate(resolve)).then(() =>
      typeof entry.listener === 'string'
        ? (options.queue as TaskQueue).dispatch(entry.listener, payload)
        : entry.listener(payload, event),
    );
    const tracked = job.catch((err: unknown) => options.log?.error({ err, event }, 'deferred event listener failed'));
    running.add(tracked);
    void tracked.finally(() => running.delete(tracked));
  };

  return {
    on(event, listener, { deferred = false } = {}) {
      if (typeof listener === 'string' && options.queue === undefined) {
        throw new FoyerConfigError(
          'FOYER_BAD_OPTION',
          `events(): listener "${listener}" names a task, but no queue was given`,
        );
      }
      if (typeof listener !== 'string' && typeof listener !== 'function') {
        throw new FoyerConfigError('FOYER_BAD_OPTION', 'events(): a listener is a function or a task name');
      }
      const entry: Entry = {
        listener: listener as Listener | string,
        deferred: deferred || typeof listener === 'string',
      };
      byEvent.set(event, [...(byEvent.get(event) ?? []), entry]);
      return () =>
        byEvent.set(
          event,
          (byEvent.get(event) ?? []).filter((e) => e !== entry),
        );
    },
    async dispatch(event, payload) {
      // A snapshot: listeners added or removed while dispatching apply to the next dispatch.
      const entries = byEvent.get(event) ?? [];
      for (const entry of entries) {
        if (!entry.deferred) await (entry.listener as Listener)(payload, event);
      }
      for (const entry of entries) if (entry.deferred) runDeferred(event, entry, payload);
    },
    async settled() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
