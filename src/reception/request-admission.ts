// What the engine decides from a request head before any handler runs: whether the connection
// persists after it, whether it asks for the socket itself, and what is refused outright.
import type { ErrorCode } from '../util/errors.ts';
import { trimOws } from '../util/ows.ts';
import type { ParsedHead } from './head-parser.ts';
import type { Limits } from './limits.ts';

/**
 * RFC 9112 §9.3: persistence by version and Connection; also not past the per-connection request
 * limit (`requests` counts this one) nor during a graceful shutdown.
 */
export function persists(head: ParsedHead, requests: number, limits: Limits, closing: boolean): boolean {
  if (closing) return false;
  if (limits.maxRequestsPerConnection > 0 && requests >= limits.maxRequestsPerConnection) return false;
  return head.minor === 1 ? !head.connectionClose : head.connectionKeepAlive && !head.connectionClose;
}

/** CONNECT, or `Connection: upgrade` with an `Upgrade` field: the request asks for the socket. */
export function wantsUpgrade(head: ParsedHead): boolean {
  return head.method === 'CONNECT' || (head.connectionUpgrade && head.upgrade !== undefined);
}

/** Why the engine answers the request itself, when no upgrade handler took it; undefined when it goes to the handler. */
export function refusal(head: ParsedHead): ErrorCode | undefined {
  if (head.method === 'CONNECT') return 'FOYER_METHOD_NOT_IMPLEMENTED';
  // RFC 9110 §10.1.1: 100-continue is the only expectation; others are a 417. HTTP/1.0 has none.
  if (head.expect !== undefined && head.minor === 1 && trimOws(head.expect).toLowerCase() !== '100-continue') {
    return 'FOYER_EXPECTATION_FAILED';
  }
  return undefined;
}

/** RFC 9110 §10.1.1: the client waits for 100 Continue before sending the body (refusal() let it through). */
export function expectsContinue(head: ParsedHead): boolean {
  return head.expect !== undefined && head.minor === 1;
}
