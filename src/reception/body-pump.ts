// Copies a streamed response body to the connection's write batch with HTTP/1.1 framing
// (chunked, or by a declared Content-Length that must be met exactly: RFC 9112 §6.3), waiting
// for drain when the socket is full.
import type { Plan } from './response-head.ts';
import type { WriteBatch } from './write-batch.ts';

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
/** A streamed body is handed to the socket at least every this many bytes. */
const STREAM_BATCH = 64 * 1024;

/**
 * Resolves when the body is written (the terminator queued); rejects when the stream fails or
 * breaks its declared length, and the connection must then be closed: a truncated body must
 * never pass for a complete one.
 */
export async function pumpBody(
  plan: Plan,
  out: WriteBatch,
  isClosed: () => boolean,
  tally: { bytes: number },
): Promise<void> {
  const reader = plan.stream!.getReader();
  let sent = 0;
  // The head waits for the first chunk only until the event loop turns: a body that is ready
  // (a file, a buffered FastCGI reply) leaves with its head in one write; a slow first chunk
  // (server-sent events) does not hold the head back.
  out.flushSoon();
  try {
    for (;;) {
      if (out.needsDrain) await out.drained();
      const { done, value } = await reader.read();
      if (done) break;
      if (isClosed()) return;
      if (!(value instanceof Uint8Array)) throw new TypeError('response body chunks must be Uint8Array');
      if (value.byteLength === 0) continue;
      if (plan.length >= 0 && sent + value.byteLength > plan.length) {
        throw new Error('response body longer than its Content-Length');
      }
      sent += value.byteLength;
      tally.bytes = sent;
      if (plan.chunked) {
        out.text(value.byteLength.toString(16) + CRLF);
        out.bytes(value);
        out.text(CRLF);
      } else out.bytes(value);
      if (out.pending >= STREAM_BATCH) {
        if (!out.flush()) await out.drained();
      } else out.flushSoon();
    }
    if (plan.length >= 0 && sent !== plan.length) throw new Error('response body shorter than its Content-Length');
    if (plan.chunked) out.text(LAST_CHUNK);
  } catch (err) {
    reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    if (isClosed()) reader.cancel().catch(() => {});
  }
}
