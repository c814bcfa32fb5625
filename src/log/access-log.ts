// The transaction log (the access log): one line per request, written off the request path.
// Lines are batched in memory and handed to an AppendWriter in batches of whole lines: one write(2)
// at a time on an O_APPEND descriptor, so with several workers appending to one file, lines land
// whole and never interleave. A stuck disk fills the writer's bounded queue and further batches are
// dropped and counted, never queued without end. reopen() (SIGUSR1, logrotate) reopens the path;
// with O_APPEND, copytruncate works as well.
// A line is made as soon as its request is over (after its last byte was handed to the socket) and
// appended to the batch by concatenation (V8 keeps the batch as a rope): nothing of the request but
// the line is kept until the batch is handed over, and the batch is encoded once, into the writer's
// buffer. Measured with callgrind: encoding each line on its own cost most of the log, joining an
// array of pieces twice what the rope costs, and copying bytes from JavaScript more still (a char
// loop runs ~3-4 ns per character here).
import type { Transaction } from '../reception/transaction.ts';
import { type AccessLogFormat, createFormatter, type LineFormatter } from './access-format.ts';
import { AppendWriter } from './append-writer.ts';

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
  /** Told when lines start being lost (the file cannot be opened or written), once until it works again. */
  onError?: (err: NodeJS.ErrnoException) => void;
}

/**
 * The least time the log is given to write its last lines when the server closes: a file takes
 * them in microseconds; a destination that takes nothing for this long is stuck (AppendWriter#close).
 * A worker's primary waits this much past the shutdown timeout before it kills the worker.
 */
export const LOG_CLOSE_GRACE_MS = 2_000;

export class AccessLog {
  readonly path: string;
  readonly format: AccessLogFormat;
  readonly #line: LineFormatter;
  readonly #out: AppendWriter;
  readonly #batchBytes: number;
  readonly #interval: number;
  /** The batch being filled (whole lines), and its length in UTF-16 units. */
  #text = '';
  #lines = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  #closed = false;

  constructor(opts: AccessLogOptions) {
    this.path = opts.path;
    this.#batchBytes = opts.batchBytes ?? 32 * 1024;
    this.#interval = opts.flushInterval ?? 250;
    this.format = opts.format ?? 'combined';
    this.#line = createFormatter(this.format, opts.worker ?? 0);
    this.#out = new AppendWriter({
      path: opts.path,
      // Combined and common lines are ASCII (escaped): one byte per char. JSON may hold UTF-8.
      encoding: this.format === 'json' ? 'utf8' : 'latin1',
      maxPending: opts.maxBuffered ?? 8 * 1024 * 1024,
      // A batch and a line more (a line as long as a batch leaves alone), in bytes: a JSON line's
      // char may take 3 (a buffer too small is grown for a batch, then let go).
      bufferBytes: Math.max(this.#batchBytes * (this.format === 'json' ? 6 : 2), 64 * 1024),
      onError: opts.onError,
    });
  }

  /** Lines handed to the writer (written, or waiting to be). */
  get lines(): number {
    return this.#out.lines;
  }

  /** Lines dropped: the destination was too slow (its queue full) or a write failed. */
  get dropped(): number {
    return this.#out.dropped;
  }

  /** The transaction hook: the line is final now (bytes sent and duration), added to the batch. */
  readonly record = (tx: Transaction): void => {
    if (this.#closed) return;
    const line = this.#line(tx, tx.end);
    // A line as long as a batch (a huge escaped target or header) leaves in a batch of its own.
    if (line.length >= this.#batchBytes && this.#lines > 0) this.#writeBatch();
    this.#text += line;
    this.#lines++;
    if (this.#text.length >= this.#batchBytes) this.#writeBatch();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#writeBatch();
      }, this.#interval);
      this.#timer.unref();
    }
  };

  /** Hands the batch's lines to the writer. */
  #writeBatch(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#lines === 0) return;
    const text = this.#text;
    const lines = this.#lines;
    this.#text = '';
    this.#lines = 0;
    this.#out.write(text, lines);
  }

  /** Hands buffered lines to the writer and waits until they are written (at once while it cannot open). */
  flush(): Promise<void> {
    this.#writeBatch();
    return this.#out.idle();
  }

  /** At exit: writes what is buffered now, synchronously. */
  flushSync(): void {
    this.#writeBatch();
    this.#out.flushSync();
  }

  /** Reopens the path (after logrotate moved the file away); lines in flight go to the old file. */
  reopen(): void {
    if (this.#closed) return;
    this.#writeBatch();
    this.#out.reopen();
  }

  /** Writes what is buffered and closes; a destination that takes nothing for `timeoutMs` is given up (AppendWriter#close). */
  async close(timeoutMs?: number): Promise<void> {
    if (this.#closed) return;
    this.#writeBatch();
    this.#closed = true;
    await this.#out.close(timeoutMs);
  }
}
