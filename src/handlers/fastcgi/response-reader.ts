// Reads one FastCGI response (FastCGI Specification §5.3, §5.5, §6.2): STDOUT carries the CGI
// head then the body, STDERR carries diagnostics, END_REQUEST ends it with appStatus and a
// protocolStatus. The head is held in a bounded buffer; body bytes pass straight through.
import { Buffer } from 'node:buffer';
import type { CgiHead } from './cgi-headers.ts';
import { CgiHeaderError, findHeadEnd, parseCgiHead } from './cgi-headers.ts';
import { FastCgiProtocolError, type RecordSink } from './record-decoder.ts';
import { decodeEndRequest, END_REQUEST, GET_VALUES_RESULT, STDERR, UNKNOWN_TYPE } from './record.ts';
import { asBuffer } from '../../util/as-buffer.ts';

/** Shared, never written: the head collected so far is empty (no Buffer per request for it). */
const NO_HEAD_YET = Buffer.alloc(0);

export interface ResponseEvents {
  onHead(head: CgiHead): void;
  onBody(chunk: Uint8Array): void;
  onStderr(chunk: Uint8Array): void;
  onEnd(appStatus: number, protocolStatus: number): void;
  /** A malformed response (bad record, bad head): the connection cannot be trusted any more. */
  onError(err: Error): void;
}

export class ResponseReader implements RecordSink {
  readonly #requestId: number;
  readonly #events: ResponseEvents;
  readonly #maxHeadSize: number;
  #head: Buffer | undefined = NO_HEAD_YET;
  #headScanned = 0;
  #ended = false;
  #failed = false;
  /** STDOUT bytes received, head included (for "nothing received yet" retry decisions). */
  stdoutBytes = 0;

  constructor(requestId: number, events: ResponseEvents, maxHeadSize: number) {
    this.#requestId = requestId;
    this.#events = events;
    this.#maxHeadSize = maxHeadSize;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get headReceived(): boolean {
    return this.#head === undefined;
  }

  onStream(type: number, requestId: number, fragment: Uint8Array): void {
    if (this.#failed) return;
    if (requestId !== this.#requestId) {
      this.#fail(new FastCgiProtocolError('record for another request id'));
      return;
    }
    if (this.#ended) {
      this.#fail(new FastCgiProtocolError('stream record after END_REQUEST'));
      return;
    }
    if (type === STDERR) {
      if (fragment.length > 0) this.#events.onStderr(fragment);
      return;
    }
    // STDOUT
    if (fragment.length === 0) return; // end of STDOUT; END_REQUEST follows
    this.stdoutBytes += fragment.length;
    if (this.#head === undefined) {
      this.#events.onBody(fragment);
      return;
    }
    this.#collectHead(fragment);
  }

  onRecord(type: number, requestId: number, content: Uint8Array): void {
    if (this.#failed) return;
    if (requestId === 0) {
      // Management records (§4): php-fpm only sends these in answer to GET_VALUES; ignore them.
      if (type === GET_VALUES_RESULT || type === UNKNOWN_TYPE) return;
    }
    if (requestId !== this.#requestId) {
      this.#fail(new FastCgiProtocolError('record for another request id'));
      return;
    }
    if (type !== END_REQUEST) {
      this.#fail(new FastCgiProtocolError(`unexpected record type ${type}`));
      return;
    }
    if (this.#ended) {
      this.#fail(new FastCgiProtocolError('second END_REQUEST'));
      return;
    }
    let end: { appStatus: number; protocolStatus: number };
    try {
      end = decodeEndRequest(content);
    } catch (err) {
      this.#fail(new FastCgiProtocolError((err as Error).message));
      return;
    }
    this.#ended = true;
    if (this.#head !== undefined && end.protocolStatus === 0) {
      // The script ended before the empty line: treat what came as the head (RFC 3875 §6.2 needs
      // at least one header field, so an empty output is invalid).
      const head = this.#head;
      this.#head = undefined;
      if (head.length === 0) {
        this.#fail(new CgiHeaderError('empty response from backend'));
        return;
      }
      try {
        this.#events.onHead(parseCgiHead(head));
      } catch (err) {
        this.#fail(err as Error);
        return;
      }
    }
    this.#events.onEnd(end.appStatus, end.protocolStatus);
  }

  #collectHead(fragment: Uint8Array): void {
    const prev = this.#head!;
    // Usually the whole head is in the first fragment: scan it in place, copy only a partial head.
    const buf = prev.length === 0 ? asBuffer(fragment) : Buffer.concat([prev, fragment]);
    const found = findHeadEnd(buf, Math.max(0, this.#headScanned - 3));
    if (found === undefined) {
      if (buf.length > this.#maxHeadSize) {
        this.#fail(new CgiHeaderError('response head too large'));
        return;
      }
      this.#head = prev.length === 0 ? Buffer.from(buf) : buf;
      this.#headScanned = buf.length;
      return;
    }
    const [headEnd, bodyStart] = found;
    if (headEnd > this.#maxHeadSize) {
      this.#fail(new CgiHeaderError('response head too large'));
      return;
    }
    this.#head = undefined;
    let head: CgiHead;
    try {
      head = parseCgiHead(buf, headEnd);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    this.#events.onHead(head);
    if (bodyStart < buf.length) this.#events.onBody(buf.subarray(bodyStart));
  }

  #fail(err: Error): void {
    this.#failed = true;
    this.#events.onError(err);
  }
}
