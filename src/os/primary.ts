// The primary of the hybrid process model (DESIGN.md, seed 003): it binds the listeners (node:cluster
// workers listen through it, so ports < 1024 work after they dropped root), supervises the workers,
// reloads them on SIGHUP (or a file change with --watch) and stops them on SIGTERM/SIGINT. It runs
// no application code. The configuration side (what to re-read, which environment each worker gets,
// what to stop at the end) comes from the caller.
import process from 'node:process';
import cluster from 'node:cluster';
import type { Logger } from '../log/logger.ts';
import { watchPaths } from './file-watch.ts';
import { writePidFile } from './pid-file.ts';
import { EXIT_INTERRUPTED, onReloadSignals, untilShutdown } from './signals.ts';
import { WorkerPool } from './worker-pool.ts';

export interface PrimaryPlan {
  workers: number;
  shutdownTimeout: number;
}

export interface PrimaryOptions {
  log: Logger;
  plan: PrimaryPlan;
  /** Round-robin (the primary accepts and deals connections) or shared (workers accept). */
  balance: 'round-robin' | 'shared';
  /** Environment for each new worker (php-fpm address, inherited socket …). */
  env: () => Record<string, string>;
  /** Re-reads the configuration for a reload; throws (old workers kept) when it is invalid. */
  reread: () => Promise<PrimaryPlan>;
  pidFile?: string;
  /** Paths whose changes reload the workers. */
  watch?: string[];
  /** Called once the first workers are ready, with the URL they listen on. */
  onReady: (url: string) => void;
  /** Last step of a stop, after every worker exited (php-fpm, shared services). */
  onStopped: () => Promise<void>;
}

/** Runs until a graceful stop has finished; returns the exit code. */
export async function runPrimary(o: PrimaryOptions): Promise<number> {
  // Must be set before the first fork; node:cluster reads it once.
  cluster.schedulingPolicy = o.balance === 'shared' ? cluster.SCHED_NONE : cluster.SCHED_RR;
  // Workers run the same command line; their stdout is ours (the ready line is printed here only).
  cluster.setupPrimary({ silent: false });
  let plan = o.plan;
  const pool = new WorkerPool({
    size: plan.workers,
    log: o.log,
    env: o.env,
    get shutdownTimeout() {
      return plan.shutdownTimeout;
    },
  });
  const removePid = o.pidFile === undefined ? undefined : writePidFile(o.pidFile);
  let started = false;
  let stopping = false;
  let reloading: Promise<void> | undefined;
  let again = false;
  // Installed first: a SIGHUP while the first workers start must not kill the primary.
  const offSignals = onReloadSignals(o.log, () => reload('SIGHUP'));
  try {
    await pool.start();
  } catch (err) {
    offSignals();
    removePid?.();
    await o.onStopped();
    throw err;
  }
  started = true;
  const stopWatching =
    o.watch === undefined || o.watch.length === 0
      ? undefined
      : watchPaths(o.watch, (changed) => {
          o.log.info(`changed: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ' …' : ''}; reloading`);
          reload('files changed');
        });
  // Installed before the ready line: a SIGTERM sent as soon as it is read must find the handler.
  const stopped = untilShutdown({
    graceful: async (signal) => {
      stopping = true;
      o.log.info({ signal, deadlineMs: plan.shutdownTimeout }, 'stopping: workers finish their requests');
      stopWatching?.();
      await pool.stop();
    },
    immediate: () => {
      pool.kill();
      removePid?.();
      process.exit(EXIT_INTERRUPTED);
    },
  });
  // The caller prints the ready line and the one startup summary (workers, pid included).
  o.onReady(pool.url);
  if (again) {
    again = false;
    reload('SIGHUP during the start');
  }

  function reload(why: string): void {
    if (stopping) return;
    if (!started || reloading !== undefined) {
      again = true;
      return;
    }
    o.log.info({ why }, 'reloading: starting new workers');
    reloading = (async () => {
      try {
        plan = await o.reread();
        await pool.reload(plan.workers);
        if (!stopping) o.log.info({ workers: plan.workers }, 'reload done: new workers serving, old ones retired');
      } catch (err) {
        o.log.error({ err: (err as Error).message }, 'reload failed; the old workers keep serving');
      }
    })().finally(() => {
      reloading = undefined;
      if (again) {
        again = false;
        reload('asked again during the reload');
      }
    });
  }
  await stopped;
  offSignals();
  await o.onStopped();
  removePid?.();
  return 0;
}
