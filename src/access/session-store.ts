// Session storage. Stores take changes as patches (keys set and keys deleted) rather than whole
// sessions, so two concurrent requests of one session that write different keys both keep their
// writes; when they write the same key, the later save wins. The default store is one table in the
// primary process (or the single process), reached over IPC, so every worker sees every session.
import { batchedCaller, provideBatched } from './primary-batch.ts';

export interface SessionRecord {
  data: Record<string, unknown>;
  /** When the session was created (absolute timeout), ms since the epoch. */
  createdAt: number;
  /** When the idle timeout ends, if the store knows (used to skip needless touches). */
  expiresAt?: number;
}

export interface SessionPatch {
  set: Record<string, unknown>;
  delete: string[];
  createdAt: number;
  /** Drop whatever was stored under the id first (a new or regenerated session). */
  replace: boolean;
}

export interface SessionStore {
  get(id: string): Promise<SessionRecord | undefined>;
  /** Applies a patch and (re)sets the idle expiry to `ttlMs` from now. */
  save(id: string, patch: SessionPatch, ttlMs: number): Promise<void>;
  /** Extends the idle expiry without changing data. */
  touch(id: string, ttlMs: number): Promise<void>;
  destroy(id: string): Promise<void>;
  close?(): Promise<void>;
}

interface Entry {
  data: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
}

/** A bounded table of sessions that expire: the one behind the default store. */
export class SessionTable {
  readonly #map = new Map<string, Entry>();
  #ops = 0;
  constructor(readonly maxSessions = 100_000) {}

  get size(): number {
    return this.#map.size;
  }

  get(id: string, now = Date.now()): SessionRecord | undefined {
    const e = this.#map.get(id);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.#map.delete(id);
      return undefined;
    }
    return { data: e.data, createdAt: e.createdAt, expiresAt: e.expiresAt };
  }

  save(id: string, patch: SessionPatch, ttlMs: number, now = Date.now()): void {
    let e = patch.replace ? undefined : this.#map.get(id);
    if (e === undefined || e.expiresAt <= now) e = { data: {}, createdAt: patch.createdAt, expiresAt: 0 };
    for (const [k, v] of Object.entries(patch.set)) e.data[k] = v;
    e.createdAt = patch.createdAt;
    for (const k of patch.delete) delete e.data[k];
    e.expiresAt = now + ttlMs;
    this.#map.delete(id);
    this.#map.set(id, e);
    // Expired sessions are swept every 1024 saves (amortised: a few steps per save). A full table
    // drops its least recently saved session, never a sweep per save: a flood of new sessions
    // would otherwise cost each one a walk over the whole table.
    if (++this.#ops % 1024 === 0) this.#sweep(now);
    while (this.#map.size > this.maxSessions) this.#map.delete(this.#map.keys().next().value as string);
  }

  touch(id: string, ttlMs: number, now = Date.now()): void {
    const e = this.#map.get(id);
    if (e !== undefined && e.expiresAt > now) e.expiresAt = now + ttlMs;
  }

  destroy(id: string): void {
    this.#map.delete(id);
  }

  #sweep(now: number): void {
    for (const [id, e] of this.#map) if (e.expiresAt <= now) this.#map.delete(id);
  }
}

export const SESSION_SERVICE = 'foyer.sessions';

type Call =
  | { op: 'get'; id: string }
  | { op: 'save'; id: string; patch: SessionPatch; ttl: number }
  | { op: 'touch'; id: string; ttl: number }
  | { op: 'destroy'; id: string };

let primaryTable: SessionTable | undefined;

/** Registers the shared session table in this process (the primary, or the single process). Idempotent. */
export function provideSessionService(maxSessions?: number): void {
  if (primaryTable !== undefined) return;
  const table = new SessionTable(maxSessions);
  primaryTable = table;
  provideBatched(SESSION_SERVICE, (payload) => {
    const c = payload as Call;
    switch (c.op) {
      case 'get':
        return table.get(c.id) ?? null;
      case 'save':
        return table.save(c.id, c.patch, c.ttl);
      case 'touch':
        return table.touch(c.id, c.ttl);
      case 'destroy':
        return table.destroy(c.id);
    }
  });
}

/**
 * The default store: one table for all workers, in the primary. Values cross the IPC channel as
 * JSON: keep session values to JSON data (strings, numbers, plain objects, arrays).
 */
export function memorySessionStore(): SessionStore {
  provideSessionService();
  const call = batchedCaller<SessionRecord | null | undefined>(SESSION_SERVICE);
  return {
    get: async (id) => (await call({ op: 'get', id })) ?? undefined,
    save: async (id, patch, ttl) => void (await call({ op: 'save', id, patch, ttl })),
    touch: async (id, ttl) => void (await call({ op: 'touch', id, ttl })),
    destroy: async (id) => void (await call({ op: 'destroy', id })),
  };
}
