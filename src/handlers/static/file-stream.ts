// A pull-based stream over parts of an open file. The consumer's reads drive the file reads, so
// a slow client holds at most one chunk in memory (backpressure), whatever the file's size.
import { Buffer } from 'node:buffer';
import { ReadableStream } from 'node:stream/web';
import type { OpenFile } from '../../os/file-system.ts';
import type { ByteRange } from './range.ts';

/** A piece of a response body: literal bytes (multipart delimiters) or a byte range of the file. */
export type BodyPiece = Uint8Array | ByteRange;

/**
 * A ReadableStream of `pieces`. The stream owns `file` and closes it at the end, on error, and when
 * the consumer cancels (the client went away).
 */
export function fileStream(file: OpenFile, pieces: BodyPiece[], chunkSize: number): ReadableStream<Uint8Array> {
  let index = 0;
  let position = -1;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    file.close().catch(() => {});
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          // Bounded: each turn enqueues one chunk or moves to the next piece.
          while (index < pieces.length) {
            const piece = pieces[index]!;
            if (piece instanceof Uint8Array) {
              index++;
              controller.enqueue(piece);
              return;
            }
            if (position < 0) position = piece.start;
            const remaining = piece.end + 1 - position;
            if (remaining <= 0) {
              index++;
              position = -1;
              continue;
            }
            const want = Math.min(chunkSize, remaining);
            // A fresh buffer per chunk: the consumer may still hold the previous one. Unsafe
            // (not zeroed) is fine: only the bytes read are passed on.
            const buf = Buffer.allocUnsafe(want);
            const { bytesRead } = await file.read(buf, 0, want, position);
            if (bytesRead === 0) {
              // The file shrank under us: the promised Content-Length cannot be met; failing the
              // stream lets the engine abort the connection rather than send a short body.
              throw new Error('file truncated while streaming');
            }
            position += bytesRead;
            controller.enqueue(bytesRead === want ? buf : buf.subarray(0, bytesRead));
            return;
          }
          close();
          controller.close();
        } catch (err) {
          close();
          controller.error(err);
        }
      },
      cancel() {
        close();
      },
    },
    { highWaterMark: 1 },
  );
}
