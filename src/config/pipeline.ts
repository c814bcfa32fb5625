// Builds the server's request pipeline from settings: [compression] → application → static files
// (or PHP through FastCGI) → 404, with one error boundary around all of it. Used by the CLI; the
// same order nginx uses for `try_files` with an upstream, with the app first like Caddy's routes.
import { gateOf } from '../access/sync-gate.ts';
import { respondToError } from '../handlers/app/error-response.ts';
import { type Composed, compose } from '../handlers/app/compose.ts';
import { type Compressor, compress, compressor } from '../handlers/app/compress.ts';
import { isMountable } from '../handlers/app/mount.ts';
import { scheduleCleanups } from '../handlers/app/uploads.ts';
import { staticFiles } from '../handlers/static/index.ts';
import { discardBody } from '../reception/light-response.ts';
import type { Context, Handler, MaybePromise, Middleware, Next } from '../types.ts';
import { FoyerConfigError, FoyerError, isHttpError } from '../util/errors.ts';
import { defaultExport, importModule } from './load.ts';
import type { FoyerConfig } from './schema.ts';

/** What an application module may default-export, as seen by the CLI. */
export interface LoadedApp {
  /** The app as a middleware when it can fall through (a Foyer App), else undefined. */
  handle?: (req: Request, ctx: Context, next: Next) => Promise<Response>;
  fetch: Handler;
  renderError?: (err: unknown, req: Request, ctx: Context) => Promise<Response>;
}

/** Loads `--app FILE`: a default export that is a function, or an object with `fetch`. */
export async function loadApp(file: string): Promise<LoadedApp> {
  return toLoadedApp(defaultExport(await importModule(file)), file);
}

/** Normalises what an app module exported; a Foyer App keeps its middleware form and error hook. */
export function toLoadedApp(exported: unknown, name = 'the app'): LoadedApp {
  if (typeof exported === 'function') return { fetch: exported as Handler };
  if (exported !== null && typeof exported === 'object' && typeof (exported as LoadedApp).fetch === 'function') {
    const app = exported as LoadedApp;
    return {
      fetch: (req, ctx) => app.fetch(req, ctx),
      handle: isMountable(app) ? app.handle.bind(app) : undefined,
      renderError: typeof app.renderError === 'function' ? app.renderError.bind(app) : undefined,
    };
  }
  throw new TypeError(`${name} must default-export a fetch handler (req, ctx) => Response or an object with fetch()`);
}

/**
 * A request body the app has read (or locked) is gone: a later layer would get an empty or broken
 * one, so the app's answer stands. A body left alone was not consumed and can go on.
 */
function bodyTaken(req: Request): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  return req.bodyUsed || req.body?.locked === true;
}

/** An app's 404 lets later layers try (any method, unless it read the request body); it wins if they miss too. */
function fallsThrough(res: Response, req: Request): boolean {
  return res.status === 404 && !bodyTaken(req);
}

/** The layers after the app answer instead of its 404; the app's response is kept if they 404 too. */
async function fallThrough(appResponse: Response, req: Request, ctx: Context, rest: Composed): Promise<Response> {
  try {
    const other = await rest(req, ctx, notFound);
    discardBody(appResponse);
    return other;
  } catch (err) {
    if (isHttpError(err) && err.status === 404) return appResponse;
    throw err;
  }
}

export interface PipelineParts {
  config: FoyerConfig;
  app?: LoadedApp;
  /**
   * FastCGI middleware factory, injected so the CLI decides how to load it. Without an app, its
   * middleware is called as it is (no compose() around it): it must return a Response or a promise
   * of one, and call `next` at most once, as the gateway does.
   */
  fastcgi?: (options: {
    upstream: string;
    root: string;
    static?: boolean | Record<string, unknown>;
    maxConnections?: number;
    requestBuffering?: boolean;
    spoolMemory?: number;
    maxSpoolSize?: number;
    spoolDir?: string;
    responseBuffering?: boolean;
    responseMemory?: number;
    maxTempFileSize?: number;
    maxTempTotal?: number;
    responseMemoryTotal?: number;
  }) => Middleware;
  /** Connections to php-fpm: the children of a php-fpm that `--php spawn` started. */
  phpConnections?: number;
  /** Access layers (address rules, rate limit, Basic auth) that run before everything else. */
  access?: Middleware[];
  /** Sees the resource layers built (PHP, static files), so that metrics can read their figures. */
  onLayer?: (layer: Middleware) => void;
}

const notFound: Next = () => Promise.reject(new FoyerError('FOYER_NOT_FOUND'));

type Stage = (req: Request, ctx: Context) => MaybePromise<Response>;

const isThenable = (x: unknown): x is PromiseLike<Response> =>
  x !== null && typeof x === 'object' && typeof (x as PromiseLike<Response>).then === 'function';

/**
 * The app's stage: the app, then (on its 404, or its next()) the rest. Compression applies to what
 * the app itself answers; responses it passed on from later layers are left alone: static files
 * have their own (cached, precompressed) compression, and re-reading them here would only cost time.
 * A plain fetch app that answers synchronously is answered synchronously (no promise, no closure:
 * the engine then writes it at once, as it would with `serve({ fetch })`).
 */
function appStage(app: LoadedApp, rest: Composed | undefined, shrink: Compressor | undefined): Stage {
  const handle = app.handle;
  if (handle === undefined) {
    const fetch = app.fetch;
    const own = (req: Request, res: Response): MaybePromise<Response> =>
      shrink === undefined ? res : shrink(req, res);
    const settle = async (req: Request, ctx: Context, res: Response): Promise<Response> => {
      const out = await fallThrough(res, req, ctx, rest!);
      return out === res ? own(req, res) : out;
    };
    const answered = (req: Request, ctx: Context, res: Response): MaybePromise<Response> =>
      rest !== undefined && fallsThrough(res, req) ? settle(req, ctx, res) : own(req, res);
    const later = async (req: Request, ctx: Context, pending: PromiseLike<Response>) =>
      answered(req, ctx, await pending);
    return (req, ctx) => {
      const res = fetch(req, ctx);
      return isThenable(res) ? later(req, ctx, res) : answered(req, ctx, res);
    };
  }
  return async (req, ctx) => {
    let passed: Response | undefined;
    const next: Next = (r = req) =>
      rest === undefined ? notFound() : rest(r, ctx, notFound).then((res) => (passed = res));
    const res = await handle(req, ctx, next);
    return shrink === undefined || res === passed ? res : shrink(req, res);
  };
}

/**
 * One error boundary around the pipeline, synchronous when the stage answered synchronously.
 * `after` (the compression of what PHP answers, when no app is in front) runs on the
 * stage's response inside the boundary: one async frame per request, not a middleware frame and a
 * promise reaction of its own. A response `after` makes is not given to it again.
 */
function boundary(
  stage: Stage,
  render: (err: unknown, req: Request, ctx: Context) => Promise<Response>,
  after?: Compressor,
): Handler {
  const settle = async (
    req: Request,
    ctx: Context,
    pending: PromiseLike<Response>,
    shrink: Compressor | undefined,
  ): Promise<Response> => {
    try {
      const res = await pending;
      if (shrink === undefined) return res;
      // Awaited only when it is a promise (its failure is rendered): an await of a Response would
      // cost a promise, a microtask and a `then` lookup up the Response's prototypes.
      const out = shrink(req, res);
      return isThenable(out) ? await out : out;
    } catch (err) {
      return render(err, req, ctx);
    } finally {
      scheduleCleanups(ctx);
    }
  };
  return (req, ctx) => {
    let out: MaybePromise<Response>;
    try {
      out = stage(req, ctx);
      if (isThenable(out)) return settle(req, ctx, out, after);
      if (after !== undefined) {
        out = after(req, out);
        if (isThenable(out)) return settle(req, ctx, out, undefined);
      }
    } catch (err) {
      scheduleCleanups(ctx);
      return render(err, req, ctx);
    }
    scheduleCleanups(ctx);
    return out;
  };
}

/**
 * The access layers in front of everything else: they answer first, or pass on to `inner`. Each
 * layer's gate decides at once where it can (access/sync-gate.ts), so that a request let through
 * reaches `inner` with no promise in between, and a synchronous answer stays synchronous; from the
 * first layer that cannot tell, the request goes through the middleware as composed.
 */
function guarded(access: Middleware[], inner: Stage): Stage {
  const gates = access.map(gateOf);
  const tails = access.map((_, i) => compose(...access.slice(i)));
  const through = (i: number, req: Request, ctx: Context): Promise<Response> =>
    (tails[i] as Composed)(req, ctx, (r = req) => {
      try {
        return Promise.resolve(inner(r, ctx));
      } catch (err) {
        return Promise.reject(err);
      }
    });
  return (req, ctx) => {
    for (let i = 0; i < gates.length; i++) {
      const gate = gates[i];
      if (gate === undefined || gate(req, ctx) !== true) return through(i, req, ctx);
    }
    return inner(req, ctx);
  };
}

export function buildPipeline({ config, app, fastcgi, phpConnections, access, onLayer }: PipelineParts): Handler {
  let resource: Middleware | undefined;
  const compressing = config.compress !== false;
  // PHP output is dynamic, like an app's: compressed here (what nginx's gzip does for fastcgi_pass).
  // Static files alone are not: they have their own (cached, precompressed) compression.
  let shrinkResource = false;
  if (config.php !== undefined) {
    if (config.root === undefined) throw new FoyerConfigError('FOYER_BAD_CONFIG', 'php needs a document root');
    if (fastcgi === undefined) throw new FoyerConfigError('FOYER_BAD_CONFIG', 'the FastCGI handler is not available');
    resource = fastcgi({
      upstream: config.php,
      root: config.root,
      static: config.static ?? true,
      ...config.fastcgi,
      ...(phpConnections === undefined ? {} : { maxConnections: phpConnections }),
    });
    shrinkResource = compressing;
  } else if (config.root !== undefined) {
    resource = staticFiles(config.root, config.static);
  }
  if (resource !== undefined) onLayer?.(resource);
  const render =
    app?.renderError ?? ((err: unknown, req: Request, ctx: Context) => respondToError(err, req, ctx, undefined));
  // Access rules, rate limits and auth decide before the app, PHP or a file is touched.
  const guard = (front: Stage): Stage => (access !== undefined && access.length > 0 ? guarded(access, front) : front);
  if (app !== undefined) {
    // What falls through from the app to PHP is compressed by a layer of its own.
    const rest =
      resource === undefined ? undefined : shrinkResource ? compose(compress(), resource) : compose(resource);
    return boundary(guard(appStage(app, rest, compressing ? compressor() : undefined)), render);
  }
  // No app: the resource handler is called as it is, with no chain around it (a static file from
  // the cache stays a synchronous answer), and PHP's compression runs in the boundary.
  const only = resource;
  const front: Stage = only === undefined ? notFound : (req, ctx) => only(req, ctx, notFound);
  return boundary(guard(front), render, shrinkResource ? compressor() : undefined);
}
