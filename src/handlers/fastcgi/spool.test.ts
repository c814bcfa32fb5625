// Spooling of bodies without Content-Length: memory first, a private temp file past the bound.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SpoolTooLargeError, spoolBody } from './spool.ts';

function generated(total: number, chunk: number, onPull?: (sent: number) => void): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      onPull?.(sent);
      if (sent >= total) return c.close();
      const n = Math.min(chunk, total - sent);
      const b = Buffer.alloc(n, sent / chunk);
      sent += n;
      c.enqueue(b);
    },
  });
}

async function digest(chunks: AsyncIterable<Uint8Array>): Promise<[number, string]> {
  const h = createHash('md5');
  let n = 0;
  for await (const c of chunks) {
    h.update(c);
    n += c.length;
  }
  return [n, h.digest('hex')];
}

describe('request body spool', () => {
  test('keeps a small body in memory and replays it', async () => {
    const s = await spoolBody(generated(1000, 100), { memoryLimit: 4096, maxSize: 1 << 20, dir: tmpdir() });
    assert.equal(s.length, 1000);
    const first = await digest(s.chunks());
    assert.deepEqual(await digest(s.chunks()), first);
    await s.dispose();
  });

  test('moves a large body to a private file, then leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-spool-test-'));
    try {
      let sawFile = false;
      const total = 20 * 1024 * 1024;
      const body = generated(total, 64 * 1024, (sent) => {
        if (sent > 4 * 1024 * 1024 && readdirSync(dir).length === 1) sawFile = true;
      });
      const expected = await digest(
        (async function* () {
          for await (const c of generated(total, 64 * 1024)) yield c;
        })(),
      );
      const s = await spoolBody(body, { memoryLimit: 1024 * 1024, maxSize: 1 << 30, dir });
      assert.ok(sawFile, 'the body went to a file past the memory limit');
      assert.deepEqual(readdirSync(dir), [], 'the file name is gone once spooling is complete');
      assert.deepEqual(await digest(s.chunks()), expected);
      await s.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses a body over maxSize and removes the partial file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-spool-test-'));
    try {
      await assert.rejects(
        spoolBody(generated(3 << 20, 65536), { memoryLimit: 1 << 20, maxSize: 2 << 20, dir }),
        SpoolTooLargeError,
      );
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
