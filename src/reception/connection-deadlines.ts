// A connection's deadlines: a head must arrive in time (the slowloris defence), a body must keep a
// minimum rate, an idle keep-alive connection is closed (RFC 9112 §9.5 allows it), and a peer that
// stops reading what we write is cut. They are times checked by the server's single sweep timer
// (listener.ts), never a timer per request.
import type { Limits } from './limits.ts';

export enum Deadline {
  None = 0,
  Idle = 1,
  Headers = 2,
  Body = 3,
  /** Not a reading deadline: the peer did not read our output in time (see `write`). */
  Write = 4,
}

export class ConnectionDeadlines {
  readonly #limits: Limits;
  /** The reading deadline in force, and when it falls. */
  kind: Deadline = Deadline.None;
  at = 0;
  /** Body bytes received in the current window of the minimum-rate check. */
  bodyBytes = 0;
  /** When the peer must have read our output (send timeout, or the bound on a lingering close); 0: none. */
  #write = 0;

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  set(kind: Deadline, at: number): void {
    this.kind = kind;
    this.at = at;
    this.#unsettled = false;
  }

  /**
   * A deadline started while a read was being handled: it counts from when that read's work is
   * over (`settle`), not from a clock read of its own. The work may include handlers that ran
   * synchronously for longer than the timeout; the sweep cannot run before it is over.
   */
  #unsettled = false;

  /** Starts `kind`, due `timeout` ms from now, or from the end of the read being handled (`inRead`). */
  #start(kind: Deadline, timeout: number, inRead: boolean): void {
    if (inRead) {
      this.set(kind, 0);
      this.#unsettled = true;
    } else this.set(kind, Date.now() + timeout);
  }

  /** The work on a read is over at `now` (one clock read per read serves every deadline it started). */
  settle(now: number): void {
    if (!this.#unsettled) return;
    this.#unsettled = false;
    this.at = now + (this.kind === Deadline.Body ? this.#limits.bodyTimeout : this.#limits.keepAliveTimeout);
  }

  /** Reading a body: a new rate window starts unless one is running. `inRead`: see #start. */
  readingBody(inRead: boolean): void {
    if (this.kind !== Deadline.Body) {
      this.bodyBytes = 0;
      this.#start(Deadline.Body, this.#limits.bodyTimeout, inRead);
    }
  }

  /** Reading a head: the whole head is due a fixed time after its first byte (`startedAt`). */
  readingHead(startedAt: number): void {
    this.set(Deadline.Headers, startedAt + this.#limits.headersTimeout);
  }

  /** A request arrived: whatever idle time was running is over. */
  busy(): void {
    if (this.kind === Deadline.Idle) this.kind = Deadline.None;
  }

  /** Nothing in flight: the keep-alive bound starts unless it is already running. `inRead`: see #start. */
  idle(inRead: boolean): void {
    if (this.kind !== Deadline.Idle) this.#start(Deadline.Idle, this.#limits.keepAliveTimeout, inRead);
  }

  /** The socket buffered past its high-water mark: the peer has the send timeout to read. */
  writeBlocked(): void {
    this.#write = Date.now() + this.#limits.sendTimeout;
  }

  writeDrained(): void {
    this.#write = 0;
  }

  /** We ended our side: a peer that never closes its own is cut after the keep-alive bound. */
  lingering(): void {
    this.#write = Date.now() + Math.max(this.#limits.keepAliveTimeout, 1000);
  }

  /** What fell due at `now`: the write bound first, then the reading deadline. */
  due(now: number): Deadline {
    if (this.#write !== 0 && now >= this.#write) return Deadline.Write;
    if (this.kind === Deadline.None || now < this.at) return Deadline.None;
    return this.kind;
  }

  /**
   * The body deadline fell due: true when the client sent less than the minimum rate over the
   * window; otherwise a new window starts. A window during which we paused reading does not count.
   */
  bodyTooSlow(now: number, pausedByUs: boolean): boolean {
    const l = this.#limits;
    if (!pausedByUs && this.bodyBytes < Math.max(1, Math.floor((l.minBodyRate * l.bodyTimeout) / 1000))) return true;
    this.bodyBytes = 0;
    this.set(Deadline.Body, now + l.bodyTimeout);
    return false;
  }
}
