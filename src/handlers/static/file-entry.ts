// What the handler knows about one file: its representations (identity, precompressed siblings,
// compressed copies) with prebuilt response headers, and its bytes when it is small enough to keep.
import type { Buffer } from 'node:buffer';
import type { Coding } from './encoding.ts';
import { compressBuffer, SIBLING_SUFFIX } from './encoding.ts';
import type { FileStat, OpenFile, StaticFs } from '../../os/file-system.ts';
import { errorCode, readFully } from '../../os/file-system.ts';
import type { ResolvedOptions } from './options.ts';
import { sealedHeaders } from '../engine-seam.ts';
import { fileEtag, httpDate } from './validators.ts';

export interface Representation {
  /** The file holding these bytes; undefined for a compressed copy made in memory. */
  path: string | undefined;
  coding: Coding | undefined;
  /** Byte length, or -1 when compressed on the fly while streaming (unknown ahead). */
  size: number;
  ino: number;
  mtimeMs: number;
  etag: string;
  /** The bytes, for files kept in memory. */
  data: Uint8Array | undefined;
  /** Complete headers of a 200, Content-Length included when known. */
  headers200: Record<string, string>;
  /** Headers of a 304 (RFC 9110 §15.4.5: the validators and what a 200 would have varied on). */
  headers304: Record<string, string>;
  /** headers200 and headers304 as sealed Headers, made on first use (sealed200Of, sealed304Of). */
  sealed200?: Headers;
  sealed304?: Headers;
}

/** The 200's fields as one sealed list every response of the file shares (made on first use). */
export function sealed200Of(rep: Representation): Headers {
  return (rep.sealed200 ??= sealedHeaders(rep.headers200));
}

/** The 304's fields as one sealed list (made on first use). */
export function sealed304Of(rep: Representation): Headers {
  return (rep.sealed304 ??= sealedHeaders(rep.headers304));
}

export interface FileEntry {
  fsPath: string;
  contentType: string;
  /** Representations may differ by Accept-Encoding, so every response says Vary. */
  vary: boolean;
  identity: Representation;
  /** Precompressed siblings found on disk. */
  siblings: Partial<Record<Coding, Representation>>;
  /** Compressed copies of an in-memory file, made on first demand. */
  compressed: Partial<Record<Coding, Promise<Representation>>>;
  /** Headers of a large file compressed while streaming, built on first demand. */
  streaming: Partial<Record<Coding, Representation>>;
  source: EntrySource;
  /** Codings this entry can be sent in, server preference first. */
  offered: Coding[];
  /** May be compressed on the fly (compressible type, big enough, compression on). */
  compressible: boolean;
  /** Identity of the bytes on disk: a change of any part means the entry is stale. */
  signature: string;
  /** Bytes held in memory by this entry, for the cache bound. */
  bytes: number;
  /** Date.now() of the last check against the disk. */
  checkedAt: number;
  /** Set by the cache holding the entry: told when a compressed copy adds bytes. */
  onGrow?: ((bytes: number) => void) | undefined;
}

export interface EntrySource {
  fsPath: string;
  stat: FileStat;
  contentType: string;
  urlPath: string;
  compressible: boolean;
}

function signatureOf(st: FileStat): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

function buildRepresentation(
  src: EntrySource,
  o: ResolvedOptions,
  vary: boolean,
  path: string | undefined,
  st: { size: number; ino: number; mtimeMs: number },
  coding: Coding | undefined,
  data: Uint8Array | undefined,
): Representation {
  // A sibling has its own validator; a copy compressed here derives from the original file's.
  const v = path === undefined || st.size < 0 ? src.stat : st;
  const etag = fileEtag(v.size, v.mtimeMs, coding === undefined ? '' : `-${coding}`);
  const lastModified = httpDate(src.stat.mtimeMs);
  const cacheControl = o.cacheControl(src.urlPath);
  const h304: Record<string, string> = { etag, 'last-modified': lastModified };
  if (cacheControl !== undefined) h304['cache-control'] = cacheControl;
  if (vary) h304.vary = 'Accept-Encoding';
  const h200: Record<string, string> = { ...o.headers, 'content-type': src.contentType };
  if (st.size >= 0) h200['content-length'] = String(st.size);
  if (coding !== undefined) h200['content-encoding'] = coding;
  if (o.ranges && st.size >= 0) h200['accept-ranges'] = 'bytes';
  h200['x-content-type-options'] = 'nosniff';
  Object.assign(h200, h304);
  // Shared by every response for this file: frozen so no layer can change them for the others.
  Object.freeze(h200);
  Object.freeze(h304);
  return {
    path,
    coding,
    size: st.size,
    ino: st.ino,
    mtimeMs: st.mtimeMs,
    etag,
    data,
    headers200: h200,
    headers304: h304,
    sealed200: undefined,
    sealed304: undefined,
  };
}

/**
 * Reads a whole small file without tearing: the handle's metadata before and after the read must
 * agree, or the read is retried (an editor rewriting in place shows up as a changed size or mtime).
 */
async function readStable(fs: StaticFs, path: string, maxSize: number): Promise<{ data?: Buffer; stat: FileStat }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const file: OpenFile = await fs.open(path);
    try {
      const before = await file.stat();
      // It grew past the bound since it was looked at: stream it instead of reading it whole.
      if (before.size > maxSize) return { stat: before };
      const data = await readFully(file, before.size);
      const after = await file.stat();
      if (data.byteLength === before.size && signatureOf(before) === signatureOf(after)) return { data, stat: after };
    } finally {
      await file.close();
    }
  }
  throw new Error('file kept changing while being read');
}

/** Vets a path found on disk (symlink containment); the resolver provides it. */
export type PathCheck = (path: string) => Promise<boolean>;

async function statSibling(fs: StaticFs, path: string, check: PathCheck): Promise<FileStat | undefined> {
  try {
    const st = await fs.stat(path);
    return st.isFile() && (await check(path)) ? st : undefined;
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return undefined;
    throw err;
  }
}

/** Builds an entry; `load` reads the bytes of small files (false for HEAD, which never reads). */
export async function buildEntry(
  fs: StaticFs,
  src: EntrySource,
  o: ResolvedOptions,
  load: boolean,
  check: PathCheck,
): Promise<FileEntry> {
  let stat = src.stat;
  let data: Uint8Array | undefined;
  if (load && o.cacheEnabled && stat.size <= o.maxFileSize) {
    const r = await readStable(fs, src.fsPath, o.maxFileSize);
    data = r.data;
    stat = r.stat;
  }
  src = { ...src, stat };
  const siblingStats: Array<[Coding, FileStat]> = [];
  for (const coding of o.precompressed) {
    const st = await statSibling(fs, src.fsPath + SIBLING_SUFFIX[coding], check);
    if (st) siblingStats.push([coding, st]);
  }
  const compressible = src.compressible && stat.size >= o.compressMinSize;
  const vary = compressible || siblingStats.length > 0;
  const siblings: Partial<Record<Coding, Representation>> = {};
  let bytes = data?.byteLength ?? 0;
  let signature = signatureOf(stat);
  for (const [coding, st] of siblingStats) {
    const path = src.fsPath + SIBLING_SUFFIX[coding];
    let sdata: Uint8Array | undefined;
    let sst = st;
    if (data !== undefined && st.size <= o.maxFileSize) {
      const r = await readStable(fs, path, o.maxFileSize);
      sdata = r.data;
      sst = r.stat;
      bytes += sdata?.byteLength ?? 0;
    }
    siblings[coding] = buildRepresentation(src, o, vary, path, sst, coding, sdata);
    signature += `|${coding}=${signatureOf(sst)}`;
  }
  return {
    fsPath: src.fsPath,
    contentType: src.contentType,
    vary,
    identity: buildRepresentation(src, o, vary, src.fsPath, stat, undefined, data),
    siblings,
    offered: (['br', 'gzip'] as const).filter((c) => siblings[c] !== undefined || compressible),
    compressed: {},
    streaming: {},
    source: src,
    compressible,
    signature,
    bytes,
    checkedAt: Date.now(),
  };
}

/** The signature an entry built from these stats would have; compared on revalidation. */
export async function currentSignature(
  fs: StaticFs,
  fsPath: string,
  stat: FileStat,
  o: ResolvedOptions,
  check: PathCheck,
): Promise<string> {
  let signature = signatureOf(stat);
  for (const coding of o.precompressed) {
    const st = await statSibling(fs, fsPath + SIBLING_SUFFIX[coding], check);
    if (st) signature += `|${coding}=${signatureOf(st)}`;
  }
  return signature;
}

/** A compressed in-memory copy of a kept file, made once and shared by later requests. */
export function compressedRepresentation(entry: FileEntry, coding: Coding, o: ResolvedOptions) {
  const src = entry.source;
  let p = entry.compressed[coding];
  if (p === undefined) {
    const id = entry.identity;
    p = compressBuffer(id.data!, coding, o.brotliQuality, o.gzipLevel).then((buf) => {
      // Content that does not shrink is sent as it is (still with Vary: the choice depended on it).
      if (buf.byteLength >= id.size) return id;
      entry.bytes += buf.byteLength;
      entry.onGrow?.(buf.byteLength);
      return buildRepresentation(
        src,
        o,
        true,
        undefined,
        { size: buf.byteLength, ino: id.ino, mtimeMs: id.mtimeMs },
        coding,
        buf,
      );
    });
    entry.compressed[coding] = p;
  }
  return p;
}

/** The representation of a large file compressed while streaming: no length, no ranges. */
export function streamingRepresentation(entry: FileEntry, coding: Coding, o: ResolvedOptions): Representation {
  const id = entry.identity;
  return (entry.streaming[coding] ??= buildRepresentation(
    entry.source,
    o,
    true,
    entry.fsPath,
    { size: -1, ino: id.ino, mtimeMs: id.mtimeMs },
    coding,
    undefined,
  ));
}
