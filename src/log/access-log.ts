// The transaction log (the access log): one line per request, written off the request path.
// Lines are batched in memory and handed to a SonicBoom (pino's asynchronous file writer) in
// batches of whole lines, so a batch is one write(2) on an O_APPEND descriptor: with several
// workers appending to one file, lines land whole and never interleave. A stuck disk fills the
// writer's bounded buffer and further batches are dropped and counted, never queued without end.
// reopen() (SIGUSR1, logrotate) reopens the path; with O_APPEND, copytruncate works as well.
// The request path only copies a request's raw fields into preallocated columns (a few stores, no
// string built, nothing allocated); lines are formatted for the whole batch when it is written,
// each copied into the batch's Buffer as soon as it is made: concatenating a batch of lines into
// one string costs more than formatting them (V8 must flatten the whole string tree to write it).
import { pino } from 'pino';
import type { Transaction } from '../reception/transaction.ts';
import { type AccessLogFormat, createFormatter, type LineFormatter } from './access-format.ts';
import { Pending, Row } from './pending-lines.ts';

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
const EMPTY: readonly string[] = [];

export class AccessLog {
  readonly path: string;
  readonly #format: LineFormatter;
  readonly #dest: Destination;
  readonly #batchBytes: number;
  readonly #interval: number;
  readonly #pending: Pending;
  readonly #capacity: number;
  readonly #row = new Row();
  readonly #wantsId: boolean;
  #count = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  #closed = false;
  /** Lines handed to the writer / dropped because it was full. */
  lines = 0;
  dropped = 0;

  constructor(opts: AccessLogOptions) {
    this.path = opts.path;
    this.#format = createFormatter(opts.format ?? 'combined', opts.worker ?? 0);
    this.#batchBytes = opts.batchBytes ?? 32 * 1024;
    this.#interval = opts.flushInterval ?? 250;
    // Lines run about 100-200 bytes: a batch is written at batchBytes or at this many requests.
    this.#capacity = Math.max(16, Math.ceil(this.#batchBytes / 64));
    this.#pending = new Pending(this.#capacity);
    this.#wantsId = (opts.format ?? 'combined') === 'json';
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

  /** The transaction hook: keeps the raw fields (bytes sent and duration are final now), formats later. */
  readonly record = (tx: Transaction): void => {
    if (this.#closed) return;
    const p = this.#pending;
    const i = this.#count++;
    p.start[i] = tx.start;
    p.time[i] = tx.end;
    p.status[i] = tx.status;
    p.bytes[i] = tx.bytes;
    p.minor[i] = tx.minor;
    p.method[i] = tx.method;
    p.target[i] = tx.target;
    p.rawLine[i] = tx.rawLine;
    p.fields[i] = tx.fields;
    p.peer[i] = tx.peer;
    const ctx = tx.ctx;
    if (ctx !== undefined) {
      p.address[i] = ctx.remoteAddress;
      p.user[i] = ctx.remoteUser;
      if (this.#wantsId) p.id[i] = ctx.requestId;
    } else p.address[i] = undefined;
    if (this.#count === this.#capacity) this.#writeBatch();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#writeBatch();
      }, this.#interval);
      this.#timer.unref();
    }
  };

  /** Formats the pending lines and hands them to the writer in writes of whole lines. */
  #writeBatch(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const n = this.#count;
    if (n === 0) return;
    this.#count = 0;
    const p = this.#pending;
    const row = this.#row;
    const size = Math.max(this.#batchBytes * 2, 64 * 1024);
    let buf = Buffer.allocUnsafe(size);
    let at = 0;
    let lines = 0;
    for (let i = 0; i < n; i++) {
      row.load(p, i);
      const line = this.#format(row, p.time[i]!);
      // Drop references (header strings) as soon as the line is made.
      p.fields[i] = EMPTY;
      p.user[i] = undefined;
      p.id[i] = undefined;
      // A UTF-16 unit is at most 3 UTF-8 bytes: a line that might not fit starts a new batch.
      if (at + line.length * 3 > size) {
        if (lines > 0) {
          this.#hand(buf.subarray(0, at), lines);
          buf = Buffer.allocUnsafe(size);
          at = 0;
          lines = 0;
        }
        if (line.length * 3 > size) {
          this.#hand(Buffer.from(line), 1);
          continue;
        }
      }
      at += (buf as unknown as Utf8Writer).utf8Write(line, at, size - at);
      lines++;
      if (at >= this.#batchBytes) {
        this.#hand(buf.subarray(0, at), lines);
        buf = Buffer.allocUnsafe(size);
        at = 0;
        lines = 0;
      }
    }
    if (lines > 0) this.#hand(buf.subarray(0, at), lines);
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
