// One request/response on a FastCGI connection: writes the request (request-writer.ts), reads
// the response records (response-reader.ts), and hands the caller the head plus a body. A class,
// not a nest of closures: this runs once per request and allocations are the hot path's cost.
import { Buffer } from 'node:buffer';
import { ReadableStream } from 'node:stream/web';
import type { CgiHead } from './cgi-headers.ts';
import type { FastCgiConnection } from './connection.ts';
import { FastCgiError } from './errors.ts';
import { OVERLOADED, protocolStatusName, REQUEST_COMPLETE } from './record.ts';
import { requestHeadBytes } from './request-head-bytes.ts';
import { encodeRequestHead, encodeStdinEnd, sendStdin } from './request-writer.ts';
import {
  ABORT_WATCH_MS,
  type ExchangeOptions,
  type ExchangeResult,
  HOLD_MS,
  MAX_DRAIN,
  REQUEST_ID,
  SLOW_READER_MS,
} from './exchange-options.ts';
import { ResponseBuffer } from './response-buffer.ts';
import { ResponseReader, type ResponseEvents } from './response-reader.ts';

export { REQUEST_ID } from './exchange-options.ts';

export class Exchange implements ResponseEvents {
  readonly reader: ResponseReader;
  /** Some bytes of the response (any record) arrived. */
  received = false;
  readonly #conn: FastCgiConnection;
  readonly #opts: ExchangeOptions;
  #resolve!: (r: ExchangeResult) => void;
  #reject!: (e: Error) => void;
  #settled = false; // head delivered or exchange rejected
  #finished = false; // END_REQUEST seen or failed
  #requestWritten = false;
  #stdinDone: boolean;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #pausedByUs = false;
  #overflow: ResponseBuffer | undefined; // once the client proved slow
  #slowTimer: NodeJS.Timeout | undefined;
  #discarding = false;
  #discarded = 0;
  #timer: NodeJS.Timeout | undefined;
  #signal: AbortSignal | undefined;
  #abortListener: (() => void) | undefined;
  #abortWatched = false;
  #timerPhaseOne = false;
  // The head is delivered once the read that carried it is processed: when END_REQUEST came in
  // the same read (a small response), the body is handed over as bytes, with no stream at all.
  #head: CgiHead | undefined;
  #pending: Uint8Array[] = [];
  #ended = false;
  #inRead = false;
  #streamClosed = false;
  #pendingBytes = 0;
  #holdScheduled = false;
  #nudged = false;

  constructor(conn: FastCgiConnection, opts: ExchangeOptions) {
    this.#conn = conn;
    this.#opts = opts;
    this.#stdinDone = opts.body === null;
    this.reader = new ResponseReader(REQUEST_ID, this, opts.maxHeadSize);
  }

  start(): Promise<ExchangeResult> {
    return new Promise<ExchangeResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#begin();
    });
  }

  #begin(): void {
    const opts = this.#opts;
    // A body still arriving may take long to send: watch the client from the start.
    if (opts.bodyStreams === true && this.#watchAbort()) return;
    // The read timeout runs once the request is fully sent (nginx's fastcgi_read_timeout); a slow
    // upload is the engine's body timeout's business, a backend that stops reading is caught by
    // the drain wait of the body pump.
    if (opts.body === null) this.#startTimer();
    const noBody = opts.body === null;
    const head =
      requestHeadBytes(REQUEST_ID, opts.keepConn, opts.params, noBody) ??
      encodeRequestHead(REQUEST_ID, opts.keepConn, opts.params, noBody);
    this.#conn.socket.write(head, this.#onWritten);
    if (opts.body !== null) this.#pump(opts.body);
  }

  onData(data: Buffer): void {
    this.received = true;
    this.#timer?.refresh();
    this.#inRead = true;
    try {
      this.#conn.push(data);
    } catch (e) {
      this.#fail(new FastCgiError('protocol', (e as Error).message, { ...this.#state(), cause: e }));
    }
    this.#inRead = false;
    if (this.#settled) this.#flushRead();
    else if (this.#ended || this.#pendingBytes > this.#opts.highWaterMark) this.#deliver();
    else if (this.#head !== undefined && !this.#holdScheduled) {
      // The rest usually follows within microseconds (the body, then END_REQUEST after the script's
      // shutdown): hold the head HOLD_MS, so that a response complete meanwhile goes out as bytes
      // with a Content-Length in one write, not a chunked stream (a PHP flush() waits HOLD_MS at most).
      this.#holdScheduled = true;
      setTimeout(Exchange.#held, HOLD_MS, this);
    }
  }

  // Held HOLD_MS without END_REQUEST: over TCP php-fpm may hold its last records (see #nudge).
  static #held(ex: Exchange): void {
    if (!ex.#settled && !ex.#ended && ex.#nudge()) {
      setTimeout(Exchange.#held, HOLD_MS, ex);
      return;
    }
    ex.#deliver();
  }

  // php-fpm never sets TCP_NODELAY on Linux: Nagle holds the records ending a response until our
  // ACK, which our kernel may delay 40 ms (a 64 KiB page stalled one time in ten over kept-alive
  // TCP). Bytes we send carry the ACK at once; an empty STDIN record is harmless (fcgi_read_request
  // skips it). Once per exchange, TCP only, after our own STDIN end was written.
  #nudge(): boolean {
    if (this.#nudged || !this.#stdinDone || !this.#opts.keepConn || !this.#conn.tcp) return false;
    if (this.#finished || this.#conn.closed) return false;
    this.#nudged = true;
    this.#conn.socket.write(encodeStdinEnd(REQUEST_ID));
    return true;
  }

  /** `neverRead`: the backend provably did not read the request (connection.ts, #peerEnded). */
  onClose(err: Error | undefined, neverRead = false): void {
    const message = err ? `backend connection failed: ${err.message}` : 'backend closed the connection';
    this.#fail(new FastCgiError('closed', message, { ...this.#state(), neverRead, cause: err }));
  }

  onHead(head: CgiHead): void {
    this.#head = head;
  }

  onBody(chunk: Uint8Array): void {
    if (this.#discarding) {
      this.#discarded += chunk.length;
      if (this.#discarded > MAX_DRAIN) this.#fail(new FastCgiError('aborted', 'response discarded'));
      return;
    }
    // Fragments of one socket read are gathered and handed on together (fewer stream reads).
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (!this.#inRead) this.#flushRead();
  }

  /** Enqueues what the last read brought, as one chunk; a full stream pauses php-fpm's socket. */
  #flushRead(): void {
    const c = this.#controller;
    const pending = this.#pending;
    if (c === undefined || pending.length === 0 || this.#discarding) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    const chunk = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    const overflow = this.#overflow;
    let full: boolean;
    if (overflow !== undefined && (overflow.size > 0 || (c.desiredSize ?? 1) <= 0)) full = !overflow.push(chunk);
    else {
      c.enqueue(chunk);
      full = overflow === undefined && (c.desiredSize ?? 1) <= 0;
    }
    if (full && !this.#pausedByUs) {
      this.#pausedByUs = true;
      this.#conn.socket.pause();
      if (overflow === undefined && this.#opts.responseBuffer !== undefined && this.#slowTimer === undefined)
        this.#slowTimer = setTimeout(Exchange.#onSlowReader, SLOW_READER_MS, this);
    }
  }

  // Paused SLOW_READER_MS: a slow client. php-fpm is read at its own pace into the overflow buffer
  // (memory, then a temp file; full → paused again), its child back when the script ends.
  static #onSlowReader(ex: Exchange): void {
    ex.#slowTimer = undefined;
    if (!ex.#pausedByUs || ex.#finished || ex.#discarding) return;
    ex.#overflow = new ResponseBuffer(ex.#opts.responseBuffer!);
    ex.#resumeSocket();
  }

  /** The stream wants more: the overflow first, then php-fpm's socket. */
  async #pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const overflow = this.#overflow;
    if (overflow !== undefined && !(await overflow.feed(c))) return;
    if (!this.#ended) return this.#resumeSocket();
    overflow?.dispose();
    this.#closeStream(c);
  }

  // Closed once: onEnd's enqueue may run #pull (which closes) first; a second close() throws (costly).
  #closeStream(c: ReadableStreamDefaultController<Uint8Array>): void {
    if (this.#streamClosed) return;
    this.#streamClosed = true;
    try {
      c.close();
    } catch {}
  }

  onStderr(chunk: Uint8Array): void {
    this.#opts.onStderr(chunk);
  }

  onEnd(_appStatus: number, protocolStatus: number): void {
    if (protocolStatus !== REQUEST_COMPLETE) {
      // CANT_MPX_CONN / UNKNOWN_ROLE / OVERLOADED (§5.5): a gateway error, never an empty 200.
      const failure = protocolStatus === OVERLOADED ? 'overloaded' : 'rejected';
      const message = `backend ended the request: ${protocolStatusName(protocolStatus)}`;
      this.#fail(new FastCgiError(failure, message, this.#state()));
      return;
    }
    this.#ended = true;
    if (this.#controller !== undefined && !this.#discarding) {
      this.#flushRead();
      // PHP is done and its connection goes back now; what overflowed follows at the client's pace.
      if (this.#overflow === undefined || this.#overflow.size === 0) {
        this.#overflow?.dispose();
        this.#closeStream(this.#controller);
      }
    }
    this.#finish(true);
  }

  onError(err: Error): void {
    this.#fail(new FastCgiError('protocol', err.message, { ...this.#state(), cause: err }));
  }

  #state(): { requestWritten: boolean; responseStarted: boolean } {
    return { requestWritten: this.#requestWritten, responseStarted: this.reader.stdoutBytes > 0 };
  }

  readonly #onWritten = (err?: Error | null): void => {
    if (!err) this.#requestWritten = true;
  };

  #onAbort(): void {
    this.#fail(new FastCgiError('aborted', 'client went away', this.#state()), true);
  }

  static #timeout(ex: Exchange): void {
    ex.#onTimeout();
  }

  /** The connection's watch timer fired, ABORT_WATCH_MS after this exchange armed it. */
  onWatch(): void {
    if (this.#timerPhaseOne && this.#timer === undefined) this.#onTimeout();
  }

  #onTimeout(): void {
    if (this.#timerPhaseOne) {
      // Phase one of the timer: the exchange is not a quick one, watch the client from now on.
      this.#timerPhaseOne = false;
      if (this.#watchAbort()) return;
      const rt = this.#opts.readTimeout;
      if (rt === 0) return;
      if (rt > ABORT_WATCH_MS) {
        this.#timer = setTimeout(Exchange.#timeout, rt - ABORT_WATCH_MS, this);
        return;
      }
    }
    // Silence while we hold the socket paused is the client's slowness, not the backend's.
    if (this.#pausedByUs) {
      this.#timer?.refresh();
      return;
    }
    this.#fail(new FastCgiError('timeout', 'backend read timeout', this.#state()), true);
  }

  #startTimer(): void {
    if (this.#finished) return;
    const rt = this.#opts.readTimeout;
    if (!this.#abortWatched) {
      this.#timerPhaseOne = true;
      // Phase one on the connection's own timer, re-armed per exchange: no timer per request.
      if (rt === 0 || rt >= ABORT_WATCH_MS) this.#conn.armWatch(ABORT_WATCH_MS);
      else this.#timer = setTimeout(Exchange.#timeout, rt, this);
    } else if (rt > 0) {
      this.#timer = setTimeout(Exchange.#timeout, rt, this);
    }
  }

  /** Starts watching the client's abort signal; true when it has already fired (exchange failed). */
  #watchAbort(): boolean {
    if (this.#abortWatched) return false;
    this.#abortWatched = true;
    const source = this.#opts.abortSource;
    if (source === undefined || this.#finished) return false;
    const signal = source.signal;
    // The connection decides when a client is gone, one rule for every handler and the log
    // (reception/transaction.ts, HALF_CLOSE_GRACE_MS): a half-close never aborts the signal.
    if (signal.aborted) {
      this.#onAbort();
      return true;
    }
    this.#signal = signal;
    this.#abortListener = () => this.#onAbort();
    signal.addEventListener('abort', this.#abortListener, { once: true });
    return false;
  }

  #resumeSocket(): void {
    if (this.#pausedByUs && !this.#finished) {
      this.#pausedByUs = false;
      this.#timer?.refresh();
      this.#conn.socket.resume();
    }
  }

  #deliver(): void {
    const head = this.#head;
    if (this.#settled || head === undefined) return;
    this.#settled = true;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#ended) {
      const body = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      this.#resolve({ status: head.status, headers: head.headers, lower: head.lower, body });
      return;
    }
    // A streamed response may last: watch the client for its whole length.
    if (this.#watchAbort()) return;
    this.#nudge();
    const body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#controller = c;
          for (const chunk of pending) c.enqueue(chunk);
        },
        pull: (c) => this.#pull(c),
        cancel: () => {
          // The consumer stopped reading (HEAD, a client gone): drain a little to keep the connection.
          this.#discarding = true;
          this.#overflow?.dispose();
          this.#resumeSocket();
        },
      },
      { highWaterMark: this.#opts.highWaterMark, size: (chunk) => chunk.byteLength },
    );
    this.#resolve({ status: head.status, headers: head.headers, lower: head.lower, body });
  }

  #finish(reusable: boolean): void {
    this.#finished = true;
    this.#timerPhaseOne = false;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#slowTimer) clearTimeout(this.#slowTimer);
    if (this.#abortListener !== undefined) this.#signal?.removeEventListener('abort', this.#abortListener);
    if (this.#pausedByUs) this.#conn.socket.resume();
    this.#conn.release(reusable && this.#opts.keepConn && this.#stdinDone);
    this.#opts.onDone?.();
  }

  #fail(err: Error, abort = false): void {
    if (this.#finished) return;
    // §5.4: tell the application (php-fpm notices once the script writes); the connection is closed.
    if (abort) this.#conn.abort();
    this.#finish(false);
    if (!this.#settled) {
      this.#settled = true;
      this.#reject(err);
    } else if (this.#controller !== undefined && !this.#discarding) {
      this.#overflow?.dispose();
      try {
        this.#controller.error(err);
      } catch {}
    }
  }

  #pump(body: AsyncIterable<Uint8Array>): void {
    sendStdin(REQUEST_ID, this.#conn.socket, body, {
      stallTimeout: this.#opts.readTimeout,
      gone: () => this.#conn.closed || this.#finished,
      signal: this.#signal,
      onWrite: () => {
        this.#requestWritten = true;
      },
      onStall: () =>
        this.#fail(new FastCgiError('timeout', 'backend stopped reading the request body', this.#state()), true),
    }).then(
      (ended) => {
        if (!ended) return;
        this.#stdinDone = true;
        this.#startTimer();
      },
      (err: unknown) => {
        if (this.#finished) return;
        const e = err instanceof Error ? err : new Error(String(err));
        this.#fail(
          new FastCgiError('aborted', `request body failed: ${e.message}`, { ...this.#state(), cause: e }),
          true,
        );
      },
    );
  }
}
