// The server's own log. pino: structured, fast, and it never blocks the event loop on a TTY.
import { pino } from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    // Secrets never reach the log (see the security rules in DESIGN.md).
    redact: {
      paths: ['*.authorization', '*.cookie', '*.password', 'headers.authorization', 'headers.cookie'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything: for tests and embedding. */
export const silentLogger: Logger = pino({ level: 'silent' });
