// Cheap extraction of the path from a request URL without building a URL object: the hot path
// of routing runs this once per request.

/**
 * Where the path of a request URL starts: 0 for an origin-form target (`/p?q`), the first `/`
 * after the authority of an absolute URL, -1 when there is no path (`http://h`, or no scheme).
 * Shared by pathOf() and analysis/target-path.ts's splitTarget(): one reading of a URL.
 */
export function pathStart(url: string): number {
  if (url.charCodeAt(0) === 47 /* / */) return 0;
  const scheme = url.indexOf('://');
  return scheme < 0 ? -1 : url.indexOf('/', scheme + 3);
}

/** Where the path that starts at `start` ends: the first `?` or `#`, or the end of the URL. */
export function pathEnd(url: string, start: number): number {
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return url.length;
}

/** The path of an absolute URL (`http://h/p?q` → `/p`), or of an origin-form target. */
export function pathOf(url: string): string {
  const start = pathStart(url);
  if (start < 0) return '/';
  const end = pathEnd(url, start);
  return start === 0 && end === url.length ? url : url.slice(start, end) || '/';
}

/** True when every `%` in `path` starts a valid escape and the bytes decode as UTF-8. */
export function isWellEncoded(path: string): boolean {
  if (path.indexOf('%') === -1) return true;
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
