// The dotfile rule, one for every handler that maps a URL onto the disk: static files and PHP
// scripts alike. A name beginning with `.` (`.git/`, `.env`, `.htpasswd`) is usually private;
// `/.well-known/` is public by definition (RFC 8615) and always reachable.

/** `deny` → 403, `ignore` → treated as missing, `allow` → served like any other name. */
export type DotfilePolicy = 'deny' | 'ignore' | 'allow';

/** Is the segment at `index` of a path hidden under `policy`? */
export function isHiddenSegment(name: string, index: number, policy: DotfilePolicy): boolean {
  if (name.charCodeAt(0) !== 46 /* . */ || policy === 'allow') return false;
  return !(index === 0 && name === '.well-known');
}

/** What a path with a hidden segment gets: 'forbidden', 'missing', or undefined when none is hidden. */
export function dotfileVerdict(
  segments: readonly string[],
  policy: DotfilePolicy,
): 'forbidden' | 'missing' | undefined {
  if (policy === 'allow') return undefined;
  for (let i = 0; i < segments.length; i++) {
    if (isHiddenSegment(segments[i]!, i, policy)) return policy === 'deny' ? 'forbidden' : 'missing';
  }
  return undefined;
}
