// Small responses of the static handler: errors from the catalogue (through the one renderer,
// util/render-error.ts) and redirects. Nothing from the request is echoed back.
import { ReadableStream } from 'node:stream/web';
import { type ErrorCode, FoyerError, statusText } from '../../util/errors.ts';
import { errorResponse as rendered } from '../../util/render-error.ts';

const TEXT = 'text/plain; charset=utf-8';

export function errorResponse(req: Request, code: ErrorCode, headers?: Record<string, string>): Response {
  return rendered(new FoyerError(code, undefined, headers), req);
}

/** 301 to a same-origin path. `location` must come from `joinSegments`, so it never starts with `//`. */
export function redirect(location: string, status = 301): Response {
  return new Response(`${statusText(status)}\n`, {
    status,
    headers: { location, 'content-type': TEXT, 'x-content-type-options': 'nosniff' },
  });
}

export function methodNotAllowed(req: Request): Response {
  return errorResponse(req, 'FOYER_METHOD_NOT_ALLOWED', { allow: 'GET, HEAD' });
}

/**
 * The body of a HEAD answer: an empty stream, never a read of the file. A null body would do, but
 * an engine may then replace our Content-Length with 0; a stream keeps the declared length, and
 * the engine cancels it unread (RFC 9110 §9.3.2: HEAD carries the headers GET would).
 */
export function headBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.close();
    },
  });
}
