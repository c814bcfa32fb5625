// A request body as it arrives: chunks queued from the socket, read either whole (text/json
// fast path, no stream) or as a ReadableStream that pulls and so applies backpressure to the
// socket. The connection owns the socket; this object only tells it when it wants more.
import { Buffer } from 'node:buffer';
import { ReadableStream } from 'node:stream/web';
import { FoyerError } from '../util/errors.ts';

/** Above this many queued bytes the connection stops reading the socket until the consumer catches up. */
export const BODY_HIGH_WATER = 64 * 1024;

export interface BodyOwner {
  /** The consumer started reading (send 100 Continue if it was expected). */
  bodyDemand(body: RequestBody): void;
  /** Queued bytes fell below the high-water mark. */
  bodyDrained(body: RequestBody): void;
}

export class RequestBody {
  #chunks: Buffer[] = [];
  #queued = 0;
  #waiter: (() => void) | undefined;
  #stream: ReadableStream<Uint8Array> | undefined;
  complete = false;
  error: Error | undefined;
  /** Set once a consumer has started reading (Request.bodyUsed). */
  used = false;
  /** The response is done; remaining bytes are read and dropped. */
  discarding = false;
  received = 0;

  constructor(
    private readonly owner: BodyOwner,
    /** The declared length, or -1 for chunked. */
    readonly length: number,
  ) {}

  get queued(): number {
    return this.#queued;
  }

  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.discarding) return;
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    this.#wake();
  }

  end(): void {
    this.complete = true;
    this.#wake();
  }

  fail(err: Error): void {
    if (this.complete || this.error !== undefined) return;
    this.error = err;
    this.#chunks = [];
    this.#queued = 0;
    this.#wake();
  }

  /** Stop buffering: the handler answered without reading everything. */
  discard(): void {
    this.discarding = true;
    this.#chunks = [];
    this.#queued = 0;
  }

  #wake(): void {
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w();
    }
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  #shift(): Buffer | undefined {
    const c = this.#chunks.shift();
    if (c !== undefined) {
      const before = this.#queued;
      this.#queued -= c.length;
      if (before >= BODY_HIGH_WATER && this.#queued < BODY_HIGH_WATER) this.owner.bodyDrained(this);
    }
    return c;
  }

  #claim(): void {
    if (this.used) throw new TypeError('Body is unusable: it has already been read');
    this.used = true;
    this.owner.bodyDemand(this);
  }

  /** The whole body in one Buffer. */
  async readAll(): Promise<Buffer> {
    this.#claim();
    while (!this.complete && this.error === undefined) {
      // Whole-body reads hold everything anyway: let the socket flow (the body limit bounds it).
      if (this.#queued >= BODY_HIGH_WATER) this.owner.bodyDrained(this);
      await this.#wait();
    }
    if (this.error !== undefined) throw this.error;
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#queued = 0;
    if (chunks.length === 1) return chunks[0]!;
    return Buffer.concat(chunks);
  }

  /** The body as a web stream; each pull takes queued bytes or waits for the socket. */
  stream(): ReadableStream<Uint8Array> {
    if (this.#stream !== undefined) return this.#stream;
    let claimed = false;
    this.#stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (!claimed) {
            claimed = true;
            this.#claim();
          }
          for (;;) {
            if (this.error !== undefined) {
              controller.error(this.error);
              return;
            }
            const c = this.#shift();
            if (c !== undefined) {
              controller.enqueue(new Uint8Array(c.buffer, c.byteOffset, c.length));
              return;
            }
            if (this.complete) {
              controller.close();
              return;
            }
            await this.#wait();
          }
        },
        cancel: () => {
          this.discard();
        },
      },
      { highWaterMark: 0 },
    );
    return this.#stream;
  }
}

export function bodyTooLarge(): FoyerError {
  return new FoyerError('FOYER_BODY_TOO_LARGE');
}
