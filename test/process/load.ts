// A bounded HTTP load for process tests and the reload benchmark: `connections` keep-alive clients
// (node:http, the reference client) send requests back to back until stopped or `maxRequests` is
// reached. Every request is counted as ok (a 2xx with a complete body) or failed, with the reason.
import http from 'node:http';

export interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
  /** Distinct bodies seen (the tests' apps answer with their version or pid). */
  bodies: Map<string, number>;
}

export interface Load {
  /** Resolves with the counts once every client has finished its last request. */
  stop(): Promise<LoadResult>;
  readonly result: LoadResult;
}

export function startLoad(
  url: string,
  options: { connections?: number; maxRequests?: number; close?: boolean; timeoutMs?: number } = {},
): Load {
  const connections = options.connections ?? 4;
  const agent = new http.Agent({ keepAlive: !options.close, maxSockets: connections });
  const result: LoadResult = { ok: 0, failed: 0, errors: [], bodies: new Map() };
  let stopped = false;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get(url, { agent, headers: options.close ? { connection: 'close' } : {} }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== undefined && res.statusCode < 300) {
            result.ok++;
            result.bodies.set(body, (result.bodies.get(body) ?? 0) + 1);
          } else {
            result.failed++;
            if (result.errors.length < 20) result.errors.push(`status ${res.statusCode}`);
          }
          resolve();
        });
        res.on('error', (err) => {
          result.failed++;
          if (result.errors.length < 20) result.errors.push(err.message);
          resolve();
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        result.failed++;
        if (result.errors.length < 20) result.errors.push((err as NodeJS.ErrnoException).code ?? err.message);
        resolve();
      });
    });
  const client = async () => {
    while (!stopped && Date.now() < deadline) {
      if (options.maxRequests !== undefined && result.ok + result.failed >= options.maxRequests) break;
      await one();
    }
  };
  const running = Promise.all(Array.from({ length: connections }, client));
  return {
    result,
    async stop() {
      stopped = true;
      await running;
      agent.destroy();
      return result;
    },
  };
}
