// Path containment: a file path is inside a root only when it IS the root or starts with the root
// plus a separator. A bare `startsWith(root)` would let `/srv/pub-secret` pass for root `/srv/pub`.
import { resolve, sep } from 'node:path';

/** True when `path` (absolute, already resolved) is `root` or lies beneath it. */
export function isContained(root: string, path: string): boolean {
  if (path === root) return true;
  // A root of `/` ends with the separator already.
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix);
}

/**
 * Joins analysed segments onto the root and checks the result is still inside it. The segments
 * come from `analysePath`, so this check is the second line of defence, not the only one.
 * Returns undefined when the joined path escapes.
 */
export function resolveInside(root: string, segments: readonly string[]): string | undefined {
  if (segments.length === 0) return root;
  const joined = resolve(root, segments.join(sep));
  return isContained(root, joined) ? joined : undefined;
}
