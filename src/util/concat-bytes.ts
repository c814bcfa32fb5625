// Joining chunks into one byte array that owns its memory. Not Buffer.concat: a small Buffer is a
// slice of Node's shared pool, whose ArrayBuffer must never be transferred to a worker thread
// (it would detach the pool) and keeps unrelated bytes alive.

/** `chunks` joined into one Uint8Array of `size` bytes; a single chunk is returned as it is. */
export function concatBytes(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
