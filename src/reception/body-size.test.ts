import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import fc from 'fast-check';
import { bodySizeAtMost, knownBodySize } from './body-size.ts';
import { LightResponse } from './light-response.ts';

const light = (body: unknown) => new LightResponse(body as string) as unknown as Response;

test("a light response's string body: the bound is never below its UTF-8 size, which knownBodySize counts exactly", () => {
  // Lone surrogates become U+FFFD (3 bytes for 1 unit), pairs 4 bytes for 2 units, ASCII 1 for 1.
  const nasty = ['', 'a', '\u00e9', '\u20ac', '\u{1f600}', '\ud800', '\udc00x', 'a\u{10ffff}\ud83d', '\0\r\n'];
  const check = (s: string) => {
    const exact = Buffer.byteLength(s);
    assert.equal(knownBodySize(light(s)), exact);
    const most = bodySizeAtMost(light(s))!;
    assert.ok(most >= exact, `${JSON.stringify(s)}: bound ${most} under ${exact} bytes`);
  };
  for (const s of nasty) check(s);
  fc.assert(fc.property(fc.string({ unit: 'binary' }), check), { numRuns: 2000 });
});

test('bytes, nothing, and what only reading would tell', () => {
  for (const f of [knownBodySize, bodySizeAtMost]) {
    assert.equal(f(light(new Uint8Array(7))), 7);
    assert.equal(f(light(new ArrayBuffer(5))), 5);
    assert.equal(f(light(null)), 0);
    assert.equal(f(light(new Blob(['abc']))), undefined);
    assert.equal(f(new globalThis.Response('abc')), undefined);
  }
});
