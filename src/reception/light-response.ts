// A Response that remembers its constructor arguments. `new Response('hello')` in undici builds
// Headers, a body stream and a Blob-like source; the engine only needs the string. So, once
// globals are installed (globals.ts), `Response` makes these light objects: the serializer reads
// the body and init directly, and anything else (body streams, clone, text, …) is answered by a
// real Response created on first use. It passes `instanceof Response`.

import { LightHeaders } from './light-headers.ts';

export const NativeResponse: typeof Response = globalThis.Response;

export const kBody = Symbol('foyer.body');
export const kInit = Symbol('foyer.init');
export const kHeaders = Symbol('foyer.headers');
export const kReal = Symbol('foyer.real');

type Body = ConstructorParameters<typeof Response>[0];

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
/** reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), and empty (RFC 9112 §4). */
export const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The Content-Type fetch gives a body of this kind (Fetch §extract a body), when the fast path knows it. */
export function defaultContentType(body: unknown): string | undefined {
  if (typeof body === 'string') return 'text/plain;charset=UTF-8';
  if (body instanceof URLSearchParams) return 'application/x-www-form-urlencoded;charset=UTF-8';
  return undefined;
}

export class LightResponse {
  [kBody]: Body;
  [kInit]: ResponseInit | undefined;
  [kHeaders]: LightHeaders | undefined;
  [kReal]: Response | undefined;

  constructor(body?: Body, init?: ResponseInit) {
    // Fail on the same input the real constructor fails on, at the same moment.
    if (init !== undefined && init !== null) {
      const s = init.status;
      if (s !== undefined && (!Number.isInteger(s) || s < 200 || s > 599)) {
        throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
      }
      // Fetch: statusText must match reason-phrase (RFC 9112 §4): no CR, LF or other controls.
      if (init.statusText !== undefined && !REASON_PHRASE.test(String(init.statusText))) {
        throw new TypeError('Response constructor: invalid statusText');
      }
      if (s !== undefined && NULL_BODY_STATUS.has(s) && body !== null && body !== undefined) {
        throw new TypeError('Response constructor: Invalid response status code ' + s);
      }
    }
    this[kBody] = body;
    this[kInit] = init ?? undefined;
  }

  /** The real Response, created once. Light state is frozen into it. */
  [Symbol.for('foyer.toResponse')](): Response {
    let real = this[kReal];
    if (real === undefined) {
      const init = this[kInit];
      const headers = this[kHeaders];
      real = new NativeResponse(
        this[kBody],
        headers === undefined ? init : { ...init, headers: headers as unknown as Headers },
      );
      this[kReal] = real;
    }
    return real;
  }

  get status(): number {
    return this[kReal]?.status ?? this[kInit]?.status ?? 200;
  }

  get statusText(): string {
    return this[kReal]?.statusText ?? this[kInit]?.statusText ?? '';
  }

  get ok(): boolean {
    const s = this.status;
    return s >= 200 && s <= 299;
  }

  get headers(): Headers {
    const real = this[kReal];
    if (real !== undefined) return real.headers;
    let h = this[kHeaders];
    if (h === undefined) {
      h = new LightHeaders(this[kInit]?.headers);
      const ct = defaultContentType(this[kBody]);
      if (ct !== undefined && !h.has('content-type')) h.set('content-type', ct);
      this[kHeaders] = h;
    }
    return h as unknown as Headers;
  }
}

function real(r: LightResponse): Response {
  return (r as unknown as Record<symbol, () => Response>)[Symbol.for('foyer.toResponse')]!.call(r);
}

for (const key of ['body', 'bodyUsed', 'type', 'url', 'redirected'] as const) {
  Object.defineProperty(LightResponse.prototype, key, {
    get(this: LightResponse) {
      return (real(this) as unknown as Record<string, unknown>)[key];
    },
    configurable: true,
  });
}
for (const key of ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text'] as const) {
  Object.defineProperty(LightResponse.prototype, key, {
    value(this: LightResponse) {
      const r = real(this) as unknown as Record<string, () => unknown>;
      return r[key]!.call(r);
    },
    configurable: true,
    writable: true,
  });
}
Object.defineProperty(LightResponse.prototype, Symbol.toStringTag, { value: 'Response', configurable: true });
Object.setPrototypeOf(LightResponse.prototype, NativeResponse.prototype);
Object.setPrototypeOf(LightResponse, NativeResponse);
Object.defineProperty(LightResponse, Symbol.hasInstance, {
  value: (x: unknown) => x instanceof NativeResponse,
});
Object.defineProperty(LightResponse, 'json', {
  value(data: unknown, init?: ResponseInit): LightResponse {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new LightHeaders(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new LightResponse(text, { ...init, headers: headers as unknown as Headers });
  },
  configurable: true,
  writable: true,
});

/** Cancels a response's body stream without forcing a light response to become real. */
export function discardBody(res: Response): void {
  try {
    if (kBody in res) {
      const light = res as unknown as LightResponse;
      const body = light[kReal]?.body ?? light[kBody];
      if (body instanceof ReadableStream) body.cancel().catch(() => {});
      return;
    }
    res.body?.cancel().catch(() => {});
  } catch {
    // Already locked or errored: nothing left to release.
  }
}
