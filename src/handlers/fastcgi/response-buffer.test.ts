import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { ResponseBuffer } from './response-buffer.ts';

const dir = mkdtempSync(join(tmpdir(), 'foyer-response-buffer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function drain(b: ResponseBuffer): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for (let c = await b.shift(); c !== undefined; c = await b.shift()) out.push(c);
  return Buffer.concat(out);
}

describe('response overflow buffer', () => {
  test('gives bytes back in order across memory, temp file and the backpressure tail, however interleaved', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean()), { maxLength: 40 }),
        fc.nat(600),
        fc.nat(1500),
        async (steps, memoryLimit, maxFileSize) => {
          const b = new ResponseBuffer({ memoryLimit, maxFileSize, dir });
          const sent: Uint8Array[] = [];
          const got: Uint8Array[] = [];
          for (const [chunk, readOne] of steps) {
            b.push(chunk);
            sent.push(chunk);
            if (readOne) {
              const c = await b.shift();
              if (c !== undefined) got.push(c);
            }
          }
          got.push(await drain(b));
          assert.equal(b.size, 0);
          assert.deepEqual(Buffer.concat(got), Buffer.concat(sent));
          b.dispose();
        },
      ),
      { numRuns: 60 },
    );
  });

  test('asks for backpressure once memory and the temp file are full, and keeps the chunk', async () => {
    const b = new ResponseBuffer({ memoryLimit: 4, maxFileSize: 4, dir });
    assert.equal(b.push(Buffer.from('abcd')), true);
    assert.equal(b.push(Buffer.from('efgh')), true);
    assert.equal(b.push(Buffer.from('ij')), false);
    assert.equal(b.size, 10);
    assert.equal((await drain(b)).toString(), 'abcdefghij');
    b.dispose();
    assert.deepEqual(readdirSync(dir), []);
  });

  test('the temp files of all buffers sharing a budget stay within it together, and give it back', async () => {
    // 32 pipelined responses on one connection that reads nothing each spill to a temp file.
    const budget = { used: 0, max: 10, memory: 0, memoryMax: 1_000 };
    const buffers = Array.from(
      { length: 32 },
      () => new ResponseBuffer({ memoryLimit: 2, maxFileSize: 4, dir, budget }),
    );
    const paused = buffers.map((b) => [b.push(Buffer.from('ab')), b.push(Buffer.from('cdef'))]);
    assert.equal(budget.used, 8, 'two files of 4 bytes fit in 10');
    assert.deepEqual(paused.slice(0, 3), [
      [true, true],
      [true, true],
      [true, false],
    ]);
    assert.ok(paused.slice(2).every(([, ok]) => ok === false));
    // Every byte is still handed out in order, whatever went where.
    for (const b of buffers) assert.equal((await drain(b)).toString(), 'abcdef');
    for (const b of buffers) b.dispose();
    assert.equal(budget.used, 0);
  });

  test('the memory of all buffers sharing a budget stays within it together: the rest goes to the temp file', async () => {
    const budget = { used: 0, max: 1_000, memory: 0, memoryMax: 6 };
    const buffers = Array.from(
      { length: 4 },
      () => new ResponseBuffer({ memoryLimit: 4, maxFileSize: 100, dir, budget }),
    );
    for (const b of buffers) assert.equal(b.push(Buffer.from('abc')), true);
    assert.equal(budget.memory, 6, 'two buffers in memory');
    assert.equal(budget.used, 6, 'two in temp files');
    for (const b of buffers) assert.equal((await drain(b)).toString(), 'abc');
    assert.equal(budget.memory, 0);
    for (const b of buffers) b.dispose();
    assert.equal(budget.used, 0);
  });
});
