// Whether a request written into a kept connection that the backend then closed may run again
// is decided by what the kernel says about the socket, never by a clock. A FastCGI server on a
// real unix socket plays the two endings php-fpm can give a kept connection without a response:
// `recycle` does what fcgi_close() does after pm.max_requests (shutdown(SHUT_WR), then read and
// discard until the client closes: the request never ran); `crash` reads the request, counts it as
// run, and closes the whole socket, as a child that died mid-script. Only the first may be retried.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fastcgi } from '../../src/handlers/fastcgi/index.ts';
import { call, docroot, text } from './helpers.ts';

type Ending = 'recycle' | 'crash';

interface Backend {
  upstream: string;
  /** Requests the "script" ran, in order (their bodies). */
  runs: string[];
  close(): Promise<void>;
}

function record(type: number, content: Buffer): Buffer {
  const pad = (8 - (content.length & 7)) & 7;
  const head = Buffer.from([1, type, 0, 1, content.length >> 8, content.length & 0xff, pad, 0]);
  return Buffer.concat([head, content, Buffer.alloc(pad)]);
}

/** Answers the first request of every connection; the second ends the connection as `ending` says. */
async function startBackend(ending: Ending): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-recycled-'));
  const path = join(dir, 'fcgi.sock');
  const runs: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let stdin: Buffer[] = [];
    let served = 0;
    let draining = false;
    socket.on('end', () => socket.end());
    socket.on('data', (data: Buffer) => {
      if (draining) return; // fcgi_close(): read and discard until the client closes
      buf = Buffer.concat([buf, data]);
      while (buf.length >= 8) {
        const type = buf[1]!;
        const length = (buf[4]! << 8) | buf[5]!;
        const size = 8 + length + buf[6]!;
        if (buf.length < size) return;
        const content = buf.subarray(8, 8 + length);
        buf = buf.subarray(size);
        if (type !== 5) continue; // BEGIN_REQUEST, PARAMS: nothing to check here
        if (length > 0) {
          stdin.push(Buffer.from(content));
          continue;
        }
        // The empty STDIN record: the request is complete.
        const body = Buffer.concat(stdin).toString();
        stdin = [];
        served++;
        if (served === 1) {
          runs.push(body);
          const out = Buffer.from(`Content-Type: text/plain\r\n\r\nran ${body}`);
          const end = Buffer.alloc(8); // appStatus 0, REQUEST_COMPLETE
          socket.write(Buffer.concat([record(6, out), record(6, Buffer.alloc(0)), record(3, end)]));
        } else if (ending === 'recycle') {
          draining = true;
          socket.end(); // shutdown(SHUT_WR) while still reading
        } else {
          runs.push(body);
          socket.destroy();
        }
        return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    upstream: `unix:${path}`,
    runs,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function post(n: number): RequestInit {
  return { method: 'POST', body: `n=${n}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } };
}

describe('a kept connection closed before any response byte', () => {
  test('a POST written into a half-closed, draining connection (a recycled child) runs once, on a fresh one', async () => {
    const backend = await startBackend('recycle');
    const php = fastcgi({ upstream: backend.upstream, root: docroot, maxConnections: 1 });
    try {
      const first = await call(php, '/hello.php', post(1));
      assert.equal(await text(first), 'ran n=1');
      // Reuses the connection; the backend half-closes it without reading the request.
      const second = await call(php, '/hello.php', post(2));
      assert.equal(second.status, 200);
      assert.equal(await text(second), 'ran n=2');
      assert.deepEqual(backend.runs, ['n=1', 'n=2']);
    } finally {
      php.close();
      await backend.close();
    }
  });

  test('a POST whose connection closed entirely after it was read (a child that died) is a 502, never run twice', async () => {
    const backend = await startBackend('crash');
    const php = fastcgi({ upstream: backend.upstream, root: docroot, maxConnections: 1 });
    try {
      assert.equal(await text(await call(php, '/hello.php', post(1))), 'ran n=1');
      const second = await call(php, '/hello.php', post(2));
      assert.equal(second.status, 502);
      assert.deepEqual(backend.runs, ['n=1', 'n=2']);
    } finally {
      php.close();
      await backend.close();
    }
  });

  test('a GET is retried after either ending (RFC 9110 §9.2.2: idempotent)', async () => {
    for (const ending of ['recycle', 'crash'] as const) {
      const backend = await startBackend(ending);
      const php = fastcgi({ upstream: backend.upstream, root: docroot, maxConnections: 1 });
      try {
        assert.equal((await call(php, '/hello.php')).status, 200);
        const again = await call(php, '/hello.php');
        assert.equal(again.status, 200, ending);
      } finally {
        php.close();
        await backend.close();
      }
    }
  });
});
