// The onion (PSR-15): each layer receives the request, the context and `next`; it may answer
// early, call `next()` once (optionally with a replacement Request), and change the response on
// the way out. A handler is simply a layer that never calls `next`.
import type { Context, Middleware, Next } from '../../types.ts';
import { FoyerError } from '../../util/errors.ts';

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
    if (typeof layer !== 'function') throw new TypeError(`compose(): layer ${i} is not a function`);
  }
  const n = layers.length;
  if (n === 1) {
    const only = layers[0] as Middleware;
    return (req, ctx, next = endOfChain) => invoke(only, req, ctx, once(next));
  }
  return (req, ctx, outer = endOfChain) => {
    // `reached` is the deepest layer entered so far: re-entering it means next() ran twice.
    let reached = -1;
    const dispatch = (i: number, r: Request): Promise<Response> => {
      if (i <= reached) return Promise.reject(new FoyerError('FOYER_NEXT_CALLED_TWICE', `layer ${i - 1}`));
      reached = i;
      if (i === n) return outer(r);
      return invoke(layers[i] as Middleware, r, ctx, (next) => dispatch(i + 1, next ?? r));
    };
    return dispatch(0, req);
  };
}

function once(next: Next): Next {
  let called = false;
  return (req) => {
    if (called) return Promise.reject(new FoyerError('FOYER_NEXT_CALLED_TWICE'));
    called = true;
    return next(req);
  };
}

/** Calls one layer, turning a synchronous throw or a missing Response into a rejection. */
export function invoke(layer: Middleware, req: Request, ctx: Context, next: Next): Promise<Response> {
  try {
    const out = layer(req, ctx, next);
    if (out instanceof Response) return Promise.resolve(out);
    return Promise.resolve(out).then(checkResponse);
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
