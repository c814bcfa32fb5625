// The peer's address, port and family of a socket (a client's, or php-fpm's for an upstream
// connection), read once from its handle.
//
// Why not `socket.remoteAddress` (or remotePort, remoteFamily): Node caches the peer's name in a
// property (`_peername`) that a net.Socket does not have when it is constructed. Reading it gives
// every connection's socket one hidden class more, after the socket's first reads. The `_handle`
// getter, which Node's every socket read and write goes through, then sees more classes than V8
// keeps inline (four), and its lookups turn megamorphic for the whole process. Measured with
// callgrind (bench/callgrind/steady.sh): about 770 instructions per keep-alive request, 3.3% of all.
// The handle's own `getpeername` fills a plain object and leaves the socket's shape alone.
// (`localAddress` caches into a property the constructor already made, so it is read the public way.)
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface PeerName {
  readonly address: string;
  readonly port: number;
  /** 'IPv4', 'IPv6', or '' where there is no peer name (a unix socket). */
  readonly family: string;
}

interface NameOut {
  address?: unknown;
  port?: unknown;
  family?: unknown;
}

interface NamedHandle {
  getpeername?: (out: NameOut) => number;
}

/**
 * What `socket.remoteAddress`, `remotePort` and `remoteFamily` say, without changing the socket.
 * Falls back to them where the handle has no `getpeername` (a unix socket has no peer name: '', 0
 * and ''; a stream that is not a socket has none of them).
 */
export function peerName(socket: Socket | Duplex): PeerName {
  const handle = (socket as unknown as { _handle?: NamedHandle | null })._handle;
  if (typeof handle?.getpeername === 'function') {
    const out: NameOut = {};
    if (handle.getpeername(out) === 0 && typeof out.address === 'string') {
      const family = typeof out.family === 'string' ? out.family : '';
      return { address: out.address, port: typeof out.port === 'number' ? out.port : 0, family };
    }
  }
  const s = socket as Partial<Pick<Socket, 'remoteAddress' | 'remotePort' | 'remoteFamily'>>;
  return { address: s.remoteAddress ?? '', port: s.remotePort ?? 0, family: s.remoteFamily ?? '' };
}
