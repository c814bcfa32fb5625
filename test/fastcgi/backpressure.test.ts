// Backpressure towards the backend: a request body is read from the client only as fast as the
// FastCGI socket drains, so a large upload never piles up in Foyer's memory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fastcgi } from '../../src/handlers/fastcgi/index.ts';
import { createContext } from '../../src/testing.ts';

test('with request buffering off, a request body is pulled only as fast as the backend reads it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-fcgi-bp-'));
  writeFileSync(join(dir, 'upload.php'), '<?php');
  const sockPath = join(dir, 'backend.sock');
  const accepted: Socket[] = [];
  // A backend that accepts and never reads: its socket buffers fill, then writes must wait.
  const backend = createServer((s) => {
    accepted.push(s);
    s.pause();
  });
  await new Promise<void>((r) => backend.listen(sockPath, r));
  const php = fastcgi({ upstream: `unix:${sockPath}`, root: dir, readTimeout: 0, requestBuffering: false });
  const total = 200 * 1024 * 1024;
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= total) return c.close();
      pulled += 64 * 1024;
      c.enqueue(new Uint8Array(64 * 1024));
    },
  });
  const ctx = createContext();
  try {
    const pending = Promise.resolve(
      php(
        new Request('http://localhost/upload.php', {
          method: 'POST',
          body,
          duplex: 'half',
          headers: { 'content-length': String(total) },
        } as RequestInit),
        ctx,
        async () => new Response(null, { status: 404 }),
      ),
    );
    pending.catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(pulled < 16 * 1024 * 1024, `pulled ${pulled} bytes of the body while the backend read nothing`);
    assert.ok(pulled > 0);
    ctx.abort();
    await assert.rejects(pending);
  } finally {
    php.close();
    for (const s of accepted) s.destroy();
    await new Promise((r) => backend.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
