// Small responses of the static handler: errors from the catalogue and redirects. Bodies are the
// catalogue's fixed text: nothing from the request is echoed back.
import type { ErrorCode } from '../../util/errors.ts';
import { errors, statusText } from '../../util/errors.ts';

const TEXT = 'text/plain; charset=utf-8';

export function errorResponse(code: ErrorCode, headers?: Record<string, string>): Response {
  const spec = errors[code];
  return new Response(`${spec.message}\n`, {
    status: spec.status,
    headers: { 'content-type': TEXT, 'x-content-type-options': 'nosniff', ...headers },
  });
}

/** 301 to a same-origin path. `location` must come from `joinSegments`, so it never starts with `//`. */
export function redirect(location: string, status = 301): Response {
  return new Response(`${statusText(status)}\n`, {
    status,
    headers: { location, 'content-type': TEXT, 'x-content-type-options': 'nosniff' },
  });
}

export function methodNotAllowed(): Response {
  return errorResponse('FOYER_METHOD_NOT_ALLOWED', { allow: 'GET, HEAD' });
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
