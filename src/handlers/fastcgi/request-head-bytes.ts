// The request head (BEGIN_REQUEST, one PARAMS record, the empty PARAMS and, without a body, the
// empty STDIN; FastCGI Specification §5.1–§5.3) written into one Buffer in one pass, for the usual
// case: every string param is ASCII (its UTF-8 bytes are then its chars) and the params fit one
// record. Anything else returns undefined and goes the general encoder's way (request-writer.ts),
// which measures and writes every name and value through Buffer#write.
//
// Why not a latin1 text head, as before: its string adds, two flattenings (one to count UTF-8
// bytes, one in the write) and the count itself were about 11,000 instructions per hello.php, and
// it refused every head with a field of 128 bytes or more (a four-byte length is not ASCII), so
// most browsers' requests took the general encoder. Here the leading server and script variables
// are copied as bytes kept from the last head, and the rest is written as text whose byte count
// is its ASCII check; the socket takes the Buffer as it is.
import { Buffer } from 'node:buffer';
import type { Params } from './name-value.ts';
import {
  BEGIN_REQUEST_SIZE,
  HEADER_SIZE,
  MAX_CONTENT,
  paddingFor,
  PARAMS,
  STDIN,
  writeBeginRequest,
  writeHeader,
} from './record.ts';

/** BEGIN_REQUEST and the PARAMS record's header. */
const LEAD = BEGIN_REQUEST_SIZE + HEADER_SIZE;

/**
 * The names whose leading run is kept, value and bytes, from one head to the next: the server's and
 * the script's variables, which the gateway lists first and which are the same for every request
 * of a script. Nothing a client sends for itself (the target, PATH_INFO, fields, its address) is
 * kept after its request; neither is any variable an application adds.
 */
const KEPT = new Set([
  'GATEWAY_INTERFACE',
  'SERVER_SOFTWARE',
  'SERVER_PROTOCOL',
  'REQUEST_SCHEME',
  'DOCUMENT_ROOT',
  'SERVER_ADDR',
  'SERVER_PORT',
  'SERVER_NAME',
  'REDIRECT_STATUS',
  'HTTPS',
  'SCRIPT_NAME',
  'SCRIPT_FILENAME',
  'REQUEST_METHOD',
]);
/** Bounds of the kept run: a params list may repeat a kept name (extra params). */
const MAX_KEPT_PAIRS = 32;
const MAX_KEPT_BYTES = 8192;

/** The kept run of the last head that changed it: its pairs, and their encoding. */
let keptNames: string[] = [];
let keptValues: string[] = [];
/** keptEnds[i]: where pair i's bytes end in keptBytes. */
let keptEnds: number[] = [];
let keptBytes: Buffer = Buffer.alloc(0);
/** Where each pair of the head being written ends (relative to the content's start): scratch. */
const ends: number[] = [];

/** The names of the kept run (for tests). */
export function keptParamNames(): readonly string[] {
  return keptNames;
}

/** Forgets the kept run (for tests: each property run starts from nothing). */
export function forgetKeptParams(): void {
  keptNames = [];
  keptValues = [];
  keptEnds = [];
  keptBytes = Buffer.alloc(0);
}

/** A name-value length (§3.4): one byte below 128, else four with the top bit set. */
function writeLength(out: Buffer, at: number, n: number): number {
  if (n < 128) {
    out[at] = n;
    return at + 1;
  }
  out[at] = ((n >>> 24) & 0x7f) | 0x80;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
  return at + 4;
}

const SHORT_LENGTHS = Array.from({ length: 128 }, (_, n) => String.fromCharCode(n));

/**
 * Writes `text` as UTF-8 at `at` (Buffer#write's default); -1 unless it was ASCII (a byte per
 * char). The space after `at` always exceeds the text by 8 bytes or more (the records after the
 * params), so text that is not ASCII writes more bytes than it has chars, even when the end of
 * `out` cuts it.
 */
function writeText(out: Buffer, at: number, text: string): number {
  if (text.length === 0) return at;
  const written = out.write(text, at);
  return written === text.length ? at + written : -1;
}

/** The head as one Buffer, or undefined when it needs the general encoder (see above). */
export function requestHeadBytes(
  requestId: number,
  keepConn: boolean,
  params: Params,
  noBody: boolean,
): Buffer | undefined {
  const n = params.length;
  // The leading pairs that equal the kept run are copied as its bytes.
  let same = 0;
  const limit = Math.min(n, keptNames.length);
  while (same < limit) {
    const pair = params[same]!;
    if (pair[0] !== keptNames[same] || pair[1] !== keptValues[same]) break;
    same++;
  }
  const sameBytes = same === 0 ? 0 : keptEnds[same - 1]!;
  // The size if every string is ASCII (a char per byte); a string that is not is found below.
  let size = sameBytes;
  for (let i = same; i < n; i++) {
    const pair = params[i]!;
    const nl = pair[0].length;
    const value = pair[1];
    const vl = typeof value === 'string' ? value.length : value.byteLength;
    size += (nl < 128 ? 1 : 4) + (vl < 128 ? 1 : 4) + nl + vl;
  }
  if (size === 0 || size > MAX_CONTENT) return undefined;
  const pad = paddingFor(size);
  const out = Buffer.allocUnsafe(LEAD + size + pad + HEADER_SIZE + (noBody ? HEADER_SIZE : 0));
  writeBeginRequest(out, requestId, keepConn);
  writeHeader(out, BEGIN_REQUEST_SIZE, PARAMS, requestId, size, pad);
  let at = LEAD;
  if (sameBytes > 0) at += keptBytes.copy(out, at, 0, sameBytes);
  // The kept run of this head: `same` pairs already, and on while names are kept and values text.
  let run = same;
  // The rest as text, written at once: a JavaScript loop over the chars cost about 40
  // instructions a char, one native write about one. Lengths of 128 and more (four bytes, not
  // ASCII) and values that are bytes are written in place, between two pieces of text.
  let text = '';
  for (let i = same; i < n; i++) {
    const pair = params[i]!;
    const name = pair[0];
    const value = pair[1];
    const nl = name.length;
    if (typeof value === 'string' && nl < 128 && value.length < 128) {
      text += SHORT_LENGTHS[nl]! + SHORT_LENGTHS[value.length]! + name + value;
      if (run === i && run < MAX_KEPT_PAIRS && KEPT.has(name)) ends[run++] = at - LEAD + text.length;
      continue;
    }
    at = writeText(out, at, text);
    if (at < 0) return undefined;
    text = '';
    at = writeLength(out, at, nl);
    if (typeof value === 'string') {
      at = writeLength(out, at, value.length);
      at = writeText(out, at, name + value);
      if (at < 0) return undefined;
      if (run === i && run < MAX_KEPT_PAIRS && KEPT.has(name)) ends[run++] = at - LEAD;
    } else {
      at = writeLength(out, at, value.byteLength);
      at = writeText(out, at, name);
      if (at < 0) return undefined;
      out.set(value, at);
      at += value.byteLength;
    }
  }
  at = writeText(out, at, text);
  if (at < 0) return undefined;
  for (let i = 0; i < pad; i++) out[at + i] = 0;
  at += pad;
  writeHeader(out, at, PARAMS, requestId, 0, 0);
  if (noBody) writeHeader(out, at + HEADER_SIZE, STDIN, requestId, 0, 0);
  // A run that differs from the kept one replaces it (the usual head keeps it as it is).
  if (run !== same || same !== keptNames.length) keep(out, params, same, run);
  return out;
}

/** Keeps the first `run` pairs of `params` and their bytes (written in `out`; the first `same` were kept already). */
function keep(out: Buffer, params: Params, same: number, run: number): void {
  for (let i = 0; i < same; i++) ends[i] = keptEnds[i]!;
  // The longest part of the run within the byte bound.
  while (run > 0 && ends[run - 1]! > MAX_KEPT_BYTES) run--;
  // Cut back to the run already kept (a long client Host as SERVER_NAME): nothing to make again.
  if (run === same && same === keptNames.length) return;
  const names: string[] = new Array(run);
  const values: string[] = new Array(run);
  for (let i = 0; i < run; i++) {
    names[i] = params[i]![0];
    values[i] = params[i]![1] as string;
  }
  const length = run === 0 ? 0 : ends[run - 1]!;
  // Memory of its own: a slice of Buffer's pool would keep a whole slab alive for as long.
  const bytes = Buffer.allocUnsafeSlow(length);
  out.copy(bytes, 0, LEAD, LEAD + length);
  keptNames = names;
  keptValues = values;
  keptEnds = ends.slice(0, run);
  keptBytes = bytes;
}
