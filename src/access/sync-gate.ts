// An access layer's decision taken without a promise. Most requests are decided from memory (an
// address rule, a rate-limit table in this process), yet a middleware must return a promise from
// `next()`, and the onion built from them made every request pay promise allocations and microtask
// hops before the app ran, and the engine a deferred write after it. A layer that can decide at once
// carries its decision as a gate; the CLI's pipeline (config/pipeline.ts) runs the gates inline and
// falls back to the middleware only where a gate cannot tell. The gate is the middleware's own
// decision code, so that both paths refuse exactly the same requests.
import type { Context, Middleware } from '../types.ts';

/**
 * `true`: let the request through, with nothing to do to its response. `undefined`: only the
 * middleware can tell (a remote store, headers to add afterwards), and the gate changed nothing, so
 * that the middleware may decide from scratch. A refusal is thrown, as the middleware would throw it.
 */
export type SyncGate = (req: Request, ctx: Context) => true | undefined;

const kGate = Symbol('foyer.access.gate');

type Gated = Middleware & { [kGate]?: SyncGate };

/** Attaches `gate` to `middleware` (the same decision, without a promise). */
export function withGate(middleware: Middleware, gate: SyncGate): Middleware {
  (middleware as Gated)[kGate] = gate;
  return middleware;
}

/** The gate of an access middleware, or undefined when it decides only through its promise. */
export function gateOf(middleware: Middleware): SyncGate | undefined {
  return (middleware as Gated)[kGate];
}
