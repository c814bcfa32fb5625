// Composition root: options → listener → connections → the user's fetch handler.
import type { Buffer } from 'node:buffer';
import { AccessLog, type AccessLogOptions, LOG_CLOSE_GRACE_MS } from './log/access-log.ts';
import type { Logger, LogLevel } from './log/logger.ts';
import type { Metrics } from './log/metrics.ts';
import { createLogger } from './log/logger.ts';
import type { ConnectionConfig, UpgradeHandler } from './reception/connection.ts';
import { installGlobals } from './reception/globals.ts';
import { type Limits, resolveLimits } from './reception/limits.ts';
import { Listener } from './reception/listener.ts';
import type { TransactionHook } from './reception/transaction.ts';
import type { Context, ErrorHandler, MaybePromise } from './types.ts';
import { type TrustProxyOptions, trustProxy } from './access/trust-proxy.ts';
import { cidrList, listHas, normaliseIp } from './access/ip-address.ts';
import { FoyerConfigError } from './util/errors.ts';

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
  /**
   * Turns an error thrown by the handler into a response; it gets an HttpError (anything else as a
   * non-exposed 500, the original as `cause`). Default: the shared rendering (util/render-error.ts).
   */
  onError?: ErrorHandler;
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
  /** Access log: a file path ('-' for standard output) or options (format, batching). Off by default. */
  accessLog?: string | AccessLogOptions;
  /** Metrics to record every request into (served by an admin listener, see `serveAdmin`). */
  metrics?: Metrics;
  /** Called once per request when it is over: after its last byte, or refused, timed out, abandoned. */
  onTransaction?: TransactionHook;
  /**
   * `X-Request-Id` on every response (default: on when a json access log is written, the format whose
   * lines carry the id). `trust(peer)`
   * says whose incoming X-Request-Id is kept (a trusted proxy's); others get a generated id.
   */
  requestId?: boolean | { header?: boolean; trust?: (peer: string) => boolean };
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
   * The access log then writes its last lines within what is left of `timeout` (2 s at least); a
   * destination that takes nothing meanwhile (a hung disk, a full pipe) is given up, its lines counted as dropped.
   * `keepIdle`: idle keep-alive connections stay for one more request (answered with `Connection: close`)
   * or until their keep-alive timeout, as a worker retiring during a reload does.
   */
  close(timeout?: number, options?: { keepIdle?: boolean }): Promise<void>;
  /** The access log, when one is written. */
  readonly accessLog: AccessLog | undefined;
  /** Reopens log files (after logrotate moved them; SIGUSR1 in the CLI). */
  reopenLogs(): void;
  /** Connections by state and accepts so far (status page, metrics). */
  connectionStates(): { active: number; idle: number; reading: number; accepted: number };
}

function trustedPeers(option: ServeOptions['trustProxy']): ((peer: string) => boolean) | undefined {
  if (option === undefined) return undefined;
  const list = cidrList(Array.isArray(option) ? option : (option as TrustProxyOptions).trust);
  return (peer) => listHas(list, normaliseIp(peer) ?? peer);
}

/**
 * The application's hook sees the request's fields as a copy: the list itself is the parser's, and
 * the connection's next head is checked against it (a field repeated byte for byte is not checked
 * again: head-parser.ts). A hook writing into it (`readonly` is only a type) would let such a field
 * through unchecked. The engine's own hooks (access log, metrics) only read it.
 */
function withOwnFields(hook: TransactionHook | undefined): TransactionHook | undefined {
  if (hook === undefined) return undefined;
  // A plain copy, so that a hook that lists or serialises the record sees all of it, as before.
  return (tx) => hook({ ...tx, fields: tx.fields.slice() });
}

function combineHooks(hooks: (TransactionHook | undefined)[]): TransactionHook | undefined {
  const list = hooks.filter((h): h is TransactionHook => h !== undefined);
  if (list.length <= 1) return list[0];
  return (tx) => {
    for (const h of list) h(tx);
  };
}

export async function serve(options: ServeOptions): Promise<Server> {
  if (typeof options?.fetch !== 'function')
    throw new FoyerConfigError('FOYER_BAD_OPTION', 'serve(): options.fetch must be a function');
  const limits = resolveLimits(options.limits);
  const log = options.logger ?? createLogger(options.logLevel ?? 'info');
  if (options.overrideGlobals !== false) installGlobals();
  const port = options.port ?? 8080;
  const host = options.host ?? '127.0.0.1';
  const accessLogOptions = typeof options.accessLog === 'string' ? { path: options.accessLog } : options.accessLog;
  const accessLog =
    accessLogOptions === undefined
      ? undefined
      : new AccessLog({
          ...accessLogOptions,
          onError:
            accessLogOptions.onError ??
            ((err) =>
              log.warn(
                { path: accessLogOptions.path, err: err.code ?? err.message },
                'access log: lines are being dropped (counted in /status); a FIFO is opened again each second, a file by SIGUSR1',
              )),
        });
  const rid = options.requestId;
  // By default the id goes out as X-Request-Id only when the log's lines carry it (json), so that a
  // client can quote an id the operator will find; combined and common lines have no id field.
  const requestIdHeader = typeof rid === 'object' ? rid.header !== false : (rid ?? accessLog?.format === 'json');
  const config: ConnectionConfig = {
    limits,
    fetch: options.fetch,
    onError: options.onError,
    upgrade: options.upgrade,
    log,
    secure: options.tls !== undefined,
    onTransaction: combineHooks([accessLog?.record, options.metrics?.record, withOwnFields(options.onTransaction)]),
    requestIdHeader,
    // A proxy trusted for the client's address is trusted for the request id it forwards.
    trustRequestId: typeof rid === 'object' && rid.trust !== undefined ? rid.trust : trustedPeers(options.trustProxy),
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
  const addr = await listener.listen(port, host, options.fd).catch(async (err: unknown) => {
    await accessLog?.close(LOG_CLOSE_GRACE_MS);
    throw err;
  });
  options.metrics?.observe({ connections: () => listener.connectionStates() });
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${options.tls ? 'https' : 'http'}://${shownHost}:${addr.port}`;
  return {
    address: { host: addr.address, port: addr.port },
    url,
    get connections() {
      return listener.connectionCount;
    },
    close: async (given = limits.closeTimeout, closeOptions) => {
      // A timer past 2^31-1 ms (Infinity included) would fire at once: that long is "no limit".
      const timeout = Math.min(given, 2 ** 31 - 1);
      const started = Date.now();
      await listener.close(timeout, closeOptions?.keepIdle === true);
      // The log gets what is left of the timeout, and never less than LOG_CLOSE_GRACE_MS: a file
      // takes its last lines in microseconds; a destination that takes nothing that long is stuck.
      const left = timeout - (Date.now() - started);
      await accessLog?.close(Number.isNaN(left) ? LOG_CLOSE_GRACE_MS : Math.max(LOG_CLOSE_GRACE_MS, left));
    },
    accessLog,
    reopenLogs: () => accessLog?.reopen(),
    connectionStates: () => listener.connectionStates(),
  };
}
