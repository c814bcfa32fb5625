// Access-log line formats: nginx's `combined` and `common`, byte for byte as nginx writes them
// (same escaping, `-` for missing values), and `json` (one object per line, pino's field names
// where pino has them). A format is a function from a transaction to a line, built once.
import { Buffer } from 'node:buffer';
import { FieldFinder, type Transaction } from '../reception/transaction.ts';
import { flat } from '../util/flat-string.ts';

export type AccessLogFormat = 'combined' | 'common' | 'json';
export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['combined', 'common', 'json'];

/**
 * `now`: Date.now() when the line is written; `worker`: the worker's id (0 for a single process).
 * Combined and common lines are ASCII (every byte outside printable ASCII is escaped); json lines
 * may hold UTF-8. The line ends with its newline. It is made by concatenation, so V8 holds it as a
 * rope of its pieces until the access log encodes a whole batch: nothing is copied per line
 * (measured: joining an array of pieces cost twice as much, and encoding each line on its own more).
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
  #second = Number.NaN; // no second equals it: the first call makes the text
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

function clientAddress(tx: Transaction): string {
  return tx.ctx?.remoteAddress ?? tx.peer;
}

/** `200 `: a refusal's status and the space after it (refusals are rare: made each time). */
const statusPiece = (status: number): string => `${status} `;

/**
 * nginx's combined and common lines, made of three parts, each kept as made (flat) and reused while
 * the values it shows are equal: a line is then two concatenations, and a batch of lines a rope of
 * few, long pieces (measured with callgrind: each piece of a line costs an allocation when it is
 * joined and a step when the batch is encoded).
 *  - the head, `client - user [time] "`, changes with the client and the second;
 *  - the request, `GET /a HTTP/1.1" 200 `, with the method, target, version and status: a
 *    connection repeats them, and each value is escaped only when it changes (the escape is per
 *    character, so escaping part by part writes the bytes of escaping the joined line);
 *  - the tail, `13 "referer" "user agent"` and the newline (common: `13` and the newline), with the
 *    size and the client's fields.
 */
class NginxLines {
  readonly #combined: boolean;
  readonly #time = new LocalTime();
  readonly #refererField = new FieldFinder('referer');
  readonly #agentField = new FieldFinder('user-agent');
  // Before the first line, keys no value can equal (NaN, undefined), so the first line makes every
  // part whatever it holds.
  #second = Number.NaN;
  #address: string | undefined = undefined;
  #user: string | undefined = undefined;
  #head = '';
  #method: string | undefined = undefined;
  #target: string | undefined = undefined;
  #methodTarget = '';
  #minor = Number.NaN;
  #status = Number.NaN;
  #request = '';
  #bytes = Number.NaN;
  #referer: string | undefined = undefined;
  #agent: string | undefined = undefined;
  #tail = '';

  constructor(combined: boolean) {
    this.#combined = combined;
  }

  readonly line: LineFormatter = (tx, now) => {
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
      this.#head = flat(
        `${nginxEscape(address)} - ${user === undefined ? '-' : nginxEscape(user)} [${this.#time.format(now)}] "`,
      );
    }
    const { minor, status } = tx;
    let request: string;
    if (minor < 0) {
      // A refusal: what could be read of its request line.
      request = `${dash(tx.rawLine || undefined)}" ${statusPiece(status)}`;
    } else {
      const { method, target } = tx;
      if (method !== this.#method || target !== this.#target) {
        this.#method = method;
        this.#target = target;
        this.#methodTarget = `${nginxEscape(method)} ${nginxEscape(target)}`;
        this.#minor = Number.NaN; // the request part is made again below
      }
      if (minor !== this.#minor || status !== this.#status) {
        this.#minor = minor;
        this.#status = status;
        this.#request = flat(`${this.#methodTarget} HTTP/1.${minor}" ${status} `);
      }
      request = this.#request;
    }
    const bytes = tx.bytes;
    let referer: string | undefined;
    let agent: string | undefined;
    if (this.#combined) {
      referer = this.#refererField.value(tx.fields);
      agent = this.#agentField.value(tx.fields);
    }
    if (bytes !== this.#bytes || referer !== this.#referer || agent !== this.#agent) {
      this.#bytes = bytes;
      this.#referer = referer;
      this.#agent = agent;
      this.#tail = flat(this.#combined ? `${bytes} "${dash(referer)}" "${dash(agent)}"\n` : `${bytes}\n`);
    }
    return this.#head + request + this.#tail;
  };
}

/** Splits a refused request's raw line into method, target and protocol where it has them. */
function lineParts(tx: Transaction): [string, string, string] {
  if (tx.minor >= 0) return [tx.method, tx.target, `HTTP/1.${tx.minor}`];
  const p = tx.rawLine.split(' ');
  return [p[0] ?? '', p[1] ?? '', p.slice(2).join(' ')];
}

/** The line formatter for a format, built once (it keeps what repeats between lines). */
export function createFormatter(format: AccessLogFormat, worker = 0): LineFormatter {
  if (format === 'json') return jsonLine(worker);
  return new NginxLines(format === 'combined').line;
}

function jsonLine(worker: number): LineFormatter {
  const refererField = new FieldFinder('referer');
  const agentField = new FieldFinder('user-agent');
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
      referer: text(refererField.value(tx.fields)),
      userAgent: text(agentField.value(tx.fields)),
      worker,
    })}\n`;
  };
}
