// Finds where the next request head in a connection's input begins and ends, across reads, and
// refuses one that grows past its limits before it is complete (the parser itself then works on a
// complete head: head-parser.ts). Pure but for the time a head starts (the read's, see receivedAt).
import { indexOfByte } from '../util/byte-methods.ts';
import type { Buffer } from 'node:buffer';
import type { ErrorCode } from '../util/errors.ts';
import { CR, LF } from './char-tables.ts';
import { findHeadEnd } from './head-parser.ts';
import type { Limits } from './limits.ts';

export class HeadScan {
  readonly #limits: Limits;
  /** Bytes of the pending head already searched for its end (the search resumes there). */
  #scanned = 0;
  /** Where the head begins, past empty lines; set by every scan(). */
  start = 0;
  /** When the first byte of the pending head arrived. */
  startedAt = 0;
  /**
   * The pending input holds a head's first byte (set by every scan()). False while it holds only
   * an empty line's lone CR: RFC 9112 §2.2 lets a client send empty lines before a request line, and
   * no head has begun, so the headers deadline does not run: the idle one goes on, never restarted.
   */
  begun = false;
  /**
   * When the connection's last read arrived (Date.now(), set by the connection per read; 0: now,
   * the clock is read, as when parsing resumes after a pause). Every head that begins in a read
   * began when it arrived: pipelined heads read together share one clock read, not one each (~110
   * instructions per request).
   */
  receivedAt = 0;
  /** Why the last scan() returned -1. */
  error: ErrorCode = 'FOYER_BAD_REQUEST';

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  /**
   * Looks for a complete head in buf[pos..end): returns the index just past it, 0 when more
   * bytes are needed (input before `start` is consumed), or -1 when the head is refused (`error`).
   */
  scan(buf: Buffer, pos: number, end: number): number {
    // RFC 9112 §2.2: ignore empty lines before a request-line.
    while (pos + 1 < end && buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
    this.start = pos;
    if (pos >= end || (buf[pos] === CR && pos + 1 === end)) {
      this.begun = false;
      return 0;
    }
    this.begun = true;
    const limits = this.#limits;
    if (this.#scanned === 0) this.startedAt = this.receivedAt || Date.now();
    const he = findHeadEnd(buf, pos, pos + Math.max(0, this.#scanned - 3), end);
    if (he < 0) return this.#refuse('FOYER_BAD_REQUEST');
    if (he === 0) {
      const lineEnd = indexOfByte(buf, LF, pos);
      if ((lineEnd < 0 || lineEnd >= end) && end - pos > limits.maxRequestLineSize + 2) {
        return this.#refuse('FOYER_URI_TOO_LONG');
      }
      if (end - pos > limits.maxHeaderSize) return this.#refuse(this.#tooLarge(buf, pos, end));
      this.#scanned = end - pos;
      return 0;
    }
    if (he - pos > limits.maxHeaderSize) return this.#refuse(this.#tooLarge(buf, pos, he));
    this.#scanned = 0;
    return he;
  }

  /**
   * A head over maxHeaderSize: 414 when its request line alone is over maxRequestLineSize (RFC
   * 9112 §3, RFC 9110 §15.5.15), else 431 (RFC 6585 §5): the status names the part that is too long.
   */
  #tooLarge(buf: Buffer, pos: number, end: number): ErrorCode {
    const lf = indexOfByte(buf, LF, pos);
    const lineEnd = lf < 0 || lf >= end ? end : lf;
    // The line without its CRLF, as the parser counts it.
    return lineEnd - pos - 1 > this.#limits.maxRequestLineSize ? 'FOYER_URI_TOO_LONG' : 'FOYER_HEADERS_TOO_LARGE';
  }

  #refuse(code: ErrorCode): number {
    this.error = code;
    return -1;
  }
}
