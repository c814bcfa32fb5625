// `--rate-limit 20r/s --rate-burst 10` and `rateLimit()`: nginx's `limit_req … nodelay` (a
// sustained rate plus a burst allowance, excess refused at once) per client, answered with 429,
// Retry-After (RFC 9110 §10.2.3) and the RateLimit-Policy / RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-11. A limiter that fails lets the request through.
import type { Context, Middleware, Next } from '../types.ts';
import { FoyerConfigError, FoyerError } from '../util/errors.ts';
import { parseRate, type RateDecision, type RateSpec } from './gcra.ts';
import { clientKey, normaliseIp } from './ip-address.ts';
import { applies, compileMatch, type PathMatch, requestPath } from './path-rules.ts';
import { memoryRateStore, type RateLimitStore } from './rate-store.ts';

export type RateKey = (req: Request, ctx: Context) => string | undefined;

export interface RateRule {
  /** `20r/s`, `300r/m`, or requests per second as a number. */
  rate: string | number;
  /** Requests accepted above the rate at once. Default 0. */
  burst?: number;
}

export interface RateLimitOptions extends RateRule {
  /** Per-path limits: the first rule whose path matches replaces the global limit there. */
  rules?: ReadonlyArray<RateRule & { path: PathMatch }>;
  /** Who is limited: the client address (IPv6 by /64, the default) or a function; undefined → not limited. */
  key?: 'ip' | RateKey;
  /** Where counters live. Default: in memory, one table for all workers (in the primary). */
  store?: RateLimitStore;
  /** Only log what would be refused. */
  dryRun?: boolean;
  /** Send RateLimit-Policy / RateLimit on every response, not only on 429s. Default false. */
  headers?: boolean;
  /** Policy name in the RateLimit fields. Default "default". */
  name?: string;
}

interface Policy {
  id: string;
  spec: RateSpec;
  test: ((path: string) => boolean) | undefined;
  /** `"name";q=…;w=…` (draft-11 §4): the quota over a window of 1 s, or 60 s for r/m rates. */
  header: string;
}

function policy(rule: RateRule, id: string, name: string, test?: (p: string) => boolean): Policy {
  const interval = parseRate(rule.rate);
  if (interval === undefined) {
    throw new FoyerConfigError(
      'FOYER_BAD_CONFIG',
      `rate must look like 20r/s or 300r/m, got ${JSON.stringify(rule.rate)}`,
    );
  }
  const burst = rule.burst ?? 0;
  if (!Number.isInteger(burst) || burst < 0)
    throw new FoyerConfigError('FOYER_BAD_CONFIG', 'burst must be an integer ≥ 0');
  const window = typeof rule.rate === 'string' && rule.rate.trim().endsWith('r/m') ? 60 : 1;
  const quota = Math.max(1, Math.round((window * 1000) / interval));
  return { id, spec: { interval, burst }, test, header: `"${name}";q=${quota};w=${window}` };
}

/** RateLimit field (draft-11 §5): remaining quota `r` and seconds `t` until it is whole again. */
function rateLimitField(name: string, d: RateDecision): string {
  return `"${name}";r=${d.remaining};t=${Math.ceil(d.resetMs / 1000)}`;
}

const ipKey: RateKey = (_req, ctx) => clientKey(normaliseIp(ctx.remoteAddress) ?? ctx.remoteAddress);

/** Logs at most one line per second per limiter, counting what it skipped (a flood must not flood the log). */
function throttledLog(): (ctx: Context, fields: Record<string, unknown>, msg: string) => void {
  let last = 0;
  let skipped = 0;
  return (ctx, fields, msg) => {
    const now = Date.now();
    if (now - last < 1000) {
      skipped++;
      return;
    }
    ctx.log.warn({ ...fields, ...(skipped > 0 ? { skipped } : {}) }, msg);
    last = now;
    skipped = 0;
  };
}

export function rateLimit(options: RateLimitOptions): Middleware {
  const name = options.name ?? 'default';
  if (!/^[A-Za-z0-9_.-]+$/.test(name))
    throw new FoyerConfigError('FOYER_BAD_CONFIG', 'the rate-limit name must be a token');
  const global = policy(options, `${name}`, name);
  const rules = (options.rules ?? []).map((r, i) => policy(r, `${name}.${i}`, name, compileMatch(r.path)));
  const store = options.store ?? memoryRateStore();
  const keyOf = options.key === undefined || options.key === 'ip' ? ipKey : options.key;
  const report = throttledLog();
  const storeFailed = throttledLog();

  /** The decision made: refuse (429), or pass on and add the RateLimit fields when asked. */
  const apply = (p: Policy, key: string, d: RateDecision, ctx: Context, next: Next): Promise<Response> => {
    if (!d.allowed) {
      report(ctx, { key, policy: p.header, dryRun: options.dryRun === true }, 'rate limit exceeded');
      if (options.dryRun !== true) {
        throw new FoyerError('FOYER_TOO_MANY_REQUESTS', 'rate limit exceeded', {
          'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))),
          'ratelimit-policy': p.header,
          ratelimit: rateLimitField(name, d),
        });
      }
    }
    if (options.headers !== true) return next();
    return next().then((res) => {
      try {
        res.headers.set('ratelimit-policy', p.header);
        res.headers.set('ratelimit', rateLimitField(name, d));
      } catch {
        // An immutable Response (a fetched one) keeps its headers.
      }
      return res;
    });
  };
  const unavailable = (ctx: Context, err: unknown, next: Next): Promise<Response> => {
    storeFailed(ctx, { err: (err as Error).message }, 'rate limiter unavailable: request let through');
    return next();
  };

  return (req, ctx, next) => {
    try {
      let p = global;
      if (rules.length > 0) {
        const path = requestPath(req.url);
        p = rules.find((r) => applies(r.test as (p: string) => boolean, path)) ?? global;
      }
      const key = keyOf(req, ctx);
      if (key === undefined) return next();
      const id = `${p.id}:${key}`;
      // A table in this process decides synchronously: no promise hops before the app runs.
      if (store.takeNow !== undefined) {
        let d: RateDecision;
        try {
          d = store.takeNow(id, p.spec);
        } catch (err) {
          return unavailable(ctx, err, next);
        }
        return apply(p, key, d, ctx, next);
      }
      return store.take(id, p.spec).then(
        (d) => apply(p, key, d, ctx, next),
        (err: unknown) => unavailable(ctx, err, next),
      );
    } catch (err) {
      // As an async middleware would: every failure is a rejected promise.
      return Promise.reject(err);
    }
  };
}
