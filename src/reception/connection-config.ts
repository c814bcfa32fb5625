// What a connection is configured with: the handlers it calls and the engine's limits.
import type { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.ts';
import type { Context, ErrorHandler, MaybePromise } from '../types.ts';
import type { ClientInfo } from './context.ts';
import type { Limits } from './limits.ts';
import type { TransactionHook } from './transaction.ts';

export type FetchHandler = (req: Request, ctx: Context) => MaybePromise<Response>;
export type { ErrorHandler };

/**
 * Takes over the socket for a CONNECT request or a request with `Connection: upgrade` (WebSocket,
 * h2c …). `head` holds bytes already read past the request head. From then on the engine no
 * longer reads, writes or times the socket. The engine never read `socket.remoteAddress` (see
 * util/peer-name.ts): read it while the socket is open (after close it is undefined, as with
 * node:http), or keep it on the handler's first call.
 */
export type UpgradeHandler = (req: Request, socket: Socket, head: Buffer) => void;

export interface ConnectionConfig {
  limits: Limits;
  fetch: FetchHandler;
  onError: ErrorHandler | undefined;
  upgrade?: UpgradeHandler | undefined;
  log: Logger;
  secure: boolean;
  /** Told once about every request when it is over (access log, metrics). */
  onTransaction?: TransactionHook | undefined;
  /** Send `X-Request-Id` on every response. */
  requestIdHeader?: boolean | undefined;
  /** Whether to keep the X-Request-Id a peer sent (a trusted proxy); default never. */
  trustRequestId?: ((peer: string) => boolean) | undefined;
  /** Decides the client's address and scheme from the peer and the request's header pairs (trusted proxies). */
  resolveClient?: ((peer: string, secure: boolean, headers: readonly string[]) => ClientInfo) | undefined;
}
