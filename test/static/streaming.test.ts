import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { OpenFile, StaticFs } from '../../src/handlers/static/index.ts';
import { nodeFs } from '../../src/handlers/static/index.ts';
import { FileCache } from '../../src/handlers/static/file-cache.ts';
import type { FileEntry } from '../../src/handlers/static/file-entry.ts';
import { createContext } from '../../src/testing.ts';
import type { Tree } from './helpers.ts';
import { get, handler, makeTree } from './helpers.ts';

let t: Tree;
before(() => {
  t = makeTree();
});
after(() => t.cleanup());

/** A seam that counts reads and closes of every file it opens. */
function counting() {
  const stats = { opens: 0, reads: 0, closes: 0 };
  const fs: StaticFs = {
    ...nodeFs,
    open: async (p) => {
      stats.opens++;
      const h = await nodeFs.open(p);
      const f: OpenFile = {
        stat: () => h.stat(),
        read: (b, o, l, pos) => {
          stats.reads++;
          return h.read(b, o, l, pos);
        },
        close: () => {
          stats.closes++;
          return h.close();
        },
      };
      return f;
    },
  };
  return { fs, stats };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('streaming large files', () => {
  test('reads ahead at most a chunk or two while the client does not read (backpressure)', async () => {
    const { fs, stats } = counting();
    const mw = handler(t.root, { fs, chunkSize: 16 * 1024 });
    const res = await mw(new Request('http://x/big.bin'), createContext());
    const reader = res.body!.getReader();
    await reader.read();
    await tick();
    // 300 KiB in 16 KiB chunks would be 19 reads if nothing held the reader back.
    assert.ok(stats.reads <= 3, `reads so far: ${stats.reads}`);
    await reader.cancel();
  });
  for (const coding of ['gzip', 'br']) {
    test(`reads ahead only a little while compressing with ${coding} for a client that does not read`, async () => {
      // Hex of random bytes: compresses only 2:1, so the compressor keeps producing output.
      writeFileSync(join(t.root, 'huge.txt'), randomBytes(2 * 1024 * 1024).toString('hex'));
      const { fs, stats } = counting();
      const mw = handler(t.root, { fs });
      const req = new Request('http://x/huge.txt', { headers: { 'accept-encoding': coding } });
      const res = await mw(req, createContext());
      assert.equal(res.headers.get('content-encoding'), coding);
      const reader = res.body!.getReader();
      await reader.read();
      await tick();
      await tick();
      // The file is 64 chunks of 64 KiB; without backpressure the compressor would swallow most.
      assert.ok(stats.reads <= 12, `reads so far: ${stats.reads}`);
      await reader.cancel();
      await tick();
      assert.equal(stats.closes, 1, 'the file is closed once the client goes away');
    });
  }
  test('closes the file when the client goes away mid-body', async () => {
    const { fs, stats } = counting();
    const mw = handler(t.root, { fs });
    const res = await mw(new Request('http://x/big.bin'), createContext());
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await tick();
    assert.equal(stats.opens, 1);
    assert.equal(stats.closes, 1);
  });
  test('closes the file after the last byte', async () => {
    const { fs, stats } = counting();
    const r = await get(handler(t.root, { fs }), '/big.bin');
    assert.equal(r.body.length, t.bigBin.length);
    await tick();
    assert.equal(stats.closes, stats.opens);
  });
  test('fails the body rather than send short when the file shrinks mid-stream', async () => {
    const fs: StaticFs = {
      ...nodeFs,
      open: async (p) => {
        const h = await nodeFs.open(p);
        let n = 0;
        return {
          stat: () => h.stat(),
          close: () => h.close(),
          read: async (b, o, l, pos) => (n++ === 0 ? h.read(b, o, l, pos) : { bytesRead: 0 }),
        };
      },
    };
    const res = await handler(t.root, { fs })(new Request('http://x/big.bin'), createContext());
    await assert.rejects(res.arrayBuffer());
  });
  test('a burst of requests for one uncached path resolves it once', async () => {
    let stats = 0;
    const fs: StaticFs = {
      ...nodeFs,
      stat: (p) => {
        if (p.endsWith('a.txt')) stats++;
        return nodeFs.stat(p);
      },
    };
    const mw = handler(t.root, { fs, precompressed: false });
    const all = await Promise.all(Array.from({ length: 10 }, () => get(mw, '/a.txt')));
    assert.ok(all.every((r) => r.body.toString() === 'hello\n'));
    assert.equal(stats, 1);
  });
});

/** How many of this process's descriptors are open on `file`. */
function openOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === realpathSync(file)) n++;
    } catch {
      // closed between the listing and the look
    }
  }
  return n;
}

describe('the default file-system seam', () => {
  test('closes a file once even when asked twice, and leaves no descriptor open', async () => {
    for (let i = 0; i < 20; i++) {
      const f = await nodeFs.open(join(t.root, 'a.txt'));
      assert.equal((await f.stat()).size, 6);
      await f.close();
      await f.close();
    }
    // Descriptors open on this file only: other tests in the process open and close their own.
    assert.equal(openOn(join(t.root, 'a.txt')), 0);
  });
  test('streams and closes every file of a burst of large responses', async () => {
    const mw = handler(t.root);
    const all = await Promise.all(Array.from({ length: 8 }, () => get(mw, '/big.bin')));
    assert.ok(all.every((r) => r.body.equals(t.bigBin)));
    // Closing completes asynchronously: give it up to two seconds on a busy machine.
    const big = join(t.root, 'big.bin');
    for (let i = 0; i < 100 && openOn(big) !== 0; i++) await tick();
    assert.equal(openOn(big), 0);
  });
});

describe('concurrent requests for one path', () => {
  test('share the disk lookup but never wait for each other in next()', async () => {
    const mw = handler(t.root);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const next = async () => {
      const n = ++calls;
      if (n === 1) await gate; // the first request's application is slow
      return new Response(`app ${n}`);
    };
    const first = get(mw, '/api/slow', {}, 'GET', next);
    const second = await get(mw, '/api/slow', {}, 'GET', next);
    assert.equal(second.body.toString(), 'app 2');
    release();
    assert.equal((await first).body.toString(), 'app 1');
  });
  test('each keep their own query string in a redirect', async () => {
    const mw = handler(t.root);
    const [a, b] = await Promise.all([get(mw, '/docs?a=1'), get(mw, '/docs?b=2')]);
    assert.equal(a.headers.get('location'), '/docs/?a=1');
    assert.equal(b.headers.get('location'), '/docs/?b=2');
  });
});

describe('the cache bound', () => {
  const entry = (bytes: number) => ({ bytes }) as unknown as FileEntry;
  test('evicts the oldest entries once the byte bound is passed', () => {
    const c = new FileCache(100);
    c.set('/a', entry(40));
    c.set('/b', entry(40));
    c.set('/c', entry(40));
    assert.equal(c.get('/a'), undefined);
    assert.ok(c.get('/b'));
    assert.ok(c.get('/c'));
    assert.equal(c.bytes, 80);
  });
  test('never keeps an entry larger than the whole bound', () => {
    const c = new FileCache(10);
    c.set('/big', entry(11));
    assert.equal(c.size, 0);
  });
  test('counts compressed copies made later against the bound', () => {
    const c = new FileCache(100);
    const a = entry(40);
    c.set('/a', a);
    c.set('/b', entry(40));
    a.bytes += 30;
    a.onGrow?.(30);
    assert.equal(c.get('/a'), undefined);
    assert.equal(c.bytes, 40);
  });
  test('serves files correctly when the bound is smaller than them', async () => {
    const mw = handler(t.root, { cache: { maxBytes: 10 } });
    assert.equal((await get(mw, '/style.css')).body.toString(), t.css);
    assert.equal((await get(mw, '/style.css')).body.toString(), t.css);
  });
});
