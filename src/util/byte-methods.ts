// Buffer's byte methods called through saved references, for the per-request paths. On Node 20
// (V8 11.3) TurboFan does not inline a method load on a typed array: `buf.indexOf(…)` calls the
// LoadIC builtin (about 70 instructions in callgrind) before the method itself, at every call. A
// method saved once is a constant call target; newer Node lines inline both forms.
import { Buffer } from 'node:buffer';

interface ByteMethods {
  indexOf(this: Uint8Array, byte: number, from: number): number;
  latin1Slice(this: Uint8Array, start: number, end: number): string;
  latin1Write(this: Uint8Array, text: string, offset: number, length: number): number;
  utf8Write(this: Uint8Array, text: string, offset: number, length: number): number;
}

// latin1Slice, latin1Write and utf8Write are Buffer's own (undocumented, present on every line
// from 20 to 26): the encoders without `write`'s and `toString`'s argument and encoding checks.
const { indexOf, latin1Slice, latin1Write, utf8Write } = Buffer.prototype as unknown as ByteMethods;

/** The index of the first `byte` in buf at or after `from`, or -1. */
export function indexOfByte(buf: Uint8Array, byte: number, from: number): number {
  return indexOf.call(buf, byte, from);
}

/** buf[start..end) as a string, one char per byte. */
export function latin1Text(buf: Uint8Array, start: number, end: number): string {
  return latin1Slice.call(buf, start, end);
}

/** Writes `text` at `offset`, one byte per char (the low byte); returns the bytes written. */
export function writeLatin1(buf: Uint8Array, text: string, offset: number): number {
  return latin1Write.call(buf, text, offset, buf.length - offset);
}

/** Writes `text` at `offset` as UTF-8; returns the bytes written (never a partial character). */
export function writeUtf8(buf: Uint8Array, text: string, offset: number): number {
  return utf8Write.call(buf, text, offset, buf.length - offset);
}
