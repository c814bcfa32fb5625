// The one place that listens for process signals (DESIGN: only os/ touches process-wide state).
import process from 'node:process';

export interface ShutdownHooks {
  /** First SIGINT/SIGTERM: close gracefully. Resolve when done. */
  graceful(signal: NodeJS.Signals): Promise<void>;
  /** A second signal while closing: stop now. */
  immediate(signal: NodeJS.Signals): void;
}

/** Resolves once a graceful shutdown triggered by SIGINT or SIGTERM has finished. */
export function untilShutdown(hooks: ShutdownHooks): Promise<void> {
  return new Promise<void>((done) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        hooks.immediate(signal);
        return;
      }
      closing = true;
      hooks.graceful(signal).finally(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        done();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** 128 + SIGINT: the conventional exit status after an interrupt. */
export const EXIT_INTERRUPTED = 130;

/** SIGUSR1 (logrotate's postrotate, as nginx): reopen log files. Returns a function that stops listening. */
export function onLogReopen(reopen: () => void): () => void {
  const handler = () => reopen();
  process.on('SIGUSR1', handler);
  return () => process.off('SIGUSR1', handler);
}

/**
 * SIGHUP reloads (a closed terminal or an nginx user's reflex must not kill the server), SIGUSR2 is
 * ignored with a log line; SIGUSR1 is left for the access log's reopen. Returns an uninstaller.
 */
export function onReloadSignals(
  log: { info(msg: string): void; warn(msg: string): void },
  reload: (() => void) | undefined,
): () => void {
  const hup = () => {
    if (reload !== undefined) reload();
    else log.warn('SIGHUP: reloading needs a primary (--workers N); ignored, still serving');
  };
  const usr2 = () => log.info('SIGUSR2 ignored');
  process.on('SIGHUP', hup);
  process.on('SIGUSR2', usr2);
  return () => {
    process.off('SIGHUP', hup);
    process.off('SIGUSR2', usr2);
  };
}
