// A string made by concatenation is a rope in V8 (a tree of pieces). A rope kept and reused is
// walked node by node every time it is copied out (into a write, a Buffer, a larger string).

/**
 * `s`, made flat once: ToNumber flattens its argument (the trick pino's flatstr used), so a
 * string reused for many writes is then copied as one piece.
 */
export function flat(s: string): string {
  Number(s);
  return s;
}
