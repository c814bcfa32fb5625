// FastCGI name-value pairs (FastCGI Specification §3.4): each length is one byte when below 128,
// otherwise four bytes big-endian with the top bit set. Used for PARAMS and GET_VALUES.
import { Buffer } from 'node:buffer';

/**
 * A name-value list. A string value is written as UTF-8 (paths, which Foyer decoded); bytes are
 * written as they are (header values, which must reach PHP exactly as the client sent them).
 */
export type Params = ReadonlyArray<readonly [string, string | Uint8Array]>;

const MAX_LENGTH = 0x7fffffff;

function lengthSize(n: number): number {
  return n < 128 ? 1 : 4;
}

function writeLength(out: Buffer, at: number, n: number): number {
  if (n < 128) {
    out[at] = n;
    return at + 1;
  }
  if (n > MAX_LENGTH) throw new RangeError('name-value length exceeds 2^31-1');
  out.writeUInt32BE((n | 0x80000000) >>> 0, at);
  return at + 4;
}

/** Byte lengths of every name and value (2 per pair), and the encoded size in total. */
export function measureParams(params: Params): { lengths: number[]; size: number } {
  let size = 0;
  const lengths = new Array<number>(params.length * 2);
  for (let i = 0; i < params.length; i++) {
    const [name, value] = params[i]!;
    const nl = Buffer.byteLength(name);
    const vl = typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
    lengths[i * 2] = nl;
    lengths[i * 2 + 1] = vl;
    size += lengthSize(nl) + lengthSize(vl) + nl + vl;
  }
  return { lengths, size };
}

/** Writes the pairs measured by `measureParams` into `out` at `at`; returns the end offset. */
export function writeParams(out: Buffer, at: number, params: Params, lengths: number[]): number {
  for (let i = 0; i < params.length; i++) {
    const [name, value] = params[i]!;
    at = writeLength(out, at, lengths[i * 2]!);
    at = writeLength(out, at, lengths[i * 2 + 1]!);
    at += out.write(name, at);
    if (typeof value === 'string') at += out.write(value, at);
    else {
      out.set(value, at);
      at += value.byteLength;
    }
  }
  return at;
}

/**
 * Encodes pairs into one buffer (the PARAMS stream content, before framing into records).
 * Strings are UTF-8: CGI meta-variables are bytes (RFC 3875 §4.1) and PHP reads them as such.
 */
export function encodeParams(params: Params): Buffer {
  const { lengths, size } = measureParams(params);
  const out = Buffer.allocUnsafe(size);
  writeParams(out, 0, params, lengths);
  return out;
}

/** Decodes a complete name-value stream. Throws RangeError on truncated input. */
export function decodeParams(data: Uint8Array): Array<[string, string]> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: Array<[string, string]> = [];
  let at = 0;
  const readLength = (): number => {
    if (at >= buf.length) throw new RangeError('truncated name-value length');
    const b = buf[at]!;
    if (b < 128) {
      at += 1;
      return b;
    }
    if (at + 4 > buf.length) throw new RangeError('truncated 4-byte name-value length');
    const n = buf.readUInt32BE(at) & MAX_LENGTH;
    at += 4;
    return n;
  };
  while (at < buf.length) {
    const nl = readLength();
    const vl = readLength();
    if (at + nl + vl > buf.length) throw new RangeError('truncated name-value data');
    const name = buf.toString('utf8', at, at + nl);
    at += nl;
    const value = buf.toString('utf8', at, at + vl);
    at += vl;
    out.push([name, value]);
  }
  return out;
}
