// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1). A pure state machine:
// feed it bytes, it hands out data slices and tells when the body (with trailers) is complete.
// Every quantity is bounded: chunk sizes (overflow guard), extensions, trailer section.
import type { Buffer } from 'node:buffer';
import type { ErrorCode } from '../util/errors.ts';
import { COLON, CR, FIELD_VALUE, HEX, HTAB, LF, SP, TCHAR } from './char-tables.ts';

const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)
const QDTEXT = new Uint8Array(256).map((_, c) =>
  c === HTAB || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80 ? 1 : 0,
);

enum S {
  Size,
  SizeBws,
  ExtNameStart,
  ExtName,
  ExtAfterName,
  ExtValueStart,
  ExtToken,
  ExtQuoted,
  ExtQuotedPair,
  ExtAfterValue,
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
  #chunks = 0;
  #extTotal = 0;
  error: ErrorCode | undefined;

  constructor(
    private readonly maxBody: number,
    private readonly maxExt: number,
    private readonly maxTrailers: number,
    /** Most data chunks in one body: a body's cost must follow its data, not its framing. */
    private readonly maxChunks = Number.MAX_SAFE_INTEGER,
    /** Most chunk-extension bytes over the whole body (maxExt bounds one chunk's). */
    private readonly maxExtTotal = Number.MAX_SAFE_INTEGER,
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
          else if (c === SEMI) this.#state = S.ExtNameStart;
          else if (c === SP || c === HTAB) this.#state = S.SizeBws;
          else return this.#fail('FOYER_BAD_CHUNK');
          i++;
          continue;
        case S.SizeBws:
          // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): whitespace after the
          // size must lead to an extension (RFC 9112 §7.1.1).
          if (c === SEMI) this.#state = S.ExtNameStart;
          else if (c !== SP && c !== HTAB) return this.#fail('FOYER_BAD_CHUNK');
          i++;
          continue;
        case S.SizeLf:
          if (c !== LF) return this.#fail('FOYER_BAD_CHUNK');
          i++;
          this.#digits = 0;
          this.#extLen = 0;
          if (this.#size > 0 && ++this.#chunks > this.maxChunks) return this.#fail('FOYER_TOO_MANY_CHUNKS');
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
        default:
          // Chunk extensions: parsed to the grammar, bounded, then ignored.
          if (++this.#extLen > this.maxExt || ++this.#extTotal > this.maxExtTotal) return this.#fail('FOYER_BAD_CHUNK');
          if (!this.#extension(c)) return this.#fail('FOYER_BAD_CHUNK');
          i++;
          continue;
      }
      // Trailer bytes (the cases that `break`) count against the trailer bound.
      if (++this.#trailerLen > this.maxTrailers) return this.#fail('FOYER_HEADERS_TOO_LARGE');
      i++;
    }
    return i;
  }

  /** One byte of a chunk extension; false when it breaks the grammar. */
  #extension(c: number): boolean {
    const ws = c === SP || c === HTAB;
    switch (this.#state) {
      case S.ExtNameStart:
        if (ws) return true;
        if (TCHAR[c] !== 1) return false;
        this.#state = S.ExtName;
        return true;
      case S.ExtName:
        if (TCHAR[c] === 1) return true;
        return this.#afterItem(c, true);
      case S.ExtAfterName:
        return this.#afterItem(c, true);
      case S.ExtValueStart:
        if (ws) return true;
        if (c === DQUOTE) this.#state = S.ExtQuoted;
        else if (TCHAR[c] === 1) this.#state = S.ExtToken;
        else return false;
        return true;
      case S.ExtToken:
        if (TCHAR[c] === 1) return true;
        return this.#afterItem(c, false);
      case S.ExtQuoted:
        // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)
        if (c === DQUOTE) this.#state = S.ExtAfterValue;
        else if (c === BACKSLASH) this.#state = S.ExtQuotedPair;
        else if (QDTEXT[c] !== 1) return false;
        return true;
      case S.ExtQuotedPair:
        if (QDTEXT[c] !== 1 && c !== DQUOTE && c !== BACKSLASH) return false;
        this.#state = S.ExtQuoted;
        return true;
      case S.ExtAfterValue:
        return this.#afterItem(c, false);
      default:
        return false;
    }
  }

  /** After a name or a value: whitespace, `=` (after a name), `;` or the end of the line. */
  #afterItem(c: number, afterName: boolean): boolean {
    if (c === SP || c === HTAB) {
      this.#state = afterName ? S.ExtAfterName : S.ExtAfterValue;
      return true;
    }
    if (c === CR) {
      this.#state = S.SizeLf;
      this.#extLen--; // the CR is not part of the extension
      return true;
    }
    if (c === SEMI) {
      this.#state = S.ExtNameStart;
      return true;
    }
    if (c === EQUALS && afterName) {
      this.#state = S.ExtValueStart;
      return true;
    }
    return false;
  }

  #fail(code: ErrorCode): number {
    this.error = code;
    return -1;
  }
}
