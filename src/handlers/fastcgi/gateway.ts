// The FastCGI gateway middleware: resolve the URL (script, static file, front controller), send
// the request to php-fpm through the pool, retry once on a fresh connection when that is safe,
// and hand the result to response.ts.
import { type DotfilePolicy, dotfileVerdict } from '../../analysis/dotfiles.ts';
import { analysePath, canonicalLocation, splitTarget } from '../../analysis/target-path.ts';
import { rawTarget } from '../engine-seam.ts';
import { staticFiles } from '../static/index.ts';
import { redirect } from '../static/responses.ts';
import type { StaticMiddleware, StaticOptions } from '../static/index.ts';
import type { Context, Middleware, Next } from '../../types.ts';
import { FoyerConfigError, FoyerError } from '../../util/errors.ts';
import { internalized } from '../../util/flat-string.ts';
import { type FileSystem, nodeFs, realRoot } from '../../os/file-system.ts';
import { netSocketFactory, parseUpstream } from './address.ts';
import type { ExchangeResult } from './connection.ts';
import { FastCgiError, type FastCgiFailure } from './errors.ts';
import type { FastCgiOptions } from './options.ts';
import { resolveOptions } from './options.ts';
import { buildParams } from './params.ts';
import { FastCgiPool, PoolFullError } from './pool.ts';
import { type Resolution, ResolutionCache, type ResolveOptions, resolvePath } from './resolve.ts';
import { type BodySource, prepareBody } from './request-body.ts';
import { mapError, type SendfileConfig, toResponse } from './response.ts';
import { StderrLog } from './stderr-log.ts';

/** The middleware, plus the pool's lifecycle. */
export interface FastCgiMiddleware extends Middleware {
  /** Closes idle php-fpm connections and refuses new requests (call on server shutdown). */
  close(): void;
  /** Open, idle and waiting counts of the connection pool. */
  readonly stats: { open: number; idle: number; waiting: number };
  /** Upstream failures so far, by kind (read by metrics); a client that left is not one. */
  readonly upstreamErrors: Readonly<Record<UpstreamErrorKind, number>>;
  /** The static-file handler for non-PHP files, if any (its cache figures). */
  readonly staticFiles: StaticMiddleware | undefined;
}

/** A FastCGI failure as metrics label it; `pool-full`: no php-fpm connection free in time. */
export type UpstreamErrorKind = Exclude<FastCgiFailure, 'aborted'> | 'pool-full';

function newErrorCounts(): Record<UpstreamErrorKind, number> {
  return {
    connect: 0,
    'connect-timeout': 0,
    closed: 0,
    protocol: 0,
    timeout: 0,
    overloaded: 0,
    rejected: 0,
    'pool-full': 0,
  };
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * May a failed exchange on a reused connection run again on a fresh one? Only when php-fpm closed
 * it without a byte of response and the body can be sent again, and then when (1) nothing of the
 * request reached the socket; or (2) the backend provably never read it (`neverRead`: a child
 * recycled by pm.max_requests half-closed and was draining the connection, see connection.ts); or
 * (3) the method is idempotent (RFC 9110 §9.2.2). A POST that met a child which may have read it
 * is never sent twice: it is a 502 (what nginx answers to every POST that meets a recycled child).
 * No clock is involved: under load a recycled child's FIN comes tens of ms late, and a child that
 * crashed may close as quickly as one that recycled.
 */
function retryable(err: unknown, method: string, body: BodySource): boolean {
  if (!(err instanceof FastCgiError) || err.failure !== 'closed' || err.responseStarted) return false;
  if (body.streamed && body.consumed()) return false;
  return !err.requestWritten || err.neverRead || IDEMPOTENT.has(method);
}

/** For tests: the URL the gateway's memo holds (see handle), read as `middleware[kKeptUrl]`. */
export const kKeptUrl = Symbol('foyer.fastcgi.keptUrl');

/** The longest URL the gateway's URL memo keeps (see handle). */
const MEMO_URL_MAX = 2048;

export function createGateway(options: FastCgiOptions): FastCgiMiddleware {
  const o = resolveOptions(options);
  const upstream = typeof options.upstream === 'string' ? parseUpstream(options.upstream) : options.upstream;
  const found = realRoot(options.root);
  if (found === undefined)
    throw new FoyerConfigError('FOYER_BAD_CONFIG', `fastcgi root does not exist: ${options.root}`);
  const root: string = found;
  let sendRoot: string | undefined;
  if (options.sendfile !== undefined) {
    sendRoot = realRoot(options.sendfile.root);
    if (sendRoot === undefined)
      throw new FoyerConfigError('FOYER_BAD_CONFIG', `sendfile root does not exist: ${options.sendfile.root}`);
  }
  const pool = new FastCgiPool({
    connect: options.connect ?? netSocketFactory(upstream, o.connectTimeout),
    maxConnections: o.maxConnections,
    idleTimeout: o.idleTimeout,
    maxQueue: o.maxQueue,
    queueTimeout: o.queueTimeout,
  });
  // One seam for script resolution, static files and X-Sendfile.
  const fs = options.fs ?? nodeFs;
  const resolveOpts: ResolveOptions = {
    root,
    extensions: o.extensions,
    index: o.index,
    frontController: o.frontController,
    followSymlinks:
      (options.symlinks ??
        (typeof options.static === 'object' ? (options.static.symlinks as string | undefined) : undefined)) ===
      'follow',
    fs,
  };
  const upstreamErrors = newErrorCounts();
  const cache = new ResolutionCache(o.cacheTtl);
  // Concurrent misses for one path share one resolution: when an entry expires under load, every
  // request arriving meanwhile would otherwise stat and realpath the same script again (the
  // resolution is a function of the path and the disk only, so sharing it shares no request state).
  const resolving = new Map<string, Promise<Resolution>>();
  const resolveShared = (path: string, now: number): Promise<Resolution> => {
    let p = resolving.get(path);
    if (p === undefined) {
      p = resolvePath(path, resolveOpts).then(
        (r) => {
          resolving.delete(path);
          cache.set(path, r, now);
          return r;
        },
        (err: unknown) => {
          resolving.delete(path);
          throw err;
        },
      );
      resolving.set(path, p);
    }
    return p;
  };
  const staticOpts = staticOptions(options.static, o.extensions, options.symlinks, fs);
  const serveStatic = staticOpts === undefined ? undefined : staticFiles(root, staticOpts);
  const sendfileConfig: SendfileConfig | undefined =
    sendRoot === undefined
      ? undefined
      : { root: sendRoot, fs, serve: staticFiles(sendRoot, { dotfiles: 'allow', fallthrough: false, fs }) };
  const extraParams = options.params;
  const responseBuffer = o.responseBuffering
    ? {
        memoryLimit: o.responseMemory,
        maxFileSize: o.maxTempFileSize,
        dir: o.spoolDir,
        budget: { used: 0, max: o.maxTempTotal, memory: 0, memoryMax: o.responseMemoryTotal },
      }
    : undefined;
  // One dotfile rule for scripts and static files: `.git/x.php` is as private as `.git/config`.
  const dotfiles: DotfilePolicy =
    (typeof options.static === 'object' ? (options.static.dotfiles as DotfilePolicy | undefined) : undefined) ?? 'deny';

  /**
   * The last URL without a query or fragment that reached the script lookup, and the path made of
   * it: the analysis below is a function of the URL and this gateway's dotfile rule alone, and a
   * client mostly asks for one URL again (in callgrind it was about 2,000 instructions per
   * hello.php: splits, decoding, a join, and a Map key hashed anew). A URL with a query or a
   * fragment (an app's own Request may carry one) is not kept: either may carry a token. Kept only
   * where the resolution cache keeps paths too (a TTL above 0), and only up to MEMO_URL_MAX chars.
   */
  const memo = o.cacheTtl > 0;
  let lastUrl: string | undefined;
  let lastPath = '';

  async function handle(req: Request, ctx: Context, next: Next): Promise<Response> {
    // The target as the client sent it, when it is a path: REQUEST_URI is made of it (params.ts), so
    // it must be the name every earlier layer saw. WHATWG removed `/admin/../` from req.url, not from
    // the raw target: analysed here, that name is not canonical and gets the redirect below, or a
    // guard on /admin passes `/admin/../x` as `/x` and a PHP router reads `/admin/../x`.
    const raw = rawTarget(req);
    // `OPTIONS *` asks about the server, not a resource (RFC 9110 §9.3.7): req.url's `/*` path is a
    // stand-in, and the front controller must not run for it with a REQUEST_URI nobody sent.
    if (raw === '*') return next();
    const url = raw !== undefined && raw.charCodeAt(0) === 47 /* / */ ? raw : req.url;
    let path: string;
    let search: string;
    if (url === lastUrl) {
      path = lastPath;
      search = '';
    } else {
      // The same analysis as static files (analysis/target-path.ts): decoded once, encoded `/`, `\`
      // and NUL refused, so `/admin%2fsecret.php` can never run `/admin/secret.php`.
      const target = splitTarget(url);
      const analysed = analysePath(target.rawPath);
      if (analysed === 'bad-escape') throw new FoyerError('FOYER_BAD_ESCAPE', 'fastcgi path');
      if (analysed === 'bad-path') throw new FoyerError('FOYER_BAD_TARGET', 'fastcgi path');
      if (!analysed.canonical) return redirect(canonicalLocation(analysed, target.search), 308);
      const { segments } = analysed;
      const hidden = dotfileVerdict(segments, dotfiles);
      if (hidden === 'forbidden') throw new FoyerError('FOYER_FORBIDDEN', 'dotfile');
      if (hidden === 'missing') return next();
      path = segments.length === 0 ? '/' : `/${segments.join('/')}${analysed.trailingSlash ? '/' : ''}`;
      // A lone `?` is no query (as URL's `search`).
      search = target.search.length > 1 ? target.search : '';
      if (memo && target.search === '' && url.length <= MEMO_URL_MAX && url.indexOf('#') < 0) {
        // V8's own copy: the raw target is cut from the request's head, which it would keep alive.
        lastUrl = internalized(url);
        lastPath = path;
      }
    }
    const now = Date.now();
    const r = cache.get(path, now) ?? (await resolveShared(path, now));
    switch (r.kind) {
      case 'none':
        return next();
      case 'static':
        return serveStatic === undefined ? next() : serveStatic(req, ctx, next);
      case 'forbidden':
        throw new FoyerError('FOYER_FORBIDDEN', 'script source refused');
      case 'redirect':
        // Caddy php_server: a directory's index.php runs at the canonical URL with a slash.
        return new Response(null, { status: 308, headers: { location: r.location + search } });
    }
    // Made on the first STDERR record: most requests have none.
    let stderr: StderrLog | undefined;
    const onStderr = (chunk: Uint8Array): void =>
      (stderr ??= new StderrLog(ctx.log, o.stderrLimit, r.scriptName)).push(chunk);
    const onDone = (): void => stderr?.flush();
    let body: BodySource | undefined;
    try {
      // Before a pool connection is taken: a slow upload holds nothing of php-fpm's.
      const prepared = prepareBody(
        req,
        { memoryLimit: o.spoolMemory, maxSize: o.maxSpoolSize, dir: o.spoolDir },
        !o.requestBuffering,
      );
      body = prepared instanceof Promise ? await prepared : prepared;
      const { contentLength, open } = body;
      const params = buildParams({
        req,
        ctx,
        search,
        documentRoot: root,
        scriptName: r.scriptName,
        scriptFilename: r.scriptFilename,
        pathInfo: r.pathInfo,
        contentLength,
        serverName: options.serverName,
        serverSoftware: o.serverSoftware,
        extra: typeof extraParams === 'function' ? extraParams(req, ctx) : extraParams,
      });
      // A large streamed body cannot be sent twice: it takes a connection that rested, away from
      // a recycled child's last moments (pool.ts, `settled`). Everything else takes the warmest.
      const mode = body.streamed ? 'settled' : 'any';
      let result: ExchangeResult | undefined;
      for (let attempt = 0; result === undefined; attempt++) {
        const conn =
          (attempt === 0 && mode === 'any' ? pool.takeIdle() : undefined) ??
          (await pool.acquire(attempt > 0 ? 'fresh' : mode));
        const reused = conn.exchanges > 0;
        try {
          result = await conn.exchange({
            params,
            body: open === null ? null : open(),
            keepConn: o.keepAlive,
            readTimeout: o.readTimeout,
            abortSource: ctx,
            bodyStreams: body.streamed,
            onStderr,
            onDone,
            highWaterMark: o.highWaterMark,
            responseBuffer,
            maxHeadSize: o.maxHeadSize,
          });
        } catch (err) {
          if (!(attempt === 0 && reused && retryable(err, req.method, body))) throw err;
          ctx.log.debug({ script: r.scriptName }, 'fastcgi: reused connection was closed, retrying on a fresh one');
        }
      }
      const response = toResponse(result, req, ctx, sendfileConfig);
      return response instanceof Promise ? await response : response;
    } catch (err) {
      stderr?.flush();
      body?.dispose();
      if (err instanceof FastCgiError) {
        if (err.failure !== 'aborted') upstreamErrors[err.failure]++;
      } else if (err instanceof PoolFullError) upstreamErrors['pool-full']++;
      throw mapError(err, ctx, o.retryAfter);
    }
  }

  const middleware = ((req: Request, ctx: Context, next: Next) => handle(req, ctx, next)) as FastCgiMiddleware;
  Object.defineProperty(middleware, 'stats', { get: () => pool.stats });
  Object.defineProperty(middleware, 'upstreamErrors', { value: upstreamErrors });
  Object.defineProperty(middleware, 'staticFiles', { value: serveStatic });
  Object.defineProperty(middleware, kKeptUrl, { get: () => lastUrl });
  middleware.close = () => pool.close();
  return middleware;
}

function staticOptions(
  opt: FastCgiOptions['static'],
  extensions: string[],
  symlinks: FastCgiOptions['symlinks'],
  fs: FileSystem,
): StaticOptions | undefined {
  if (opt === false) return undefined;
  const given = (typeof opt === 'object' ? opt : {}) as StaticOptions;
  // A directory index naming a script would be served as source by the static handler.
  const index = Array.isArray(given.index)
    ? given.index.filter((n) => !extensions.some((e) => n.toLowerCase().endsWith(e.toLowerCase())))
    : given.index;
  const withFs = { ...given, index, fs: given.fs ?? fs };
  return symlinks === undefined ? withFs : { ...withFs, symlinks };
}
