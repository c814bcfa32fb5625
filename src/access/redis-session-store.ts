// Sessions in Redis, shared by every Foyer instance that points at it. A session is a hash, one
// field per key (JSON values), so a save writes only the keys that changed: concurrent requests of
// one session writing different keys both keep their writes. Redis expires the hash after the
// idle timeout (PEXPIRE on every save and touch); the absolute timeout is checked on load.
import type { Logger } from '../log/logger.ts';
import { RedisLink, type RedisLinkOptions } from './redis-link.ts';
import type { SessionPatch, SessionRecord, SessionStore } from './session-store.ts';

const CREATED = '@created';
const DATA = 'd:';

export interface RedisSessionStoreOptions extends Omit<RedisLinkOptions, 'log'> {
  log?: Logger;
}

export function redisSessionStore(options: RedisSessionStoreOptions | { link: RedisLink }): SessionStore {
  const owned = !('link' in options);
  const link = 'link' in options ? options.link : new RedisLink({ commandTimeout: 1000, ...options });
  const client = link.client;
  const keyOf = (id: string) => `${link.prefix}sess:${id}`;
  return {
    async get(id): Promise<SessionRecord | undefined> {
      const key = keyOf(id);
      const replies = await link.watch(client.multi().hgetall(key).pttl(key).exec());
      const h = (replies?.[0]?.[1] ?? {}) as Record<string, string>;
      const ttl = Number(replies?.[1]?.[1] ?? -1);
      const created = h[CREATED];
      if (created === undefined) return undefined;
      const data: Record<string, unknown> = {};
      for (const [f, v] of Object.entries(h)) {
        if (!f.startsWith(DATA)) continue;
        try {
          data[f.slice(DATA.length)] = JSON.parse(v);
        } catch {
          // A field another program wrote: not ours to interpret.
        }
      }
      return { data, createdAt: Number(created), expiresAt: ttl > 0 ? Date.now() + ttl : undefined };
    },
    async save(id, patch: SessionPatch, ttlMs) {
      const key = keyOf(id);
      const m = client.multi();
      if (patch.replace) m.del(key);
      const fields: string[] = [CREATED, String(patch.createdAt)];
      for (const [k, v] of Object.entries(patch.set)) fields.push(DATA + k, JSON.stringify(v) ?? 'null');
      m.hset(key, ...fields);
      if (patch.delete.length > 0) m.hdel(key, ...patch.delete.map((k) => DATA + k));
      m.pexpire(key, Math.max(1, Math.ceil(ttlMs)));
      const results = await link.watch(m.exec());
      const failed = results?.find(([err]) => err !== null);
      if (failed) throw failed[0] as Error;
    },
    async touch(id, ttlMs) {
      await link.watch(client.pexpire(keyOf(id), Math.max(1, Math.ceil(ttlMs))));
    },
    async destroy(id) {
      await link.watch(client.del(keyOf(id)));
    },
    close: owned ? () => link.close() : undefined,
  };
}
