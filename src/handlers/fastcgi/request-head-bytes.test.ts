import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Params } from './name-value.ts';
import { forgetKeptParams, keptParamNames, requestHeadBytes } from './request-head-bytes.ts';
import { encodeRequestHead } from './request-writer.ts';

// The one-pass head must be, byte for byte, what the general encoder writes, whenever it is used.
const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 });
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
const bytes = fc.uint8Array({ maxLength: 200 });
const pair = fc.tuple(fc.oneof(ascii, anyText), fc.oneof(ascii, ascii, anyText, bytes));

test('the one-pass request head is byte for byte the general encoding (params of every shape)', () => {
  // Ids of either byte, and changing ones: the records around the params are made once per id.
  const id = fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 0xffff }));
  fc.assert(
    fc.property(
      fc.array(pair, { maxLength: 30 }),
      fc.boolean(),
      fc.boolean(),
      id,
      (params, keep, noBody, requestId) => {
        const head = requestHeadBytes(requestId, keep, params as Params, noBody);
        const expected = encodeRequestHead(requestId, keep, params as Params, noBody);
        if (head === undefined) return;
        assert.deepEqual(head, expected);
      },
    ),
    { numRuns: 500 },
  );
});

test('the one-pass head is used for ASCII params and bytes, and declined for UTF-8 text or oversize params', () => {
  const nasty: Params = [
    ['REQUEST_URI', '/a%20b?x=%C3%A9'],
    ['HTTP_X', Buffer.from('caf\xe9', 'latin1')],
    ['LONG', 'x'.repeat(200)],
    ['EMPTY', ''],
  ];
  const head = requestHeadBytes(1, true, nasty, true);
  assert.ok(head !== undefined);
  assert.deepEqual(head, encodeRequestHead(1, true, nasty, true));
  assert.equal(requestHeadBytes(1, true, [['SCRIPT_FILENAME', '/srv/café.php']], true), undefined);
  assert.equal(
    requestHeadBytes(
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
  assert.equal(requestHeadBytes(1, true, [['BIG', 'x'.repeat(70_000)]], true), undefined);
  assert.equal(requestHeadBytes(1, true, [], true), undefined);
});

// Heads in a row share most of their pairs (the gateway lists the same variables in the same order):
// the bytes kept from the last heads must never change what a head is. Few names and values, so that
// pairs repeat at the same position, move, vanish and come back; kept and never-kept names mixed.
const fewNames = fc.constantFrom(
  'GATEWAY_INTERFACE',
  'SERVER_NAME',
  'SERVER_PORT',
  'SCRIPT_NAME',
  'REQUEST_URI',
  'HTTP_COOKIE',
  'A',
);
const fewValues = fc.oneof(
  fc.constantFrom('', 'x', 'y', 'CGI/1.1', 'v'.repeat(130)),
  fc.constant(Buffer.from('caf\xe9', 'latin1')),
  fc.constant('\u00e9'),
);
const shortHead = fc.array(fc.tuple(fewNames, fewValues), { maxLength: 9 });

test('heads in a row are each byte for byte the Buffer encoding, whatever the last ones held', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(shortHead, fc.boolean()), { minLength: 2, maxLength: 14 }), (heads) => {
      forgetKeptParams();
      for (const [params, noBody] of heads) {
        const head = requestHeadBytes(7, true, params as Params, noBody);
        if (head === undefined) continue;
        assert.deepEqual(head, encodeRequestHead(7, true, params as Params, noBody));
      }
    }),
    { numRuns: 1500 },
  );
  // One list whose values change a slot at a time, and which is cut short and grows back: a head
  // that differs from the last one early, or is shorter, then repeats an older one (the kept joins
  // of the later slots must follow every change).
  const edits = fc.array(fc.tuple(fc.nat(8), fewValues, fc.nat(9)), { minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(fc.array(fc.tuple(fewNames, fewValues), { minLength: 1, maxLength: 8 }), edits, (start, steps) => {
      forgetKeptParams();
      const params = start.map(([n, v]) => [n, v] as [string, string | Uint8Array]);
      for (const [at, value, length] of steps) {
        params[at % params.length]![1] = value;
        for (const head of [params.slice(0, Math.max(1, length)), params, params]) {
          const bytes = requestHeadBytes(7, true, head, true);
          if (bytes !== undefined) assert.deepEqual(bytes, encodeRequestHead(7, true, head, true));
        }
      }
    }),
    { numRuns: 1500 },
  );
  // The review's case: a shorter head with a new first value, then the longer one again.
  forgetKeptParams();
  const cut: Params[] = [
    [
      ['SERVER_NAME', '1'],
      ['SCRIPT_NAME', '2'],
    ],
    [['SERVER_NAME', '9']],
    [
      ['SERVER_NAME', '9'],
      ['SCRIPT_NAME', '2'],
    ],
  ];
  for (const params of cut)
    assert.deepEqual(requestHeadBytes(7, true, params, true), encodeRequestHead(7, true, params, true));
  // The usual run: the same server and script variables, the request's own changing.
  const head = (uri: string, addr: string): Params => [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_NAME', 'example.test'],
    ['REMOTE_ADDR', addr],
    ['REQUEST_URI', uri],
    ['HTTP_COOKIE', `s=${uri}`],
  ];
  for (const params of [head('/a', '10.0.0.1'), head('/b', '10.0.0.1'), head('/b', '10.0.0.2'), head('/a', '10.0.0.1')])
    assert.deepEqual(requestHeadBytes(7, false, params, true), encodeRequestHead(7, false, params, true));
});

test('only the leading run of server and script variables is kept, within its bounds', () => {
  forgetKeptParams();
  const server: Params = [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_NAME', 'example.test'],
  ];
  const head = (...rest: Params): Params => [...server, ...rest];
  requestHeadBytes(1, true, head(['REMOTE_ADDR', '10.0.0.1'], ['SCRIPT_NAME', '/a.php']), true);
  // The run stops at the first variable of the client's: a kept name after it is not kept.
  assert.deepEqual(keptParamNames(), ['GATEWAY_INTERFACE', 'SERVER_NAME']);
  requestHeadBytes(1, true, [['HTTP_COOKIE', 'secret'], ...server], true);
  assert.deepEqual(keptParamNames(), []);
  // A value that is bytes (a header value) is never kept, whatever its name.
  requestHeadBytes(1, true, [['SERVER_NAME', Buffer.from('x')]], true);
  assert.deepEqual(keptParamNames(), []);
  // At most MAX_KEPT_BYTES of them: a run past it is cut, and heads stay byte for byte right.
  const big: Params = [
    ['SERVER_NAME', 'a'.repeat(5000)],
    ['SCRIPT_NAME', 'b'.repeat(5000)],
    ['SCRIPT_FILENAME', 'c'.repeat(5000)],
  ];
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(requestHeadBytes(1, true, big, true), encodeRequestHead(1, true, big, true));
    assert.deepEqual(keptParamNames(), ['SERVER_NAME']);
  }
  // A run cut back to the one kept is not made again for every such head (the same list stays).
  const kept = keptParamNames();
  requestHeadBytes(1, true, big, true);
  assert.equal(keptParamNames(), kept);
});
