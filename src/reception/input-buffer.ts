// A connection's unparsed input. A read that holds whole requests is parsed in place; only input
// that spans reads is copied, into one accumulator the connection reuses from read to read. A read
// may be a view of the process's one read buffer (shared-reads.ts), valid only until the next read of
// any socket: what is left of it unparsed is copied by keep(), and body bytes by stable().
// Pure (no I/O, no timers): unit-tested beside it, since aliasing bugs live here.
import { Buffer } from 'node:buffer';
import { CR, LF } from './char-tables.ts';
import { isSharedRead, ownCopy } from './shared-reads.ts';

/** Accumulator capacity an idle connection may keep between requests. */
export const ACC_KEEP = 16 * 1024;
/** The first accumulator of input that spans reads: doubling from here, a head sent a byte at a time costs few copies. */
const ACC_FIRST = 4096;
/**
 * The first accumulator of input left over at the end of a read, which may wait long for the rest
 * (a slow client's head): smaller, as each such connection holds one (10,000 of them: 10 MiB).
 */
const ACC_KEPT_FIRST = 1024;

export class InputBuffer {
  /** Input not yet parsed starts at `pos`; null when everything read so far was consumed. */
  buf: Buffer | null = null;
  pos = 0;
  /** Reusable storage for input that spans reads (see #append). */
  #acc: Buffer | null = null;

  /** Adds a read: used as it is when nothing is pending, else appended to what is. */
  push(chunk: Buffer): void {
    if (this.buf === null) {
      this.buf = chunk;
      this.pos = 0;
    } else this.#append(chunk);
  }

  /**
   * Adds a read to unparsed input. The accumulator doubles when it must grow, so a head sent a
   * byte at a time costs linear copying, not quadratic (a cheap CPU amplification otherwise).
   */
  #append(chunk: Buffer): void {
    const rest = this.buf!.length - this.pos;
    const acc = this.#accumulate(rest + chunk.length, ACC_FIRST, 2);
    chunk.copy(acc, rest);
    this.buf = acc.subarray(0, rest + chunk.length);
    this.pos = 0;
  }

  /**
   * The accumulator, at least `need` bytes long, starting with the unparsed input (buf[pos..]),
   * wherever that was: in the accumulator already, or in a read.
   */
  #accumulate(need: number, least: number, growth: number): Buffer {
    const buf = this.buf!;
    const rest = buf.length - this.pos;
    let acc = this.#acc;
    if (acc === null || acc.length < need) {
      // Its own memory, never the shared pool: the aliasing checks here and in stable() compare
      // ArrayBuffers, and a pooled slice shares one with unrelated buffers (Node 24 raised
      // Buffer.poolSize to 64 KiB, so even a 4 KiB allocUnsafe comes from the pool).
      const grown = Buffer.allocUnsafeSlow(Math.max(need * growth, least));
      buf.copy(grown, 0, this.pos);
      acc = this.#acc = grown;
    } else if (buf.buffer === acc.buffer) {
      const from = buf.byteOffset - acc.byteOffset + this.pos;
      if (from > 0) acc.copyWithin(0, from, from + rest);
    } else buf.copy(acc, 0, this.pos);
    return acc;
  }

  /**
   * Called once a read was handled: unparsed input still in the shared read buffer (a head cut by
   * the read's end, requests behind a full pipeline, bytes after a paused body) is copied into the
   * accumulator before another read overwrites it.
   */
  keep(): void {
    const buf = this.buf;
    if (buf === null || !isSharedRead(buf)) return;
    const rest = buf.length - this.pos;
    // Exactly its size (at least ACC_KEPT_FIRST): what waits here only shrinks until the next read,
    // which grows the accumulator by doubling if it must.
    this.buf = this.#accumulate(rest, ACC_KEPT_FIRST, 1).subarray(0, rest);
    this.pos = 0;
  }

  /** Everything before `pos` was parsed. */
  consumed(pos: number): void {
    if (this.buf !== null && pos >= this.buf.length) {
      this.buf = null;
      // An idle keep-alive connection keeps at most a small accumulator.
      if (this.#acc !== null && this.#acc.length > ACC_KEEP) this.#acc = null;
    } else this.pos = pos;
  }

  /** Unparsed bytes held. */
  get unparsed(): number {
    return this.buf === null ? 0 : this.buf.length - this.pos;
  }

  /** Bytes handed to a request must alias neither the accumulator nor the shared read buffer: both are reused. */
  stable(b: Buffer): Buffer {
    return (this.#acc !== null && b.buffer === this.#acc.buffer) || isSharedRead(b) ? ownCopy(b) : b;
  }

  /** A copy of the unparsed bytes, for a new owner of the socket; the buffer is then empty. */
  takeRest(): Buffer {
    const rest = this.buf === null ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(this.pos));
    this.buf = null;
    return rest;
  }

  /** What can be read of the pending request line: up to its end of line, at most 1 KiB, as latin1. */
  readableLine(): string {
    const buf = this.buf;
    if (buf === null) return '';
    const pos = this.pos;
    let end = Math.min(buf.length, pos + 1024);
    const cr = buf.indexOf(CR, pos);
    if (cr >= 0 && cr < end) end = cr;
    const lf = buf.indexOf(LF, pos);
    if (lf >= 0 && lf < end) end = lf;
    return buf.toString('latin1', pos, end);
  }
}
