// URL path → something on disk, safely: analysed segments are joined under the root, checked for
// containment, and (by default) their real path checked again so a symlink cannot lead out.
import { join } from 'node:path';
import { isContained, resolveInside } from '../../analysis/containment.ts';
import { dotfileVerdict, isHiddenSegment } from '../../analysis/dotfiles.ts';
import { joinSegments } from '../../analysis/target-path.ts';
import { typoCandidates } from '../../analysis/typo-correction.ts';
import { isCompressible } from '../../util/compressible.ts';
import { internalized } from '../../util/flat-string.ts';
import { contentTypeFor, extensionOf } from './content-type.ts';
import type { EntrySource } from './file-entry.ts';
import type { FileStat } from '../../os/file-system.ts';
import { errorCode } from '../../os/file-system.ts';
import type { ResolvedOptions } from './options.ts';

export type Resolution =
  | { kind: 'file'; source: EntrySource }
  /** `location` is a path without query: the caller appends the request's own. */
  | { kind: 'redirect'; location: string }
  | { kind: 'listing'; dirPath: string }
  | { kind: 'choices'; locations: string[] }
  | { kind: 'miss' }
  | { kind: 'forbidden' };

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP']);
const DENIED = new Set(['EACCES', 'EPERM']);

export class Resolver {
  readonly root: string;
  readonly #o: ResolvedOptions;

  constructor(root: string, o: ResolvedOptions) {
    this.root = root;
    this.#o = o;
  }

  /** The dotfile rule for a name; `/.well-known/` is always reachable (RFC 8615). */
  hiddenName(name: string, index: number): boolean {
    return isHiddenSegment(name, index, this.#o.dotfiles);
  }

  /** Is a name one the handler may serve at all (extension allow-list and exclusions)? */
  allowedFile(name: string): boolean {
    const ext = extensionOf(name);
    if (this.#o.exclude.has(ext)) return false;
    return this.#o.extensions === undefined || this.#o.extensions.has(ext);
  }

  /** Symlink containment: true when `path` really lies under the root (or when symlinks are followed freely). */
  readonly contained = async (path: string): Promise<boolean> => {
    if (this.#o.symlinks === 'follow') return true;
    try {
      return isContained(this.root, await this.#o.fs.realpath(path));
    } catch {
      return false;
    }
  };

  async #stat(path: string): Promise<FileStat | 'miss' | 'forbidden'> {
    try {
      return await this.#o.fs.stat(path);
    } catch (err) {
      const code = errorCode(err);
      if (MISSING.has(code)) return 'miss';
      if (DENIED.has(code)) return 'forbidden';
      throw err;
    }
  }

  #fileSource(fsPath: string, stat: FileStat, urlSegments: readonly string[]): Resolution {
    const name = urlSegments[urlSegments.length - 1] ?? '';
    if (!this.allowedFile(name)) return { kind: 'miss' };
    const contentType = contentTypeFor(name, this.#o.types, this.#o.defaultType);
    // Kept with the file's entry: a copy of its own, not pieces cut from the request's URL.
    const urlPath = internalized(`/${urlSegments.join('/')}`);
    return { kind: 'file', source: { fsPath, stat, contentType, urlPath, compressible: isCompressible(contentType) } };
  }

  async resolve(segments: string[], trailingSlash: boolean): Promise<Resolution> {
    const hidden = dotfileVerdict(segments, this.#o.dotfiles);
    if (hidden !== undefined) return hidden === 'forbidden' ? { kind: 'forbidden' } : { kind: 'miss' };
    const fsPath = resolveInside(this.root, segments);
    if (fsPath === undefined) return { kind: 'forbidden' };
    const st = await this.#stat(fsPath);
    if (st === 'forbidden') return { kind: 'forbidden' };
    if (st === 'miss') return this.#o.typos ? this.#correct(segments, trailingSlash) : { kind: 'miss' };
    if (!(await this.contained(fsPath))) return { kind: 'forbidden' };
    if (st.isDirectory()) {
      // RFC 3986 §5.2: relative links in an index page resolve against the slash-terminated URL.
      if (!trailingSlash) return { kind: 'redirect', location: joinSegments(segments, true) };
      for (const name of this.#o.index) {
        const p = join(fsPath, name);
        const ist = await this.#stat(p);
        if (typeof ist === 'object' && ist.isFile() && (await this.contained(p))) {
          return this.#fileSource(p, ist, [...segments, name]);
        }
      }
      return this.#o.listing ? { kind: 'listing', dirPath: fsPath } : { kind: 'miss' };
    }
    if (trailingSlash || !st.isFile()) return { kind: 'miss' };
    return this.#fileSource(fsPath, st, segments);
  }

  /**
   * mod_speling: fix each missing segment against its directory's entries. One candidate per
   * segment → 301 to the corrected path, query kept; several → 300 or a miss, per options.
   */
  async #correct(segments: string[], trailingSlash: boolean): Promise<Resolution> {
    const fixed: string[] = [];
    const fs = this.#o.fs;
    for (let i = 0; i < segments.length && i < 32; i++) {
      const dir = resolveInside(this.root, fixed);
      if (dir === undefined) return { kind: 'miss' };
      const wanted = segments[i]!;
      const here = await this.#stat(join(dir, wanted));
      if (typeof here === 'object') {
        fixed.push(wanted);
        continue;
      }
      let names: string[];
      try {
        names = (await fs.readdir(dir)).map((d) => d.name);
      } catch {
        return { kind: 'miss' };
      }
      const visible = names.filter((n) => !this.hiddenName(n, i) && (i < segments.length - 1 || this.allowedFile(n)));
      const found = typoCandidates(wanted, visible);
      if (found.length === 0) return { kind: 'miss' };
      if (found.length > 1) {
        if (this.#o.typos !== 'choices' || i < segments.length - 1) return { kind: 'miss' };
        return {
          kind: 'choices',
          locations: found.sort().map((n) => joinSegments([...fixed, n], trailingSlash)),
        };
      }
      fixed.push(found[0]!);
    }
    const target = resolveInside(this.root, fixed);
    if (target === undefined || !(await this.contained(target))) return { kind: 'miss' };
    return { kind: 'redirect', location: joinSegments(fixed, trailingSlash) };
  }
}
