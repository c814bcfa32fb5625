// A Foyer application: app-wide middleware, method + path routes (find-my-way, Fastify's radix
// router), mounted sub-apps and fetch apps, 404/405 with Allow, HEAD from GET, and one error
// handler. `app.fetch` is a Handler for serve(); `app.handle` is the same app as a Middleware that
// falls through to `next` when no route matches (how the CLI puts static files after it).
import FindMyWay from 'find-my-way';
import type { Context, FetchApp, Handler, Middleware, Next } from '../../types.ts';
import { standaloneContext } from '../engine-seam.ts';
import { FoyerConfigError, FoyerError } from '../../util/errors.ts';
import { isWellEncoded } from '../../util/url-path.ts';
import { type Composed, compose, invoke } from './compose.ts';
import { type ErrorHandler, respondToError } from './error-response.ts';
import { peekWhole } from './peek-body.ts';
import { scheduleCleanups } from './uploads.ts';
import {
  callMounted,
  FOYER_APP,
  fetchTarget,
  isMountable,
  type Mountable,
  normalisePrefix,
  routingPath,
} from './mount.ts';

export interface AppOptions {
  /** Renders errors instead of the default text/JSON response. */
  onError?: ErrorHandler;
  /** Answers requests nothing in the app matched, when `app.fetch` is the top-level handler (default: the 404 error response). */
  notFound?: Handler;
  /** `/a/` matches `/a`. Default false. */
  ignoreTrailingSlash?: boolean;
  /** Default true (RFC 3986 §6.2.2.1: the path is case-sensitive). */
  caseSensitive?: boolean;
  /** Longest value of one route parameter; longer ones do not match. Default 500. */
  maxParamLength?: number;
}

/** The HTTP methods shortcut methods exist for; `on()` takes any method find-my-way knows. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;

type Route = Composed | Middleware;

export class App implements FetchApp, Mountable {
  readonly [FOYER_APP] = true as const;
  readonly #router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;
  readonly #middleware: Middleware[] = [];
  readonly #methods = new Set<string>();
  #errorHook: ErrorHandler | undefined;
  #notFound: Handler | undefined;
  #pipeline: Composed | undefined;
  #dirty = true;

  constructor(options: AppOptions = {}) {
    this.#router = FindMyWay({
      ignoreTrailingSlash: options.ignoreTrailingSlash ?? false,
      caseSensitive: options.caseSensitive ?? true,
      maxParamLength: options.maxParamLength ?? 500,
      // Query strings are the app's business (new URL(req.url).searchParams); skip parsing them per lookup.
      querystringParser: emptyQuery,
    });
    this.#errorHook = options.onError;
    this.#notFound = options.notFound;
  }

  /** Adds middleware that wraps every request reaching this app, matched or not. */
  use(...middleware: Middleware[]): this {
    for (const m of middleware)
      if (typeof m !== 'function') throw new FoyerConfigError('FOYER_BAD_OPTION', 'use() takes middleware functions');
    this.#middleware.push(...middleware);
    this.#dirty = true;
    return this;
  }

  /** Adds a route. Patterns: `/users/:id`, `/files/*`, `/n/:id(^\\d+$)`. Route middleware come before the handler. */
  on(method: string | readonly string[], path: string, ...layers: Middleware[]): this {
    if (layers.length === 0) throw new FoyerConfigError('FOYER_BAD_OPTION', `route ${path} has no handler`);
    const route: Route = layers.length === 1 ? (layers[0] as Middleware) : compose(...layers);
    const methods = (typeof method === 'string' ? [method] : method).map((m) => m.toUpperCase());
    for (const m of methods) this.#methods.add(m);
    this.#router.on(methods as FindMyWay.HTTPMethod[], path, noop, route);
    return this;
  }

  get(path: string, ...layers: Middleware[]): this {
    return this.on('GET', path, ...layers);
  }
  post(path: string, ...layers: Middleware[]): this {
    return this.on('POST', path, ...layers);
  }
  put(path: string, ...layers: Middleware[]): this {
    return this.on('PUT', path, ...layers);
  }
  patch(path: string, ...layers: Middleware[]): this {
    return this.on('PATCH', path, ...layers);
  }
  delete(path: string, ...layers: Middleware[]): this {
    return this.on('DELETE', path, ...layers);
  }
  options(path: string, ...layers: Middleware[]): this {
    return this.on('OPTIONS', path, ...layers);
  }
  head(path: string, ...layers: Middleware[]): this {
    return this.on('HEAD', path, ...layers);
  }
  /** Every standard method. */
  all(path: string, ...layers: Middleware[]): this {
    return this.on(METHODS, path, ...layers);
  }

  /**
   * Mounts a sub-application under a literal prefix. A Foyer App shares the request and falls
   * through to this app's `next` when it has no route; a fetch app (`{ fetch }`, e.g. Hono) or a
   * handler receives a Request whose URL has the prefix removed, and its answer is final.
   */
  mount(prefix: string, target: App | Mountable | FetchApp | Handler): this {
    const p = normalisePrefix(prefix);
    let route: Route;
    if (isMountable(target)) {
      const sub = target;
      route = (req: Request, ctx: Context, next: Next) => callMounted(sub, p, req, ctx, next);
    } else if (typeof target === 'function' || typeof (target as FetchApp)?.fetch === 'function') {
      route = fetchTarget(target as FetchApp | Handler, p);
    } else {
      throw new FoyerConfigError('FOYER_BAD_OPTION', 'mount() takes an App, a fetch app or a handler');
    }
    const all = [...METHODS];
    for (const m of all) this.#methods.add(m);
    this.#router.on(all, p === '' ? '/' : p, noop, route);
    this.#router.on(all, `${p}/*`, noop, route);
    return this;
  }

  onError(hook: ErrorHandler): this {
    this.#errorHook = hook;
    return this;
  }

  notFound(handler: Handler): this {
    this.#notFound = handler;
    return this;
  }

  /** The app as a Handler: routing, then 404 / error responses. Bound, so `{ fetch: app.fetch }` works. */
  readonly fetch = (req: Request, ctx?: Context): Promise<Response> => {
    // Called as a plain fetch app (no context, or another server's env object): make one.
    const c = typeof ctx?.get === 'function' ? ctx : standaloneContext();
    let res: Promise<Response>;
    try {
      res = this.handle(req, c, this.#notFound === undefined ? notFound : this.#notFoundNext(req, c));
    } catch (err) {
      res = Promise.reject(err);
    }
    // Not an async function with try/finally: this is the hot path, one promise reaction is enough.
    return res.then(
      (r) => {
        scheduleCleanups(c);
        return r;
      },
      (err: unknown) => {
        scheduleCleanups(c);
        return this.renderError(err, req, c);
      },
    );
  };

  #notFoundNext(req: Request, ctx: Context): Next {
    const handler = this.#notFound as Handler;
    return (r = req) => invoke(handler, r, ctx, notFound);
  }

  /** The app as a Middleware: errors propagate to the caller, unmatched requests go to `next`. */
  handle(req: Request, ctx: Context, next: Next): Promise<Response> {
    if (this.#dirty) this.#build();
    const pipeline = this.#pipeline;
    return pipeline === undefined ? this.#route(req, ctx, next) : pipeline(req, ctx, next);
  }

  /** Renders an error with this app's hook (or the default response). */
  renderError(err: unknown, req: Request, ctx: Context): Promise<Response> {
    return respondToError(err, req, ctx, this.#errorHook);
  }

  #build(): void {
    this.#dirty = false;
    // find-my-way ≥ 9.10 can compile its trees into generated lookups; later routes recompile lazily.
    (this.#router as { compile?: () => unknown }).compile?.();
    this.#pipeline =
      this.#middleware.length === 0
        ? undefined
        : compose(...this.#middleware, (req: Request, ctx: Context, next: Next) => this.#route(req, ctx, next));
  }

  #route(req: Request, ctx: Context, next: Next): Promise<Response> {
    const path = routingPath(req, ctx);
    const method = req.method;
    let found = this.#find(method, path);
    let head = false;
    // RFC 9110 §9.3.2: HEAD is GET without the content; answer it from the GET route.
    if (found === null && method === 'HEAD') {
      found = this.#find('GET', path);
      head = found !== null;
    }
    if (found === null) return this.#miss(req, ctx, next, method, path);
    ctx.params = found.params as Record<string, string>;
    const res = invoke(found.store as Middleware, req, ctx, next);
    return head ? res.then(withoutBody) : res;
  }

  #find(method: string, path: string): FindMyWay.FindResult<FindMyWay.HTTPVersion.V1> | null {
    if (!this.#methods.has(method)) return null;
    return this.#router.find(method as FindMyWay.HTTPMethod, path);
  }

  #miss(req: Request, _ctx: Context, next: Next, method: string, path: string): Promise<Response> {
    // find-my-way treats a malformed escape as "no route"; DESIGN.md: it is a 400, never a 404/500.
    if (!isWellEncoded(path)) return Promise.reject(new FoyerError('FOYER_BAD_ESCAPE'));
    const allow: string[] = [];
    for (const m of this.#methods) if (this.#router.find(m as FindMyWay.HTTPMethod, path) !== null) allow.push(m);
    if (allow.length === 0) return next(req);
    if (allow.includes('GET') && !allow.includes('HEAD')) allow.push('HEAD');
    if (!allow.includes('OPTIONS')) allow.push('OPTIONS');
    const header = allow.join(', ');
    // RFC 9110 §9.3.7: OPTIONS on a resource describes it; Allow lists its methods.
    if (method === 'OPTIONS') return Promise.resolve(new Response(null, { status: 204, headers: { allow: header } }));
    // RFC 9110 §15.5.6: a 405 MUST carry Allow.
    return Promise.reject(new FoyerError('FOYER_METHOD_NOT_ALLOWED', undefined, { allow: header }));
  }
}

function noop(): void {}

const EMPTY_QUERY = Object.freeze({}) as Record<string, string>;
function emptyQuery(): Record<string, string> {
  return EMPTY_QUERY;
}

const notFound: Next = () => Promise.reject(new FoyerError('FOYER_NOT_FOUND'));

/**
 * The GET response without its content (RFC 9110 §9.3.2). The Content-Length a GET would have
 * carried is kept when it is known or the body is already complete; a streamed body is cancelled.
 */
async function withoutBody(res: Response): Promise<Response> {
  const body = res.body;
  if (body === null) return res;
  const headers = new Headers(res.headers);
  if (headers.has('content-length')) {
    void body.cancel().catch(() => {});
  } else {
    const [whole, rest] = await peekWhole(body);
    if (whole !== undefined) headers.set('content-length', String(whole.byteLength));
    else void rest.cancel().catch(() => {});
  }
  return new Response(null, { status: res.status, statusText: res.statusText, headers });
}

/** Creates an app (same as `new App(options)`). */
export function createApp(options?: AppOptions): App {
  return new App(options);
}
