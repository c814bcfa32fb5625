// Reading request bodies with a size limit (413) and clear 400s. The engine already enforces the
// server-wide limit; these enforce a per-route one and turn parse failures into catalogue errors
// instead of a generic 500 from a SyntaxError or TypeError.
import { type Buffer, File } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { Readable } from 'node:stream';
import busboy from 'busboy';
import { defaultBodyLimit } from '../engine-seam.ts';
import { concatBytes } from '../../util/concat-bytes.ts';
import { FoyerError, findHttpError, type HttpError } from '../../util/errors.ts';
import { trimOws } from '../../util/ows.ts';

export interface BodyOptions {
  /** Largest body accepted, in bytes → 413. Default: the server default, 1 MiB. */
  limit?: number;
}

/** The media type of a request without parameters, lower-cased ('' when absent). */
export function mediaType(req: Request): string {
  const ct = req.headers.get('content-type');
  if (ct === null) return '';
  const semi = ct.indexOf(';');
  return trimOws(semi === -1 ? ct : ct.slice(0, semi)).toLowerCase();
}

/** Reads the whole body into memory, failing with 413 as soon as it passes the limit. */
export async function readBytes(req: Request, options: BodyOptions = {}): Promise<Uint8Array> {
  const limit = options.limit ?? defaultBodyLimit;
  const declared = req.headers.get('content-length');
  // Refuse early: no need to read a body the client already told us is too big.
  if (declared !== null && Number(declared) > limit) {
    await req.body?.cancel().catch(() => {});
    throw new FoyerError('FOYER_BODY_TOO_LARGE', `declared ${declared} > ${limit}`);
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new FoyerError('FOYER_BODY_TOO_LARGE', `read more than ${limit}`);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, size);
}

const utf8 = new TextDecoder('utf-8');

export async function readText(req: Request, options?: BodyOptions): Promise<string> {
  return utf8.decode(await readBytes(req, options));
}

export interface JsonOptions extends BodyOptions {
  /** Accept any Content-Type, not only application/json and *+json. Default false. */
  anyType?: boolean;
}

/**
 * Parses a JSON body. Requiring a JSON media type by default means a cross-site HTML form
 * (which can only send form types and text/plain) cannot post JSON to the API.
 */
export async function readJson<T = unknown>(req: Request, options: JsonOptions = {}): Promise<T> {
  const type = mediaType(req);
  if (!options.anyType && type !== 'application/json' && !type.endsWith('+json')) {
    throw new FoyerError('FOYER_UNSUPPORTED_MEDIA_TYPE', `expected JSON, got ${type || 'no Content-Type'}`);
  }
  const body = await readText(req, options);
  try {
    return JSON.parse(body) as T;
  } catch (err) {
    // The parser's message quotes the body: it goes to the log (detail), not to the client.
    throw new FoyerError('FOYER_BAD_JSON', (err as Error).message);
  }
}

export interface FormOptions extends BodyOptions {
  /** Most fields and files together. Default 1000. */
  maxParts?: number;
}

/** Parses an urlencoded or multipart form into FormData, in memory (see uploads.ts for disk). */
export async function readForm(req: Request, options: FormOptions = {}): Promise<FormData> {
  const type = mediaType(req);
  if (type === 'application/x-www-form-urlencoded') {
    const form = new FormData();
    const text = await readText(req, options);
    let count = 0;
    for (const [k, v] of new URLSearchParams(text)) {
      if (++count > (options.maxParts ?? 1000)) throw new FoyerError('FOYER_BAD_FORM', 'too many fields');
      form.append(k, v);
    }
    return form;
  }
  if (type === 'multipart/form-data') return readMultipart(req, options);
  throw new FoyerError('FOYER_UNSUPPORTED_MEDIA_TYPE', `expected a form, got ${type || 'no Content-Type'}`);
}

async function readMultipart(req: Request, options: FormOptions): Promise<FormData> {
  const limit = options.limit ?? defaultBodyLimit;
  const maxParts = options.maxParts ?? 1000;
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: { 'content-type': req.headers.get('content-type') ?? '' },
      limits: { fileSize: limit, fieldSize: limit, parts: maxParts },
    });
  } catch (err) {
    throw new FoyerError('FOYER_BAD_FORM', (err as Error).message);
  }
  const form = new FormData();
  let total = 0;
  const done = new Promise<void>((resolve, reject) => {
    const fail = (e: HttpError) => {
      input.unpipe(bb);
      input.destroy();
      reject(e);
    };
    bb.on('field', (name, value) => {
      total += value.length;
      if (total > limit) return fail(new FoyerError('FOYER_BODY_TOO_LARGE'));
      form.append(name, value);
    });
    bb.on('file', (name, file, info) => {
      const chunks: Buffer[] = [];
      file.on('data', (c: Buffer) => {
        total += c.length;
        if (total > limit) return fail(new FoyerError('FOYER_BODY_TOO_LARGE'));
        chunks.push(c);
      });
      file.on('limit', () => fail(new FoyerError('FOYER_BODY_TOO_LARGE')));
      file.on('end', () => {
        form.append(name, new File(chunks, info.filename ?? 'blob', { type: info.mimeType }));
      });
    });
    bb.on('partsLimit', () => fail(new FoyerError('FOYER_BAD_FORM', 'too many parts')));
    bb.on('error', (e: Error) => fail(findHttpError(e) ?? new FoyerError('FOYER_BAD_FORM', e.message)));
    bb.on('close', resolve);
  });
  const input = req.body === null ? Readable.from([]) : Readable.fromWeb(req.body as never);
  input.on('error', (e) => bb.destroy(e));
  input.pipe(bb);
  await done;
  return form;
}
