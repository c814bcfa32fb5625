// Serialises one FastCGI request (FastCGI Specification §5.1–§5.3, §6.2): BEGIN_REQUEST, the
// PARAMS stream closed by an empty record, then the STDIN stream closed by an empty record.
// The head goes out as one buffer (one write, one syscall); STDIN is framed per chunk as the
// request body arrives so that a large upload never sits in memory.
import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import type { Params } from './name-value.ts';
import { encodeParams, measureParams, writeParams } from './name-value.ts';
import {
  BEGIN_REQUEST_SIZE,
  framedSize,
  frameInto,
  HEADER_SIZE,
  MAX_CONTENT,
  paddingFor,
  PARAMS,
  STDIN,
  writeBeginRequest,
  writeHeader,
} from './record.ts';

/**
 * BEGIN_REQUEST + PARAMS + empty PARAMS, and the empty STDIN too when the request has no body
 * (php-fpm waits for the end of STDIN before it runs the script).
 */
export function encodeRequestHead(requestId: number, keepConn: boolean, params: Params, noBody: boolean): Buffer {
  const { lengths, size: paramsSize } = measureParams(params);
  if (paramsSize > 0 && paramsSize <= MAX_CONTENT) {
    // The usual case: one PARAMS record, written in place (one allocation per request).
    const pad = paddingFor(paramsSize);
    const out = Buffer.allocUnsafe(
      BEGIN_REQUEST_SIZE + HEADER_SIZE + paramsSize + pad + HEADER_SIZE + (noBody ? HEADER_SIZE : 0),
    );
    writeBeginRequest(out, requestId, keepConn);
    writeHeader(out, BEGIN_REQUEST_SIZE, PARAMS, requestId, paramsSize, pad);
    let at = writeParams(out, BEGIN_REQUEST_SIZE + HEADER_SIZE, params, lengths);
    out.fill(0, at, at + pad);
    at += pad;
    writeHeader(out, at, PARAMS, requestId, 0, 0);
    if (noBody) writeHeader(out, at + HEADER_SIZE, STDIN, requestId, 0, 0);
    return out;
  }
  const content = encodeParams(params);
  const size =
    BEGIN_REQUEST_SIZE +
    framedSize(content.length) +
    (content.length > 0 ? HEADER_SIZE : 0) +
    (noBody ? HEADER_SIZE : 0);
  const out = Buffer.allocUnsafe(size);
  writeBeginRequest(out, requestId, keepConn);
  let at = frameInto(out, BEGIN_REQUEST_SIZE, PARAMS, requestId, content);
  if (content.length > 0) {
    writeHeader(out, at, PARAMS, requestId, 0, 0);
    at += HEADER_SIZE;
  }
  if (noBody) {
    writeHeader(out, at, STDIN, requestId, 0, 0);
    at += HEADER_SIZE;
  }
  return out;
}

/** STDIN records for one body chunk (never empty: an empty record would end the stream). */
export function encodeStdinChunk(requestId: number, chunk: Uint8Array): Buffer {
  if (chunk.length === 0) throw new RangeError('empty STDIN chunk would end the stream');
  const out = Buffer.allocUnsafe(framedSize(chunk.length));
  frameInto(out, 0, STDIN, requestId, chunk);
  return out;
}

/** The empty STDIN record that ends the request body. */
export function encodeStdinEnd(requestId: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(out, 0, STDIN, requestId, 0, 0);
  return out;
}

/** Where the writer puts bytes: a socket, or a test double. `write` returns false when full. */
export interface ByteSink {
  write(data: Uint8Array): boolean;
  /** Resolves when the sink drained after `write` returned false; rejects if it closed. */
  drained(): Promise<void>;
}

/**
 * A ByteSink over a socket. `drained()` rejects when the socket closes, when `gone()` turns true,
 * or after `stallTimeout` ms without a drain (then `onStall` runs first): a backend that stops
 * reading the body must not hold the request forever.
 */
export function socketSink(socket: Duplex, stallTimeout: number, gone: () => boolean, onStall: () => void): ByteSink {
  return {
    write: (data) => socket.write(data),
    drained: () =>
      new Promise<void>((ok, ko) => {
        if (gone()) return ko(new Error('connection closed'));
        const timer =
          stallTimeout > 0
            ? setTimeout(() => {
                cleanup();
                onStall();
                ko(new Error('send timeout'));
              }, stallTimeout)
            : undefined;
        const cleanup = (): void => {
          if (timer) clearTimeout(timer);
          socket.off('drain', done);
          socket.off('close', done);
        };
        const done = (): void => {
          cleanup();
          if (gone()) ko(new Error('connection closed'));
          else ok();
        };
        socket.on('drain', done);
        socket.on('close', done);
      }),
  };
}

/**
 * Pumps a request body into STDIN records with backpressure both ways: the body is read only as
 * fast as the backend socket drains. Returns the number of body bytes sent. STDIN is not ended
 * here: the caller sends the end record once the whole body went out.
 */
export async function pumpStdin(
  requestId: number,
  body: AsyncIterable<Uint8Array>,
  sink: ByteSink,
  signal?: AbortSignal,
): Promise<number> {
  let sent = 0;
  for await (const chunk of body) {
    signal?.throwIfAborted();
    if (chunk.length === 0) continue;
    // Large chunks become several records; cap each write near one record so the socket's
    // buffer, not ours, holds the backlog.
    for (let start = 0; start < chunk.length; start += MAX_CONTENT) {
      const part = chunk.subarray(start, Math.min(chunk.length, start + MAX_CONTENT));
      if (!sink.write(encodeStdinChunk(requestId, part))) await sink.drained();
    }
    sent += chunk.length;
  }
  return sent;
}

export interface StdinOptions {
  /** Longest wait for the socket to drain, ms (0 = none); then `onStall` and a rejection. */
  stallTimeout: number;
  /** The exchange is over or its connection closed: stop. */
  gone(): boolean;
  signal: AbortSignal | undefined;
  /** Called before each write (some of the request reached the socket). */
  onWrite(): void;
  onStall(): void;
}

/**
 * Sends a request body as STDIN records, then the empty record that ends it. Resolves true once
 * that end is written, false when the exchange went away meanwhile; rejects if the body failed.
 */
export async function sendStdin(
  requestId: number,
  socket: Duplex,
  body: AsyncIterable<Uint8Array>,
  o: StdinOptions,
): Promise<boolean> {
  const sink = socketSink(socket, o.stallTimeout, o.gone, o.onStall);
  const write = sink.write;
  sink.write = (data) => {
    o.onWrite();
    return write(data);
  };
  await pumpStdin(requestId, body, sink, o.signal);
  if (o.gone()) return false;
  socket.write(encodeStdinEnd(requestId));
  return true;
}
