// Upstream addresses as users write them: `127.0.0.1:9000`, `tcp://host:port`, `[::1]:9000`,
// `unix:/run/php/php-fpm.sock` (also `unix:///path`). And the default socket factory: node:net.
import { Buffer } from 'node:buffer';
import { connect as netConnect, type OnReadOpts, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FastCgiError } from './errors.ts';
import { FoyerConfigError } from '../../util/errors.ts';
import { READ_BUFFER, sharedView } from '../../reception/shared-reads.ts';

export type Upstream = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Parses an upstream address; throws TypeError with the reason (config errors are exit 2). */
export function parseUpstream(addr: string): Upstream {
  const a = addr.trim();
  if (a.startsWith('unix:')) {
    let path = a.slice(5);
    if (path.startsWith('//')) path = path.slice(2);
    if (!path.startsWith('/'))
      throw new FoyerConfigError('FOYER_BAD_OPTION', `unix socket path must be absolute: ${addr}`);
    return { kind: 'unix', path };
  }
  if (a.startsWith('/')) return { kind: 'unix', path: a };
  const hostPort = a.startsWith('tcp://') ? a.slice(6).replace(/\/$/, '') : a;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/]+)):(\d{1,5})$/.exec(hostPort);
  if (!m)
    throw new FoyerConfigError('FOYER_BAD_OPTION', `expected HOST:PORT, tcp://HOST:PORT or unix:/PATH, got ${addr}`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new FoyerConfigError('FOYER_BAD_OPTION', `port out of range: ${addr}`);
  return { kind: 'tcp', host: (m[1] ?? m[2])!, port };
}

export function formatUpstream(u: Upstream): string {
  return u.kind === 'unix' ? `unix:${u.path}` : `${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
}

/** Opens a connected socket; the pool calls it for every new connection. */
export type SocketFactory = () => Promise<Duplex>;

/**
 * php-fpm sockets read into the process's one read buffer (node's `onread`, see
 * reception/shared-reads.ts), and what a read brought is copied out at once (under 4 KiB into
 * Buffer's shared pool) as the socket's 'data'. Without it node allocates 64 KiB for each read, then
 * a second buffer of the read's size, each with its malloc and free: 1.6k instructions per read of a
 * small page (callgrind).
 * The buffer itself is never handed over: a socket's handle keeps the buffer it was last given and
 * reads into it natively before any JavaScript runs, so a read on any other socket would overwrite
 * what was handed over (a review found another request's records inside a response body).
 */
function readInto(socket: () => Socket): OnReadOpts {
  return {
    // The buffer itself, not a function returning it: node would call the function and rebind the
    // handle's buffer on every read (4k instructions more per request, callgrind).
    buffer: READ_BUFFER,
    // php-fpm never speaks first (FastCGI §3.2: the web server begins every request): bytes before
    // a connection listens break the protocol, as bytes on an idle connection do (connection.ts).
    // True: go on reading (the socket's pause() still stops it).
    callback: (n) => {
      // Copied before any socket's next read reuses the bytes.
      const data = Buffer.allocUnsafe(n);
      data.set(sharedView(n));
      const s = socket();
      if (!s.emit('data', data)) s.destroy();
      return true;
    },
  };
}

/** The default factory: node:net to a TCP or unix address, with a connect timeout. */
export function netSocketFactory(upstream: Upstream, connectTimeout: number): SocketFactory {
  return () =>
    new Promise<Duplex>((resolve, reject) => {
      const onread = readInto(() => socket);
      const socket: Socket =
        upstream.kind === 'unix'
          ? // allowHalfOpen: a recycled php-fpm child's half-close is probed before we close (connection.ts).
            netConnect({ path: upstream.path, allowHalfOpen: true, onread })
          : netConnect({ host: upstream.host, port: upstream.port, onread });
      const timer =
        connectTimeout > 0
          ? setTimeout(() => {
              socket.destroy();
              reject(new FastCgiError('connect-timeout', `connect to ${formatUpstream(upstream)} timed out`));
            }, connectTimeout)
          : undefined;
      socket.once('connect', () => {
        if (timer) clearTimeout(timer);
        socket.removeListener('error', onError);
        // Records are written whole; Nagle would delay the small ones (the empty STDIN record).
        if (upstream.kind === 'tcp') socket.setNoDelay(true);
        resolve(socket);
      });
      const onError = (err: NodeJS.ErrnoException): void => {
        if (timer) clearTimeout(timer);
        reject(
          new FastCgiError('connect', `connect to ${formatUpstream(upstream)} failed: ${err.code ?? err.message}`),
        );
      };
      socket.once('error', onError);
    });
}
