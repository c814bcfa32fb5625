// A chunked body costs in proportion to its data, not its framing: tiny chunks are coalesced before
// they reach the body stream, and the number of chunks and of extension bytes per body is bounded.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { drive } from './memory-socket.ts';

function chunkedOf(data: string, ext = ''): string {
  let out = '';
  for (const ch of data) out += `1${ext}\r\n${ch}\r\n`;
  return `${out}0\r\n\r\n`;
}

const HEAD = 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';

/** Sends `body` in reads of `readSize` bytes; the handler counts the pieces its body stream yields. */
async function send(body: string, readSize: number, limits = {}) {
  let pieces = 0;
  let text = '';
  const d = drive(async (req) => {
    const reader = req.body!.getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      pieces++;
      text += Buffer.from(r.value).toString('latin1');
    }
    return new Response(`ok ${text.length}`);
  }, limits);
  const raw = Buffer.from(HEAD + body, 'latin1');
  const reads: Buffer[] = [];
  for (let i = 0; i < raw.length; i += readSize) reads.push(raw.subarray(i, i + readSize));
  await d.feed(reads);
  return { pieces, text, out: d.socket.text(), errors: d.errors };
}

describe('chunked bodies of tiny chunks', () => {
  test('the chunks of one read reach the body as one piece', async () => {
    const data = 'x'.repeat(5000);
    const r = await send(chunkedOf(data), 64 * 1024);
    assert.equal(r.text, data);
    assert.ok(r.pieces <= 2, `5000 one-byte chunks in one read became ${r.pieces} pieces`);
    assert.match(r.out, /^HTTP\/1\.1 200/);
  });

  test('the pieces follow the reads, not the chunks', async () => {
    const data = 'y'.repeat(3000);
    const r = await send(chunkedOf(data), 1000);
    assert.equal(r.text, data);
    assert.ok(r.pieces <= 20, `${r.pieces} pieces for 15 reads`);
  });

  test('a body with more chunks than maxChunkCount is refused with 413', async () => {
    const r = await send(chunkedOf('z'.repeat(200)), 64 * 1024, { maxChunkCount: 100 });
    assert.match(r.out, /^HTTP\/1\.1 413/);
    assert.deepEqual(r.errors, []);
  });

  test('chunk extensions are bounded over the whole body, not only per chunk', async () => {
    const r = await send(chunkedOf('e'.repeat(200), ';n=vvvvvvvv'), 64 * 1024, { maxChunkExtensionsPerBody: 1000 });
    assert.match(r.out, /^HTTP\/1\.1 400/);
    const fine = await send(chunkedOf('e'.repeat(50), ';n=vvvvvvvv'), 64 * 1024, { maxChunkExtensionsPerBody: 1000 });
    assert.match(fine.out, /^HTTP\/1\.1 200/);
  });
});
