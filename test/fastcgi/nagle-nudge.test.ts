// php-fpm writes its sockets with Nagle on (it never sets TCP_NODELAY on Linux), so the small
// records that end a response wait for our ACK, which the kernel may delay by 40 ms. The gateway
// sends one empty STDIN record (which php-fpm skips before its next request) to carry the ACK at
// once. A scripted TCP backend that, like Nagle, withholds END_REQUEST until bytes come back
// shows the mechanism; real php-fpm shows that the extra record is harmless to a kept connection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fastcgi } from '../../src/handlers/fastcgi/index.ts';
import { encodeRecords, END_REQUEST, HEADER_SIZE, STDIN, STDOUT } from '../../src/handlers/fastcgi/record.ts';
import { call, docroot, skipWithoutPhpFpm, startPhpFpm, text } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'foyer-fcgi-nudge-'));
writeFileSync(join(root, 'app.php'), '<?php');
after(() => rmSync(root, { recursive: true, force: true }));

const BODY = 'x'.repeat(20_000);

/**
 * Answers each request's head and body at once and keeps END_REQUEST back until it reads more
 * bytes after the request's own end of STDIN (what Nagle does while it waits for an ACK).
 * Records what those extra bytes were.
 */
function withholdingBackend(): Promise<{ server: Server; port: number; extra: Buffer[] }> {
  const extra: Buffer[] = [];
  const server = createServer((socket: Socket) => {
    let buf = Buffer.alloc(0);
    let state: 'request' | 'waiting' = 'request';
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (buf.length < HEADER_SIZE) return;
        const type = buf[1]!;
        const len = (buf[4]! << 8) | buf[5]!;
        const total = HEADER_SIZE + len + buf[6]!;
        if (buf.length < total) return;
        const record = buf.subarray(0, total);
        buf = buf.subarray(total);
        if (state === 'waiting') {
          extra.push(Buffer.from(record));
          state = 'request';
          socket.write(encodeRecords(END_REQUEST, 1, new Uint8Array(8)));
        } else if (type === STDIN && len === 0) {
          state = 'waiting';
          socket.write(encodeRecords(STDOUT, 1, Buffer.from(`Content-Type: text/plain\r\n\r\n${BODY}`)));
          socket.write(encodeRecords(STDOUT, 1, new Uint8Array(0)));
        }
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, extra }));
  });
}

describe('responses whose last records php-fpm holds back (Nagle)', () => {
  test('one empty STDIN record brings the end of the response over TCP', async () => {
    const { server, port, extra } = await withholdingBackend();
    const php = fastcgi({ upstream: `127.0.0.1:${port}`, root, readTimeout: 3000 });
    try {
      for (let i = 0; i < 3; i++) {
        const a = await call(php, '/app.php');
        assert.equal(a.status, 200);
        assert.equal(await text(a), BODY);
      }
      assert.equal(extra.length, 3);
      for (const record of extra) {
        assert.equal(record[1], STDIN);
        assert.equal(record.length, HEADER_SIZE, 'an empty record');
      }
      assert.equal(php.stats.open, 1, 'one kept connection');
    } finally {
      php.close();
      server.close();
    }
  });
});

describe('the empty STDIN record against php-fpm over TCP', { skip: skipWithoutPhpFpm }, () => {
  test('kept connections stay usable and pages arrive whole', async () => {
    const fpm = await startPhpFpm({ children: 2, listen: 'tcp' });
    const php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: 2 });
    try {
      for (let i = 0; i < 20; i++) {
        const a = await call(php, '/k64.php');
        assert.equal(a.status, 200);
        assert.equal((await text(a)).length, 65536);
      }
      assert.equal(php.stats.open, 1, 'php-fpm kept the one connection');
    } finally {
      php.close();
      await fpm.stop();
    }
  });
});
