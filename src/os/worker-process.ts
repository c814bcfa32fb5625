// The worker side of the process model: counts requests, asks the primary for a replacement when
// a recycling bound is passed (checked between requests, never mid-request), reports ready, and
// retires gracefully when told. Terminal signals (SIGINT, SIGHUP) reach the whole process group:
// a worker ignores them and lets the primary decide; SIGTERM sent to a worker alone retires it.
import process from 'node:process';
import type { Logger } from '../log/logger.ts';
import type { Context, MaybePromise } from '../types.ts';
import { isToWorker, type ToPrimary } from './worker-messages.ts';

type Fetch = (req: Request, ctx: Context) => MaybePromise<Response>;

export interface RecycleBounds {
  /** Ask to be replaced after about this many requests (0: never). Jitter: up to +10%. */
  maxRequests?: number;
  /** Ask to be replaced when the resident set is over this many bytes (0: never). */
  maxMemory?: number;
}

interface Closable {
  close(timeout?: number, options?: { keepIdle?: boolean }): Promise<void>;
}

function send(m: ToPrimary): void {
  try {
    process.send?.(m);
  } catch {
    // The primary is gone: the cluster module exits this worker on disconnect.
  }
}

let requests = 0;
let recycleAsked = false;

/** Wraps the worker's handler: counts requests and asks for recycling past `maxRequests`. */
export function countingFetch(fetch: Fetch, bounds: RecycleBounds): Fetch {
  const max = bounds.maxRequests ?? 0;
  // Jitter, so that workers started together are not all recycled together.
  const limit = max > 0 ? max + Math.floor(Math.random() * Math.ceil(max / 10)) : 0;
  if (limit === 0) {
    return (req, ctx) => {
      requests++;
      return fetch(req, ctx);
    };
  }
  return (req, ctx) => {
    if (++requests >= limit && !recycleAsked) {
      recycleAsked = true;
      send({ foyerWorker: 'recycle', reason: `served ${requests} requests (max ${max})` });
    }
    return fetch(req, ctx);
  };
}

/** Reports ready to the primary and serves until told to retire; then exits. */
export function runWorker(
  server: Closable,
  url: string,
  options: RecycleBounds & { shutdownTimeout: number; log: Logger },
) {
  const { log } = options;
  let retiring = false;
  const retire = (why: string) => {
    if (retiring) return;
    retiring = true;
    log.debug({ why }, 'worker retiring');
    server
      .close(options.shutdownTimeout, { keepIdle: true })
      .catch((err: unknown) => log.error({ err }, 'close failed'))
      .finally(() => {
        log.flush?.();
        process.exit(0);
      });
  };
  process.on('message', (m: unknown) => {
    if (isToWorker(m) && m.foyerWorker === 'retire') retire('told by the primary');
  });
  process.on('SIGTERM', () => retire('SIGTERM'));
  process.on('SIGINT', () => {});
  process.on('SIGHUP', () => {});
  process.on('SIGUSR2', () => log.info('SIGUSR2 ignored (a worker)'));
  let reported = -1;
  const timer = setInterval(() => {
    if (requests !== reported) {
      reported = requests;
      send({ foyerWorker: 'stats', requests });
    }
    const maxMemory = options.maxMemory ?? 0;
    if (maxMemory > 0 && !recycleAsked && process.memoryUsage.rss() > maxMemory) {
      recycleAsked = true;
      send({ foyerWorker: 'recycle', reason: `resident memory over ${maxMemory} bytes` });
    }
  }, 1000);
  timer.unref();
  send({ foyerWorker: 'ready', url });
}
