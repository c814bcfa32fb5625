// offload(): a middleware that runs in a worker thread (seed 002). The main thread sends the
// request (head, serialisable context, body as a port stream), answers the worker's next() by
// running the rest of its own chain, and passes the worker's response on as it streams. A task
// over its timeout gets a 504 and its thread is terminated; a full queue gets a 503.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import type { Context, Middleware, Next } from '../../types.ts';
import { OffloadExchange } from './offload-exchange.ts';
import type { OffloadTask } from './thread-entry.ts';
import { checkPoolOptions, type PoolOptions, positiveInt, siblingEntry, ThreadPool } from './thread-pool.ts';
import { FoyerConfigError } from '../../util/errors.ts';

export interface OffloadOptions extends PoolOptions {
  /** Milliseconds from the layer's start to the end of its response (default 30 000; 0 for none): 504, thread terminated. */
  timeout?: number;
  /** Milliseconds a request may wait for a thread (queued, or a thread booting) (default 10 000; 0 for none): 503. */
  queueTimeout?: number;
  /** Seconds in the Retry-After of a 503 (default 1). */
  retryAfter?: number;
}

export interface OffloadMiddleware extends Middleware {
  /** Threads alive and tasks waiting, for metrics and tests. */
  readonly stats: { threads: number; queued: number };
  /** Stops the pool's threads (in-flight tasks fail). */
  close(): Promise<void>;
}

/** A file: URL for a module given as URL, file URL string or path (relative to the working directory). */
function moduleHref(moduleUrl: string | URL): string {
  const s = String(moduleUrl);
  if (s.startsWith('file:')) return new URL(s).href;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s))
    throw new FoyerConfigError('FOYER_BAD_OPTION', `offload(): only file modules can run in a thread, got ${s}`);
  return pathToFileURL(resolve(s)).href;
}

export function offload(moduleUrl: string | URL, options: OffloadOptions = {}): OffloadMiddleware {
  const module = moduleHref(moduleUrl);
  if (!existsSync(fileURLToPath(module)))
    throw new FoyerConfigError('FOYER_BAD_OPTION', `offload(): module not found: ${fileURLToPath(module)}`);
  const timeout = positiveInt('timeout', options.timeout, 0) ?? 30_000;
  const queueTimeout = positiveInt('queueTimeout', options.queueTimeout, 0) ?? 10_000;
  const retryAfter = String(positiveInt('retryAfter', options.retryAfter, 0) ?? 1);
  const entry = siblingEntry('thread-entry', import.meta.url);
  checkPoolOptions(options);
  // minThreads start now (booting a thread and loading a TypeScript module takes a while, better
  // not on the first request); after close() a later request starts a fresh pool.
  let pool: ThreadPool | undefined = new ThreadPool(entry, options, { preload: module });
  const getPool = () => (pool ??= new ThreadPool(entry, options, { preload: module }));

  const mw = async (req: Request, ctx: Context, next: Next): Promise<Response> => {
    const p = getPool();
    const { port1, port2 } = new MessageChannel();
    const exchange = new OffloadExchange(port1, req, ctx, next, (threadId) => p.kill(threadId), retryAfter);
    let init: Awaited<ReturnType<OffloadExchange['prepare']>>;
    try {
      init = await exchange.prepare();
    } catch (err) {
      port1.close();
      throw err;
    }
    const task: OffloadTask = { port: port2, module, req: init.req, ctx: init.ctx };
    exchange.track(p.run<void>(task, [port2, ...init.transfer]), queueTimeout, timeout);
    exchange.release(init.req.body);
    return exchange.response;
  };
  Object.defineProperty(mw, 'stats', { get: () => ({ threads: pool?.threads ?? 0, queued: pool?.queued ?? 0 }) });
  return Object.assign(mw as typeof mw & { readonly stats: OffloadMiddleware['stats'] }, {
    close: async () => {
      const p = pool;
      pool = undefined;
      await p?.close();
    },
  });
}
