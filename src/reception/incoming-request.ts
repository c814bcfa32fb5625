// A WHATWG-compatible Request built lazily from the parsed head. Constructing a real undici
// Request per request costs microseconds (URL parsing, Headers, streams); most handlers read only
// `method` and `url`. So this object answers those itself, builds `headers` on first use, reads
// the body without streams when asked for text/json/bytes, and becomes a real Request only when
// something else is touched. It passes `instanceof Request` (its prototype chain includes
// Request.prototype); `new Request(incoming)` works once globals are installed (globals.ts).
import { Blob, Buffer } from 'node:buffer';
import type { ReadableStream } from 'node:stream/web';
import { TextDecoder } from 'node:util';
import { LightHeaders } from './light-headers.ts';
import { NativeResponse } from './light-response.ts';
import type { RequestBody } from './request-body.ts';

export const NativeRequest: typeof Request = globalThis.Request;

export const kToRequest = Symbol('foyer.toRequest');
export const kRawTarget = Symbol('foyer.rawTarget');

/** Where the request's signal comes from (the request's Context). */
export interface SignalSource {
  readonly signal: AbortSignal;
}

const textDecoder = new TextDecoder();

export class IncomingRequest {
  readonly method: string;
  /** Absolute URL string. */
  readonly url: string;
  readonly [kRawTarget]: string;
  /** Flat [name, value, …] as received. */
  #raw: string[];
  #body: RequestBody | null;
  #ctx: SignalSource;
  #headers: Headers | undefined;
  #real: Request | undefined;

  constructor(
    method: string,
    url: string,
    rawHeaders: string[],
    body: RequestBody | null,
    ctx: SignalSource,
    target: string,
  ) {
    this.method = method;
    this.url = url;
    this[kRawTarget] = target;
    this.#raw = rawHeaders;
    this.#body = body;
    this.#ctx = ctx;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      this.#headers = LightHeaders.fromRaw(this.#raw) as unknown as Headers;
    }
    return this.#headers;
  }

  get signal(): AbortSignal {
    return this.#ctx.signal;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#real !== undefined) return this.#real.body;
    return this.#body === null ? null : this.#body.stream();
  }

  get bodyUsed(): boolean {
    if (this.#real !== undefined) return this.#real.bodyUsed;
    return this.#body?.used ?? false;
  }

  get duplex(): 'half' {
    return 'half';
  }

  async #bytes(): Promise<Buffer> {
    if (this.#real !== undefined) return Buffer.from(await this.#real.arrayBuffer());
    const body = this.#body;
    if (body === null) return Buffer.alloc(0);
    return body.readAll();
  }

  async text(): Promise<string> {
    return textDecoder.decode(await this.#bytes());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#bytes();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    const b = await this.#bytes();
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }

  async blob(): Promise<Blob> {
    const bytes = await this.#bytes();
    const type = this.headers.get('content-type');
    if (type === null) return new Blob([bytes]);
    // The Blob's type is the Content-Type as Fetch parses and serialises a MIME type (lowercased,
    // '' when invalid): let undici do it.
    return new NativeResponse(bytes, { headers: { 'content-type': type } }).blob();
  }

  formData(): Promise<FormData> {
    return this[kToRequest]().formData();
  }

  clone(): Request {
    return this[kToRequest]().clone();
  }

  /** The real undici Request, created once; the body moves to it as a stream. */
  [kToRequest](): Request {
    if (this.#real === undefined) {
      const hasBody = this.#body !== null && this.method !== 'GET' && this.method !== 'HEAD';
      this.#real = new NativeRequest(this.url, {
        method: this.method,
        headers: (this.headers as unknown as LightHeaders).toInit(),
        body: hasBody ? this.#body!.stream() : null,
        signal: this.signal,
        duplex: 'half', // required by undici for stream bodies
      } as RequestInit);
    }
    return this.#real;
  }
}

// Every other Request member reads from the real Request.
for (const key of [
  'cache',
  'credentials',
  'destination',
  'integrity',
  'keepalive',
  'mode',
  'redirect',
  'referrer',
  'referrerPolicy',
  'isHistoryNavigation',
  'isReloadNavigation',
] as const) {
  Object.defineProperty(IncomingRequest.prototype, key, {
    get(this: IncomingRequest) {
      return (this[kToRequest]() as unknown as Record<string, unknown>)[key];
    },
    configurable: true,
  });
}
Object.defineProperty(IncomingRequest.prototype, Symbol.toStringTag, { value: 'Request', configurable: true });
Object.setPrototypeOf(IncomingRequest.prototype, NativeRequest.prototype);

/** The request-target exactly as received (e.g. `*` for `OPTIONS *`), for handlers that need it. */
export function rawTarget(req: Request): string | undefined {
  return (req as unknown as { [kRawTarget]?: string })[kRawTarget];
}
