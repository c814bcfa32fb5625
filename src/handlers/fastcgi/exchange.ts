// One request/response on a FastCGI connection: writes the request (request-writer.ts), reads
// the response records (response-reader.ts), and hands the caller the head plus a body. A class,
// not a nest of closures: this runs once per request and allocations are the hot path's cost.
import type { CgiHead } from './cgi-headers.ts';
import type { FastCgiConnection } from './connection.ts';
import { FastCgiError } from './errors.ts';
import { OVERLOADED, protocolStatusName, REQUEST_COMPLETE } from './record.ts';
import { requestHeadText } from './request-head-text.ts';
import { encodeRequestHead, encodeStdinEnd, pumpStdin, socketSink } from './request-writer.ts';
import type { ExchangeOptions, ExchangeResult } from './exchange-options.ts';
import { ResponseBuffer } from './response-buffer.ts';
import { ResponseReader, type ResponseEvents } from './response-reader.ts';

// Requests are never multiplexed, so every exchange may use id 1 (§3.3 reserves 0).
export const REQUEST_ID = 1;

/** Discarded response bytes tolerated after a cancel before the connection is dropped instead. */
const MAX_DRAIN = 1024 * 1024;
/** How long a response head may wait for the rest of a small response (see onData). */
const HOLD_MS = 1;
/** A response paused this long for its client goes to the overflow buffer from then on. */
const SLOW_READER_MS = 100;
/** An exchange still running after this many ms starts watching the client's abort signal. */
const ABORT_WATCH_MS = 20;

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
    if (opts.bodyStreams === true && this.#watchAbort(true)) return;
    // The read timeout runs once the request is fully sent (nginx's fastcgi_read_timeout); a slow
    // upload is the engine's body timeout's business, a backend that stops reading is caught by
    // the drain wait of the body pump.
    if (opts.body === null) this.#startTimer();
    const noBody = opts.body === null;
    const text = requestHeadText(REQUEST_ID, opts.keepConn, opts.params, noBody);
    if (text !== undefined) this.#conn.socket.write(text, 'latin1', this.#onWritten);
    else this.#conn.socket.write(encodeRequestHead(REQUEST_ID, opts.keepConn, opts.params, noBody), this.#onWritten);
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
      // The rest of a response usually follows within microseconds (php-fpm writes the body,
      // then END_REQUEST after the script's shutdown): hold the head for HOLD_MS, and a response
      // that completes meanwhile goes out as bytes with a Content-Length, in one write, instead of
      // a chunked stream. A flush() from PHP reaches the client HOLD_MS later at most.
      this.#holdScheduled = true;
      setTimeout(this.#deliverHeld, HOLD_MS);
    }
  }

  // Held HOLD_MS without END_REQUEST: over TCP php-fpm may hold its last records (see #nudge).
  readonly #deliverHeld = (): void => {
    if (!this.#settled && !this.#ended && this.#nudge()) {
      setTimeout(this.#deliverHeld, HOLD_MS);
      return;
    }
    this.#deliver();
  };

  /**
   * php-fpm never sets TCP_NODELAY on Linux (fastcgi.c sets `req->tcp` only on Windows): Nagle holds
   * the records ending a response until our ACK, which our kernel may delay 40 ms (a 64 KiB page
   * stalled one time in ten over kept-alive TCP; never over a unix socket). Bytes we send carry the
   * ACK at once; an empty STDIN record is harmless (fcgi_read_request skips it, STDIN is over).
   * Once per exchange, TCP only, after our own STDIN end was written.
   */
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
        this.#slowTimer = setTimeout(this.#onSlowReader, SLOW_READER_MS);
    }
  }

  // Paused for SLOW_READER_MS: the client is slow, so php-fpm is read at its own pace from now on,
  // into the overflow buffer (memory, then a temp file; full → paused again), and its child goes
  // back when the script ends. A fast client never gets here and costs what backpressure costs.
  readonly #onSlowReader = (): void => {
    this.#slowTimer = undefined;
    if (!this.#pausedByUs || this.#finished || this.#discarding) return;
    this.#overflow = new ResponseBuffer(this.#opts.responseBuffer!);
    this.#resumeSocket();
  };

  /** The stream wants more: the overflow first, then php-fpm's socket. */
  readonly #pull = async (c: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    const overflow = this.#overflow;
    if (overflow !== undefined && !(await overflow.feed(c))) return;
    if (!this.#ended) return this.#resumeSocket();
    overflow?.dispose();
    this.#closeStream(c);
  };

  // Closed once: onEnd's enqueue may run #pull (which closes) first; a second close() throws, and
  // building that error cost more than a 64 KiB exchange's bookkeeping (php-64k's profile).
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

  readonly #onAbort = (): void => {
    this.#fail(new FastCgiError('aborted', 'client went away', this.#state()), true);
  };

  readonly #onTimeout = (): void => {
    if (this.#timerPhaseOne) {
      // Phase one of the timer: the exchange is not a quick one, watch the client from now on.
      this.#timerPhaseOne = false;
      if (this.#watchAbort()) return;
      const rt = this.#opts.readTimeout;
      if (rt === 0) return;
      if (rt > ABORT_WATCH_MS) {
        this.#timer = setTimeout(this.#onTimeout, rt - ABORT_WATCH_MS);
        return;
      }
    }
    // Silence while we hold the socket paused is the client's slowness, not the backend's.
    if (this.#pausedByUs) {
      this.#timer?.refresh();
      return;
    }
    this.#fail(new FastCgiError('timeout', 'backend read timeout', this.#state()), true);
  };

  #startTimer(): void {
    if (this.#finished) return;
    const rt = this.#opts.readTimeout;
    if (!this.#abortWatched) {
      this.#timerPhaseOne = true;
      this.#timer = setTimeout(this.#onTimeout, rt > 0 ? Math.min(rt, ABORT_WATCH_MS) : ABORT_WATCH_MS);
    } else if (rt > 0) {
      this.#timer = setTimeout(this.#onTimeout, rt);
    }
  }

  /** Starts watching the client's abort signal; true when it has already fired (exchange failed). */
  #watchAbort(atStart = false): boolean {
    if (this.#abortWatched) return false;
    this.#abortWatched = true;
    const source = this.#opts.abortSource;
    if (source === undefined || this.#finished) return false;
    const signal = source.signal;
    if (signal.aborted) {
      // The whole request had arrived and the client's FIN came with it or just after (`nc`,
      // HTTP/1.0 tools, scripts that half-close once they have sent everything): a half-close by
      // a client waiting for the answer, not a client gone. Like nginx, which notices a FIN only
      // as a new event once it is talking to the upstream, only a later close aborts the script.
      if (!atStart) return false;
      this.#onAbort();
      return true;
    }
    this.#signal = signal;
    signal.addEventListener('abort', this.#onAbort, { once: true });
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
      this.#resolve({ status: head.status, headers: head.headers, body });
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
        pull: this.#pull,
        cancel: () => {
          // The consumer stopped reading (HEAD, a client gone): drain a little to keep the
          // connection, drop it if the rest is large.
          this.#discarding = true;
          this.#overflow?.dispose();
          this.#resumeSocket();
        },
      },
      { highWaterMark: this.#opts.highWaterMark, size: (chunk) => chunk.byteLength },
    );
    this.#resolve({ status: head.status, headers: head.headers, body });
  }

  #finish(reusable: boolean): void {
    this.#finished = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#slowTimer) clearTimeout(this.#slowTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#pausedByUs) this.#conn.socket.resume();
    this.#conn.release(reusable && this.#opts.keepConn && this.#stdinDone);
    this.#opts.onDone?.();
  }

  #fail(err: Error, abort = false): void {
    if (this.#finished) return;
    // §5.4: tell the application; php-fpm only notices once the script writes, and the
    // connection's state is unknown from here, so it is closed rather than reused.
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
    const socket = this.#conn.socket;
    const gone = (): boolean => this.#conn.closed || this.#finished;
    const sink = socketSink(socket, this.#opts.readTimeout, gone, () => {
      this.#fail(new FastCgiError('timeout', 'backend stopped reading the request body', this.#state()), true);
    });
    const write = sink.write;
    sink.write = (data) => {
      this.#requestWritten = true;
      return write(data);
    };
    pumpStdin(REQUEST_ID, body, sink, this.#signal)
      .then(() => {
        if (gone()) return;
        socket.write(encodeStdinEnd(REQUEST_ID));
        this.#stdinDone = true;
        this.#startTimer();
      })
      .catch((err: unknown) => {
        if (this.#finished) return;
        const e = err instanceof Error ? err : new Error(String(err));
        const failure = new FastCgiError('aborted', `request body failed: ${e.message}`, {
          ...this.#state(),
          cause: e,
        });
        this.#fail(failure, true);
      });
  }
}
