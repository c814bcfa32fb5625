// A Connection driven without the network: bytes in through feed(), bytes out collected.
// Lets property tests push thousands of byte splits through the real engine quickly.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createLogger } from '../../src/log/logger.ts';
import { Connection, type FetchHandler } from '../../src/reception/connection.ts';
import { installGlobals } from '../../src/reception/globals.ts';
import { type Limits, resolveLimits } from '../../src/reception/limits.ts';

export class MemorySocket extends Duplex {
  out: Buffer[] = [];
  /** How many times the engine handed bytes to the socket (a corked batch counts once). */
  writes = 0;
  remoteAddress = '127.0.0.1';
  remotePort = 5555;
  localAddress = '127.0.0.1';
  localPort = 80;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.writes++;
    this.out.push(Buffer.from(chunk));
    cb();
  }
  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.writes++;
    for (const c of chunks) this.out.push(Buffer.from(c.chunk));
    cb();
  }
  setNoDelay(): this {
    return this;
  }
  text(): string {
    return Buffer.concat(this.out).toString('latin1');
  }
}

export interface Driven {
  socket: MemorySocket;
  errors: unknown[];
  feed(chunks: Buffer[]): Promise<void>;
}

/** A connection over a MemorySocket; `errors` collects engine-internal error logs (there should be none). */
export function drive(fetch: FetchHandler, limits: Partial<Limits> = {}): Driven {
  installGlobals(); // as serve() does
  const socket = new MemorySocket({ allowHalfOpen: true });
  const errors: unknown[] = [];
  const log = createLogger('error', {
    write(line: string) {
      if (line.includes('internal error')) errors.push(line);
    },
  });
  new Connection(
    socket as unknown as Socket,
    { limits: resolveLimits(limits), fetch, onError: undefined, log, secure: false },
    () => {},
  );
  return {
    socket,
    errors,
    async feed(chunks) {
      for (const c of chunks) {
        socket.push(c);
        await new Promise((r) => setImmediate(r));
      }
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    },
  };
}
