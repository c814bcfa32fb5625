// A Response that remembers its constructor arguments. `new Response('hello')` in undici builds
// Headers, a body stream and a Blob-like source; the engine only needs the string. So, once
// globals are installed (globals.ts), `Response` makes these light objects: the serializer reads
// the body and init directly, and anything else (body streams, clone, text, …) is answered by a
// real Response created on first use. It passes `instanceof Response`.

import { Blob, Buffer } from 'node:buffer';
import { ReadableStream } from 'node:stream/web';
import { LightHeaders } from './light-headers.ts';

export const NativeResponse: typeof Response = globalThis.Response;

export const kBody = Symbol('foyer.body');
export const kStatus = Symbol('foyer.status');
export const kStatusText = Symbol('foyer.statusText');
export const kHeaders = Symbol('foyer.headers');
export const kReal = Symbol('foyer.real');
const kTyped = Symbol('foyer.typed');
/** The length of the body of the Response this one was built from (see the constructor). */
export const kHeadLength = Symbol('foyer.headLength');

type Body = ConstructorParameters<typeof Response>[0];

/** Fetch's null body statuses (101, 103, 204, 205, 304): compared, not looked up in a Set (about 60 instructions a response). */
const isNullBodyStatus = (s: number): boolean => s === 204 || s === 304 || s === 205 || s === 101 || s === 103;
/** reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), and empty (RFC 9112 §4). */
export const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The Content-Type fetch gives a body of this kind (Fetch §extract a body), when the fast path knows it. */
export function defaultContentType(body: unknown): string | undefined {
  if (typeof body === 'string') return 'text/plain;charset=UTF-8';
  if (body instanceof URLSearchParams) return 'application/x-www-form-urlencoded;charset=UTF-8';
  return undefined;
}

/** WebIDL `unsigned short` (the type of ResponseInit.status): ToNumber, truncate, modulo 2^16. */
function toUnsignedShort(v: unknown): number {
  const n = Math.trunc(Number(v));
  if (!Number.isFinite(n)) return 0;
  return ((n % 65536) + 65536) % 65536;
}

export class LightResponse {
  [kBody]: Body;
  [kStatus]: number;
  [kStatusText]: string;
  /** A private copy of the init's headers (validated), or undefined when none were given. */
  [kHeaders]: LightHeaders | undefined;
  [kReal]: Response | undefined;
  /** The default Content-Type of the body was added to the headers. */
  [kTyped]: boolean | undefined;
  [kHeadLength]: number | undefined;

  constructor(body?: Body, init?: ResponseInit) {
    let status = 200;
    let text = '';
    let headers: LightHeaders | undefined;
    // Fail on the same input the real constructor fails on, at the same moment. The init is read
    // once, here, as undici does: a Response passed as init (`new Response(r.body, r)`) gives its
    // status through prototype getters, and later changes to the init object change nothing.
    if (init !== undefined && init !== null) {
      if (typeof init !== 'object' && typeof init !== 'function') {
        throw new TypeError('Response constructor: init must be an object');
      }
      const s = init.status;
      if (s !== undefined) {
        status = toUnsignedShort(s);
        if (status < 200 || status > 599) {
          // WebIDL converts the whole init (ByteStrings) before Fetch checks the range.
          checkByteStrings(init);
          throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
        }
      }
      // Fetch: statusText must match reason-phrase (RFC 9112 §4): no CR, LF or other controls.
      if (init.statusText !== undefined) {
        text = String(init.statusText);
        if (!REASON_PHRASE.test(text)) throw new TypeError('Response constructor: invalid statusText');
      }
      // Validated and copied now (undici's Headers grammar: a TypeError for a name that is not a
      // token or a value outside field-value, code points above 0xFF included), so nothing that
      // could split the response reaches the serializer, whatever shape the init had.
      const h = init.headers;
      // A sealed list (a static file's) is shared as it is: the getter below copies it on first use.
      if (h !== undefined && h !== null)
        headers = h instanceof LightHeaders && LightHeaders.isSealed(h) ? h : new LightHeaders(h);
      if (isNullBodyStatus(status) && body !== null && body !== undefined) {
        throw new TypeError('Response constructor: Invalid response status code ' + status);
      }
    }
    this[kBody] = body;
    this[kStatus] = status;
    this[kStatusText] = text;
    this[kHeaders] = headers;
    // `new Response(null, getResponse)` is how Hono (and others) answer HEAD from the GET route:
    // remember the GET body's length so the HEAD response can say it (RFC 9110 §9.3.2).
    if ((body === null || body === undefined) && init !== undefined && init !== null && kBody in init) {
      const n = knownLength((init as unknown as LightResponse)[kBody]);
      if (n >= 0) this[kHeadLength] = n;
    }
  }

  /** The real Response, created once. Light state is frozen into it. */
  [Symbol.for('foyer.toResponse')](): Response {
    let real = this[kReal];
    if (real === undefined) {
      const headers = this[kHeaders];
      real = new NativeResponse(this[kBody], {
        status: this[kStatus],
        statusText: this[kStatusText],
        headers: headers?.toInit(),
      });
      this[kReal] = real;
    }
    return real;
  }

  get status(): number {
    return this[kStatus];
  }

  get statusText(): string {
    return this[kStatusText];
  }

  get ok(): boolean {
    const s = this[kStatus];
    return s >= 200 && s <= 299;
  }

  // A constructed Response is never the result of a fetch: these are fixed (Fetch §response).
  get type(): Response['type'] {
    return 'default';
  }

  get url(): string {
    return '';
  }

  get redirected(): boolean {
    return false;
  }

  get headers(): Headers {
    const real = this[kReal];
    if (real !== undefined) return real.headers;
    const body = this[kBody];
    // Blob and FormData bodies give a Content-Type only undici knows (a Blob's type, a boundary).
    if (body instanceof Blob || body instanceof FormData) return realOf(this).headers;
    let h = this[kHeaders];
    if (h === undefined || LightHeaders.isSealed(h)) h = this[kHeaders] = new LightHeaders(h);
    if (this[kTyped] !== true) {
      this[kTyped] = true;
      const ct = defaultContentType(body) ?? (isOtherBody(body) ? 'text/plain;charset=UTF-8' : undefined);
      if (ct !== undefined && !h.has('content-type')) h.set('content-type', ct);
    }
    return h as unknown as Headers;
  }
}

const BEYOND_LATIN1 = /[^\x00-\xff]/;

/** WebIDL ByteString conversion of a ResponseInit's strings: a TypeError for code points above 0xFF. */
function checkByteStrings(init: ResponseInit): void {
  const bad = (v: unknown) => typeof v === 'string' && BEYOND_LATIN1.test(v);
  let found = init.statusText !== undefined && bad(String(init.statusText));
  const h = init.headers;
  if (!found && h !== null && typeof h === 'object' && !(h instanceof LightHeaders) && !(h instanceof Headers)) {
    if (Array.isArray(h)) found = h.some((pair) => Array.isArray(pair) && pair.some(bad));
    else found = Object.entries(h).some(([k, v]) => bad(k) || bad(v));
  }
  if (found) throw new TypeError('Cannot convert argument to a ByteString: a code point is greater than 255');
}

/** The byte length of a body in hand, -1 when it is not known without reading it. */
export function knownLength(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return body.byteLength;
  if (body instanceof URLSearchParams) return Buffer.byteLength(body.toString());
  return -1;
}

/** A body undici converts to a string (Fetch's BodyInit falls back to USVString). */
function isOtherBody(body: unknown): boolean {
  if (body === null || body === undefined || typeof body === 'string') return false;
  return !(
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof ReadableStream ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof FormData ||
    (typeof SharedArrayBuffer !== 'undefined' && body instanceof SharedArrayBuffer)
  );
}

function realOf(r: LightResponse): Response {
  return (r as unknown as Record<symbol, () => Response>)[Symbol.for('foyer.toResponse')]!.call(r);
}

for (const key of ['body', 'bodyUsed'] as const) {
  Object.defineProperty(LightResponse.prototype, key, {
    get(this: LightResponse) {
      return (realOf(this) as unknown as Record<string, unknown>)[key];
    },
    configurable: true,
  });
}
for (const key of ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text'] as const) {
  Object.defineProperty(LightResponse.prototype, key, {
    value(this: LightResponse) {
      const r = realOf(this) as unknown as Record<string, () => unknown>;
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
    if (text === undefined) {
      if (init !== undefined && init !== null) checkByteStrings(init); // undici converts init first
      throw new TypeError('Value is not JSON serializable');
    }
    const res = new LightResponse(text, init);
    let headers = res[kHeaders];
    if (headers === undefined || LightHeaders.isSealed(headers)) headers = res[kHeaders] = new LightHeaders(headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return res;
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
