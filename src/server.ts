// Composition root: options → listener → connections → the user's fetch handler.
import type { Logger, LogLevel } from './log/logger.ts';
import { createLogger } from './log/logger.ts';
import type { ConnectionConfig, UpgradeHandler } from './reception/connection.ts';
import { installGlobals } from './reception/globals.ts';
import { type Limits, resolveLimits } from './reception/limits.ts';
import { Listener } from './reception/listener.ts';
import type { Context, MaybePromise } from './types.ts';
import { type TrustProxyOptions, trustProxy } from './access/trust-proxy.ts';

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
  /** Listen on this inherited socket (e.g. systemd's fd 3) instead of port and host. */
  fd?: number;
  limits?: Partial<Limits>;
  logger?: Logger;
  logLevel?: LogLevel;
  /** Turns an error thrown by the handler into a response. Default: 500 without the stack. */
  onError?: (err: unknown, req: Request, ctx: Context) => MaybePromise<Response>;
  /**
   * Takes over the socket of a CONNECT request or of one with `Connection: upgrade` (e.g. a
   * WebSocket server's handleUpgrade). Without it CONNECT gets 501 and Upgrade is ignored.
   */
  upgrade?: UpgradeHandler;
  /**
   * Install Foyer's light Request/Response as the globals (as @hono/node-server does) so that
   * `new Response(…)` in handlers takes the fast path. Default true.
   */
  overrideGlobals?: boolean;
  /**
   * Proxies whose forwarding headers are believed (CIDRs, `loopback`, `private`): the client address
   * and scheme every layer sees then come from X-Forwarded-For (or `Forwarded`) and X-Forwarded-Proto.
   */
  trustProxy?: readonly string[] | TrustProxyOptions;
}

export interface Server {
  readonly address: { host: string; port: number };
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Live connections. */
  readonly connections: number;
  /**
   * Graceful: stop accepting, finish in-flight requests, close idle connections; destroy after `timeout` ms.
   * `keepIdle`: idle keep-alive connections stay for one more request (answered with `Connection: close`)
   * or until their keep-alive timeout, as a worker retiring during a reload does.
   */
  close(timeout?: number, options?: { keepIdle?: boolean }): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<Server> {
  if (typeof options?.fetch !== 'function') throw new TypeError('serve(): options.fetch must be a function');
  const limits = resolveLimits(options.limits);
  const log = options.logger ?? createLogger(options.logLevel ?? 'info');
  if (options.overrideGlobals !== false) installGlobals();
  const port = options.port ?? 8080;
  const host = options.host ?? '127.0.0.1';
  const config: ConnectionConfig = {
    limits,
    fetch: options.fetch,
    onError: options.onError,
    upgrade: options.upgrade,
    log,
    secure: options.tls !== undefined,
    resolveClient:
      options.trustProxy === undefined
        ? undefined
        : trustProxy(
            Array.isArray(options.trustProxy)
              ? { trust: options.trustProxy }
              : (options.trustProxy as TrustProxyOptions),
          ),
  };
  const listener = new Listener({
    port,
    host,
    tls:
      options.tls === undefined
        ? undefined
        : { cert: options.tls.cert, key: options.tls.key, passphrase: options.tls.passphrase },
    config,
    log,
  });
  const addr = await listener.listen(port, host, options.fd);
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${options.tls ? 'https' : 'http'}://${shownHost}:${addr.port}`;
  return {
    address: { host: addr.address, port: addr.port },
    url,
    get connections() {
      return listener.connectionCount;
    },
    close: (timeout = limits.closeTimeout, closeOptions) => listener.close(timeout, closeOptions?.keepIdle === true),
  };
}
