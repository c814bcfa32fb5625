// Finding out whether a response body of unknown length is already complete, without waiting
// for a streaming producer. Used by compression (one-shot vs streaming) and HEAD (Content-Length).
import { Buffer } from 'node:buffer';
import { ReadableStream } from 'node:stream/web';
import type { ReadableStreamReadResult } from 'node:stream/web';

/** Bodies up to this size are buffered and handled in one piece; larger ones stream. */
export const ONE_SHOT_MAX = 256 * 1024;

const NOT_YET = Symbol('not yet');

/**
 * A body without Content-Length may still be complete already (a Response built from a string).
 * Reads what is available without waiting for the producer: the whole body when it is done by the
 * next macrotask, otherwise a stream that replays what was read and continues.
 */
export async function peekWhole(
  body: ReadableStream<Uint8Array>,
): Promise<[Uint8Array | undefined, ReadableStream<Uint8Array>]> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  for (let size = 0; size <= ONE_SHOT_MAX; ) {
    pending = reader.read();
    const r = await Promise.race([pending, new Promise<typeof NOT_YET>((ok) => setImmediate(ok, NOT_YET))]);
    if (r === NOT_YET) break;
    pending = undefined;
    if (r.done) return [Buffer.concat(chunks), body];
    chunks.push(r.value);
    size += r.value.byteLength;
  }
  let carry = pending;
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = chunks.shift();
      if (next !== undefined) return controller.enqueue(next);
      const r = await (carry ?? reader.read());
      carry = undefined;
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return [undefined, rest];
}
