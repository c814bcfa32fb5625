// `session()` middleware and `getSession(ctx)`. The cookie holds only a signed random id; data
// lives in the store. A session is written back only when it changed (or was regenerated), and
// its idle expiry is extended at most every tenth of the idle timeout otherwise, so a reading
// request costs one store lookup and no write. A cookie that is tampered with, unknown or expired
// yields a fresh empty session, never an error; an empty new session is never stored or sent.
import type { Context, Middleware } from '../types.ts';
import { attribute } from '../types.ts';
import { FoyerConfigError, FoyerError } from '../util/errors.ts';
import { type CookieOptions, newSessionId, serializeCookie, sessionCookies, signId } from './session-cookie.ts';
import { memorySessionStore, type SessionRecord, type SessionStore } from './session-store.ts';

export interface SessionOptions {
  /** Signing secret, or a list for rotation (the first signs, all verify). At least 32 characters. */
  secret: string | readonly string[];
  /** Default: in memory, one table for all workers (in the primary). */
  store?: SessionStore;
  /** Default `foyer.sid`. */
  cookieName?: string;
  /** A session unused this long ends, ms. Default 30 minutes. */
  idleTimeout?: number;
  /** A session ends this long after it began whatever its use, ms. Default 24 hours. */
  absoluteTimeout?: number;
  cookie?: CookieOptions;
}

const SESSION = attribute<Session>('foyer.session');

export class Session {
  #id: string | undefined;
  #data: Record<string, unknown>;
  #createdAt: number;
  #set: Record<string, unknown> = {};
  #deleted = new Set<string>();
  #stored: boolean;
  #regeneratedFrom: string | undefined;
  #destroyed: string | undefined;
  /** The cookie the client sent must be replaced (a new id, a rotated secret). */
  resign = false;

  constructor(id: string | undefined, record: SessionRecord | undefined) {
    this.#id = id;
    this.#data = record === undefined ? {} : structuredClone(record.data);
    this.#createdAt = record?.createdAt ?? Date.now();
    this.#stored = record !== undefined;
  }

  /** The session id; a new session gets one on first use. */
  get id(): string {
    return (this.#id ??= newSessionId());
  }

  get isNew(): boolean {
    return !this.#stored;
  }

  get createdAt(): number {
    return this.#createdAt;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.#data[key] as T | undefined;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.#data, key);
  }

  set(key: string, value: unknown): void {
    if (value === undefined) {
      this.delete(key);
      return;
    }
    this.#data[key] = value;
    this.#set[key] = value;
    this.#deleted.delete(key);
  }

  delete(key: string): void {
    if (!Object.hasOwn(this.#data, key)) return;
    delete this.#data[key];
    delete this.#set[key];
    this.#deleted.add(key);
  }

  /** A new id for the same data: call it when privileges change (log-in) against session fixation. */
  regenerate(): void {
    if (this.#stored && this.#id !== undefined) this.#regeneratedFrom ??= this.#id;
    this.#id = newSessionId();
    this.#set = { ...this.#data };
    this.#stored = false;
    this.resign = true;
  }

  /** Ends the session: removed from the store, the cookie expired; later writes start a new one. */
  destroy(): void {
    // The id the store knows: the one before a regenerate() in this request, or the current one.
    const known = this.#regeneratedFrom ?? (this.#stored ? this.#id : undefined);
    if (known !== undefined) this.#destroyed = known;
    this.#id = undefined;
    this.#data = {};
    this.#set = {};
    this.#deleted.clear();
    this.#stored = false;
    this.#regeneratedFrom = undefined;
    this.#createdAt = Date.now();
  }

  /** @internal what the middleware writes back. */
  changes() {
    const dirty = Object.keys(this.#set).length > 0 || this.#deleted.size > 0;
    return {
      id: dirty ? this.id : this.#id,
      dirty,
      stored: this.#stored,
      patch: {
        set: structuredClone(this.#set),
        delete: [...this.#deleted],
        createdAt: this.#createdAt,
        replace: !this.#stored,
      },
      /** Ids to remove from the store: a regenerated session's old id, a destroyed one. */
      drop: [this.#regeneratedFrom, this.#destroyed].filter((x): x is string => x !== undefined),
      destroyed: this.#destroyed !== undefined,
      empty: Object.keys(this.#data).length === 0,
    };
  }
}

/** The request's session; throws when no `session()` middleware ran before. */
export function getSession(ctx: Context): Session {
  const s = ctx.get(SESSION);
  if (s === undefined) throw new Error('getSession(): no session() middleware before this handler');
  return s;
}

function withCookie(res: Response, cookie: string): Response {
  try {
    res.headers.append('set-cookie', cookie);
    return res;
  } catch {
    // An immutable Response (a fetched one): copy its head.
    const copy = new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
    copy.headers.append('set-cookie', cookie);
    return copy;
  }
}

export function session(options: SessionOptions): Middleware {
  const secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length < 32)) {
    throw new FoyerConfigError('FOYER_BAD_CONFIG', 'session secrets must be strings of at least 32 characters');
  }
  const name = options.cookieName ?? 'foyer.sid';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
    throw new FoyerConfigError('FOYER_BAD_CONFIG', 'cookieName must be a token');
  const idle = options.idleTimeout ?? 30 * 60_000;
  const absolute = options.absoluteTimeout ?? 24 * 3_600_000;
  const touchEvery = idle / 10;
  const cookieOptions = options.cookie ?? {};
  const store = options.store ?? memorySessionStore();

  const unavailable = (ctx: Context, err: unknown): never => {
    ctx.log.error({ err: (err as Error).message }, 'session store unavailable');
    throw new FoyerError('FOYER_SESSION_STORE_DOWN', 'session store unavailable');
  };

  return async (req, ctx, next) => {
    const cookies = sessionCookies(req.headers.get('cookie'), name, secrets);
    // The first signed cookie whose session is live: one tossed in for another domain or path,
    // even signed by us (an ended session's), does not hide the session's own.
    let record: SessionRecord | undefined;
    let verified: { id: string; secret: number } | undefined;
    for (const candidate of cookies.verified) {
      try {
        record = await store.get(candidate.id);
      } catch (err) {
        unavailable(ctx, err);
      }
      if (record !== undefined && Date.now() - record.createdAt > absolute) {
        await store.destroy(candidate.id).catch(() => {});
        record = undefined;
      }
      if (record !== undefined) {
        verified = candidate;
        break;
      }
    }
    // A cookie we do not know gets a new id: never adopt an id the client chose (fixation).
    const s = new Session(record === undefined ? undefined : verified?.id, record);
    if (record !== undefined && verified !== undefined && verified.secret > 0) s.resign = true;
    ctx.set(SESSION, s);
    const res = await next();

    const c = s.changes();
    try {
      for (const id of c.drop) await store.destroy(id);
      const signed =
        c.id === undefined ? undefined : serializeCookie(name, signId(c.id, secrets), cookieOptions, ctx.secure);
      if (c.id !== undefined && c.dirty && !(c.empty && !c.stored)) {
        await store.save(c.id, c.patch, idle);
        return !c.stored || s.resign ? withCookie(res, signed as string) : res;
      }
      // Expired only when every cookie of the name was looked at: past the bound, one not looked
      // at may be the session's own, and this Set-Cookie (host-only, Path=/) would delete it.
      const stale = record === undefined && c.id === undefined && cookies.present && cookies.complete;
      if (c.destroyed || stale) {
        // Expire a cookie that named nothing (or a destroyed session) so the browser stops sending it.
        return withCookie(res, serializeCookie(name, undefined, cookieOptions, ctx.secure));
      }
      if (c.id !== undefined && c.stored && record !== undefined) {
        // Unchanged: extend the idle expiry only when a tenth of it has passed since the last time.
        if (record.expiresAt === undefined || record.expiresAt - Date.now() < idle - touchEvery) {
          await store.touch(c.id, idle);
        }
        if (s.resign) return withCookie(res, signed as string);
      }
    } catch (err) {
      unavailable(ctx, err);
    }
    return res;
  };
}
