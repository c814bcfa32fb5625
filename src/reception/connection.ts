// One client connection: bytes in → parsed requests → handlers (concurrently) → responses out in
// request order. This class keeps the socket's events and the connection's state; the parts live
// beside it: reading heads and bodies (request-reader.ts over input-buffer.ts, head-scan.ts and
// body-framing.ts), decisions on a head (request-admission.ts), what a handler receives
// (exchange-builder.ts), the response FIFO (pipeline-queue.ts) and deadlines
// (connection-deadlines.ts). Limits pause reading; deadlines are checked by the server's single
// sweep timer, never a timer per request.
//
// Invariants:
//  - At most one body is read at a time, that of the last exchange queued (`framing.ex`); no
//    head is parsed while it is set (checked in #dispatch).
//  - Input is parsed only while `#paused === 0` and not `ignoreInput`, never re-entrantly.
//  - Once `stopParsing` is set (a request that closes, a refusal, a broken body), bytes after it
//    are never parsed (RFC 9112 §9.6); once `ignoreInput` is set none are read.
//  - Once `#closed` is set nothing is written and no deadline fires.
import process from 'node:process';
import type { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import { type ErrorCode, FoyerError } from '../util/errors.ts';
import type { ConnectionConfig } from './connection-config.ts';
import { ConnectionDeadlines, Deadline } from './connection-deadlines.ts';
import { Exchange } from './exchange.ts';
import { ExchangeBuilder } from './exchange-builder.ts';
import type { ParsedHead } from './head-parser.ts';
import { IncomingRequest } from './incoming-request.ts';
import type { Limits } from './limits.ts';
import { PipelineQueue, type PipelineOwner } from './pipeline-queue.ts';
import { type ReaderOwner, RequestReader } from './request-reader.ts';
import { expectsContinue, persists, refusal, wantsUpgrade } from './request-admission.ts';
import { BODY_HIGH_WATER, type BodyOwner, RequestBody } from './request-body.ts';
import { cannedError } from './canned-error.ts';
import { HALF_CLOSE_GRACE_MS } from './transaction.ts';
import { WriteBatch, type WriteBatchOwner } from './write-batch.ts';
import { READ_AHEAD, READ_BUFFER, readAgain, readAsStream, readIntoShared } from './shared-reads.ts';
import { enterRead, leaveRead } from '../util/read-clock.ts';

export type { ConnectionConfig, ErrorHandler, FetchHandler, UpgradeHandler } from './connection-config.ts';

// Why reading is paused; it resumes when no reason is left.
const PAUSE_PIPELINE = 1;
const PAUSE_BODY = 2;
const PAUSE_WRITE = 4;

export class Connection implements BodyOwner, WriteBatchOwner, PipelineOwner, ReaderOwner {
  readonly #socket: Socket;
  readonly #cfg: ConnectionConfig;
  readonly #limits: Limits;
  readonly #onClose: (c: Connection) => void;
  readonly #w: WriteBatch;
  readonly #out: PipelineQueue;
  readonly #timers: ConnectionDeadlines;
  readonly #build: ExchangeBuilder;
  readonly #rd: RequestReader;

  #requests = 0;
  /** Date.now() after the last read was handled: tells a half-close from a client that gave up (HALF_CLOSE_GRACE_MS). */
  #lastInputAt = 0;
  /**
   * A read is being handled. Deadlines it starts count from the clock read at the end of its work
   * (ConnectionDeadlines.settle), the one that #lastInputAt takes: two clock reads per read, not
   * one more per deadline (reading the clock costs about 55 ns here).
   */
  #inRead = false;

  #paused = 0;
  /**
   * Reads go to the shared read buffer (shared-reads.ts), where pause() stops the socket at once: a
   * paused connection reads ahead itself, up to READ_AHEAD (see #readAhead), as a paused stream does.
   */
  readonly #shared: boolean;
  /** Reading was stopped at the socket: a shared-reads connection that read ahead READ_AHEAD bytes (#onData said false). */
  #stopped = false;
  #readEnded = false;
  #closing = false;
  #closed = false;

  constructor(socket: Socket, cfg: ConnectionConfig, onClose: (c: Connection) => void) {
    this.#socket = socket;
    this.#cfg = cfg;
    this.#limits = cfg.limits;
    this.#onClose = onClose;
    this.#build = new ExchangeBuilder(socket, cfg);
    this.#timers = new ConnectionDeadlines(cfg.limits);
    this.#rd = new RequestReader(this, cfg.limits);
    this.#w = new WriteBatch(socket, this);
    this.#out = new PipelineQueue(this.#w, this, cfg);
    socket.setNoDelay(true);
    this.#shared = readIntoShared(socket, (bytes) => this.#onData(bytes));
    if (!this.#shared) socket.on('data', (chunk: Buffer) => void this.#onData(chunk));
    socket.on('end', () => this.guard(() => this.#onEnd()));
    socket.on('drain', () => this.guard(() => this.#onDrain()));
    // A socket error closes the connection. Most come from node destroying the socket already; a TLS
    // error (a refused renegotiation) does not, and would leave the connection open for good.
    socket.on('error', (err) => {
      this.#cfg.log.debug({ err }, 'connection error');
      socket.destroy();
    });
    socket.on('close', () => this.#onSocketClose());
    this.#timers.set(Deadline.Idle, Date.now() + this.#limits.headersTimeout);
  }

  get idle(): boolean {
    return this.#out.length === 0 && this.#rd.framing.ex === null && !this.#headPending() && !this.#out.streaming;
  }

  /** Reading a request head, nothing in flight (nginx's stub_status "Reading"). */
  get reading(): boolean {
    return this.#out.length === 0 && this.#headPending() && !this.#out.streaming;
  }

  /** Input holds the start of a head (not only an empty line's lone CR, RFC 9112 §2.2: see HeadScan.begun). */
  #headPending(): boolean {
    return this.#rd.input.buf !== null && this.#rd.scan.begun;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ── input ─────────────────────────────────────────────────────────────────────────────────

  /** False: stop reading at the socket (shared reads; see #readAhead). */
  #onData(chunk: Buffer): boolean {
    this.#inRead = true;
    try {
      this.#receive(chunk);
    } catch (err) {
      this.#crashed(err);
    } finally {
      this.#inRead = false;
      this.#rd.input.keep();
    }
    return !this.#stopped;
  }

  /** An engine bug must cost one connection, never the process. */
  #crashed(err: unknown): void {
    this.#cfg.log.error({ err }, 'internal error on a connection; closing it');
    this.destroy();
  }

  #receive(chunk: Buffer): void {
    if (this.#closed || this.#rd.ignoreInput) return;
    if (this.#paused !== 0) {
      this.#readAhead(chunk);
      return;
    }
    const now = Date.now();
    this.#rd.scan.receivedAt = now;
    this.#rd.input.push(chunk);
    enterRead(now);
    try {
      this.#parse();
    } finally {
      leaveRead();
    }
    // A stream that just started sends its head with its first chunk (see body-pump.ts).
    if (this.#out.streaming) this.#w.flushSoon();
    else this.#w.flush();
    // After the work on this read: a FIN that came with it is seen at once, however long that took;
    // and the deadlines it started count from here, not from before its handlers ran.
    const done = Date.now();
    this.#lastInputAt = done;
    this.#timers.settle(done);
  }

  /**
   * A read while paused (shared reads only: a paused stream emits no 'data'): kept for when reading
   * resumes, not parsed; past READ_AHEAD bytes held the socket stops. Its time counts as input, so
   * that a FIN right behind it is a half-close, not a client that gave up (#onEnd).
   */
  #readAhead(chunk: Buffer): void {
    const input = this.#rd.input;
    input.push(chunk);
    this.#lastInputAt = Date.now();
    // Stopped before the next read could take the input past READ_AHEAD (a read is up to READ_BUFFER's size).
    if (input.unparsed > READ_AHEAD - READ_BUFFER.length) this.#stopped = true;
  }

  #parse(): void {
    if (this.#rd.parse()) this.#updateDeadline();
    if (this.#readEnded && !this.#closed) this.#afterEndedParse();
  }

  /**
   * Input buffered at the FIN, parsed now that the pipeline has room (see #onEnd): what is left
   * cannot become a request, and a body whose bytes ran out (reading paused for its handler) can
   * never come whole.
   */
  #afterEndedParse(): void {
    const bodyStarved = this.#rd.framing.ex !== null && this.#rd.input.buf === null;
    if (this.#paused === 0 || bodyStarved) {
      if (this.#rd.framing.ex !== null) this.#failUnfinishedBody();
      this.#rd.input.buf = null;
      if (this.#out.length === 0 && !this.#out.streaming) {
        this.#w.flush();
        this.end();
      }
    }
  }

  // ReaderOwner
  pipelineFull(): boolean {
    // A client that does not read its responses gets no more of its requests parsed until it does:
    // each parsed request adds a response to a queue nothing drains. Responses made synchronously
    // are batched, so a blocked write shows only at a flush (blocked() sets PAUSE_WRITE): past
    // READ_AHEAD bytes of them, flush now (one client's 200 KB of tiny pipelined requests held
    // 116 MB of queued responses before).
    if ((this.#paused & PAUSE_WRITE) !== 0) return true;
    if (this.#w.pending >= READ_AHEAD) {
      this.#w.flush();
      if ((this.#paused & PAUSE_WRITE) !== 0) return true;
    }
    if (this.#out.length < this.#limits.maxPipelinedRequests) return false;
    this.#pause(PAUSE_PIPELINE);
    return true;
  }

  headParsed(head: ParsedHead): void {
    this.#dispatch(head);
  }

  refuse(code: ErrorCode, head?: ParsedHead): void {
    this.#reject(code, head);
  }

  bodyRead(ex: Exchange, bytes: number): void {
    this.#timers.bodyBytes += bytes;
    if (this.#rd.framing.ex === null) this.#resume(PAUSE_BODY);
    else if (ex.body!.queued >= BODY_HIGH_WATER && !ex.body!.discarding) this.#pause(PAUSE_BODY);
  }

  /** A framing error inside a body: the body fails, the exchange answers with the error and the connection closes. */
  bodyBroken(ex: Exchange, code: ErrorCode): void {
    const err = new FoyerError(code);
    ex.body?.fail(err);
    this.#rd.stop();
    this.#out.answer(ex, err);
    this.#w.flush();
  }

  #dispatch(head: ParsedHead): void {
    if (this.#rd.framing.ex !== null) throw new Error('engine invariant broken: a head parsed inside a body');
    const url = this.#build.url(head);
    if (url === undefined) {
      // A target or Host the URL parser refuses would make `new URL(req.url)` throw in the app.
      this.#reject(this.#build.refusal);
      return;
    }
    this.#requests++;
    // A request ends any idle time: the keep-alive deadline starts again when the connection next
    // goes idle, not from the first idle moment of a connection that has been busy since.
    this.#timers.busy();
    const keepAlive = persists(head, this.#requests, this.#limits, this.#closing);
    // A hand-over only when nothing is in flight: responses before it must keep their order.
    if (wantsUpgrade(head) && this.#cfg.upgrade !== undefined && this.#out.length === 0 && !this.#out.streaming) {
      this.#handOver(head, url);
      return;
    }
    const refused = refusal(head);
    if (refused !== undefined) {
      this.#reject(refused, head);
      return;
    }
    const hasBody = head.chunked || head.contentLength > 0;
    const body = hasBody ? new RequestBody(this, head.chunked ? -1 : head.contentLength) : null;
    const ex = this.#build.exchange(head, url, body, keepAlive, this.#rd.scan.startedAt);
    ex.expectContinue = hasBody && expectsContinue(head);
    this.#out.push(ex);
    if (body !== null) {
      this.#rd.framing.start(ex, head, this.#limits);
      this.#timers.bodyBytes = 0;
    }
    if (!keepAlive) this.#rd.stopParsing = true;
    this.#out.run(ex, this.#cfg.fetch);
  }

  #handOver(head: ParsedHead, url: string): void {
    const rest = this.#rd.input.takeRest();
    this.#rd.ignoreInput = true;
    this.#closed = true; // for the engine; the socket itself lives on with its new owner
    this.#timers.kind = Deadline.None;
    const socket = this.#socket;
    socket.removeAllListeners('data');
    readAsStream(socket);
    socket.removeAllListeners('end');
    socket.removeAllListeners('drain');
    socket.removeAllListeners('close');
    this.#onClose(this);
    if (this.#shared) {
      if (this.#stopped) readAgain(socket);
    } else if (this.#paused !== 0) socket.resume();
    const ctx = this.#build.context(head);
    const req = new IncomingRequest(head.method, url, head.headers, null, ctx, head.target);
    if (this.#cfg.onTransaction !== undefined) {
      // The new owner answers; nginx logs a WebSocket hand-over as 101.
      const ex = new Exchange(req, ctx, null, false, head.minor, false);
      this.#build.describe(ex, head, this.#rd.scan.startedAt);
      this.#out.record(ex, 101);
    }
    try {
      this.#cfg.upgrade!(req as unknown as Request, socket, rest);
    } catch (err) {
      // The engine let go of the socket above (no listeners, no deadlines, marked closed): a hook
      // that throws before it took the socket over would leave it open for good.
      this.#cfg.log.error({ err }, 'upgrade handler failed; closing its connection');
      socket.destroy();
    }
  }

  // ── owner callbacks (write batch, pipeline queue, request bodies) ─────────────────────────

  flushed(): void {
    this.#out.flushed();
  }

  blocked(): void {
    this.#timers.writeBlocked();
    // Stop parsing ahead only for batched responses (a client pipelining without reading);
    // a streamed body waits for drain itself, and pausing per chunk would cost two syscalls.
    if (!this.#out.streaming) this.#pause(PAUSE_WRITE);
  }

  guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#crashed(err);
    }
  }

  queueRoom(): void {
    this.#resume(PAUSE_PIPELINE);
  }

  bodySkipped(): void {
    this.#resume(PAUSE_BODY);
  }

  outputIdle(): void {
    if ((this.#readEnded || this.#closing) && this.#rd.framing.ex === null && this.#rd.input.buf === null) {
      this.#w.flush();
      this.end();
      return;
    }
    this.#updateDeadline();
  }

  bodyDemand(body: RequestBody): void {
    this.#out.bodyDemand(body);
  }

  bodyDrained(_body: RequestBody): void {
    this.#resume(PAUSE_BODY);
  }

  #onDrain(): void {
    this.#timers.writeDrained();
    this.#w.onDrain();
    this.#resume(PAUSE_WRITE);
  }

  // ── flow control ──────────────────────────────────────────────────────────────────────────

  #pause(reason: number): void {
    // A shared-reads socket reads on (#readAhead): stopping it would hide a FIN or a reset.
    if (this.#paused === 0 && !this.#shared) this.#socket.pause();
    this.#paused |= reason;
  }

  #resume(reason: number): void {
    if ((this.#paused & reason) === 0) return;
    this.#paused &= ~reason;
    if (this.#paused !== 0 || this.#closed) return;
    if (!this.#shared) this.#socket.resume();
    else if (this.#stopped) {
      this.#stopped = false;
      // The time reading was stopped is the server's: a FIN read now came with the bytes read ahead
      // (a half-close, see #onEnd), not after a client's silence.
      this.#lastInputAt = Date.now();
      readAgain(this.#socket);
    }
    if (this.#rd.input.buf !== null) {
      process.nextTick(() =>
        this.guard(() => {
          if (this.#paused === 0 && !this.#closed) {
            // Input read before the pause begins its heads now: the time reading stopped is the
            // server's, not the client's, and must not count against its headers timeout.
            this.#rd.scan.receivedAt = 0;
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
    if (this.#cfg.onTransaction !== undefined) {
      if (head !== undefined) this.#build.describe(ex, head, this.#rd.scan.startedAt);
      else {
        ex.start = this.#rd.input.buf !== null ? this.#rd.scan.startedAt : Date.now();
        ex.peer = this.#build.peer;
        ex.rawLine = this.#rd.input.readableLine();
      }
    }
    const bodyEx = this.#rd.framing.ex;
    if (bodyEx !== null) bodyEx.body?.fail(new FoyerError(code));
    this.#rd.stop();
    this.#out.push(ex);
    this.#out.pump();
    this.#w.flush();
  }

  #onEnd(): void {
    this.#readEnded = true;
    // The rule is in transaction.ts (HALF_CLOSE_GRACE_MS): a FIN with the request's last bytes is
    // a half-close (served, logged with its status); after a silence, the client gave up: the
    // in-flight signals abort (499). A response produced anyway is still written.
    const gaveUp = Date.now() - this.#lastInputAt >= HALF_CLOSE_GRACE_MS;
    if (gaveUp) this.#out.abortAll(new Error('client closed its side of the connection'));
    // A request whose body never came whole was not sent: its client is gone whatever the timing.
    // Unless the rest of it may be in the input read ahead while paused: #afterEndedParse fails it
    // if the bytes run out.
    const held = !gaveUp && this.#paused !== 0 && this.#rd.input.buf !== null;
    if (this.#rd.framing.ex !== null && !held) this.#failUnfinishedBody();
    // Requests buffered whole behind a full pipeline (or a client that does not read) were sent
    // before the FIN: they are answered as they come up (see #parse). Unless the client gave up.
    if (gaveUp || this.#paused === 0) this.#rd.input.buf = null;
    if (this.#out.length === 0 && !this.#out.streaming && this.#rd.input.buf === null) this.end();
  }

  /** The body being read can no longer come whole: its request fails, and nothing after it is parsed. */
  #failUnfinishedBody(): void {
    const bodyEx = this.#rd.framing.ex!;
    bodyEx.ctx?.abort(new Error('client closed the connection before the body was complete'));
    bodyEx.body?.fail(new Error('client closed the connection before the body was complete'));
    this.#rd.framing.stop();
    this.#rd.stopParsing = true;
    this.#rd.input.buf = null;
  }

  end(): void {
    if (this.#closed) return;
    this.#timers.kind = Deadline.None;
    this.#rd.ignoreInput = true;
    this.#socket.end();
    this.#timers.lingering();
  }

  destroy(): void {
    if (!this.#closed) this.#socket.destroy();
  }

  #onSocketClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out.socketClosed();
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
    if (this.#out.closeAfterQueued()) {
      // The last request queued is answered with close: no request after it is read (RFC 9112
      // §9.6), so its client sends those again on another connection. A body being read is still read.
      this.#rd.stopParsing = true;
      if (this.#rd.framing.ex === null) this.#rd.input.buf = null;
    }
    if (this.idle && !keepIdle) this.end();
  }

  // ── deadlines (checked by the server's sweep) ─────────────────────────────────────────────

  #updateDeadline(): void {
    if (this.#closed || this.#rd.ignoreInput) return;
    const t = this.#timers;
    if (this.#rd.framing.ex !== null) t.readingBody(this.#inRead);
    // Input the server holds unparsed (a full pipeline, a client still reading earlier responses):
    // the client owes nothing, neither the rest of a head nor a next request. A client that stops
    // reading has the write deadline (sendTimeout). Without this, requests read ahead behind a
    // large response got a 408, or the connection closed as idle, once the client took longer than
    // headersTimeout or keepAliveTimeout to read it.
    else if (this.#rd.input.buf !== null && (this.#paused & (PAUSE_PIPELINE | PAUSE_WRITE)) !== 0)
      t.set(Deadline.None, 0);
    else if (this.#headPending() && !this.#rd.stopParsing) t.readingHead(this.#rd.scan.startedAt);
    else if (this.#out.length === 0 && !this.#out.streaming) t.idle(this.#inRead);
    else t.set(Deadline.None, 0);
  }

  /** Called by the sweep timer with the current time. */
  tick(now: number): void {
    this.guard(() => this.#tick(now));
  }

  #tick(now: number): void {
    if (this.#closed) return;
    switch (this.#timers.due(now)) {
      case Deadline.Write:
        this.#cfg.log.debug('closing a connection whose peer stopped reading');
        this.destroy();
        return;
      case Deadline.Idle:
        this.end();
        return;
      case Deadline.Headers:
        this.#reject('FOYER_REQUEST_TIMEOUT');
        return;
      case Deadline.Body:
        // We stopped reading, not the client: the window starts again when we resume.
        if (this.#timers.bodyTooSlow(now, (this.#paused & PAUSE_BODY) !== 0)) {
          const ex = this.#rd.framing.ex;
          if (ex !== null) this.bodyBroken(ex, 'FOYER_REQUEST_TIMEOUT');
          else this.#reject('FOYER_REQUEST_TIMEOUT');
        }
    }
  }
}
