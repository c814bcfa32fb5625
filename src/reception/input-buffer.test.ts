import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ACC_KEEP, InputBuffer } from './input-buffer.ts';
import { isSharedRead, READ_BUFFER } from './shared-reads.ts';

/** A read as node delivers it in onread mode: a view of the one read buffer, from its start. */
function sharedRead(text: string): Buffer {
  const n = READ_BUFFER.write(text, 0, 'latin1');
  return READ_BUFFER.subarray(0, n);
}

const unparsed = (b: InputBuffer) => (b.buf === null ? '' : b.buf.toString('latin1', b.pos));

/**
 * Random reads, each followed by a random amount consumed and by `handled` (what the connection does
 * once a read was parsed): the unparsed input is always what was read and not consumed.
 */
function joinsReads(read: (text: string) => Buffer, handled: (b: InputBuffer) => void = () => {}): void {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 300 }), fc.nat(400)), { minLength: 1, maxLength: 12 }),
      (steps) => {
        const b = new InputBuffer();
        let expected = '';
        for (const [text, eat] of steps) {
          b.push(read(text));
          expected += text;
          const n = Math.min(eat, expected.length);
          b.consumed(b.pos + n);
          expected = expected.slice(n);
          handled(b);
          assert.equal(unparsed(b), expected);
        }
      },
    ),
  );
}

describe('input buffer', () => {
  test('uses a read as it is when nothing is pending', () => {
    const b = new InputBuffer();
    const chunk = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    b.push(chunk);
    assert.equal(b.buf, chunk);
    assert.equal(b.pos, 0);
  });

  test('joins reads in order, whatever the cuts and however much was consumed between them', () => {
    joinsReads((text) => Buffer.from(text, 'latin1'));
  });

  test('bytes made stable keep their value when the next read reuses the accumulator', () => {
    const b = new InputBuffer();
    b.push(Buffer.from('abc'));
    b.push(Buffer.from('def')); // now in the accumulator
    const raw = b.buf!.subarray(b.pos, b.pos + 3);
    const kept = b.stable(raw);
    b.consumed(b.pos + 3);
    b.push(Buffer.from('XYZ')); // 'def' moves to the front: the accumulator is rewritten in place
    assert.equal(kept.toString(), 'abc');
    assert.equal(raw.toString(), 'def', 'the raw slice did alias the accumulator (else this test proves nothing)');
    assert.equal(unparsed(b), 'defXYZ');
  });

  test('leaves a read that is not in the accumulator alone (no copy)', () => {
    const b = new InputBuffer();
    b.push(Buffer.from('ab'));
    b.push(Buffer.from('cd')); // creates the accumulator
    const other = Buffer.from('pooled'); // Node's shared pool, never the accumulator
    assert.equal(b.stable(other), other);
  });

  test('what is left of a shared read is copied out by keep(), and survives the next read', () => {
    joinsReads(sharedRead, (b) => {
      b.keep(); // the read was handled
      assert.ok(b.buf === null || !isSharedRead(b.buf));
      READ_BUFFER.fill(0x7a, 0, 1024); // any other socket's read
    });
  });

  test('body bytes from a shared read are copied into memory of their own', () => {
    const b = new InputBuffer();
    b.push(sharedRead('hello world'));
    const kept = b.stable(b.buf!.subarray(6, 11));
    READ_BUFFER.fill(0x7a, 0, 64);
    assert.equal(kept.toString(), 'world');
    assert.equal(kept.buffer.byteLength, 5, 'not a slice of a pool slab, which it would keep alive');
  });

  test('an idle connection keeps a small accumulator and drops a large one', () => {
    for (const [size, kept] of [
      [100, true],
      [ACC_KEEP, false],
    ] as const) {
      const b = new InputBuffer();
      b.push(Buffer.alloc(size, 'a'));
      b.push(Buffer.from('b'));
      const slice = b.buf!.subarray(0, 1);
      b.consumed(b.buf!.length);
      assert.equal(b.buf, null);
      assert.equal(b.stable(slice) !== slice, kept, `accumulator after ${size} bytes kept: ${kept}`);
    }
  });

  test('hands over a copy of what is unparsed, and is empty after', () => {
    const b = new InputBuffer();
    b.push(Buffer.from('GET / HTTP/1.1\r\n\r\nrest'));
    b.consumed(18);
    const rest = b.takeRest();
    assert.equal(rest.toString(), 'rest');
    assert.equal(b.buf, null);
    assert.equal(new InputBuffer().takeRest().length, 0);
  });

  test('reads the pending request line up to its end of line, at most 1 KiB', () => {
    const b = new InputBuffer();
    b.push(Buffer.from('xxGET /a HTTP/1.1\r\nHost: h\r\n'));
    b.consumed(2);
    assert.equal(b.readableLine(), 'GET /a HTTP/1.1');
    const long = new InputBuffer();
    long.push(Buffer.from(`GET /${'a'.repeat(5000)}`));
    assert.equal(long.readableLine().length, 1024);
    assert.equal(new InputBuffer().readableLine(), '');
  });
});
