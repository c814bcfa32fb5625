// The application interface shared by every layer: handlers take a web-standard Request and a
// Context and return a Response; middleware wrap them like PSR-15's onion (see DESIGN.md).
import type { Logger } from './log/logger.ts';
import type { HttpError } from './util/errors.ts';

/** A typed key for per-request attributes (PSR-7 request attributes). Create with `attribute()`. */
export interface AttributeKey<T> {
  readonly name: string;
  /** Phantom field so that keys of different types do not unify. */
  readonly __type?: T;
}

export function attribute<T>(name: string): AttributeKey<T> {
  return Object.freeze({ name }) as AttributeKey<T>;
}

/** Per-request context. Everything request-scoped lives here, never in module state. */
export interface Context {
  readonly remoteAddress: string;
  /** The peer's port; with trusted proxies, the port the client's forwarding hop named, or 0 when it named none. */
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** True when the request came over TLS. */
  readonly secure: boolean;
  /** This request's id: a trusted proxy's X-Request-Id, or generated; also in the access log. */
  readonly requestId: string;
  /** Aborted when the client goes away before the response is written. */
  readonly signal: AbortSignal;
  /** The server's logger (pino), bound to this request where useful. */
  readonly log: Logger;
  /** The authenticated user (set by Basic auth), shown in the access log and given to PHP as REMOTE_USER. */
  remoteUser?: string;
  /** Route parameters filled by the router, empty otherwise. */
  params: Record<string, string>;
  /** Deferred work that continues after the response; failures are logged, never lost. */
  waitUntil(promise: Promise<unknown>): void;
  get<T>(key: AttributeKey<T>): T | undefined;
  set<T>(key: AttributeKey<T>, value: T): void;
  has(key: AttributeKey<unknown>): boolean;
}

export type MaybePromise<T> = T | Promise<T>;

/** A fetch-style handler. */
export type Handler = (req: Request, ctx: Context) => MaybePromise<Response>;

/**
 * Turns an error into a response: the engine's `serve({ onError })`, an App's `onError`. It gets
 * an HttpError always (anything else thrown arrives as a non-exposed 500 with the original as
 * `cause`); `defaultErrorResponse(err, req)` is the built-in rendering to fall back on.
 */
export type ErrorHandler = (err: HttpError, req: Request, ctx: Context) => MaybePromise<Response>;

/** `next` continues down the onion; it may be called with a replacement Request. */
export type Next = (req?: Request) => Promise<Response>;

/** A PSR-15-style middleware: answer early, or call `next()` and change the response on the way out. */
export type Middleware = (req: Request, ctx: Context, next: Next) => MaybePromise<Response>;

/** Anything with a `fetch` method, such as a Hono app. */
export interface FetchApp {
  fetch(req: Request, ...rest: unknown[]): MaybePromise<Response>;
}
