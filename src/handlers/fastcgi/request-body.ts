// What goes to STDIN, and the CONTENT_LENGTH that announces it. By default every body is read
// whole before a php-fpm connection is taken (nginx's `fastcgi_request_buffering on`): a client
// uploading at 300 B/s must not hold a php-fpm child for the hour it takes, or four of them hold
// the pool. Small bodies stay in memory; larger ones go to a private temp file (spool.ts). Either
// way the body can be sent again on a fresh connection. With `requestBuffering: false` a large
// Content-Length body streams straight through instead (backpressure both ways); a chunked one is
// spooled all the same, because PHP reads a body only when it knows its length (RFC 3875 §4.1.2).
import type { ReadableStream } from 'node:stream/web';
import { FastCgiError } from './errors.ts';
import { type SpoolOptions, spoolBody } from './spool.ts';

/** Bodies up to this size are buffered, and replayable. */
export const BUFFERED_BODY = 64 * 1024;

export interface BodySource {
  /** CONTENT_LENGTH to announce, or undefined when the request has no body. */
  readonly contentLength: number | undefined;
  /** True when the body streams from the client (it cannot be replayed once read). */
  readonly streamed: boolean;
  /** A fresh iterable per attempt (a retry replays it), or null when there is nothing to send. */
  readonly open: (() => AsyncIterable<Uint8Array>) | null;
  /** True once bytes were taken from a body that cannot be replayed. */
  consumed(): boolean;
  /** Releases a spool; safe to call more than once. */
  dispose(): void;
}

const NONE: BodySource = {
  contentLength: undefined,
  streamed: false,
  open: null,
  consumed: () => false,
  dispose: () => {},
};

/**
 * `stream`: send large Content-Length bodies as they arrive instead of buffering them first.
 * A request without a body is answered synchronously (no promise for the common GET).
 */
export function prepareBody(req: Request, spool: SpoolOptions, stream = false): BodySource | Promise<BodySource> {
  const declared = req.headers.get('content-length');
  const contentLength = declared !== null && /^\d+$/.test(declared) ? Number(declared) : -1;
  // arrayBuffer() lets the engine hand over its buffered bytes without building a stream.
  if (contentLength >= 0 && contentLength <= BUFFERED_BODY) return buffered(req, contentLength);
  const body = req.body;
  if (body === null) return NONE;
  return streamedOrSpooled(body, contentLength, spool, stream);
}

async function streamedOrSpooled(
  body: ReadableStream<Uint8Array>,
  contentLength: number,
  spool: SpoolOptions,
  stream: boolean,
): Promise<BodySource> {
  if (contentLength >= 0 && stream) {
    let touched = false;
    return {
      contentLength,
      streamed: contentLength > 0,
      // preventCancel: a retry after a stale connection may read the same stream again.
      open:
        contentLength === 0
          ? null
          : () => ({
              async *[Symbol.asyncIterator]() {
                for await (const chunk of body.values({ preventCancel: true })) {
                  touched = true;
                  yield chunk;
                }
              },
            }),
      consumed: () => touched,
      dispose: () => {},
    };
  }
  const spooled = await spoolBody(body, spool);
  if (contentLength >= 0 && spooled.length !== contentLength) {
    await spooled.dispose();
    throw new FastCgiError('aborted', 'request body length differs from its Content-Length');
  }
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    void spooled.dispose();
  };
  return {
    contentLength: spooled.length,
    streamed: false,
    // The spool is released once the pump read all of it (or gave up).
    open:
      spooled.length === 0
        ? null
        : () => ({
            async *[Symbol.asyncIterator]() {
              try {
                yield* spooled.chunks();
              } finally {
                dispose();
              }
            },
          }),
    consumed: () => false,
    dispose,
  };
}

async function buffered(req: Request, contentLength: number): Promise<BodySource> {
  const bytes = contentLength === 0 ? new Uint8Array(0) : new Uint8Array(await req.arrayBuffer());
  const length = bytes.length;
  if (length !== contentLength)
    throw new FastCgiError('aborted', 'request body length differs from its Content-Length');
  return {
    contentLength: length,
    streamed: false,
    open:
      length === 0
        ? null
        : () => ({
            async *[Symbol.asyncIterator]() {
              yield bytes;
            },
          }),
    consumed: () => false,
    dispose: () => {},
  };
}
