// The request head (BEGIN_REQUEST, one PARAMS record, the empty PARAMS and, without a body, the
// empty STDIN; FastCGI Specification §5.1–§5.3) as a latin1 string: one char per byte. Written
// with `socket.write(text, 'latin1')`, node encodes it straight into the write, with no Buffer
// built in JavaScript and one call into C++ (the Buffer path of request-writer.ts measured and
// wrote every name and value separately: a quarter of the gateway's own time for hello.php).
// Only for the usual case: every string param is ASCII (then its UTF-8 bytes are its chars), and
// the params fit one record. Anything else returns undefined and goes the Buffer way.
import { Buffer } from 'node:buffer';
import type { Params } from './name-value.ts';
import { flat } from '../../util/flat-string.ts';
import { BEGIN_REQUEST, FLAG_KEEP_CONN, MAX_CONTENT, PARAMS, paddingFor, ROLE_RESPONDER, STDIN } from './record.ts';

const NON_ASCII = /[^\x00-\x7f]/;
const PADDING = ['', '\0', '\0\0', '\0\0\0', '\0\0\0\0', '\0\0\0\0\0', '\0\0\0\0\0\0', '\0\0\0\0\0\0\0'];

function notAscii(pair: Params[number]): boolean {
  return NON_ASCII.test(pair[0]) || (typeof pair[1] === 'string' && NON_ASCII.test(pair[1]));
}

/** An 8-byte record header (§3.3) as chars. */
function header(type: number, requestId: number, length: number, padding: number): string {
  return String.fromCharCode(1, type, requestId >> 8, requestId & 0xff, length >> 8, length & 0xff, padding, 0);
}

const SHORT_LENGTHS = Array.from({ length: 128 }, (_, n) => String.fromCharCode(n));

/** A name-value length (§3.4): one byte below 128, else four with the top bit set. */
function lengthText(n: number): string {
  return n < 128
    ? SHORT_LENGTHS[n]!
    : String.fromCharCode(((n >>> 24) & 0x7f) | 0x80, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function begin(requestId: number, keepConn: boolean): string {
  return (
    header(BEGIN_REQUEST, requestId, 8, 0) +
    String.fromCharCode(0, ROLE_RESPONDER, keepConn ? FLAG_KEEP_CONN : 0, 0, 0, 0, 0, 0)
  );
}

/**
 * The records around the params that depend on the request id and the flags alone: BEGIN_REQUEST
 * (with and without FCGI_KEEP_CONN), the empty PARAMS and the empty STDIN. The gateway sends every
 * request with one id, so they are made once, not with four 8-char fromCharCode calls per request.
 */
let fixedId = -1;
let beginKeep = '';
let beginClose = '';
let paramsEnd = '';
let paramsStdinEnd = '';

function makeFixed(requestId: number): void {
  fixedId = requestId;
  beginKeep = flat(begin(requestId, true));
  beginClose = flat(begin(requestId, false));
  paramsEnd = header(PARAMS, requestId, 0, 0);
  paramsStdinEnd = flat(paramsEnd + header(STDIN, requestId, 0, 0));
}

/**
 * What the last heads held at each position of their params: the pair and its encoded text, and the
 * text of every pair up to it joined. The gateway lists the same variables in the same order for
 * every request, the server's and the script's first, with the same values, so a head mostly
 * begins with pieces already made: in callgrind, making each pair's text again (four string adds
 * and a rope of four nodes per pair) was the largest part of the gateway's own work. Nothing here
 * changes what a head is (a pure function of the params). Only the server's and the script's
 * variables are kept (KEPT): nothing a client sends (the target, PATH_INFO, fields, its address)
 * and no variable an application adds stays in memory after its request.
 */
const MAX_SLOTS = 64;
/** The name last seen at each position, whether its pairs are kept, and the kept pair and text. */
const slotName: (string | undefined)[] = [];
const slotKept: boolean[] = [];
const slotValue: (string | undefined)[] = [];
const slotText: string[] = [];
/** slotJoined[i]: the texts of slots 0..i joined, kept only while every one of them is kept. */
const slotJoined: string[] = [];
/** slotJoined[i] was flattened since it was made. */
const slotJoinedFlat: boolean[] = [];
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

function pairText(name: string, value: string): string {
  return lengthText(name.length) + lengthText(value.length) + name + value;
}

/** Slot i now holds `name` and `value`: keeps them and their text where they may be kept. */
function keepSlot(i: number, name: string, value: string, text: string): boolean {
  if (slotName[i] !== name) {
    slotName[i] = name;
    slotKept[i] = KEPT.has(name);
  }
  if (!slotKept[i]) {
    slotValue[i] = undefined;
    slotText[i] = '';
    slotJoined[i] = '';
    return false;
  }
  slotValue[i] = value;
  slotText[i] = flat(text);
  return true;
}

/** Forgets every kept pair (for tests: each property run starts from nothing). */
export function forgetKeptParams(): void {
  slotName.length = 0;
  slotKept.length = 0;
  slotValue.length = 0;
  slotText.length = 0;
  slotJoined.length = 0;
  slotJoinedFlat.length = 0;
}

/** Slots 0..i, all kept, joined into `joined`. */
function join(i: number, joined: string): void {
  slotJoined[i] = joined;
  slotJoinedFlat[i] = false;
}

/** The head as latin1 text, or undefined when it needs the Buffer encoder (see above). */
export function requestHeadText(
  requestId: number,
  keepConn: boolean,
  params: Params,
  noBody: boolean,
): string | undefined {
  let content = '';
  let bytes = false;
  // Every slot so far is kept (and so is the join), and every one equals its kept pair.
  let keptSoFar = true;
  let sameSoFar = true;
  for (let i = 0; i < params.length; i++) {
    const pair = params[i]!;
    const name = pair[0];
    let value = pair[1];
    if (typeof value !== 'string') {
      // Bytes as received (a header value beyond ASCII): latin1 maps each byte to one char.
      value = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
      bytes = true;
    }
    if (i >= MAX_SLOTS) {
      content += pairText(name, value);
      continue;
    }
    if (slotName[i] === name && slotValue[i] === value) {
      if (sameSoFar) content = slotJoined[i]!;
      else {
        content += slotText[i]!;
        if (keptSoFar) join(i, content);
      }
      continue;
    }
    // The kept join this head starts with is about to be a piece of a longer string: flattened
    // (in place, once) it is copied as one piece from now on, not walked pair by pair.
    if (sameSoFar && i > 0 && !slotJoinedFlat[i - 1]) {
      flat(content);
      slotJoinedFlat[i - 1] = true;
    }
    sameSoFar = false;
    const text = pairText(name, value);
    content += text;
    if (keepSlot(i, name, value, text) && keptSoFar) join(i, content);
    else keptSoFar = false;
  }
  // A shorter list than the last: the joins kept past its end were made with pairs it may have
  // changed. The position after it now matches nothing, so a longer head makes them again.
  if (params.length < MAX_SLOTS) slotValue[params.length] = undefined;
  const size = content.length;
  if (size === 0 || size > MAX_CONTENT) return undefined;
  // Strings must be ASCII. With no byte values, the content's UTF-8 length is its length exactly
  // when every char is below 0x80: one native count over the content, which V8 flattens once (the
  // write then copies it flat). In callgrind a regular expression here cost twice the count, a
  // charCodeAt loop over every param five times, and Array#join more than the string adds.
  if (bytes ? params.some(notAscii) : Buffer.byteLength(flat(content), 'utf8') !== size) return undefined;
  const pad = paddingFor(size);
  if (requestId !== fixedId) makeFixed(requestId);
  const start = keepConn ? beginKeep : beginClose;
  const end = noBody ? paramsStdinEnd : paramsEnd;
  return start + header(PARAMS, requestId, size, pad) + content + PADDING[pad] + end;
}
