// Reading a Request or Response body every way the fetch standard offers, for the differential
// tests of the engine's light Request and Response against undici's (src/reception/*.test.ts).

/** Every way to read a body that Request and Response share ('clone' is each test's own). */
export const BODY_READERS = ['text', 'json', 'arrayBuffer', 'bytes', 'blob', 'formData', 'clone', 'body'] as const;
export type BodyReader = (typeof BODY_READERS)[number];

/** A value or the name of the error, so that two implementations can be compared as data. */
export async function settle<T>(f: () => T | Promise<T>): Promise<{ ok: T } | { err: string }> {
  try {
    return { ok: await f() };
  } catch (e) {
    return { err: (e as Error).name };
  }
}

/** Bytes as a lossless string, so a FormData boundary in them can be named. */
export const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** The body read as `how` says, as comparable data ('clone' is left to the caller: undefined). */
export async function readBody(r: Request | Response, how: Exclude<BodyReader, 'clone'>): Promise<unknown> {
  switch (how) {
    case 'text':
      return r.text();
    case 'json':
      return r.json();
    case 'arrayBuffer':
      return latin1(new Uint8Array(await r.arrayBuffer()));
    case 'bytes':
      return latin1(await (r as unknown as { bytes(): Promise<Uint8Array> }).bytes());
    case 'blob': {
      const b = await r.blob();
      return [b.type, await b.text()];
    }
    case 'formData':
      return [...(await r.formData())].map(([k, v]) => [k, String(v)]);
    case 'body': {
      const b = r.body;
      if (b === null) return null;
      let out = '';
      for await (const c of b as unknown as AsyncIterable<Uint8Array>) out += latin1(c);
      return out;
    }
  }
}
