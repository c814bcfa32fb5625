// The raw-socket client of the tests: exact bytes out, exact bytes back. A URL library or an HTTP
// client would normalise the request (`..`, escapes, framing) and hide what the server receives.
//
//  - exchange(): send bytes (whole, or in pieces with pauses), optionally half-close, and collect
//    the reply until the server closes, nothing arrives for `quietMs`, or `responses` replies are in.
//  - rawExchange() / rawGet(): one request, read until the server closes (send `Connection: close`).
//  - RawConnection: an open socket for step-by-step tests (send, wait for text, half-close, cut).
//  - parseResponses() splits pipelined replies (Content-Length, chunked, or bodiless);
//    firstResponse() and statuses() read a reply as text.
// Only loopback is ever dialled; every wait is bounded.
import net from 'node:net';
import tls from 'node:tls';

export interface Exchanged {
  text: string;
  bytes: Buffer;
  /** The server closed the connection (FIN or reset). */
  closed: boolean;
}

export interface ExchangeOptions {
  /** Half-close (FIN) once everything is sent. */
  halfClose?: boolean;
  /** Stop once nothing arrived for this many ms after the last byte sent or received (default 300). */
  quietMs?: number;
  /** Pause between the pieces of `raw` (an array), in ms. */
  gapMs?: number;
  /** Stop as soon as this many complete responses arrived. */
  responses?: number;
}

/** Sends `raw` and collects what comes back (see ExchangeOptions for when it stops). */
export function exchange(
  port: number,
  raw: string | Buffer | (string | Buffer)[],
  opts: ExchangeOptions = {},
): Promise<Exchanged> {
  const quiet = opts.quietMs ?? 300;
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let closed = false;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.destroy();
      const bytes = Buffer.concat(chunks);
      resolve({ text: bytes.toString('latin1'), bytes, closed });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, quiet);
    };
    s.on('connect', async () => {
      const parts = Array.isArray(raw) ? raw : [raw];
      for (const p of parts) {
        if (finished) return;
        s.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.halfClose) s.end();
      arm();
    });
    s.on('data', (d) => {
      chunks.push(d);
      if (opts.responses !== undefined && completeResponses(Buffer.concat(chunks)) >= opts.responses) done();
      else arm();
    });
    s.on('end', () => {
      closed = true;
      done();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') {
        closed = true;
        done();
      } else reject(e);
    });
  });
}

/** Sends `raw` and reads until the server closes (send `Connection: close`); rejects after `timeoutMs`. */
export function rawExchange(port: number, raw: string | Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('raw exchange timed out'));
    }, timeoutMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    sock.write(raw);
  });
}

/** One request with `Connection: close`, its reply parsed. */
export async function rawGet(port: number, target: string, extra = '', method = 'GET'): Promise<RawResponse> {
  const buf = await rawExchange(
    port,
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`,
  );
  const r = parseResponses(buf, [method === 'HEAD'])[0];
  if (r === undefined) throw new Error(`no response to ${target}`);
  return r;
}

/** An open connection driven step by step; everything received accumulates in `bytes`/`text`. */
export class RawConnection {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  /** The server closed (FIN, reset) or the socket was destroyed. */
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.#chunks.push(d));
    socket.on('end', () => {
      this.closed = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {
      this.closed = true;
    });
  }

  /** Connects to 127.0.0.1:`port`; `allowHalfOpen` keeps our side open after the server's FIN. */
  static open(port: number, allowHalfOpen = false): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawConnection(s));
      });
    });
  }

  /** The same over TLS (the server's certificate is not checked: tests make their own). */
  static openTls(port: number, allowHalfOpen = false): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen reaches the TLSSocket (node's tls.connect passes it on; @types/node does not list it).
      const options = { port, host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen };
      const s = tls.connect(options as tls.ConnectionOptions);
      s.once('error', reject);
      s.once('secureConnect', () => {
        s.off('error', reject);
        resolve(new RawConnection(s));
      });
    });
  }

  get bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  get text(): string {
    return this.bytes.toString('latin1');
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Half-close: FIN after what was sent. */
  end(data?: string | Buffer): void {
    if (data === undefined) this.socket.end();
    else this.socket.end(data);
  }

  /** Cuts the connection (a client that goes away). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Waits until `done(text)` holds, polling every 10 ms; false when `timeoutMs` passed first. */
  async until(done: (text: string) => boolean, timeoutMs = 1000): Promise<boolean> {
    for (let waited = 0; !done(this.text); waited += 10) {
      if (waited >= timeoutMs) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /** Waits until the server closed; false when `timeoutMs` passed first. */
  untilClosed(timeoutMs = 2000): Promise<boolean> {
    return this.until(() => this.closed, timeoutMs);
  }
}

// ── reading replies ───────────────────────────────────────────────────────────────────────────

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** RFC 9110 §6.4.1: 1xx, 204 and 304 replies (and any reply to HEAD) have no body. */
const bodilessStatus = (status: number) => status < 200 || status === 204 || status === 304;

/**
 * The reply starting at `at` and where it ends. Incomplete: undefined, unless `lenient` (then what
 * is there). A body with no framing runs to the end of `buf` when `toClose`, else is incomplete.
 */
function responseAt(
  buf: Buffer,
  at: number,
  isHead: boolean,
  toClose: boolean,
  lenient = false,
): { res: RawResponse; end: number } | undefined {
  const he = buf.indexOf('\r\n\r\n', at);
  if (he < 0) return undefined;
  const lines = buf.subarray(at, he).toString('latin1').split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  let j = he + 4;
  let body: Buffer = Buffer.alloc(0);
  if (!isHead && !bodilessStatus(status)) {
    if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = buf.indexOf('\r\n', j);
        const size = eol < 0 ? Number.NaN : Number.parseInt(buf.subarray(j, eol).toString('latin1'), 16);
        if (Number.isNaN(size) || (size > 0 && eol + 2 + size + 2 > buf.length)) {
          if (!lenient) return undefined;
          if (eol >= 0 && size > 0) parts.push(buf.subarray(eol + 2, eol + 2 + size));
          j = buf.length;
          break;
        }
        j = eol + 2;
        if (size === 0) {
          const end = buf.indexOf('\r\n', j);
          if (end < 0 && !lenient) return undefined;
          j = end < 0 ? buf.length : end + 2;
          break;
        }
        parts.push(buf.subarray(j, j + size));
        j += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (j + n > buf.length && !lenient) return undefined;
      body = buf.subarray(j, j + n);
      j = Math.min(j + n, buf.length);
    } else if (toClose || lenient) {
      body = buf.subarray(j);
      j = buf.length;
    } else return undefined;
  }
  return { res: { status, headers, body }, end: j };
}

/**
 * Splits the replies in `buf`, in order: framed by Content-Length or chunked; bodiless for HEAD
 * (`heads[i]` true), 1xx, 204 and 304; an unframed body runs to the end.
 */
export function parseResponses(buf: Buffer, heads: boolean[] = []): RawResponse[] {
  const out: RawResponse[] = [];
  // Bounded: each turn consumes one reply or stops.
  for (let at = 0; at < buf.length; ) {
    const r = responseAt(buf, at, heads[out.length] ?? false, true);
    if (r === undefined) break;
    out.push(r.res);
    at = r.end;
  }
  return out;
}

/** How many complete final (non-1xx) replies `buf` holds; replies to HEAD cannot be told apart here. */
function completeResponses(buf: Buffer): number {
  let n = 0;
  for (let at = 0; at < buf.length; ) {
    const r = responseAt(buf, at, false, false);
    if (r === undefined) break;
    if (r.res.status >= 200) n++;
    at = r.end;
  }
  return n;
}

/** Status codes of every reply in a byte stream, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/**
 * The first reply as text: head fields, body (chunked, Content-Length, else the rest; as much as
 * arrived) and what follows it.
 */
export function firstResponse(text: string): {
  status: number;
  headers: Map<string, string>;
  body: string;
  rest: string;
} {
  const buf = Buffer.from(text, 'latin1');
  const r = responseAt(buf, 0, false, true, true);
  if (r === undefined) throw new Error(`no complete response head in ${JSON.stringify(text.slice(0, 200))}`);
  return {
    status: r.res.status,
    headers: new Map(Object.entries(r.res.headers)),
    body: r.res.body.toString('latin1'),
    rest: buf.subarray(r.end).toString('latin1'),
  };
}
