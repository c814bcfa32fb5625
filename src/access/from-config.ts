// The access layers the settings ask for, in the order they run: address rules (cheapest, and a
// refused address should not spend a rate-limit token), the rate limit (before Basic auth, so that
// password guessing is throttled before bcrypt runs), then Basic auth. Mistakes in the settings
// (a bad CIDR, an htpasswd line with a plaintext password) stop the server at startup.
import { availableParallelism } from 'node:os';
import type { FoyerConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { Middleware } from '../types.ts';
import { FoyerConfigError } from '../util/errors.ts';
import { basicAuth } from './basic-auth.ts';
import { passwordThreadsFor } from './password-threads.ts';
import { HtpasswdError } from './htpasswd.ts';
import { CidrError } from './ip-address.ts';
import { ipFilter } from './ip-filter.ts';
import { rateLimit } from './rate-limit.ts';
import { memoryRateStore, type RateLimitStore } from './rate-store.ts';
import { RedisLink } from './redis-link.ts';
import { redisRateStore } from './redis-rate-store.ts';
import { trustProxy } from './trust-proxy.ts';

export interface AccessLayers {
  layers: Middleware[];
  /** The Redis link, shared with session stores the app may create from it. */
  redis: RedisLink | undefined;
  close(): Promise<void>;
}

function asConfigError(err: unknown, what: string): never {
  if (err instanceof CidrError || err instanceof HtpasswdError)
    throw new FoyerConfigError('FOYER_BAD_CONFIG', `${what}: ${err.message}`);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    throw new FoyerConfigError(
      'FOYER_BAD_CONFIG',
      `${what}: cannot read ${(err as NodeJS.ErrnoException).path ?? 'the file'}`,
    );
  }
  throw err;
}

/** Checks --trust-proxy at startup (the resolver itself is built by serve()). */
export function checkTrustProxy(config: FoyerConfig): void {
  if (config.trustProxy === undefined) return;
  try {
    trustProxy({ trust: config.trustProxy });
  } catch (err) {
    asConfigError(err, 'trustProxy');
  }
}

export function accessLayers(config: FoyerConfig, log: Logger): AccessLayers {
  checkTrustProxy(config);
  const layers: Middleware[] = [];
  const a = config.access;
  if (a !== undefined && (a.allow?.length || a.deny?.length || a.rules?.length)) {
    try {
      layers.push(ipFilter(a));
    } catch (err) {
      asConfigError(err, 'access');
    }
  }
  const redis = config.redis === undefined ? undefined : new RedisLink({ url: config.redis, log });
  if (config.rateLimit !== undefined) {
    let store: RateLimitStore = memoryRateStore();
    if (redis !== undefined) store = redisRateStore({ link: redis, fallback: store });
    layers.push(rateLimit({ ...config.rateLimit, store }));
  }
  if (config.basicAuth !== undefined) {
    try {
      // The password threads of every worker together stay within half the cores.
      const passwordThreads = passwordThreadsFor(config.workers === 'auto' ? availableParallelism() : config.workers);
      layers.push(basicAuth({ passwordThreads, ...config.basicAuth, log }));
    } catch (err) {
      void redis?.close();
      asConfigError(err, 'basicAuth');
    }
  }
  return { layers, redis, close: async () => redis?.close() };
}
