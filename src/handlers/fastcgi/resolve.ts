// URL path → what to do: run a script, serve a static file, redirect a directory, or nothing.
// The rules (Caddy php_server's order, nginx's split-path semantics, without their pitfalls):
//   1. split at the first `.php` segment that is a real regular file inside the root; the rest is
//      PATH_INFO. `/uploads/a.jpg/x.php` never runs `a.jpg`: only the segment that ends in `.php`
//      is a candidate, and it must exist (no cgi.fix_pathinfo guessing is ever needed);
//   2. an existing non-PHP file → static; a file whose name ends in `.php` in another case
//      (`x.PHP`) is refused rather than shown as source;
//   3. a directory with index.php → run it (after a 308 to add the trailing slash), else static;
//   4. nothing → the front controller (`/index.php`), REQUEST_URI left as requested.
import { isContained } from '../../analysis/containment.ts';
import { joinSegments } from '../../analysis/target-path.ts';
import { errorCode, type FileSystem } from '../../os/file-system.ts';

/** `.php` segments of one path looked up as scripts, from the left. */
export const MAX_SCRIPT_CANDIDATES = 4;

export type Resolution =
  | { kind: 'script'; scriptName: string; scriptFilename: string; pathInfo: string }
  | { kind: 'static' }
  | { kind: 'redirect'; location: string }
  | { kind: 'forbidden' }
  | { kind: 'none' };

/**
 * What is at `path`: 'file' | 'dir' | 'other', or undefined when missing (ENOENT, ENOTDIR). A name
 * that exists but cannot be followed (a symlink loop, no permission) is 'other': never run.
 */
async function kindOf(fs: FileSystem, path: string): Promise<'file' | 'dir' | 'other' | undefined> {
  try {
    const s = await fs.stat(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return undefined;
    if (code === 'ELOOP' || code === 'EACCES') return 'other';
    throw err;
  }
}

export interface ResolveOptions {
  /** Real path of the document root (no trailing separator). */
  root: string;
  /** Script extensions, e.g. ['.php'] (case-sensitive, like php-fpm's security.limit_extensions). */
  extensions: readonly string[];
  /** Directory index script, e.g. 'index.php'; '' for none. */
  index: string;
  /** Front controller URL path, e.g. '/index.php'; '' for none. */
  frontController: string;
  /** Run scripts whose real path leaves the root (symlinks followed anywhere). */
  followSymlinks?: boolean;
  fs: FileSystem;
}

function isScriptName(name: string, extensions: readonly string[]): boolean {
  for (const ext of extensions) if (name.length > ext.length && name.endsWith(ext)) return true;
  return false;
}

function looksLikeScript(name: string, extensions: readonly string[]): boolean {
  const lower = name.toLowerCase();
  for (const ext of extensions) if (lower.endsWith(ext.toLowerCase())) return true;
  return false;
}

async function realScript(opts: ResolveOptions, urlPath: string): Promise<string | undefined> {
  const file = opts.root + urlPath;
  if ((await kindOf(opts.fs, file)) !== 'file') return undefined;
  if (opts.followSymlinks === true) return file;
  // Symlinks inside the root may point anywhere: run only what really lives in the root.
  const real = await opts.fs.realpath(file).catch(() => undefined);
  return real !== undefined && isContained(opts.root, real) ? file : undefined;
}

/**
 * Resolves a decoded, normalised URL path (starts with '/', no empty, '.' or '..' segments, no
 * NUL, `\` or encoded `/`): built from `analysePath`'s segments.
 */
export async function resolvePath(path: string, opts: ResolveOptions): Promise<Resolution> {
  const segments = path.split('/'); // ['', 'a', 'b.php', 'c']
  let candidates = 0;
  for (let i = 1; i < segments.length; i++) {
    if (!isScriptName(segments[i]!, opts.extensions)) continue;
    // Each candidate costs a stat in the thread pool: a request line of `/a.php` × 1,300 cost
    // 160-230 ms of it (found in review). No site nests scripts that deep; later ones are not looked at.
    if (++candidates > MAX_SCRIPT_CANDIDATES) break;
    const scriptName = segments.slice(0, i + 1).join('/');
    const scriptFilename = await realScript(opts, scriptName);
    if (scriptFilename === undefined) continue;
    const pathInfo = i + 1 < segments.length ? `/${segments.slice(i + 1).join('/')}` : '';
    return { kind: 'script', scriptName, scriptFilename, pathInfo };
  }
  const kind = await kindOf(opts.fs, opts.root + path);
  if (kind === 'file' || kind === 'other') {
    const base = segments[segments.length - 1]!;
    // x.php that failed the checks above (outside the root via symlink), or X.PHP: never source.
    if (looksLikeScript(base, opts.extensions)) return { kind: 'forbidden' };
    return { kind: 'static' };
  }
  if (kind === 'dir') {
    if (opts.index !== '') {
      const dir = path.endsWith('/') ? path : `${path}/`;
      const scriptFilename = await realScript(opts, dir + opts.index);
      if (scriptFilename !== undefined) {
        // Encoded (joinSegments): the path is decoded, and `a b`, `100%` or `q?x` in a Location
        // would name another resource or be no valid field value at all.
        if (dir !== path) return { kind: 'redirect', location: joinSegments(segments.slice(1), true) };
        return { kind: 'script', scriptName: dir + opts.index, scriptFilename, pathInfo: '' };
      }
    }
    return { kind: 'static' };
  }
  if (opts.frontController !== '') {
    const scriptFilename = await realScript(opts, opts.frontController);
    if (scriptFilename !== undefined) {
      return { kind: 'script', scriptName: opts.frontController, scriptFilename, pathInfo: '' };
    }
  }
  return { kind: 'none' };
}

/**
 * Remembers resolutions for `ttl` ms (the static handler's revalidation idea): two stat calls and
 * a realpath per request cost more than php-fpm's hello world. Bounded: the oldest entries go
 * first past `max`. A new or deleted file is noticed within `ttl`.
 */
export class ResolutionCache {
  readonly #ttl: number;
  readonly #max: number;
  readonly #entries = new Map<string, { at: number; value: Resolution }>();

  constructor(ttl: number, max = 1024) {
    this.#ttl = ttl;
    this.#max = max;
  }

  get(path: string, now: number): Resolution | undefined {
    const e = this.#entries.get(path);
    if (e === undefined) return undefined;
    if (now - e.at < this.#ttl) return e.value;
    this.#entries.delete(path);
    return undefined;
  }

  set(path: string, value: Resolution, now: number): void {
    if (this.#ttl <= 0) return;
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(path, { at: now, value });
  }
}
