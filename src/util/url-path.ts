// Cheap extraction of the path from a request URL without building a URL object: the hot path
// of routing runs this once per request.

/** The path of an absolute URL (`http://h/p?q` → `/p`), or of an origin-form target. */
export function pathOf(url: string): string {
  let start = 0;
  const scheme = url.indexOf('://');
  if (scheme !== -1) {
    start = url.indexOf('/', scheme + 3);
    if (start === -1) return '/';
  }
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
  }
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
