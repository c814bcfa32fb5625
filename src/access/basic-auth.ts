// HTTP Basic authentication (RFC 7617) against an htpasswd file: `--basic-auth FILE` and the
// `basicAuth()` middleware are this same code. bcrypt costs tens of milliseconds by design, so
// credentials that verified once are remembered in a bounded cache keyed by an HMAC under a
// per-process random key (the cache never holds a password), and emptied when the file changes.
import { Buffer } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { Context, Middleware } from '../types.ts';
import { FoyerConfigError, FoyerError } from '../util/errors.ts';
import { HtpasswdFile } from './htpasswd-file.ts';
import { addressKey } from './ip-address.ts';
import { type HtpasswdEntry, verifyPassword } from './htpasswd.ts';
import { BcryptQueue, DEFAULT_MAX_PENDING_CHECKS, passwordThreadsFor } from './password-threads.ts';
import { applies, compileMatch, type PathMatch, requestPath } from './path-rules.ts';
import { withGate } from './sync-gate.ts';

export interface BasicAuthOptions {
  /** An htpasswd file (bcrypt, apr1 or {SHA} entries), reloaded when it changes. */
  file: string;
  /** Shown by browsers in the login prompt. Default "Restricted". */
  realm?: string;
  /** Protect only these paths (and below); default: everything. */
  paths?: readonly PathMatch[];
  /** Verified credentials remembered (least recently used dropped first). Default 1000; 0 disables. */
  cacheSize?: number;
  /** How often the file is checked for changes, ms. Default 1000. */
  checkInterval?: number;
  /**
   * bcrypt checks waiting for or running on a password thread (see password-threads.ts); a request
   * needing one more gets 503 with Retry-After: 1. Default 32.
   */
  maxPendingChecks?: number;
  /**
   * Of those, how many one client (an address; IPv6 by /64) may hold at once: past it, that client
   * gets 503 while others still get their logins checked. Default 4.
   */
  maxPendingChecksPerClient?: number;
  /**
   * Most password threads in this process (shared by every basicAuth in it; the first to start them
   * decides). Default: half the cores; `foyer serve --workers N` divides that among its workers.
   */
  passwordThreads?: number;
  /** Where reloads of the file are reported (requests log through ctx.log). */
  log?: Logger;
}

export interface Credentials {
  user: string;
  password: string;
}

// Stateless between calls (no streaming): one decoder serves every request.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads `Authorization: Basic token68` (RFC 7617 §2): the scheme is case-insensitive, the token is
 * strict base64, the user-id ends at the first colon (so the password may contain colons), and
 * the text is UTF-8 (§2.1). Anything else is undefined, which becomes a 401, never a 5xx.
 */
export function parseBasicAuth(header: string | null): Credentials | undefined {
  if (header === null || header.length > 8192) return undefined;
  const m = /^[ \t]*basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (m === null || (m[1] as string).length % 4 !== 0) return undefined;
  const bytes = Buffer.from(m[1] as string, 'base64');
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  // RFC 7617 §2: user-ids with a colon, and control characters in either part, are invalid.
  if (colon < 0 || /[\x00-\x1f\x7f]/.test(text)) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** `Basic realm="…", charset="UTF-8"` with the realm as a quoted-string (RFC 9110 §5.6.4). */
export function challenge(realm: string): string {
  return `Basic realm="${realm.replace(/[\\"]/g, '\\$&')}", charset="UTF-8"`;
}

class VerifiedCache {
  readonly #key = randomBytes(32);
  readonly #map = new Map<string, string>();
  #generation = 0;
  constructor(readonly max: number) {}

  id(c: Credentials): string {
    return createHmac('sha256', this.#key).update(c.user).update('\0').update(c.password).digest('base64');
  }

  has(c: Credentials, generation: number): boolean {
    if (generation !== this.#generation) {
      this.#map.clear();
      this.#generation = generation;
      return false;
    }
    const id = this.id(c);
    const user = this.#map.get(id);
    if (user === undefined) return false;
    this.#map.delete(id);
    this.#map.set(id, user);
    return true;
  }

  add(c: Credentials, generation: number): void {
    if (this.max === 0 || generation !== this.#generation) return;
    this.#map.set(this.id(c), c.user);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as string);
  }
}

function atLeastOne(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new FoyerConfigError('FOYER_BAD_CONFIG', `${name} must be an integer ≥ 1, got ${String(value)}`);
  return value;
}

/** Builds the checker; throws (naming the line) when the file cannot be read or holds a refused entry. */
export function basicAuthChecker(options: BasicAuthOptions, log?: Logger) {
  const realm = options.realm ?? 'Restricted';
  if (/[\x00-\x1f\x7f]/.test(realm))
    throw new FoyerConfigError('FOYER_BAD_CONFIG', 'the realm may not contain control characters');
  const file = new HtpasswdFile(options.file, options.checkInterval ?? 1000, log);
  const cache = new VerifiedCache(options.cacheSize ?? 1000);
  const maxPending = atLeastOne('maxPendingChecks', options.maxPendingChecks ?? DEFAULT_MAX_PENDING_CHECKS);
  const threads = atLeastOne('passwordThreads', options.passwordThreads ?? passwordThreadsFor());
  const queue = new BcryptQueue(maxPending, threads, log);
  const perClientMax = atLeastOne('maxPendingChecksPerClient', options.maxPendingChecksPerClient ?? 4);
  // Checks each client holds: one address sending wrong passwords could otherwise fill the queue
  // and hold every other login at 503 (a dozen requests a second do, at the defaults).
  const perClient = new Map<string, number>();
  // One check per credentials at a time: a browser sends them with every subresource, in parallel,
  // and each would otherwise take a place in the queue (and a thread) to learn the same answer.
  const inFlight = new Map<string, Promise<boolean>>();
  const tests = options.paths?.map(compileMatch);
  return {
    file,
    realm,
    /** True when the request's path is protected. */
    protects(url: string): boolean {
      if (tests === undefined) return true;
      const path = requestPath(url);
      return tests.some((t) => applies(t, path));
    },
    /**
     * True when the credentials are valid; synchronous when they were verified before. `client`
     * (addressKey() of the address) bounds what one client holds of the queue.
     */
    verify(c: Credentials, client?: string): boolean | Promise<boolean> {
      const found = file.lookup(c.user);
      const check = (entry: HtpasswdEntry | undefined): boolean | Promise<boolean> => {
        const generation = file.generation;
        const decoy = file.decoy;
        if (entry === undefined && decoy === undefined) return false;
        // From here a known and an unknown user take the same steps, so neither the status nor the
        // time tells them apart: an unknown user is never in the cache, and its check is the decoy's.
        if (cache.has(c, generation)) return true;
        const key = `${generation}:${cache.id(c)}`;
        const joined = inFlight.get(key);
        if (joined !== undefined) return joined;
        // While the queue is full every check that needs work is refused alike, whatever the user's
        // hash: were {SHA} and apr1 users still answered 401, a 503 would tell an unknown name apart.
        const held = client === undefined ? 0 : (perClient.get(client) ?? 0);
        if (queue.full) return Promise.reject(queue.busy());
        if (held >= perClientMax)
          return Promise.reject(
            queue.busy(`client ${client} holds ${held} password checks (maxPendingChecksPerClient)`),
          );
        if (client !== undefined) perClient.set(client, held + 1);
        const verdict = (
          entry === undefined
            ? verifyPassword(decoy as HtpasswdEntry, c.password, queue).then(() => false)
            : verifyPassword(entry, c.password, queue).then((ok) => {
                if (ok) cache.add(c, generation);
                return ok;
              })
        ).finally(() => {
          inFlight.delete(key);
          if (client === undefined) return;
          const left = (perClient.get(client) ?? 1) - 1;
          if (left === 0) perClient.delete(client);
          else perClient.set(client, left);
        });
        inFlight.set(key, verdict);
        return verdict;
      };
      return found instanceof Promise ? found.then(check) : check(found);
    },
    /**
     * The same verdict when it needs no waiting: true for credentials verified before, undefined
     * when only verify() can tell (a password hash to check, an unknown user's decoy check, or the
     * file's periodic look, which verify() then joins); false only for an empty file.
     */
    verifyNow(c: Credentials): boolean | undefined {
      const found = file.lookup(c.user);
      if (found instanceof Promise) return undefined;
      // An unknown user is refused only after the decoy check (verify()), never at once.
      if (found === undefined) return file.decoy === undefined ? false : undefined;
      return cache.has(c, file.generation) ? true : undefined;
    },
  };
}

/** Middleware asking for a user of the htpasswd file; sets `ctx.remoteUser` for the log and PHP. */
export function basicAuth(options: BasicAuthOptions): Middleware {
  const auth = basicAuthChecker(options, options.log);
  const header = challenge(auth.realm);
  const refuse = (ctx: Context, credentials: Credentials | undefined): never => {
    if (credentials !== undefined) {
      // Never the password; the user name is cut short and logged as data (JSON-escaped by pino).
      ctx.log.warn({ user: credentials.user.slice(0, 64), remote: ctx.remoteAddress }, 'basic auth failed');
    }
    throw new FoyerError('FOYER_UNAUTHORIZED', 'credentials missing or invalid', { 'www-authenticate': header });
  };
  // Decided at once for unprotected paths, missing or malformed credentials, unknown users and
  // credentials verified before; a password still to hash goes through the middleware below.
  const gate = (req: Request, ctx: Context): true | undefined => {
    if (!auth.protects(req.url)) return true;
    const credentials = parseBasicAuth(req.headers.get('authorization'));
    if (credentials === undefined) return refuse(ctx, undefined);
    const ok = auth.verifyNow(credentials);
    if (ok === undefined) return undefined;
    if (!ok) return refuse(ctx, credentials);
    ctx.remoteUser = credentials.user;
    return true;
  };
  return withGate(async (req, ctx, next) => {
    if (!auth.protects(req.url)) return next();
    const credentials = parseBasicAuth(req.headers.get('authorization'));
    let ok = credentials === undefined ? false : auth.verify(credentials, addressKey(ctx.remoteAddress));
    if (ok instanceof Promise) ok = await ok;
    if (credentials !== undefined && ok) {
      ctx.remoteUser = credentials.user;
      return next();
    }
    return refuse(ctx, credentials);
  }, gate);
}
