// The request-head parser: a pure function over a Buffer (no I/O, no timers) that validates a
// complete request line and header section per RFC 9112 and extracts what framing needs.
// The connection calls it once a head is complete (see findHeadEnd); it never sees partial input.
import { indexOfByte, latin1Text } from '../util/byte-methods.ts';
import type { Buffer } from 'node:buffer';
import type { ErrorCode } from '../util/errors.ts';
import { isValidAuthority } from './authority.ts';
import { FIELD_VALUE, PATH_AS_IS, QUERY_AS_IS, TARGET, TCHAR } from './char-tables.ts';
// Byte values (CR, LF, SP, HTAB, colon) are written as literals here: an imported binding is loaded
// and checked for initialisation at every use, per field and inside the per-byte loops (seen in the
// optimized code), where a literal is an immediate operand.
import type { Limits } from './limits.ts';
import { isImplementedMethod, knownMethod } from './methods.ts';
import { trimOws } from '../util/ows.ts';

export enum Form {
  Origin = 0,
  Absolute = 1,
  Asterisk = 2,
  Authority = 3,
}

export class ParsedHead {
  method = '';
  target = '';
  form: Form = Form.Origin;
  /**
   * True when the WHATWG URL parser would keep this origin-form target exactly as received (no dot
   * segment, nothing it percent-encodes), so the request URL is a concatenation (request-url.ts).
   */
  targetAsIs = true;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and any higher 1.x, answered as 1.1: RFC 9110 §2.5). */
  minor = 1;
  /**
   * Flat [name, value, name, value, …] with names as received. Never changed once parsed: the next
   * head of the connection skips the byte checks of fields that repeat these (parseHead's `prev`).
   * Engine code only reads it, light-headers.ts copies before a change, and an application's
   * onTransaction hook is given a copy (server.ts).
   */
  headers: string[] = [];
  host: string | undefined = undefined;
  /** -1 when absent. */
  contentLength = -1;
  chunked = false;
  connectionClose = false;
  connectionKeepAlive = false;
  connectionUpgrade = false;
  upgrade: string | undefined = undefined;
  expect: string | undefined = undefined;
  error: ErrorCode | undefined = undefined;
}

const HTTP_ = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"
const MAX_CL_DIGITS = 15; // below 2^53: a length is always an exact integer

/**
 * Field names clients send on nearly every request, in the spellings they use. A name whose bytes
 * are exactly one of these is that literal string: no new string per field (a pure function of
 * the bytes; the raw names stay exactly as received).
 */
const COMMON_NAMES: string[][] = [];
for (const n of [
  'Host',
  'Accept',
  'Accept-Encoding',
  'Accept-Language',
  'Authorization',
  'Cache-Control',
  'Connection',
  'Content-Length',
  'Content-Type',
  'Cookie',
  'If-Modified-Since',
  'If-None-Match',
  'Origin',
  'Pragma',
  'Referer',
  'User-Agent',
  'X-Forwarded-For',
  'X-Forwarded-Proto',
  'X-Request-Id',
]) {
  for (const v of [n, n.toLowerCase()]) (COMMON_NAMES[v.length] ??= []).push(v);
}

/**
 * From this length on, bytesAre copies the bytes into a string and compares the two natively: the
 * loop costs about 30 instructions a char in callgrind (charCodeAt dispatches on the string's
 * representation at each char), the copy and compare about 800 in all. A browser's head repeats
 * several fields of 30 to 150 bytes (User-Agent, Accept, Cookie, sec-ch-ua) on every request.
 */
const NATIVE_COMPARE_FROM = 24;

/** Whether buf[s..s+len) are the chars of `text` (len === text.length, within buf). */
function bytesAre(buf: Buffer, s: number, len: number, text: string): boolean {
  if (len >= NATIVE_COMPARE_FROM) return latin1Text(buf, s, s + len) === text;
  for (let i = 0; i < len; i++) if (buf[s + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** A field name's string: one of COMMON_NAMES when its bytes are, else a new one. */
function fieldName(buf: Buffer, s: number, e: number): string {
  const len = e - s;
  const known = COMMON_NAMES[len];
  if (known !== undefined)
    for (let k = 0; k < known.length; k++) if (bytesAre(buf, s, len, known[k]!)) return known[k]!;
  return latin1Text(buf, s, e);
}

function fail(out: ParsedHead, code: ErrorCode): number {
  out.error = code;
  return -1;
}

/** Case-insensitive compare of buf[s..s+name.length) with a lowercase ASCII name. */
function nameIs(buf: Buffer, s: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if ((buf[s + i]! | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * Search for the end of the head (CRLF CRLF) in buf[start..end), resuming the scan at `from`.
 * Returns the index just past the head, 0 when more bytes are needed, or -1 for a bare LF
 * (RFC 9112 §2.2: we do not accept LF alone as a line terminator; it is a smuggling vector).
 */
export function findHeadEnd(buf: Buffer, start: number, from: number, end: number): number {
  const first = Math.max(from, start);
  let i = indexOfByte(buf, 0x0a /* LF */, first);
  while (i >= 0 && i < end) {
    if (i === start || buf[i - 1] !== 0x0d /* CR */) return -1;
    if (i - 3 >= start && buf[i - 2] === 0x0a /* LF */ && buf[i - 3] === 0x0d /* CR */) return i + 1;
    i = indexOfByte(buf, 0x0a /* LF */, i + 1);
  }
  // Still incomplete: a CR followed by anything but LF can never become valid, so say so now
  // rather than wait for the headers timeout.
  let c = indexOfByte(buf, 0x0d /* CR */, first);
  while (c >= 0 && c + 1 < end) {
    if (buf[c + 1] !== 0x0a /* LF */) return -1;
    c = indexOfByte(buf, 0x0d /* CR */, c + 1);
  }
  return 0;
}

function parseContentLength(buf: Buffer, s: number, e: number): number {
  // RFC 9110 §8.6: Content-Length = 1*DIGIT. Lists ("5, 5"), signs and spaces are refused.
  const n = e - s;
  if (n === 0) return -1;
  if (n > MAX_CL_DIGITS) return -2;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

function parseTransferCodings(value: string, out: ParsedHead): number {
  // RFC 9112 §6.1: chunked must be the final coding, applied once. Codings we do not decode
  // before it are a 501 (§6.1: "SHOULD respond with 501").
  let sawChunked = false;
  let other = false;
  for (const raw of value.split(',')) {
    const coding = trimOws(raw).toLowerCase();
    if (coding === '') return fail(out, 'FOYER_BAD_TRANSFER_ENCODING');
    if (sawChunked) return fail(out, 'FOYER_BAD_TRANSFER_ENCODING');
    if (coding === 'chunked') sawChunked = true;
    else if (/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(coding)) other = true;
    else return fail(out, 'FOYER_BAD_TRANSFER_ENCODING');
  }
  if (!sawChunked) return fail(out, 'FOYER_BAD_TRANSFER_ENCODING');
  if (other) return fail(out, 'FOYER_CODING_NOT_IMPLEMENTED');
  out.chunked = true;
  return 0;
}

function parseConnection(value: string, out: ParsedHead): void {
  // The one option browsers send on every request, without the split (about 1.5k instructions).
  if (value === 'keep-alive' || value === 'Keep-Alive') {
    out.connectionKeepAlive = true;
    return;
  }
  for (const raw of value.split(',')) {
    const t = trimOws(raw).toLowerCase();
    if (t === 'close') out.connectionClose = true;
    else if (t === 'keep-alive') out.connectionKeepAlive = true;
    else if (t === 'upgrade') out.connectionUpgrade = true;
  }
}

/**
 * Checks the request target's bytes from `ts` and sets `out.targetAsIs`; returns the index of the
 * first byte that is not the target's (the SP before the version when the line is valid), or -1.
 */
function scanTarget(buf: Buffer, ts: number, end: number, out: ParsedHead): number {
  // The tables as locals: an imported binding is loaded (and checked for initialisation) on every
  // use, inside the per-byte loops too (seen in the optimized code).
  const pathAsIs = PATH_AS_IS;
  const queryAsIs = QUERY_AS_IS;
  const targetByte = TARGET;
  let i = ts;
  let query = -1;
  let asIs = true;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (query < 0) {
      if (pathAsIs[c] === 1) {
        // A dot segment (`/.`, `/..`, `/%2e`) is resolved by URL parsers: not as is.
        if (c === 0x2e /* . */) {
          if (buf[i - 1] === 0x2f) asIs = false;
        } else if (c === 0x25 /* % */ && buf[i + 1] === 0x32 && (buf[i + 2]! | 0x20) === 0x65) asIs = false;
        continue;
      }
      if (targetByte[c] !== 1) break;
      if (c === 0x3f /* ? */) query = i;
      // RFC 3986 has no `\`; WHATWG would read it as `/` and change what the path names.
      else if (c === 0x5c /* \ */) return fail(out, 'FOYER_BAD_TARGET');
      else asIs = false;
    } else if (queryAsIs[c] !== 1) {
      if (targetByte[c] !== 1) break;
      asIs = false;
    }
  }
  out.targetAsIs = asIs;
  return i;
}

/** Parses the request line; returns the index of the first header line, or -1. */
function parseRequestLine(
  buf: Buffer,
  start: number,
  end: number,
  limits: Limits,
  out: ParsedHead,
  prev: ParsedHead | undefined,
): number {
  const tchar = TCHAR; // a local, as in scanTarget
  let i = start;
  while (i < end && tchar[buf[i]!] === 1) i++;
  if (i === start || buf[i] !== 0x20 /* SP */) return fail(out, 'FOYER_BAD_METHOD');
  out.method = knownMethod(buf, start, i) ?? latin1Text(buf, start, i);

  const ts = ++i;
  // The previous request's target again (a client polling one URL, a benchmark): its bytes were
  // checked when it was parsed, so comparing them is enough (the rest of the line is checked below).
  const known = prev?.target;
  if (known !== undefined && buf[ts + known.length] === 0x20 /* SP */ && bytesAre(buf, ts, known.length, known)) {
    out.target = known;
    out.targetAsIs = prev!.targetAsIs;
    i = ts + known.length;
  } else {
    i = scanTarget(buf, ts, end, out);
    if (i < 0) return -1;
    if (i === ts || buf[i] !== 0x20 /* SP */)
      return fail(out, i - start > limits.maxRequestLineSize ? 'FOYER_URI_TOO_LONG' : 'FOYER_BAD_TARGET');
    out.target = latin1Text(buf, ts, i);
  }

  // HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF (RFC 9112 §2.3).
  const v = i + 1;
  if (v + 10 > end) return fail(out, 'FOYER_BAD_VERSION');
  for (let k = 0; k < 5; k++) if (buf[v + k] !== HTTP_[k]) return fail(out, 'FOYER_BAD_VERSION');
  const major = buf[v + 5]! - 0x30;
  const minor = buf[v + 7]! - 0x30;
  if (major < 0 || major > 9 || buf[v + 6] !== 0x2e || minor < 0 || minor > 9) return fail(out, 'FOYER_BAD_VERSION');
  if (buf[v + 8] !== 0x0d /* CR */ || buf[v + 9] !== 0x0a /* LF */) return fail(out, 'FOYER_BAD_VERSION');
  if (v + 10 - start - 2 > limits.maxRequestLineSize) return fail(out, 'FOYER_URI_TOO_LONG');
  if (major !== 1) return fail(out, 'FOYER_VERSION_NOT_SUPPORTED');
  out.minor = minor === 0 ? 0 : 1;
  return v + 10;
}

function classifyTarget(out: ParsedHead): number {
  const t = out.target;
  const c0 = t.charCodeAt(0);
  if (c0 === 0x2f /* / */) {
    out.form = Form.Origin;
    return out.method === 'CONNECT' ? fail(out, 'FOYER_BAD_TARGET') : 0;
  }
  if (t === '*') {
    out.form = Form.Asterisk; // RFC 9112 §3.2.4: only for OPTIONS
    return out.method === 'OPTIONS' ? 0 : fail(out, 'FOYER_BAD_TARGET');
  }
  if (out.method === 'CONNECT') {
    out.form = Form.Authority; // RFC 9112 §3.2.3: host:port, port required
    return isValidAuthority(t, false) && /:\d+$/.test(t) ? 0 : fail(out, 'FOYER_BAD_TARGET');
  }
  // absolute-form (RFC 9112 §3.2.2): http(s)://authority[path-abempty][?query]
  const m = /^(https?):\/\/([^/?]*)/i.exec(t);
  if (m === null) return fail(out, 'FOYER_BAD_TARGET');
  if (!isValidAuthority(m[2]!, false)) return fail(out, 'FOYER_BAD_TARGET');
  out.form = Form.Absolute;
  return 0;
}

/**
 * Parses buf[start..end), which must be a complete head ending in CRLF CRLF (see findHeadEnd).
 * Fills `out` and returns `end`, or -1 with `out.error` set.
 */
export function parseHead(
  buf: Buffer,
  start: number,
  end: number,
  limits: Limits,
  out: ParsedHead,
  /** A Host value already validated on this connection (clients repeat it on every request). */
  knownHost?: string,
  /** The connection's previous head: where the bytes repeat its target or a field at the same position, its strings are reused and its checks are not done again. */
  prev?: ParsedHead,
): number {
  let i = parseRequestLine(buf, start, end, limits, out, prev);
  if (i < 0) return i;
  if (classifyTarget(out) < 0) return -1;

  const headers = out.headers;
  const tchar = TCHAR; // locals, as in parseRequestLine
  const valueByte = FIELD_VALUE;
  const before: readonly string[] | undefined = prev?.headers;
  let count = 0;
  let hostSeen = false;
  let teValue: string | undefined;
  for (;;) {
    const c = buf[i];
    if (c === 0x0d /* CR */) {
      if (buf[i + 1] !== 0x0a /* LF */) return fail(out, 'FOYER_BAD_HEADER');
      i += 2;
      break;
    }
    // The previous head's field at the same position: most clients send theirs in one order, and
    // repeat most of them on every request of a connection. Its name and value were checked when
    // that head was parsed (the array is never changed after: light-headers.ts copies before a
    // change), so a field whose bytes are the same needs no byte-by-byte check again.
    const at = 2 * count;
    const prevName = before !== undefined && at < before.length ? before[at] : undefined;
    const prevValue = prevName !== undefined ? before![at + 1] : undefined;
    // RFC 9112 §5.2: obs-fold (a line starting with whitespace) is rejected with 400.
    const ns = i;
    let name: string | undefined;
    if (
      prevName !== undefined &&
      buf[ns + prevName.length] === 0x3a /* COLON */ &&
      bytesAre(buf, ns, prevName.length, prevName)
    ) {
      name = prevName;
      i = ns + prevName.length;
    } else while (tchar[buf[i]!] === 1) i++;
    const ne = i;
    // RFC 9112 §5.1: no whitespace between field name and colon.
    if (ne === ns || buf[i] !== 0x3a /* COLON */) return fail(out, 'FOYER_BAD_HEADER');
    i++;
    while (buf[i] === 0x20 /* SP */ || buf[i] === 0x09 /* HTAB */) i++;
    const vs = i;
    let ve: number;
    let value: string | undefined;
    if (
      prevValue !== undefined &&
      buf[vs + prevValue.length] === 0x0d /* CR */ &&
      buf[vs + prevValue.length + 1] === 0x0a /* LF */ &&
      bytesAre(buf, vs, prevValue.length, prevValue)
    ) {
      value = prevValue;
      ve = vs + prevValue.length;
      i = ve + 2;
    } else {
      while (valueByte[buf[i]!] === 1) i++;
      if (buf[i] !== 0x0d /* CR */ || buf[i + 1] !== 0x0a /* LF */) return fail(out, 'FOYER_BAD_HEADER');
      ve = i;
      while (ve > vs && (buf[ve - 1] === 0x20 /* SP */ || buf[ve - 1] === 0x09) /* HTAB */) ve--;
      i += 2;
    }
    if (++count > limits.maxHeaderCount) return fail(out, 'FOYER_HEADERS_TOO_LARGE');
    if (name === undefined) name = fieldName(buf, ns, ne);
    const len = ne - ns;
    if (value === undefined) {
      // Clients repeat the Host of the connection's last request: that string, not a new one.
      value =
        len === 4 && knownHost !== undefined && knownHost.length === ve - vs && bytesAre(buf, vs, ve - vs, knownHost)
          ? knownHost
          : latin1Text(buf, vs, ve);
    }
    // The usual spellings are the interned strings fieldName and a repeat give: compared by
    // reference before the bytes (about 30 instructions a char).
    switch (len) {
      case 4:
        if (name === 'Host' || name === 'host' || nameIs(buf, ns, len, 'host')) {
          // RFC 9112 §3.2: exactly one Host; several is a 400 whatever the version.
          if (hostSeen) return fail(out, 'FOYER_BAD_HOST');
          hostSeen = true;
          if (value !== knownHost && !isValidAuthority(value, false)) return fail(out, 'FOYER_BAD_HOST');
          out.host = value;
        }
        break;
      case 14:
        if (name === 'Content-Length' || name === 'content-length' || nameIs(buf, ns, len, 'content-length')) {
          const n = parseContentLength(buf, vs, ve);
          if (n === -2) return fail(out, 'FOYER_BODY_TOO_LARGE');
          if (n < 0) return fail(out, 'FOYER_BAD_CONTENT_LENGTH');
          // RFC 9110 §8.6: differing values are unrecoverable framing.
          if (out.contentLength >= 0 && out.contentLength !== n) return fail(out, 'FOYER_BAD_CONTENT_LENGTH');
          out.contentLength = n;
        }
        break;
      case 17:
        if (nameIs(buf, ns, len, 'transfer-encoding')) teValue = teValue === undefined ? value : `${teValue}, ${value}`;
        break;
      case 10:
        if (name === 'Connection' || name === 'connection' || nameIs(buf, ns, len, 'connection'))
          parseConnection(value, out);
        break;
      case 6:
        if (nameIs(buf, ns, len, 'expect')) out.expect = out.expect === undefined ? value : `${out.expect}, ${value}`;
        break;
      case 7:
        if (nameIs(buf, ns, len, 'upgrade')) out.upgrade = value;
        break;
    }
    headers.push(name, value);
  }
  if (i !== end) return fail(out, 'FOYER_BAD_HEADER');

  if (!hostSeen && out.minor === 1) return fail(out, 'FOYER_BAD_HOST');
  if (teValue !== undefined) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; with Content-Length it is
    // the classic smuggling ambiguity (§6.3): refuse both rather than guess.
    if (out.minor === 0) return fail(out, 'FOYER_BAD_TRANSFER_ENCODING');
    if (out.contentLength >= 0) return fail(out, 'FOYER_AMBIGUOUS_FRAMING');
    if (parseTransferCodings(teValue, out) < 0) return -1;
  }
  if (out.contentLength > limits.maxBodySize) return fail(out, 'FOYER_BODY_TOO_LARGE');
  // RFC 9110 §9.1: a well-formed method we do not know is a 501, not a 400.
  if (!isImplementedMethod(out.method)) return fail(out, 'FOYER_METHOD_NOT_IMPLEMENTED');
  return end;
}
