// Request-target analysis for resources on disk: split the target of a request URL into its path
// and query, percent-decode the path exactly once, and reduce it to a list of safe segments.
//
// Why decode once: a second decoding turns `%252e%252e` into `..` after the containment check has
// run (the classic double-decoding traversal). Why refuse encoded `/` and `\`: a segment that
// carries a separator after decoding would make the file system see a different path than the one
// that was checked (RFC 3986 §2.2: an encoded reserved character is data, not a delimiter).
import { pathEnd, pathStart } from '../util/url-path.ts';

/** Why a target cannot name a file. Each maps to one catalogue code in the handlers. */
export type TargetProblem =
  | 'bad-escape' // malformed `%`, or bytes that are not UTF-8 (overlong forms included) → 400
  | 'bad-path'; // NUL or another control character, an encoded or raw backslash, an encoded slash, `..` above the root → 400

export interface TargetPath {
  /** Decoded, normalised segments: no empty, `.` or `..` segment; none contains `/`, `\` or NUL. */
  segments: string[];
  /** The decoded path ended with `/` (a directory was asked for). */
  trailingSlash: boolean;
  /**
   * False when the path had an empty segment (`//admin/x`), a dot segment (`/x/../admin`) or an
   * escaped unreserved character (`/%61dmin`): the same resource under a second name. Every layer before the file handlers (an app's route guard,
   * access rules) saw that other name, so files answer with a redirect to the canonical one
   * (`canonicalRedirect`) instead of serving it: the client's next request passes every layer
   * under the name they check. WHATWG URL parsing (what `req.url` holds) removes dot segments but
   * keeps empty ones, so `//admin` would otherwise slip past a guard on `/admin/*`.
   */
  canonical: boolean;
}

export interface SplitTarget {
  /** The path as it appears in the URL, still percent-encoded; always starts with `/`. */
  rawPath: string;
  /** `?` and what follows, or ''. */
  search: string;
}

/**
 * Splits an absolute URL string (`http://host/p?q`) or an origin-form target (`/p?q`) into its raw
 * path and query without normalising anything: a URL parser would resolve `..` before we look.
 */
export function splitTarget(url: string): SplitTarget {
  const start = pathStart(url);
  if (start < 0) return { rawPath: '/', search: '' };
  const end = pathEnd(url, start);
  if (end === url.length) return { rawPath: url.slice(start), search: '' };
  if (url.charCodeAt(end) !== 63 /* ? */) return { rawPath: url.slice(start, end), search: '' };
  const hash = url.indexOf('#', end);
  return { rawPath: url.slice(start, end), search: url.slice(end, hash < 0 ? url.length : hash) };
}

const ENCODED_SEPARATOR_OR_NUL = /%(?:2f|5c|00)/i;
// C0 controls and DEL. The parser lets only visible ASCII into a raw target, so only an escape can carry one.
const CONTROL = /[\x00-\x1f\x7f]/;
// RFC 3986 §2.3/§6.2.2.2: an escaped unreserved character (`%61` for `a`, `%7E` for `~`) names the
// same resource as the character itself, but WHATWG keeps the escape in `req.url`: an app guard on
// `/admin` never sees `/%61dmin` as its path, so the file layers must not serve it under that name.
const ENCODED_UNRESERVED = /%(?:2[de]|3\d|4[1-9a-f]|5[\da]|5f|6[1-9a-f]|7[\da]|7e)/i;

/** Decodes a raw path once and normalises its segments; returns a problem instead of throwing. */
export function analysePath(rawPath: string): TargetPath | TargetProblem {
  if (rawPath.charCodeAt(0) !== 47) return 'bad-path';
  if (rawPath.includes('\\') || rawPath.includes('\0')) return 'bad-path';
  let decoded = rawPath;
  let canonical = true;
  if (rawPath.includes('%')) {
    if (ENCODED_SEPARATOR_OR_NUL.test(rawPath)) return 'bad-path';
    if (ENCODED_UNRESERVED.test(rawPath)) canonical = false;
    try {
      // decodeURIComponent rejects a malformed escape and any invalid UTF-8, including the
      // overlong forms (`%c0%ae` for `.`) that once slipped past byte-wise checks.
      decoded = decodeURIComponent(rawPath);
    } catch {
      return 'bad-escape';
    }
    // A decoded control character (`%0A`, `%0D`, `%7F`) names no file anyone serves, and every
    // layer that matches, logs or echoes the path would have to expect it: refused, as NUL is.
    if (CONTROL.test(decoded)) return 'bad-path';
  }
  const segments: string[] = [];
  let from = 1;
  const n = decoded.length;
  while (from <= n) {
    let to = decoded.indexOf('/', from);
    if (to < 0) to = n;
    const seg = decoded.slice(from, to);
    from = to + 1;
    if (seg === '') {
      // Only the empty "segment" after a final slash is part of a canonical path.
      if (to < n) canonical = false;
      continue;
    }
    if (seg === '.') {
      canonical = false;
      continue;
    }
    if (seg === '..') {
      canonical = false;
      // Above the root is an attack, not a path to clamp silently (nginx answers 400 too).
      if (segments.length === 0) return 'bad-path';
      segments.pop();
      continue;
    }
    segments.push(seg);
  }
  const last = decoded.charCodeAt(n - 1);
  const trailingSlash =
    last === 47 || decoded.endsWith('/.') || decoded.endsWith('/..') || (segments.length === 0 && n <= 1);
  return { segments, trailingSlash, canonical };
}

/**
 * Where a non-canonical path is redirected: the same segments with empty and dot segments merged,
 * query kept. The handlers answer 308 Permanent Redirect (RFC 9110 §15.4.9: method and body are
 * kept), as Go's ServeMux does (with 301). Built by `joinSegments`, so it never starts with `//`
 * (which a browser would read as another host).
 */
export function canonicalLocation(path: TargetPath, search: string): string {
  return joinSegments(path.segments, path.trailingSlash) + search;
}

/** Percent-encodes one segment for a Location header or a link (RFC 3986 pchar, conservatively). */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical, encoded URL path of some segments; begins with exactly one `/`. */
export function joinSegments(segments: readonly string[], trailingSlash: boolean): string {
  if (segments.length === 0) return '/';
  let out = '';
  for (const s of segments) out += `/${encodeSegment(s)}`;
  return trailingSlash ? `${out}/` : out;
}
