// What one FastCGI exchange is given and what it hands back (exchange.ts runs it), and its tunables.
import type { ReadableStream } from 'node:stream/web';
import type { Params } from './name-value.ts';
import type { ResponseBufferOptions } from './response-buffer.ts';

// Requests are never multiplexed, so every exchange may use id 1 (§3.3 reserves 0).
export const REQUEST_ID = 1;

/** Discarded response bytes tolerated after a cancel before the connection is dropped instead. */
export const MAX_DRAIN = 1024 * 1024;
/** How long a response head may wait for the rest of a small response (see Exchange.onData). */
export const HOLD_MS = 1;
/** A response paused this long for its client goes to the overflow buffer from then on. */
export const SLOW_READER_MS = 100;
/** An exchange still running after this many ms starts watching the client's abort signal. */
export const ABORT_WATCH_MS = 20;

export interface ExchangeOptions {
  params: Params;
  /** The request body, or null when there is none. */
  body: AsyncIterable<Uint8Array> | null;
  /** Ask the backend to keep the connection open after the response (§5.1 FCGI_KEEP_CONN). */
  keepConn: boolean;
  /** Longest silence from the backend, in ms (0 = none). Paused while the client reads slowly. */
  readTimeout: number;
  /**
   * Where the client's abort signal comes from (the request's Context). Its `signal` is read
   * lazily: creating one costs more than a whole fast exchange, so it is only watched once the
   * exchange lasts longer than a few milliseconds, or streams. Aborting sends ABORT_REQUEST
   * (§5.4) and drops the connection.
   */
  abortSource?: { readonly signal: AbortSignal };
  /** The body streams from the client while it is sent: watch the client from the start. */
  bodyStreams?: boolean;
  onStderr(chunk: Uint8Array): void;
  /** Called once when the exchange is over, whatever the outcome. */
  onDone?(): void;
  /** Response bytes queued ahead of the client before the overflow (or backpressure) starts. */
  highWaterMark: number;
  /** Where the response goes when the client reads slower than PHP writes; none: backpressure. */
  responseBuffer?: ResponseBufferOptions;
  /** Largest CGI head accepted from the backend, in bytes. */
  maxHeadSize: number;
}

export interface ExchangeResult {
  status: number;
  /** Shared by every response with the same head (cgi-headers.ts): never changed. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** The names lowercased, in the same order (absent: lowercase them). */
  lower?: readonly string[];
  /**
   * The response body: bytes when the whole response came in one read, else a stream that errors
   * (never ends cleanly) if the backend fails mid-response.
   */
  body: ReadableStream<Uint8Array> | Uint8Array;
}
