// The default error response and the error-handler hook. One place decides what a client sees
// for a failure: the status and a generic or explicitly exposed message, never a stack, never
// user input echoed into markup (plain text with nosniff, or JSON).
import type { Context, MaybePromise } from '../../types.ts';
import { HttpError, isHttpError, statusText } from '../../util/errors.ts';
import { preferredMediaType } from '../../util/negotiate.ts';

export type ErrorHandler = (err: HttpError, req: Request, ctx: Context) => MaybePromise<Response>;

const FORMATS = ['text/plain', 'application/json'] as const;

/** The HttpError in `err` or its `cause` chain (body stream errors wrap the engine's), if any. */
export function findHttpError(err: unknown): HttpError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    if (isHttpError(e) || looksLikeHttpError(e)) return e as HttpError;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps anything thrown to an HttpError; what is not one already is a 500. */
export function toHttpError(err: unknown): HttpError {
  return findHttpError(err) ?? new HttpError(500, undefined, { code: 'FOYER_INTERNAL', cause: err, expose: false });
}

/**
 * An HttpError from another copy of Foyer's modules (an app importing src/ while the CLI runs
 * dist/) fails `instanceof`; recognise it by shape so its status is not lost to a 500.
 */
function looksLikeHttpError(e: object): boolean {
  const x = e as Partial<HttpError>;
  return (
    (x.name === 'HttpError' || x.name === 'FoyerError') &&
    typeof x.status === 'number' &&
    typeof x.code === 'string' &&
    typeof x.expose === 'boolean'
  );
}

/** The client-safe message of an error. */
export function publicMessage(err: HttpError): string {
  return err.expose ? err.message : statusText(err.status) || 'Error';
}

/** Logs the failure at a level fitting its status: 5xx are the server's problem, 4xx the client's. */
export function logError(err: HttpError, original: unknown, req: Request, ctx: Context): void {
  if (err.status >= 500) {
    ctx.log.error({ err: original, code: err.code, method: req.method, url: req.url }, 'request failed');
  } else {
    ctx.log.debug({ code: err.code, status: err.status }, 'request rejected');
  }
}

/** The built-in error response: `text/plain` or JSON by the request's Accept field. */
export function defaultErrorResponse(err: HttpError, req: Request): Response {
  const status = err.status >= 400 && err.status <= 599 ? err.status : 500;
  const message = publicMessage(err);
  const headers = new Headers(err.headers);
  headers.set('x-content-type-options', 'nosniff');
  headers.set('cache-control', 'no-store');
  let body: string;
  if (preferredMediaType(req.headers.get('accept'), FORMATS) === 'application/json') {
    headers.set('content-type', 'application/json; charset=utf-8');
    body = JSON.stringify({ error: { status, code: err.code, message } });
  } else {
    headers.set('content-type', 'text/plain; charset=utf-8');
    body = `${status} ${message}\n`;
  }
  return new Response(req.method === 'HEAD' ? null : body, { status, headers });
}

/**
 * Renders an error with the user's hook when there is one. A hook that throws falls back to the
 * default response, so an error handler can never turn a 404 into a crash.
 */
export async function renderError(
  original: unknown,
  req: Request,
  ctx: Context,
  hook: ErrorHandler | undefined,
): Promise<Response> {
  const err = toHttpError(original);
  logError(err, original, req, ctx);
  if (hook !== undefined) {
    try {
      return await hook(err, req, ctx);
    } catch (hookErr) {
      ctx.log.error({ err: hookErr }, 'error handler failed');
      return defaultErrorResponse(toHttpError(hookErr), req);
    }
  }
  return defaultErrorResponse(err, req);
}
