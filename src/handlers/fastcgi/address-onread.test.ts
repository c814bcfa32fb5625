// php-fpm sockets share one read buffer (address.ts): a large read on one socket must stay intact
// when another socket reads afterwards (each handle reads natively into the buffer it was last
// given, before any JavaScript runs).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { netSocketFactory } from './address.ts';

test('a large read stays intact when another php-fpm socket reads afterwards', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-onread-'));
  const path = join(dir, 's.sock');
  const peers: Socket[] = [];
  const srv = createServer((s) => peers.push(s));
  await new Promise<void>((r) => srv.listen(path, r));
  const factory = netSocketFactory({ kind: 'unix', path }, 2000);
  const a = (await factory()) as Socket;
  const b = (await factory()) as Socket;
  try {
    while (peers.length < 2) await new Promise((r) => setTimeout(r, 5));
    const held: Buffer[] = [];
    a.on('data', (d: Buffer) => held.push(d));
    b.on('data', () => {});
    peers[0]!.write(Buffer.alloc(64 * 1024, 0x41));
    while (held.reduce((n, h) => n + h.length, 0) < 64 * 1024) await new Promise((r) => setTimeout(r, 5));
    await new Promise<void>((r) => b.once('data', () => r()) && peers[1]!.write('BBBBBBBBBB'));
    assert.ok(
      Buffer.concat(held).every((x) => x === 0x41),
      "socket A's bytes were overwritten by socket B's read",
    );
  } finally {
    a.destroy();
    b.destroy();
    for (const p of peers) p.destroy();
    await new Promise((r) => srv.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
