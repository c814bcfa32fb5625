// What goes to STDIN, and the CONTENT_LENGTH that announces it. A body with Content-Length
// streams straight through (backpressure both ways); a chunked one is spooled first (spool.ts),
// because PHP reads a body only when it knows its length (RFC 3875 §4.1.2).
import { type SpoolOptions, spoolBody } from './spool.ts';

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

export async function prepareBody(req: Request, spool: SpoolOptions): Promise<BodySource> {
  const body = req.body;
  if (body === null) return NONE;
  const declared = req.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared)) {
    const contentLength = Number(declared);
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
