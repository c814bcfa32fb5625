// Copies a streamed response body to the connection's write batch with HTTP/1.1 framing
// (chunked, or by a Content-Length that must be met exactly: RFC 9112 §6.3), waiting for drain
// when the socket is full. The head is written here, once the body has shown what it is:
// - a body that is complete before the event loop turns (a Response from a string, bytes, a
//   Blob, or a stream that was ready) goes out with a Content-Length instead of chunked, as
//   node:http does for a whole body: keep-alive clients and proxies prefer it;
// - a body that fails before that (an error in pull, a chunk that is not a Uint8Array, a used or
//   locked stream) has had nothing written, so the connection can still answer 500 and go on
//   with the requests behind it (BodyFailedEarly);
// - a slow first chunk (server-sent events) does not hold the head back longer than one turn.
import { Buffer } from 'node:buffer';
import type { ReadableStreamReadResult } from 'node:stream/web';
import type { Plan } from './response-head.ts';
import type { WriteBatch } from './write-batch.ts';

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
/** A streamed body is handed to the socket at least every this many bytes. */
const STREAM_BATCH = 64 * 1024;
/** The most a body may hold before its head is decided: beyond it, it streams. */
const GATHER_MAX = 64 * 1024;
const NOT_YET = Symbol('not yet');

/** The body failed before anything of the response was written: the caller may still answer. */
export class BodyFailedEarly extends Error {
  constructor(cause: unknown) {
    super('response body failed before its first byte', { cause });
  }
}

type Read = ReadableStreamReadResult<Uint8Array>;

function check(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError('response body chunks must be Uint8Array');
  return value;
}

function writeHead(out: WriteBatch, plan: Plan, framing: string): void {
  const head =
    framing === '' ? plan.head : plan.head.slice(0, plan.framingAt) + framing + plan.head.slice(plan.framingAt);
  if (plan.headLatin1) out.bytes(Buffer.from(head, 'latin1'));
  else out.ascii(head);
}

/**
 * Resolves when the body is written (the terminator queued); rejects with BodyFailedEarly when
 * nothing was written, or with the stream's error when it fails or breaks its declared length
 * after the head left: the connection must then be closed, a truncated body must never pass for
 * a complete one.
 */
export async function pumpBody(
  plan: Plan,
  out: WriteBatch,
  isClosed: () => boolean,
  /**
   * Body bytes handed to the socket so far, for the transaction log; `cancelBody` is set while
   * the body is read, so that a connection that closes can stop a stream waiting for its source.
   */
  tally: { bytes: number; cancelBody?: (() => void) | undefined },
): Promise<void> {
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = plan.stream!.getReader();
  } catch (err) {
    throw new BodyFailedEarly(err); // locked or used
  }
  tally.cancelBody = () => {
    reader.cancel().catch(() => {});
  };
  const gathered: Uint8Array[] = [];
  let size = 0;
  let done = false;
  let pending: Promise<Read> | undefined = reader.read();
  try {
    const turn = new Promise<typeof NOT_YET>((ok) => setImmediate(ok, NOT_YET));
    for (;;) {
      const r = await Promise.race([pending!, turn]);
      if (r === NOT_YET) break;
      pending = undefined;
      if (r.done) {
        done = true;
        break;
      }
      const value = check(r.value);
      if (value.byteLength > 0) {
        gathered.push(value);
        size += value.byteLength;
      }
      if (plan.length >= 0 && size > plan.length) throw new Error('response body longer than its Content-Length');
      if (size >= GATHER_MAX) break;
      pending = reader.read();
    }
    if (done && plan.length >= 0 && size !== plan.length) {
      throw new Error('response body shorter than its Content-Length');
    }
  } catch (err) {
    reader.cancel(err).catch(() => {});
    throw new BodyFailedEarly(err);
  }
  if (isClosed()) {
    pending?.catch(() => {});
    reader.cancel().catch(() => {});
    return;
  }
  if (done) {
    // Whole: framed by its length (unless the head declares one already).
    writeHead(out, plan, plan.framingAt >= 0 ? `content-length: ${size}${CRLF}` : '');
    for (const c of gathered) out.bytes(c);
    tally.bytes = size;
    return;
  }
  const chunked = plan.chunked;
  writeHead(out, plan, plan.framingAt >= 0 && chunked ? `transfer-encoding: chunked${CRLF}` : '');
  let sent = 0;
  const put = (value: Uint8Array) => {
    sent += value.byteLength;
    tally.bytes = sent;
    if (chunked) {
      out.ascii(value.byteLength.toString(16) + CRLF);
      out.bytes(value);
      out.ascii(CRLF);
    } else out.bytes(value);
  };
  for (const c of gathered) put(c);
  // We waited one turn already: the head (and what the body had) leaves now.
  out.flush();
  try {
    for (;;) {
      if (out.needsDrain) await out.drained();
      const { done, value } = await (pending ?? reader.read());
      pending = undefined;
      if (done) break;
      if (isClosed()) return;
      check(value);
      if (value.byteLength === 0) continue;
      if (plan.length >= 0 && sent + value.byteLength > plan.length) {
        throw new Error('response body longer than its Content-Length');
      }
      put(value);
      if (out.pending >= STREAM_BATCH) {
        if (!out.flush()) await out.drained();
      } else out.flushSoon();
    }
    if (plan.length >= 0 && sent !== plan.length) throw new Error('response body shorter than its Content-Length');
    if (chunked) out.ascii(LAST_CHUNK);
  } catch (err) {
    reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    if (isClosed()) reader.cancel().catch(() => {});
  }
}
