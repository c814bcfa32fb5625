import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { READ_BUFFER, sharedView } from './shared-reads.ts';

test('sharedView(n) is always READ_BUFFER[0, n), whatever lengths came before', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: READ_BUFFER.length }), { minLength: 1, maxLength: 200 }), (ns) => {
      for (const n of ns) {
        const v = sharedView(n);
        assert.equal(v.length, n);
        assert.equal(v.byteOffset, READ_BUFFER.byteOffset);
        assert.equal(v.buffer, READ_BUFFER.buffer);
        assert.ok(Buffer.isBuffer(v));
      }
    }),
  );
  // Lengths that share a slot (64 apart) each get their own view.
  assert.equal(sharedView(1).length, 1);
  assert.equal(sharedView(65).length, 65);
  assert.equal(sharedView(1).length, 1);
});
