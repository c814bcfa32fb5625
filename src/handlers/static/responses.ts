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
