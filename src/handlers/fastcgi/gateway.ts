// The FastCGI gateway middleware: resolve the URL (script, static file, front controller), send
// the request to php-fpm through the pool, and turn the CGI response into a Response whose body
// streams with backpressure. Failures map to the catalogue: 502 (down, broken response), 503 +
// Retry-After (queue full, OVERLOADED), 504 (timeouts).
import { realpathSync } from 'node:fs';
import { resolve as resolvePathname } from 'node:path';
import { staticFiles } from '../static/index.ts';
import type { StaticOptions } from '../static/index.ts';
import type { Context, Middleware, Next } from '../../types.ts';
import { FoyerError, HttpError } from '../../util/errors.ts';
import { netSocketFactory, parseUpstream } from './address.ts';
import type { ExchangeResult } from './connection.ts';
import { FastCgiError } from './errors.ts';
import type { FastCgiOptions } from './options.ts';
import { resolveOptions } from './options.ts';
import { buildParams } from './params.ts';
import { FastCgiPool, PoolFullError } from './pool.ts';
import { decodePath, nodeResolverFs, ResolutionCache, type ResolveOptions, resolvePath } from './resolve.ts';
import { type SendfileTarget, sendfileResponse } from './sendfile.ts';
import { type SpooledBody, SpoolTooLargeError, spoolBody } from './spool.ts';
import { StderrLog } from './stderr-log.ts';

/** The middleware, plus the pool's lifecycle. */
export interface FastCgiMiddleware extends Middleware {
  /** Closes idle php-fpm connections and refuses new requests (call on server shutdown). */
  close(): void;
  /** Open, idle and waiting counts of the connection pool. */
  readonly stats: { open: number; idle: number; waiting: number };
}

const NULL_BODY = new Set([204, 205, 304]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function createGateway(options: FastCgiOptions): FastCgiMiddleware {
  const o = resolveOptions(options);
  const upstream = typeof options.upstream === 'string' ? parseUpstream(options.upstream) : options.upstream;
  let root: string;
  try {
    root = realpathSync(resolvePathname(options.root));
  } catch {
    throw new FoyerError('FOYER_BAD_CONFIG', `fastcgi root does not exist: ${options.root}`);
  }
  let sendRoot: string | undefined;
  if (options.sendfile !== undefined) {
    try {
      sendRoot = realpathSync(resolvePathname(options.sendfile.root));
    } catch {
      throw new FoyerError('FOYER_BAD_CONFIG', `sendfile root does not exist: ${options.sendfile.root}`);
    }
  }
  const pool = new FastCgiPool({
    connect: options.connect ?? netSocketFactory(upstream, o.connectTimeout),
    maxConnections: o.maxConnections,
    idleTimeout: o.idleTimeout,
    maxQueue: o.maxQueue,
    queueTimeout: o.queueTimeout,
  });
  const resolveOpts: ResolveOptions = {
    root,
    extensions: o.extensions,
    index: o.index,
    frontController: o.frontController,
    fs: options.fs ?? nodeResolverFs,
  };
  const cache = new ResolutionCache(o.cacheTtl);
  const staticOpts = staticOptions(options.static, o.extensions);
  const serveStatic = staticOpts === undefined ? undefined : staticFiles(root, staticOpts);
  const serveSendfile =
    sendRoot === undefined ? undefined : staticFiles(sendRoot, { dotfiles: 'allow', fallthrough: false });
  const extraParams = options.params;

  async function handle(req: Request, ctx: Context, next: Next): Promise<Response> {
    const url = new URL(req.url);
    const path = decodePath(url.pathname);
    if (path === undefined) {
      throw new FoyerError(url.pathname.includes('%') ? 'FOYER_BAD_ESCAPE' : 'FOYER_BAD_TARGET', 'fastcgi path');
    }
    const now = Date.now();
    let r = cache.get(path, now);
    if (r === undefined) {
      r = await resolvePath(path, resolveOpts);
      cache.set(path, r, now);
    }
    switch (r.kind) {
      case 'none':
        return next();
      case 'static':
        return serveStatic === undefined ? next() : serveStatic(req, ctx, next);
      case 'forbidden':
        throw new FoyerError('FOYER_FORBIDDEN', 'script source refused');
      case 'redirect':
        // Caddy php_server: a directory's index.php runs at the canonical URL with a slash.
        return new Response(null, { status: 308, headers: { location: r.location + url.search } });
    }
    const stderr = new StderrLog(ctx.log, o.stderrLimit, r.scriptName);
    let spooled: SpooledBody | undefined;
    try {
      let contentLength: number | undefined;
      let source: (() => AsyncIterable<Uint8Array>) | null = null;
      let consumed = () => false;
      if (req.body !== null) {
        const declared = req.headers.get('content-length');
        if (declared !== null && /^\d+$/.test(declared)) {
          contentLength = Number(declared);
          const body = req.body;
          let touched = false;
          consumed = () => touched;
          // preventCancel: a retry after a stale connection may read the same stream again.
          source = () => ({
            async *[Symbol.asyncIterator]() {
              for await (const chunk of body.values({ preventCancel: true })) {
                touched = true;
                yield chunk;
              }
            },
          });
          if (contentLength === 0) source = null;
        } else {
          spooled = await spoolBody(req.body, { memoryLimit: o.spoolMemory, maxSize: o.maxSpoolSize, dir: o.spoolDir });
          contentLength = spooled.length;
          const s = spooled;
          // The spool is released once the pump read all of it (or gave up); errors before the
          // exchange release it in the catch below.
          source =
            contentLength === 0
              ? null
              : () => ({
                  async *[Symbol.asyncIterator]() {
                    try {
                      yield* s.chunks();
                    } finally {
                      void s.dispose();
                    }
                  },
                });
        }
      }
      const params = buildParams({
        req,
        ctx,
        url,
        documentRoot: root,
        scriptName: r.scriptName,
        scriptFilename: r.scriptFilename,
        pathInfo: r.pathInfo,
        contentLength,
        serverName: options.serverName,
        serverSoftware: o.serverSoftware,
        extra: typeof extraParams === 'function' ? extraParams(req, ctx) : extraParams,
      });
      let result: ExchangeResult | undefined;
      for (let attempt = 0; result === undefined; attempt++) {
        const conn = await pool.acquire(attempt > 0);
        const reused = conn.exchanges > 0;
        try {
          result = await conn.exchange({
            params,
            body: source === null ? null : source(),
            keepConn: o.keepAlive,
            readTimeout: o.readTimeout,
            abortSource: ctx,
            onStderr: (chunk) => stderr.push(chunk),
            onDone: () => stderr.flush(),
            highWaterMark: o.highWaterMark,
            maxHeadSize: o.maxHeadSize,
          });
        } catch (err) {
          // A kept-alive connection php-fpm closed (a recycled child): try once more on a fresh
          // one when nothing of the request reached the socket, or, for an idempotent method
          // whose body was not consumed, when not a byte of response came back (RFC 9110 §9.2.2
          // allows retrying those; over TCP a write to a just-closed peer still "succeeds").
          const retry =
            attempt === 0 &&
            reused &&
            err instanceof FastCgiError &&
            err.failure === 'closed' &&
            !err.responseStarted &&
            !consumed() &&
            (!err.requestWritten || IDEMPOTENT.has(req.method));
          if (!retry) throw err;
          ctx.log.debug({ script: r.scriptName }, 'fastcgi: reused connection was closed, retrying on a fresh one');
        }
      }
      return await respond(result, req, ctx);
    } catch (err) {
      stderr.flush();
      if (spooled !== undefined) void spooled.dispose();
      throw mapError(err, ctx, o.retryAfter);
    }
  }

  async function respond(result: ExchangeResult, req: Request, ctx: Context): Promise<Response> {
    // A plain list (already validated by parseCgiHead): cheaper than a Headers object, and the
    // engine serialises it as is.
    const headers: Array<[string, string]> = [];
    let contentLength: number | undefined;
    let sendfile: SendfileTarget | undefined;
    let hasType = false;
    for (const pair of result.headers) {
      const lower = pair[0].toLowerCase();
      if (lower === 'x-sendfile' || lower === 'x-accel-redirect') {
        // Internal instructions never reach the client, processed or not.
        if (serveSendfile !== undefined) sendfile = { header: lower, value: pair[1] };
        continue;
      }
      if (lower === 'content-length') contentLength = Number(pair[1]);
      else if (lower === 'content-type') hasType = true;
      headers.push(pair);
    }
    const body = result.body;
    if (sendfile !== undefined && serveSendfile !== undefined && sendRoot !== undefined) {
      void drain(body);
      return sendfileResponse(sendfile, sendRoot, serveSendfile, req, ctx, new Headers(headers));
    }
    if (NULL_BODY.has(result.status)) {
      void drain(body);
      return new Response(null, { status: result.status, headers });
    }
    // RFC 3875 §6.3.1: a body needs a Content-Type; PHP always sends one, other apps may not.
    if (!hasType) headers.push(['content-type', 'text/html; charset=UTF-8']);
    if (body instanceof Uint8Array) {
      // The whole response is here: a lying Content-Length is still a 502, not a broken stream.
      if (contentLength !== undefined && contentLength !== body.length) {
        throw new FastCgiError('protocol', 'backend body length differs from its Content-Length');
      }
      // PHP sends no body for HEAD: a length of 0 would misdescribe the GET (RFC 9110 §9.3.2).
      if (req.method === 'HEAD' && contentLength === undefined) {
        return new Response(emptyStream(), { status: result.status, headers });
      }
      return new Response(body, { status: result.status, headers });
    }
    const stream = contentLength === undefined ? body : enforceLength(body, contentLength);
    return new Response(stream, { status: result.status, headers });
  }

  const middleware = ((req: Request, ctx: Context, next: Next) => handle(req, ctx, next)) as FastCgiMiddleware;
  Object.defineProperty(middleware, 'stats', { get: () => pool.stats });
  middleware.close = () => pool.close();
  return middleware;
}

function staticOptions(opt: FastCgiOptions['static'], extensions: string[]): StaticOptions | undefined {
  if (opt === false) return undefined;
  const given = (typeof opt === 'object' ? opt : {}) as StaticOptions;
  // A directory index naming a script would be served as source by the static handler.
  const index = Array.isArray(given.index)
    ? given.index.filter((n) => !extensions.some((e) => n.toLowerCase().endsWith(e.toLowerCase())))
    : given.index;
  return { ...given, index };
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ start: (c) => c.close() });
}

/** Reads and drops a body so the connection stays reusable (bounded by the connection's drain cap). */
async function drain(body: ReadableStream<Uint8Array> | Uint8Array): Promise<void> {
  if (body instanceof Uint8Array) return;
  try {
    for await (const _ of body) {
      /* discard */
    }
  } catch {}
}

/** A backend that announced Content-Length must send exactly that much, or the client connection fails. */
function enforceLength(body: ReadableStream<Uint8Array>, expected: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > expected)
          controller.error(new FastCgiError('protocol', 'backend body longer than its Content-Length'));
        else controller.enqueue(chunk);
      },
      flush(controller) {
        if (seen !== expected)
          controller.error(new FastCgiError('protocol', 'backend body shorter than its Content-Length'));
      },
    }),
  );
}

function mapError(err: unknown, ctx: Context, retryAfter: number): unknown {
  const retry = { 'retry-after': String(Math.ceil(retryAfter)) };
  if (err instanceof PoolFullError) {
    ctx.log.warn({ reason: err.message }, 'fastcgi: no connection available');
    return new FoyerError('FOYER_UPSTREAM_OVERLOADED', err.message, retry);
  }
  if (err instanceof SpoolTooLargeError) return new FoyerError('FOYER_BODY_TOO_LARGE', err.message);
  if (!(err instanceof FastCgiError)) return err;
  if (err.failure === 'aborted') {
    // The client went away, or its body failed (the engine's own error, e.g. 413, wins).
    const cause = err.cause;
    if (cause instanceof HttpError) return cause;
    return new FoyerError('FOYER_BAD_REQUEST', err.message);
  }
  ctx.log.error({ failure: err.failure, reason: err.message }, 'fastcgi: upstream failed');
  switch (err.failure) {
    case 'timeout':
    case 'connect-timeout':
      return new FoyerError('FOYER_GATEWAY_TIMEOUT', err.message);
    case 'overloaded':
      return new FoyerError('FOYER_UPSTREAM_OVERLOADED', err.message, retry);
    default:
      return new FoyerError('FOYER_BAD_GATEWAY', err.message);
  }
}
