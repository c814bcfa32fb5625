// Upstream addresses as users write them: `127.0.0.1:9000`, `tcp://host:port`, `[::1]:9000`,
// `unix:/run/php/php-fpm.sock` (also `unix:///path`). And the default socket factory: node:net.
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FastCgiError } from './errors.ts';
import { FoyerConfigError } from '../../util/errors.ts';

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
 * Where a socket made by netSocketFactory delivers its reads: a function set on the socket under
 * this key (connection.ts sets it). Such a socket emits no 'data': net's `onread` reads into one
 * buffer per socket, reused read after read, so the bytes passed are BORROWED until the function
 * returns, and whatever is kept must be copied. This skips the Readable machinery (a fresh
 * ArrayBuffer, push, 'data', maybeReadMore) on every read from php-fpm. Returning false pauses
 * reading, as does socket.pause(); 'end', 'error' and 'close' come as usual.
 */
export const BORROWED_READS = Symbol('foyer.fastcgi.borrowedReads');

/** The read buffer of one php-fpm connection: a whole FastCGI record (8 + 65535 + 255 bytes) fits. */
const READ_BUFFER_SIZE = 64 * 1024;

type ReadHook = (chunk: Buffer) => boolean | undefined;
type BorrowingSocket = Socket & { [BORROWED_READS]?: ReadHook };

/** net's `onread` for one socket (`holder.socket` is set once net made it). */
function borrowingOnread(holder: { socket?: BorrowingSocket }): {
  buffer: Buffer;
  callback(n: number, buf: Buffer): boolean;
} {
  return {
    buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE),
    callback(n: number, buf: Buffer): boolean {
      const socket = holder.socket!;
      const hook = socket[BORROWED_READS];
      // php-fpm speaks only when spoken to: bytes before a connection took the socket break the protocol.
      if (hook === undefined) {
        socket.destroy();
        return false;
      }
      return hook(buf.subarray(0, n)) !== false;
    },
  };
}

/** The default factory: node:net to a TCP or unix address, with a connect timeout. */
export function netSocketFactory(upstream: Upstream, connectTimeout: number): SocketFactory {
  return () =>
    new Promise<Duplex>((resolve, reject) => {
      const holder: { socket?: BorrowingSocket } = {};
      const onread = borrowingOnread(holder);
      const socket: BorrowingSocket =
        upstream.kind === 'unix'
          ? // allowHalfOpen: a recycled php-fpm child's half-close is probed before we close (connection.ts).
            netConnect({ path: upstream.path, allowHalfOpen: true, onread })
          : netConnect({ host: upstream.host, port: upstream.port, onread });
      socket[BORROWED_READS] = undefined;
      holder.socket = socket;
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
