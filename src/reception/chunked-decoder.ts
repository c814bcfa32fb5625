// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1). A pure state machine:
// feed it bytes, it hands out data slices and tells when the body (with trailers) is complete.
// Every quantity is bounded: chunk sizes (overflow guard), extensions, trailer section.
import type { ErrorCode } from '../util/errors.ts';
import { CHUNK_EXT, COLON, CR, FIELD_VALUE, HEX, HTAB, LF, SP, TCHAR } from './char-tables.ts';

enum S {
  Size,
  SizeBws,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerName,
  TrailerValue,
  TrailerLf,
  EndLf,
  Done,
}

export class ChunkedDecoder {
  #state = S.Size;
  #size = 0;
  #digits = 0;
  #extLen = 0;
  #trailerLen = 0;
  #total = 0;
  error: ErrorCode | undefined;

  constructor(
    private readonly maxBody: number,
    private readonly maxExt: number,
    private readonly maxTrailers: number,
  ) {}

  get done(): boolean {
    return this.#state === S.Done;
  }

  /** Bytes of body data decoded so far. */
  get total(): number {
    return this.#total;
  }

  /**
   * Consumes buf[start..end). Data slices go to onData (views into buf, not copies).
   * Returns the index where decoding stopped: `end`, or just past the body when done; -1 on error.
   */
  execute(buf: Buffer, start: number, end: number, onData: (chunk: Buffer) => void): number {
    let i = start;
    while (i < end) {
      const c = buf[i]!;
      switch (this.#state) {
        case S.Size:
          if (HEX[c] === 1) {
            // Overflow guard: refuse before the number can exceed the body limit.
            if (++this.#digits > 16) return this.#fail('FOYER_BODY_TOO_LARGE');
            this.#size = this.#size * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
            if (this.#total + this.#size > this.maxBody) return this.#fail('FOYER_BODY_TOO_LARGE');
            i++;
            continue;
          }
          if (this.#digits === 0) return this.#fail('FOYER_BAD_CHUNK');
          if (c === CR) this.#state = S.SizeLf;
          else if (c === 0x3b /* ; */) this.#state = S.Ext;
          else if (c === SP || c === HTAB) this.#state = S.SizeBws;
          else return this.#fail('FOYER_BAD_CHUNK');
          i++;
          continue;
        case S.SizeBws:
          // chunk-ext = *( BWS ";" … ): whitespace after the size must lead to an extension.
          if (c === SP || c === HTAB) i++;
          else if (c === 0x3b) {
            this.#state = S.Ext;
            i++;
          } else return this.#fail('FOYER_BAD_CHUNK');
          continue;
        case S.Ext:
          if (c === CR) this.#state = S.SizeLf;
          else if (CHUNK_EXT[c] !== 1) return this.#fail('FOYER_BAD_CHUNK');
          else if (++this.#extLen > this.maxExt) return this.#fail('FOYER_BAD_CHUNK');
          i++;
          continue;
        case S.SizeLf:
          if (c !== LF) return this.#fail('FOYER_BAD_CHUNK');
          i++;
          this.#digits = 0;
          this.#extLen = 0;
          this.#state = this.#size === 0 ? S.TrailerStart : S.Data;
          continue;
        case S.Data: {
          const n = Math.min(this.#size, end - i);
          onData(buf.subarray(i, i + n));
          this.#total += n;
          this.#size -= n;
          i += n;
          if (this.#size === 0) this.#state = S.DataCr;
          continue;
        }
        case S.DataCr:
          if (c !== CR) return this.#fail('FOYER_BAD_CHUNK');
          this.#state = S.DataLf;
          i++;
          continue;
        case S.DataLf:
          if (c !== LF) return this.#fail('FOYER_BAD_CHUNK');
          this.#state = S.Size;
          i++;
          continue;
        case S.TrailerStart:
          if (c === CR) this.#state = S.EndLf;
          else if (TCHAR[c] === 1) this.#state = S.TrailerName;
          else return this.#fail('FOYER_BAD_CHUNK'); // includes obs-fold (leading whitespace)
          break;
        case S.TrailerName:
          if (c === COLON) this.#state = S.TrailerValue;
          else if (TCHAR[c] !== 1) return this.#fail('FOYER_BAD_CHUNK');
          break;
        case S.TrailerValue:
          if (c === CR) this.#state = S.TrailerLf;
          else if (FIELD_VALUE[c] !== 1) return this.#fail('FOYER_BAD_CHUNK');
          break;
        case S.TrailerLf:
          if (c !== LF) return this.#fail('FOYER_BAD_CHUNK');
          this.#state = S.TrailerStart;
          break;
        case S.EndLf:
          if (c !== LF) return this.#fail('FOYER_BAD_CHUNK');
          this.#state = S.Done;
          return i + 1;
        case S.Done:
          return i;
      }
      // Trailer bytes (the cases that `break`) count against the trailer bound.
      if (++this.#trailerLen > this.maxTrailers) return this.#fail('FOYER_HEADERS_TOO_LARGE');
      i++;
    }
    return i;
  }

  #fail(code: ErrorCode): number {
    this.error = code;
    return -1;
  }
}
