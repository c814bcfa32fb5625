// The upstream response's overflow while the client reads slower than PHP writes: memory up to
// `memoryLimit`, then a private temp file up to `maxFileSize` (nginx's fastcgi_buffers and
// fastcgi_max_temp_file_size). PHP is read at its own pace and its php-fpm child is released as
// soon as the script is done; the client is sent the bytes at its pace. When both bounds are
// full, `push` says so and the caller falls back to backpressure (pausing php-fpm's socket).
// The temp file is unlinked as soon as it is created: nothing is left behind, whatever happens.
import process from 'node:process';
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface ResponseBufferOptions {
  /** Bytes held in memory before the temp file is used. */
  memoryLimit: number;
  /** Bytes the temp file may take in all (0: no temp file). */
  maxFileSize: number;
  /** Directory of the temp file. */
  dir: string;
  /** Bytes of every buffer sharing this object (one gateway), and their bounds. */
  budget?: TempBudget;
}

/**
 * Bounds on what all the response buffers of a gateway hold together: temp-file bytes (`used`,
 * `max`) and memory (`memory`, `memoryMax`). Each request has its own bounds, but a client that
 * pipelines 32 requests and reads nothing fills 32 buffers at once per connection: without a
 * total, a few hundred connections fill the disk or the heap.
 */
export interface TempBudget {
  used: number;
  readonly max: number;
  memory: number;
  readonly memoryMax: number;
}

const READ_SIZE = 64 * 1024;

export class ResponseBuffer {
  readonly #o: ResponseBufferOptions;
  readonly #memory: Uint8Array[] = [];
  #memoryBytes = 0;
  // Once bytes go to the file, every later byte follows them there until the file is read out:
  // the order of the response is the order of the file.
  #file: Promise<FileHandle> | undefined;
  #written = 0; // bytes appended to the file
  #read = 0; // bytes of the file handed out
  // Bytes that came once both bounds were full: after the file, while the caller applies
  // backpressure (at most what the reads before the pause brought).
  readonly #tail: Uint8Array[] = [];
  #tailBytes = 0;
  #writes: Promise<unknown> = Promise.resolve();
  #failure: Error | undefined;
  #disposed = false;

  constructor(o: ResponseBufferOptions) {
    this.#o = o;
  }

  /** Bytes waiting, in memory and in the file. */
  get size(): number {
    return this.#memoryBytes + this.#written - this.#read + this.#tailBytes;
  }

  /** Keeps a chunk, always; false when the bounds are full and the caller should stop reading. */
  push(chunk: Uint8Array): boolean {
    if (this.#disposed) return true;
    const inFile = this.#written - this.#read;
    const budget = this.#o.budget;
    if (
      inFile === 0 &&
      this.#tailBytes === 0 &&
      this.#memoryBytes + chunk.byteLength <= this.#o.memoryLimit &&
      (budget === undefined || budget.memory + chunk.byteLength <= budget.memoryMax)
    ) {
      this.#memory.push(chunk);
      this.#memoryBytes += chunk.byteLength;
      if (budget !== undefined) budget.memory += chunk.byteLength;
      return true;
    }
    if (
      this.#tailBytes > 0 ||
      this.#written + chunk.byteLength > this.#o.maxFileSize ||
      (budget !== undefined && budget.used + chunk.byteLength > budget.max)
    ) {
      this.#tail.push(chunk);
      this.#tailBytes += chunk.byteLength;
      return false;
    }
    const file = this.#openFile();
    const position = this.#written;
    this.#written += chunk.byteLength;
    if (budget !== undefined) budget.used += chunk.byteLength;
    this.#writes = this.#writes.then(async () => {
      const h = await file;
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await h.write(chunk, done, chunk.byteLength - done, position + done);
        done += bytesWritten;
      }
    });
    this.#writes.catch((err: unknown) => {
      this.#failure ??= err instanceof Error ? err : new Error(String(err));
    });
    return true;
  }

  /** The next bytes in order, or undefined when nothing waits. Throws if the temp file failed. */
  async shift(): Promise<Uint8Array | undefined> {
    if (this.#memory.length > 0) {
      // Everything in memory goes as one chunk: php-fpm's reads are small (its records are 8 KiB),
      // and a chunk per read would cost the client's side a write (and a chunk frame) per read.
      const memory = this.#memory.splice(0);
      const bytes = this.#memoryBytes;
      this.#memoryBytes = 0;
      if (this.#o.budget !== undefined) this.#o.budget.memory -= bytes;
      return memory.length === 1 ? memory[0]! : Buffer.concat(memory, bytes);
    }
    const pending = this.#written - this.#read;
    if (pending === 0 || this.#file === undefined) {
      const last = this.#tail.shift();
      if (last !== undefined) this.#tailBytes -= last.byteLength;
      return last;
    }
    await this.#writes.catch(() => {});
    if (this.#failure !== undefined) throw this.#failure;
    const h = await this.#file;
    const buf = Buffer.allocUnsafe(Math.min(READ_SIZE, pending));
    const { bytesRead } = await h.read(buf, 0, buf.length, this.#read);
    if (bytesRead === 0) throw new Error('response temp file ended early');
    this.#read += bytesRead;
    return buf.subarray(0, bytesRead);
  }

  /**
   * Moves the next bytes into a stream; true once nothing waits (the caller reads php-fpm again,
   * or ends the stream). A temp file that failed errors the stream.
   */
  async feed(c: ReadableStreamDefaultController<Uint8Array>): Promise<boolean> {
    if (this.size === 0) return true;
    try {
      const chunk = await this.shift();
      if (chunk !== undefined && !this.#disposed) c.enqueue(chunk);
    } catch (err) {
      this.dispose();
      c.error(err);
      return false;
    }
    return this.size === 0;
  }

  /** Drops everything and removes the temp file; safe to call more than once. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#memory.length = 0;
    if (this.#o.budget !== undefined) this.#o.budget.memory -= this.#memoryBytes;
    this.#memoryBytes = 0;
    this.#tail.length = 0;
    this.#tailBytes = 0;
    // The file's space is given back when it is closed, just below.
    if (this.#o.budget !== undefined) this.#o.budget.used -= this.#written;
    const file = this.#file;
    if (file !== undefined) {
      void this.#writes.finally(() => file.then((h) => h.close())).catch(() => {});
    }
  }

  #openFile(): Promise<FileHandle> {
    if (this.#file !== undefined) return this.#file;
    const path = join(this.#o.dir, `foyer-fcgi-out-${process.pid}-${randomBytes(8).toString('hex')}`);
    this.#file = open(path, 'wx+', 0o600).then(async (h) => {
      // The open handle keeps the data; the name goes at once, so nothing is left behind.
      await unlink(path).catch(() => {});
      return h;
    });
    this.#file.catch(() => {});
    return this.#file;
  }
}
