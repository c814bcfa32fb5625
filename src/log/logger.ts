// The server's own log. pino: structured, fast, and it never blocks the event loop on a TTY.
import process from 'node:process';
import { pino } from 'pino';
import { prettyDestination } from './pretty.ts';

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

/** `pretty`: human lines; `json`: one JSON object per line; `auto`: pretty on a terminal, JSON otherwise. */
export type LogFormat = 'auto' | 'pretty' | 'json';

/** The server's own log on standard error, in the format asked for. */
export function createServerLogger(level: LogLevel = 'info', format: LogFormat = 'auto'): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  return pretty ? createLogger(level, prettyDestination(process.stderr)) : createLogger(level);
}

/** A logger that drops everything: for tests and embedding. */
export const silentLogger: Logger = pino({ level: 'silent' });
