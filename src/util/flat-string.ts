// A string made by concatenation is a rope in V8 (a tree of pieces). A rope kept and reused is
// walked node by node every time it is copied out (into a write, a Buffer, a larger string). And
// a string cut from a larger one (slice, substring: 13 chars or more) is a view that keeps the
// whole larger string alive for as long as it is kept.

/**
 * `s`, made flat once: ToNumber flattens its argument (the trick pino's flatstr used), so a
 * string reused for many writes is then copied as one piece.
 */
export function flat(s: string): string {
  Number(s);
  return s;
}

/**
 * V8's one copy of `s` (a property key is interned): flat and on its own, so a key kept in a
 * long-lived table holds only its own chars, not the request URL it was cut from; and two such
 * strings are equal only when they are the same string (a compare is a pointer compare).
 */
export function internalized(s: string): string {
  return Object.keys({ [s]: 0 })[0]!;
}
