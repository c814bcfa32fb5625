import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Params } from './name-value.ts';
import { requestHeadText } from './request-head-text.ts';
import { encodeRequestHead } from './request-writer.ts';

// The text head must be, byte for byte, what the Buffer encoder writes, whenever it is used.
const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 });
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
const bytes = fc.uint8Array({ maxLength: 200 });
const pair = fc.tuple(fc.oneof(ascii, anyText), fc.oneof(ascii, ascii, anyText, bytes));

test('the latin1 request head is byte for byte the Buffer encoding (params of every shape)', () => {
  fc.assert(
    fc.property(fc.array(pair, { maxLength: 30 }), fc.boolean(), fc.boolean(), (params, keep, noBody) => {
      const text = requestHeadText(1, keep, params as Params, noBody);
      const expected = encodeRequestHead(1, keep, params as Params, noBody);
      if (text === undefined) return;
      assert.deepEqual(Buffer.from(text, 'latin1'), expected);
    }),
    { numRuns: 500 },
  );
});

test('the text head is used for ASCII params and bytes, and declined for UTF-8 text or oversize params', () => {
  const nasty: Params = [
    ['REQUEST_URI', '/a%20b?x=%C3%A9'],
    ['HTTP_X', Buffer.from('caf\xe9', 'latin1')],
    ['LONG', 'x'.repeat(200)],
    ['EMPTY', ''],
  ];
  const text = requestHeadText(1, true, nasty, true);
  assert.ok(text !== undefined);
  assert.deepEqual(Buffer.from(text, 'latin1'), encodeRequestHead(1, true, nasty, true));
  assert.equal(requestHeadText(1, true, [['SCRIPT_FILENAME', '/srv/café.php']], true), undefined);
  assert.equal(
    requestHeadText(
      1,
      true,
      [
        ['HTTP_X', Buffer.from([0xff])],
        ['P', '/ü'],
      ],
      true,
    ),
    undefined,
  );
  assert.equal(requestHeadText(1, true, [['BIG', 'x'.repeat(70_000)]], true), undefined);
  assert.equal(requestHeadText(1, true, [], true), undefined);
});
