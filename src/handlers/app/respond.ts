// Response helpers. Each builds a plain web-standard Response with the right Content-Type, so
// anything downstream (compression, the engine, a test) treats it like any other.
import { ReadableStream } from 'node:stream/web';
import { TextEncoder } from 'node:util';

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';
// Shared by every plain json() call: Response copies its init's headers, it never keeps or edits them.
const JSON_INIT: ResponseInit = { headers: { 'content-type': JSON_TYPE } };

function withType(init: ResponseInit | undefined, type: string): ResponseInit {
  const headers = new Headers(init?.headers);
  if (!headers.has('content-type')) headers.set('content-type', type);
  return { status: init?.status ?? 200, statusText: init?.statusText, headers };
}

/** A JSON response; `status` may be given as a number or in `init`. */
export function json(data: unknown, init?: ResponseInit | number): Response {
  const body = JSON.stringify(data) ?? 'null';
  if (init === undefined) return new Response(body, JSON_INIT);
  return new Response(body, withType(typeof init === 'number' ? { status: init } : init, JSON_TYPE));
}

export function text(body: string, init?: ResponseInit | number): Response {
  if (init === undefined) return new Response(body, { headers: { 'content-type': TEXT_TYPE } });
  return new Response(body, withType(typeof init === 'number' ? { status: init } : init, TEXT_TYPE));
}

/** An HTML response. The markup is sent as given: escape user input with `escapeHtml`. */
export function html(body: string, init?: ResponseInit | number): Response {
  return new Response(body, withType(typeof init === 'number' ? { status: init } : init, HTML_TYPE));
}

/**
 * A redirect (RFC 9110 §15.4). 303 after a form post, 307/308 to keep the method. Location is a
 * URI-reference (RFC 9110 §10.2.2): characters outside ASCII are percent-encoded as UTF-8 (a
 * browser would), so none can become a CR or LF when the head is written as bytes; CR, LF, NUL
 * and lone surrogates in a location built from user input are refused.
 */
export function redirect(location: string | URL, status: 301 | 302 | 303 | 307 | 308 = 302): Response {
  let value = String(location);
  if (/[\r\n\0]/.test(value)) throw new TypeError('redirect(): the location contains CR, LF or NUL');
  if (/[^\x00-\x7f]/.test(value)) {
    try {
      value = value.replace(/[^\x00-\x7f]+/g, encodeURIComponent);
    } catch {
      throw new TypeError('redirect(): the location is not well-formed Unicode'); // a lone surrogate
    }
  }
  return new Response(null, { status, headers: { location: value } });
}

type Chunk = string | Uint8Array;

/** A streamed response from an (async) iterable of strings or bytes, or a ReadableStream. */
export function stream(source: AsyncIterable<Chunk> | Iterable<Chunk> | ReadableStream, init?: ResponseInit): Response {
  const body = source instanceof ReadableStream ? source : iterableStream(source);
  return new Response(body, withType(init, 'application/octet-stream'));
}

const encoder = new TextEncoder();

function iterableStream(source: AsyncIterable<Chunk> | Iterable<Chunk>): ReadableStream<Uint8Array> {
  const it =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<Chunk>)[Symbol.asyncIterator]()
      : (source as Iterable<Chunk>)[Symbol.iterator]();
  // Pull-based: the next chunk is produced only when the consumer (the socket) wants it, which is
  // backpressure for free; cancel() runs the generator's finally blocks when the client leaves.
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) controller.close();
      else controller.enqueue(typeof value === 'string' ? encoder.encode(value) : value);
    },
    async cancel(reason) {
      await it.return?.(reason);
    },
  });
}

/** One server-sent event (WHATWG HTML §9.2). `data` that is not a string is sent as JSON. */
export interface SseEvent {
  data?: unknown;
  event?: string;
  id?: string;
  /** Reconnection time in ms. */
  retry?: number;
  comment?: string;
}

/** Serialises one event; newlines in fields cannot inject other fields. */
export function formatSse(e: SseEvent | string): string {
  if (typeof e === 'string') return dataLines(e) + '\n';
  let out = '';
  if (e.comment !== undefined) out += `: ${oneLine(e.comment)}\n`;
  if (e.event !== undefined) out += `event: ${oneLine(e.event)}\n`;
  if (e.id !== undefined) out += `id: ${oneLine(e.id)}\n`;
  if (e.retry !== undefined) out += `retry: ${Math.max(0, Math.trunc(e.retry))}\n`;
  if (e.data !== undefined) out += dataLines(typeof e.data === 'string' ? e.data : JSON.stringify(e.data));
  return out + '\n';
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\0]/g, ' ');
}

function dataLines(s: string): string {
  let out = '';
  for (const line of s.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out;
}

/** A text/event-stream response fed by an async iterable of events. */
export function sse(events: AsyncIterable<SseEvent | string>, init?: ResponseInit): Response {
  async function* serialise(): AsyncGenerator<string> {
    for await (const e of events) yield formatSse(e);
  }
  const res = new Response(iterableStream(serialise()), withType(init, 'text/event-stream; charset=utf-8'));
  // Proxies and browsers must not cache or buffer an event stream.
  if (!res.headers.has('cache-control')) res.headers.set('cache-control', 'no-cache');
  return res;
}

/**
 * Sets a header on the way out. Responses from fetch() or Response.redirect() have immutable
 * headers; those are copied into a new Response that shares the body stream.
 */
export function setHeader(res: Response, name: string, value: string): Response {
  try {
    res.headers.set(name, value);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    copy.headers.set(name, value);
    return copy;
  }
}
