// Validators and conditional requests (RFC 9110 §8.8 and §13).
import { trimOws } from '../../util/ows.ts';

/** The header fields a conditional evaluation reads; absent fields are null. */
export interface ConditionalFields {
  ifMatch: string | null;
  ifNoneMatch: string | null;
  ifModifiedSince: string | null;
  ifUnmodifiedSince: string | null;
}

/**
 * A strong ETag from the file's size and modification time (ms), as nginx derives its own (it
 * uses seconds). No inode: instances behind a load balancer serving copies of one file must agree.
 * `suffix` tells apart the encoded representations of one file, which must not share a strong
 * validator (RFC 9110 §8.8.3).
 */
export function fileEtag(size: number, mtimeMs: number, suffix = ''): string {
  return `"${Math.floor(mtimeMs).toString(36)}-${size.toString(36)}${suffix}"`;
}

/** Last-Modified in IMF-fixdate (RFC 9110 §5.6.7); HTTP dates have a resolution of one second. */
export function httpDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString();
}

const ENTITY_TAG = /(W\/)?"[^"]*"/g;

/** Does an If-Match / If-None-Match list contain `etag`? `weak` selects the comparison (RFC 9110 §8.8.3.2). */
export function etagListMatches(list: string, etag: string, weak: boolean): boolean {
  if (trimOws(list) === '*') return true;
  for (const m of list.matchAll(ENTITY_TAG)) {
    const isWeak = m[1] !== undefined;
    if (isWeak && !weak) continue;
    const opaque = isWeak ? m[0].slice(2) : m[0];
    if (opaque === etag) return true;
  }
  return false;
}

/** Parses an HTTP date; NaN for anything invalid (then the condition is ignored, RFC 9110 §13.1.3). */
export function parseHttpDate(value: string): number {
  return Date.parse(value);
}

export type PreconditionResult = 'proceed' | 'not-modified' | 'failed';

/**
 * Evaluates preconditions in the order of RFC 9110 §13.2.2 for a GET or HEAD of an existing
 * representation: If-Match, else If-Unmodified-Since (→ 412); then If-None-Match, else
 * If-Modified-Since (→ 304).
 */
export function evaluatePreconditions(f: ConditionalFields, etag: string, lastModifiedMs: number): PreconditionResult {
  const lm = Math.floor(lastModifiedMs / 1000) * 1000;
  if (f.ifMatch !== null) {
    if (!etagListMatches(f.ifMatch, etag, false)) return 'failed';
  } else if (f.ifUnmodifiedSince !== null) {
    const d = parseHttpDate(f.ifUnmodifiedSince);
    if (!Number.isNaN(d) && lm > d) return 'failed';
  }
  if (f.ifNoneMatch !== null) {
    if (etagListMatches(f.ifNoneMatch, etag, true)) return 'not-modified';
  } else if (f.ifModifiedSince !== null) {
    const d = parseHttpDate(f.ifModifiedSince);
    if (!Number.isNaN(d) && lm <= d) return 'not-modified';
  }
  return 'proceed';
}

/**
 * If-Range (RFC 9110 §13.1.5): the Range applies only when the validator still matches. An entity
 * tag is compared strongly (a weak one never matches); a date must equal Last-Modified exactly.
 */
export function ifRangeMatches(value: string, etag: string, lastModifiedMs: number): boolean {
  const v = trimOws(value);
  if (v.startsWith('"')) return v === etag;
  if (v.startsWith('W/')) return false;
  const d = parseHttpDate(v);
  return !Number.isNaN(d) && d === Math.floor(lastModifiedMs / 1000) * 1000;
}
