// Large uploads streamed to disk, never held in memory: multipart files (busboy) and raw bodies
// each go to a fresh private temp directory with per-file, total and count limits. Temp files are
// removed when the App finishes the request (or by `cleanup()`), and at once on any failure.
import type { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { AttributeKey, Context } from '../../types.ts';
import { attribute } from '../../types.ts';
import { FoyerError, findHttpError, type HttpError } from '../../util/errors.ts';
import { mediaType } from './body.ts';

export interface UploadOptions {
  /** Parent directory of the per-request temp directory. Default: os.tmpdir(). */
  dir?: string;
  /** Largest single file in bytes → 413. Default 10 MiB. */
  maxFileSize?: number;
  /** Largest sum of all files in bytes → 413. Default 50 MiB. */
  maxTotalSize?: number;
  /** Most files → 413. Default 10. */
  maxFiles?: number;
  /** Most non-file fields → 413. Default 100. */
  maxFields?: number;
  /** Largest non-file field in bytes → 413. Default 64 KiB. */
  maxFieldSize?: number;
}

export interface UploadedFile {
  /** The form field name ('' for a raw body). */
  field: string;
  /** The client's file name, for display only: never use it as a path. */
  filename: string;
  type: string;
  /** Where the bytes are on disk (a random name inside a private temp directory). */
  path: string;
  size: number;
}

export interface Upload {
  fields: Record<string, string | string[]>;
  files: UploadedFile[];
  /** Removes the temp files now (the App also does it after the request). Idempotent. */
  cleanup(): Promise<void>;
}

const CLEANUPS: AttributeKey<Array<() => Promise<void>>> = attribute('foyer.cleanups');

/** Starts the request's cleanups without delaying the response; failures are logged by waitUntil. */
export function scheduleCleanups(ctx: Context): void {
  if (ctx.get(CLEANUPS)?.length) ctx.waitUntil(runCleanups(ctx));
}

/** Runs and forgets the request's registered cleanups (called by App.fetch and the CLI). */
export async function runCleanups(ctx: Context): Promise<void> {
  const list = ctx.get(CLEANUPS);
  if (list === undefined || list.length === 0) return;
  ctx.set(CLEANUPS, []);
  await Promise.all(list.map((fn) => fn().catch((err: unknown) => ctx.log.warn({ err }, 'temp file cleanup failed'))));
}

async function tempDir(
  ctx: Context | undefined,
  options: UploadOptions,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(options.dir ?? tmpdir(), 'foyer-upload-'));
  let removed: Promise<void> | undefined;
  const cleanup = () => (removed ??= rm(dir, { recursive: true, force: true }));
  if (ctx !== undefined) {
    const list = ctx.get(CLEANUPS) ?? [];
    list.push(cleanup);
    ctx.set(CLEANUPS, list);
  }
  return { dir, cleanup };
}

/** Counts bytes through a stream and fails once they pass `max`. */
function counter(max: number, onBytes: (n: number) => boolean): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > max || !onBytes(chunk.length)) cb(new FoyerError('FOYER_UPLOAD_TOO_LARGE'));
      else cb(null, chunk);
    },
  });
}

function bodyStream(req: Request): Readable {
  return req.body === null ? Readable.from([]) : Readable.fromWeb(req.body as never);
}

/** Streams a multipart/form-data body to disk. Fields are returned as strings. */
export async function receiveMultipart(req: Request, ctx?: Context, options: UploadOptions = {}): Promise<Upload> {
  if (mediaType(req) !== 'multipart/form-data') {
    throw new FoyerError('FOYER_UNSUPPORTED_MEDIA_TYPE', 'expected multipart/form-data');
  }
  const maxFile = options.maxFileSize ?? 10 * 1024 * 1024;
  const maxTotal = options.maxTotalSize ?? 50 * 1024 * 1024;
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: { 'content-type': req.headers.get('content-type') ?? '' },
      limits: {
        files: options.maxFiles ?? 10,
        fields: options.maxFields ?? 100,
        fieldSize: options.maxFieldSize ?? 64 * 1024,
        // busboy truncates at fileSize; one more byte lets the counter below see the excess.
        fileSize: maxFile + 1,
      },
    });
  } catch (err) {
    throw new FoyerError('FOYER_BAD_FORM', (err as Error).message);
  }
  const { dir, cleanup } = await tempDir(ctx, options);
  const fields: Record<string, string | string[]> = Object.create(null);
  const files: UploadedFile[] = [];
  const writes: Promise<void>[] = [];
  let total = 0;
  const input = bodyStream(req);
  let failure: HttpError | undefined;
  const fail = (e: HttpError) => {
    failure ??= e;
    input.unpipe(bb);
    input.destroy();
    bb.destroy();
  };
  const parsed = new Promise<void>((resolve) => {
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated)
        return fail(new FoyerError('FOYER_UPLOAD_TOO_LARGE', 'field too long'));
      const prev = fields[name];
      fields[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    });
    bb.on('file', (field, file, info) => {
      const entry: UploadedFile = {
        field,
        filename: (info.filename ?? '').replace(/^.*[\\/]/, ''),
        type: info.mimeType,
        path: join(dir, randomUUID()),
        size: 0,
      };
      files.push(entry);
      const count = counter(maxFile, (n) => {
        entry.size += n;
        total += n;
        return total <= maxTotal;
      });
      writes.push(
        pipeline(file, count, createWriteStream(entry.path, { flags: 'wx', mode: 0o600 })).catch((e: unknown) => {
          file.resume();
          // A disk error (ENOSPC, EACCES …) is ours; anything else is the form's fault.
          const ours = typeof (e as NodeJS.ErrnoException).code === 'string';
          fail(findHttpError(e) ?? new FoyerError(ours ? 'FOYER_INTERNAL' : 'FOYER_BAD_FORM', String(e)));
        }),
      );
    });
    bb.on('filesLimit', () => fail(new FoyerError('FOYER_UPLOAD_TOO_LARGE', 'too many files')));
    bb.on('fieldsLimit', () => fail(new FoyerError('FOYER_UPLOAD_TOO_LARGE', 'too many fields')));
    bb.on('error', (e: Error) => fail(findHttpError(e) ?? new FoyerError('FOYER_BAD_FORM', e.message)));
    bb.on('close', resolve);
  });
  input.on('error', (e) => fail(findHttpError(e) ?? new FoyerError('FOYER_BAD_FORM', e.message)));
  input.pipe(bb);
  await parsed;
  await Promise.all(writes);
  if (failure !== undefined) {
    await cleanup();
    throw failure;
  }
  return { fields, files, cleanup };
}

/** Streams a raw request body (any type) to one temp file, limited by `maxFileSize`. */
export async function receiveRaw(req: Request, ctx?: Context, options: UploadOptions = {}): Promise<Upload> {
  const max = options.maxFileSize ?? 10 * 1024 * 1024;
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > max) {
    await req.body?.cancel().catch(() => {});
    throw new FoyerError('FOYER_UPLOAD_TOO_LARGE', `declared ${declared}`);
  }
  const { dir, cleanup } = await tempDir(ctx, options);
  const entry: UploadedFile = {
    field: '',
    filename: '',
    type: req.headers.get('content-type') ?? 'application/octet-stream',
    path: join(dir, randomUUID()),
    size: 0,
  };
  try {
    const count = counter(max, (n) => {
      entry.size += n;
      return true;
    });
    await pipeline(bodyStream(req), count, createWriteStream(entry.path, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    await cleanup();
    throw findHttpError(err) ?? new FoyerError('FOYER_BAD_REQUEST', String(err));
  }
  return { fields: Object.create(null), files: [entry], cleanup };
}
