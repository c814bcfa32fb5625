// Offloaded by the benchmark: a middleware that does nothing but call next(), i.e. the pure cost
// of the crossing (request to the worker, next() back to the main thread, the response both ways).
import type { Middleware } from '../../src/types.ts';

const passThrough: Middleware = (_req, _ctx, next) => next();
export default passThrough;
