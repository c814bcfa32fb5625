// Rate limits shared by every Foyer instance pointing at one Redis: GCRA as one Lua script, so the
// read-decide-write is atomic, with Redis's own clock (TIME) so that instances' clocks do not
// matter. When Redis fails, each request is decided by a local table instead (one limit per
// instance, still enforced) and the link logs the outage once; never a 5xx because of the limiter.
import type { Logger } from '../log/logger.ts';
import { decide, type RateDecision, type RateSpec } from './gcra.ts';
import { RedisLink, type RedisLinkOptions } from './redis-link.ts';
import { memoryRateStore, type RateLimitStore } from './rate-store.ts';

// KEYS[1] the key; ARGV interval (ms), burst. Returns { allowed, ahead-in-microseconds }.
const GCRA_SCRIPT = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
if tat - now > burst * interval then
  return { 0, math.floor((tat - now) * 1000) }
end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
return { 1, math.floor((tat - now) * 1000) }
`;

type GcraClient = { foyerGcra(key: string, interval: number, burst: number): Promise<unknown> };

/** The script's reply, `[allowed 0|1, ahead µs]` within what the spec allows, or undefined for anything else. */
function gcraReply(reply: unknown, spec: RateSpec): { allowed: boolean; aheadMs: number } | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const [allowed, aheadUs] = reply as [unknown, unknown];
  if ((allowed !== 0 && allowed !== 1) || typeof aheadUs !== 'number') return undefined;
  // The script never schedules further ahead than (burst + 1) intervals.
  if (!Number.isSafeInteger(aheadUs) || aheadUs < 0 || aheadUs > (spec.burst + 2) * spec.interval * 1000)
    return undefined;
  return { allowed: allowed === 1, aheadMs: aheadUs / 1000 };
}

export interface RedisRateStoreOptions extends Omit<RedisLinkOptions, 'log'> {
  /** Decides requests while Redis is unreachable. Default: the in-memory store. */
  fallback?: RateLimitStore;
  log?: Logger;
}

/** A store on Redis (shares a link when given one). */
export function redisRateStore(
  options: RedisRateStoreOptions | { link: RedisLink; fallback?: RateLimitStore },
): RateLimitStore {
  const owned = !('link' in options);
  const link = 'link' in options ? options.link : new RedisLink(options);
  const fallback = options.fallback ?? memoryRateStore();
  link.client.defineCommand('foyerGcra', { numberOfKeys: 1, lua: GCRA_SCRIPT });
  const client = link.client as unknown as GcraClient;
  return {
    async take(key: string, spec: RateSpec): Promise<RateDecision> {
      if (link.client.status !== 'ready') {
        link.failed();
        return fallback.take(key, spec);
      }
      // Only the script's own answer decides: anything else (another program on the port, a proxy
      // in between) would refuse every request with a Retry-After of NaN. Checked inside watch(), so
      // that such a reply counts as a failure of the link (logged once), not as Redis being back.
      let decision: { allowed: boolean; aheadMs: number };
      try {
        decision = await link.watch(
          client.foyerGcra(`${link.prefix}rl:${key}`, spec.interval, spec.burst).then((reply) => {
            const d = gcraReply(reply, spec);
            if (d === undefined) throw new Error('unexpected reply to the rate-limit script');
            return d;
          }),
        );
      } catch {
        return fallback.take(key, spec);
      }
      return decide(decision.allowed, decision.aheadMs, spec);
    },
    close: owned ? () => link.close() : undefined,
  };
}
