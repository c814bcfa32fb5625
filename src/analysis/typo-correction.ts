// Typo correction in the manner of Apache's mod_speling: when a name is missing, look for entries
// of the same directory that differ only by letter case or by one edit (insert, delete, substitute,
// or swap two neighbours). Pure: the caller reads the directory.

/** True when `a` and `b` are at most one edit apart (Damerau: a transposition counts as one). */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (la === lb) {
    // Substitution: the tails after the mismatch agree.
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    // Transposition of two neighbours.
    return (
      i + 1 < la &&
      a.charCodeAt(i) === b.charCodeAt(i + 1) &&
      a.charCodeAt(i + 1) === b.charCodeAt(i) &&
      a.slice(i + 2) === b.slice(i + 2)
    );
  }
  // Insertion or deletion: skip one character of the longer string.
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/**
 * The entries that `wanted` could have meant. An exact case-insensitive match wins over edits, as
 * with mod_speling, so `README.MD` finds `readme.md` even when `readme.me` also exists.
 */
export function typoCandidates(wanted: string, entries: Iterable<string>): string[] {
  const lower = wanted.toLowerCase();
  const caseOnly: string[] = [];
  const oneEdit: string[] = [];
  for (const name of entries) {
    if (name === wanted) return [name];
    const l = name.toLowerCase();
    if (l === lower) caseOnly.push(name);
    else if (withinOneEdit(lower, l)) oneEdit.push(name);
  }
  return caseOnly.length > 0 ? caseOnly : oneEdit;
}
