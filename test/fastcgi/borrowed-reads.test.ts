// The default socket factory reads php-fpm's bytes into one buffer per socket that the next read
// overwrites (net's `onread`, address.ts): whatever the client still has to receive must have been
// copied. A backend on a real unix socket writes each response in pieces of distinct bytes, a read
// apart or 5 ms apart, over one kept connection: every body must come back exactly as written,
// whether it was held and handed over as bytes or streamed and read late.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fastcgi } from '../../src/handlers/fastcgi/index.ts';
import { END_REQUEST, encodeRecords, STDIN, STDOUT } from '../../src/handlers/fastcgi/record.ts';
import { RecordDecoder } from '../../src/handlers/fastcgi/record-decoder.ts';
import { call, text } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'foyer-fcgi-borrowed-'));
writeFileSync(join(dir, 'app.php'), '<?php');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Piece `p` of response `n`: bytes no other piece has. */
function piece(n: number, p: number, size: number): Buffer {
  return Buffer.alloc(size, `${String.fromCharCode(65 + (n % 26))}${p % 10}`);
}

function endRequest(): Buffer {
  const body = Buffer.alloc(8);
  return encodeRecords(END_REQUEST, 1, body);
}

/** A backend answering its n-th request with `pieces` STDOUT pieces, `gapMs` apart (0: a macrotask). */
function backend(pieces: number, size: number, gapMs: number): Promise<net.Server> {
  let n = 0;
  const server = net.createServer((socket) => {
    // The decoder hands PARAMS and STDIN over as whole records; the empty STDIN ends a request.
    const decoder = new RecordDecoder({
      onStream: () => {},
      onRecord: (type, _id, content) => {
        if (type === STDIN && content.length === 0) void answer(socket, n++);
      },
    });
    socket.on('data', (d) => decoder.push(d));
    socket.on('error', () => {});
  });
  async function answer(socket: net.Socket, k: number): Promise<void> {
    socket.write(encodeRecords(STDOUT, 1, Buffer.from('Content-Type: text/plain\r\n\r\n')));
    for (let p = 0; p < pieces; p++) {
      socket.write(encodeRecords(STDOUT, 1, piece(k, p, size)));
      await sleep(gapMs);
    }
    socket.write(Buffer.concat([encodeRecords(STDOUT, 1, Buffer.alloc(0)), endRequest()]));
  }
  return new Promise((resolve) => server.listen(join(dir, `b-${pieces}-${gapMs}.sock`), () => resolve(server)));
}

for (const [pieces, size, gapMs] of [
  [4, 100, 0],
  [6, 3000, 5],
  [3, 40_000, 0],
] as const) {
  test(`responses read in pieces come back byte for byte (${pieces} × ${size} bytes, ${gapMs} ms apart)`, async () => {
    const server = await backend(pieces, size, gapMs);
    const path = server.address() as string;
    const php = fastcgi({ upstream: `unix:${path}`, root: dir, maxConnections: 1 });
    try {
      for (let k = 0; k < 4; k++) {
        const a = await call(php, '/app.php');
        assert.equal(a.status, 200);
        // Read late: the next request's reads have come meanwhile on the same socket.
        const expected = Array.from({ length: pieces }, (_, p) => piece(k, p, size).toString()).join('');
        assert.equal(await text(a), expected);
      }
      // Several in flight, bodies read after all of them were answered.
      const answers = await Promise.all([0, 1, 2].map(() => call(php, '/app.php')));
      const bodies = await Promise.all(answers.map((a) => text(a)));
      for (const [i, body] of bodies.entries()) {
        const k = 4 + i;
        assert.equal(body, Array.from({ length: pieces }, (_, p) => piece(k, p, size).toString()).join(''));
      }
    } finally {
      php.close();
      server.close();
    }
  });
}
