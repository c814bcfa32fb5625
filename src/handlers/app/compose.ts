// The onion (PSR-15): each layer receives the request, the context and `next`; it may answer
// early, call `next()` once (optionally with a replacement Request), and change the response on
// the way out. A handler is simply a layer that never calls `next`.
import type { Context, Middleware, Next } from '../../types.ts';
import { FoyerError, FoyerConfigError } from '../../util/errors.ts';

/** A composed chain: usable as a Handler, and as a Middleware when given an outer `next`. */
export type Composed = (req: Request, ctx: Context, next?: Next) => Promise<Response>;

/** The end of a chain with nothing after it: a 404 that the error handler renders. */
const endOfChain: Next = () => Promise.reject(new FoyerError('FOYER_NOT_FOUND'));

/**
 * Composes middleware (and a final handler) into one layer. Errors thrown anywhere, sync or
 * async, come out as a rejected promise so that one error handler sees them all.
 */
export function compose(...layers: Middleware[]): Composed {
  for (const [i, layer] of layers.entries()) {
    if (typeof layer !== 'function')
      throw new FoyerConfigError('FOYER_BAD_OPTION', `compose(): layer ${i} is not a function`);
  }
  if (layers.length === 1) {
    const only = layers[0] as Middleware;
    return (req, ctx, next = endOfChain) => invoke(only, req, ctx, once(next));
  }
  return (req, ctx, outer = endOfChain) => new Chain(layers, ctx, outer).dispatch(0, req);
}

/**
 * One request's walk through the layers. A small object rather than nested named closures: it is
 * one allocation per request, and it keeps `reached`, the deepest layer entered, to detect a
 * second next() from the same layer.
 */
class Chain {
  reached = -1;
  constructor(
    readonly layers: readonly Middleware[],
    readonly ctx: Context,
    readonly outer: Next,
  ) {}

  dispatch(i: number, req: Request): Promise<Response> {
    if (i <= this.reached) return Promise.reject(new FoyerError('FOYER_NEXT_CALLED_TWICE', `layer ${i - 1}`));
    this.reached = i;
    if (i === this.layers.length) return this.outer(req);
    return invoke(this.layers[i] as Middleware, req, this.ctx, (next?: Request) => this.dispatch(i + 1, next ?? req));
  }
}

function once(next: Next): Next {
  let called = false;
  return (req) => {
    if (called) return Promise.reject(new FoyerError('FOYER_NEXT_CALLED_TWICE'));
    called = true;
    return next(req);
  };
}

/** Calls one layer, turning a synchronous throw (or a synchronous non-Response) into a rejection. */
export function invoke(layer: Middleware, req: Request, ctx: Context, next: Next): Promise<Response> {
  try {
    const out = layer(req, ctx, next);
    // Promises pass through untouched: a .then() per layer would cost a microtask per layer on
    // every request. A synchronous non-Response is caught here; an async one is caught by the
    // engine (any non-Response is a 500 there).
    if (out instanceof Promise) return out;
    return Promise.resolve(checkResponse(out));
  } catch (err) {
    return Promise.reject(err);
  }
}

function checkResponse(res: unknown): Response {
  // Duck-typed: the engine may hand back its own fast Response-like objects.
  if (res === null || typeof res !== 'object' || typeof (res as Response).status !== 'number') {
    throw new FoyerError('FOYER_NO_RESPONSE', `got ${res === null ? 'null' : typeof res}`);
  }
  return res as Response;
}
