// multipart/byteranges (RFC 9110 §14.6): several ranges in one 206 response, each part with its
// own Content-Type and Content-Range, delimited by a boundary that cannot occur in the headers.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { BodyPiece } from './file-stream.ts';
import type { ByteRange } from './range.ts';
import { contentRange } from './range.ts';

export interface Multipart {
  contentType: string;
  /** Delimiters interleaved with the ranges, in order. */
  pieces: BodyPiece[];
  length: number;
}

export function buildMultipart(ranges: readonly ByteRange[], size: number, type: string): Multipart {
  const boundary = randomBytes(12).toString('hex');
  const pieces: BodyPiece[] = [];
  let length = 0;
  ranges.forEach((r, i) => {
    // The first delimiter needs no leading CRLF (RFC 2046 §5.1.1: the CRLF belongs to the delimiter).
    const head = Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: ${contentRange(r, size)}\r\n\r\n`,
      'latin1',
    );
    pieces.push(head, r);
    length += head.byteLength + (r.end - r.start + 1);
  });
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  pieces.push(tail);
  length += tail.byteLength;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, pieces, length };
}

/** Concatenates the pieces for a file already in memory. */
export function multipartFromBuffer(parts: Multipart, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(parts.length);
  let at = 0;
  for (const p of parts.pieces) {
    const bytes = p instanceof Uint8Array ? p : data.subarray(p.start, p.end + 1);
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}
