// Shared by the worker-thread tests: a server around an app, a log that tests can read, and a
// raw HTTP client (node:http, no decompression, bodies as bytes).
import http from 'node:http';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { serve } from '../../src/server.ts';
import type { Handler } from '../../src/types.ts';

export const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

export interface LogBook {
  logger: Logger;
  lines: Record<string, unknown>[];
  /** Resolves with the first line (already written or to come) that `match` accepts. */
  waitFor(match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

export function logBook(): LogBook {
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const text of String(chunk).split('\n')) if (text !== '') lines.push(JSON.parse(text));
      for (const w of waiters.splice(0)) w();
      cb();
    },
  });
  return {
    logger: createLogger('debug', sink),
    lines,
    async waitFor(match, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = lines.find(match);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error('log line not seen in time');
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

export async function startServer(fetch: Handler, logger: Logger) {
  return serve({ fetch, port: 0, host: '127.0.0.1', logger, limits: { maxBodySize: 64 * 1024 * 1024 } });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request; `body` may be a Buffer or an array of chunks sent with pauses (a chunked upload). */
export function request(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer | Buffer[] } = {},
): Promise<RawResponse> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: init.method ?? 'GET',
        headers: init.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    if (Array.isArray(init.body)) {
      const parts = [...init.body];
      const pump = () => {
        const part = parts.shift();
        if (part === undefined) req.end();
        else req.write(part, () => setTimeout(pump, 5));
      };
      pump();
    } else req.end(init.body);
  });
}

/** Polls `check` until it holds (or throws after `ms`). */
export async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
