// Byte streams over one MessagePort, both ways, with credit-based backpressure: the sender keeps at
// most WINDOW bytes in flight and the receiver returns credit only as its consumer pulls, so a slow
// reader on one side holds the producer on the other (a body is never buffered whole in between).
// Several streams share a port (request body, next() bodies, response body), told apart by id.
import { ReadableStream } from 'node:stream/web';
import type { ReadableStreamReadResult } from 'node:stream/web';
import type { MessagePort } from 'node:worker_threads';
import { concatBytes } from '../../util/concat-bytes.ts';

/** Bytes a sender may have posted that the receiving consumer has not pulled yet. */
export const WINDOW = 256 * 1024;

export type StreamMessage =
  | { k: 'chunk'; id: number; b: Uint8Array }
  | { k: 'end'; id: number }
  | { k: 'fail'; id: number; reason: string }
  | { k: 'credit'; id: number; n: number }
  | { k: 'cancel'; id: number };

interface Outgoing {
  credit: number;
  wake: (() => void) | undefined;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  cancelled: boolean;
}

interface Incoming {
  queue: Uint8Array[];
  controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  waiting: boolean;
  state: 'open' | 'ended' | 'failed';
  reason: Error | undefined;
  onSettle: (() => void) | undefined;
}

/**
 * A chunk the sender owns outright, so it can be transferred rather than cloned. Chunks are copied
 * once first: a view may share its ArrayBuffer with other data (a socket read holding the next
 * pipelined request, a cached file), and transferring that buffer would detach it under its owner.
 */
function owned(chunk: Uint8Array): Uint8Array {
  return new Uint8Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
}

function settle(inc: Incoming): void {
  const f = inc.onSettle;
  inc.onSettle = undefined;
  f?.();
}

export class PortStreams {
  #next: number;
  readonly #out = new Map<number, Outgoing>();
  readonly #in = new Map<number, Incoming>();

  /** `side` keeps the two ends' ids apart: the main thread uses even ids, the worker odd ones. */
  constructor(
    readonly port: MessagePort,
    side: 0 | 1,
  ) {
    this.#next = side;
  }

  readonly #gates = new Map<number, () => void>();

  /**
   * Lets stream `id` start flowing. Call it after posting the message that names the stream: a
   * chunk must never overtake its head, or the other side drops it as belonging to no stream.
   */
  release(id: number): void {
    const open = this.#gates.get(id);
    this.#gates.delete(id);
    open?.();
  }

  /** Pumps `body` to the other side once released; returns the id the other side receives it by. */
  send(body: ReadableStream<Uint8Array>): number {
    return this.#start(body.getReader(), []);
  }

  /**
   * A body that is already complete in memory (what `new Response(string)` or a small buffered
   * body is) travels inline with its head: no stream, no credit, no end message, a third of the
   * messages of a small exchange. Anything still producing by the next macrotask is streamed.
   */
  async sendOrInline(body: ReadableStream<Uint8Array>): Promise<{ id: number; bytes: Uint8Array | undefined }> {
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    let tick = false;
    const immediate = new Promise<void>((resolve) =>
      setImmediate(() => {
        tick = true;
        resolve();
      }),
    );
    while (!tick && size <= WINDOW) {
      const read = reader.read();
      const first = await Promise.race([read, immediate]);
      if (first === undefined) return { id: this.#start(reader, chunks, read), bytes: undefined };
      if (first.done) return { id: 0, bytes: owned(concatBytes(chunks, size)) };
      chunks.push(first.value);
      size += first.value.byteLength;
    }
    return { id: this.#start(reader, chunks), bytes: undefined };
  }

  #start(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    ahead: Uint8Array[],
    pending?: Promise<ReadableStreamReadResult<Uint8Array>>,
  ): number {
    const id = (this.#next += 2);
    const out: Outgoing = { credit: WINDOW, wake: undefined, reader, cancelled: false };
    this.#out.set(id, out);
    const gate = new Promise<void>((resolve) => this.#gates.set(id, resolve));
    void gate.then(() => this.#pump(id, out, ahead, pending));
    return id;
  }

  async #pump(
    id: number,
    out: Outgoing,
    ahead: Uint8Array[] = [],
    pending?: Promise<ReadableStreamReadResult<Uint8Array>>,
  ): Promise<void> {
    try {
      for (;;) {
        if (out.credit <= 0) await new Promise<void>((resolve) => (out.wake = resolve));
        if (out.cancelled) return;
        const early = ahead.shift();
        const { done, value } =
          early !== undefined ? { done: false as const, value: early } : await (pending ?? out.reader.read());
        if (early === undefined) pending = undefined;
        if (out.cancelled) return;
        if (done) {
          this.#post({ k: 'end', id });
          return;
        }
        if (value.byteLength === 0) continue;
        const chunk = owned(value);
        out.credit -= chunk.byteLength;
        this.port.postMessage({ k: 'chunk', id, b: chunk } satisfies StreamMessage, [chunk.buffer as ArrayBuffer]);
      }
    } catch (err) {
      if (!out.cancelled) this.#post({ k: 'fail', id, reason: (err as Error)?.message ?? String(err) });
    } finally {
      this.#out.delete(id);
    }
  }

  /** A ReadableStream fed by the other side's stream `id`. Call it when the message naming `id` arrives. */
  receive(id: number, onSettle?: () => void): ReadableStream<Uint8Array> {
    const inc: Incoming = {
      queue: [],
      controller: undefined,
      waiting: false,
      state: 'open',
      reason: undefined,
      onSettle,
    };
    this.#in.set(id, inc);
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          inc.controller = controller;
        },
        pull: () => {
          inc.waiting = true;
          this.#deliver(id, inc);
        },
        cancel: () => {
          this.#in.delete(id);
          if (inc.state === 'open') this.#post({ k: 'cancel', id });
          settle(inc);
        },
      },
      // No buffering in the stream itself: a chunk is handed over (and credited) only when pulled.
      { highWaterMark: 0 },
    );
  }

  #deliver(id: number, inc: Incoming): void {
    const c = inc.controller;
    if (c === undefined || !inc.waiting) return;
    const chunk = inc.queue.shift();
    if (chunk !== undefined) {
      inc.waiting = false;
      c.enqueue(chunk);
      if (inc.state === 'open') this.#post({ k: 'credit', id, n: chunk.byteLength });
      return;
    }
    if (inc.state === 'ended') {
      this.#in.delete(id);
      c.close();
      settle(inc);
    } else if (inc.state === 'failed') {
      this.#in.delete(id);
      c.error(inc.reason);
      settle(inc);
    }
  }

  /** Handles a stream message; false when `msg` is not one. */
  handle(msg: { k: string }): boolean {
    const m = msg as StreamMessage;
    switch (m.k) {
      case 'chunk':
      case 'end':
      case 'fail': {
        const inc = this.#in.get(m.id);
        if (inc === undefined) return true; // cancelled on this side: late chunks are dropped
        if (m.k === 'chunk') inc.queue.push(m.b);
        else if (m.k === 'end') inc.state = 'ended';
        else {
          inc.state = 'failed';
          inc.reason = new Error(m.reason);
        }
        this.#deliver(m.id, inc);
        return true;
      }
      case 'credit':
      case 'cancel': {
        const out = this.#out.get(m.id);
        if (out === undefined) return true;
        if (m.k === 'credit') out.credit += m.n;
        else {
          out.cancelled = true;
          out.reader.cancel().catch(() => {});
        }
        const wake = out.wake;
        out.wake = undefined;
        wake?.();
        return true;
      }
      default:
        return false;
    }
  }

  /** Fails every stream this side receives (the other side is gone) and stops every sender. */
  destroy(reason: Error): void {
    for (const [id, inc] of this.#in) {
      this.#in.delete(id);
      inc.state = 'failed';
      inc.reason = reason;
      try {
        inc.controller?.error(reason);
      } catch {}
      settle(inc);
    }
    for (const open of this.#gates.values()) open();
    this.#gates.clear();
    for (const out of this.#out.values()) {
      out.cancelled = true;
      out.reader.cancel(reason).catch(() => {});
      out.wake?.();
    }
    this.#out.clear();
  }

  #post(msg: StreamMessage): void {
    try {
      this.port.postMessage(msg);
    } catch {
      // The port is closed: the other side is gone and will not read this.
    }
  }
}
