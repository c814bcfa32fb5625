// Answers a GET or HEAD for a known file: content negotiation, preconditions (RFC 9110 §13.2.2),
// ranges (§14), then the body from memory or a bounded stream. HEAD never opens the file.
import type { ReadableStream } from 'node:stream/web';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { createCompressor, negotiateEncoding } from './encoding.ts';
import type { FileEntry, Representation } from './file-entry.ts';
import { compressedRepresentation, sealed200Of, sealed304Of, streamingRepresentation } from './file-entry.ts';
import type { BodyPiece } from './file-stream.ts';
import { fileStream } from './file-stream.ts';
import type { StaticFs } from '../../os/file-system.ts';
import { buildMultipart, multipartFromBuffer } from './multipart.ts';
import type { ResolvedOptions } from './options.ts';
import { contentRange, parseRange } from './range.ts';
import { errorResponse, headBody } from './responses.ts';
import { evaluatePreconditions, ifRangeMatches } from './validators.ts';

/** Thrown when the file on disk no longer matches the entry: the caller re-resolves it. */
export class StaleEntryError extends Error {
  constructor() {
    super('file changed on disk');
    this.name = 'StaleEntryError';
  }
}

export function serveEntry(
  entry: FileEntry,
  req: Request,
  isHead: boolean,
  o: ResolvedOptions,
  fs: StaticFs,
): Response | Promise<Response> {
  const h = req.headers;
  const rangeHeader = o.ranges ? h.get('range') : null;
  let rep = entry.identity;
  if (entry.offered.length > 0) {
    const coding = negotiateEncoding(h.get('accept-encoding'), entry.offered);
    if (coding !== undefined) {
      const sibling = entry.siblings[coding];
      if (sibling !== undefined) rep = sibling;
      else if (entry.identity.data !== undefined) {
        return compressedRepresentation(entry, coding, o).then((r) =>
          respond(entry, r, req, isHead, rangeHeader, o, fs),
        );
      } else if (rangeHeader === null) {
        // Ranges of a stream compressed on the fly cannot be computed: a Range gets identity.
        rep = streamingRepresentation(entry, coding, o);
      }
    }
  }
  return respond(entry, rep, req, isHead, rangeHeader, o, fs);
}

function respond(
  entry: FileEntry,
  rep: Representation,
  req: Request,
  isHead: boolean,
  rangeHeader: string | null,
  o: ResolvedOptions,
  fs: StaticFs,
): Response | Promise<Response> {
  const h = req.headers;
  const verdict = evaluatePreconditions(
    {
      ifMatch: h.get('if-match'),
      ifNoneMatch: h.get('if-none-match'),
      ifModifiedSince: h.get('if-modified-since'),
      ifUnmodifiedSince: h.get('if-unmodified-since'),
    },
    rep.etag,
    rep.mtimeMs,
  );
  if (verdict === 'not-modified') return new Response(null, { status: 304, headers: sealed304Of(rep) });
  if (verdict === 'failed') return errorResponse(req, 'FOYER_PRECONDITION_FAILED');

  if (rangeHeader !== null && rep.size >= 0) {
    const ifRange = h.get('if-range');
    if (ifRange === null || ifRangeMatches(ifRange, rep.etag, rep.mtimeMs)) {
      const ranges = parseRange(rangeHeader, rep.size, o.maxRanges);
      if (ranges === 'unsatisfiable') {
        return errorResponse(req, 'FOYER_RANGE_NOT_SATISFIABLE', {
          'content-range': `bytes */${rep.size}`,
          'accept-ranges': 'bytes',
          ...rep.headers304,
        });
      }
      if (ranges !== 'ignore') {
        if (ranges.length === 1) {
          const r = ranges[0]!;
          const headers = {
            ...rep.headers200,
            'content-length': String(r.end - r.start + 1),
            'content-range': contentRange(r, rep.size),
          };
          if (isHead) return new Response(headBody(), { status: 206, headers });
          if (rep.data !== undefined)
            return new Response(rep.data.subarray(r.start, r.end + 1), { status: 206, headers });
          return streamed(entry, rep, [r], 206, headers, o, fs);
        }
        const type = rep.headers200['content-type']!;
        const parts = buildMultipart(ranges, rep.size, type);
        const headers = {
          ...rep.headers200,
          'content-type': parts.contentType,
          'content-length': String(parts.length),
        };
        if (isHead) return new Response(headBody(), { status: 206, headers });
        if (rep.data !== undefined) return new Response(multipartFromBuffer(parts, rep.data), { status: 206, headers });
        return streamed(entry, rep, parts.pieces, 206, headers, o, fs);
      }
    }
  }

  if (isHead) return new Response(headBody(), { status: 200, headers: sealed200Of(rep) });
  if (rep.data !== undefined) return new Response(rep.data, { status: 200, headers: sealed200Of(rep) });
  if (rep.size < 0) return compressedStream(entry, rep, o, fs);
  return streamed(entry, rep, [{ start: 0, end: rep.size - 1 }], 200, rep.headers200, o, fs);
}

/** Opens the file and checks it is still the one the headers describe (no torn or stale answer). */
async function openVerified(entry: FileEntry, rep: Representation, fs: StaticFs) {
  const path = rep.path ?? entry.fsPath;
  const file = await fs.open(path);
  try {
    const st = await file.stat();
    const expectedSize = rep.size >= 0 ? rep.size : entry.identity.size;
    if (st.ino !== rep.ino || st.mtimeMs !== rep.mtimeMs || st.size !== expectedSize) throw new StaleEntryError();
    return file;
  } catch (err) {
    await file.close();
    throw err;
  }
}

async function streamed(
  entry: FileEntry,
  rep: Representation,
  pieces: BodyPiece[],
  status: number,
  headers: Record<string, string>,
  o: ResolvedOptions,
  fs: StaticFs,
): Promise<Response> {
  const file = await openVerified(entry, rep, fs);
  if (rep.size === 0) {
    await file.close();
    return new Response(new Uint8Array(0), { status, headers });
  }
  return new Response(fileStream(file, pieces, o.chunkSize), { status, headers });
}

async function compressedStream(entry: FileEntry, rep: Representation, o: ResolvedOptions, fs: StaticFs) {
  const file = await openVerified(entry, rep, fs);
  const size = entry.identity.size;
  const source = fileStream(file, [{ start: 0, end: size - 1 }], o.chunkSize);
  const zip = createCompressor(rep.coding!, o.brotliQuality, o.gzipLevel, size);
  const input = Readable.fromWeb(source as unknown as NodeReadableStream<Uint8Array>);
  // Errors travel both ways: a failed read destroys the compressor, a cancelled response the reader.
  input.on('error', (err) => zip.destroy(err));
  zip.on('close', () => input.destroy());
  input.pipe(zip);
  const body = Readable.toWeb(zip) as unknown as ReadableStream<Uint8Array>;
  return new Response(body, { status: 200, headers: rep.headers200 });
}
