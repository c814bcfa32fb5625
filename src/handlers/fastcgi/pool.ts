// Keep-alive connections to one FastCGI backend. php-fpm does not multiplex, and a child that
// accepted a KEEP_CONN connection stays bound to it until it closes: every idle connection here
// pins one php-fpm child. So `maxConnections` must not exceed pm.max_children (summed over all
// Foyer processes), or a new connection waits in php-fpm's backlog behind our own idle ones.
// Requests beyond the maximum wait in a bounded queue; a full queue is the caller's 503.
import type { Duplex } from 'node:stream';
import type { SocketFactory } from './address.ts';
import { FastCgiConnection } from './connection.ts';
import { FastCgiError } from './errors.ts';
import { FoyerConfigError } from '../../util/errors.ts';

export interface PoolOptions {
  connect: SocketFactory;
  maxConnections: number;
  /** Idle connections are closed after this many ms (0 = never). */
  idleTimeout: number;
  /** Requests allowed to wait for a connection; past it `acquire` throws PoolFullError. */
  maxQueue: number;
  /** Longest wait for a connection, in ms; past it `acquire` throws PoolFullError. */
  queueTimeout: number;
}

export class PoolFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolFullError';
  }
}

/**
 * What a request needs from its connection:
 *  - `any`: the warmest idle one (a failure before any response byte can be retried);
 *  - `settled`: one idle for at least SETTLE_MS, or a new one. A php-fpm child recycled by
 *    pm.max_requests closes its connection 1–2 ms after END_REQUEST; a request that cannot be
 *    retried (a POST whose body is already on the wire) must not be written into that window;
 *  - `fresh`: a new connection (the retry after a stale one).
 */
export type AcquireMode = 'any' | 'settled' | 'fresh';

/** How long a released connection must stay idle before `settled` requests may use it. */
const SETTLE_MS = 5;

interface Waiter {
  resolve(conn: FastCgiConnection): void;
  reject(err: Error): void;
  mode: AcquireMode;
  timer: NodeJS.Timeout | undefined;
}

export class FastCgiPool {
  readonly #opts: PoolOptions;
  /** Most recently used last: reuse the warmest, let the coldest time out. */
  readonly #idle: FastCgiConnection[] = [];
  readonly #waiters: Waiter[] = [];
  #open = 0; // connected or connecting
  #sweeper: NodeJS.Timeout | undefined;
  #settleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: PoolOptions) {
    if (!(opts.maxConnections >= 1))
      throw new FoyerConfigError('FOYER_BAD_OPTION', 'maxConnections must be at least 1');
    this.#opts = opts;
  }

  get stats(): { open: number; idle: number; waiting: number } {
    return { open: this.#open, idle: this.#idle.length, waiting: this.#waiters.length };
  }

  /** The warmest idle connection, at once, or undefined (then `acquire`): no promise when one is free. */
  takeIdle(): FastCgiConnection | undefined {
    return this.#closed ? undefined : this.#idle.pop();
  }

  /** A connection for one exchange (see AcquireMode). */
  acquire(mode: AcquireMode = 'any'): Promise<FastCgiConnection> {
    if (this.#closed) return Promise.reject(new FastCgiError('connect', 'pool closed'));
    if (mode === 'any') {
      const conn = this.#idle.pop();
      if (conn !== undefined) return Promise.resolve(conn);
    } else if (mode === 'settled') {
      const conn = this.#takeSettled();
      if (conn !== undefined) return Promise.resolve(conn);
    } else if (this.#open >= this.#opts.maxConnections && this.#idle.length > 0) {
      this.#idle.shift()!.destroy(); // makes room (onClose decrements #open)
    }
    if (this.#open < this.#opts.maxConnections) return this.#dial();
    if (this.#waiters.length >= this.#opts.maxQueue) {
      return Promise.reject(new PoolFullError('FastCGI wait queue full'));
    }
    if (mode === 'settled' && this.#idle.length > 0) this.#armSettle();
    return new Promise<FastCgiConnection>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, mode, timer: undefined };
      if (this.#opts.queueTimeout > 0) {
        waiter.timer = setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new PoolFullError('waited too long for a FastCGI connection'));
        }, this.#opts.queueTimeout);
      }
      this.#waiters.push(waiter);
    });
  }

  /** Closes idle connections and refuses new work; busy connections finish their exchange. */
  close(): void {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    if (this.#settleTimer) clearTimeout(this.#settleTimer);
    for (const conn of this.#idle.splice(0)) conn.destroy();
    for (const w of this.#waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(new FastCgiError('connect', 'pool closed'));
    }
  }

  #dial(): Promise<FastCgiConnection> {
    this.#open++;
    return this.#opts.connect().then(
      (socket: Duplex) => {
        const conn = new FastCgiConnection(socket, {
          onReusable: (c) => this.#released(c),
          onClose: (c) => this.#closedConn(c),
        });
        if (this.#closed) conn.destroy();
        return conn;
      },
      (err: unknown) => {
        this.#open--;
        this.#serveWaiters();
        throw err;
      },
    );
  }

  /**
   * An exchange ended on `conn` (after the read it ended in was handled: connection.ts). With nobody
   * waiting it rests at once: a microtask per request cost more than the rest of the pool's work
   * (callgrind: about 600 instructions per hello.php). A waiter is served in a microtask, as before.
   */
  #released(conn: FastCgiConnection): void {
    if (this.#waiters.length === 0) this.#reusable(conn);
    else queueMicrotask(() => this.#reusable(conn));
  }

  #reusable(conn: FastCgiConnection): void {
    if (conn.closed) return;
    if (this.#closed) {
      conn.destroy();
      return;
    }
    const waiter = this.#waiters[0];
    if (waiter?.mode === 'fresh') {
      conn.destroy(); // the close frees a slot, dialled for this waiter
      return;
    }
    if (waiter?.mode === 'any') {
      this.#waiters.shift();
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.resolve(conn);
      return;
    }
    // Nobody waiting, or a `settled` waiter: the connection rests first (a recycled child's FIN
    // lands meanwhile and removes it).
    conn.lastUsed = Date.now();
    this.#idle.push(conn);
    if (waiter !== undefined) this.#armSettle();
    this.#armSweeper();
  }

  /** The warmest idle connection that rested SETTLE_MS, if any. */
  #takeSettled(): FastCgiConnection | undefined {
    const now = Date.now();
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      if (now - this.#idle[i]!.lastUsed >= SETTLE_MS) return this.#idle.splice(i, 1)[0];
    }
    return undefined;
  }

  #armSettle(): void {
    if (this.#settleTimer !== undefined || this.#closed) return;
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      // FIFO: serve the head of the queue while an idle connection suits it.
      for (let w = this.#waiters[0]; w !== undefined; w = this.#waiters[0]) {
        const conn = w.mode === 'settled' ? this.#takeSettled() : w.mode === 'any' ? this.#idle.pop() : undefined;
        if (conn === undefined) break;
        this.#waiters.shift();
        if (w.timer) clearTimeout(w.timer);
        w.resolve(conn);
      }
      if (this.#waiters.length > 0 && this.#idle.length > 0) this.#armSettle();
      else this.#serveWaiters();
    }, SETTLE_MS + 1);
  }

  #closedConn(conn: FastCgiConnection): void {
    this.#open--;
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#serveWaiters();
  }

  #serveWaiters(): void {
    while (this.#waiters.length > 0 && this.#open < this.#opts.maxConnections && !this.#closed) {
      const waiter = this.#waiters.shift()!;
      if (waiter.timer) clearTimeout(waiter.timer);
      this.#dial().then(waiter.resolve, waiter.reject);
    }
  }

  #armSweeper(): void {
    const idleTimeout = this.#opts.idleTimeout;
    if (idleTimeout <= 0 || this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(
      () => {
        const now = Date.now();
        while (this.#idle.length > 0 && now - this.#idle[0]!.lastUsed >= idleTimeout) this.#idle.shift()!.destroy();
        if (this.#idle.length === 0) {
          clearInterval(this.#sweeper);
          this.#sweeper = undefined;
        }
      },
      Math.max(100, Math.floor(idleTimeout / 2)),
    );
    this.#sweeper.unref();
  }
}
