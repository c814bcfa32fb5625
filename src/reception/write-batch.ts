// What a connection hands to its socket, batched: responses that are ready together leave in one
// write (a string when there are no byte bodies; with them, one Buffer up to JOIN_LIMIT bytes, else a
// corked writev), and the caller decides when: now, after the current microtasks, or once the event
// loop turns.
import { writeLatin1, writeUtf8 } from '../util/byte-methods.ts';
import process from 'node:process';
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';

/**
 * Strings and byte chunks up to this many bytes in all leave copied into one Buffer, in one plain
 * write. A corked write of mixed chunks becomes a writev that node's C++ side walks chunk by
 * chunk (an array lookup, an encoding parsed and a string encoded into a new backing store for
 * each): in callgrind about 10k instructions for a head and a small body, against about 1k for
 * sizing, copying and writing them as one Buffer. Past it the copy would cost more than the walk.
 */
const JOIN_LIMIT = 16 * 1024;

export interface WriteBatchOwner {
  /** The socket buffered past its high-water mark: wait for drain before producing more. */
  blocked(): void;
  /** Run a deferred flush under the connection's guard (an internal fault closes it). */
  guard(fn: () => void): void;
  /** Everything queued so far was handed to the socket (responses completed before it may be logged). */
  flushed(): void;
}

export class WriteBatch {
  readonly #socket: Socket;
  readonly #owner: WriteBatchOwner;
  #str = '';
  #list: (string | Uint8Array)[] | null = null;
  /** Some text queued since the last flush may be beyond ASCII (its UTF-8 length must be counted). */
  #wide = false;
  #pending = 0;
  #tickScheduled = false;
  #immediate: NodeJS.Immediate | undefined = undefined;
  #drainWaiter: (() => void) | null = null;
  #closed = false;

  constructor(socket: Socket, owner: WriteBatchOwner) {
    this.#socket = socket;
    this.#owner = owner;
  }

  /** Bytes (roughly: string lengths count as bytes) waiting for the next flush. */
  get pending(): number {
    return this.#pending;
  }

  get needsDrain(): boolean {
    return this.#socket.writableNeedDrain;
  }

  /** Text, written as UTF-8. */
  text(s: string): void {
    this.#pending += s.length;
    this.#wide = true;
    if (this.#list === null) this.#str += s;
    else this.#list.push(s);
  }

  /** Text known to be ASCII (a head without obs-text, chunk framing): one byte per char, no count. */
  ascii(s: string): void {
    this.#pending += s.length;
    if (this.#list === null) this.#str += s;
    else this.#list.push(s);
  }

  bytes(b: Uint8Array): void {
    this.#pending += b.byteLength;
    if (this.#list === null) {
      this.#list = this.#str === '' ? [] : [this.#str];
      this.#str = '';
    }
    this.#list.push(b);
  }

  /** Writes what is buffered; false when the socket asks us to wait for drain. */
  flush(): boolean {
    if (this.#closed) return false;
    this.#pending = 0;
    const list = this.#list;
    const wide = this.#wide;
    this.#wide = false;
    let ok = true;
    if (list !== null) {
      this.#list = null;
      ok = this.#writeList(list, wide);
    } else if (this.#str !== '') {
      const str = this.#str;
      this.#str = '';
      // ASCII only (no text() since the last flush): latin1 writes the same bytes, copied as they
      // are rather than run through the UTF-8 encoder.
      ok = this.#socket.write(str, wide ? 'utf8' : 'latin1');
    } else ok = !this.#socket.writableNeedDrain;
    this.#owner.flushed();
    if (!ok) this.#owner.blocked();
    return ok;
  }

  /** `wide`: a string in `list` may be beyond ASCII; else each char is one byte. */
  #writeList(list: (string | Uint8Array)[], wide: boolean): boolean {
    const s = this.#socket;
    let size = 0;
    for (const c of list) size += typeof c !== 'string' ? c.byteLength : wide ? Buffer.byteLength(c) : c.length;
    if (size <= JOIN_LIMIT) {
      // Buffer's shared pool (a slice of an 8 KiB slab, 64 KiB on newer node) when the write goes
      // straight out; memory of its own when it will wait behind queued output: a client that does
      // not read would otherwise keep a whole slab alive for a small response.
      const out = s.writableLength === 0 ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
      let at = 0;
      for (const c of list) {
        if (typeof c === 'string') at += wide ? writeUtf8(out, c, at) : writeLatin1(out, c, at);
        else {
          out.set(c, at);
          at += c.byteLength;
        }
      }
      return s.write(out);
    }
    let ok = true;
    s.cork();
    for (const c of list) ok = s.write(c);
    s.uncork();
    return ok;
  }

  /** Flush after the current microtask queue: responses completing together leave together. */
  flushAfterMicrotasks(): void {
    if (this.#tickScheduled) return;
    this.#tickScheduled = true;
    process.nextTick(() => {
      this.#tickScheduled = false;
      this.#owner.guard(() => this.flush());
    });
  }

  /** Flush once the event loop turns (setImmediate): a body that is ready joins its head. */
  flushSoon(): void {
    if (this.#immediate !== undefined) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#owner.guard(() => this.flush());
    });
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.#drainWaiter = resolve;
    });
  }

  /** The socket's 'drain': wake a writer waiting in drained(). */
  onDrain(): void {
    const w = this.#drainWaiter;
    this.#drainWaiter = null;
    w?.();
  }

  /** The socket closed: nothing more is written; a waiting writer is released. */
  close(): void {
    this.#closed = true;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.onDrain();
  }
}
