// The request head (BEGIN_REQUEST, one PARAMS record, the empty PARAMS and, without a body, the
// empty STDIN; FastCGI Specification §5.1–§5.3) as a latin1 string: one char per byte. Written
// with `socket.write(text, 'latin1')`, node encodes it straight into the write, with no Buffer
// built in JavaScript and one call into C++ (the Buffer path of request-writer.ts measured and
// wrote every name and value separately: a quarter of the gateway's own time for hello.php).
// Only for the usual case: every string param is ASCII (then its UTF-8 bytes are its chars), and
// the params fit one record. Anything else returns undefined and goes the Buffer way.
import type { Params } from './name-value.ts';
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

/** The head as latin1 text, or undefined when it needs the Buffer encoder (see above). */
export function requestHeadText(
  requestId: number,
  keepConn: boolean,
  params: Params,
  noBody: boolean,
): string | undefined {
  let content = '';
  let bytes = false;
  for (let i = 0; i < params.length; i++) {
    const pair = params[i]!;
    const name = pair[0];
    let value = pair[1];
    if (typeof value !== 'string') {
      // Bytes as received (a header value beyond ASCII): latin1 maps each byte to one char.
      value = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
      bytes = true;
    }
    content += lengthText(name.length) + lengthText(value.length) + name + value;
  }
  const size = content.length;
  if (size === 0 || size > MAX_CONTENT) return undefined;
  // Strings must be ASCII. With no byte values, the content's UTF-8 length is its length exactly
  // when every char is below 0x80: one native count over the content, which V8 flattens once (the
  // write then copies it flat). In callgrind a regular expression here cost twice the count, a
  // charCodeAt loop over every param five times, and Array#join more than the string adds.
  if (bytes ? params.some(notAscii) : Buffer.byteLength(content, 'utf8') !== size) return undefined;
  const pad = paddingFor(size);
  const end = header(PARAMS, requestId, 0, 0) + (noBody ? header(STDIN, requestId, 0, 0) : '');
  return begin(requestId, keepConn) + header(PARAMS, requestId, size, pad) + content + PADDING[pad] + end;
}
