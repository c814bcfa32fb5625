// The in-order response queue of one connection (seed 003's FIFO): handlers run concurrently,
// responses leave in request order (RFC 9112 §9.3.2). It turns handler results into responses,
// writes the ready ones at the head of the queue, streams a body, and tells the transaction
// observer when each exchange is over. The connection owns the socket and decides what comes in.
import { Buffer } from 'node:buffer';
import type { Context, MaybePromise } from '../types.ts';
import { FoyerError, toHttpError } from '../util/errors.ts';
import { BodyFailedEarly, pumpBody } from './body-pump.ts';
import type { ConnectionConfig } from './connection-config.ts';
import type { Exchange } from './exchange.ts';
import { discardBody, NativeResponse } from './light-response.ts';
import type { RequestBody } from './request-body.ts';
import { cannedError } from './canned-error.ts';
import { type Plan, planResponse, ResponseHeaderError } from './response-head.ts';
import { CLIENT_CLOSED, type TransactionHook } from './transaction.ts';
import type { WriteBatch } from './write-batch.ts';

/** What the queue needs of its connection. */
export interface PipelineOwner {
  /** The socket closed (or was handed over): nothing more is written. */
  readonly closed: boolean;
  /** The queue is below the pipelining limit: reading may go on. */
  queueRoom(): void;
  /** A handler answered without reading its whole body, which is now read and dropped. */
  bodySkipped(): void;
  /** Nothing is queued or streaming any more. */
  outputIdle(): void;
  /** The last response (one with `Connection: close`) was written: end the connection. */
  end(): void;
  /** A response failed mid-body: the client must see the connection cut. */
  destroy(): void;
  /** Runs an async completion so that an engine bug costs the connection, never the process. */
  guard(fn: () => void): void;
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

export class PipelineQueue {
  readonly #q: Exchange[] = [];
  readonly #w: WriteBatch;
  readonly #owner: PipelineOwner;
  readonly #cfg: ConnectionConfig;
  readonly #maxQueued: number;
  readonly #onTx: TransactionHook | undefined;
  readonly #isClosed = (): boolean => this.#owner.closed;
  #streaming = false;
  #streamEx: Exchange | null = null;
  /** The exchange just written closes the connection: nothing behind it is written. */
  #endAfterWrite = false;
  /** Responses queued in the write batch, recorded once it is handed to the socket. The slots are
   * reused: `length = 0` is a runtime call per flush and gives the backing store up. */
  readonly #done: (Exchange | null)[] = [];
  #doneCount = 0;

  constructor(w: WriteBatch, owner: PipelineOwner, cfg: ConnectionConfig) {
    this.#w = w;
    this.#owner = owner;
    this.#cfg = cfg;
    this.#maxQueued = cfg.limits.maxPipelinedRequests;
    this.#onTx = cfg.onTransaction;
  }

  /** Exchanges whose responses have not started leaving. */
  get length(): number {
    return this.#q.length;
  }

  /** A response body is streaming: the exchanges behind it wait. */
  get streaming(): boolean {
    return this.#streaming;
  }

  push(ex: Exchange): void {
    this.#q.push(ex);
  }

  /** Calls the handler (while the connection parses a read, and flushes after it); its response (or failure) is queued whenever it comes. */
  run(ex: Exchange, fetch: (req: Request, ctx: Context) => MaybePromise<Response>): void {
    let result: MaybePromise<Response>;
    try {
      result = fetch(ex.req as unknown as Request, ex.ctx!);
    } catch (err) {
      this.#handlerFailed(ex, err);
      return;
    }
    // Answered at once: the connection flushes when its read is parsed (every response of one read
    // leaves in one write), so no flush is scheduled for it.
    if (result instanceof NativeResponse) this.#respond(ex, result, false);
    else if (result !== null && typeof (result as Promise<Response>)?.then === 'function') {
      (result as Promise<Response>).then(
        (r) => this.#owner.guard(() => this.#respond(ex, r)),
        (err) => this.#owner.guard(() => this.#handlerFailed(ex, err)),
      );
    } else this.#respond(ex, result);
  }

  /** The engine answers `ex` with an error of its own (a body framing error) and closes after it. */
  answer(ex: Exchange, err: FoyerError): void {
    if (!ex.written) {
      const c = cannedError(err, { close: true, isHead: ex.isHead });
      ex.canned = c.text;
      ex.status = c.status;
      ex.bytes = c.bodyBytes;
      ex.keepAlive = false;
      ex.ready = true;
      this.pump();
    } else this.#endAfterWrite = true;
  }

  #respond(ex: Exchange, res: unknown, scheduleFlush = true): void {
    if (ex.ready || this.#owner.closed) {
      // The engine already answered (a body framing error), or the client left first: drop the
      // late response's stream, so that what feeds it (a php-fpm child, a temp file) is let go.
      if (res instanceof NativeResponse) discardBody(res);
      return;
    }
    if (!(res instanceof NativeResponse)) {
      this.#handlerFailed(ex, new TypeError('the handler did not return a Response'));
      return;
    }
    ex.response = res;
    ex.ready = true;
    if (this.#q[0] === ex) {
      this.pump();
      if (scheduleFlush) this.#scheduleFlush();
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
          this.#owner.guard(() =>
            res instanceof NativeResponse ? this.#respond(ex, res) : this.#defaultError(ex, err),
          ),
        (e) => this.#owner.guard(() => this.#defaultError(ex, e)),
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
    const log = this.#cfg.log;
    const requestId = ex.ctx?.requestId;
    // A handler failing because its client left (its body read was cut) is not a server error.
    if (ex.ctx?.aborted) log.debug({ err, url: ex.req?.url, requestId }, 'handler failed after the client left');
    else if (c.status >= 500) log.error({ err, url: ex.req?.url, requestId }, 'handler failed');
    ex.canned = c.text;
    ex.status = c.status;
    ex.bytes = c.bodyBytes;
    if (close) ex.keepAlive = false;
    ex.ready = true;
    if (this.#q[0] === ex) {
      this.pump();
      this.#scheduleFlush();
    }
  }

  /** Writes ready responses from the head of the queue, in order, until one is not ready or streams. */
  pump(): void {
    const q = this.#q;
    while (!this.#streaming && !this.#owner.closed) {
      const ex = q[0];
      if (ex === undefined) break;
      if (!ex.ready) {
        if (ex.continueWanted && !ex.continueSent) this.#sendContinue(ex);
        break;
      }
      q.shift();
      this.#write(ex);
      if (this.#endAfterWrite) break;
    }
    if (q.length < this.#maxQueued) this.#owner.queueRoom();
    if (this.#endAfterWrite && !this.#streaming) {
      // Requests pipelined behind a response that closed the connection: their handlers may have
      // run, but nothing more is written (RFC 9112 §9.6). Told and logged as for a client that left.
      this.#dropQueued();
      this.#w.flush();
      this.#owner.end();
      return;
    }
    if (q.length === 0 && !this.#streaming) this.#owner.outputIdle();
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
    // RFC 9110 §10.1.1: the client was told to wait for 100 and never got it: it may or may not
    // send the body now, so the connection cannot be reused safely, and the head says so.
    if (ex.expectContinue && !ex.continueSent) ex.keepAlive = false;
    let plan: Plan;
    try {
      const id = this.#cfg.requestIdHeader === true ? ex.ctx?.requestId : undefined;
      plan = planResponse(res, ex.isHead, ex.minor, ex.keepAlive, id);
    } catch (err) {
      if (!(err instanceof ResponseHeaderError)) throw err;
      this.#cfg.log.error({ err: err.message, url: ex.req?.url }, 'invalid response header from handler');
      discardBody(res);
      this.#answerInstead(ex, 'FOYER_BAD_RESPONSE_HEADER');
      if (!ex.keepAlive) this.#endAfterWrite = true;
      this.#afterResponse(ex);
      return;
    }
    if (plan.close) ex.keepAlive = false;
    ex.status = plan.status;
    ex.bytes = plan.size;
    if (!ex.keepAlive) this.#endAfterWrite = true;
    if (plan.stream !== null) {
      // The pump writes the head once the body has shown whether it is whole, failed or slow.
      this.#streaming = true;
      this.#streamEx = ex;
      pumpBody(plan, this.#w, this.#isClosed, ex).then(
        () =>
          this.#owner.guard(() => {
            this.#streaming = false;
            this.#streamEx = null;
            this.#afterResponse(ex);
            this.pump();
            this.#w.flush();
          }),
        (err) => this.#owner.guard(() => this.#bodyFailed(ex, err)),
      );
      return;
    }
    if (plan.headLatin1) this.#w.bytes(Buffer.from(plan.head, 'latin1'));
    else this.#w.ascii(plan.head);
    if (plan.bytes !== null) {
      // A string whose UTF-8 is as long as it is has only ASCII in it (any other char takes two
      // bytes or more per UTF-16 unit): one byte per char, as the head.
      if (typeof plan.bytes === 'string')
        if (plan.size === plan.bytes.length) this.#w.ascii(plan.bytes);
        else this.#w.text(plan.bytes);
      else this.#w.bytes(plan.bytes);
    }
    this.#afterResponse(ex);
  }

  /** Writes the catalogue's rendering of `code` in place of a response that cannot be sent. */
  #answerInstead(ex: Exchange, code: 'FOYER_BAD_RESPONSE_HEADER' | 'FOYER_INTERNAL'): void {
    const c = cannedError(new FoyerError(code), {
      accept: ex.req?.headers.get('accept'),
      close: !ex.keepAlive,
      isHead: ex.isHead,
    });
    ex.status = c.status;
    ex.bytes = c.bodyBytes;
    this.#w.text(c.text);
  }

  #bodyFailed(ex: Exchange, err: unknown): void {
    this.#streaming = false;
    if (err instanceof BodyFailedEarly && !this.#owner.closed) {
      // Nothing of this response was written: answer 500 in its place and go on with the
      // requests behind it, as for a handler that threw.
      this.#cfg.log.error({ err: err.cause, url: ex.req?.url }, 'response body failed before its first byte');
      this.#answerInstead(ex, 'FOYER_INTERNAL');
      this.#afterResponse(ex);
      this.pump();
      this.#w.flush();
      return;
    }
    // Mid-body failure: the client must not take a truncated body for a complete one.
    this.#cfg.log.error({ err, url: ex.req?.url }, 'response body stream failed');
    this.#owner.destroy();
  }

  #afterResponse(ex: Exchange): void {
    if (this.#onTx !== undefined) this.#done[this.#doneCount++] = ex;
    const body = ex.body;
    if (body !== null && !body.complete) {
      // The handler answered without reading everything: read the rest and drop it, so the next
      // pipelined request starts at the right byte. Without 100 Continue the client may never send it.
      body.discard();
      this.#owner.bodySkipped();
      if (ex.expectContinue && !ex.continueSent) this.#endAfterWrite = true;
    }
  }

  /** Output ready now; async completions batch through the microtask queue (or, while a body streams, the next turn). */
  #scheduleFlush(): void {
    if (this.#streaming) this.#w.flushSoon();
    else this.#w.flushAfterMicrotasks();
  }

  #sendContinue(ex: Exchange): void {
    ex.continueSent = true;
    this.#w.ascii(CONTINUE);
    this.#scheduleFlush();
  }

  /** A handler started reading its body: RFC 9110 §10.1.1's 100 Continue goes out now, or when its turn comes. */
  bodyDemand(body: RequestBody): void {
    const ex = this.#q.find((e) => e.body === body);
    if (ex?.expectContinue && !ex.continueSent) {
      if (this.#q[0] === ex) this.#sendContinue(ex);
      else ex.continueWanted = true;
    }
  }

  // ── transaction records ───────────────────────────────────────────────────────────────────

  /** Tells the observer once; `status` overrides (499 for a client that left first). */
  record(ex: Exchange, status = 0, now = Date.now()): void {
    const onTx = this.#onTx;
    if (ex.recorded || onTx === undefined) return;
    ex.recorded = true;
    ex.end = now;
    if (status !== 0) ex.status = status;
    else if (ex.clientGone) ex.status = CLIENT_CLOSED;
    try {
      onTx(ex);
    } catch (err) {
      this.#cfg.log.error({ err }, 'transaction observer failed');
    }
  }

  /** The write batch reached the socket: the responses in it are over. */
  flushed(): void {
    const n = this.#doneCount;
    if (n === 0) return;
    this.#doneCount = 0;
    const done = this.#done;
    // One clock read for every response of the write (they left together).
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const ex = done[i]!;
      done[i] = null;
      this.record(ex, 0, now);
    }
  }

  // ── the connection's ends ─────────────────────────────────────────────────────────────────

  /** The client gave up waiting (see HALF_CLOSE_GRACE_MS): in-flight handlers' signals abort (responses are still written). */
  abortAll(reason: Error): void {
    for (const ex of this.#q) ex.ctx?.abort(reason);
  }

  /** Graceful close: the last queued response says `Connection: close`; false when none is queued. */
  closeAfterQueued(): boolean {
    // RFC 9112 §9.6: the response that says close is the last one sent. Every request already
    // queued has run its handler; each is answered, and the last one closes.
    const last = this.#q[this.#q.length - 1];
    if (last === undefined) return false;
    if (last.canned !== undefined && last.keepAlive) {
      // A handler's failure rendered while the connection could stay open: its head must say close
      // now (the canned text is a whole response; the line goes after its status line).
      const at = last.canned.indexOf('\r\n') + 2;
      last.canned = `${last.canned.slice(0, at)}connection: close\r\n${last.canned.slice(at)}`;
    }
    last.keepAlive = false;
    return true;
  }

  /** The socket closed: what was written or streaming is recorded as sent, the rest as 499. */
  socketClosed(): void {
    if (this.#onTx !== undefined) {
      // Written but never handed over, or cut mid-stream: the status sent and the bytes that left.
      this.flushed();
      if (this.#streamEx !== null) this.record(this.#streamEx);
    }
    // The response being streamed: its handler learns the client left (an idle SSE stream would
    // otherwise wait for its next event to find out), and its body is no longer waited for.
    const streaming = this.#streamEx;
    if (streaming !== null) {
      streaming.ctx?.abort();
      streaming.cancelBody?.();
    }
    this.#dropQueued();
  }

  /** Exchanges still queued will never be answered: their handlers learn it, their bodies' sources are released, each is logged. */
  #dropQueued(): void {
    const q = this.#q;
    for (const ex of q) {
      ex.ctx?.abort();
      ex.body?.fail(new Error('client disconnected'));
      // A pipelined response waiting its turn will never be written: release its body's source.
      if (ex.response !== undefined && !ex.written) discardBody(ex.response);
      this.record(ex, CLIENT_CLOSED);
    }
    q.length = 0;
  }
}
