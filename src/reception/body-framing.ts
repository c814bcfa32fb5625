// Request body framing (RFC 9112 §6.3): a Content-Length count or the chunked decoder cuts the
// body of the one exchange being read out of the connection's input, and feeds it to its
// RequestBody. Flow control (pausing the socket) and deadlines stay with the connection.
import type { Buffer } from 'node:buffer';
import type { ErrorCode } from '../util/errors.ts';
import { ChunkedDecoder } from './chunked-decoder.ts';
import type { Exchange } from './exchange.ts';
import type { ParsedHead } from './head-parser.ts';
import type { InputBuffer } from './input-buffer.ts';
import type { Limits } from './limits.ts';
import { ownConcat } from './shared-reads.ts';

export class BodyFraming {
  /** The exchange whose body is being read; null between bodies. At most one at a time. */
  ex: Exchange | null = null;
  /** Why the last feed() returned -1. */
  error: ErrorCode = 'FOYER_BAD_CHUNK';
  #remaining = 0;
  #decoder: ChunkedDecoder | null = null;
  /** Scratch list for the data slices of one decoder run (see feed). */
  readonly #parts: Buffer[] = [];
  /** One callback for every decoder run: no closure per read. */
  readonly #collect = (c: Buffer): void => {
    this.#parts.push(c);
  };

  /** The head announced a body (chunked or Content-Length > 0): read it for `ex` next. */
  start(ex: Exchange, head: ParsedHead, limits: Limits): void {
    this.ex = ex;
    this.#remaining = head.contentLength;
    this.#decoder = head.chunked
      ? new ChunkedDecoder(
          limits.maxBodySize,
          limits.maxChunkExtensionSize,
          limits.maxHeaderSize,
          limits.maxChunkCount,
          limits.maxChunkExtensionsPerBody,
        )
      : null;
  }

  /**
   * Feeds buf[pos..end) to the current body; returns where its framing stopped (`end`, or just
   * past the body once complete, when `ex` becomes null), or -1 on a framing error (`error`).
   */
  feed(buf: Buffer, pos: number, end: number, input: InputBuffer): number {
    const body = this.ex!.body!;
    if (this.#decoder === null) {
      const n = Math.min(this.#remaining, end - pos);
      // An ignored body's bytes are only counted: no copy.
      const bytes = buf.subarray(pos, pos + n);
      body.push(body.discarding ? bytes : input.stable(bytes));
      this.#remaining -= n;
      pos += n;
      if (this.#remaining === 0) {
        this.stop();
        body.end();
      }
      return pos;
    }
    const d = this.#decoder;
    // Chunks decoded from one read go to the body as one buffer: a body of tiny chunks costs
    // memory in proportion to its data, not one object per chunk.
    const parts = this.#parts;
    const r = d.execute(buf, pos, end, this.#collect);
    // An ignored body's bytes are only counted (no copy); a kept one's in memory of its own, which
    // a pool slab would not be (see shared-reads.ts ownCopy).
    if (body.discarding) for (const p of parts) body.push(p);
    else if (parts.length === 1) body.push(input.stable(parts[0]!));
    else if (parts.length > 1) body.push(ownConcat(parts));
    parts.length = 0;
    if (r < 0) {
      this.error = d.error ?? 'FOYER_BAD_CHUNK';
      return -1;
    }
    if (d.done) {
      this.stop();
      body.end();
    }
    return r;
  }

  /** No body is being read any more (complete, failed, or the connection stopped reading). */
  stop(): void {
    this.ex = null;
    this.#decoder = null;
  }
}
