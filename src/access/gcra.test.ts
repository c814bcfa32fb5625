import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { gcra, parseRate, type RateSpec } from './gcra.ts';
import { countMapSteps } from '../../test/helpers/map-steps.ts';
import { LocalRateTable } from './rate-store.ts';

describe('GCRA with nginx limit_req nodelay semantics', () => {
  test('parses nginx rates', () => {
    assert.equal(parseRate('20r/s'), 50);
    assert.equal(parseRate('30r/m'), 2000);
    assert.equal(parseRate(4), 250);
    for (const bad of ['0r/s', 'r/s', '10r/h', '-1r/s', '', 'abc']) assert.equal(parseRate(bad), undefined, bad);
  });

  test('accepts burst + 1 at once, then one per interval', () => {
    const spec: RateSpec = { interval: 100, burst: 3 };
    const t = new LocalRateTable();
    const at = (now: number) => t.take('k', spec, now).allowed;
    assert.deepEqual([at(0), at(0), at(0), at(0), at(0)], [true, true, true, true, false]);
    assert.equal(at(99), false);
    assert.equal(at(100), true);
    assert.equal(at(150), false);
    assert.equal(at(200), true);
    // After a quiet spell the whole burst is back, never more.
    assert.deepEqual([at(10_000), at(10_000), at(10_000), at(10_000), at(10_000)], [true, true, true, true, false]);
  });

  test('burst 0 is one request per interval', () => {
    const t = new LocalRateTable();
    const spec = { interval: 1000, burst: 0 };
    assert.equal(t.take('k', spec, 0).allowed, true);
    assert.equal(t.take('k', spec, 500).allowed, false);
    assert.equal(t.take('k', spec, 1000).allowed, true);
  });

  test('reports remaining, retry-after and reset', () => {
    const spec = { interval: 100, burst: 2 };
    const a = gcra(undefined, 0, spec);
    assert.deepEqual(a.decision, { allowed: true, remaining: 2, retryAfterMs: 0, resetMs: 100 });
    const b = gcra(gcra(a.tat, 0, spec).tat, 0, spec);
    assert.equal(b.decision.remaining, 0);
    const refused = gcra(b.tat, 0, spec).decision;
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 100);
    assert.equal(refused.resetMs, 300);
  });

  test('refused requests do not push the key further out', () => {
    const t = new LocalRateTable();
    const spec = { interval: 100, burst: 0 };
    t.take('k', spec, 0);
    for (let i = 0; i < 50; i++) t.take('k', spec, 10);
    assert.equal(t.take('k', spec, 100).allowed, true);
  });

  test('a full table forgets the client allowed least recently, however often the newest one came back', () => {
    const t = new LocalRateTable(2);
    const spec = { interval: 60_000, burst: 10 };
    for (const k of ['a', 'b', 'b', 'b', 'a', 'a', 'c']) assert.equal(t.take(k, spec, 0).allowed, true, k);
    assert.equal(t.size, 2);
    // `a` is remembered (its fourth request leaves 7 of 11), `b` was dropped (a new key again: 10 left).
    assert.equal(t.take('a', spec, 0).remaining, 7);
    assert.equal(t.take('b', spec, 0).remaining, 10);
  });

  test('the table stays within its bound', () => {
    const t = new LocalRateTable(100);
    for (let i = 0; i < 1000; i++) t.take(`k${i}`, { interval: 60_000, burst: 0 }, 0);
    assert.ok(t.size <= 100);
  });

  test('a full table of live keys takes a new key without walking the table', () => {
    // A flood from many addresses fills the table; each further address must not cost a scan.
    const t = new LocalRateTable(2000);
    const spec = { interval: 60_000, burst: 0 };
    for (let i = 0; i < 2000; i++) t.take(`k${i}`, spec, 0);
    const steps = countMapSteps(() => {
      for (let i = 2000; i < 2100; i++) t.take(`k${i}`, spec, 1);
    });
    assert.equal(t.size, 2000);
    assert.ok(steps <= 200, `100 new keys walked ${steps} entries`);
    // The least recently allowed went first; the newest are kept.
    assert.equal(t.take('k2099', spec, 2).allowed, false);
  });

  test('the table decides as a plain one that re-inserts every allowed key (its newest key kept aside changes nothing)', () => {
    // The reference: every allowed key is deleted and set again, so the Map's order is least
    // recently allowed first, and the first key goes when the table is over its bound.
    class Plain {
      readonly tats = new Map<string, number>();
      constructor(readonly maxKeys: number) {}
      take(key: string, spec: RateSpec, now: number) {
        const { tat, decision } = gcra(this.tats.get(key), now, spec);
        if (decision.allowed) {
          this.tats.delete(key);
          this.tats.set(key, tat);
          if (this.tats.size > this.maxKeys) this.tats.delete(this.tats.keys().next().value as string);
        }
        return decision;
      }
    }
    const step = fc.record({
      key: fc.constantFrom('a', 'b', 'c', 'd'),
      dt: fc.constantFrom(0, 0, 0, 10, 50, 100, 1000, -50), // a clock stepping back too
      burst: fc.constantFrom(0, 1, 3),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.array(step, { maxLength: 60 }), (maxKeys, steps) => {
        const table = new LocalRateTable(maxKeys);
        const plain = new Plain(maxKeys);
        let now = 0;
        for (const s of steps) {
          now += s.dt;
          const spec = { interval: 100, burst: s.burst };
          assert.deepEqual(table.take(s.key, spec, now), plain.take(s.key, spec, now));
          assert.equal(table.size, plain.tats.size);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
