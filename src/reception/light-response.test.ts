import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LightResponse, NativeResponse } from './light-response.ts';

const Light = LightResponse as unknown as typeof Response;

describe('LightResponse', () => {
  test('a Response built from another keeps its status once the body is read', async () => {
    for (const make of [
      () => new Light('x', { status: 418, statusText: 'teapot', headers: { a: 'b' } }),
      () => new NativeResponse('x', { status: 418, statusText: 'teapot', headers: { a: 'b' } }),
    ]) {
      const copy = new Light(make().body, make());
      // What Hono's cors() and Foyer's compression do: touch the headers, then read the body.
      copy.headers.set('x-after', '1');
      assert.equal(await copy.clone().text(), 'x');
      assert.equal(copy.status, 418);
      assert.equal(copy.statusText, 'teapot');
      assert.equal(copy.headers.get('a'), 'b');
      assert.equal(copy.headers.get('x-after'), '1');
    }
  });

  test('reads its init once: later changes to the init object change nothing', () => {
    const headers: Record<string, string> = { a: '1' };
    const init = { status: 201, headers };
    const r = new Light('x', init);
    init.status = 500;
    headers.b = '2';
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('b'), null);
  });
});
