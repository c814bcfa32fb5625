// One connection to a FastCGI backend (the client layer). php-fpm serves one request per
// connection at a time (it answers CANT_MPX_CONN otherwise, §5.5), so a connection is either idle
// or running exactly one exchange (exchange.ts); with KEEP_CONN (§5.1) it returns to the pool
// afterwards. The socket is injected (net, unix, or an in-memory fake): nothing here dials.
import type { Duplex } from 'node:stream';
import { FastCgiError } from './errors.ts';
import { Exchange, REQUEST_ID } from './exchange.ts';
import type { ExchangeOptions, ExchangeResult } from './exchange-options.ts';
import { encodeAbortRequest } from './record.ts';
import { RecordDecoder, type RecordSink } from './record-decoder.ts';

export type { ExchangeOptions, ExchangeResult } from './exchange-options.ts';

export interface ConnectionHooks {
  /** The exchange finished and the connection can serve another request. */
  onReusable(conn: FastCgiConnection): void;
  /** The socket is gone (closed, reset, destroyed). Called once. */
  onClose(conn: FastCgiConnection): void;
}

export class FastCgiConnection {
  readonly socket: Duplex;
  readonly #hooks: ConnectionHooks;
  /** Exchanges started on this connection; > 0 before a new one means "reused". */
  exchanges = 0;
  lastUsed = Date.now();
  /** When the socket went away (ms since epoch), 0 while open. */
  closedAt = 0;
  /** A TCP connection (Nagle applies on php-fpm's side, see Exchange's nudge); false for unix and fakes. */
  readonly tcp: boolean;
  #closed = false;
  #current: Exchange | undefined;
  // One decoder for the connection's lifetime: the padding of a request's last record may arrive
  // after END_REQUEST was handled, and must not be read as the next request's header.
  readonly #decoder: RecordDecoder;

  constructor(socket: Duplex, hooks: ConnectionHooks) {
    this.socket = socket;
    this.#hooks = hooks;
    const family = (socket as { remoteFamily?: string }).remoteFamily;
    this.tcp = family === 'IPv4' || family === 'IPv6';
    // Records while idle (other than a record's trailing padding) break the protocol.
    const idle: RecordSink = { onStream: () => this.destroy(), onRecord: () => this.destroy() };
    this.#decoder = new RecordDecoder({
      onStream: (type, id, fragment) => (this.#current?.reader ?? idle).onStream(type, id, fragment),
      onRecord: (type, id, content) => (this.#current?.reader ?? idle).onRecord(type, id, content),
    });
    socket.on('data', (data: Buffer) => {
      const current = this.#current;
      if (current !== undefined) return current.onData(data);
      try {
        this.#decoder.push(data);
      } catch {
        this.destroy();
      }
    });
    socket.on('error', (err: Error) => this.#gone(err));
    socket.on('end', () => this.#gone());
    socket.on('close', () => this.#gone());
  }

  get closed(): boolean {
    return this.#closed;
  }

  get busy(): boolean {
    return this.#current !== undefined;
  }

  /** Runs one request. Resolves with the head once it arrived; the body follows. */
  exchange(opts: ExchangeOptions): Promise<ExchangeResult> {
    if (this.#current !== undefined) throw new Error('FastCGI connection is busy');
    if (this.#closed) return Promise.reject(new FastCgiError('closed', 'connection already closed'));
    this.exchanges++;
    this.lastUsed = Date.now();
    const ex = new Exchange(this, opts);
    this.#current = ex;
    return ex.start();
  }

  /** Feeds response bytes to the decoder (called by the running exchange); throws on bad records. */
  push(data: Buffer): void {
    this.#decoder.push(data);
  }

  /** The running exchange is over: back to the pool, or closed. */
  release(reusable: boolean): void {
    this.#current = undefined;
    this.lastUsed = Date.now();
    if (this.#closed) return;
    if (reusable) this.#hooks.onReusable(this);
    else this.destroy();
  }

  destroy(): void {
    this.#gone();
  }

  /** Sends ABORT_REQUEST (§5.4), then closes once it is flushed; the pool forgets us at once. */
  abort(): void {
    if (this.#closed) return;
    const socket = this.socket;
    this.#current = undefined;
    this.#gone(undefined, false);
    const timer = setTimeout(() => socket.destroy(), 1000);
    timer.unref();
    socket.end(encodeAbortRequest(REQUEST_ID), () => {
      clearTimeout(timer);
      socket.destroy();
    });
  }

  #gone(err?: Error, destroySocket = true): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closedAt = Date.now();
    if (destroySocket) this.socket.destroy();
    const current = this.#current;
    this.#current = undefined;
    current?.onClose(err);
    this.#hooks.onClose(this);
  }
}
