// The CGI response head (RFC 3875 §6.2–§6.3) as php-fpm writes it at the start of STDOUT:
// header lines, an empty line, then the body. Everything here is untrusted backend output:
// a bad field name or a control character fails the whole response (502), it is never passed on
// (httpd's strict behaviour; see ../shared/conformance/README.md, cgi_response_header rows).
import { latin1Text } from '../../util/byte-methods.ts';

export interface CgiHead {
  readonly status: number;
  /** Field lines in order, names as sent; several Set-Cookie stay separate. Never changed (see lastHead). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The names lowercased, in the same order. */
  readonly lower: readonly string[];
}

export class CgiHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CgiHeaderError';
  }
}

// RFC 9110 §5.6.2 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB; every other control is refused.
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

// Hop-by-hop and framing fields belong to each connection (RFC 9110 §7.6.1), not to the backend.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/**
 * Finds the end of the head in `buf`: returns [headEnd, bodyStart] or undefined. Accepts CRLF and
 * bare LF line ends (RFC 3875 §6.2 allows either from scripts; PHP sends CRLF).
 */
export function findHeadEnd(buf: Uint8Array, from = 0): [number, number] | undefined {
  for (let i = Math.max(0, from); i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    // An empty line: LF LF or LF CR LF.
    if (i + 1 < buf.length && buf[i + 1] === 0x0a) return [i + 1, i + 2];
    if (i + 2 < buf.length && buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return [i + 1, i + 3];
    // A head that starts with an empty line: no header fields at all.
    if (i === 0 || (i === 1 && buf[0] === 0x0d)) return [0, i + 1];
  }
  return undefined;
}

/** One validated header line: its field, or its Status code. */
interface Field {
  name: string;
  value: string;
  lower: string;
  /** The code of a `Status` line, 0 otherwise. */
  status: number;
}

function parseLine(line: string): Field {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new CgiHeaderError('header line without a field name');
  const name = line.slice(0, colon);
  // A space or tab before the colon, or a folded continuation line, fails the token test.
  if (!TOKEN.test(name)) throw new CgiHeaderError('invalid header field name');
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  if (BAD_VALUE.test(value)) throw new CgiHeaderError('control character in header value');
  const lower = name.toLowerCase();
  let status = 0;
  if (lower === 'status') {
    // RFC 3875 §6.3.3: Status = 3digit SP reason-phrase.
    const m = /^([1-9]\d\d)(?:[ \t].*)?$/.exec(value);
    const code = m ? Number(m[1]) : Number.NaN;
    if (!(code >= 200 && code <= 599)) throw new CgiHeaderError('invalid Status');
    status = code;
  } else if (lower === 'content-length' && !/^\d{1,15}$/.test(value)) {
    throw new CgiHeaderError('invalid Content-Length');
  } else if (lower === 'location' && value === '') throw new CgiHeaderError('empty Location');
  return { name, value, lower, status };
}

// PHP sends the same few lines with every response (`Content-type: text/html; charset=UTF-8`):
// each distinct valid line is checked once and remembered. Only fields that name a fixed policy
// are remembered: a Location, Set-Cookie or ETag carries one user's URL, session or version (a
// reset token would sit in memory), and would fill the table with lines never seen again. Bounded
// in count and length, since the lines are the application's. A line is a pure function of its
// text, so nothing of one response reaches another.
const MAX_KNOWN_LINES = 256;
const MAX_KNOWN_LENGTH = 256;
const REMEMBERED_FIELDS = new Set([
  'content-type',
  'cache-control',
  'pragma',
  'vary',
  'x-powered-by',
  'x-content-type-options',
  'x-frame-options',
  'content-language',
]);
const knownLines = new Map<string, Field>();

function fieldOf(line: string): Field {
  let f = knownLines.get(line);
  if (f === undefined) {
    f = parseLine(line);
    if (knownLines.size < MAX_KNOWN_LINES && line.length <= MAX_KNOWN_LENGTH && REMEMBERED_FIELDS.has(f.lower))
      knownLines.set(line, f);
  }
  return f;
}

/**
 * The last head made only of remembered lines (and Status), whole, with its parse: PHP answers
 * most requests with one head (`X-Powered-By`, `Content-type`), and an equal head is then one
 * compare instead of a Map lookup per line, each hashing a new string (callgrind: about 600
 * instructions per hello.php). The parse is frozen, since every response that has this head shares
 * it. Bounded: one head of at most MAX_KNOWN_HEAD chars, made of lines that carry no user's data.
 */
const MAX_KNOWN_HEAD = 1024;
let lastHeadText = '';
let lastHead: CgiHead | undefined;

/**
 * The fields of the kept head, or undefined: a parse whose `headers` is this very array is the kept
 * head's (frozen; only remembered fields, so no Content-Length, Location, cookie or X-Sendfile).
 */
export function keptHeadFields(): CgiHead['headers'] | undefined {
  return lastHead?.headers;
}

/** Forgets the kept head (for tests: a parse from nothing to compare with). */
export function forgetCgiHead(): void {
  lastHeadText = '';
  lastHead = undefined;
}

/** Parses and validates the head (bytes before the empty line: `head` up to `end`). Throws CgiHeaderError. */
export function parseCgiHead(head: Uint8Array, end = head.length): CgiHead {
  const text = latin1Text(head, 0, end);
  if (lastHead !== undefined && text === lastHeadText) return lastHead;
  const headers: Array<[string, string]> = [];
  const lower: string[] = [];
  let status: number | undefined;
  let location = false;
  let remembered = text.length <= MAX_KNOWN_HEAD;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    if (line === '') continue;
    const f = fieldOf(line);
    if (f.status !== 0) {
      status = f.status;
      continue;
    }
    if (remembered && knownLines.get(line) !== f) remembered = false;
    if (HOP_BY_HOP.has(f.lower)) continue;
    if (f.lower === 'location') location = true;
    headers.push([f.name, f.value]);
    lower.push(f.lower);
  }
  // RFC 3875 §6.2.3–§6.2.4: a redirect without Status is a 302 (what PHP's header() sends too).
  const parsed: CgiHead = { status: status ?? (location ? 302 : 200), headers, lower };
  if (remembered) {
    for (const pair of headers) Object.freeze(pair);
    lastHead = Object.freeze({ status: parsed.status, headers: Object.freeze(headers), lower: Object.freeze(lower) });
    lastHeadText = text;
    return lastHead;
  }
  return parsed;
}
