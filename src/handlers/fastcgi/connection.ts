// One connection to a FastCGI backend (the client layer). php-fpm serves one request per
// connection at a time (it answers CANT_MPX_CONN otherwise, §5.5), so a connection is either idle
// or running exactly one exchange (exchange.ts); with KEEP_CONN (§5.1) it returns to the pool
// afterwards. The socket is injected (net, unix, or an in-memory fake): nothing here dials.
import type { Buffer } from 'node:buffer';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { peerName } from '../../util/peer-name.ts';
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
  /** When it last went idle (set by the pool: a connection handed straight to a waiter needs no clock read). */
  lastUsed = Date.now();
  /** A TCP connection (Nagle applies on php-fpm's side, see Exchange's nudge); false for unix and fakes. */
  readonly tcp: boolean;
  /** A real unix socket: the kernel can tell a half-closed peer from a gone one (see #peerEnded). */
  readonly #unix: boolean;
  #closed = false;
  #current: Exchange | undefined;
  /** One timer for the connection's lifetime, re-armed by each exchange (Exchange's phase one). */
  #watch: NodeJS.Timeout | undefined;
  // One decoder for the connection's lifetime: the padding of a request's last record may arrive
  // after END_REQUEST was handled, and must not be read as the next request's header.
  readonly #decoder: RecordDecoder;
  /** A socket read is being handled: an exchange that ends in it goes back to the pool after it. */
  #reading = false;
  #releaseAfterRead = false;
  /** The decoder refused bytes: the stream of records can no longer be followed. */
  #broken = false;

  constructor(socket: Duplex, hooks: ConnectionHooks) {
    this.socket = socket;
    this.#hooks = hooks;
    // Not socket.remoteFamily: it adds a property to the socket (see peer-name.ts).
    const family = peerName(socket).family;
    this.tcp = family === 'IPv4' || family === 'IPv6';
    this.#unix = socket instanceof Socket && !this.tcp;
    // Records while idle (other than a record's trailing padding) break the protocol.
    const idle: RecordSink = { onStream: () => this.destroy(), onRecord: () => this.destroy() };
    this.#decoder = new RecordDecoder({
      onStream: (type, id, fragment) => (this.#current?.reader ?? idle).onStream(type, id, fragment),
      onRecord: (type, id, content) => (this.#current?.reader ?? idle).onRecord(type, id, content),
    });
    socket.on('data', (data: Buffer) => {
      this.#reading = true;
      try {
        const current = this.#current;
        if (current !== undefined) current.onData(data);
        else {
          // Bytes while idle: a whole record goes to the idle sink, which closes; the start of one
          // (a late read after END_REQUEST) would be taken for the next exchange's response.
          try {
            this.#decoder.push(data);
            if (!this.#decoder.betweenRecords) this.destroy();
          } catch {
            this.destroy();
          }
        }
      } finally {
        this.#reading = false;
        if (this.#releaseAfterRead) {
          this.#releaseAfterRead = false;
          this.#afterRead();
        }
      }
    });
    socket.on('error', (err: Error) => this.#gone(err));
    socket.on('end', () => this.#peerEnded());
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
    const ex = new Exchange(this, opts);
    this.#current = ex;
    return ex.start();
  }

  /** Arms (or re-arms) the watch timer for the running exchange: `onWatch` in `ms`. */
  armWatch(ms: number): void {
    // Kept referenced, as a timer per exchange was: an exchange waiting holds the process (20 ms idle at most).
    if (this.#watch === undefined) this.#watch = setTimeout(FastCgiConnection.#watchFired, ms, this);
    else this.#watch.refresh();
  }

  static #watchFired(conn: FastCgiConnection): void {
    conn.#current?.onWatch();
  }

  /** Feeds response bytes to the decoder (called by the running exchange); throws on bad records. */
  push(data: Buffer): void {
    try {
      this.#decoder.push(data);
    } catch (err) {
      this.#broken = true;
      throw err;
    }
  }

  /**
   * The running exchange is over: back to the pool (which dates its rest), or closed. An exchange
   * mostly ends inside a read (END_REQUEST): the connection is offered once that read is handled,
   * so that nothing run meanwhile (the exchange's own end, a logger) can start another exchange on
   * it while the rest of the read is decoded, and bytes after END_REQUEST are judged first.
   */
  release(reusable: boolean): void {
    this.#current = undefined;
    if (this.#closed) return;
    if (!reusable) this.destroy();
    else if (this.#reading) this.#releaseAfterRead = true;
    else this.#hooks.onReusable(this);
  }

  /**
   * The read in which an exchange ended was handled. php-fpm sends nothing after END_REQUEST but
   * its padding: bytes the decoder refused, or the start of another record, leave a stream that
   * the next exchange could not read (it would take them for its own response). Closed then.
   */
  #afterRead(): void {
    if (this.#closed) return;
    if (this.#broken || !this.#decoder.betweenRecords) this.destroy();
    else this.#hooks.onReusable(this);
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

  /**
   * The backend half-closed. php-fpm half-closes a kept connection in one place: fcgi_close() with
   * keep and force off (main/fastcgi.c), reached by a child at pm.max_requests after the
   * END_REQUEST of its last request. It calls shutdown(SHUT_WR), then reads and discards whatever
   * comes until we close, and exits: a request written meanwhile is never parsed. A child that read
   * the request and then died (crash, kill) closed the whole socket instead. Over a unix socket the
   * kernel tells the two apart at once, with no clock involved: a write to a peer that is gone
   * fails with EPIPE, a write to one that only shut its sending side succeeds. So an exchange that
   * has received nothing yet probes with ABORT_REQUEST (harmless if anyone reads it, §5.4), and a
   * probe that went through proves the request never ran (FastCgiError.neverRead). Over TCP a write
   * to a closed peer also succeeds locally (the RST comes later): no proof, the exchange just fails.
   * The socket is opened with allowHalfOpen (address.ts), or node would have ended our side already.
   */
  #peerEnded(): void {
    const current = this.#current;
    if (this.#closed || current === undefined || !this.#unix || current.received) {
      this.#gone();
      return;
    }
    try {
      this.socket.write(encodeAbortRequest(REQUEST_ID), (err?: Error | null) => this.#gone(undefined, true, !err));
    } catch {
      this.#gone();
    }
  }

  #gone(err?: Error, destroySocket = true, neverRead = false): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#watch !== undefined) clearTimeout(this.#watch);
    if (destroySocket) this.socket.destroy();
    const current = this.#current;
    this.#current = undefined;
    current?.onClose(err, neverRead);
    this.#hooks.onClose(this);
  }
}
