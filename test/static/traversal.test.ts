// The traversal battery in-process, with the raw target handed straight to the handler (the wire
// test sends the same battery through the engine).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Mw, Tree } from './helpers.ts';
import { getRaw, handler, makeTree, TRAVERSAL_BATTERY } from './helpers.ts';

let t: Tree;
let mw: Mw;
before(() => {
  t = makeTree();
  mw = handler(t.root);
});
after(() => t.cleanup());

describe('path traversal battery in-process', () => {
  for (const [target, statuses] of TRAVERSAL_BATTERY) {
    test(`refuses ${JSON.stringify(target)} without leaking`, async () => {
      const r = await getRaw(mw, target);
      assert.ok(statuses.includes(r.status), `${target} → ${r.status}`);
      assert.doesNotMatch(r.body.toString('latin1'), /secret/i);
    });
  }
  test('a raw NUL in the target is refused', async () => {
    assert.equal((await getRaw(mw, '/a.txt\0.html')).status, 400);
  });
  test('the root with a trailing dot segment redirects to the root', async () => {
    const r = await getRaw(mw, '/sub/..');
    assert.equal(r.status, 308);
    assert.equal(r.headers.get('location'), '/');
  });
  test('every refusal holds with symlinks followed freely, except the symlinks themselves', async () => {
    const free = handler(t.root, { symlinks: 'follow' });
    for (const [target, statuses] of TRAVERSAL_BATTERY) {
      if (target.includes('link-out')) continue;
      const r = await getRaw(free, target);
      assert.ok(statuses.includes(r.status), `${target} → ${r.status}`);
    }
  });
});
