// What the resource handlers may know about the engine (reception/), and nothing else. Handlers
// know nothing about sockets (DESIGN.md); they do get a few facts the engine keeps about its own
// light Request/Response objects and its defaults. Everything a handler takes from reception/
// goes through this file, so that changing the engine means reading one list.
import type { ContextInit, RequestContext } from '../reception/context.ts';
import { createContext as engineContext } from '../reception/context.ts';
import { rawTarget as engineRawTarget } from '../reception/incoming-request.ts';
import { kFields, LightHeaders } from '../reception/light-headers.ts';
import { defaultLimits } from '../reception/limits.ts';

export { bodySizeAtMost, knownBodySize } from '../reception/body-size.ts';

/** A context for a handler called without the engine (an App's `fetch(req)` alone, tests, embedding). */
export function standaloneContext(init: ContextInit = {}): RequestContext {
  return engineContext(init);
}

/** The request-target exactly as received, when the engine parsed the request (else undefined). */
export function rawTarget(req: Request): string | undefined {
  return engineRawTarget(req);
}

/**
 * The fields of a request the engine parsed: [name, value, name, value, …], repeated fields kept
 * apart (a combined Headers cannot tell them apart), names as received or lower-cased (no copy
 * made): for a reader that folds case itself. Undefined for Headers built elsewhere.
 */
export function receivedFields(headers: Headers): readonly string[] | undefined {
  const fieldsOf = (headers as unknown as { [kFields]?: () => readonly string[] })[kFields];
  return typeof fieldsOf === 'function' ? fieldsOf.call(headers) : undefined;
}

/** The body limit the engine applies by default (`limits.maxBodySize`): the body readers' default too. */
export const defaultBodyLimit: number = defaultLimits.maxBodySize;

/**
 * Fields many responses share (a static file's): validated once, never changed (a change is a
 * TypeError), and a Response given them copies them only when its `headers` are asked for. The
 * engine writes their lines from a copy it keeps, not field by field per response.
 */
export function sealedHeaders(fields: Record<string, string> | Array<[string, string]>): Headers {
  return LightHeaders.sealed(fields) as unknown as Headers;
}
