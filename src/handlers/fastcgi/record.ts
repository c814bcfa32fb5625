// FastCGI records (FastCGI Specification 1.0, §3.3): an 8-byte header, contentLength bytes of
// content, then paddingLength bytes that the receiver discards. One file per layer: this one only
// frames bytes; it knows nothing of params, streams or sockets.
import { Buffer } from 'node:buffer';

export const FCGI_VERSION_1 = 1;
export const HEADER_SIZE = 8;
/** contentLength is a 16-bit field (§3.3). */
export const MAX_CONTENT = 0xffff;

// Record types (§8).
export const BEGIN_REQUEST = 1;
export const ABORT_REQUEST = 2;
export const END_REQUEST = 3;
export const PARAMS = 4;
export const STDIN = 5;
export const STDOUT = 6;
export const STDERR = 7;
export const DATA = 8;
export const GET_VALUES = 9;
export const GET_VALUES_RESULT = 10;
export const UNKNOWN_TYPE = 11;

// Roles and flags for BEGIN_REQUEST (§5.1).
export const ROLE_RESPONDER = 1;
export const FLAG_KEEP_CONN = 1;

// protocolStatus of END_REQUEST (§5.5).
export const REQUEST_COMPLETE = 0;
export const CANT_MPX_CONN = 1;
export const OVERLOADED = 2;
export const UNKNOWN_ROLE = 3;

export interface RecordHeader {
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
}

/**
 * Padding that rounds content up to a multiple of 8: §3.3 recommends aligned records, and php-fpm
 * copies records into 8-byte aligned buffers.
 */
export function paddingFor(contentLength: number): number {
  return (8 - (contentLength & 7)) & 7;
}

/** Writes a record header at `offset` of `target` (which must have 8 bytes free). */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  type: number,
  requestId: number,
  contentLength: number,
  paddingLength: number,
): void {
  target[offset] = FCGI_VERSION_1;
  target[offset + 1] = type;
  target[offset + 2] = (requestId >> 8) & 0xff;
  target[offset + 3] = requestId & 0xff;
  target[offset + 4] = (contentLength >> 8) & 0xff;
  target[offset + 5] = contentLength & 0xff;
  target[offset + 6] = paddingLength;
  target[offset + 7] = 0;
}

/** Bytes needed to frame `length` content bytes as records of at most 65535 bytes each. */
export function framedSize(length: number): number {
  if (length === 0) return HEADER_SIZE;
  let size = 0;
  for (let left = length; left > 0; left -= MAX_CONTENT) {
    const n = Math.min(left, MAX_CONTENT);
    size += HEADER_SIZE + n + paddingFor(n);
  }
  return size;
}

/**
 * Frames `content` as one or more records of `type` into `target` at `offset`; returns the new
 * offset. Empty content writes one empty record, which ends a stream (§3.3 "stream records").
 */
export function frameInto(
  target: Buffer,
  offset: number,
  type: number,
  requestId: number,
  content: Uint8Array,
): number {
  if (content.length === 0) {
    writeHeader(target, offset, type, requestId, 0, 0);
    return offset + HEADER_SIZE;
  }
  for (let start = 0; start < content.length; start += MAX_CONTENT) {
    const n = Math.min(content.length - start, MAX_CONTENT);
    const pad = paddingFor(n);
    writeHeader(target, offset, type, requestId, n, pad);
    offset += HEADER_SIZE;
    target.set(content.subarray(start, start + n), offset);
    offset += n;
    // Padding content is unspecified (§3.3); zero it so no stale memory leaves the process.
    target.fill(0, offset, offset + pad);
    offset += pad;
  }
  return offset;
}

/** One or more records of `type` carrying `content` (empty content → one end-of-stream record). */
export function encodeRecords(type: number, requestId: number, content: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(framedSize(content.length));
  frameInto(out, 0, type, requestId, content);
  return out;
}

/** BEGIN_REQUEST for the Responder role (§5.1). */
export function encodeBeginRequest(requestId: number, keepConn: boolean): Buffer {
  const out = Buffer.allocUnsafe(BEGIN_REQUEST_SIZE);
  writeBeginRequest(out, requestId, keepConn);
  return out;
}

/** BEGIN_REQUEST's size: a header and 8 bytes of body (§5.1). */
export const BEGIN_REQUEST_SIZE = HEADER_SIZE + 8;

/** Writes BEGIN_REQUEST for the Responder role at the start of `out`. */
export function writeBeginRequest(out: Uint8Array, requestId: number, keepConn: boolean): void {
  writeHeader(out, 0, BEGIN_REQUEST, requestId, 8, 0);
  out[HEADER_SIZE] = 0;
  out[HEADER_SIZE + 1] = ROLE_RESPONDER;
  out[HEADER_SIZE + 2] = keepConn ? FLAG_KEEP_CONN : 0;
  for (let i = HEADER_SIZE + 3; i < BEGIN_REQUEST_SIZE; i++) out[i] = 0;
}

/** ABORT_REQUEST (§5.4): no content. */
export function encodeAbortRequest(requestId: number): Buffer {
  const out = Buffer.alloc(HEADER_SIZE);
  writeHeader(out, 0, ABORT_REQUEST, requestId, 0, 0);
  return out;
}

export interface EndRequestBody {
  appStatus: number;
  protocolStatus: number;
}

/** END_REQUEST body (§5.5): 4-byte appStatus, 1-byte protocolStatus, 3 reserved. */
export function decodeEndRequest(content: Uint8Array): EndRequestBody {
  if (content.length < 8) throw new RangeError('END_REQUEST body shorter than 8 bytes');
  const appStatus = ((content[0]! << 24) | (content[1]! << 16) | (content[2]! << 8) | content[3]!) >>> 0;
  return { appStatus, protocolStatus: content[4]! };
}

export function protocolStatusName(status: number): string {
  switch (status) {
    case REQUEST_COMPLETE:
      return 'REQUEST_COMPLETE';
    case CANT_MPX_CONN:
      return 'CANT_MPX_CONN';
    case OVERLOADED:
      return 'OVERLOADED';
    case UNKNOWN_ROLE:
      return 'UNKNOWN_ROLE';
    default:
      return `status ${status}`;
  }
}
