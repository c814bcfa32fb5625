// Media types of files: mime-types (a maintained database) with charset=utf-8 for text, overridden
// by the user's type map (whether a type is worth compressing: util/compressible.ts).
import mime from 'mime-types';

/** The extension of a file name, lower-cased, without the dot; '' when there is none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** The Content-Type for a file name. */
export function contentTypeFor(name: string, types: Record<string, string>, fallback: string): string {
  const ext = extensionOf(name);
  const mapped = types[ext];
  if (mapped !== undefined) return mime.contentType(mapped) || mapped;
  const found = ext === '' ? false : mime.contentType(ext);
  return found || fallback;
}
