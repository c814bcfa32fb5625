// Keep-alive connections to one FastCGI backend. php-fpm does not multiplex, and a child that
// accepted a KEEP_CONN connection stays bound to it until it closes: every idle connection here
// pins one php-fpm child. So `maxConnections` must not exceed pm.max_children (summed over all
// Foyer processes), or a new connection waits in php-fpm's backlog behind our own idle ones.
// Requests beyond the maximum wait in a bounded queue; a full queue is the caller's 503.
import type { Duplex } from 'node:stream';
import type { SocketFactory } from './address.ts';
import { FastCgiConnection } from './connection.ts';
import { FastCgiError } from './errors.ts';

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

interface Waiter {
  resolve(conn: FastCgiConnection): void;
  reject(err: Error): void;
  fresh: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class FastCgiPool {
  readonly #opts: PoolOptions;
  /** Most recently used last: reuse the warmest, let the coldest time out. */
  readonly #idle: FastCgiConnection[] = [];
  readonly #waiters: Waiter[] = [];
  #open = 0; // connected or connecting
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: PoolOptions) {
    if (!(opts.maxConnections >= 1)) throw new TypeError('maxConnections must be at least 1');
    this.#opts = opts;
  }

  get stats(): { open: number; idle: number; waiting: number } {
    return { open: this.#open, idle: this.#idle.length, waiting: this.#waiters.length };
  }

  /**
   * A connection for one exchange. `fresh` skips idle ones: used to retry after a reused
   * connection turned out to be closed by the backend.
   */
  acquire(fresh = false): Promise<FastCgiConnection> {
    if (this.#closed) return Promise.reject(new FastCgiError('connect', 'pool closed'));
    if (!fresh) {
      const conn = this.#idle.pop();
      if (conn !== undefined) return Promise.resolve(conn);
    } else if (this.#open >= this.#opts.maxConnections && this.#idle.length > 0) {
      this.#idle.shift()!.destroy(); // makes room (onClose decrements #open)
    }
    if (this.#open < this.#opts.maxConnections) return this.#dial();
    if (this.#waiters.length >= this.#opts.maxQueue) {
      return Promise.reject(new PoolFullError('FastCGI wait queue full'));
    }
    return new Promise<FastCgiConnection>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, fresh, timer: undefined };
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
          onReusable: (c) => queueMicrotask(() => this.#reusable(c)),
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

  #reusable(conn: FastCgiConnection): void {
    if (conn.closed) return;
    if (this.#closed) {
      conn.destroy();
      return;
    }
    const waiter = this.#waiters[0];
    if (waiter !== undefined) {
      if (waiter.fresh) {
        conn.destroy(); // the close frees a slot, dialled for this waiter
        return;
      }
      this.#waiters.shift();
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.resolve(conn);
      return;
    }
    this.#idle.push(conn);
    this.#armSweeper();
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
