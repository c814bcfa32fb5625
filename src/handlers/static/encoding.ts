// Content codings: choose one from Accept-Encoding (RFC 9110 §12.5.3) and compress with node:zlib.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { trimOws } from '../../util/ows.ts';

export type Coding = 'br' | 'gzip';

/** File-name suffix of a precompressed sibling. */
export const SIBLING_SUFFIX: Record<Coding, string> = { br: '.br', gzip: '.gz' };

/**
 * The best coding among `offered` (in server preference order) that the client accepts, or
 * undefined for identity. A coding with q=0 is refused; `*` stands for every coding not named.
 */
export function negotiateEncoding(header: string | null, offered: readonly Coding[]): Coding | undefined {
  if (header === null || header === '' || offered.length === 0) return undefined;
  let best: Coding | undefined;
  let bestQ = 0;
  for (const coding of offered) {
    const q = qualityOf(header, coding);
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

function qualityOf(header: string, coding: Coding): number {
  let star = -1;
  for (const part of header.split(',')) {
    const semi = part.indexOf(';');
    const name = trimOws(semi < 0 ? part : part.slice(0, semi)).toLowerCase();
    if (name !== coding && name !== '*' && !(coding === 'gzip' && name === 'x-gzip')) continue;
    let q = 1;
    if (semi >= 0) {
      const m = /q[ \t]*=[ \t]*([01](?:\.\d{0,3})?)/i.exec(part.slice(semi + 1));
      if (m) q = Number(m[1]);
    }
    if (name === '*') star = q;
    else return q;
  }
  return Math.max(star, 0);
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** Compresses a whole buffer off the main thread (zlib runs on libuv's pool). */
export function compressBuffer(data: Uint8Array, coding: Coding, brotliQuality: number, gzipLevel: number) {
  if (coding === 'br') {
    return brotli(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
      },
    });
  }
  return gzip(data, { level: gzipLevel });
}

/** A streaming compressor for files too large to keep. */
export function createCompressor(coding: Coding, brotliQuality: number, gzipLevel: number, sizeHint: number) {
  if (coding === 'br') {
    return zlib.createBrotliCompress({
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint,
        // A 256 KiB window instead of 4 MiB: the encoder holds its window before it emits output,
        // so the window is the memory a slow client pins per response.
        [zlib.constants.BROTLI_PARAM_LGWIN]: 18,
      },
    });
  }
  return zlib.createGzip({ level: gzipLevel });
}
