import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import type { ExchangeOptions } from './exchange-options.ts';
import { FastCgiPool } from './pool.ts';
import { END_REQUEST, encodeRecords, STDOUT } from './record.ts';

// A connection whose exchange ended inside a socket read (END_REQUEST) goes back to the pool once
// that read is handled: what runs meanwhile cannot start an exchange on it, and bytes php-fpm
// should never send after END_REQUEST close it instead of corrupting the next response.
const stdout = (s: string) => encodeRecords(STDOUT, 1, Buffer.from(s));
const RESPONSE = Buffer.concat([
  stdout('Status: 200\r\nContent-Type: text/plain\r\n\r\nhello'),
  encodeRecords(STDOUT, 1, Buffer.alloc(0)),
  encodeRecords(END_REQUEST, 1, Buffer.alloc(8)),
]);

/**
 * A backend that answers every request head written to it with `reply(n)` (n: the request's number
 * on that socket), and then, in a later read, with `late(n)` if given.
 */
function backend(reply: (n: number) => Buffer, late?: (n: number) => Buffer | undefined) {
  let dialled = 0;
  const connect = async (): Promise<Duplex> => {
    dialled++;
    let n = 0;
    const socket: Duplex = new Duplex({
      read() {},
      write(_chunk, _encoding, cb) {
        cb();
        const bytes = reply(n);
        const after = late?.(n);
        n++;
        setImmediate(() => {
          if (!socket.destroyed) socket.push(bytes);
          if (after !== undefined) setImmediate(() => socket.destroyed || socket.push(after));
        });
      },
    });
    return socket;
  };
  return { connect, dialled: () => dialled };
}

const options = (extra: Partial<ExchangeOptions> = {}): ExchangeOptions =>
  ({
    params: [['SCRIPT_FILENAME', '/x.php']],
    body: null,
    keepConn: true,
    readTimeout: 2000,
    onStderr() {},
    highWaterMark: 65536,
    maxHeadSize: 65536,
    ...extra,
  }) as ExchangeOptions;

const text = (body: unknown) => Buffer.from(body as Uint8Array).toString();

function pool(connect: () => Promise<Duplex>): FastCgiPool {
  return new FastCgiPool({ connect, maxConnections: 1, idleTimeout: 0, maxQueue: 4, queueTimeout: 2000 });
}

describe('a connection released in the read that ended its exchange', () => {
  test('is reused for the next request, and is not idle before the read is handled', async () => {
    const b = backend(() => RESPONSE);
    const p = pool(b.connect);
    try {
      const conn = await p.acquire();
      let duringRead: unknown = 'not called';
      // onDone runs inside the read (the gateway's is a stderr flush through a logger).
      const first = await conn.exchange(options({ onDone: () => (duringRead = p.takeIdle()) }));
      assert.equal(text(first.body), 'hello');
      assert.equal(duringRead, undefined, 'nothing takes the connection while its read is decoded');
      assert.equal(p.takeIdle(), conn);
      const second = await conn.exchange(options());
      assert.equal(text(second.body), 'hello');
      assert.equal(b.dialled(), 1);
    } finally {
      p.close();
    }
  });

  test('is closed when the start of a record comes in a later read, while it is idle', async () => {
    for (const late of [Buffer.from([1, 6, 0]), encodeRecords(STDOUT, 1, Buffer.from('hello')).subarray(0, 8)]) {
      const b = backend(
        () => RESPONSE,
        (n) => (n === 0 ? late : undefined),
      );
      const p = pool(b.connect);
      try {
        assert.equal(text((await (await p.acquire()).exchange(options())).body), 'hello');
        await new Promise((resolve) => setTimeout(resolve, 10));
        assert.deepEqual(p.stats, { open: 0, idle: 0, waiting: 0 });
        assert.equal(text((await (await p.acquire()).exchange(options())).body), 'hello');
        assert.equal(b.dialled(), 2);
      } finally {
        p.close();
      }
    }
  });

  for (const [what, after] of [
    ['a record', stdout('LEAK')],
    ['a record header of another version', Buffer.from([9, 6, 0, 1, 0, 0, 0, 0])],
    ['three bytes of a record header', Buffer.from([1, 6, 0])],
  ] as const) {
    test(`is closed when ${what} follows END_REQUEST, and the next request gets a new one`, async () => {
      const b = backend((n) => (n === 0 ? Buffer.concat([RESPONSE, after]) : RESPONSE));
      const p = pool(b.connect);
      try {
        const first = await (await p.acquire()).exchange(options());
        assert.equal(text(first.body), 'hello');
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(p.stats, { open: 0, idle: 0, waiting: 0 });
        const next = await p.acquire();
        assert.equal(next.exchanges, 0, 'a fresh connection');
        assert.equal(text((await next.exchange(options())).body), 'hello');
        assert.equal(b.dialled(), 2);
      } finally {
        p.close();
      }
    });
  }
});
