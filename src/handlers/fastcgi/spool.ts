// A request body without Content-Length (chunked) is spooled before it goes to php-fpm: PHP needs
// CONTENT_LENGTH to read a body at all. Small bodies stay in memory; past `memoryLimit` the body
// moves to a private temp file (mode 0600, unlinked as soon as it is complete), so a 100 MB upload
// costs one file, not 100 MB of heap. Past `maxSize` the request is refused (413).
import process from 'node:process';
import { Buffer } from 'node:buffer';
import type { ReadableStream } from 'node:stream/web';
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface SpoolOptions {
  memoryLimit: number;
  maxSize: number;
  dir: string;
}

export interface SpooledBody {
  readonly length: number;
  /** Iterates the body; may be called again (a retry replays the same bytes). */
  chunks(): AsyncIterable<Uint8Array>;
  dispose(): Promise<void>;
}

export class SpoolTooLargeError extends Error {
  constructor() {
    super('request body exceeds the spool limit');
    this.name = 'SpoolTooLargeError';
  }
}

const READ_SIZE = 64 * 1024;

export async function spoolBody(body: ReadableStream<Uint8Array>, opts: SpoolOptions): Promise<SpooledBody> {
  const memory: Uint8Array[] = [];
  let length = 0;
  let file: FileHandle | undefined;
  let path: string | undefined;
  try {
    for await (const chunk of body) {
      length += chunk.length;
      if (length > opts.maxSize) throw new SpoolTooLargeError();
      if (file === undefined && length <= opts.memoryLimit) {
        memory.push(chunk);
        continue;
      }
      if (file === undefined) {
        path = join(opts.dir, `foyer-fcgi-${process.pid}-${randomBytes(8).toString('hex')}`);
        file = await open(path, 'wx+', 0o600);
        for (const m of memory.splice(0)) await file.write(m);
      }
      await file.write(chunk);
    }
  } catch (err) {
    await file?.close().catch(() => {});
    if (path !== undefined) await unlink(path).catch(() => {});
    throw err;
  }
  if (file === undefined) {
    return {
      length,
      async *chunks() {
        yield* memory;
      },
      dispose: async () => {},
    };
  }
  // The open handle keeps the data; the name goes now so that nothing is left behind on a crash.
  await unlink(path!).catch(() => {});
  const handle = file;
  return {
    length,
    async *chunks() {
      let position = 0;
      while (position < length) {
        const buf = Buffer.allocUnsafe(Math.min(READ_SIZE, length - position));
        const { bytesRead } = await handle.read(buf, 0, buf.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    },
    dispose: () => handle.close().catch(() => {}),
  };
}
