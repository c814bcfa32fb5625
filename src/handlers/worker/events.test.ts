import assert from 'node:assert/strict';
import { test } from 'node:test';
import { events } from './events.ts';

test('immediate listeners run in order before dispatch resolves; deferred ones only after', async () => {
  const bus = events();
  const order: string[] = [];
  bus.on('user.registered', async (p: { name: string }) => {
    await new Promise((r) => setTimeout(r, 20));
    order.push(`save ${p.name}`);
  });
  bus.on('user.registered', (p: { name: string }) => order.push(`welcome mail ${p.name}`), { deferred: true });
  bus.on('user.registered', (p: { name: string }) => order.push(`audit ${p.name}`));
  await bus.dispatch('user.registered', { name: 'ada' });
  order.push('answered');
  await bus.settled();
  assert.deepEqual(order, ['save ada', 'audit ada', 'answered', 'welcome mail ada']);
});

test('a failing immediate listener rejects dispatch; a failing deferred one is logged, never thrown', async () => {
  const logged: unknown[] = [];
  const log = { error: (obj: unknown) => logged.push(obj) } as never;
  const bus = events({ log });
  bus.on('a', () => {
    throw new Error('immediate failure');
  });
  await assert.rejects(bus.dispatch('a'), /immediate failure/);
  bus.on('b', () => Promise.reject(new Error('deferred failure')), { deferred: true });
  await bus.dispatch('b');
  await bus.settled();
  assert.equal(logged.length, 1);
  assert.match(String((logged[0] as { err: Error }).err), /deferred failure/);
});

test('a task listener needs a queue', () => {
  assert.throws(() => events().on('x', 'task'), /no queue/);
});

test('removing a listener stops it; other events are not affected', async () => {
  const bus = events();
  const seen: string[] = [];
  const off = bus.on('x', () => seen.push('x1'));
  bus.on('y', () => seen.push('y'));
  await bus.dispatch('x');
  off();
  await bus.dispatch('x');
  await bus.dispatch('y');
  assert.deepEqual(seen, ['x1', 'y']);
});
