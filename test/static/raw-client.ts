// A raw HTTP/1.1 client for wire tests: the request target goes on the socket byte for byte, so
// no URL library normalises `..` or escapes away before the server sees them.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends `raw` and reads until the server closes (send `Connection: close`). */
export function rawExchange(port: number, raw: string | Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
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

/** Parses every response in `buf` (Content-Length framed, or bodiless for HEAD/304/1xx). */
export function parseResponses(buf: Buffer, heads: boolean[] = []): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  // Bounded: each turn consumes one response or stops.
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    at = end + 4;
    const isHead = heads[out.length] ?? false;
    let body: Buffer = Buffer.alloc(0);
    if (!isHead && status !== 304 && status >= 200) {
      if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        body = buf.subarray(at, at + n);
        at += n;
      } else if (headers['transfer-encoding'] === 'chunked') {
        const parts: Buffer[] = [];
        for (;;) {
          const eol = buf.indexOf('\r\n', at);
          const size = Number.parseInt(buf.subarray(at, eol).toString('latin1'), 16);
          at = eol + 2;
          if (size === 0) {
            at = buf.indexOf('\r\n', at) + 2;
            break;
          }
          parts.push(buf.subarray(at, at + size));
          at += size + 2;
        }
        body = Buffer.concat(parts);
      } else {
        body = buf.subarray(at);
        at = buf.length;
      }
    }
    out.push({ status, headers, body });
  }
  return out;
}

export async function rawGet(port: number, target: string, extra = '', method = 'GET'): Promise<RawResponse> {
  const buf = await rawExchange(
    port,
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`,
  );
  const r = parseResponses(buf, [method === 'HEAD'])[0];
  if (r === undefined) throw new Error(`no response to ${target}`);
  return r;
}
