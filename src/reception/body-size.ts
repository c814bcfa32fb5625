// The size of a response body when the engine knows it without reading anything: its own light
// responses keep the constructor's body (light-response.ts), so a string or a byte buffer tells its
// size at once. Layers that decide by size (compression's minimum) use it to leave small responses
// alone without building headers or a body stream the serializer never needs.
import { Buffer } from 'node:buffer';
import { kBody, kReal, type LightResponse } from './light-response.ts';

const UNKNOWN = Symbol('unknown');

/** The constructor's body of an engine's light response not yet made real; UNKNOWN otherwise. */
function initBody(res: Response): unknown {
  if (!(kBody in res)) return UNKNOWN;
  const light = res as unknown as LightResponse;
  // Once real, the body may have been read or replaced: ask the real one (by reading), not the init.
  return light[kReal] !== undefined ? UNKNOWN : light[kBody];
}

function sizeOf(body: unknown, count: boolean): number | undefined {
  if (body === null || body === undefined) return 0;
  // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
  if (typeof body === 'string') return count ? Buffer.byteLength(body) : 3 * body.length;
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return body.byteLength;
  return undefined;
}

/** Bytes in `res`'s body, or undefined when only reading it would tell (streams, blobs, real Responses). */
export function knownBodySize(res: Response): number | undefined {
  const body = initBody(res);
  return body === UNKNOWN ? undefined : sizeOf(body, true);
}

/**
 * At least as many bytes as `res`'s body has, known without counting a string's UTF-8 (about 100
 * instructions for a short one); undefined as for knownBodySize.
 */
export function bodySizeAtMost(res: Response): number | undefined {
  const body = initBody(res);
  return body === UNKNOWN ? undefined : sizeOf(body, false);
}
