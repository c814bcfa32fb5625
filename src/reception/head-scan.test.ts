import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HeadScan } from './head-scan.ts';
import { defaultLimits, type Limits } from './limits.ts';

/** Feeds `raw` cut at `cuts`, as a connection does: each scan sees everything not yet consumed. */
function scanInPieces(raw: string, cuts: number[], limits: Limits = defaultLimits) {
  const s = new HeadScan(limits);
  const all = Buffer.from(raw, 'latin1');
  let from = 0;
  for (const end of [...cuts.filter((c) => c > 0 && c < all.length).sort((a, b) => a - b), all.length]) {
    const r = s.scan(all, from, end);
    if (r !== 0) return { r, start: s.start, error: s.error };
    from = s.start;
  }
  return { r: 0, start: s.start, error: s.error };
}

describe('head scan', () => {
  test('finds the head past leading empty lines (RFC 9112 §2.2)', () => {
    const raw = '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nnext';
    const r = scanInPieces(raw, []);
    assert.equal(r.start, 4);
    assert.equal(raw.slice(r.r), 'next');
  });

  test('finds the same end however the head is cut into reads', () => {
    const raw = 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok';
    fc.assert(
      fc.property(fc.array(fc.nat(raw.length), { maxLength: 8 }), (cuts) => {
        const r = scanInPieces(raw, cuts);
        assert.equal(r.r, raw.length - 2);
      }),
    );
  });

  test('waits on empty lines alone and on a lone CR', () => {
    const s = new HeadScan(defaultLimits);
    assert.equal(s.scan(Buffer.from('\r\n\r\n'), 0, 4), 0);
    assert.equal(s.start, 4);
    assert.equal(s.scan(Buffer.from('\r'), 0, 1), 0);
  });

  const refused: [string, string, Partial<Limits>][] = [
    ['a bare LF', 'GET / HTTP/1.1\nHost: a\n\n', {}],
    ['a CR not followed by LF', 'GET / HTTP/1.1\rX', {}],
  ];
  for (const [what, raw, limits] of refused) {
    test(`refuses ${what} as a bad request`, () => {
      assert.equal(scanInPieces(raw, [], { ...defaultLimits, ...limits }).error, 'FOYER_BAD_REQUEST');
    });
  }

  test('refuses an unfinished request line past its limit (414) and an unfinished head past its own (431)', () => {
    const limits = { ...defaultLimits, maxRequestLineSize: 64, maxHeaderSize: 256 };
    const line = scanInPieces(`GET /${'a'.repeat(100)}`, [], limits);
    assert.deepEqual([line.r, line.error], [-1, 'FOYER_URI_TOO_LONG']);
    const head = scanInPieces(`GET / HTTP/1.1\r\nX: ${'b'.repeat(300)}`, [], limits);
    assert.deepEqual([head.r, head.error], [-1, 'FOYER_HEADERS_TOO_LARGE']);
    const whole = scanInPieces(`GET / HTTP/1.1\r\nX: ${'b'.repeat(300)}\r\n\r\n`, [], limits);
    assert.deepEqual([whole.r, whole.error], [-1, 'FOYER_HEADERS_TOO_LARGE']);
    assert.ok(scanInPieces(`GET / HTTP/1.1\r\nX: ${'b'.repeat(100)}\r\n\r\n`, [], limits).r > 0);
  });

  test('dates a head from its first byte, not from the read that completes it', async () => {
    const s = new HeadScan(defaultLimits);
    const all = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(s.scan(all, 0, 5), 0);
    const first = s.startedAt;
    assert.ok(first > 0);
    await new Promise((r) => setTimeout(r, 5));
    assert.ok(s.scan(all, 0, all.length) > 0);
    assert.equal(s.startedAt, first);
  });
  test('a head over the limit is 414 when its request line is too long, 431 when its fields are, however it is cut', () => {
    const longLine = `GET /${'a'.repeat(17_000)} HTTP/1.1\r\nHost: a\r\n\r\n`;
    const longFields = `GET / HTTP/1.1\r\nHost: a\r\n${'X-A: b\r\n'.repeat(3000)}\r\n`;
    const lineJustUnder = `GET /${'a'.repeat(8000)} HTTP/1.1\r\n${'X-A: b\r\n'.repeat(1500)}\r\n`;
    fc.assert(
      fc.property(fc.array(fc.nat(30_000), { maxLength: 4 }), (cuts) => {
        assert.equal(scanInPieces(longLine, cuts).error, 'FOYER_URI_TOO_LONG');
        assert.equal(scanInPieces(longFields, cuts).error, 'FOYER_HEADERS_TOO_LARGE');
        assert.equal(scanInPieces(lineJustUnder, cuts).error, 'FOYER_HEADERS_TOO_LARGE');
      }),
      { numRuns: 50 },
    );
  });
});
