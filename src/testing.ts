// The package's `foyer/testing` entry: call a handler, middleware chain or app in-process the way
// the engine would, with no socket, as hono's `app.request()` does. The engine's own tests run the
// same behaviour in-process and over a socket (test/app/harness.ts builds on this module).
import { ReadableStream } from 'node:stream/web';
import type { ContextInit } from './reception/context.ts';
import { createContext as engineContext } from './reception/context.ts';
import type { Context, FetchApp, Handler } from './types.ts';

export type { ContextInit } from './reception/context.ts';

/** A Context for tests: what a handler sees, plus what the engine does with it around a request. */
export interface TestContext extends Context {
  /** Resolves when every `waitUntil` task has settled (failures are logged, not thrown). */
  settled(): Promise<void>;
  /** What the engine does when the client goes away: aborts `ctx.signal`. */
  abort(reason?: unknown): void;
  readonly aborted: boolean;
}

/**
 * A fresh per-request context: client 127.0.0.1 unless `init` says otherwise (`remoteAddress`,
 * `remotePort`, `localAddress`, `localPort`, `secure`, `log`).
 */
export function createContext(init: ContextInit = {}): TestContext {
  return engineContext(init);
}

export interface TestRequestInit extends RequestInit {
  /** The context to call with (to inspect it afterwards), or how to make one. Default: a fresh one. */
  context?: Context | ContextInit;
}

/** Base for a path given without an origin, as hono's `app.request('/path')`. */
const BASE = 'http://localhost';

/**
 * Calls `app` with a Request built from `input` (a path such as `/users/1?x=y`, a URL, or a Request)
 * and `init`, and a fresh (or the given) context; returns its Response. A request body may be any
 * BodyInit, streams included.
 *
 * ```ts
 * import { request } from 'foyer/testing';
 * const res = await request(app, '/hello', { headers: { accept: 'application/json' } });
 * ```
 */
export async function request(
  app: Handler | FetchApp,
  input: string | URL | Request,
  init: TestRequestInit = {},
): Promise<Response> {
  const { context, ...requestInit } = init;
  const ctx = isContext(context) ? context : createContext(context);
  const streaming = requestInit.body instanceof ReadableStream;
  // A path is appended to the base, never resolved against it: `//x/y` stays a path, not a host.
  const url = typeof input === 'string' && input.startsWith('/') ? BASE + input : String(input);
  const req =
    input instanceof Request
      ? new Request(input, requestInit)
      : new Request(url, (streaming ? { ...requestInit, duplex: 'half' } : requestInit) as RequestInit);
  return typeof app === 'function' ? app(req, ctx) : app.fetch(req, ctx);
}

function isContext(value: Context | ContextInit | undefined): value is Context {
  return value !== undefined && typeof (value as Context).get === 'function';
}
