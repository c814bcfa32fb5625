// Appends text made of whole lines to a file (opened with O_APPEND) or to standard output, off the
// request path: one write(2) in flight at a time. Two buffers take turns: text is encoded into one as
// it arrives (once, as bytes: a rope of lines kept waiting made every scavenge walk it), while the
// other is being written.
// Why not SonicBoom (pino's writer, used here before): it keeps every batch as its own Buffer until
// written and joins them with Buffer.concat. At 300k lines a second that was 20 MB/s of
// ArrayBuffers: slower scavenges and 3-10 full collections in 6 s that the server without a log
// never had (node --trace-gc, `npm run bench -- access-log-pipelined`). Here the bytes are encoded
// once, into the same memory every time.
//  - Bounded: text that would make more than `maxPending` bytes wait is dropped whole (a line is
//    never cut) and counted.
//  - With O_APPEND, a write(2) to a regular file lands in one piece at the file's end, so lines from
//    several processes appending to one file never interleave; after copytruncate they start at 0.
//  - Standard output that is a pipe or a socket (Docker, systemd, a log shipper) takes writes of
//    whole lines of at most PIPE_BUF bytes, the size a pipe writes atomically: workers sharing it
//    never mix their lines.
//  - reopen() (logrotate) opens the path again once the write in flight is done; the lines in it
//    went to the old file, the next ones go to the new one. A reopen that fails keeps the old file.
//  - A failed write drops the lines it did not write (counted, the error kept in `lastError`); a
//    line it cut is ended by the next write's first byte. The server goes on.
import { Buffer } from 'node:buffer';
import { close, constants, fstatSync, mkdir, open, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AppendWriterOptions {
  /** File path (created with its folder, appended to), or '-' for standard output. */
  path: string;
  /** How text becomes bytes: latin1 for text of one byte per char (nginx's escaped lines), else utf8. */
  encoding: 'latin1' | 'utf8';
  /** Bytes that may wait (being written, or queued behind) while the destination is slow; more is dropped. */
  maxPending: number;
  /** Each of the two buffers' size; one grows for a backlog, and is let go once written. */
  bufferBytes: number;
  /** Told when lines start being lost (an open or a write fails), once until the destination works again. */
  onError?: (err: NodeJS.ErrnoException) => void;
}

const STDOUT = 1;
/**
 * 'a' and O_NONBLOCK. A FIFO without a reader then fails to open at once (ENXIO: opened again every
 * FIFO_RETRY_MS while its lines wait) and a full one refuses a write (EAGAIN: retried, given up at
 * close) instead of holding one of node's four thread-pool threads: a thread blocked there also
 * keeps the process from exiting, even after close(). Regular files ignore the flag (a hung disk
 * still blocks).
 */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK;
/** A non-blocking standard output that is full (EAGAIN) is tried again after this many ms. */
const RETRY_MS = 10;
/** Writes to a pipe or socket of at most this many bytes are atomic (POSIX PIPE_BUF on Linux). */
const PIPE_BUF = 4096;
/** A FIFO without a reader yet (a log shipper that starts after us) is opened again this often. */
const FIFO_RETRY_MS = 1000;
/** The same failure is told to onError at most this often, however often writes recover in between. */
const TELL_EVERY_MS = 60_000;
/** Longest delay a timer takes (2^31-1 ms): a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** What onError is told when lines are dropped because the destination does not keep up. */
const BACKLOG: NodeJS.ErrnoException = Object.assign(
  new Error('the destination does not take lines as fast as they come: more than maxPending bytes wait'),
  { code: 'BACKLOG' },
);

export class AppendWriter {
  readonly #path: string;
  readonly #latin1: boolean;
  readonly #maxPending: number;
  readonly #bufferBytes: number;
  #fd = -1;
  #opening = false;
  #writing = false;
  #reopenWanted = false;
  #closed = false;
  /** close() gave up waiting: a write that cannot go on (EAGAIN) is not retried any more. */
  #abandoned = false;
  /** Standard output is a pipe or socket: writes are cut at lines to PIPE_BUF so workers' lines never mix. */
  #pipe = false;
  /** A failed write left part of a line in the file: the next write starts with a newline to end it. */
  #cut = false;
  /** The buffer being filled, how many bytes of it are, and how many lines they hold. */
  #fill: Buffer | undefined = undefined;
  #filled = 0;
  #filledLines = 0;
  /** Bytes of the write in flight: they wait too (maxPending bounds both buffers together). */
  #inFlight = 0;
  /** The other buffer, back from its write. */
  #spare: Buffer | undefined = undefined;
  /** Callers of idle() waiting for everything to be written. */
  #waiters: (() => void)[] = [];
  /** Lines taken (written, or waiting to be) / dropped (the destination too slow, or a write failed). */
  lines = 0;
  dropped = 0;
  lastError: NodeJS.ErrnoException | undefined = undefined;
  readonly #onError: ((err: NodeJS.ErrnoException) => void) | undefined;
  /** The failure last told to onError; cleared by an open, or a batch written whole. */
  #told: string | undefined = undefined;
  /** The last failure told, and when (TELL_EVERY_MS). */
  #lastTold: string | undefined = undefined;
  #lastToldAt = 0;
  /** The next open of a FIFO that had no reader. */
  #retry: NodeJS.Timeout | undefined = undefined;

  constructor(opts: AppendWriterOptions) {
    this.#path = opts.path;
    this.#latin1 = opts.encoding === 'latin1';
    this.#maxPending = opts.maxPending;
    this.#bufferBytes = opts.bufferBytes;
    this.#onError = opts.onError;
    if (opts.path === '-') {
      this.#fd = STDOUT;
      try {
        const st = fstatSync(STDOUT);
        this.#pipe = st.isFIFO() || st.isSocket();
      } catch {}
    } else this.#open();
  }

  /** Queues `text` (`lines` whole lines, each ending with its newline). */
  write(text: string, lines: number): void {
    const size = this.#latin1 ? text.length : Buffer.byteLength(text, 'utf8');
    const filled = this.#filled;
    if (this.#closed || this.#inFlight + filled + size > this.#maxPending) {
      this.dropped += lines;
      if (!this.#closed) this.#tell(BACKLOG);
      return;
    }
    let fill = this.#fill;
    if (fill === undefined || fill.length < filled + size) fill = this.#grow(filled + size);
    fill.write(text, filled, this.#latin1 ? 'latin1' : 'utf8');
    this.#filled = filled + size;
    this.#filledLines += lines;
    this.lines += lines;
    if (!this.#writing && this.#fd >= 0 && !this.#opening) this.#next();
  }

  /** A fill buffer that holds `need` bytes, with what the current one holds. */
  #grow(need: number): Buffer {
    const old = this.#fill;
    const buf = Buffer.allocUnsafeSlow(Math.max(need, this.#bufferBytes, old === undefined ? 0 : old.length * 2));
    if (old !== undefined) old.copy(buf, 0, 0, this.#filled);
    this.#fill = buf;
    return buf;
  }

  /**
   * Resolves once everything queued is written. While the destination has not opened yet (a stuck
   * disk, a FIFO without a reader) nothing can be written, and it resolves at once.
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #isIdle(): boolean {
    return !this.#writing && (this.#filled === 0 || this.#fd < 0);
  }

  /** Opens the path again (logrotate moved the file away) once the write in flight is done. */
  reopen(): void {
    if (this.#closed || this.#path === '-') return;
    if (this.#writing || this.#opening) this.#reopenWanted = true;
    else this.#open();
  }

  /** Writes what is queued now, synchronously (at exit), even ahead of a write still in flight. */
  flushSync(): void {
    const fill = this.#fill;
    // A write in flight is not waited for (it cannot be): what queued behind it is written now, and
    // may land before it. Skipping it lost every line of the last batch at exit.
    if (this.#fd < 0 || fill === undefined || this.#filled === 0) return;
    const n = this.#filled;
    const lines = this.#filledLines;
    this.#filled = 0;
    this.#filledLines = 0;
    try {
      for (let at = 0; at < n; ) at += writeSync(this.#fd, fill, at, n - at);
    } catch (err) {
      this.#failed(err as NodeJS.ErrnoException, lines);
    }
  }

  /**
   * Writes what is queued, then closes the file (standard output stays open). A destination that
   * has not taken it all within `timeoutMs` (a hung disk, a FIFO nobody reads, a full pipe on
   * standard output) is given up: what still waits is dropped and counted, and close() resolves.
   * The descriptor is closed once a write in flight returns, never while it is in flight (its
   * number could be given to another file meanwhile and receive the write).
   */
  async close(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.#closed) return;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => {
      if (timeoutMs < MAX_TIMER_MS)
        timer = setTimeout(() => {
          timedOut = true;
          resolve();
        }, timeoutMs);
    });
    // An open in flight (microseconds, non-blocking) gets its lines; a FIFO still without a reader
    // (fd < 0, its retry pending) is not waited for: what waits for it is dropped and counted below.
    while (!timedOut && (this.#opening || !this.#isIdle()))
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), giveUp]);
    if (timer !== undefined) clearTimeout(timer);
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#closed = true;
    this.#abandoned = timedOut;
    // Lines still waiting with nothing open (a failed open), or behind a stuck write, are lost: count them.
    if (this.#filled > 0) {
      const reason = timedOut
        ? new Error(`the log's destination took nothing more for ${timeoutMs} ms; closed without it`)
        : (this.lastError ?? new Error('closed before the log could be opened'));
      this.#failed(reason, this.#filledLines);
    }
    this.#filled = 0;
    this.#filledLines = 0;
    if (this.#writing) return; // the write in flight closes the descriptor when it returns (#continue)
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0 && fd !== STDOUT) await new Promise<void>((resolve) => close(fd, () => resolve()));
  }

  #open(): void {
    this.#opening = true;
    const path = this.#path;
    mkdir(dirname(path), { recursive: true }, () => {
      // A folder that cannot be made shows as open's error.
      open(path, APPEND_FLAGS, 0o666, (err, fd) => {
        this.#opening = false;
        if (err) {
          this.lastError = err;
          // A reopen that failed (EMFILE, EACCES, ENOSPC…) keeps the descriptor that works: the log
          // goes on in the old file rather than stopping until the next SIGUSR1.
          if (this.#fd < 0 && err.code === 'ENXIO' && !this.#closed) {
            // A FIFO with no reader yet: tried again until one comes; lines wait meanwhile (maxPending).
            this.#tell(err);
            this.#retry = setTimeout(() => {
              this.#retry = undefined;
              if (!this.#closed && this.#fd < 0 && !this.#opening) this.#open();
            }, FIFO_RETRY_MS);
            this.#retry.unref();
          } else if (this.#fd < 0) {
            // Nothing can be written until the next reopen(): what waits is dropped, memory stays bounded.
            this.#failed(err, this.#filledLines);
            this.#filled = 0;
            this.#filledLines = 0;
          }
        } else if (this.#closed) close(fd, () => {});
        else {
          this.#told = undefined;
          try {
            // A FIFO or socket gets whole lines of at most PIPE_BUF per write, as standard output does.
            const st = fstatSync(fd);
            this.#pipe = st.isFIFO() || st.isSocket();
          } catch {}
          const old = this.#fd;
          this.#fd = fd;
          if (old >= 0) close(old, () => {});
        }
        this.#continue();
      });
    });
  }

  /** After a write or an open: reopen if asked, write what waits, or tell those waiting for idle. */
  #continue(): void {
    if (this.#closed) {
      // close() gave up while this write or open was in flight: the descriptor goes now.
      const fd = this.#fd;
      this.#fd = -1;
      if (fd >= 0 && fd !== STDOUT) close(fd, () => {});
      this.#wakeWaiters();
      return;
    }
    if (this.#reopenWanted) {
      this.#reopenWanted = false;
      this.#open();
      return;
    }
    if (this.#filled > 0 && this.#fd >= 0) {
      this.#next();
      return;
    }
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Writes the fill buffer; the spare one takes its place. */
  #next(): void {
    const buf = this.#fill!;
    const n = this.#filled;
    const lines = this.#filledLines;
    this.#fill = this.#spare;
    this.#spare = undefined;
    this.#filled = 0;
    this.#filledLines = 0;
    this.#writing = true;
    this.#inFlight = n;
    if (this.#cut) {
      // Rare (after a failed partial write): end the cut line so that it does not swallow this one.
      const b = Buffer.allocUnsafe(n + 1);
      b[0] = 0x0a;
      buf.copy(b, 1, 0, n);
      this.#send(b, 0, n + 1, lines);
      return;
    }
    this.#send(buf, 0, n, lines);
  }

  #send(buf: Buffer, from: number, to: number, lines: number): void {
    let end = to;
    if (this.#pipe && to - from > PIPE_BUF) {
      // Whole lines, at most PIPE_BUF bytes: atomic on a pipe (never cut, never mixed with another
      // worker's write); a line longer than that goes alone.
      const nl = buf.lastIndexOf(0x0a, from + PIPE_BUF - 1);
      end = nl >= from ? nl + 1 : Math.min(to, buf.indexOf(0x0a, from) + 1 || to);
    }
    write(this.#fd, buf, from, end - from, null, (err, wrote) => {
      if (err) {
        if (err.code === 'EAGAIN' && !this.#abandoned) {
          setTimeout(() => this.#send(buf, from, to, lines), RETRY_MS);
          return;
        }
        // Only the lines not written in full are lost; a part of a line left in the file is ended by
        // the next write.
        let lost = 0;
        for (let i = buf.indexOf(0x0a, from); i >= 0 && i < to; i = buf.indexOf(0x0a, i + 1)) lost++;
        if (from > 0 && buf[from - 1] !== 0x0a) this.#cut = true;
        this.#failed(err, Math.min(lost, lines));
      } else {
        // The newline that ends a cut line (see #next) is out.
        if (from === 0 && wrote > 0) this.#cut = false;
        if (from + wrote < to) {
          // A short write (a pipe, a signal), or the next piece for a pipe: the rest follows.
          this.#send(buf, from + wrote, to, lines);
          return;
        }
        // A whole batch is out: the destination works again (a short write alone does not tell).
        this.#told = undefined;
      }
      this.#writing = false;
      this.#inFlight = 0;
      // A buffer grown for a backlog is let go: the backlog's memory does not stay.
      if (buf.length <= this.#bufferBytes) this.#spare = buf;
      this.#continue();
    });
  }

  #failed(err: NodeJS.ErrnoException, lines: number): void {
    this.lastError = err;
    this.lines -= lines;
    this.dropped += lines;
    this.#tell(err);
  }

  /** Tells onError of a failure once while it lasts, and the same one at most every TELL_EVERY_MS. */
  #tell(err: NodeJS.ErrnoException): void {
    const what = err.code ?? err.message;
    if (this.#told === what || this.#onError === undefined) return;
    this.#told = what;
    const now = Date.now();
    if (what === this.#lastTold && now - this.#lastToldAt < TELL_EVERY_MS) return;
    this.#lastTold = what;
    this.#lastToldAt = now;
    try {
      this.#onError(err);
    } catch {} // a reporting hook must not take the server down from inside an fs callback
  }
}
