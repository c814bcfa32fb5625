// Mounting under a path prefix. A Foyer App shares the request and context (no copy): it reads
// its own path relative to the base recorded in the context. Any other fetch app (Hono, itty, a
// bare handler) gets a new Request whose URL has the prefix removed, the way it expects.
import type { AttributeKey, Context, FetchApp, Handler, Next } from '../../types.ts';
import { attribute } from '../../types.ts';
import { pathOf } from '../../util/url-path.ts';
import { FoyerConfigError } from '../../util/errors.ts';

/** The path prefix consumed by the mounts a request went through; absent at the top level. */
export const MOUNT_BASE: AttributeKey<string> = attribute<string>('foyer.mountBase');

/** The routing path of a request inside an app mounted at the context's base. */
export function routingPath(req: Request, ctx: Context): string {
  const path = pathOf(req.url);
  const base = ctx.get(MOUNT_BASE);
  if (base === undefined || base === '') return path;
  if (path.startsWith(base)) return path.length === base.length ? '/' : path.slice(base.length);
  return path;
}

/** Normalises a mount prefix: leading slash, no trailing slash, literal (no params). */
export function normalisePrefix(prefix: string): string {
  if (!prefix.startsWith('/')) prefix = `/${prefix}`;
  prefix = prefix.replace(/\/+$/, '');
  if (/[:*?#]/.test(prefix))
    throw new FoyerConfigError(
      'FOYER_BAD_OPTION',
      `mount prefix must be a literal path, got ${JSON.stringify(prefix)}`,
    );
  return prefix;
}

/**
 * Brands Foyer apps. Other routers have a `handle` method with another contract (itty-router's
 * takes the request and extra arguments), so the method's presence alone proves nothing. A
 * registered symbol also recognises an App from another copy of these modules (src/ vs dist/).
 */
export const FOYER_APP: unique symbol = Symbol.for('foyer.app') as never;

/** A Foyer app as a mountable target: it routes and may fall through to `next`. */
export interface Mountable {
  readonly [FOYER_APP]: true;
  handle(req: Request, ctx: Context, next: Next): Promise<Response>;
}

export function isMountable(x: unknown): x is Mountable {
  return (
    x !== null &&
    (typeof x === 'object' || typeof x === 'function') &&
    (x as Mountable)[FOYER_APP] === true &&
    typeof (x as Mountable).handle === 'function'
  );
}

/** Runs a Foyer app below `prefix`, restoring the base when it falls through or finishes. */
export async function callMounted(
  target: Mountable,
  prefix: string,
  req: Request,
  ctx: Context,
  next: Next,
): Promise<Response> {
  const outer = ctx.get(MOUNT_BASE) ?? '';
  const params = ctx.params;
  ctx.set(MOUNT_BASE, outer + prefix);
  try {
    return await target.handle(req, ctx, (r) => {
      ctx.set(MOUNT_BASE, outer);
      ctx.params = params;
      return next(r);
    });
  } finally {
    ctx.set(MOUNT_BASE, outer);
  }
}

/** Builds the request a foreign fetch app sees: same method, headers, body and signal; URL without the prefix. */
export function stripPrefix(req: Request, ctx: Context, prefix: string): Request {
  const url = new URL(req.url);
  const full = (ctx.get(MOUNT_BASE) ?? '') + prefix;
  // URL parsing may normalise what routing saw raw (dot segments): only strip a real prefix.
  if (url.pathname === full || url.pathname.startsWith(`${full}/`))
    url.pathname = url.pathname.slice(full.length) || '/';
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.body !== null;
  return new Request(url, {
    method: req.method,
    headers: req.headers,
    body: hasBody ? req.body : null,
    signal: ctx.signal,
    redirect: 'manual',
    // Required by undici for a streamed body (the body is read once, by the mounted app).
    ...(hasBody ? { duplex: 'half' } : {}),
  } as RequestInit);
}

/** Adapts a fetch app or a bare handler to the mounted form. */
export function fetchTarget(target: FetchApp | Handler, prefix: string): Handler {
  const call: Handler =
    typeof target === 'function' ? target : (req, ctx) => (target as FetchApp).fetch(req, ctx, executionContext(ctx));
  return (req, ctx) => call(stripPrefix(req, ctx, prefix), ctx);
}

/** What Hono and Workers-style apps expect as their third argument. */
function executionContext(ctx: Context) {
  return {
    waitUntil: (p: Promise<unknown>) => ctx.waitUntil(p),
    passThroughOnException: () => {},
    props: {},
  };
}
