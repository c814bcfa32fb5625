// Response compression middleware (RFC 9110 §8.4, §12.5.3). The coding follows the client's
// Accept-Encoding q-values, ties going to the server's order (br, gzip, deflate). Small bodies of
// known size are compressed in one go and keep a Content-Length; streamed bodies are compressed
// as they flow, flushed per chunk so server-sent events and progressive output are not held back.
import type { Buffer } from 'node:buffer';
import type { ReadableStream } from 'node:stream/web';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Middleware } from '../../types.ts';
import { isCompressible } from '../../util/compressible.ts';
import { preferredEncoding } from '../../util/negotiate.ts';
import { ONE_SHOT_MAX, peekWhole } from './peek-body.ts';
import { trimOws } from '../../util/ows.ts';
import { bodySizeAtMost, knownBodySize } from '../engine-seam.ts';

export type Encoding = 'br' | 'gzip' | 'deflate';

export interface CompressOptions {
  /** Codings offered, in server preference order. Default ['br', 'gzip', 'deflate']. */
  encodings?: Encoding[];
  /** Bodies of known size below this many bytes are sent as they are. Default 1024. */
  threshold?: number;
  /** Decides whether a Content-Type is worth compressing. Default: text, JSON, XML, JS, SVG, wasm. */
  compressible?: (contentType: string) => boolean;
  /** Called first for each response: return false to leave it alone (e.g. compress only some routes). */
  when?: (req: Request, res: Response) => boolean;
  /** zlib level for gzip/deflate (default 6) and brotli quality (default 4: fast enough for dynamic content). */
  level?: number;
  brotliQuality?: number;
}

const oneShot = {
  br: promisify(zlib.brotliCompress),
  gzip: promisify(zlib.gzip),
  deflate: promisify(zlib.deflate),
};

/** Compression as a middleware: the response of the rest of the chain, compressed when it should be. */
export function compress(options: CompressOptions = {}): Middleware {
  const shrink = compressor(options);
  // One reaction on the promise of the rest of the chain, not an async frame and its await: the
  // PHP pipeline runs this for every response (callgrind: about 400 instructions a request). As an
  // async function would, it takes a `next` that throws, or returns a Response or a thenable.
  return (req, _ctx, next) => {
    let rest: Promise<Response>;
    try {
      const out: unknown = next();
      rest = out instanceof Promise ? out : Promise.resolve(out as Response);
    } catch (err) {
      return Promise.reject(err);
    }
    return rest.then((res) => shrink(req, res));
  };
}

/** What compress() does to one response; synchronous (and allocation-free) whenever it changes nothing. */
export type Compressor = (req: Request, res: Response) => Response | Promise<Response>;

/**
 * The compression decision and work as a plain function, for pipelines that hold the response
 * already (the CLI's): no middleware frame, no closure per request.
 */
export function compressor(options: CompressOptions = {}): Compressor {
  const encodings = options.encodings ?? ['br', 'gzip', 'deflate'];
  const threshold = options.threshold ?? 1024;
  const compressible = options.compressible ?? isCompressible;
  const level = options.level ?? zlib.constants.Z_DEFAULT_COMPRESSION;
  const brotliQuality = options.brotliQuality ?? 4;
  const when = options.when;
  const zlibOptions = (enc: Encoding, size?: number) =>
    enc === 'br'
      ? {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality,
            ...(size === undefined ? {} : { [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size }),
          },
        }
      : { level };

  // Clients send a handful of distinct Accept-Encoding values; remember the choice for each (a
  // memo of a pure function of the header, bounded, shared by all requests: no request state).
  const memo = new Map<string, Encoding | undefined>();
  const choose = (field: string | null): Encoding | undefined => {
    if (field === null) return undefined;
    if (memo.has(field)) return memo.get(field);
    const choice = preferredEncoding(field, encodings) as Encoding | undefined;
    if (memo.size >= 64) memo.clear();
    memo.set(field, choice);
    return choice;
  };

  const encode = async (res: Response, encoding: Encoding, size: number | undefined): Promise<Response> => {
    const headers = new Headers(res.headers);
    headers.set('content-encoding', encoding);
    headers.delete('content-length');
    // A strong validator names one exact byte sequence (RFC 9110 §8.8.3); the compressed bytes differ.
    const etag = headers.get('etag');
    if (etag !== null && !etag.startsWith('W/')) headers.set('etag', `W/${etag}`);
    headers.delete('accept-ranges');
    let body: ConstructorParameters<typeof Response>[0];
    let whole: Uint8Array | undefined;
    let stream: ReadableStream<Uint8Array> = res.body!;
    if (size !== undefined && size <= ONE_SHOT_MAX) whole = new Uint8Array(await res.arrayBuffer());
    else if (size === undefined) [whole, stream] = await peekWhole(stream);
    if (whole !== undefined) {
      if (whole.byteLength < threshold) {
        headers.delete('content-encoding');
        if (etag !== null) headers.set('etag', etag);
        headers.set('content-length', String(whole.byteLength));
        return new Response(whole, { status: res.status, statusText: res.statusText, headers });
      }
      const out = await oneShot[encoding](whole, zlibOptions(encoding, whole.byteLength));
      headers.set('content-length', String(out.byteLength));
      body = out;
    } else {
      body = streamCompress(stream, encoding, zlibOptions(encoding, size));
    }
    return new Response(body, { status: res.status, statusText: res.statusText, headers });
  };

  return (req, res) => {
    // A body the engine knows to be under the minimum is sent as it is to every client: its
    // representation does not vary with Accept-Encoding, so there is nothing to decide or to add.
    // A bound first: most small bodies are told apart without counting their UTF-8.
    const most = bodySizeAtMost(res);
    if (most !== undefined && most < threshold) return res;
    const known = knownBodySize(res);
    if (known !== undefined && known < threshold) return res;
    if (when !== undefined && !when(req, res)) return res;
    const status = res.status;
    // 1xx/204/304 have no content; nothing to negotiate (and no Vary to add).
    if (status < 200 || status === 204 || status === 304) return res;
    const type = res.headers.get('content-type');
    if (type === null || !compressible(type)) return res;
    // The representation depends on Accept-Encoding from here on, whatever we decide for this
    // client (RFC 9110 §12.5.5), so caches must key on it.
    res = withVary(res, 'Accept-Encoding');
    const length = res.headers.get('content-length');
    const size = known ?? (length === null ? undefined : Number(length));
    const skip =
      req.method === 'HEAD' ||
      status === 206 ||
      (size !== undefined && size < threshold) ||
      res.headers.has('content-encoding') ||
      res.headers.has('content-range') ||
      /(?:^|,)[ \t]*no-transform[ \t]*(?:,|$)/i.test(res.headers.get('cache-control') ?? '');
    const encoding = skip ? undefined : choose(req.headers.get('accept-encoding'));
    // Reading `body` last: on the engine's light responses it builds the real body stream.
    if (encoding === undefined || res.body === null) return res;
    return encode(res, encoding, size);
  };
}

/** Adds a Vary member in place; responses with immutable headers are copied first. */
function withVary(res: Response, field: string): Response {
  try {
    appendVary(res.headers, field);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    appendVary(copy.headers, field);
    return copy;
  }
}

function appendVary(headers: Headers, field: string): void {
  const vary = headers.get('vary');
  if (vary === null) {
    headers.set('vary', field);
    return;
  }
  if (trimOws(vary) === '*') return;
  if (
    vary
      .toLowerCase()
      .split(',')
      .some((v) => trimOws(v) === field.toLowerCase())
  )
    return;
  headers.set('vary', `${vary}, ${field}`);
}

/** Pipes a web stream through a zlib stream, flushing after each source chunk. */
function streamCompress(
  source: ReadableStream<Uint8Array>,
  encoding: Encoding,
  opts: object,
): ReadableStream<Uint8Array> {
  const z =
    encoding === 'br'
      ? zlib.createBrotliCompress(opts)
      : encoding === 'gzip'
        ? zlib.createGzip(opts)
        : zlib.createDeflate(opts);
  const input = Readable.fromWeb(source as never);
  input.on('data', (chunk: Buffer) => {
    if (!z.write(chunk)) input.pause();
    // Without a flush zlib would hold small chunks until it has a full block: an SSE event or a
    // progress line would not reach the client until much later.
    z.flush();
  });
  z.on('drain', () => input.resume());
  input.on('end', () => z.end());
  input.on('error', (err) => z.destroy(err));
  // The client went away (the web stream was cancelled): stop reading the source too.
  z.on('close', () => input.destroy());
  return Readable.toWeb(z) as unknown as ReadableStream<Uint8Array>;
}
