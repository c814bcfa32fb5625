// The client's side of an exchange: the CGI head becomes a Response (validated headers, default
// Content-Type, X-Sendfile hand-over), the body passes as bytes or as a stream held to any
// Content-Length the backend announced, and failures map to the catalogue: 502 (down, broken
// response), 503 + Retry-After (queue full, OVERLOADED), 504 (timeouts).
import { ReadableStream, TransformStream } from 'node:stream/web';
import type { Context, Middleware } from '../../types.ts';
import { FoyerError, isHttpError } from '../../util/errors.ts';
import { sealedHeaders } from '../engine-seam.ts';
import { type CgiHead, keptHeadFields } from './cgi-headers.ts';
import type { ExchangeResult } from './connection.ts';
import { FastCgiError } from './errors.ts';
import { PoolFullError } from './pool.ts';
import type { FileSystem } from '../../os/file-system.ts';
import { type SendfileTarget, sendfileResponse } from './sendfile.ts';
import { SpoolTooLargeError } from './spool.ts';

const NULL_BODY = new Set([204, 205, 304]);

/** Where X-Sendfile / X-Accel-Redirect files come from, when enabled. */
export interface SendfileConfig {
  /** Real path of the sendfile root. */
  root: string;
  serve: Middleware;
  fs: FileSystem;
}

/**
 * The kept CGI head's fields (PHP's usual head, one frozen parse that its responses share) as one
 * sealed list, made when that head changes: its responses skip the copy and check of their fields
 * and the serializer's walk over them (response-head.ts). A function of the head alone.
 */
let sealedFrom: CgiHead['headers'] | undefined;
let sealedList: Headers | undefined;

function sealedFieldsOf(given: CgiHead['headers']): Headers {
  if (given !== sealedFrom || sealedList === undefined) {
    const pairs: Array<[string, string]> = [];
    let hasType = false;
    for (const pair of given) {
      if (pair[0].toLowerCase() === 'content-type') hasType = true;
      pairs.push([pair[0], pair[1]]);
    }
    if (!hasType) pairs.push(['content-type', DEFAULT_TYPE]);
    sealedList = sealedHeaders(pairs);
    sealedFrom = given;
  }
  return sealedList;
}

/** RFC 3875 §6.3.1: a body needs a Content-Type; PHP always sends one, other apps may not. */
const DEFAULT_TYPE = 'text/html; charset=UTF-8';

/**
 * Turns the backend's head and body into the client's Response. Throws FastCgiError (→ 502).
 * Synchronous but for X-Sendfile: no promise per request where none is needed.
 */
export function toResponse(
  result: ExchangeResult,
  req: Request,
  ctx: Context,
  sendfileConfig: SendfileConfig | undefined,
): Response | Promise<Response> {
  const given = result.headers;
  const body = result.body;
  // The kept head (the common case): none of the fields the loop below looks for can be in it.
  if (
    given === keptHeadFields() &&
    body instanceof Uint8Array &&
    req.method !== 'HEAD' &&
    !NULL_BODY.has(result.status)
  )
    return new Response(body, { status: result.status, headers: sealedFieldsOf(given) });
  // A plain list (already validated by parseCgiHead): cheaper than a Headers object, and the
  // engine serialises it as is.
  const headers: Array<[string, string]> = [];
  let contentLength: number | undefined;
  let sendfile: SendfileTarget | undefined;
  let hasType = false;
  for (let i = 0; i < given.length; i++) {
    const pair = given[i]!;
    const lower = result.lower?.[i] ?? pair[0].toLowerCase();
    if (lower === 'x-sendfile' || lower === 'x-accel-redirect') {
      // Internal instructions never reach the client, processed or not.
      if (sendfileConfig !== undefined) sendfile = { header: lower, value: pair[1] };
      continue;
    }
    if (lower === 'content-length') contentLength = Number(pair[1]);
    else if (lower === 'content-type') hasType = true;
    // A Response copies its init's fields: the shared (frozen) pair itself is never changed.
    headers.push(pair as [string, string]);
  }
  if (sendfile !== undefined && sendfileConfig !== undefined) {
    void drain(body);
    return sendfileResponse(sendfile, sendfileConfig, req, ctx, new Headers(headers));
  }
  if (NULL_BODY.has(result.status)) {
    void drain(body);
    return new Response(null, { status: result.status, headers });
  }
  if (!hasType) headers.push(['content-type', DEFAULT_TYPE]);
  if (body instanceof Uint8Array) {
    // The whole response is here: a lying Content-Length is still a 502, not a broken stream.
    if (contentLength !== undefined && contentLength !== body.length) {
      throw new FastCgiError('protocol', 'backend body length differs from its Content-Length');
    }
    // PHP sends no body for HEAD: a length of 0 would misdescribe the GET (RFC 9110 §9.3.2).
    if (req.method === 'HEAD' && contentLength === undefined) {
      return new Response(emptyStream(), { status: result.status, headers });
    }
    return new Response(body, { status: result.status, headers });
  }
  const stream = contentLength === undefined ? body : enforceLength(body, contentLength);
  return new Response(stream, { status: result.status, headers });
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ start: (c) => c.close() });
}

/** Reads and drops a body so the connection stays reusable (bounded by the connection's drain cap). */
async function drain(body: ReadableStream<Uint8Array> | Uint8Array): Promise<void> {
  if (body instanceof Uint8Array) return;
  try {
    for await (const _ of body) {
      /* discard */
    }
  } catch {}
}

/** A backend that announced Content-Length must send exactly that much, or the client connection fails. */
function enforceLength(body: ReadableStream<Uint8Array>, expected: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > expected)
          controller.error(new FastCgiError('protocol', 'backend body longer than its Content-Length'));
        else controller.enqueue(chunk);
      },
      flush(controller) {
        if (seen !== expected)
          controller.error(new FastCgiError('protocol', 'backend body shorter than its Content-Length'));
      },
    }),
  );
}

/** Maps a failure to the catalogue: 502, 503 + Retry-After, 504; the client's own errors pass. */
export function mapError(err: unknown, ctx: Context, retryAfter: number): unknown {
  const retry = { 'retry-after': String(Math.ceil(retryAfter)) };
  if (err instanceof PoolFullError) {
    ctx.log.warn({ reason: err.message }, 'fastcgi: no connection available');
    return new FoyerError('FOYER_UPSTREAM_OVERLOADED', err.message, retry);
  }
  if (err instanceof SpoolTooLargeError) return new FoyerError('FOYER_BODY_TOO_LARGE', err.message);
  if (!(err instanceof FastCgiError)) return err;
  if (err.failure === 'aborted') {
    // The client went away, or its body failed (the engine's own error, e.g. 413, wins).
    const cause = err.cause;
    if (isHttpError(cause)) return cause;
    return new FoyerError('FOYER_BAD_REQUEST', err.message);
  }
  ctx.log.error({ failure: err.failure, reason: err.message }, 'fastcgi: upstream failed');
  switch (err.failure) {
    case 'timeout':
    case 'connect-timeout':
      return new FoyerError('FOYER_GATEWAY_TIMEOUT', err.message);
    case 'overloaded':
      return new FoyerError('FOYER_UPSTREAM_OVERLOADED', err.message, retry);
    default:
      return new FoyerError('FOYER_BAD_GATEWAY', err.message);
  }
}
