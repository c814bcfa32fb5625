// Which access rules apply to a request: rules name paths, and they are matched against the one
// normalised path the static and PHP handlers use (decoded once, dot segments and empty segments
// removed). Matching the raw URL instead would let `/%61dmin` or `//admin` past a rule on `/admin`.
import { globToRegExp, regExpTest } from '../analysis/glob.ts';
import { analysePath, splitTarget } from '../analysis/target-path.ts';
import { FoyerConfigError } from '../util/errors.ts';

/**
 * `'/admin'` (that path and below it), a glob (`/api/*.json`, `/files/**`; analysis/glob.ts), a
 * RegExp or a predicate. A string must start with `/`: `admin/**` would never name a request path,
 * and a rule that applies to nothing is a protection that protects nothing.
 */
export type PathMatch = string | RegExp | ((path: string) => boolean);

/** The decoded, normalised path of a request URL, or undefined when it cannot name a resource. */
export function requestPath(url: string): string | undefined {
  const analysed = analysePath(splitTarget(url).rawPath);
  if (typeof analysed === 'string') return undefined;
  const joined = `/${analysed.segments.join('/')}`;
  return analysed.trailingSlash && analysed.segments.length > 0 ? `${joined}/` : joined;
}

/** Compiles a match; a plain string matches itself and everything below it (segment boundary). */
export function compileMatch(match: PathMatch): (path: string) => boolean {
  if (typeof match === 'function') return match;
  if (match instanceof RegExp) return regExpTest(match);
  if (typeof match !== 'string' || !match.startsWith('/'))
    throw new FoyerConfigError(
      'FOYER_BAD_CONFIG',
      `a path rule must start with "/", got ${JSON.stringify(String(match))}`,
    );
  if (match.includes('*') || match.includes('?')) {
    const re = globToRegExp(match);
    return (p) => re.test(p);
  }
  const base = match.endsWith('/') && match.length > 1 ? match.slice(0, -1) : match;
  if (base === '/') return () => true;
  return (p) => p === base || p.startsWith(`${base}/`);
}

/**
 * Whether a compiled rule applies. A path that cannot be analysed (a malformed escape, `..` above
 * the root) matches every rule: access checks fail closed, and the handler refuses it later anyway.
 */
export function applies(test: (path: string) => boolean, path: string | undefined): boolean {
  return path === undefined || test(path);
}
