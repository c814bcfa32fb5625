// Runs the same behaviour test in-process (the handler called with a Request and a fresh
// context) and over a real socket through serve() (DESIGN.md, h3's matrix idea). The socket
// client is node:http without decompression, so tests see exactly the bytes the server sent.
import http from 'node:http';
import { test } from 'node:test';
import { createContext, request } from '../../src/testing.ts';
import type { Context, FetchApp, Handler } from '../../src/types.ts';
import { serve } from '../../src/server.ts';

export interface Client {
  readonly mode: 'in-process' | 'socket';
  fetch(path: string, init?: RequestInit & { remoteAddress?: string }): Promise<Response>;
  /** Contexts created for in-process calls (empty over the socket). */
  contexts: Context[];
}

const ORIGIN = 'http://127.0.0.1';

export function inProcess(handler: Handler): Client {
  const contexts: Context[] = [];
  return {
    mode: 'in-process',
    contexts,
    async fetch(path, init = {}) {
      const ctx = createContext({ remoteAddress: init.remoteAddress ?? '127.0.0.1' });
      contexts.push(ctx);
      const { remoteAddress: _, ...rest } = init;
      return request(handler, ORIGIN + path, { ...rest, context: ctx });
    },
  };
}

type ServeFn = (o: {
  fetch: Handler;
  port: number;
  host: string;
  logLevel?: 'silent';
}) => Promise<{ url: string; close(t?: number): Promise<void> }>;

/** The engine's serve(), typed for the harness. */
export async function loadServe(): Promise<ServeFn> {
  return serve as unknown as ServeFn;
}

export async function overSocket(handler: Handler, serve: ServeFn): Promise<Client & { close(): Promise<void> }> {
  const server = await serve({ fetch: handler, port: 0, host: '127.0.0.1', logLevel: 'silent' });
  const base = new URL(server.url);
  return {
    mode: 'socket',
    contexts: [],
    close: () => server.close(2000),
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      let body: Buffer | undefined;
      if (init.body !== undefined && init.body !== null) {
        const r = new Request(ORIGIN, { method: 'POST', body: init.body, headers });
        body = Buffer.from(await r.arrayBuffer());
        const type = r.headers.get('content-type');
        if (type !== null && !headers.has('content-type')) headers.set('content-type', type);
        headers.set('content-length', String(body.length));
      }
      return new Promise<Response>((resolve, reject) => {
        const req = http.request(
          {
            host: base.hostname,
            port: base.port,
            path,
            method: init.method ?? 'GET',
            headers: Object.fromEntries(headers),
            agent: false,
            timeout: 5000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const h = new Headers();
              for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
              const status = res.statusCode ?? 0;
              const nullBody = status === 204 || status === 304 || (init.method ?? 'GET') === 'HEAD';
              resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers: h }));
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('client timeout')));
        req.on('error', reject);
        req.end(body);
      });
    },
  };
}

/**
 * Registers `name` twice: in-process and over a socket. The socket variant is skipped (and says
 * so) until serve() is implemented.
 */
export function both(name: string, make: () => Handler | FetchApp, fn: (client: Client) => Promise<void>): void {
  const makeHandler = (): Handler => {
    const h = make();
    return typeof h === 'function' ? h : (req, ctx) => h.fetch(req, ctx);
  };
  test(`${name} (in-process)`, () => fn(inProcess(makeHandler())));
  test(`${name} (socket)`, async (_t) => {
    const serve = await loadServe();
    const client = await overSocket(makeHandler(), serve);
    try {
      await fn(client);
    } finally {
      await client.close();
    }
  });
}
