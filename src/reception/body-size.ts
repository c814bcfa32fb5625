// The size of a response body when the engine knows it without reading anything: its own light
// responses keep the constructor's body (light-response.ts), so a string or a byte buffer tells its
// size at once. Layers that decide by size (compression's minimum) use it to leave small responses
// alone without building headers or a body stream the serializer never needs.
import { Buffer } from 'node:buffer';
import { kBody, kReal, type LightResponse } from './light-response.ts';

/** Bytes in `res`'s body, or undefined when only reading it would tell (streams, blobs, real Responses). */
export function knownBodySize(res: Response): number | undefined {
  if (!(kBody in res)) return undefined;
  const light = res as unknown as LightResponse;
  // Once real, the body may have been read or replaced: ask the real one (by reading), not the init.
  if (light[kReal] !== undefined) return undefined;
  const body = light[kBody];
  if (body === null || body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return body.byteLength;
  return undefined;
}
