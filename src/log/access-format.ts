// Access-log line formats: nginx's `combined` and `common`, byte for byte as nginx writes them
// (same escaping, `-` for missing values), and `json` (one object per line, pino's field names
// where pino has them). A format is a function from a transaction to a line, built once.
import { fieldValue, type Transaction } from '../reception/transaction.ts';

export type AccessLogFormat = 'combined' | 'common' | 'json';
export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['combined', 'common', 'json'];

/**
 * `now`: Date.now() when the line is written; `worker`: the worker's id (0 for a single process).
 * Combined and common lines are ASCII (every byte outside printable ASCII is escaped); json lines
 * may hold UTF-8.
 */
export type LineFormatter = (tx: Transaction, now: number) => string;

// nginx's ngx_http_log_escape: '"', '\', bytes below 0x20 and from 0x7F up become \xHH (uppercase).
// Header values reach us as latin1 (one char per byte), so a char code is the byte nginx sees.
const HEX = '0123456789ABCDEF';

// What needs escaping. A regex test (native code) before any JavaScript loop: most values need
// nothing, this runs five times per line, and a JavaScript char loop costs ~3-4 ns per character.
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\uffff]/;

export function nginxEscape(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f) {
      const b = c & 0xff; // a char above 0xFF never comes from the wire; keep the line one byte per char
      out += `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
    } else out += s[i];
  }
  return out;
}

// For JSON: fields arrive as latin1 (bytes); decode UTF-8 so a UA with accents reads as sent.
const NON_ASCII = /[^\x00-\x7f]/;
function text(v: string | undefined): string | undefined {
  return v !== undefined && NON_ASCII.test(v) ? Buffer.from(v, 'latin1').toString('utf8') : v;
}

// nginx writes `-` for a value that is not there, and an empty string for a field sent empty.
const dash = (v: string | undefined): string => (v === undefined ? '-' : nginxEscape(v));

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

/** nginx's $time_local, `30/Nov/2026:11:21:22 +0000`, cached per second (a line per request). */
export class LocalTime {
  #second = -1;
  #text = '';

  format(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      const d = new Date(second * 1000);
      const off = -d.getTimezoneOffset();
      const sign = off < 0 ? '-' : '+';
      const a = Math.abs(off);
      this.#text =
        `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
        `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
    }
    return this.#text;
  }
}

/**
 * nginx's $request, escaped: the request line as received; for a refusal, what could be read of
 * it. Its parts are escaped one by one (the escape is per character, so the bytes are the same)
 * rather than joined first: scanning a joined string would make V8 flatten it, a copy per line.
 */
function escapedRequestLine(tx: Transaction): string {
  const minor = tx.minor;
  if (minor < 0) return dash(tx.rawLine || undefined);
  return `${nginxEscape(tx.method)} ${nginxEscape(tx.target)}${minor === 1 ? ' HTTP/1.1' : minor === 0 ? ' HTTP/1.0' : ` HTTP/1.${minor}`}`;
}

function clientAddress(tx: Transaction): string {
  return tx.ctx?.remoteAddress ?? tx.peer;
}

/**
 * nginx's combined and common lines. A line is joined from few pieces: the part before the request
 * line (client, user, second) and the part after the byte count (referer, user agent) repeat from
 * one request to the next on a connection, so each is kept as made and reused while its values
 * are equal (measured: string joins and the flattening they cost are most of a line's price).
 */
class NginxLines {
  readonly #combined: boolean;
  readonly #time = new LocalTime();
  // `client - user [time] "`, for these values:
  #second = -1;
  #address = '';
  #user: string | undefined = undefined;
  #head = '';
  // ` "referer" "user agent"` and the newline, for these values:
  #tailMade = false;
  #referer: string | undefined = undefined;
  #agent: string | undefined = undefined;
  #tail = '';

  constructor(combined: boolean) {
    this.#combined = combined;
  }

  line(tx: Transaction, now: number): string {
    const ctx = tx.ctx;
    const address = (ctx === undefined ? tx.peer : ctx.remoteAddress) || '-';
    const user = ctx?.remoteUser;
    const second = Math.floor(now / 1000);
    if (second !== this.#second || address !== this.#address || user !== this.#user) {
      this.#second = second;
      this.#address = address;
      this.#user = user;
      // The address is an IP literal (the socket's, or one the trusted-proxy rules parsed); escaped
      // all the same, so that a combined or common line is ASCII whatever it holds.
      this.#head = `${nginxEscape(address)} - ${user === undefined ? '-' : nginxEscape(user)} [${this.#time.format(now)}] "`;
    }
    const middle = `${escapedRequestLine(tx)}" ${tx.status} ${tx.bytes}`;
    if (!this.#combined) return `${this.#head}${middle}\n`;
    const referer = fieldValue(tx.fields, 'referer');
    const agent = fieldValue(tx.fields, 'user-agent');
    if (!this.#tailMade || referer !== this.#referer || agent !== this.#agent) {
      this.#tailMade = true;
      this.#referer = referer;
      this.#agent = agent;
      this.#tail = ` "${dash(referer)}" "${dash(agent)}"\n`;
    }
    return this.#head + middle + this.#tail;
  }
}

/** Splits a refused request's raw line into method, target and protocol where it has them. */
function lineParts(tx: Transaction): [string, string, string] {
  if (tx.minor >= 0) return [tx.method, tx.target, `HTTP/1.${tx.minor}`];
  const p = tx.rawLine.split(' ');
  return [p[0] ?? '', p[1] ?? '', p.slice(2).join(' ')];
}

export function createFormatter(format: AccessLogFormat, worker = 0): LineFormatter {
  switch (format) {
    case 'common':
    case 'combined': {
      const lines = new NginxLines(format === 'combined');
      return (tx, now) => lines.line(tx, now);
    }
    case 'json':
      return (tx, now) => {
        const [method, url, protocol] = lineParts(tx);
        return `${JSON.stringify({
          time: now,
          reqId: tx.ctx?.requestId,
          remoteAddress: clientAddress(tx),
          remoteUser: tx.ctx?.remoteUser,
          method,
          url: text(url),
          protocol,
          statusCode: tx.status,
          bytes: tx.bytes,
          responseTime: now - tx.start,
          referer: text(fieldValue(tx.fields, 'referer')),
          userAgent: text(fieldValue(tx.fields, 'user-agent')),
          worker,
        })}\n`;
      };
  }
}
