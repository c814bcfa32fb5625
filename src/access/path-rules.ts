// Which access rules apply to a request: rules name paths, and they are matched against the one
// normalised path the static and PHP handlers use (decoded once, dot segments and empty segments
// removed). Matching the raw URL instead would let `/%61dmin` or `//admin` past a rule on `/admin`.
import { analysePath, splitTarget } from '../analysis/target-path.ts';

/** `'/admin'` (that path and below it), a glob (`/api/*.json`, `/files/**`), a RegExp or a predicate. */
export type PathMatch = string | RegExp | ((path: string) => boolean);

/** The decoded, normalised path of a request URL, or undefined when it cannot name a resource. */
export function requestPath(url: string): string | undefined {
  const analysed = analysePath(splitTarget(url).rawPath);
  if (typeof analysed === 'string') return undefined;
  const joined = `/${analysed.segments.join('/')}`;
  return analysed.trailingSlash && analysed.segments.length > 0 ? `${joined}/` : joined;
}

function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // Any characters, line terminators included (`[^]`, not `.`): the path is decoded, so
        // `/admin/%0A/x` holds a LF that `.*` would not match, and `/admin/**` would not apply.
        re += '[^]*';
        i++;
      } else re += '[^/]*';
    } else re += /[\\^$.|?+()[\]{}]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`${re}$`);
}

/** Compiles a match; a plain string matches itself and everything below it (segment boundary). */
export function compileMatch(match: PathMatch): (path: string) => boolean {
  if (typeof match === 'function') return match;
  if (match instanceof RegExp) return (p) => match.test(p);
  if (match.includes('*')) {
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
