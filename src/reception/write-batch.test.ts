// WriteBatch against the reference: what reaches the socket is exactly each queued piece encoded
// on its own (text as UTF-8, ASCII text and bytes as they are), in order, whichever write path
// (one string, one joined Buffer, a corked writev) the batch took.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WriteBatch, type WriteBatchOwner } from './write-batch.ts';

/** A socket that records what each write carries, as bytes. */
function recordingSocket(): { socket: Socket; written: Buffer[]; writes: () => number } {
  const written: Buffer[] = [];
  let writes = 0;
  let corked = 0;
  const fake = {
    writableNeedDrain: false,
    writableLength: 0,
    cork: () => corked++,
    uncork: () => {
      corked--;
      if (corked === 0) writes++;
    },
    write: (c: string | Uint8Array) => {
      written.push(typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c));
      if (corked === 0) writes++;
      return true;
    },
  };
  return { socket: fake as unknown as Socket, written, writes: () => writes };
}

const owner: WriteBatchOwner = { blocked: () => {}, guard: (fn) => fn(), flushed: () => {} };

type Piece = { kind: 'text'; s: string } | { kind: 'ascii'; s: string } | { kind: 'bytes'; b: Uint8Array };

function encode(p: Piece): Buffer {
  return p.kind === 'bytes' ? Buffer.from(p.b) : Buffer.from(p.s, p.kind === 'text' ? 'utf8' : 'latin1');
}

function run(batches: Piece[][]): { got: Buffer; want: Buffer; writes: number; calls: number } {
  const rec = recordingSocket();
  const w = new WriteBatch(rec.socket, owner);
  const want: Buffer[] = [];
  for (const batch of batches) {
    for (const p of batch) {
      if (p.kind === 'text') w.text(p.s);
      else if (p.kind === 'ascii') w.ascii(p.s);
      else w.bytes(p.b);
      want.push(encode(p));
    }
    w.flush();
  }
  return {
    got: Buffer.concat(rec.written),
    want: Buffer.concat(want),
    writes: rec.writes(),
    calls: rec.written.length,
  };
}

const ascii = fc.string({ unit: fc.constantFrom(...'HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n0123456789abcdef') });
const piece: fc.Arbitrary<Piece> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), s: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
  fc.record({ kind: fc.constant('text' as const), s: fc.string({ unit: 'binary', maxLength: 40 }) }),
  fc.record({ kind: fc.constant('ascii' as const), s: ascii }),
  fc.record({ kind: fc.constant('bytes' as const), b: fc.uint8Array({ maxLength: 64 }) }),
  // Large enough that a batch crosses the joining limit (16 KiB) now and then.
  fc.record({
    kind: fc.constant('bytes' as const),
    b: fc.integer({ min: 1, max: 12_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
  }),
);

describe('WriteBatch', () => {
  it('a joined response that will wait behind queued output owns its memory (keeps no pool slab alive)', () => {
    for (const queued of [0, 1]) {
      const originals: Uint8Array[] = [];
      const socket = {
        writableNeedDrain: false,
        writableLength: queued,
        cork: () => {},
        uncork: () => {},
        write: (c: Uint8Array) => originals.push(c) > 0,
      } as unknown as Socket;
      const w = new WriteBatch(socket, owner);
      w.ascii('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n');
      w.bytes(Buffer.from('hello'));
      w.flush();
      assert.equal(originals.length, 1);
      const out = originals[0]!;
      // Straight out: a slice of Buffer's shared pool. Waiting: exactly its own bytes.
      if (queued === 0) assert.ok(out.buffer.byteLength > out.byteLength);
      else assert.equal(out.buffer.byteLength, out.byteLength);
    }
  });

  it('writes every piece encoded on its own, in order, on any path (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(piece, { maxLength: 8 }), { maxLength: 6 }), (batches) => {
        const { got, want } = run(batches);
        assert.ok(got.equals(want));
      }),
      { numRuns: 400 },
    );
  });

  it('nasty pieces: lone surrogates, non-ASCII text after bytes, empty pieces, the limit exactly', () => {
    const table: Piece[][][] = [
      [
        [
          { kind: 'ascii', s: 'HTTP/1.1 200 OK\r\n\r\n' },
          { kind: 'bytes', b: Buffer.from('hi') },
          { kind: 'text', s: 'é€😀' },
        ],
      ],
      [
        [
          { kind: 'bytes', b: new Uint8Array(0) },
          { kind: 'text', s: '\ud800x\udc00' },
          { kind: 'ascii', s: '' },
        ],
      ],
      [
        [
          { kind: 'text', s: 'ü' },
          { kind: 'bytes', b: new Uint8Array(16 * 1024 - 2) },
        ],
      ],
      [
        [
          { kind: 'text', s: 'ü' },
          { kind: 'bytes', b: new Uint8Array(16 * 1024 - 1) },
        ],
      ],
      [
        [{ kind: 'ascii', s: 'x' }],
        [
          { kind: 'text', s: 'ÿ' },
          { kind: 'bytes', b: Buffer.from([0xff]) },
        ],
      ],
    ];
    for (const batches of table) {
      const { got, want } = run(batches);
      assert.ok(got.equals(want), JSON.stringify(batches).slice(0, 200));
    }
  });

  it('a head and a small body leave as one Buffer in one write (no corked writev)', () => {
    const { writes, calls } = run([
      [
        { kind: 'ascii', s: 'HTTP/1.1 200 OK\r\n\r\n' },
        { kind: 'bytes', b: Buffer.from('hello') },
      ],
    ]);
    assert.deepEqual({ writes, calls }, { writes: 1, calls: 1 });
  });
});
