// Options of `staticFiles` and their defaults, normalised once at construction so the request
// path reads plain fields.
import type { StaticFs } from '../../os/file-system.ts';
import { nodeFs } from '../../os/file-system.ts';
import { globToRegExp, regExpTest } from '../../analysis/glob.ts';

/** One Cache-Control rule: the first rule whose `match` accepts the URL path wins. */
export interface CacheControlRule {
  /** A RegExp, a glob (`*.js`, `/assets/**`; `*` stays within a segment), or a predicate on the decoded URL path. */
  match: RegExp | string | ((path: string) => boolean);
  /** The header value, e.g. `public, max-age=31536000, immutable`. */
  value: string;
}

export interface StaticOptions {
  /** Index files tried, in order, for a directory. Default `['index.html']`; `false` for none. */
  index?: string[] | false;
  /** Names beginning with `.`: `deny` → 403, `ignore` → treated as missing, `allow`. Default `deny`. `/.well-known/` is always allowed (RFC 8615). */
  dotfiles?: 'deny' | 'ignore' | 'allow';
  /** `contain`: follow a symlink only when its real path stays inside the root (checked with realpath). `follow`: follow any. Default `contain`. */
  symlinks?: 'contain' | 'follow';
  /** Allow-list of extensions (without dot, case-insensitive); other files are treated as missing. Default: all. */
  extensions?: string[];
  /** Extensions (without dot, case-insensitive) never served, treated as missing so `next()` gets them: e.g. `['php']` in front of a PHP gateway. Default: none. */
  exclude?: string[];
  /** Extension → MIME type overrides (Swoole's type map), e.g. `{ wasm: 'application/wasm' }`. */
  types?: Record<string, string>;
  /** Type of files whose extension is unknown. Default `application/octet-stream`. */
  defaultType?: string;
  /** A Cache-Control value for every file, or rules per path. Default: none (like nginx). */
  cacheControl?: string | CacheControlRule[];
  /** Serve `name.br` / `name.gz` siblings to clients that accept them. Default `true` (br, then gzip). */
  precompressed?: boolean | Array<'br' | 'gzip'>;
  /** On-the-fly compression of compressible types of at least `minSize` bytes. Default `{ minSize: 1024 }`; `false` to disable. */
  compress?: false | { minSize?: number; brotliQuality?: number; gzipLevel?: number };
  /** Honour Range requests. Default `true`. */
  ranges?: boolean;
  /** A Range with more parts than this is ignored (200 with the whole file, RFC 9110 §14.2). Default 16. */
  maxRanges?: number;
  /** In-memory cache of small files; `false` disables. */
  cache?:
    | false
    | {
        /** Largest file kept in memory, bytes. Default 65536. */
        maxFileSize?: number;
        /** Memory bound of the whole cache (file bytes and compressed variants). Default 64 MiB. */
        maxBytes?: number;
        /** A cached file is checked against the disk at most this often, ms; edits show within this bound. Default 1000. */
        revalidateMs?: number;
      };
  /** Directory listing (HTML, or JSON for `Accept: application/json`). Default `false`. */
  listing?: boolean;
  /** Typo correction (mod_speling): `true` → 301 to a single candidate, 404 for several; `'choices'` → 300 listing them. Default `false`. */
  typos?: boolean | 'choices';
  /** On a miss, call `next()` (true) or answer 404 / 405 here (false). Without `next` it always answers. Default `true`. */
  fallthrough?: boolean;
  /** Extra headers on every file response. */
  headers?: Record<string, string>;
  /**
   * Bytes per read when streaming large files. A response holds at most two chunks (one read
   * ahead), so this is also its memory bound. Default 262144: measured, 256 KiB reads need 40%
   * less CPU per megabyte than 64 KiB ones (fewer reads, stream turns and buffers).
   */
  chunkSize?: number;
  /** File-system seam. Default node:fs/promises. */
  fs?: StaticFs;
}

export interface ResolvedOptions {
  index: string[];
  dotfiles: 'deny' | 'ignore' | 'allow';
  symlinks: 'contain' | 'follow';
  extensions: Set<string> | undefined;
  exclude: Set<string>;
  types: Record<string, string>;
  defaultType: string;
  cacheControl: (path: string) => string | undefined;
  precompressed: Array<'br' | 'gzip'>;
  compressMinSize: number;
  brotliQuality: number;
  gzipLevel: number;
  ranges: boolean;
  maxRanges: number;
  cacheEnabled: boolean;
  maxFileSize: number;
  maxCacheBytes: number;
  revalidateMs: number;
  listing: boolean;
  typos: false | 'redirect' | 'choices';
  fallthrough: boolean;
  headers: Record<string, string>;
  chunkSize: number;
  fs: StaticFs;
}

function compileCacheControl(cc: StaticOptions['cacheControl']): (path: string) => string | undefined {
  if (cc === undefined) return () => undefined;
  if (typeof cc === 'string') return () => cc;
  const rules = cc.map(({ match, value }) => {
    const test =
      typeof match === 'function'
        ? match
        : typeof match === 'string'
          ? (
              (re: RegExp) => (p: string) =>
                re.test(p)
            )(globToRegExp(match))
          : regExpTest(match);
    return { test, value };
  });
  return (path) => rules.find((r) => r.test(path))?.value;
}

export function resolveOptions(o: StaticOptions = {}): ResolvedOptions {
  const cache = o.cache === false ? undefined : (o.cache ?? {});
  const compress = o.compress === false ? undefined : (o.compress ?? {});
  const pre = o.precompressed ?? true;
  return {
    index: o.index === false ? [] : (o.index ?? ['index.html']),
    dotfiles: o.dotfiles ?? 'deny',
    symlinks: o.symlinks ?? 'contain',
    extensions: o.extensions ? new Set(o.extensions.map((e) => e.replace(/^\./, '').toLowerCase())) : undefined,
    exclude: new Set((o.exclude ?? []).map((e) => e.replace(/^\./, '').toLowerCase())),
    types: Object.fromEntries(Object.entries(o.types ?? {}).map(([k, v]) => [k.replace(/^\./, '').toLowerCase(), v])),
    defaultType: o.defaultType ?? 'application/octet-stream',
    cacheControl: compileCacheControl(o.cacheControl),
    precompressed: pre === true ? ['br', 'gzip'] : pre === false ? [] : pre,
    compressMinSize: compress ? (compress.minSize ?? 1024) : Number.POSITIVE_INFINITY,
    brotliQuality: compress?.brotliQuality ?? 5,
    gzipLevel: compress?.gzipLevel ?? 6,
    ranges: o.ranges ?? true,
    maxRanges: o.maxRanges ?? 16,
    cacheEnabled: cache !== undefined,
    maxFileSize: cache?.maxFileSize ?? 65536,
    maxCacheBytes: cache?.maxBytes ?? 64 * 1024 * 1024,
    revalidateMs: cache?.revalidateMs ?? 1000,
    listing: o.listing ?? false,
    typos: o.typos === 'choices' ? 'choices' : o.typos ? 'redirect' : false,
    fallthrough: o.fallthrough ?? true,
    headers: { ...(o.headers ?? {}) },
    chunkSize: o.chunkSize ?? 262144,
    fs: o.fs ?? nodeFs,
  };
}
