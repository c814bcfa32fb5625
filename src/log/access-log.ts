// The transaction log (the access log): one line per request, written off the request path.
// Lines are batched in memory and handed to a SonicBoom (pino's asynchronous file writer) in
// batches of whole lines, so a batch is one write(2) on an O_APPEND descriptor: with several
// workers appending to one file, lines land whole and never interleave. A stuck disk fills the
// writer's bounded buffer and further batches are dropped and counted, never queued without end.
// reopen() (SIGUSR1, logrotate) reopens the path; with O_APPEND, copytruncate works as well.
// A line is made as soon as its request is over (after its last byte was handed to the socket) and
// appended to the batch by concatenation (V8 keeps the batch as a rope): nothing of the request but
// the line is kept until the batch is written, and the batch is flattened and encoded once, in one
// copy. Measured with callgrind: encoding each line on its own cost most of the log, joining an array
// of pieces twice what the rope costs, and copying bytes from JavaScript more still (a char loop runs
// ~3-4 ns per character here).
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

export class AccessLog {
  readonly path: string;
  readonly format: AccessLogFormat;
  readonly #line: LineFormatter;
  /** Lines are ASCII (combined, common): encoded one byte per char, not as UTF-8. */
  readonly #ascii: boolean;
  readonly #dest: Destination;
  readonly #batchBytes: number;
  readonly #interval: number;
  /** The batch being filled (whole lines), and its length in UTF-16 units. */
  #text = '';
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
    this.format = opts.format ?? 'combined';
    this.#line = createFormatter(this.format, opts.worker ?? 0);
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

  /** The transaction hook: the line is final now (bytes sent and duration), added to the batch. */
  readonly record = (tx: Transaction): void => {
    if (this.#closed) return;
    const line = this.#line(tx, tx.end);
    // A line as long as a batch (a huge escaped target or header) leaves in a write of its own, so
    // that a write of several lines stays under the writer's maxWrite and is never split in two.
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

  /** Hands the batch's lines to the writer as one write(2). */
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
    // The writer keeps the Buffer by reference until it is written.
    this.#hand(Buffer.from(text, this.#ascii ? 'latin1' : 'utf8'), lines);
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
