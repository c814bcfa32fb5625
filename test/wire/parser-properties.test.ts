// Properties of the engine over arbitrary input (fast-check): the way bytes are split into
// reads never changes the requests seen, and no input makes the parser throw.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ChunkedDecoder } from '../../src/reception/chunked-decoder.ts';
import { findHeadEnd, ParsedHead, parseHead } from '../../src/reception/head-parser.ts';
import { rawTarget } from '../../src/reception/incoming-request.ts';
import { defaultLimits } from '../../src/reception/limits.ts';
import { drive } from './memory-socket.ts';
import { climbsAboveRoot } from '../../src/reception/request-url.ts';

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/);
const value = fc.stringMatching(/^[ -~]{0,20}$/).map((s) => s.trim());
const path = fc
  .stringMatching(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]{0,20}$/)
  .filter((p) => !/%(?![0-9A-Fa-f]{2})/.test(p))
  // Dot segments that climb above the root are refused (request-url.test.ts covers them).
  .filter((p) => !climbsAboveRoot(p, 0));
const body = fc.stringMatching(/^[ -~]{0,40}$/);

const request = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
    path,
    headers: fc.array(fc.tuple(token, value), { maxLength: 5 }),
    body,
    chunked: fc.boolean(),
  })
  .map((r) => {
    const headers = r.headers.filter(
      ([n]) => !/^(host|content-length|transfer-encoding|connection|expect|upgrade)$/i.test(n),
    );
    let head = `${r.method} ${r.path} HTTP/1.1\r\nHost: example.com\r\n`;
    for (const [n, v] of headers) head += `${n}: ${v}\r\n`;
    if (r.body === '') return { raw: `${head}\r\n`, expect: `${r.method} ${r.path} ` };
    if (r.chunked) {
      const mid = Math.floor(r.body.length / 2);
      const chunks = [r.body.slice(0, mid), r.body.slice(mid)].filter((c) => c.length > 0);
      const enc = chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('');
      return {
        raw: `${head}Transfer-Encoding: chunked\r\n\r\n${enc}0\r\n\r\n`,
        expect: `${r.method} ${r.path} ${r.body}`,
      };
    }
    return {
      raw: `${head}Content-Length: ${r.body.length}\r\n\r\n${r.body}`,
      expect: `${r.method} ${r.path} ${r.body}`,
    };
  });

async function echoAll(chunks: Buffer[], late = false): Promise<{ text: string; errors: unknown[] }> {
  const d = drive(async (req) => {
    // `late`: read the body only after later reads have arrived (they reuse the input buffer).
    if (late) await new Promise((r) => setTimeout(r, 2));
    return new Response(`${req.method} ${rawTarget(req)} ${await req.text()}`);
  });
  await d.feed(chunks);
  if (late) await d.feed([]).then(() => new Promise((r) => setTimeout(r, 30)));
  return { text: d.socket.text(), errors: d.errors };
}

function bodiesOf(text: string): string[] {
  return [...text.matchAll(/content-length: (\d+)\r\n(?:[^\r\n]+\r\n)*\r\n/g)].map((m) =>
    text.substr(m.index! + m[0].length, Number(m[1])),
  );
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    if (p > prev) out.push(buf.subarray(prev, p));
    prev = p;
  }
  if (prev < buf.length) out.push(buf.subarray(prev));
  return out;
}

describe('engine properties', () => {
  test('any split of the same pipelined bytes gives the same requests, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (reqs, cuts) => {
          const all = Buffer.from(reqs.map((r) => r.raw).join(''), 'latin1');
          const whole = await echoAll([all]);
          const pieces = await echoAll(split(all, cuts));
          assert.deepEqual(
            bodiesOf(whole.text),
            reqs.map((r) => r.expect),
          );
          assert.deepEqual(bodiesOf(pieces.text), bodiesOf(whole.text));
          assert.deepEqual([...whole.errors, ...pieces.errors], []);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('bodies read late are intact however the bytes were split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 2, maxLength: 4 }),
        fc.array(fc.nat(), { minLength: 4, maxLength: 16 }),
        async (reqs, cuts) => {
          const all = Buffer.from(reqs.map((r) => r.raw).join(''), 'latin1');
          const r = await echoAll(split(all, cuts), true);
          assert.deepEqual(
            bodiesOf(r.text),
            reqs.map((x) => x.expect),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  test('input that spans reads is intact when buffers come from a large shared pool (Node 24+)', async () => {
    // Node 24 raised Buffer.poolSize to 64 KiB: a small accumulator and the socket's reads can then
    // share one ArrayBuffer without being views of each other. Forced here on every Node line.
    const poolSize = Buffer.poolSize;
    Buffer.poolSize = 64 * 1024;
    Buffer.allocUnsafe(30_000); // starts a fresh 64 KiB pool: the input and the accumulator share it
    try {
      const all = Buffer.from(
        'GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1\r\n\r\n GET /aaaAa HTTP/1.1\r\nHost: example.com\r\n\r\n',
        'latin1',
      );
      for (const cuts of [
        [1, 57, 64],
        [3, 20, 58, 61, 70],
      ]) {
        const r = await echoAll(split(all, cuts));
        assert.deepEqual(bodiesOf(r.text), ['GET /  ', 'GET /aaaAa '], `cuts ${cuts}`);
      }
    } finally {
      Buffer.poolSize = poolSize;
    }
  });

  test('random bytes never make the head parser or the chunked decoder throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const end = findHeadEnd(buf, 0, 0, buf.length);
        if (end > 0) parseHead(buf, 0, end, defaultLimits, new ParsedHead());
        new ChunkedDecoder(1 << 20, 64, 1024).execute(buf, 0, buf.length, () => {});
      }),
      { numRuns: 2000 },
    );
  });

  test('mutated requests never crash a connection: each gets a response or a clean close', async () => {
    const seed = Buffer.from(
      'POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n5;e=f\r\nhello\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi',
      'latin1',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        async (muts) => {
          const b = Buffer.from(seed);
          for (const [at, byte] of muts) b[at % b.length] = byte;
          const r = await echoAll([b]);
          assert.deepEqual(r.errors, []);
        },
      ),
      { numRuns: 300 },
    );
  });
});
