// A raw TCP client for wire tests: exact bytes out, exact bytes back. A URL library would
// normalise the request and hide what the server really receives.
import net from 'node:net';
import type { ServeOptions, Server } from '../../src/server.ts';
import { serve } from '../../src/server.ts';

export interface Exchanged {
  text: string;
  bytes: Buffer;
  /** The server closed the connection. */
  closed: boolean;
}

/**
 * Sends `raw`, optionally half-closes, and collects what comes back until the server closes or
 * nothing arrives for `quietMs`.
 */
export function exchange(
  port: number,
  raw: string | Buffer | (string | Buffer)[],
  opts: { halfClose?: boolean; quietMs?: number; gapMs?: number } = {},
): Promise<Exchanged> {
  const quiet = opts.quietMs ?? 300;
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
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
        s.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.halfClose) s.end();
      arm();
    });
    s.on('data', (d) => {
      chunks.push(d);
      arm();
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

/** Status codes of every response in a byte stream, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** Splits the first response into head fields and body (Content-Length or chunked framing). */
export function firstResponse(text: string): {
  status: number;
  headers: Map<string, string>;
  body: string;
  rest: string;
} {
  const he = text.indexOf('\r\n\r\n');
  if (he < 0) throw new Error(`no complete response head in ${JSON.stringify(text.slice(0, 200))}`);
  const lines = text.slice(0, he).split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  let body = '';
  let j = he + 4;
  if (headers.get('transfer-encoding') === 'chunked') {
    for (;;) {
      const le = text.indexOf('\r\n', j);
      const n = Number.parseInt(text.slice(j, le), 16);
      j = le + 2;
      if (n === 0) {
        j += 2;
        break;
      }
      body += text.slice(j, j + n);
      j += n + 2;
    }
  } else if (headers.has('content-length')) {
    const n = Number(headers.get('content-length'));
    body = text.slice(j, j + n);
    j += n;
  } else {
    body = text.slice(j);
    j = text.length;
  }
  return { status, headers, body, rest: text.slice(j) };
}

/** Starts a server on an ephemeral loopback port for one test file. */
export async function start(fetch: ServeOptions['fetch'], extra: Partial<ServeOptions> = {}): Promise<Server> {
  return serve({ port: 0, host: '127.0.0.1', logLevel: 'silent', fetch, ...extra });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
