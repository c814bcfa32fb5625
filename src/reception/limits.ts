// Every limit and timeout of the reception engine, with its default. The README's table is
// generated from the same numbers: change them here and there together.
import { FoyerConfigError } from '../util/errors.ts';

export interface Limits {
  /** Longest request line (method, target, version) in bytes → 414. nginx: 8 KiB. */
  maxRequestLineSize: number;
  /** Largest header block (request line + fields) in bytes → 431. node: 16 KiB. */
  maxHeaderSize: number;
  /** Most header fields in one request → 431. */
  maxHeaderCount: number;
  /** Largest request body in bytes, Content-Length or chunked → 413. nginx and Fastify: 1 MiB. */
  maxBodySize: number;
  /** Longest chunk extension on one chunk, in bytes → 400. */
  maxChunkExtensionSize: number;
  /** Most chunk-extension bytes over one chunked body → 400. */
  maxChunkExtensionsPerBody: number;
  /** Most data chunks in one chunked body → 413 (1-byte chunks cost framing, not data). */
  maxChunkCount: number;
  /** Requests parsed ahead of their responses on one connection; past it reading pauses. */
  maxPipelinedRequests: number;
  /** Requests served on one connection before it is closed; 0 = unlimited. */
  maxRequestsPerConnection: number;
  /** A request head must arrive completely within this many ms → 408 and close. */
  headersTimeout: number;
  /** An idle keep-alive connection is closed after this many ms. */
  keepAliveTimeout: number;
  /** While a body is expected, at least `minBodyRate` bytes must arrive in each window of this many ms → 408. */
  bodyTimeout: number;
  /** Minimum request body rate in bytes per second, measured over `bodyTimeout` windows. */
  minBodyRate: number;
  /** A response write that makes no progress for this many ms (a slow reader) closes the connection. */
  sendTimeout: number;
  /** Graceful close: in-flight requests get this many ms before connections are destroyed. */
  closeTimeout: number;
}

export const defaultLimits: Readonly<Limits> = Object.freeze({
  maxRequestLineSize: 8 * 1024,
  maxHeaderSize: 16 * 1024,
  maxHeaderCount: 100,
  maxBodySize: 1024 * 1024,
  maxChunkExtensionSize: 1024,
  maxChunkExtensionsPerBody: 16 * 1024,
  maxChunkCount: 64 * 1024,
  maxPipelinedRequests: 32,
  maxRequestsPerConnection: 0,
  headersTimeout: 10_000,
  keepAliveTimeout: 5_000,
  bodyTimeout: 10_000,
  minBodyRate: 256,
  sendTimeout: 30_000,
  closeTimeout: 10_000,
});

export function resolveLimits(partial: Partial<Limits> | undefined): Limits {
  const out = { ...defaultLimits, ...partial } as Limits;
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || !Number.isInteger(v)) {
      throw new FoyerConfigError(
        'FOYER_BAD_OPTION',
        `limits.${k} must be a non-negative integer, got ${JSON.stringify(v)}`,
      );
    }
  }
  return out;
}
