// The main thread's side of one offloaded request: sends the request, serves the worker's next()
// with the rest of the chain, turns the worker's answer (or failure, or silence past the timeout)
// into this middleware's result, and forwards the client going away.
import type { MessagePort } from 'node:worker_threads';
import type { Context, Next } from '../../types.ts';
import { FoyerError } from '../../util/errors.ts';
import { type Deferred, deferred } from './deferred.ts';
import { PortStreams } from './port-streams.ts';
import { unserialisable, unserialisableError } from './thread-context.ts';
import {
  type ContextView,
  errorFields,
  type FromWorker,
  fromErrorFields,
  type RequestHead,
  requestHead,
  responseHead,
  type ToWorker,
  toRequest,
  toResponse,
  transferOf,
} from './wire.ts';

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

interface AttributeSource {
  attributeEntries?(): [string, unknown][];
}

function attributesOf(ctx: Context): [string, unknown][] {
  const source = ctx as Context & AttributeSource;
  return typeof source.attributeEntries === 'function' ? source.attributeEntries() : [];
}

function applyAttributes(ctx: Context, entries: [string, unknown][]): void {
  for (const [name, value] of entries) ctx.set({ name }, value);
}

export class OffloadExchange {
  readonly #out: Deferred<Response> = deferred<Response>();
  readonly #streams: PortStreams;
  #threadId: number | undefined;
  #answered = false;
  #timedOut = false;
  #timer: NodeJS.Timeout | undefined;
  #timeout = 0;
  #portClosed = false;
  #onAbort: (() => void) | undefined;

  constructor(
    readonly port: MessagePort,
    readonly req: Request,
    readonly ctx: Context,
    readonly next: Next,
    readonly kill: (threadId: number) => void,
    readonly retryAfter: string,
  ) {
    this.#streams = new PortStreams(port, 0);
    this.#out.promise.catch(() => {}); // a rejection nobody awaits (client gone) is not unhandled
  }

  get response(): Promise<Response> {
    return this.#out.promise;
  }

  /**
   * The task's request and context, and what to transfer with them. Rejects when an attribute
   * cannot cross (named in the error). Listens for the worker and the client from here on.
   */
  async prepare(): Promise<{ req: RequestHead; ctx: ContextView; transfer: ArrayBuffer[] }> {
    const { ctx } = this;
    const attributes = attributesOf(ctx);
    if (attributes.length > 0) {
      const bad = unserialisable(attributes);
      if (bad.length > 0) throw unserialisableError('offload()', bad);
    }
    const view: ContextView = {
      remoteAddress: ctx.remoteAddress,
      remotePort: ctx.remotePort,
      localAddress: ctx.localAddress,
      localPort: ctx.localPort,
      secure: ctx.secure,
      requestId: ctx.requestId,
      remoteUser: ctx.remoteUser,
      params: { ...ctx.params },
      attributes,
    };
    const req = await requestHead(this.req, this.#streams);
    this.port.on('message', (msg: FromWorker) => this.#onMessage(msg));
    this.port.once('close', () => (this.#portClosed = true));
    this.#onAbort = () => {
      this.#post({ k: 'abort' });
      this.#fail(new Error('client disconnected'));
    };
    ctx.signal.addEventListener('abort', this.#onAbort, { once: true });
    return { req, ctx: view, transfer: transferOf(req) };
  }

  /** Lets the request body flow, once the task naming it has been handed to the pool. */
  release(id: number): void {
    this.#streams.release(id);
  }

  /** Follows the pool task: its end (or failure) ends the exchange; past `timeout` it is cut. */
  track(task: Promise<void>, queueTimeout: number, timeout: number): void {
    this.#timeout = timeout;
    this.#arm(queueTimeout);
    task.then(
      // The task's result and the port's messages travel on different channels: the worker's
      // last messages are certainly here once its end of the port has closed.
      () => (this.#portClosed ? this.#finish(undefined) : this.port.once('close', () => this.#finish(undefined))),
      (err: unknown) => this.#finish(err),
    );
  }

  #onMessage(msg: FromWorker): void {
    if (this.#streams.handle(msg)) return;
    switch (msg.k) {
      case 'start':
        // Two clocks: time spent queued or waiting for a thread to boot is the pool's (a 503 past
        // queueTimeout), time from here is the task's own (a 504 and a terminated thread).
        this.#threadId = msg.threadId;
        this.#arm(this.#timeout);
        return;
      case 'next':
        this.ctx.params = msg.params;
        applyAttributes(this.ctx, msg.attributes);
        this.#runNext(toRequest(msg.req, this.#streams));
        return;
      case 'res':
        applyAttributes(this.ctx, msg.attributes);
        // The clock stops once the response is complete (no body, or its body read or given up):
        // waitUntil work may keep the task going, but it is no longer this request's to time out,
        // and terminating the thread then would fail whatever other request it is running.
        if (msg.res.body === 0) this.#stopClock();
        this.#answer(
          toResponse(msg.res, this.#streams, () => {
            this.#stopClock();
            this.#post({ k: 'done' });
          }),
        );
        return;
      case 'err':
        this.#stopClock();
        this.#fail(fromErrorFields(msg.err));
        return;
      case 'log':
        if (LOG_LEVELS.has(msg.level)) {
          const log = this.ctx.log as unknown as Record<string, (o: unknown, m?: string) => void>;
          if (msg.obj === undefined) log[msg.level]?.call(this.ctx.log, msg.msg);
          else log[msg.level]?.call(this.ctx.log, msg.obj, msg.msg);
        }
        return;
    }
  }

  #runNext(req: Request): void {
    this.next(req)
      .then((res) => responseHead(res, this.#streams))
      .then(
        (head) => {
          this.port.postMessage({ k: 'next-res', res: head } satisfies ToWorker, transferOf(head));
          this.#streams.release(head.body);
        },
        (err: unknown) => this.#post({ k: 'next-err', err: errorFields(err) }),
      );
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    if (ms <= 0) return;
    this.#timer = setTimeout(() => this.#expire(), ms);
    this.#timer.unref();
  }

  #stopClock(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timeout = 0;
  }

  #expire(): void {
    this.#timedOut = true;
    if (this.#threadId === undefined) {
      // Still queued: no thread to stop; the worker skips it when it gets there.
      this.#post({ k: 'abort' });
      this.#fail(
        new FoyerError('FOYER_OFFLOAD_OVERLOADED', 'waited past the offload queueTimeout', {
          'retry-after': this.retryAfter,
        }),
      );
      return;
    }
    // RFC 9110 §15.6.5: the worker (our upstream) did not answer in time. A runaway loop cannot be
    // asked to stop, so its thread is terminated; the pool starts a fresh one.
    this.#fail(new FoyerError('FOYER_OFFLOAD_TIMEOUT', `thread ${this.#threadId} terminated`));
    this.#streams.destroy(new Error('offloaded task timed out'));
    this.kill(this.#threadId);
  }

  #finish(err: unknown): void {
    clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.ctx.signal.removeEventListener('abort', this.#onAbort);
    if (err !== undefined && !this.#answered) this.#fail(this.#poolError(err));
    else if (!this.#answered) this.#fail(new FoyerError('FOYER_NO_RESPONSE', 'offloaded task ended without answering'));
    this.#streams.destroy(err instanceof Error ? err : new Error('offloaded task ended'));
    this.port.close();
  }

  #poolError(err: unknown): Error {
    const message = (err as Error)?.message ?? String(err);
    if (message === 'Task queue is at limit' || message === 'No task queue available and all Workers are busy') {
      return new FoyerError('FOYER_OFFLOAD_OVERLOADED', 'offload queue full', { 'retry-after': this.retryAfter });
    }
    if (this.#timedOut) return new FoyerError('FOYER_OFFLOAD_TIMEOUT');
    // The thread died under this task (an uncaught error, exit(), resource limits, a sibling's timeout).
    return new FoyerError('FOYER_OFFLOAD_CRASHED', (err as Error)?.stack ?? message);
  }

  #answer(res: Response): void {
    if (this.#answered) {
      void res.body?.cancel().catch(() => {});
      return;
    }
    this.#answered = true;
    this.#out.resolve(res);
  }

  #fail(err: Error): void {
    if (this.#answered) return;
    this.#answered = true;
    this.#out.reject(err);
  }

  #post(msg: ToWorker): void {
    this.port.postMessage(msg);
  }
}
