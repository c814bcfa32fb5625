import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findHeadEnd, ParsedHead, parseHead } from './head-parser.ts';
import { defaultLimits } from './limits.ts';
import { expectsContinue, persists, refusal, wantsUpgrade } from './request-admission.ts';

function head(raw: string): ParsedHead {
  const buf = Buffer.from(raw, 'latin1');
  const out = new ParsedHead();
  assert.ok(parseHead(buf, 0, findHeadEnd(buf, 0, 0, buf.length), defaultLimits, out) > 0, raw);
  return out;
}

describe('request admission', () => {
  test('a connection persists by version and Connection (RFC 9112 §9.3)', () => {
    const cases: [string, boolean][] = [
      ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', true],
      ['GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', false],
      ['GET / HTTP/1.0\r\n\r\n', false],
      ['GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', true],
      ['GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n', false],
    ];
    for (const [raw, keep] of cases) assert.equal(persists(head(raw), 1, defaultLimits, false), keep, raw);
  });

  test('a connection ends at the per-connection request limit and during a graceful close', () => {
    const h = head('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const limits = { ...defaultLimits, maxRequestsPerConnection: 3 };
    assert.deepEqual(
      [1, 2, 3].map((n) => persists(h, n, limits, false)),
      [true, true, false],
    );
    assert.equal(persists(h, 1, defaultLimits, true), false);
  });

  test('CONNECT and Connection: upgrade ask for the socket; CONNECT is refused when nobody takes it', () => {
    const connect = head('CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n');
    const ws = head('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    const plain = head('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n');
    assert.deepEqual([wantsUpgrade(connect), wantsUpgrade(ws), wantsUpgrade(plain)], [true, true, false]);
    assert.equal(refusal(connect), 'FOYER_METHOD_NOT_IMPLEMENTED');
    assert.equal(refusal(ws), undefined);
  });

  test('100-continue is the only expectation; HTTP/1.0 expectations are ignored (RFC 9110 §10.1.1)', () => {
    const ok = head('PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue \r\nContent-Length: 1\r\n\r\n');
    assert.deepEqual([refusal(ok), expectsContinue(ok)], [undefined, true]);
    const other = head('PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n');
    assert.equal(refusal(other), 'FOYER_EXPECTATION_FAILED');
    const old = head('PUT / HTTP/1.0\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n');
    assert.deepEqual([refusal(old), expectsContinue(old)], [undefined, false]);
  });
});
