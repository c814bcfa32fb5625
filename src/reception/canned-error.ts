// The engine's own error answers, written as bytes: the shared rendering (util/render-error.ts)
// as a complete response for errors that have no Response to plan: a parser refusal, a handler
// that threw, a response that could not be sent. Always framed by Content-Length; HEAD gets the
// length without the body (RFC 9110 §9.3.2). Only error paths come here.
import { Buffer } from 'node:buffer';
import { statusText } from '../util/errors.ts';
import { renderError } from '../util/render-error.ts';
import { dateLine } from './http-date.ts';

export interface CannedError {
  /** Status line, headers and body, ready for the write batch. */
  text: string;
  status: number;
  /** Body bytes sent (0 for HEAD), for the access log. */
  bodyBytes: number;
}

export interface CannedOptions {
  /** The request's Accept field; undefined when there is no request to negotiate with. */
  accept?: string | null | undefined;
  /** Add `Connection: close`. */
  close: boolean;
  isHead?: boolean;
  requestId?: string | undefined;
}

export function cannedError(err: unknown, o: CannedOptions): CannedError {
  const r = renderError(err, o.accept);
  const length = Buffer.byteLength(r.body);
  let head = `HTTP/1.1 ${r.status} ${statusText(r.status)}\r\n`;
  // The renderer's headers are tokens and printable ASCII: safe to write as they are.
  for (const name in r.headers) head += `${name}: ${r.headers[name]}\r\n`;
  head += `content-length: ${length}\r\n`;
  if (o.requestId !== undefined && r.headers['x-request-id'] === undefined) head += `x-request-id: ${o.requestId}\r\n`;
  if (o.close) head += 'connection: close\r\n';
  head += `${dateLine()}\r\n`;
  const body = o.isHead === true ? '' : r.body;
  return { text: head + body, status: r.status, bodyBytes: o.isHead === true ? 0 : length };
}
