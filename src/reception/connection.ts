// One client connection: bytes in → parsed requests → handlers (concurrently) → responses out in
// request order (seed 003's FIFO). Limits pause reading; timeouts are deadlines checked by the
// server's single sweep timer (timeouts.ts), never a timer per request.
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.ts';
import type { Context, MaybePromise } from '../types.ts';
import type { ErrorHandler } from '../types.ts';
import { type ErrorCode, FoyerError, toHttpError } from '../util/errors.ts';
import { acceptableRequestId } from '../util/request-id.ts';
import { CR, LF } from './char-tables.ts';
import { ChunkedDecoder } from './chunked-decoder.ts';
import { type ClientInfo, RequestContext } from './context.ts';
import { BodyFailedEarly, pumpBody } from './body-pump.ts';
import { Exchange } from './exchange.ts';
import { findHeadEnd, ParsedHead, parseHead } from './head-parser.ts';
import { IncomingRequest } from './incoming-request.ts';
import { discardBody, NativeResponse } from './light-response.ts';
import type { Limits } from './limits.ts';
import { BODY_HIGH_WATER, type BodyOwner, RequestBody } from './request-body.ts';
import { RequestUrls } from './request-url.ts';
import { CLIENT_CLOSED, fieldValue, type TransactionHook } from './transaction.ts';
import { cannedError } from './canned-error.ts';
import { type Plan, planResponse, ResponseHeaderError } from './response-head.ts';
import { WriteBatch, type WriteBatchOwner } from './write-batch.ts';
import { trimOws } from '../util/ows.ts';

export type FetchHandler = (req: Request, ctx: Context) => MaybePromise<Response>;
export type { ErrorHandler };

/**
 * Takes over the socket for a CONNECT request or a request with `Connection: upgrade` (WebSocket,
 * h2c …). `head` holds bytes already read past the request head. From then on the engine no
 * longer reads, writes or times the socket.
 */
export type UpgradeHandler = (req: Request, socket: Socket, head: Buffer) => void;

export interface ConnectionConfig {
  limits: Limits;
  fetch: FetchHandler;
  onError: ErrorHandler | undefined;
  upgrade?: UpgradeHandler | undefined;
  log: Logger;
  secure: boolean;
  /** Told once about every request when it is over (access log, metrics). */
  onTransaction?: TransactionHook | undefined;
  /** Send `X-Request-Id` on every response. */
  requestIdHeader?: boolean | undefined;
  /** Whether to keep the X-Request-Id a peer sent (a trusted proxy); default never. */
  trustRequestId?: ((peer: string) => boolean) | undefined;
  /** Decides the client's address and scheme from the peer and the request's header pairs (trusted proxies). */
  resolveClient?: ((peer: string, secure: boolean, headers: readonly string[]) => ClientInfo) | undefined;
}

const PAUSE_PIPELINE = 1;
const PAUSE_BODY = 2;
const PAUSE_WRITE = 4;

enum Deadline {
  None = 0,
  Idle = 1,
  Headers = 2,
  Body = 3,
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/** Accumulator capacity an idle connection may keep between requests. */
const ACC_KEEP = 16 * 1024;

export class Connection implements BodyOwner, WriteBatchOwner {
  readonly #socket: Socket;
  readonly #cfg: ConnectionConfig;
  readonly #limits: Limits;
  readonly #ctxInit: {
    remoteAddress: string;
    remotePort: number;
    localAddress: string;
    localPort: number;
    secure: boolean;
    log: Logger;
  };
  readonly #urls: RequestUrls;
  readonly #onClose: (c: Connection) => void;
  readonly #w: WriteBatch;

  #buf: Buffer | null = null;
  /** Reusable storage for input that spans reads (see #append). */
  #acc: Buffer | null = null;
  #pos = 0;
  #scanned = 0;
  #queue: Exchange[] = [];
  #requests = 0;

  #knownHost: string | undefined = undefined;
  #bodyEx: Exchange | null = null;
  #bodyRemaining = 0;
  #decoder: ChunkedDecoder | null = null;
  /** Scratch list for the data slices of one decoder run (see #feedBody). */
  readonly #chunkParts: Buffer[] = [];
  #bodyWindowBytes = 0;

  #paused = 0;
  #parsing = false;
  #stopParsing = false;
  #ignoreInput = false;
  #readEnded = false;
  #endAfterWrite = false;
  #closing = false;
  #closed = false;
  #streaming = false;

  #deadline = 0;
  #deadlineKind: Deadline = Deadline.None;
  #headStart = 0;
  #writeDeadline = 0;

  readonly #onTx: TransactionHook | undefined;
  /** Responses queued in the write batch, recorded once it is handed to the socket. */
  #done: Exchange[] = [];
  #streamEx: Exchange | null = null;

  constructor(socket: Socket, cfg: ConnectionConfig, onClose: (c: Connection) => void) {
    this.#socket = socket;
    this.#cfg = cfg;
    this.#limits = cfg.limits;
    this.#onClose = onClose;
    this.#onTx = cfg.onTransaction;
    const localAddress = socket.localAddress ?? '127.0.0.1';
    const localPort = socket.localPort ?? 0;
    this.#ctxInit = {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress,
      localPort,
      secure: cfg.secure,
      log: cfg.log,
    };
    const hostPart = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
    this.#urls = new RequestUrls(`${cfg.secure ? 'https' : 'http'}://`, `${hostPart}:${localPort}`);
    this.#w = new WriteBatch(socket, this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#guard(() => this.#onEnd()));
    socket.on('drain', () => this.#guard(() => this.#onDrain()));
    socket.on('error', (err) => this.#cfg.log.debug({ err }, 'connection error'));
    socket.on('close', () => this.#onSocketClose());
    this.#setDeadline(Deadline.Idle, Date.now() + this.#limits.headersTimeout);
  }

  get idle(): boolean {
    return this.#queue.length === 0 && this.#bodyEx === null && this.#buf === null && !this.#streaming;
  }

  /** Reading a request head, nothing in flight (nginx's stub_status "Reading"). */
  get reading(): boolean {
    return this.#queue.length === 0 && this.#buf !== null && !this.#streaming;
  }

  // ── input ─────────────────────────────────────────────────────────────────────────────────

  #onData(chunk: Buffer): void {
    try {
      this.#receive(chunk);
    } catch (err) {
      this.#crashed(err);
    }
  }

  /** An engine bug must cost one connection, never the process. */
  #crashed(err: unknown): void {
    this.#cfg.log.error({ err }, 'internal error on a connection; closing it');
    this.destroy();
  }

  #receive(chunk: Buffer): void {
    if (this.#closed || this.#ignoreInput) return;
    if (this.#buf === null) {
      this.#buf = chunk;
      this.#pos = 0;
    } else this.#append(chunk);
    this.#parse();
    // A stream that just started sends its head with its first chunk (see #streamBody).
    if (this.#streaming) this.#w.flushSoon();
    else this.#w.flush();
  }

  /**
   * Adds a read to unparsed input. The accumulator doubles when it must grow, so a head sent a
   * byte at a time costs linear copying, not quadratic (a cheap CPU amplification otherwise).
   */
  #append(chunk: Buffer): void {
    const buf = this.#buf!;
    const rest = buf.length - this.#pos;
    const need = rest + chunk.length;
    let acc = this.#acc;
    if (acc === null || acc.length < need) {
      // Its own memory, never the shared pool: the aliasing checks here and in #stable compare
      // ArrayBuffers, and a pooled slice shares one with unrelated buffers (Node 24 raised
      // Buffer.poolSize to 64 KiB, so even a 4 KiB allocUnsafe comes from the pool).
      const grown = Buffer.allocUnsafeSlow(Math.max(need * 2, 4096));
      buf.copy(grown, 0, this.#pos);
      acc = this.#acc = grown;
    } else if (buf.buffer === acc.buffer) {
      const from = buf.byteOffset - acc.byteOffset + this.#pos;
      if (from > 0) acc.copyWithin(0, from, from + rest);
    } else buf.copy(acc, 0, this.#pos);
    chunk.copy(acc, rest);
    this.#buf = acc.subarray(0, need);
    this.#pos = 0;
  }

  /** Body bytes handed to a request must not alias the accumulator, which the next read reuses. */
  #stable(b: Buffer): Buffer {
    return this.#acc !== null && b.buffer === this.#acc.buffer ? Buffer.from(b) : b;
  }

  #parse(): void {
    if (this.#parsing) return;
    this.#parsing = true;
    try {
      this.#parseLoop();
    } finally {
      this.#parsing = false;
    }
    this.#updateDeadline();
  }

  #parseLoop(): void {
    const limits = this.#limits;
    while (this.#buf !== null && !this.#ignoreInput) {
      const buf = this.#buf;
      let pos = this.#pos;
      const end = buf.length;
      if (pos >= end) {
        this.#buf = null;
        break;
      }
      if (this.#bodyEx !== null) {
        pos = this.#feedBody(buf, pos, end);
        if (pos < 0) return;
        this.#consumed(pos);
        if (this.#bodyEx !== null) break;
        continue;
      }
      if (this.#stopParsing) {
        // Bytes after a request that closes the connection are never parsed (RFC 9112 §9.6).
        this.#buf = null;
        break;
      }
      if (this.#queue.length >= limits.maxPipelinedRequests) {
        this.#pause(PAUSE_PIPELINE);
        break;
      }
      // RFC 9112 §2.2: ignore empty lines before a request-line.
      while (pos + 1 < end && buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
      if (pos >= end || (buf[pos] === CR && pos + 1 === end)) {
        this.#consumed(pos);
        break;
      }
      if (this.#scanned === 0) this.#headStart = Date.now();
      const he = findHeadEnd(buf, pos, pos + Math.max(0, this.#scanned - 3), end);
      if (he < 0) {
        this.#reject('FOYER_BAD_REQUEST');
        return;
      }
      if (he === 0) {
        const lineEnd = buf.indexOf(LF, pos);
        if ((lineEnd < 0 || lineEnd >= end) && end - pos > limits.maxRequestLineSize + 2) {
          this.#reject('FOYER_URI_TOO_LONG');
          return;
        }
        if (end - pos > limits.maxHeaderSize) {
          this.#reject('FOYER_HEADERS_TOO_LARGE');
          return;
        }
        this.#scanned = end - pos;
        this.#consumed(pos);
        break;
      }
      if (he - pos > limits.maxHeaderSize) {
        this.#reject('FOYER_HEADERS_TOO_LARGE');
        return;
      }
      this.#scanned = 0;
      const head = new ParsedHead();
      if (parseHead(buf, pos, he, limits, head, this.#knownHost) < 0) {
        this.#reject(head.error ?? 'FOYER_BAD_REQUEST');
        return;
      }
      this.#consumed(he);
      this.#knownHost = head.host;
      this.#dispatch(head);
    }
  }

  #consumed(pos: number): void {
    if (this.#buf !== null && pos >= this.#buf.length) {
      this.#buf = null;
      // An idle keep-alive connection keeps at most a small accumulator.
      if (this.#acc !== null && this.#acc.length > ACC_KEEP) this.#acc = null;
    } else this.#pos = pos;
  }

  #feedBody(buf: Buffer, pos: number, end: number): number {
    const ex = this.#bodyEx!;
    const body = ex.body!;
    const start = pos;
    if (this.#decoder === null) {
      const n = Math.min(this.#bodyRemaining, end - pos);
      body.push(this.#stable(buf.subarray(pos, pos + n)));
      this.#bodyRemaining -= n;
      pos += n;
      if (this.#bodyRemaining === 0) this.#bodyDone(body);
    } else {
      const d = this.#decoder;
      // Chunks decoded from one read go to the body as one buffer: a body of tiny chunks costs
      // memory in proportion to its data, not one object per chunk.
      const parts = this.#chunkParts;
      const r = d.execute(buf, pos, end, (c) => parts.push(c));
      if (parts.length === 1) body.push(this.#stable(parts[0]!));
      else if (parts.length > 1) body.push(Buffer.concat(parts));
      parts.length = 0;
      if (r < 0) {
        this.#failBody(ex, d.error ?? 'FOYER_BAD_CHUNK');
        return -1;
      }
      pos = r;
      if (d.done) this.#bodyDone(body);
    }
    this.#bodyWindowBytes += pos - start;
    if (body.queued >= BODY_HIGH_WATER && !body.discarding && this.#bodyEx !== null) this.#pause(PAUSE_BODY);
    return pos;
  }

  #bodyDone(body: RequestBody): void {
    this.#bodyEx = null;
    this.#decoder = null;
    body.end();
    this.#resume(PAUSE_BODY);
  }

  /** A framing error inside a body: the body fails, the exchange answers with the error and the connection closes. */
  #failBody(ex: Exchange, code: ErrorCode): void {
    const err = new FoyerError(code);
    ex.body?.fail(err);
    this.#bodyEx = null;
    this.#decoder = null;
    this.#buf = null;
    this.#stopParsing = true;
    this.#ignoreInput = true;
    if (!ex.written) {
      const c = cannedError(err, { close: true, isHead: ex.isHead });
      ex.canned = c.text;
      ex.status = c.status;
      ex.bytes = c.bodyBytes;
      ex.keepAlive = false;
      ex.ready = true;
      this.#pump();
    } else this.#endAfterWrite = true;
    this.#w.flush();
  }

  #dispatch(head: ParsedHead): void {
    const url = this.#urls.build(head);
    if (url === undefined) {
      // A target or Host the URL parser refuses would make `new URL(req.url)` throw in the app.
      this.#reject(this.#urls.refused === 'host' ? 'FOYER_BAD_HOST' : 'FOYER_BAD_TARGET');
      return;
    }
    const limits = this.#limits;
    this.#requests++;
    // A request ends any idle time: the keep-alive deadline starts again when the connection next
    // goes idle, not from the first idle moment of a connection that has been busy since.
    if (this.#deadlineKind === Deadline.Idle) this.#deadlineKind = Deadline.None;
    const minor = head.minor;
    // RFC 9112 §9.3: persistence by version and Connection.
    let keepAlive = minor === 1 ? !head.connectionClose : head.connectionKeepAlive && !head.connectionClose;
    if (limits.maxRequestsPerConnection > 0 && this.#requests >= limits.maxRequestsPerConnection) keepAlive = false;
    if (this.#closing) keepAlive = false;

    const wantsUpgrade = head.method === 'CONNECT' || (head.connectionUpgrade && head.upgrade !== undefined);
    // A hand-over only when nothing is in flight: responses before it must keep their order.
    if (wantsUpgrade && this.#cfg.upgrade !== undefined && this.#queue.length === 0 && !this.#streaming) {
      this.#handOver(head, url);
      return;
    }
    if (head.method === 'CONNECT') {
      this.#reject('FOYER_METHOD_NOT_IMPLEMENTED', head);
      return;
    }
    let expectContinue = false;
    if (head.expect !== undefined && minor === 1) {
      // RFC 9110 §10.1.1: 100-continue is the only expectation; others are a 417.
      if (trimOws(head.expect).toLowerCase() !== '100-continue') {
        this.#reject('FOYER_EXPECTATION_FAILED', head);
        return;
      }
      expectContinue = true;
    }

    const hasBody = head.chunked || head.contentLength > 0;
    const body = hasBody ? new RequestBody(this, head.chunked ? -1 : head.contentLength) : null;
    const ctx = this.#context(head);
    const req = new IncomingRequest(head.method, url, head.headers, body, ctx, head.target);
    const ex = new Exchange(req, ctx, body, head.method === 'HEAD', minor, keepAlive);
    ex.expectContinue = expectContinue && hasBody;
    if (this.#onTx !== undefined) this.#describe(ex, head);
    if (this.#cfg.trustRequestId !== undefined) this.#adoptRequestId(ctx, head);
    this.#queue.push(ex);
    if (body !== null) {
      this.#bodyEx = ex;
      this.#bodyRemaining = head.contentLength;
      this.#decoder = head.chunked
        ? new ChunkedDecoder(
            limits.maxBodySize,
            limits.maxChunkExtensionSize,
            limits.maxHeaderSize,
            limits.maxChunkCount,
            limits.maxChunkExtensionsPerBody,
          )
        : null;
      this.#bodyWindowBytes = 0;
    }
    if (!keepAlive) this.#stopParsing = true;

    let result: MaybePromise<Response>;
    try {
      result = this.#cfg.fetch(req as unknown as Request, ctx);
    } catch (err) {
      this.#handlerFailed(ex, err);
      return;
    }
    if (result instanceof NativeResponse) this.#respond(ex, result);
    else if (result !== null && typeof (result as Promise<Response>)?.then === 'function') {
      (result as Promise<Response>).then(
        (r) => this.#guard(() => this.#respond(ex, r)),
        (err) => this.#guard(() => this.#handlerFailed(ex, err)),
      );
    } else this.#respond(ex, result);
  }

  #describe(ex: Exchange, head: ParsedHead): void {
    ex.start = this.#headStart;
    ex.method = head.method;
    ex.target = head.target;
    ex.minor = head.minor;
    ex.fields = head.headers;
    ex.peer = this.#ctxInit.remoteAddress;
  }

  #adoptRequestId(ctx: RequestContext, head: ParsedHead): void {
    const id = acceptableRequestId(fieldValue(head.headers, 'x-request-id'));
    if (id !== undefined && this.#cfg.trustRequestId!(this.#ctxInit.remoteAddress)) ctx.adoptRequestId(id);
  }

  /** Tells the observer once; `status` overrides (499 for a client that left first). */
  #record(ex: Exchange, status = 0): void {
    if (ex.recorded || this.#onTx === undefined) return;
    ex.recorded = true;
    if (status !== 0) ex.status = status;
    else if (ex.clientGone) ex.status = CLIENT_CLOSED;
    try {
      this.#onTx(ex);
    } catch (err) {
      this.#cfg.log.error({ err }, 'transaction observer failed');
    }
  }

  // WriteBatchOwner
  flushed(): void {
    const done = this.#done;
    if (done.length === 0) return;
    for (let i = 0; i < done.length; i++) this.#record(done[i]!);
    done.length = 0;
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#crashed(err);
    }
  }

  #handOver(head: ParsedHead, url: string): void {
    const rest = this.#buf === null ? Buffer.alloc(0) : Buffer.from(this.#buf.subarray(this.#pos));
    this.#buf = null;
    this.#ignoreInput = true;
    this.#closed = true; // for the engine; the socket itself lives on with its new owner
    this.#deadlineKind = Deadline.None;
    const socket = this.#socket;
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('drain');
    socket.removeAllListeners('close');
    this.#onClose(this);
    if (this.#paused !== 0) socket.resume();
    const ctx = this.#context(head);
    const req = new IncomingRequest(head.method, url, head.headers, null, ctx, head.target);
    if (this.#onTx !== undefined) {
      // The new owner answers; nginx logs a WebSocket hand-over as 101.
      const ex = new Exchange(req, ctx, null, false, head.minor, false);
      this.#describe(ex, head);
      this.#record(ex, 101);
    }
    this.#cfg.upgrade!(req as unknown as Request, socket, rest);
  }

  /** The request's context; the client decision (trusted proxies) is made here, once, before any handler. */
  #context(head: ParsedHead): RequestContext {
    const resolve = this.#cfg.resolveClient;
    if (resolve === undefined) return new RequestContext(this.#ctxInit);
    const init = this.#ctxInit;
    return new RequestContext({ ...init, ...resolve(init.remoteAddress, init.secure, head.headers) });
  }

  // ── handler results ───────────────────────────────────────────────────────────────────────

  #respond(ex: Exchange, res: unknown): void {
    if (ex.ready) {
      // The engine already answered (a body framing error); drop the late response's stream.
      if (res instanceof NativeResponse) discardBody(res);
      return;
    }
    if (!(res instanceof NativeResponse)) {
      this.#handlerFailed(ex, new TypeError('the handler did not return a Response'));
      return;
    }
    ex.response = res;
    ex.ready = true;
    if (this.#queue[0] === ex) {
      this.#pump();
      this.#scheduleFlush();
    }
  }

  #handlerFailed(ex: Exchange, err: unknown): void {
    if (ex.ready) return;
    const onError = this.#cfg.onError;
    if (onError !== undefined && ex.req !== undefined && ex.ctx !== undefined) {
      let r: MaybePromise<Response>;
      try {
        r = onError(toHttpError(err), ex.req as unknown as Request, ex.ctx);
      } catch (e) {
        this.#defaultError(ex, e);
        return;
      }
      Promise.resolve(r).then(
        (res) =>
          this.#guard(() => (res instanceof NativeResponse ? this.#respond(ex, res) : this.#defaultError(ex, err))),
        (e) => this.#guard(() => this.#defaultError(ex, e)),
      );
      return;
    }
    this.#defaultError(ex, err);
  }

  /**
   * The shared rendering (util/render-error.ts) of what the handler threw: an HttpError from any
   * copy of Foyer keeps its status and headers (Retry-After, Allow …), negotiated by Accept.
   */
  #defaultError(ex: Exchange, err: unknown): void {
    if (ex.ready) return;
    const close = !ex.keepAlive || (ex.body !== null && !ex.body.complete && ex.expectContinue);
    const c = cannedError(err, {
      accept: ex.req === undefined ? undefined : ex.req.headers.get('accept'),
      close,
      isHead: ex.isHead,
      requestId: this.#cfg.requestIdHeader === true ? ex.ctx?.requestId : undefined,
    });
    // A handler failing because its client left (its body read was cut) is not a server error.
    const requestId = ex.ctx?.requestId;
    if (ex.ctx?.aborted)
      this.#cfg.log.debug({ err, url: ex.req?.url, requestId }, 'handler failed after the client left');
    else if (c.status >= 500) this.#cfg.log.error({ err, url: ex.req?.url, requestId }, 'handler failed');
    ex.canned = c.text;
    ex.status = c.status;
    ex.bytes = c.bodyBytes;
    if (close) ex.keepAlive = false;
    ex.ready = true;
    if (this.#queue[0] === ex) {
      this.#pump();
      this.#scheduleFlush();
    }
  }

  // ── output ────────────────────────────────────────────────────────────────────────────────

  /** Writes ready responses from the head of the queue, in order, until one is not ready or streams. */
  #pump(): void {
    while (!this.#streaming && !this.#closed) {
      const ex = this.#queue[0];
      if (ex === undefined) break;
      if (!ex.ready) {
        if (ex.continueWanted && !ex.continueSent) this.#sendContinue(ex);
        break;
      }
      this.#queue.shift();
      this.#write(ex);
      if (this.#endAfterWrite) break;
    }
    if (this.#queue.length < this.#limits.maxPipelinedRequests) this.#resume(PAUSE_PIPELINE);
    if (this.#endAfterWrite && !this.#streaming) {
      this.#queue.length = 0;
      this.#w.flush();
      this.#end();
      return;
    }
    if (this.#queue.length === 0 && !this.#streaming) {
      if ((this.#readEnded || this.#closing) && this.#bodyEx === null && this.#buf === null) {
        this.#w.flush();
        this.#end();
        return;
      }
      this.#updateDeadline();
    }
  }

  #write(ex: Exchange): void {
    ex.written = true;
    if (ex.ctx?.aborted === true) ex.clientGone = true;
    if (ex.canned !== undefined) {
      this.#w.text(ex.canned);
      if (!ex.keepAlive) this.#endAfterWrite = true;
      this.#afterResponse(ex);
      return;
    }
    const res = ex.response!;
    let plan: Plan;
    try {
      const id = this.#cfg.requestIdHeader === true ? ex.ctx?.requestId : undefined;
      plan = planResponse(res, ex.isHead, ex.minor, ex.keepAlive && !this.#closing, id);
    } catch (err) {
      if (!(err instanceof ResponseHeaderError)) throw err;
      this.#cfg.log.error({ err: err.message, url: ex.req?.url }, 'invalid response header from handler');
      discardBody(res);
      const c = cannedError(new FoyerError('FOYER_BAD_RESPONSE_HEADER'), {
        accept: ex.req?.headers.get('accept'),
        close: !ex.keepAlive,
        isHead: ex.isHead,
      });
      ex.status = c.status;
      ex.bytes = c.bodyBytes;
      this.#w.text(c.text);
      if (!ex.keepAlive) this.#endAfterWrite = true;
      this.#afterResponse(ex);
      return;
    }
    if (plan.close) ex.keepAlive = false;
    ex.status = plan.status;
    ex.bytes = plan.size;
    // RFC 9110 §10.1.1: the client was told to wait for 100 and never got it: it may or may not
    // send the body now, so the connection cannot be reused safely.
    if (ex.expectContinue && !ex.continueSent) ex.keepAlive = false;
    if (!ex.keepAlive) this.#endAfterWrite = true;
    if (plan.stream !== null) {
      // The pump writes the head once the body has shown whether it is whole, failed or slow.
      this.#streaming = true;
      this.#streamEx = ex;
      pumpBody(plan, this.#w, () => this.#closed, ex).then(
        () =>
          this.#guard(() => {
            this.#streaming = false;
            this.#streamEx = null;
            this.#afterResponse(ex);
            this.#pump();
            this.#w.flush();
          }),
        (err) => this.#guard(() => this.#bodyFailed(ex, err)),
      );
      return;
    }
    if (plan.headLatin1) this.#w.bytes(Buffer.from(plan.head, 'latin1'));
    else this.#w.text(plan.head);
    if (plan.bytes !== null) {
      if (typeof plan.bytes === 'string') this.#w.text(plan.bytes);
      else this.#w.bytes(plan.bytes);
    }
    this.#afterResponse(ex);
  }

  #bodyFailed(ex: Exchange, err: unknown): void {
    this.#streaming = false;
    if (err instanceof BodyFailedEarly && !this.#closed) {
      // Nothing of this response was written: answer 500 in its place and go on with the
      // requests behind it, as for a handler that threw.
      this.#cfg.log.error({ err: err.cause, url: ex.req?.url }, 'response body failed before its first byte');
      const c = cannedError(new FoyerError('FOYER_INTERNAL'), {
        accept: ex.req?.headers.get('accept'),
        close: !ex.keepAlive,
        isHead: ex.isHead,
      });
      ex.status = c.status;
      ex.bytes = c.bodyBytes;
      this.#w.text(c.text);
      this.#afterResponse(ex);
      this.#pump();
      this.#w.flush();
      return;
    }
    // Mid-body failure: the client must not take a truncated body for a complete one.
    this.#cfg.log.error({ err, url: ex.req?.url }, 'response body stream failed');
    this.destroy();
  }

  #afterResponse(ex: Exchange): void {
    if (this.#onTx !== undefined) this.#done.push(ex);
    const body = ex.body;
    if (body !== null && !body.complete) {
      // The handler answered without reading everything: read the rest and drop it, so the next
      // pipelined request starts at the right byte. Without 100 Continue the client may never send it.
      body.discard();
      this.#resume(PAUSE_BODY);
      if (ex.expectContinue && !ex.continueSent) this.#endAfterWrite = true;
    }
  }

  /** Output ready now; async completions batch through the microtask queue (or, while a body streams, the next turn). */
  #scheduleFlush(): void {
    if (this.#streaming) this.#w.flushSoon();
    else this.#w.flushAfterMicrotasks();
  }

  #onDrain(): void {
    this.#writeDeadline = 0;
    this.#w.onDrain();
    this.#resume(PAUSE_WRITE);
  }

  // WriteBatchOwner
  blocked(): void {
    this.#writeDeadline = Date.now() + this.#limits.sendTimeout;
    // Stop parsing ahead only for batched responses (a client pipelining without reading);
    // a streamed body waits for drain itself, and pausing per chunk would cost two syscalls.
    if (!this.#streaming) this.#pause(PAUSE_WRITE);
  }

  guard(fn: () => void): void {
    this.#guard(fn);
  }

  #sendContinue(ex: Exchange): void {
    ex.continueSent = true;
    this.#w.text(CONTINUE);
    this.#scheduleFlush();
  }

  // ── body owner ────────────────────────────────────────────────────────────────────────────

  bodyDemand(body: RequestBody): void {
    const ex = this.#queue.find((e) => e.body === body);
    if (ex?.expectContinue && !ex.continueSent) {
      if (this.#queue[0] === ex) this.#sendContinue(ex);
      else ex.continueWanted = true;
    }
  }

  bodyDrained(_body: RequestBody): void {
    this.#resume(PAUSE_BODY);
  }

  // ── flow control ──────────────────────────────────────────────────────────────────────────

  #pause(reason: number): void {
    if (this.#paused === 0) this.#socket.pause();
    this.#paused |= reason;
  }

  #resume(reason: number): void {
    if ((this.#paused & reason) === 0) return;
    this.#paused &= ~reason;
    if (this.#paused !== 0 || this.#closed) return;
    this.#socket.resume();
    if (this.#buf !== null) {
      process.nextTick(() =>
        this.#guard(() => {
          if (this.#paused === 0 && !this.#closed) {
            this.#parse();
            this.#w.flush();
          }
        }),
      );
    }
  }

  // ── ends ──────────────────────────────────────────────────────────────────────────────────

  /** An engine error: answered in order after earlier responses, then the connection closes. */
  #reject(code: ErrorCode, head?: ParsedHead): void {
    const c = cannedError(new FoyerError(code), { close: true });
    const ex = Exchange.canned(c.text, c.status, c.bodyBytes);
    if (this.#onTx !== undefined) {
      if (head !== undefined) this.#describe(ex, head);
      else {
        ex.start = this.#buf !== null ? this.#headStart : Date.now();
        ex.peer = this.#ctxInit.remoteAddress;
        ex.rawLine = this.#buf === null ? '' : readableLine(this.#buf, this.#pos);
      }
    }
    if (this.#bodyEx !== null) this.#bodyEx.body?.fail(new FoyerError(code));
    this.#bodyEx = null;
    this.#buf = null;
    this.#stopParsing = true;
    this.#ignoreInput = true;
    this.#queue.push(ex);
    this.#pump();
    this.#w.flush();
  }

  #onEnd(): void {
    this.#readEnded = true;
    // A FIN cannot tell a half-close from a client that left. Like nginx (which logs 499), the
    // in-flight requests' signals abort so upstream work can stop; a response that is produced
    // anyway is still written, for the client that only half-closed.
    for (const ex of this.#queue) ex.ctx?.abort(new Error('client closed its side of the connection'));
    if (this.#bodyEx !== null) {
      this.#bodyEx.body?.fail(new Error('client closed the connection before the body was complete'));
      this.#bodyEx = null;
      this.#stopParsing = true;
    }
    this.#buf = null;
    if (this.#queue.length === 0 && !this.#streaming) this.#end();
  }

  #end(): void {
    if (this.#closed) return;
    this.#deadlineKind = Deadline.None;
    this.#ignoreInput = true;
    this.#socket.end();
    // A peer that never closes its side is cut after the keep-alive bound.
    this.#writeDeadline = Date.now() + Math.max(this.#limits.keepAliveTimeout, 1000);
  }

  destroy(): void {
    if (!this.#closed) this.#socket.destroy();
  }

  #onSocketClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#onTx !== undefined) {
      // Written but never handed over, or cut mid-stream: the status sent and the bytes that left.
      this.flushed();
      if (this.#streamEx !== null) this.#record(this.#streamEx);
    }
    for (const ex of this.#queue) {
      ex.ctx?.abort();
      ex.body?.fail(new Error('client disconnected'));
      this.#record(ex, CLIENT_CLOSED);
    }
    this.#queue.length = 0;
    this.#w.close();
    this.#onClose(this);
  }

  /**
   * Graceful close: finish what is in flight, answer with `Connection: close`, then end. With
   * `keepIdle` (a worker retiring during a reload) an idle connection stays open until its next
   * request, answered with `Connection: close`, or its keep-alive deadline: closing it now races a
   * client that is already sending on it (RFC 9112 §9.6), which is how nginx loses requests.
   */
  shutdown(keepIdle = false): void {
    this.#closing = true;
    for (const ex of this.#queue) ex.keepAlive = false;
    if (this.idle && !keepIdle) this.#end();
  }

  // ── deadlines (checked by the server's sweep) ─────────────────────────────────────────────

  #setDeadline(kind: Deadline, at: number): void {
    this.#deadlineKind = kind;
    this.#deadline = at;
  }

  #updateDeadline(): void {
    if (this.#closed || this.#ignoreInput) return;
    const l = this.#limits;
    if (this.#bodyEx !== null) {
      if (this.#deadlineKind !== Deadline.Body) {
        this.#bodyWindowBytes = 0;
        this.#setDeadline(Deadline.Body, Date.now() + l.bodyTimeout);
      }
    } else if (this.#buf !== null && !this.#stopParsing && (this.#paused & PAUSE_PIPELINE) === 0) {
      this.#setDeadline(Deadline.Headers, this.#headStart + l.headersTimeout);
    } else if (this.#queue.length === 0 && !this.#streaming) {
      if (this.#deadlineKind !== Deadline.Idle) this.#setDeadline(Deadline.Idle, Date.now() + l.keepAliveTimeout);
    } else this.#setDeadline(Deadline.None, 0);
  }

  /** Called by the sweep timer with the current time. */
  tick(now: number): void {
    this.#guard(() => this.#tick(now));
  }

  #tick(now: number): void {
    if (this.#closed) return;
    if (this.#writeDeadline !== 0 && now >= this.#writeDeadline) {
      this.#cfg.log.debug('closing a connection whose peer stopped reading');
      this.destroy();
      return;
    }
    if (this.#deadlineKind === Deadline.None || now < this.#deadline) return;
    switch (this.#deadlineKind) {
      case Deadline.Idle:
        this.#end();
        return;
      case Deadline.Headers:
        this.#reject('FOYER_REQUEST_TIMEOUT');
        return;
      case Deadline.Body: {
        if ((this.#paused & PAUSE_BODY) !== 0) {
          // We stopped reading, not the client: the window starts again when we resume.
          this.#setDeadline(Deadline.Body, now + this.#limits.bodyTimeout);
          this.#bodyWindowBytes = 0;
          return;
        }
        const need = Math.max(1, Math.floor((this.#limits.minBodyRate * this.#limits.bodyTimeout) / 1000));
        if (this.#bodyWindowBytes < need) {
          const ex = this.#bodyEx;
          if (ex !== null) this.#failBody(ex, 'FOYER_REQUEST_TIMEOUT');
          else this.#reject('FOYER_REQUEST_TIMEOUT');
          return;
        }
        this.#bodyWindowBytes = 0;
        this.#setDeadline(Deadline.Body, now + this.#limits.bodyTimeout);
      }
    }
  }
}

/** What could be read of a refused request's line: up to its end of line, at most 1 KiB, as latin1. */
function readableLine(buf: Buffer, pos: number): string {
  let end = Math.min(buf.length, pos + 1024);
  const cr = buf.indexOf(CR, pos);
  if (cr >= 0 && cr < end) end = cr;
  const lf = buf.indexOf(LF, pos);
  if (lf >= 0 && lf < end) end = lf;
  return buf.toString('latin1', pos, end);
}
