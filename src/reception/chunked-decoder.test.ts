import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkedDecoder } from './chunked-decoder.ts';

function decode(raw: string, maxBody = 1 << 20, splitEvery = 0) {
  const d = new ChunkedDecoder(maxBody, 64, 256);
  const buf = Buffer.from(raw, 'latin1');
  const parts: Buffer[] = [];
  let consumed = -1;
  const step = splitEvery || buf.length;
  for (let i = 0; i < buf.length && !d.done; i += step) {
    const piece = buf.subarray(i, Math.min(buf.length, i + step));
    const r = d.execute(piece, 0, piece.length, (c) => parts.push(Buffer.from(c)));
    if (r < 0) return { error: d.error, body: Buffer.concat(parts).toString(), done: false, consumed: -1 };
    consumed = i + r;
  }
  return { error: d.error, body: Buffer.concat(parts).toString(), done: d.done, consumed };
}

describe('chunked decoder', () => {
  test('decodes chunks, extensions and trailers, stopping right after the body', () => {
    const raw = '5;name=value;q="a b"\r\nhello\r\n6\r\n world\r\n0\r\nExpires: never\r\n\r\nNEXT';
    const r = decode(raw);
    assert.equal(r.body, 'hello world');
    assert.equal(r.done, true);
    assert.equal(raw.slice(r.consumed), 'NEXT');
  });

  test('gives the same result fed one byte at a time', () => {
    const r = decode('A\r\n0123456789\r\n0\r\n\r\n', 1 << 20, 1);
    assert.equal(r.body, '0123456789');
    assert.equal(r.done, true);
  });

  const bad: [string, string, string][] = [
    ['no size', '\r\nabc\r\n0\r\n\r\n', 'FOYER_BAD_CHUNK'],
    ['a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n', 'FOYER_BAD_CHUNK'],
    ['whitespace after the size without an extension', '5 \r\nhello\r\n0\r\n\r\n', 'FOYER_BAD_CHUNK'],
    ['missing CRLF after data', '5\r\nhelloX\r\n0\r\n\r\n', 'FOYER_BAD_CHUNK'],
    ['bare LF after the size', '5\nhello\r\n0\r\n\r\n', 'FOYER_BAD_CHUNK'],
    ['control character in an extension', '5;a\x01\r\nhello\r\n0\r\n\r\n', 'FOYER_BAD_CHUNK'],
    ['an over-long extension', `5;${'a'.repeat(100)}\r\nhello\r\n0\r\n\r\n`, 'FOYER_BAD_CHUNK'],
    ['obs-fold in trailers', '0\r\nA: b\r\n c\r\n\r\n', 'FOYER_BAD_CHUNK'],
    ['oversized trailers', `0\r\nA: ${'b'.repeat(300)}\r\n\r\n`, 'FOYER_HEADERS_TOO_LARGE'],
    ['a size over the body limit', '100001\r\n', 'FOYER_BODY_TOO_LARGE'],
    ['a size that would overflow', 'fffffffffffffffff\r\n', 'FOYER_BODY_TOO_LARGE'],
  ];
  for (const [name, raw, code] of bad) {
    test(`rejects ${name}`, () => assert.equal(decode(raw, 1 << 20).error, code));
  }

  test('counts the body across chunks against the limit', () => {
    assert.equal(decode('5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n', 8).error, 'FOYER_BODY_TOO_LARGE');
  });
});

describe('chunk extensions (RFC 9112 §7.1.1)', () => {
  const good = ['5;a\r\n', '5;a=b\r\n', '5 ; a = b ; c\r\n', '5;a="b c;\\"d"\r\n', '5;a=b;c="x"\r\n'];
  for (const ext of good) {
    test(`accepts ${JSON.stringify(ext)}`, () => {
      const r = decode(`${ext}hello\r\n0\r\n\r\n`);
      assert.equal(r.error, undefined);
      assert.equal(r.body, 'hello');
    });
  }
  const bad = ['5;\r\n', '5;=b\r\n', '5;a=\r\n', '5;a="b\r\n', '5;a=b c\r\n', '5;a b\r\n', '5;a="\x01"\r\n'];
  for (const ext of bad) {
    test(`rejects ${JSON.stringify(ext)}`, () =>
      assert.equal(decode(`${ext}hello\r\n0\r\n\r\n`).error, 'FOYER_BAD_CHUNK'));
  }
});
