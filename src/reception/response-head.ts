// Turns a handler's Response into what goes on the wire (RFC 9112 §4, §6): a status line and
// header block as one string, and a body plan (bytes in hand, or a stream to pump). Framing
// headers from the handler are replaced by the engine's own; header names and values are
// validated by the Response that carries them (Headers grammar), and the finished head is
// checked once more for characters that latin1 cannot carry.
import { Blob, Buffer } from 'node:buffer';
import { ReadableStream } from 'node:stream/web';
import { statusText } from '../util/errors.ts';
import { dateLine } from './http-date.ts';
import { kPairs, LightHeaders } from './light-headers.ts';
import {
  defaultContentType,
  kBody,
  kHeadLength,
  kHeaders,
  kReal,
  kStatus,
  kStatusText,
  type LightResponse,
  REASON_PHRASE,
} from './light-response.ts';
import { trimOws } from '../util/ows.ts';

/** Anything but visible ASCII, SP, HTAB and the CRLFs between lines. */
const NOT_PLAIN = /[^\t\r\n\x20-\x7e]/;
/** Anything but field-value characters and the CRLFs between lines (RFC 9110 §5.5, RFC 9112 §4). */
const NOT_FIELD_TEXT = /[^\t\r\n\x20-\x7e\x80-\xff]/;
/** A field name (RFC 9110 §5.1, token) and a field value's characters (§5.5: no CR, LF or NUL). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Visible ASCII, SP and HTAB only: a head made of such parts needs no scan (see the end of
 * planResponse). A loop over a short value costs less than a regex over the whole head, which
 * must first flatten the concatenated string.
 */
function isPlain(s: string): boolean {
  // Only a string is known: anything else becomes text later, possibly different text (a getter).
  if (typeof s !== 'string') return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7e || (c < 0x20 && c !== 0x09)) return false;
  }
  return true;
}

/**
 * The last field value found plain: apps answer with the same few literal values (a content type)
 * again and again, and a compare with the same string costs less than its scan. Plainness is a
 * function of the text alone, so a value equal to this one is plain too.
 */
let lastPlainValue = '';
/** A longer value is not remembered (it would stay in memory until the next one). */
const REMEMBERED_PLAIN_MAX = 256;

const statusLines: string[] = [];
function statusLine(status: number, text: string | undefined): string {
  if (text) return `HTTP/1.1 ${status} ${text}\r\n`;
  return (statusLines[status] ??= `HTTP/1.1 ${status} ${statusText(status)}\r\n`);
}

export class ResponseHeaderError extends Error {}

export interface Plan {
  /** Status line and headers, ending with the empty line. */
  head: string;
  /** The head has characters above 0x7F (obs-text): write it as latin1, not UTF-8. */
  headLatin1: boolean;
  /** Body already in hand (no body: null). Not sent for HEAD. */
  bytes: string | Uint8Array | null;
  /** Body to pump, when not in hand. Cancel it for HEAD. */
  stream: ReadableStream<Uint8Array> | null;
  /** Stream framing: chunked (HTTP/1.1), by declared length, or close-delimited (HTTP/1.0). */
  chunked: boolean;
  /** Declared length for the stream, -1 when unknown. */
  length: number;
  /**
   * Where the framing line of a stream of unknown length goes in `head` (body-pump.ts decides:
   * Content-Length when the body turns out to be whole, else chunked), -1 when framing is known.
   */
  framingAt: number;
  /** Length of `bytes` in bytes (0 without). */
  size: number;
  status: number;
  /** The response asked for the connection to close, or framing requires it. */
  close: boolean;
}

/** How the serializer treats a handler's header (names arrive lowercase from both Headers kinds). */
enum Field {
  Copy = 0,
  ContentLength = 1,
  Framing = 2,
  Connection = 3,
  ContentType = 4,
  Date = 5,
  RequestId = 6,
}

function fieldKind(name: string): Field {
  // Only these lengths name a field the engine treats specially: one compare for most names.
  switch (name.length) {
    case 4:
      return name === 'date' ? Field.Date : Field.Copy;
    case 10:
      return name === 'connection' ? Field.Connection : name === 'keep-alive' ? Field.Framing : Field.Copy;
    case 12:
      return name === 'content-type' ? Field.ContentType : name === 'x-request-id' ? Field.RequestId : Field.Copy;
    case 14:
      return name === 'content-length' ? Field.ContentLength : Field.Copy;
    case 17:
      return name === 'transfer-encoding' ? Field.Framing : Field.Copy;
    default:
      return Field.Copy;
  }
}

const CONNECTION_CLOSE = /(^|,)[ \t]*close[ \t]*(,|$)/i;
const DIGITS = /^\d{1,15}$/;

/** Per-call state of planResponse's header walk (one object, no closure per response). */
class HeadBuilder {
  head: string;
  declared = -1;
  close: boolean;
  sawType = false;
  sawDate = false;
  sawId = false;
  /** Every part added so far is visible ASCII, SP or HTAB (the engine's own parts always are). */
  plain: boolean;

  constructor(statusLine: string, close: boolean, plain: boolean) {
    this.head = statusLine;
    this.close = close;
    this.plain = plain;
  }

  add(name: string, value: string): void {
    switch (fieldKind(name)) {
      case Field.ContentLength: {
        const v = trimOws(value);
        if (!DIGITS.test(v)) throw new ResponseHeaderError('invalid content-length from handler');
        this.declared = Number(v);
        return;
      }
      case Field.Framing:
        return; // framing is the engine's (RFC 9112 §6.1)
      case Field.Connection:
        if (CONNECTION_CLOSE.test(value)) this.close = true;
        return;
      case Field.ContentType:
        this.sawType = true;
        break;
      case Field.Date:
        this.sawDate = true;
        break;
      case Field.RequestId:
        this.sawId = true;
        break;
    }
    // Names are tokens (RFC 9110 §5.1): LightHeaders checks each one it is given, and the walk over
    // other Headers in planResponse tests FIELD_NAME before calling add. Only the value can be other.
    if (this.plain && value !== lastPlainValue) {
      if (!isPlain(value)) this.plain = false;
      else if (value.length <= REMEMBERED_PLAIN_MAX) lastPlainValue = value;
    }
    this.head += name + ': ' + value + '\r\n';
  }

  /** The lines of a sealed list, as if each field were added (the block comes first of the fields). */
  addBlock(b: HeadBlock): void {
    this.head += b.lines;
    this.declared = b.declared;
    if (b.close) this.close = true;
    this.sawType = b.sawType;
    this.sawDate = b.sawDate;
    this.sawId = b.sawId;
    if (!b.plain) this.plain = false;
  }
}

/**
 * What a sealed header list (LightHeaders.sealed: a static file's, shared by all its responses)
 * adds to a head, worked out once and kept on the list: its lines, flat, and what the walk learned.
 * A list whose walk throws (an invalid Content-Length) keeps nothing and throws each time.
 */
class HeadBlock implements HeadParts {
  constructor(
    readonly lines: string,
    readonly declared: number,
    readonly close: boolean,
    readonly sawType: boolean,
    readonly sawDate: boolean,
    readonly sawId: boolean,
    readonly plain: boolean,
  ) {}
}

function blockOf(sealed: LightHeaders): HeadBlock {
  let b = LightHeaders.blockOf(sealed) as HeadBlock | undefined;
  if (b === undefined) {
    const h = new HeadBuilder('', false, true);
    const pairs = sealed[kPairs]();
    for (let i = 0; i < pairs.length; i += 2) h.add(pairs[i]!, pairs[i + 1]!);
    b = new HeadBlock(flat(h.head), h.declared, h.close, h.sawType, h.sawDate, h.sawId, h.plain);
    LightHeaders.keepBlock(sealed, b);
  }
  return b;
}

/**
 * The head planResponse built for the last response of the engine's own kind with a body in hand
 * (a string or bytes) or none, up to the lines that depend on the request, with what it was built
 * from. Apps (and PHP) answer with the same status, fields and body size again and again; a
 * response that matches all of them has this head, already flat: a head made of many concatenated
 * parts is copied into one string by V8 before the socket write (about 1,200 instructions for ten
 * parts), and the walk over its fields is skipped too. A pure function of what it compares: no
 * request's state is kept but the field list's copy.
 */
class FixedHead implements HeadParts {
  prefix = '';
  declared = -1;
  /** The fields ask for the connection to close. */
  close = false;
  sawId = false;
  sawDate = false;
  plain = true;
  /** The plan carries the body (not HEAD, nor a status without content). */
  sendsBody = false;
  /** Responses that matched it. */
  hits = 0;

  constructor(
    readonly status: number,
    readonly text: string | undefined,
    readonly isHead: boolean,
    readonly headLength: number,
    /** The body's length in bytes (a string's in UTF-8); -1 without a body. */
    readonly bodySize: number,
    /** The body is bytes, not a string (a string gets a default Content-Type, bytes none). */
    readonly bytesBody: boolean,
    readonly pairs: readonly string[],
  ) {}

  matches(
    status: number,
    text: string | undefined,
    isHead: boolean,
    headLength: number,
    bodySize: number,
    bytesBody: boolean,
    pairs: readonly string[],
  ): boolean {
    if (
      status !== this.status ||
      text !== this.text ||
      isHead !== this.isHead ||
      headLength !== this.headLength ||
      bodySize !== this.bodySize ||
      bytesBody !== this.bytesBody
    )
      return false;
    const mine = this.pairs;
    if (pairs.length !== mine.length) return false;
    for (let i = 0; i < pairs.length; i++) if (pairs[i] !== mine[i]) return false;
    return true;
  }
}

let lastFixed: FixedHead | undefined;
/** Responses that did not match lastFixed since it was kept, while it has matched none. */
let missesSinceFill = 0;
const FILL_EVERY = 64;
/**
 * A longer head, or longer fields, are not kept. (A kept value cut from a larger string keeps that
 * string alive until another head is kept: at most one response's fields.)
 */
const FIXED_HEAD_MAX = 4096;
const NO_PAIRS: readonly string[] = [];

/**
 * Whether a response's fields may be kept with its head: up to FIXED_HEAD_MAX chars in all (fields
 * the head leaves out, such as Content-Length or Connection, count too), and no Set-Cookie or
 * Location, which are one client's and must not stay in the process after its response. (Other
 * fields may name one client too, a Content-Disposition's file name: one response's at most.)
 */
function keepable(pairs: readonly string[]): boolean {
  let size = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    // One client's: its cookie, or a URL that may carry a token (a reset link, a signed download).
    if (pairs[i] === 'set-cookie' || pairs[i] === 'location') return false;
    size += pairs[i]!.length + pairs[i + 1]!.length;
  }
  return size <= FIXED_HEAD_MAX;
}

/** The kept head's field list (for tests). */
export function keptFields(): readonly string[] | undefined {
  return lastFixed?.pairs;
}

/** Forgets the kept head: every plan after it is built from scratch until one is kept again (for tests). */
export function forgetFixedHead(): void {
  lastFixed = undefined;
  missesSinceFill = 0;
}

/**
 * `s`, flattened where it is: a concatenation is a tree of parts until something reads it as a
 * whole, and a regular expression's search does (V8 then keeps the one flat copy in the tree).
 */
function flat(s: string): string {
  NOT_PLAIN.test(s);
  return s;
}

/**
 * Plans the response. `isHead`: the request was HEAD. `minor`: request's HTTP minor version.
 * `keepAlive`: whether the connection may stay open after this response.
 */
export function planResponse(
  res: Response,
  isHead: boolean,
  minor: number,
  keepAlive: boolean,
  requestId?: string,
): Plan {
  // The engine's light responses are read directly (their constructor validated and copied the
  // headers, light-response.ts); anything else through the Response interface.
  let headLength = -1;
  let status: number;
  let text: string | undefined;
  let headers: LightHeaders | Headers | undefined;
  let body: unknown;
  const light = res as unknown as LightResponse;
  const isLight = kBody in light && light[kReal] === undefined;
  if (isLight) {
    headLength = light[kHeadLength] ?? -1;
    status = light[kStatus];
    text = light[kStatusText];
    headers = light[kHeaders];
    body = light[kBody];
  } else {
    const r = kBody in light ? light[kReal]! : res;
    status = r.status;
    // Read once as a string: a look-alike's getter or toString could answer differently each time.
    text = r.statusText === undefined || r.statusText === null ? undefined : String(r.statusText);
    headers = r.headers;
    body = r.body;
    // The status goes into the status line as is: only a three-digit number (RFC 9110 §15).
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999)
      throw new ResponseHeaderError('invalid status');
  }
  const originalBody = body;
  // Any Response reaching here was checked by its constructor; this guards the one line that
  // user code could still split if a check were ever missed.
  if (text && !REASON_PHRASE.test(text)) throw new ResponseHeaderError('invalid statusText');
  // The head up to its per-request lines, when this response repeats the last cacheable one.
  const repeat = isLight && (headers === undefined || headers instanceof LightHeaders);
  /** A string body's UTF-8 length, once counted. */
  let stringSize = -1;
  // Bytes too (PHP's output, a file from memory): their head is kept as a string body's is.
  const bytesBody = body instanceof Uint8Array;
  if (repeat && (typeof body === 'string' || body == null || bytesBody)) {
    const f = lastFixed;
    const pairs = headers === undefined ? NO_PAIRS : (headers as LightHeaders)[kPairs]();
    if (typeof body === 'string') stringSize = Buffer.byteLength(body);
    const bodySize = bytesBody ? (body as Uint8Array).byteLength : stringSize;
    if (f?.matches(status, text, isHead, headLength, bodySize, bytesBody, pairs)) {
      f.hits++;
      const sends = f.sendsBody;
      const plan: Plan = {
        head: f.prefix,
        headLatin1: false,
        bytes: sends ? (body as string | Uint8Array) : null,
        stream: null,
        chunked: false,
        length: f.declared,
        framingAt: -1,
        size: sends ? bodySize : 0,
        status,
        close: f.close || !keepAlive,
      };
      return endHead(plan, f, minor, requestId);
    }
  }
  const h = new HeadBuilder(statusLine(status, text), false, !text || isPlain(text));

  if (headers !== undefined && headers !== null) {
    if (headers instanceof LightHeaders) {
      if (LightHeaders.isSealed(headers)) h.addBlock(blockOf(headers));
      else {
        const pairs = headers[kPairs]();
        for (let i = 0; i < pairs.length; i += 2) h.add(pairs[i]!, pairs[i + 1]!);
      }
    } else
      for (const [k, v] of headers) {
        // undici's Headers validated these; a look-alike (a Map, a subclass's getter) did not, and a
        // CR or LF inside a value would pass the head scan below (it allows the CRLFs between lines).
        const name = String(k).toLowerCase();
        const value = String(v);
        if (!FIELD_NAME.test(name) || !FIELD_VALUE.test(value))
          throw new ResponseHeaderError('invalid response header');
        h.add(name, value);
      }
  }

  let bytes: string | Uint8Array | null = null;
  let stream: ReadableStream<Uint8Array> | null = null;
  if (body !== null && body !== undefined) {
    if (typeof body === 'string') bytes = body;
    else if (body instanceof Uint8Array) bytes = body;
    else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
    else if (body instanceof URLSearchParams) bytes = body.toString();
    else if (body instanceof ReadableStream) stream = body as ReadableStream<Uint8Array>;
    else {
      // Blob, FormData, DataView…: let undici encode it, then pump its stream. A Blob's size is
      // exact, so it is the Content-Length even when its stream takes several turns (Node 24+).
      if (h.declared < 0 && body instanceof Blob) h.declared = body.size;
      const real = (res as unknown as Record<symbol, () => Response>)[Symbol.for('foyer.toResponse')];
      const r = real !== undefined ? real.call(res) : res;
      for (const [k, v] of r.headers)
        if (k === 'content-type' && !h.sawType) {
          if (typeof v !== 'string' || !FIELD_VALUE.test(v)) throw new ResponseHeaderError('invalid response header');
          h.head += `content-type: ${v}\r\n`;
          h.sawType = true;
          if (!isPlain(v)) h.plain = false;
        }
      body = r.body;
      stream = body as ReadableStream<Uint8Array> | null;
    }
    if (!h.sawType) {
      const ct = defaultContentType(originalBody);
      if (ct !== undefined) h.head += `content-type: ${ct}\r\n`;
    }
  }

  let head = h.head;
  const declared = h.declared;
  const headerClose = h.close;
  let close = headerClose || !keepAlive;
  // RFC 9110 §6.4.1: no content in 1xx, 204 and 304 responses.
  const noContent = status === 204 || status === 304 || status < 200;
  let chunked = false;
  let framingAt = -1;
  let size = 0;
  if (noContent) {
    if (status === 304 && declared >= 0) head += `content-length: ${declared}\r\n`;
    stream?.cancel().catch(() => {});
    bytes = null;
    stream = null;
  } else if (bytes !== null) {
    size = typeof bytes !== 'string' ? bytes.byteLength : stringSize >= 0 ? stringSize : Buffer.byteLength(bytes);
    head += `content-length: ${size}\r\n`;
  } else if (stream !== null) {
    if (declared >= 0) head += `content-length: ${declared}\r\n`;
    else if (isHead) {
      // RFC 9110 §9.3.2: the length of a streamed body is unknown; say nothing.
    } else {
      framingAt = head.length;
      if (minor === 1) chunked = true;
      else close = true; // HTTP/1.0: the body ends when the connection does (RFC 9112 §6.3)
    }
  } else if (isHead) {
    // RFC 9110 §9.3.2: a HEAD response may carry the length a GET would have, or none; never a
    // 0 it does not know to be true.
    const n = declared >= 0 ? declared : headLength;
    if (n >= 0) head += `content-length: ${n}\r\n`;
  } else {
    head += 'content-length: 0\r\n';
  }
  if (isHead) {
    stream?.cancel().catch(() => {});
    stream = null;
    bytes = null;
    size = 0;
  }

  // Nothing above depended on the request but `isHead`: a response like this one (same status,
  // fields and body size) starts from this head next time, flat (see FixedHead). Kept while it is
  // used; an app whose responses never repeat pays for one kept head in FILL_EVERY.
  if (
    stream === null &&
    repeat &&
    (typeof originalBody === 'string' || originalBody == null || bytesBody) &&
    head.length <= FIXED_HEAD_MAX &&
    (lastFixed === undefined || lastFixed.hits > 0 || ++missesSinceFill >= FILL_EVERY)
  ) {
    missesSinceFill = 0;
    const pairs = headers === undefined ? NO_PAIRS : (headers as LightHeaders)[kPairs]();
    if (keepable(pairs)) {
      const bodySize = bytesBody ? (originalBody as Uint8Array).byteLength : stringSize;
      const f = new FixedHead(status, text, isHead, headLength, bodySize, bytesBody, pairs.slice());
      head = f.prefix = flat(head);
      f.declared = declared;
      f.close = headerClose;
      f.sawId = h.sawId;
      f.sawDate = h.sawDate;
      f.plain = h.plain;
      f.sendsBody = bytes !== null;
      lastFixed = f;
    }
  }
  const plan: Plan = {
    head,
    headLatin1: false,
    bytes,
    stream,
    chunked,
    length: declared,
    framingAt,
    size,
    status,
    close,
  };
  return endHead(plan, h, minor, requestId);
}

/** What the head's last lines depend on, of the fields before them. */
interface HeadParts {
  sawId: boolean;
  sawDate: boolean;
  /** Every part so far is visible ASCII, SP or HTAB. */
  plain: boolean;
}

/**
 * Ends `plan.head` with the lines that depend on the request (its id, the connection's fate, the
 * date) and the empty line, and checks what the head carries.
 */
function endHead(plan: Plan, parts: HeadParts, minor: number, requestId: string | undefined): Plan {
  let head = plan.head;
  // The id the access log shows, for the client to quote (unless the handler set its own).
  let plain = parts.plain;
  if (requestId !== undefined && !parts.sawId) {
    head += `x-request-id: ${requestId}\r\n`;
    if (!isPlain(requestId)) plain = false;
  }
  if (plan.close) head += 'connection: close\r\n';
  else if (minor === 0) head += 'connection: keep-alive\r\n';
  if (!parts.sawDate) head += dateLine();
  head += '\r\n';
  // Headers (undici's and ours) refuse CR, LF, NUL and code points above 0xFF but let other
  // controls through; node:http refuses those too, and so do we. A code point above 0xFF that
  // slipped past a check would lose its high byte in latin1 and could become a CR or LF
  // (U+010D, U+010A). One scan of the head guards both: it finds nothing in a plain ASCII head
  // (nearly every one); what it finds is then told apart (obs-text is allowed, as latin1). A head
  // whose every part was seen plain above (nearly every one) needs no scan at all.
  if (!plain && NOT_PLAIN.test(head)) {
    if (NOT_FIELD_TEXT.test(head)) throw new ResponseHeaderError('invalid character in a response header');
    plan.headLatin1 = true;
  }
  plan.head = head;
  return plan;
}
