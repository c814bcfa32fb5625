// The app boundary's side of errors: the user's error hook, logging, and the shared renderer
// (util/render-error.ts) for everything the hook does not answer. One place decides what a client
// sees for a failure: the status and a generic or explicitly exposed message, never a stack,
// never user input unescaped.
import type { Context, ErrorHandler } from '../../types.ts';
import { type HttpError, isShed, toHttpError } from '../../util/errors.ts';
import { errorResponse } from '../../util/render-error.ts';

export type { ErrorHandler };
export { toHttpError };

/** Logs the failure at a level fitting its status, with the request id the client can quote. */
export function logError(err: HttpError, original: unknown, req: Request, ctx: Context): void {
  if (isShed(err, original)) {
    // Load shed on purpose: one warning line, no stack (see ErrorSpec.shed).
    ctx.log.warn(
      {
        code: err.code,
        detail: (err as { detail?: string }).detail,
        method: req.method,
        url: req.url,
        requestId: ctx.requestId,
      },
      'request refused: overloaded',
    );
  } else if (err.status >= 500) {
    ctx.log.error(
      { err: original, code: err.code, method: req.method, url: req.url, requestId: ctx.requestId },
      'request failed',
    );
  } else {
    ctx.log.debug({ code: err.code, status: err.status, requestId: ctx.requestId }, 'request rejected');
  }
}

/** The built-in error response: text, JSON or an HTML page by the request's Accept field. */
export function defaultErrorResponse(err: unknown, req: Request): Response {
  return errorResponse(err, req);
}

/**
 * Renders an error with the user's hook when there is one. A hook that throws falls back to the
 * default response, so an error handler can never turn a 404 into a crash.
 */
export async function respondToError(
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
      ctx.log.error({ err: hookErr, requestId: ctx.requestId }, 'error handler failed');
      return errorResponse(hookErr, req);
    }
  }
  return errorResponse(err, req);
}
