// The one glob syntax of Foyer's path settings (access, Basic-auth and rate-limit rules, static
// Cache-Control rules), matched against the decoded, normalised URL path. `**` crosses segments,
// `*` and `?` do not; a glob starting with `/` is anchored at the root, one without it (`*.js`)
// matches the end of the path at a segment boundary.

/** Translates a glob to a RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // Any characters, line terminators included (`[^]`, not `.`): the path is decoded, so
      // `/admin/%0A/x` holds a LF that `.*` would not match, and `/admin/**` would not apply.
      re += '[^]*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(glob.startsWith('/') ? `^${re}$` : `(?:^|/)${re}$`);
}

/**
 * A test for a RegExp rule that answers the same for the same path every time: with the `g` or `y`
 * flag, RegExp.test() starts at the lastIndex the previous call left, so a deny rule `/^\/admin/g`
 * would be skipped on every other request. The flags are dropped from a copy; the caller's RegExp
 * is left as it is.
 */
export function regExpTest(re: RegExp): (path: string) => boolean {
  const stable = re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
  return (path) => stable.test(path);
}
