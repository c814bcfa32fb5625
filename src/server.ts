// Composition root: options → listener → connections → the user's fetch handler.
// (Being written: the engine lands in src/reception/.)
import type { Logger, LogLevel } from './log/logger.ts';
import type { Limits } from './reception/limits.ts';
import type { Context, MaybePromise } from './types.ts';

export interface TlsOptions {
  /** PEM certificate chain (contents, not a path). */
  cert: string | Buffer;
  /** PEM private key (contents, not a path). */
  key: string | Buffer;
  passphrase?: string;
}

export interface ServeOptions {
  /** The application: a fetch-style handler. */
  fetch: (req: Request, ctx: Context) => MaybePromise<Response>;
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  tls?: TlsOptions;
  limits?: Partial<Limits>;
  logger?: Logger;
  logLevel?: LogLevel;
  /** Turns an error thrown by the handler into a response. Default: 500 without the stack. */
  onError?: (err: unknown, req: Request, ctx: Context) => MaybePromise<Response>;
}

export interface Server {
  readonly address: { host: string; port: number };
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Graceful: stop accepting, finish in-flight requests, close idle connections; destroy after `timeout` ms. */
  close(timeout?: number): Promise<void>;
}

export declare function serve(options: ServeOptions): Promise<Server>;
