// The exact bytes of one benchmark request, shared by wrk (through a file) and the sanity check.
import { connect } from 'node:net';
import type { LoadOptions } from './types.ts';

export function rawRequest(o: Pick<LoadOptions, 'url' | 'method' | 'headers' | 'body'>): Buffer {
  const u = new URL(o.url);
  const lines = [`${o.method} ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`];
  for (const [name, value] of Object.entries(o.headers)) {
    if (name.toLowerCase() !== 'host') lines.push(`${name}: ${value}`);
  }
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  if (body && !Object.keys(o.headers).some((h) => h.toLowerCase() === 'content-length')) {
    lines.push(`Content-Length: ${body.length}`);
  }
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body ? Buffer.concat([head, body]) : head;
}

/**
 * Sends `depth` copies of the request on one connection and returns the status of each response,
 * so that a server that answers wrongly (or not at all to pipelined requests) is caught before the
 * numbers are believed. Bodies are skipped by Content-Length or chunked framing.
 */
export function probe(url: string, raw: Buffer, depth: number, timeoutMs = 5000): Promise<number[]> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port) });
    let data = Buffer.alloc(0);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      s.destroy();
      const statuses = parseStatuses(data);
      if (statuses.length >= depth || !err) resolve(statuses);
      else reject(new Error(`${err.message}; got ${statuses.length} of ${depth} responses`));
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    s.on('connect', () => s.write(Buffer.concat(Array.from({ length: depth }, () => raw))));
    s.on('data', (d) => {
      data = Buffer.concat([data, d]);
      if (parseStatuses(data).length >= depth) finish();
    });
    s.on('error', (e) => finish(e));
    s.on('end', () => finish(new Error('connection closed')));
  });
}

function parseStatuses(buf: Buffer): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < buf.length) {
    const he = buf.indexOf('\r\n\r\n', i, 'latin1');
    if (he < 0) break;
    const head = buf.toString('latin1', i, he);
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(head);
    if (!m) break;
    const status = Number(m[1]);
    let j = he + 4;
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
      for (;;) {
        const le = buf.indexOf('\r\n', j, 'latin1');
        if (le < 0) return out;
        const size = Number.parseInt(buf.toString('latin1', j, le), 16);
        j = le + 2;
        if (size === 0) {
          const end = buf.indexOf('\r\n\r\n', j - 2, 'latin1');
          if (end < 0) return out;
          j = end + 4;
          break;
        }
        j += size + 2;
      }
    } else if (cl) {
      j += Number(cl[1]);
    }
    if (j > buf.length) break;
    out.push(status);
    i = j;
  }
  return out;
}
