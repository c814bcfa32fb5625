import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compose } from '../../src/handlers/app/compose.ts';
import { createContext } from '../../src/testing.ts';
import type { Middleware } from '../../src/types.ts';
import { FoyerError, isHttpError } from '../../src/util/errors.ts';

const req = () => new Request('http://127.0.0.1/');

test('layers run in onion order and change the response on the way out', async () => {
  const order: string[] = [];
  const outer: Middleware = async (_r, _c, next) => {
    order.push('outer in');
    const res = await next();
    order.push('outer out');
    res.headers.set('x-outer', '1');
    return res;
  };
  const inner: Middleware = async (_r, _c, next) => {
    order.push('inner in');
    const res = await next();
    order.push('inner out');
    return res;
  };
  const handler = () => {
    order.push('handler');
    return new Response('ok');
  };
  const res = await compose(outer, inner, handler)(req(), createContext());
  assert.equal(await res.text(), 'ok');
  assert.equal(res.headers.get('x-outer'), '1');
  assert.deepEqual(order, ['outer in', 'inner in', 'handler', 'inner out', 'outer out']);
});

test('a middleware may answer early without calling the rest', async () => {
  let reached = false;
  const res = await compose(
    () => new Response('denied', { status: 403 }),
    () => {
      reached = true;
      return new Response('no');
    },
  )(req(), createContext());
  assert.equal(res.status, 403);
  assert.equal(reached, false);
});

test('next() with a replacement request passes it down', async () => {
  const res = await compose(
    (_r, _c, next) => next(new Request('http://127.0.0.1/rewritten', { headers: { 'x-a': 'b' } })),
    (r) => new Response(`${new URL(r.url).pathname} ${r.headers.get('x-a')}`),
  )(req(), createContext());
  assert.equal(await res.text(), '/rewritten b');
});

test('calling next() twice rejects with the catalogue error', async () => {
  const chain = compose(
    async (_r, _c, next) => {
      await next();
      return next();
    },
    () => new Response('x'),
  );
  await assert.rejects(chain(req(), createContext()), (e: unknown) => {
    assert.ok(e instanceof FoyerError);
    assert.equal(e.code, 'FOYER_NEXT_CALLED_TWICE');
    assert.match(e.message, /next\(\) called more than once/);
    return true;
  });
});

test('calling next() twice in a single-layer chain also rejects', async () => {
  const chain = compose(async (_r, _c, next) => {
    await next().catch(() => {});
    return next();
  });
  await assert.rejects(
    chain(req(), createContext(), async () => new Response('end')),
    /more than once/,
  );
});

test('synchronous and asynchronous throws both come out as rejections', async () => {
  const sync = compose(() => {
    throw new Error('sync boom');
  });
  const asyncThrow = compose(async () => {
    throw new Error('async boom');
  });
  await assert.rejects(sync(req(), createContext()), /sync boom/);
  await assert.rejects(asyncThrow(req(), createContext()), /async boom/);
});

test('a layer that returns no Response is an error, not a hang', async () => {
  const chain = compose((() => undefined) as unknown as Middleware);
  await assert.rejects(chain(req(), createContext()), (e: unknown) => isHttpError(e) && e.code === 'FOYER_NO_RESPONSE');
});

test('the end of a chain with no outer next is a 404 error', async () => {
  const chain = compose((_r, _c, next) => next());
  await assert.rejects(chain(req(), createContext()), (e: unknown) => isHttpError(e) && e.status === 404);
});

test('a composed chain is a middleware: its end continues to the outer next', async () => {
  const inner = compose((_r, _c, next) => next());
  const res = await inner(req(), createContext(), async () => new Response('outer'));
  assert.equal(await res.text(), 'outer');
});

test('compose rejects a non-function layer at build time', () => {
  assert.throws(() => compose('nope' as unknown as Middleware), /layer 0 is not a function/);
});
