// One connection to a FastCGI backend (the client layer). php-fpm serves one request per
// connection at a time (it answers CANT_MPX_CONN otherwise, §5.5), so a connection is either idle
// or running exactly one exchange; with KEEP_CONN (§5.1) it returns to the pool afterwards.
// The socket is injected (net, unix, or an in-memory fake): nothing here dials.
import type { Duplex } from 'node:stream';
import { FastCgiError } from './errors.ts';
import type { Params } from './name-value.ts';
import { RecordDecoder, type RecordSink } from './record-decoder.ts';
import { encodeAbortRequest, OVERLOADED, protocolStatusName, REQUEST_COMPLETE } from './record.ts';
import { type ByteSink, encodeRequestHead, encodeStdinEnd, pumpStdin } from './request-writer.ts';
import type { CgiHead } from './cgi-headers.ts';
import { ResponseReader } from './response-reader.ts';

// Requests are never multiplexed, so every exchange may use id 1 (§3.3 reserves 0).
const REQUEST_ID = 1;

export interface ExchangeOptions {
  params: Params;
  /** The request body, or null when there is none. */
  body: AsyncIterable<Uint8Array> | null;
  /** Ask the backend to keep the connection open after the response (§5.1 FCGI_KEEP_CONN). */
  keepConn: boolean;
  /** Longest silence from the backend, in ms (0 = none). Paused while the client reads slowly. */
  readTimeout: number;
  /** Aborting sends ABORT_REQUEST (§5.4) and drops the connection. */
  signal?: AbortSignal;
  onStderr(chunk: Uint8Array): void;
  /** Response bytes buffered ahead of the client before the socket is paused. */
  highWaterMark: number;
  /** Largest CGI head accepted from the backend, in bytes. */
  maxHeadSize: number;
}

export interface ExchangeResult {
  status: number;
  headers: Array<[string, string]>;
  /**
   * The response body: bytes when the whole response came in one read, else a stream that errors
   * (never ends cleanly) if the backend fails mid-response.
   */
  body: ReadableStream<Uint8Array> | Uint8Array;
}

export interface ConnectionHooks {
  /** The exchange finished and the connection can serve another request. */
  onReusable(conn: FastCgiConnection): void;
  /** The socket is gone (closed, reset, destroyed). Called once. */
  onClose(conn: FastCgiConnection): void;
}

/** Discarded response bytes tolerated after a cancel before the connection is dropped instead. */
const MAX_DRAIN = 1024 * 1024;

export class FastCgiConnection {
  readonly socket: Duplex;
  readonly #hooks: ConnectionHooks;
  /** Exchanges started on this connection; > 0 before a new one means "reused". */
  exchanges = 0;
  lastUsed = Date.now();
  #closed = false;
  #current: ((ev: 'data' | 'close', data?: Buffer, err?: Error) => void) | undefined;
  /** The exchange's reader; records arriving while it is unset break the protocol. */
  #sink: RecordSink | undefined;
  // One decoder for the connection's lifetime: the padding of a request's last record may arrive
  // after END_REQUEST was handled, and must not be read as the next request's header.
  readonly #decoder = new RecordDecoder({
    onStream: (type, id, fragment) => (this.#sink ?? this.#idleSink).onStream(type, id, fragment),
    onRecord: (type, id, content) => (this.#sink ?? this.#idleSink).onRecord(type, id, content),
  });
  readonly #idleSink: RecordSink = {
    onStream: () => this.destroy(),
    onRecord: () => this.destroy(),
  };

  constructor(socket: Duplex, hooks: ConnectionHooks) {
    this.socket = socket;
    this.#hooks = hooks;
    socket.on('data', (data: Buffer) => {
      const current = this.#current;
      if (current) return current('data', data);
      // Bytes while idle (other than a record's trailing padding) break the protocol.
      try {
        this.#decoder.push(data);
      } catch {
        this.destroy();
      }
    });
    socket.on('error', (err: Error) => this.#gone(err));
    socket.on('end', () => this.#gone());
    socket.on('close', () => this.#gone());
  }

  get closed(): boolean {
    return this.#closed;
  }

  get busy(): boolean {
    return this.#current !== undefined;
  }

  destroy(): void {
    this.#gone();
  }

  /** Sends ABORT_REQUEST (§5.4), then closes once it is flushed; the pool forgets us at once. */
  abort(): void {
    if (this.#closed) return;
    const socket = this.socket;
    this.#current = undefined;
    this.#gone(undefined, false);
    const timer = setTimeout(() => socket.destroy(), 1000);
    timer.unref();
    socket.end(encodeAbortRequest(REQUEST_ID), () => {
      clearTimeout(timer);
      socket.destroy();
    });
  }

  #gone(err?: Error, destroySocket = true): void {
    if (this.#closed) return;
    this.#closed = true;
    if (destroySocket) this.socket.destroy();
    const current = this.#current;
    this.#current = undefined;
    current?.('close', undefined, err);
    this.#hooks.onClose(this);
  }

  /** Runs one request. Resolves with the head once it arrived; the body streams afterwards. */
  exchange(opts: ExchangeOptions): Promise<ExchangeResult> {
    if (this.#current !== undefined) throw new Error('FastCGI connection is busy');
    if (this.#closed) {
      return Promise.reject(new FastCgiError('closed', 'connection already closed'));
    }
    this.exchanges++;
    this.lastUsed = Date.now();
    const socket = this.socket;
    return new Promise<ExchangeResult>((resolve, reject) => {
      let settled = false; // head resolved or exchange rejected
      let finished = false; // exchange over (END_REQUEST or failure)
      let requestWritten = false;
      let stdinDone = opts.body === null;
      let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
      let pausedByUs = false;
      let discarding = false;
      let discarded = 0;
      let timer: NodeJS.Timeout | undefined;

      const state = () => ({ requestWritten, responseStarted: reader.stdoutBytes > 0 });

      const finish = (reusable: boolean): void => {
        finished = true;
        this.#current = undefined;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (pausedByUs) socket.resume();
        this.lastUsed = Date.now();
        this.#sink = undefined;
        if (reusable && opts.keepConn && stdinDone && !this.#closed) this.#hooks.onReusable(this);
        else if (!this.#closed) this.destroy();
      };

      const fail = (err: Error, abort = false): void => {
        if (finished) return;
        // §5.4: tell the application; php-fpm only notices once the script writes, and the
        // connection's state is unknown from here, so it is closed rather than reused.
        if (abort) this.abort();
        finish(false);
        if (!settled) {
          settled = true;
          reject(err);
        } else if (controller !== undefined && !discarding) {
          try {
            controller.error(err);
          } catch {}
        }
      };

      // The head is delivered once the read that carried it is fully processed: when END_REQUEST
      // came in the same read (a small response), the body is handed over as bytes, no stream.
      let head: CgiHead | undefined;
      let pending: Uint8Array[] = [];
      let ended = false;

      const resumeSocket = (): void => {
        if (pausedByUs && !finished) {
          pausedByUs = false;
          timer?.refresh();
          socket.resume();
        }
      };

      const deliver = (): void => {
        if (settled || head === undefined) return;
        settled = true;
        const { status, headers } = head;
        if (ended) {
          const body = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
          pending = [];
          resolve({ status, headers, body });
          return;
        }
        const body = new ReadableStream<Uint8Array>(
          {
            start: (c) => {
              controller = c;
              for (const chunk of pending) c.enqueue(chunk);
              pending = [];
            },
            pull: resumeSocket,
            cancel: () => {
              // The consumer stopped reading (HEAD, a client gone): drain a little to keep the
              // connection, drop it if the rest is large.
              discarding = true;
              resumeSocket();
            },
          },
          { highWaterMark: opts.highWaterMark, size: (chunk) => chunk.byteLength },
        );
        resolve({ status, headers, body });
      };

      const reader = new ResponseReader(
        REQUEST_ID,
        {
          onHead: (h) => {
            head = h;
          },
          onBody: (chunk) => {
            if (discarding) {
              discarded += chunk.length;
              if (discarded > MAX_DRAIN) fail(new FastCgiError('aborted', 'response discarded'));
              return;
            }
            if (controller === undefined) {
              pending.push(chunk);
              return;
            }
            controller.enqueue(chunk);
            if ((controller.desiredSize ?? 1) <= 0 && !pausedByUs) {
              pausedByUs = true;
              socket.pause();
            }
          },
          onStderr: opts.onStderr,
          onEnd: (_appStatus, protocolStatus) => {
            if (protocolStatus !== REQUEST_COMPLETE) {
              // CANT_MPX_CONN/UNKNOWN_ROLE/OVERLOADED: a gateway error, never an empty 200.
              const failure = protocolStatus === OVERLOADED ? 'overloaded' : 'rejected';
              const message = `backend ended the request: ${protocolStatusName(protocolStatus)}`;
              fail(new FastCgiError(failure, message, state()));
              return;
            }
            ended = true;
            if (controller !== undefined && !discarding) {
              try {
                controller.close();
              } catch {}
            }
            finish(true);
          },
          onError: (err) => fail(new FastCgiError('protocol', err.message, { ...state(), cause: err })),
        },
        opts.maxHeadSize,
      );
      this.#sink = reader;
      const decoder = this.#decoder;

      this.#current = (ev, data, err) => {
        if (ev === 'data') {
          timer?.refresh();
          try {
            decoder.push(data!);
          } catch (e) {
            fail(new FastCgiError('protocol', (e as Error).message, { ...state(), cause: e }));
          }
          deliver();
          return;
        }
        const message = err ? `backend connection failed: ${err.message}` : 'backend closed the connection';
        fail(new FastCgiError('closed', message, { ...state(), cause: err }));
      };

      const onAbort = (): void => fail(new FastCgiError('aborted', 'client went away', state()), true);
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      // The read timeout runs once the request is fully sent (nginx's fastcgi_read_timeout); a
      // slow upload is the engine's body timeout's business, a backend that stops reading is
      // caught by the drain wait below.
      const startTimer = (): void => {
        if (opts.readTimeout <= 0 || finished) return;
        timer = setTimeout(() => {
          // Silence while we hold the socket paused is the client's slowness, not the backend's.
          if (pausedByUs) return void timer?.refresh();
          fail(new FastCgiError('timeout', 'backend read timeout', state()), true);
        }, opts.readTimeout);
      };
      if (opts.body === null) startTimer();

      const requestHead = encodeRequestHead(REQUEST_ID, opts.keepConn, opts.params, opts.body === null);
      socket.write(requestHead, (err) => {
        if (!err) requestWritten = true;
      });
      if (opts.body !== null) {
        const body = opts.body;
        const sink: ByteSink = {
          write: (data) => {
            requestWritten = true;
            return socket.write(data);
          },
          drained: () =>
            new Promise<void>((ok, ko) => {
              if (this.#closed || finished) return ko(new Error('connection closed'));
              const t =
                opts.readTimeout > 0
                  ? setTimeout(() => {
                      cleanup();
                      fail(new FastCgiError('timeout', 'backend stopped reading the request body', state()), true);
                      ko(new Error('send timeout'));
                    }, opts.readTimeout)
                  : undefined;
              const cleanup = (): void => {
                if (t) clearTimeout(t);
                socket.off('drain', done);
                socket.off('close', done);
              };
              const done = (): void => {
                cleanup();
                if (this.#closed || finished) ko(new Error('connection closed'));
                else ok();
              };
              socket.on('drain', done);
              socket.on('close', done);
            }),
        };
        pumpStdin(REQUEST_ID, body, sink, opts.signal)
          .then(() => {
            if (finished || this.#closed) return;
            socket.write(encodeStdinEnd(REQUEST_ID));
            stdinDone = true;
            startTimer();
          })
          .catch((err: unknown) => {
            if (finished) return;
            const e = err instanceof Error ? err : new Error(String(err));
            fail(new FastCgiError('aborted', `request body failed: ${e.message}`, { ...state(), cause: e }), true);
          });
      }
    });
  }
}
