// The saved byte methods against Buffer's documented ones (the reference), on random text and bytes
// and on a table of nasty ones: lone surrogates, chars above 0xFF, a character cut by the buffer's
// end, offsets at the end, a Uint8Array that is not a Buffer.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { indexOfByte, latin1Text, writeLatin1, writeUtf8 } from './byte-methods.ts';

const NASTY = [
  '',
  'a',
  '\u00e9',
  '\u00ff\u0100',
  '\ud800',
  'x\udc00y',
  '\u{1F600}',
  'ab\u{1F600}',
  '\r\n\0',
  '\u010d\u010a',
];

function writesLikeBuffer(text: string, size: number, at: number): void {
  const ours = Buffer.alloc(size, 0xaa);
  const ref = Buffer.alloc(size, 0xaa);
  assert.equal(writeUtf8(ours, text, at), ref.write(text, at, 'utf8'));
  assert.deepEqual(ours, ref);
  ours.fill(0xaa);
  ref.fill(0xaa);
  assert.equal(writeLatin1(ours, text, at), ref.write(text, at, 'latin1'));
  assert.deepEqual(ours, ref);
}

describe('byte methods', () => {
  it('write as Buffer#write does, cut characters included', () => {
    for (const text of NASTY)
      for (let size = 0; size <= 6; size++) for (let at = 0; at <= size; at++) writesLikeBuffer(text, size, at);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.nat(40), fc.nat(40), (text, size, at) =>
        writesLikeBuffer(text, size, Math.min(at, size)),
      ),
      { numRuns: 500 },
    );
  });

  it('read and search as Buffer#toString and Buffer#indexOf do, on a Buffer or a plain Uint8Array', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(70), fc.nat(70), fc.nat(255), (bytes, a, b, byte) => {
        const buf = Buffer.from(bytes);
        const [s, e] = [Math.min(a, b, bytes.length), Math.min(Math.max(a, b), bytes.length)];
        for (const view of [buf, bytes]) {
          assert.equal(latin1Text(view, s, e), buf.toString('latin1', s, e));
          assert.equal(indexOfByte(view, byte, a), buf.indexOf(byte, a));
        }
      }),
      { numRuns: 500 },
    );
  });
});
