// Accepts connections on node:net or node:tls, keeps the set of live connections, runs the one
// sweep timer that enforces every connection's deadlines, and closes gracefully.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.ts';
import { READ_AHEAD } from './shared-reads.ts';
import { Connection, type ConnectionConfig } from './connection.ts';

export interface ListenerOptions {
  port: number;
  host: string;
  tls?: tls.TlsOptions | undefined;
  config: ConnectionConfig;
  log: Logger;
}

/**
 * Bytes a socket buffers in user space before write() asks us to wait for drain. Node's 16 KiB
 * default makes every 64 KiB chunk of a streamed file wait a round-trip for drain. Also what a
 * paused connection reads ahead (shared-reads.ts).
 */
const SOCKET_HIGH_WATER = READ_AHEAD;

export class Listener {
  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();
  readonly #config: ConnectionConfig;
  #sweep: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  /** Connections accepted since the start. */
  accepted = 0;

  constructor(opts: ListenerOptions) {
    this.#config = opts.config;
    const onSocket = (socket: net.Socket) => {
      if (this.#closing !== undefined) {
        socket.destroy();
        return;
      }
      this.accepted++;
      const conn = new Connection(socket, this.#config, (c) => this.#forget(c));
      this.#connections.add(conn);
    };
    // allowHalfOpen: a client may send its request and shut down its side (RFC 9112 §9.6);
    // it still gets its response.
    if (opts.tls !== undefined) {
      this.#server = tls.createServer({
        ...opts.tls,
        allowHalfOpen: true,
        highWaterMark: SOCKET_HIGH_WATER,
        ALPNProtocols: ['http/1.1'],
      });
      // No renegotiation started by a client: each one costs the server a handshake (CVE-2011-1473),
      // and nginx and Go refuse it too. An attempt is a TLS error, and the connection closes.
      this.#server.on('secureConnection', (socket: tls.TLSSocket) => {
        socket.disableRenegotiation();
        onSocket(socket);
      });
      this.#server.on('tlsClientError', (err) => opts.log.debug({ err }, 'TLS handshake failed'));
    } else {
      this.#server = net.createServer(
        { allowHalfOpen: true, noDelay: true, highWaterMark: SOCKET_HIGH_WATER },
        onSocket,
      );
    }
    this.#log = opts.log;
  }

  readonly #log: Logger;

  /** `fd`: an inherited listening socket (systemd socket activation) instead of port and host. */
  listen(port: number, host: string, fd?: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      // exclusive: false lets node:cluster workers share the primary's socket.
      const where = fd === undefined ? { port, host, exclusive: false } : { fd, exclusive: false };
      this.#server.listen(where, () => {
        this.#server.off('error', onError);
        // Failing to listen is the caller's one error line; later errors are logged here.
        this.#server.on('error', (err) => this.#log.error({ err }, 'listener error'));
        this.#startSweep();
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  #startSweep(): void {
    const l = this.#config.limits;
    const smallest = Math.min(l.headersTimeout, l.keepAliveTimeout, l.bodyTimeout, l.sendTimeout) || 1000;
    // Deadlines are honoured to within a quarter of the smallest timeout (at least 10 ms, at most 1 s).
    const every = Math.min(1000, Math.max(10, Math.floor(smallest / 4)));
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const c of this.#connections) c.tick(now);
    }, every);
    this.#sweep.unref();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Open connections by state, counted when asked (a status page, a metrics scrape). */
  connectionStates(): { active: number; idle: number; reading: number; accepted: number } {
    let idle = 0;
    let reading = 0;
    for (const c of this.#connections) {
      if (c.idle) idle++;
      else if (c.reading) reading++;
    }
    return { active: this.#connections.size, idle, reading, accepted: this.accepted };
  }

  #forget(c: Connection): void {
    this.#connections.delete(c);
    if (this.#connections.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** `keepIdle`: see Connection.shutdown (a retiring worker lets idle connections take one more request). */
  close(timeout: number, keepIdle = false): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = new Promise<void>((resolve) => {
      this.#server.close();
      for (const c of this.#connections) c.shutdown(keepIdle);
      const done = () => {
        clearTimeout(timer);
        if (this.#sweep !== undefined) clearInterval(this.#sweep);
        resolve();
      };
      const timer = setTimeout(() => {
        for (const c of this.#connections) c.destroy();
      }, timeout);
      if (this.#connections.size === 0) done();
      else this.#idleWaiters.push(done);
    });
    return this.#closing;
  }
}
