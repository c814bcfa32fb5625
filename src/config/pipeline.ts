// Builds the server's request pipeline from settings: [compression] → application → static files
// (or PHP through FastCGI) → 404, with one error boundary around all of it. Used by the CLI; the
// same order nginx uses for `try_files` with an upstream, with the app first like Caddy's routes.
import { renderError } from '../handlers/app/error-response.ts';
import { compose, invoke } from '../handlers/app/compose.ts';
import { compress } from '../handlers/app/compress.ts';
import { isMountable } from '../handlers/app/mount.ts';
import { scheduleCleanups } from '../handlers/app/uploads.ts';
import { staticFiles } from '../handlers/static/index.ts';
import type { Context, Handler, Middleware, Next } from '../types.ts';
import { FoyerError, isHttpError } from '../util/errors.ts';
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

/**
 * Turns a plain fetch app into a layer: its 404 lets later layers try (any method, unless it read
 * the request body), and wins if they miss too.
 */
function fetchAppLayer(app: Handler): Middleware {
  return async (req, ctx, next) => {
    const res = await app(req, ctx);
    if (res.status !== 404 || bodyTaken(req)) return res;
    try {
      const other = await next(req);
      void res.body?.cancel().catch(() => {});
      return other;
    } catch (err) {
      if (isHttpError(err) && err.status === 404) return res;
      throw err;
    }
  };
}

export interface PipelineParts {
  config: FoyerConfig;
  app?: LoadedApp;
  /** FastCGI middleware factory, injected so the CLI decides how to load it. */
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
  }) => Middleware;
  /** Connections to php-fpm: the children of a php-fpm that `--php spawn` started. */
  phpConnections?: number;
  /** Access layers (address rules, rate limit, Basic auth) that run before everything else. */
  access?: Middleware[];
}

const notFound: Next = () => Promise.reject(new FoyerError('FOYER_NOT_FOUND'));

/**
 * Compression for what the app itself answers. Responses the app passed on from later layers are
 * left alone: static files have their own (cached, precompressed) compression, and re-reading
 * them here would only cost time.
 */
function compressOwn(appLayer: Middleware): Middleware {
  const forwarded = new WeakSet<Response>();
  const mw = compress({ when: (_req, res) => !forwarded.has(res) });
  const mark = (res: Response) => {
    forwarded.add(res);
    return res;
  };
  return (req, ctx, next) => mw(req, ctx, (r = req) => invoke(appLayer, r, ctx, (r2 = r) => next(r2).then(mark)));
}

export function buildPipeline({ config, app, fastcgi, phpConnections, access }: PipelineParts): Handler {
  const layers: Middleware[] = [...(access ?? [])];
  const compressing = config.compress !== false;
  if (app !== undefined) {
    const appLayer = app.handle ?? fetchAppLayer(app.fetch);
    layers.push(compressing ? compressOwn(appLayer) : appLayer);
  }
  if (config.php !== undefined) {
    if (config.root === undefined) throw new FoyerError('FOYER_BAD_CONFIG', 'php needs a document root');
    if (fastcgi === undefined) throw new FoyerError('FOYER_BAD_CONFIG', 'the FastCGI handler is not available');
    // PHP output is dynamic, like an app's: compressed here (what nginx's gzip does for fastcgi_pass).
    if (compressing) layers.push(compress());
    layers.push(
      fastcgi({
        upstream: config.php,
        root: config.root,
        static: config.static ?? true,
        ...config.fastcgi,
        ...(phpConnections === undefined ? {} : { maxConnections: phpConnections }),
      }),
    );
  } else if (config.root !== undefined) {
    layers.push(staticFiles(config.root, config.static));
  }
  const chain = layers.length === 0 ? undefined : compose(...layers);
  const render =
    app?.renderError ?? ((err: unknown, req: Request, ctx: Context) => renderError(err, req, ctx, undefined));
  return async (req, ctx) => {
    try {
      return await (chain === undefined ? notFound() : chain(req, ctx, notFound));
    } catch (err) {
      return render(err, req, ctx);
    } finally {
      scheduleCleanups(ctx);
    }
  };
}
