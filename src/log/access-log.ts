// The transaction log (the access log): one line per request, written off the request path.
// Lines are batched in memory and handed to a SonicBoom (pino's asynchronous file writer) in
// batches of whole lines, so a batch is one write(2) on an O_APPEND descriptor: with several
// workers appending to one file, lines land whole and never interleave. A stuck disk fills the
// writer's bounded buffer and further batches are dropped and counted, never queued without end.
// reopen() (SIGUSR1, logrotate) reopens the path; with O_APPEND, copytruncate works as well.
// A line is formatted and encoded into the current batch's Buffer as soon as its request is over
// (after its last byte was handed to the socket): nothing of the request (its header strings) is
// kept until the batch is written, so nothing of it survives a young-generation collection.
// Measured with callgrind: a line built as one string and encoded by Buffer's native writer costs
// less than copying it byte by byte from JavaScript (a char loop runs ~3-4 ns per character here).
import { pino } from 'pino';
import type { Transaction } from '../reception/transaction.ts';
import { type AccessLogFormat, createFormatter, type LineFormatter } from './access-format.ts';

export interface AccessLogOptions {
  /** File path (appended to, created with its directory), or '-' for standard output. */
  path: string;
  format?: AccessLogFormat;
  /** Worker id shown in JSON lines (0 for a single process). */
  worker?: number;
  /** A batch is written when it reaches this many bytes. Default 32 KiB. */
  batchBytes?: number;
  /** …or this many ms after its first line. Default 250. */
  flushInterval?: number;
  /** Bytes the writer may hold while the disk is slow before batches are dropped. Default 8 MiB. */
  maxBuffered?: number;
}

type Destination = ReturnType<typeof pino.destination>;
/** Buffer's own UTF-8 writer, without Buffer#write's argument handling (measured: most of its cost per line). */
type Utf8Writer = { utf8Write(s: string, offset: number, length: number): number };
/** Buffer's own one-byte writer: it copies a joined string's pieces without flattening it first. */
type Latin1Writer = { latin1Write(s: string, offset: number, length: number): number };

export class AccessLog {
  readonly path: string;
  readonly format: AccessLogFormat;
  readonly #format: LineFormatter;
  /** Lines are ASCII (combined, common): written one byte per char, without UTF-8 encoding. */
  readonly #ascii: boolean;
  readonly #dest: Destination;
  readonly #batchBytes: number;
  readonly #interval: number;
  readonly #size: number;
  /** The batch being filled: whole lines from 0 to #at. */
  #buf: Buffer;
  #at = 0;
  #lines = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  #closed = false;
  /** Lines handed to the writer / dropped because it was full. */
  lines = 0;
  dropped = 0;

  constructor(opts: AccessLogOptions) {
    this.path = opts.path;
    this.#batchBytes = opts.batchBytes ?? 32 * 1024;
    this.#interval = opts.flushInterval ?? 250;
    // Room for a full batch plus the line that crosses batchBytes (a line runs about 100-200 bytes).
    this.#size = Math.max(this.#batchBytes * 2, 64 * 1024);
    this.#buf = Buffer.allocUnsafe(this.#size);
    this.format = opts.format ?? 'combined';
    this.#format = createFormatter(this.format, opts.worker ?? 0);
    this.#ascii = this.format !== 'json';
    const toStdout = opts.path === '-';
    this.#dest = pino.destination({
      dest: toStdout ? 1 : opts.path,
      sync: false,
      append: true,
      mkdir: !toStdout,
      // sonic-boom writes at most maxWrite bytes per write(2) and never splits one write() call: a
      // batch (batchBytes plus one line, a line at most ~4× a 16 KiB head once escaped) fits.
      maxWrite: Math.max(this.#batchBytes * 2, 128 * 1024),
      maxLength: opts.maxBuffered ?? 8 * 1024 * 1024,
      // Batches arrive as bytes (see #writeBatch), kept by reference until written.
      contentMode: 'buffer',
    } as Parameters<typeof pino.destination>[0]);
    this.#dest.on('drop', (data: Buffer) => {
      let n = 0;
      for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) n++;
      this.dropped += n;
    });
    // A failing disk must not take the server down; the failure shows in `dropped`.
    this.#dest.on('error', () => {});
  }

  /** The transaction hook: the line is final now (bytes sent and duration), written into the batch. */
  readonly record = (tx: Transaction): void => {
    if (this.#closed) return;
    const line = this.#format(tx, tx.end);
    // A UTF-16 unit is at most 3 UTF-8 bytes; a line never spans two batches (two writes).
    const room = this.#ascii ? line.length : line.length * 3;
    if (this.#at + room > this.#buf.length) {
      this.#writeBatch();
      // A line longer than a batch (a huge escaped target or header) gets a buffer of its own.
      if (room > this.#buf.length) this.#buf = Buffer.allocUnsafe(room);
    }
    const buf = this.#buf;
    this.#at += this.#ascii
      ? (buf as unknown as Latin1Writer).latin1Write(line, this.#at, buf.length - this.#at)
      : (buf as unknown as Utf8Writer).utf8Write(line, this.#at, buf.length - this.#at);
    this.#lines++;
    if (this.#at >= this.#batchBytes) this.#writeBatch();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#writeBatch();
      }, this.#interval);
      this.#timer.unref();
    }
  };

  /** Hands the batch's whole lines to the writer (one write(2)) and starts a new batch. */
  #writeBatch(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#lines === 0) return;
    const full = this.#buf.subarray(0, this.#at);
    const n = this.#lines;
    // The writer keeps the batch by reference until written: the next one needs a fresh Buffer.
    this.#buf = Buffer.allocUnsafe(this.#size);
    this.#at = 0;
    this.#lines = 0;
    this.#hand(full, n);
  }

  #hand(batch: Buffer, n: number): void {
    const before = this.dropped;
    this.#dest.write(batch as unknown as string);
    this.lines += n - (this.dropped - before);
  }

  /** Hands buffered lines to the writer and waits until they are written. */
  flush(): Promise<void> {
    this.#writeBatch();
    return new Promise((resolve) => {
      try {
        this.#dest.flush(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** At exit: writes everything now. */
  flushSync(): void {
    this.#writeBatch();
    try {
      this.#dest.flushSync();
    } catch {
      // nothing buffered, or the writer is still opening: SonicBoom flushes once open
    }
  }

  /** Reopens the path (after logrotate moved the file away); lines in flight go to the new file. */
  reopen(): void {
    if (this.#closed || this.path === '-') return;
    this.#writeBatch();
    this.#dest.reopen();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.path === '-') return;
    await new Promise<void>((resolve) => {
      this.#dest.once('close', () => resolve());
      this.#dest.end();
    });
  }
}
