// A response arrives over several socket reads: held and handed over as bytes when it completes
// within the hold, streamed otherwise. A backend on a real unix socket writes each response in
// pieces of distinct bytes, a read apart or 5 ms apart, over one kept connection, and the bodies
// are read late (after the next requests' reads): every body must come back exactly as written.
// (It also guards a read path that reuses its buffer, such as net's `onread`: seen red when the
// kept fragments were not copied.)
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

const dir = mkdtempSync(join(tmpdir(), 'foyer-fcgi-pieces-'));
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

/** A backend answering with `pieces` STDOUT records, `gapMs` apart (0: a timer tick; < 0: see answer). */
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
    const head = encodeRecords(STDOUT, 1, Buffer.from('Content-Type: text/plain\r\n\r\n'));
    const records = Array.from({ length: pieces }, (_, p) => encodeRecords(STDOUT, 1, piece(k, p, size)));
    const end = Buffer.concat([encodeRecords(STDOUT, 1, Buffer.alloc(0)), endRequest()]);
    if (gapMs < 0) {
      // Several records in one read: the head and body pieces, then (-1) the end at once, or (-2)
      // the end 5 ms later (a stream that starts with several pieces in hand).
      socket.write(Buffer.concat([head, ...records, ...(gapMs === -1 ? [end] : [])]));
      if (gapMs === -2) {
        await sleep(5);
        socket.write(end);
      }
      return;
    }
    socket.write(head);
    for (const record of records) {
      socket.write(record);
      await sleep(gapMs);
    }
    socket.write(end);
  }
  return new Promise((resolve) => server.listen(join(dir, `b-${pieces}-${gapMs}.sock`), () => resolve(server)));
}

for (const [pieces, size, gapMs] of [
  [4, 100, 0],
  [6, 3000, 5],
  [3, 40_000, 0],
  [5, 1000, -1],
  [5, 1000, -2],
] as const) {
  const how = gapMs === -1 ? 'in one write' : gapMs === -2 ? 'in one write, the end 5 ms later' : `${gapMs} ms apart`;
  test(`responses read in pieces come back byte for byte (${pieces} × ${size} bytes, ${how})`, async () => {
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
