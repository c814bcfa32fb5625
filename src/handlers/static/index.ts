// The static file resource handler: `staticFiles(root, options)` serves a directory tree. The
// package's `foyer/static` entry (with the file-system seam); the root entry has staticFiles too.
// Hot path: a cached file is answered synchronously from prebuilt headers and bytes in memory; the
// disk is consulted at most once per `revalidateMs` per path. Everything else goes through the
// resolver (decode once, contain, realpath) and the entry builder.
import type { TargetPath } from '../../analysis/target-path.ts';
import { analysePath, canonicalLocation, splitTarget } from '../../analysis/target-path.ts';
import type { Context, MaybePromise, Middleware, Next } from '../../types.ts';
import type { ErrorCode } from '../../util/errors.ts';
import { FoyerConfigError, isHttpError } from '../../util/errors.ts';
import { choicesResponse, listingResponse } from './directory-response.ts';
import { FileCache } from './file-cache.ts';
import type { FileEntry } from './file-entry.ts';
import { buildEntry, currentSignature } from './file-entry.ts';
import type { StaticOptions } from './options.ts';
import { resolveOptions } from './options.ts';
import type { Resolution } from './resolver.ts';
import { Resolver } from './resolver.ts';
import { errorResponse, methodNotAllowed, redirect } from './responses.ts';
import { StaleEntryError, serveEntry } from './serve-file.ts';

export type { CacheControlRule, StaticOptions } from './options.ts';
export type { DirEntry, FileStat, OpenFile, StaticFs } from '../../os/file-system.ts';
export { nodeFs } from '../../os/file-system.ts';
import { realRoot as realRootOf } from '../../os/file-system.ts';

/** A Middleware whose `next` is optional, so it is also a Handler (`serve({ fetch: staticFiles(root) })`). */
export type StaticMiddleware = Middleware &
  ((req: Request, ctx: Context, next?: Next) => MaybePromise<Response>) & {
    /** GET/HEAD answered from the in-memory cache (hits) or through the disk (misses); read by metrics. */
    readonly cacheStats: StaticCacheStats;
  };

export interface StaticCacheStats {
  hits: number;
  misses: number;
}

/**
 * Serves the files under `root` for GET and HEAD.
 *
 * Use it as middleware (`compose(staticFiles('public'), app)`): a miss, or a method other than
 * GET/HEAD, calls `next()`. Use it as the handler itself (`serve({ fetch: staticFiles('public') })`),
 * or with `fallthrough: false`: a miss is 404 and another method 405.
 *
 * Always: the path is percent-decoded once (a malformed escape or invalid UTF-8 is 400; NUL and
 * encoded `/` or `\` are 400; `..` above the root is 400), contained in the root, and by default
 * symlinks leading out of the root and dotfiles are 403. Responses carry a strong ETag,
 * Last-Modified, `X-Content-Type-Options: nosniff` and a Content-Type with charset for text; answer
 * conditional requests (304/412) and ranges (206, multipart/byteranges, 416).
 *
 * @param root Directory to serve; resolved with realpath once, now. Must exist.
 * @param options See {@link StaticOptions}; every field has a default.
 * @throws FoyerConfigError FOYER_BAD_CONFIG when `root` is not an existing directory.
 */
export function staticFiles(root: string, options: StaticOptions = {}): StaticMiddleware {
  const o = resolveOptions(options);
  const realRoot = realRootOf(root);
  if (realRoot === undefined) throw new FoyerConfigError('FOYER_BAD_CONFIG', `static root does not exist: ${root}`);
  const resolver = new Resolver(realRoot, o);
  const cache = new FileCache(o.maxCacheBytes);
  const fs = o.fs;
  const revalidateMs = o.revalidateMs;
  const cacheEnabled = o.cacheEnabled;
  const maxFileSize = o.maxFileSize;
  // Plain numbers: the request path pays an increment; metrics read them when scraped.
  const cacheStats: StaticCacheStats = { hits: 0, misses: 0 };

  function miss(req: Request, next: Next | undefined): Response | Promise<Response> {
    if (next !== undefined && o.fallthrough) return next();
    return errorResponse(req, 'FOYER_NOT_FOUND');
  }

  // A usable entry: fresh, and holding the bytes if it should (a HEAD may have built it without).
  function usable(e: FileEntry, isHead: boolean, now: number): boolean {
    return (
      now - e.checkedAt < revalidateMs && (isHead || e.identity.data !== undefined || e.identity.size > maxFileSize)
    );
  }

  // What a path leads to, independent of the request's headers and query, so that concurrent
  // requests for one path can share it. A file outcome carries a ready entry.
  type Outcome =
    | Resolution
    | { kind: 'entry'; entry: FileEntry }
    | { kind: 'bad'; code: ErrorCode }
    | { kind: 'canonical'; location: string };

  async function outcomeOf(rawPath: string, isHead: boolean): Promise<Outcome> {
    const analysed = analysePath(rawPath);
    if (analysed === 'bad-escape') return { kind: 'bad', code: 'FOYER_BAD_ESCAPE' };
    if (analysed === 'bad-path') return { kind: 'bad', code: 'FOYER_BAD_TARGET' };
    if (!analysed.canonical) return { kind: 'canonical', location: canonicalLocation(analysed, '') };
    const r = await resolver.resolve(analysed.segments, analysed.trailingSlash);
    if (r.kind !== 'file') {
      if (r.kind === 'miss' || r.kind === 'forbidden') cache.delete(rawPath);
      return r;
    }
    const old = cache.get(rawPath);
    const load = !isHead;
    if (
      old !== undefined &&
      old.fsPath === r.source.fsPath &&
      (old.identity.data !== undefined || !load || r.source.stat.size > maxFileSize)
    ) {
      const sig = await currentSignature(fs, r.source.fsPath, r.source.stat, o, resolver.contained);
      if (sig === old.signature) {
        old.checkedAt = Date.now();
        return { kind: 'entry', entry: old };
      }
    }
    const entry = await buildEntry(fs, r.source, o, load, resolver.contained);
    if (cacheEnabled) cache.set(rawPath, entry);
    return { kind: 'entry', entry };
  }

  // One resolution per path at a time: a burst of requests for an uncached path reads the disk
  // once. Only the resolution is shared; each request then answers (or calls next()) on its own.
  function sharedOutcome(rawPath: string, isHead: boolean): Promise<Outcome> {
    if (!cacheEnabled) return outcomeOf(rawPath, isHead);
    const key = isHead ? `HEAD ${rawPath}` : rawPath;
    const inflight = cache.pending.get(key) as Promise<Outcome> | undefined;
    if (inflight !== undefined) return inflight;
    const p = outcomeOf(rawPath, isHead);
    cache.pending.set(key, p);
    const done = () => cache.pending.delete(key);
    p.then(done, done);
    return p;
  }

  async function slow(
    req: Request,
    next: Next | undefined,
    rawPath: string,
    search: string,
    isHead: boolean,
    retried: boolean,
  ): Promise<Response> {
    const r = await sharedOutcome(rawPath, isHead);
    switch (r.kind) {
      case 'bad':
        return errorResponse(req, r.code);
      case 'miss':
        return miss(req, next);
      case 'forbidden':
        return errorResponse(req, 'FOYER_FORBIDDEN');
      case 'redirect':
        return redirect(r.location + search);
      case 'canonical':
        return redirect(r.location + search, 308);
      case 'choices':
        return choicesResponse(
          r.locations.map((l) => l + search),
          isHead,
        );
      case 'listing': {
        const analysed = analysePath(rawPath) as TargetPath;
        return listingResponse(r.dirPath, analysed.segments, search, req, isHead, o, resolver);
      }
      case 'file':
        throw new Error('unreachable: files resolve to entries');
    }
    try {
      return await serveEntry(r.entry, req, isHead, o, fs);
    } catch (err) {
      if (!(err instanceof StaleEntryError) || retried) throw err;
      cache.delete(rawPath);
      return slow(req, next, rawPath, search, isHead, true);
    }
  }

  /**
   * Another method than GET/HEAD: later layers may take it (an app's POST route); when none does,
   * a path naming a file is 405 with Allow (RFC 9110 §15.5.6), not a 404 that would deny the file.
   */
  async function otherMethod(req: Request, next: Next | undefined): Promise<Response> {
    if (next === undefined || !o.fallthrough) return methodNotAllowed(req);
    let missed: unknown;
    try {
      const res = await next();
      if (res.status !== 404) return res;
      missed = res;
    } catch (err) {
      if (!isHttpError(err) || err.status !== 404) throw err;
      missed = err;
    }
    const outcome = await sharedOutcome(splitTarget(req.url).rawPath, true).catch(() => undefined);
    if (outcome?.kind === 'entry') {
      if (missed instanceof Response) void missed.body?.cancel().catch(() => {});
      return methodNotAllowed(req);
    }
    if (missed instanceof Response) return missed;
    throw missed;
  }

  function handle(req: Request, _ctx: Context, next?: Next): Response | Promise<Response> {
    const method = req.method;
    const isHead = method === 'HEAD';
    if (method !== 'GET' && !isHead) return otherMethod(req, next);
    const { rawPath, search } = splitTarget(req.url);
    const hit = cache.get(rawPath);
    if (hit !== undefined && usable(hit, isHead, Date.now())) {
      cacheStats.hits++;
      const res = serveEntry(hit, req, isHead, o, fs);
      if (!(res instanceof Promise)) return res;
      return res.catch((err: unknown) => {
        if (!(err instanceof StaleEntryError)) throw err;
        cache.delete(rawPath);
        return slow(req, next, rawPath, search, isHead, true);
      });
    }
    cacheStats.misses++;
    return slow(req, next, rawPath, search, isHead, false);
  }

  return Object.assign(handle, { cacheStats });
}
