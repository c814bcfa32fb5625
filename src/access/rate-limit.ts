// `--rate-limit 20r/s --rate-burst 10` and `rateLimit()`: nginx's `limit_req … nodelay` (a
// sustained rate plus a burst allowance, excess refused at once) per client, answered with 429,
// Retry-After (RFC 9110 §10.2.3) and the RateLimit-Policy / RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-11. A limiter that fails lets the request through.
import type { Context, Middleware, Next } from '../types.ts';
import { FoyerConfigError, FoyerError } from '../util/errors.ts';
import { parseRate, type RateDecision, type RateSpec } from './gcra.ts';
import { addressKey } from './ip-address.ts';
import { applies, compileMatch, type PathMatch, requestPath } from './path-rules.ts';
import { memoryRateStore, type RateLimitStore } from './rate-store.ts';
import { withGate } from './sync-gate.ts';

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

/**
 * The client address as the key (IPv6 by /64). The last address's key is remembered: a connection's
 * requests, and a busy client's, come with the same address, and a pure function of it needs no
 * second computing (nothing of a request is kept, only the last input and output).
 */
function ipKeyOf(): RateKey {
  let lastAddress: string | undefined;
  let lastKey = '';
  return (_req, ctx) => {
    const address = ctx.remoteAddress;
    if (address !== lastAddress) {
      lastKey = addressKey(address);
      lastAddress = address;
    }
    return lastKey;
  };
}

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
  const keyOf = options.key === undefined || options.key === 'ip' ? ipKeyOf() : options.key;
  const report = throttledLog();
  const storeFailed = throttledLog();

  // A path that cannot be analysed (an escaped control character, `%2F`, a malformed escape) would
  // match every rule, so the first rule in the list, often a looser one for assets, took it: a way
  // around the global limit on app routes (found in review). It gets the strictest policy instead.
  const strictest = [global, ...rules].reduce((a, b) =>
    b.spec.interval > a.spec.interval || (b.spec.interval === a.spec.interval && b.spec.burst < a.spec.burst) ? b : a,
  );
  const policyOf = (req: Request): Policy => {
    if (rules.length === 0) return global;
    const path = requestPath(req.url);
    if (path === undefined) return strictest;
    return rules.find((r) => applies(r.test as (p: string) => boolean, path)) ?? global;
  };
  // The table's key for a policy and a client, built once for the same pair in a row: the same
  // string object then keeps its hash for the table's lookups.
  let lastPolicy: Policy | undefined;
  let lastKey = '';
  let lastId = '';
  const idOf = (p: Policy, key: string): string => {
    if (p !== lastPolicy || key !== lastKey) {
      lastId = `${p.id}:${key}`;
      lastPolicy = p;
      lastKey = key;
    }
    return lastId;
  };

  /** Throws the 429 when `d` refuses (and this is not a dry run); logs what was over either way. */
  const enforce = (p: Policy, key: string, d: RateDecision, ctx: Context): void => {
    if (d.allowed) return;
    report(ctx, { key, policy: p.header, dryRun: options.dryRun === true }, 'rate limit exceeded');
    if (options.dryRun === true) return;
    throw new FoyerError('FOYER_TOO_MANY_REQUESTS', 'rate limit exceeded', {
      'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))),
      'ratelimit-policy': p.header,
      ratelimit: rateLimitField(name, d),
    });
  };
  const unavailable = (ctx: Context, err: unknown): void => {
    storeFailed(ctx, { err: (err as Error).message }, 'rate limiter unavailable: request let through');
  };

  /** The decision made: refuse (429), or pass on and add the RateLimit fields when asked. */
  const apply = (p: Policy, key: string, d: RateDecision, ctx: Context, next: Next): Promise<Response> => {
    enforce(p, key, d, ctx);
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

  /**
   * The whole decision at once when the table lives in this process (the middleware below runs this
   * same code); nothing is taken when it cannot decide: a remote or cross-process store, or RateLimit
   * fields to add to the response afterwards.
   */
  const gate = (req: Request, ctx: Context): true | undefined => {
    const takeNow = store.takeNow;
    if (takeNow === undefined || options.headers === true) return undefined;
    const p = policyOf(req);
    const key = keyOf(req, ctx);
    if (key === undefined) return true;
    let d: RateDecision;
    try {
      d = takeNow.call(store, idOf(p, key), p.spec);
    } catch (err) {
      unavailable(ctx, err);
      return true;
    }
    enforce(p, key, d, ctx);
    return true;
  };

  const middleware: Middleware = (req, ctx, next) => {
    try {
      if (gate(req, ctx) === true) return next();
      const p = policyOf(req);
      const key = keyOf(req, ctx);
      if (key === undefined) return next();
      const id = idOf(p, key);
      if (store.takeNow !== undefined) {
        let d: RateDecision;
        try {
          d = store.takeNow(id, p.spec);
        } catch (err) {
          unavailable(ctx, err);
          return next();
        }
        return apply(p, key, d, ctx, next);
      }
      return store.take(id, p.spec).then(
        (d) => apply(p, key, d, ctx, next),
        (err: unknown) => {
          unavailable(ctx, err);
          return next();
        },
      );
    } catch (err) {
      // As an async middleware would: every failure is a rejected promise.
      return Promise.reject(err);
    }
  };
  return withGate(middleware, gate);
}
