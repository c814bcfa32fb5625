// taskQueue(): named tasks in worker threads of this process, or shared on Redis through BullMQ.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { events } from '../../src/handlers/worker/events.ts';
import { taskQueue } from '../../src/handlers/worker/task-queue.ts';
import type { FinishListener, TaskQueue } from '../../src/handlers/worker/task-types.ts';
import { skipWithoutRedis, startRedis } from '../helpers/redis-server.ts';
import { fixture } from './helpers.ts';

type Finish = Parameters<FinishListener>;

/** Collects finish events; `next(n)` resolves once n have arrived. */
function finishes(queue: TaskQueue) {
  const seen: Finish[] = [];
  let wake = () => {};
  queue.onFinish((...args) => {
    seen.push(args);
    wake();
  });
  return {
    seen,
    async next(n: number, ms = 20_000): Promise<Finish[]> {
      const deadline = Date.now() + ms;
      while (seen.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${seen.length} of ${n} tasks finished in time`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return seen;
    },
  };
}

describe('in worker threads of this process', () => {
  test('run resolves with the task’s result, computed in a worker thread', async () => {
    const queue = taskQueue({ module: fixture('tasks.ts'), concurrency: 2 });
    try {
      const out = await queue.run<{ sum: number; isMainThread: boolean }>('add', { a: 2, b: 3 });
      assert.equal(out.sum, 5);
      assert.equal(out.isMainThread, false);
    } finally {
      await queue.close();
    }
  });

  test('dispatch resolves with an id at once; results and failures reach onFinish', async () => {
    const queue = taskQueue({ module: fixture('tasks.ts'), concurrency: 2 });
    const done = finishes(queue);
    try {
      const ok = await queue.dispatch('add', { a: 1, b: 1 });
      const bad = await queue.dispatch('fail', { why: 'no mail server' });
      assert.match(ok, /^[0-9a-f-]{36}$/);
      const seen = await done.next(2);
      const byId = new Map(seen.map((f) => [f[2], f]));
      assert.equal((byId.get(ok)?.[1] as { sum: number } | undefined)?.sum, 2);
      assert.equal(byId.get(ok)?.[3], undefined);
      const failure = byId.get(bad);
      assert.equal(failure?.[0], 'fail');
      assert.equal(failure?.[1], undefined);
      assert.match(failure?.[3]?.message ?? '', /task refused: no mail server/);
    } finally {
      await queue.close();
    }
  });

  test('a failing task rejects run with FOYER_TASK_FAILED; an unknown task name is FOYER_TASK_UNKNOWN', async () => {
    const queue = taskQueue({ module: fixture('tasks.ts'), concurrency: 1 });
    try {
      await assert.rejects(queue.run('fail', { why: 'x' }), (err: { code: string; detail: string }) => {
        assert.equal(err.code, 'FOYER_TASK_FAILED');
        assert.match(err.detail, /task refused: x/);
        return true;
      });
      await assert.rejects(queue.run('nope'), { code: 'FOYER_TASK_UNKNOWN' });
    } finally {
      await queue.close();
    }
  });

  test('retries with backoff until a try succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-task-'));
    const file = join(dir, 'count');
    const queue = taskQueue({ module: fixture('tasks.ts'), concurrency: 1, attempts: 3, backoff: 50 });
    try {
      assert.deepEqual(await queue.run('flaky', { file, until: 3 }), { tries: 3 });
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a task over its timeout fails with FOYER_TASK_TIMEOUT and its thread is replaced', async () => {
    const queue = taskQueue({ module: fixture('tasks.ts'), concurrency: 1, timeout: 500 });
    try {
      await assert.rejects(queue.run('spin'), (err: { detail: string; code: string }) => {
        assert.match(err.detail, /timed out/);
        assert.equal(err.code, 'FOYER_TASK_TIMEOUT');
        return true;
      });
      assert.equal((await queue.run<{ sum: number }>('add', { a: 1, b: 2 })).sum, 3);
    } finally {
      await queue.close();
    }
  });
});

test('an event listener named by a string runs as a task after dispatch resolves (deferred)', async () => {
  const queue = taskQueue({ module: fixture('tasks.ts'), concurrency: 1 });
  const done = finishes(queue);
  const bus = events({ queue });
  bus.on('numbers.added', 'add');
  try {
    await bus.dispatch('numbers.added', { a: 20, b: 22 });
    assert.equal(done.seen.length, 0); // dispatch did not wait for the task
    const [finish] = await done.next(1);
    assert.equal(finish?.[0], 'add');
    assert.equal((finish?.[1] as { sum: number } | undefined)?.sum, 42);
  } finally {
    await bus.settled();
    await queue.close();
  }
});

describe('on Redis (BullMQ)', { skip: skipWithoutRedis }, () => {
  test('tasks dispatched before any consumer starts wait, then run; results come back to the dispatcher', async () => {
    const redis = await startRedis();
    const name = `t-${Date.now()}`;
    const producer = taskQueue({ module: fixture('tasks.ts'), redis: redis.url, name, concurrency: 0 });
    const done = finishes(producer);
    let consumer: TaskQueue | undefined;
    try {
      const ids = [await producer.dispatch('add', { a: 1, b: 2 }), await producer.dispatch('add', { a: 3, b: 4 })];
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(done.seen.length, 0, 'nothing ran without a consumer');
      consumer = taskQueue({ module: fixture('tasks.ts'), redis: redis.url, name, concurrency: 2 });
      const seen = await done.next(2);
      const sums = new Map(seen.map((f) => [f[2], (f[1] as { sum: number }).sum]));
      assert.deepEqual([sums.get(ids[0] as string), sums.get(ids[1] as string)], [3, 7]);
      // run() through Redis: the producer waits for the consumer's result.
      assert.equal((await producer.run<{ sum: number }>('add', { a: 10, b: 5 })).sum, 15);
    } finally {
      await consumer?.close();
      await producer.close();
      await redis.stop();
    }
  });

  test('two instances on one Redis share the work, and each hears only its own outcomes', async () => {
    const redis = await startRedis();
    const name = `t-${Date.now()}`;
    const a = taskQueue({ module: fixture('tasks.ts'), redis: redis.url, name, concurrency: 1 });
    const b = taskQueue({ module: fixture('tasks.ts'), redis: redis.url, name, concurrency: 1 });
    const doneA = finishes(a);
    const doneB = finishes(b);
    try {
      const idsA = await Promise.all([1, 2, 3].map((i) => a.dispatch('add', { a: i, b: 0 })));
      const idsB = await Promise.all([4, 5].map((i) => b.dispatch('add', { a: i, b: 0 })));
      await doneA.next(3);
      await doneB.next(2);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(doneA.seen.map((f) => f[2]).sort(), [...idsA].sort());
      assert.deepEqual(doneB.seen.map((f) => f[2]).sort(), [...idsB].sort());
    } finally {
      await a.close();
      await b.close();
      await redis.stop();
    }
  });

  test('a failing task reaches onFinish as a failure after its retries; run rejects', async () => {
    const redis = await startRedis();
    const name = `t-${Date.now()}`;
    const queue = taskQueue({
      module: fixture('tasks.ts'),
      redis: redis.url,
      name,
      concurrency: 1,
      attempts: 2,
      backoff: 50,
    });
    const done = finishes(queue);
    try {
      const id = await queue.dispatch('fail', { why: 'bounced' });
      const [finish] = await done.next(1);
      assert.equal(finish?.[2], id);
      assert.equal(finish?.[1], undefined);
      assert.match(finish?.[3]?.message ?? '', /task refused: bounced/);
      assert.equal(finish?.[3]?.attempts, 2);
      await assert.rejects(queue.run('fail', { why: 'again' }), { code: 'FOYER_TASK_FAILED' });
    } finally {
      await queue.close();
      await redis.stop();
    }
  });
});
