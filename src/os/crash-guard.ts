// An unhandled rejection or a throw in a timer of application code must not take the server down
// with every other client's request (issue: one bad `setTimeout` in an app killed the process and
// orphaned a spawned php-fpm). The error is logged loudly, with its stack, and serving goes on.
// With workers, the process model decides whether a worker that hit one is replaced.
import process from 'node:process';
import type { Logger } from '../log/logger.ts';

let installed: ((err: unknown, origin: string) => void) | undefined;

/** Logs uncaught exceptions and unhandled rejections at `fatal`/`error` instead of exiting. */
export function installCrashGuard(log: Logger): () => void {
  if (installed !== undefined) return () => {};
  const onError = (err: unknown, origin: string) => {
    try {
      log.fatal(
        { err, origin },
        origin === 'unhandledRejection'
          ? 'unhandled promise rejection in application code: serving goes on'
          : 'uncaught exception in application code: serving goes on',
      );
    } catch {
      process.stderr.write(`foyer: uncaught ${origin}: ${(err as Error)?.stack ?? String(err)}\n`);
    }
  };
  const onRejection = (reason: unknown) => onError(reason, 'unhandledRejection');
  installed = onError;
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onRejection);
    installed = undefined;
  };
}
