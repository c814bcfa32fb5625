import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ErrorCode } from '../util/errors.ts';
import { findHeadEnd, ParsedHead, parseHead } from './head-parser.ts';
import { defaultLimits } from './limits.ts';
import { RequestReader, type ReaderOwner } from './request-reader.ts';

/** What a reader hands its owner: each head as a plain object, then the refusal that stops it, if any. */
type Outcome = Record<string, unknown> | { refused: ErrorCode };

/** Feeds `reads` to a new reader whose owner starts no bodies, and returns what it was given. */
function read(reads: Buffer[]): Outcome[] {
  const seen: Outcome[] = [];
  let stopped = false;
  const owner: ReaderOwner = {
    pipelineFull: () => false,
    headParsed: (head) => void seen.push({ ...head }),
    refuse: (code) => {
      seen.push({ refused: code });
      stopped = true;
    },
    bodyBroken: () => assert.fail('no body is read'),
    bodyRead: () => assert.fail('no body is read'),
  };
  const reader = new RequestReader(owner, defaultLimits);
  for (const chunk of reads) {
    if (stopped) break;
    reader.input.push(chunk);
    reader.parse();
  }
  return seen;
}

/** What each head is when parsed on its own (after the empty lines a server ignores before it), up to the first one refused. */
function expected(heads: string[]): Outcome[] {
  const out: Outcome[] = [];
  for (const text of heads) {
    const buf = Buffer.from(text.replace(/^(\r\n)+/, ''), 'latin1');
    const head = new ParsedHead();
    if (parseHead(buf, 0, buf.length, defaultLimits, head) < 0) {
      out.push({ refused: head.error! });
      break;
    }
    out.push({ ...head });
  }
  return out;
}

/** Both ways a client sends heads: one read each, and all in one read (pipelined). */
function assertReadAsAlone(heads: string[], what: string): void {
  const want = expected(heads);
  assert.deepEqual(read(heads.map((h) => Buffer.from(h, 'latin1'))), want, `${what}, one read each`);
  assert.deepEqual(read([Buffer.from(heads.join(''), 'latin1')]), want, `${what}, pipelined`);
}

/** The heads sent as one stream, cut into reads at `cuts` (byte offsets, any order, repeats allowed). */
function cutAt(heads: string[], cuts: number[]): Buffer[] {
  const all = Buffer.from(heads.join(''), 'latin1');
  const at = [...new Set(cuts.map((c) => c % all.length))].sort((a, b) => a - b);
  const reads: Buffer[] = [];
  let from = 0;
  for (const c of [...at, all.length]) {
    // A copy per read, as a socket gives: the reader may keep the bytes of one read past the next.
    if (c > from) reads.push(Buffer.from(all.subarray(from, c)));
    from = c;
  }
  return reads;
}

/** A head the reader is given whole: it ends at its first CRLF CRLF, with no bare LF before. */
const isWholeHead = (text: string) => {
  const buf = Buffer.from(text, 'latin1');
  return findHeadEnd(buf, 0, 0, buf.length) === buf.length;
};

describe('request reader', () => {
  test('a head that repeats the one before it, or nearly does, is read as if alone (random heads)', () => {
    // A small alphabet, so that heads of one length that differ in a byte or two come often.
    const line = fc.constantFrom(
      'GET /a HTTP/1.1',
      'GET /b HTTP/1.1',
      'GET /a HTTP/1.0',
      'PUT /a HTTP/1.1',
      'GET /\\ HTTP/1.1',
      'OPTIONS * HTTP/1.1',
      'BREW /a HTTP/1.1',
    );
    const field = fc.constantFrom(
      'Host: h',
      'Host: k',
      'host: h',
      'Hast: h',
      'Host: \x01',
      'X: a',
      'X: b',
      'X:a ',
      'X : a',
      'Content-Length: 5',
      'Content-Length: 6',
      'Content-Length: x',
      'Transfer-Encoding: chunked',
      'Connection: close',
      'Connection: upgra',
      'Expect: 100-continue',
      'Upgrade: ws',
    );
    const head = fc
      .tuple(line, fc.array(field, { maxLength: 4 }))
      .map(([l, fs]) => `${l}\r\n${fs.map((f) => `${f}\r\n`).join('')}\r\n`);
    // Runs of one head, each head then sometimes changed in one byte (same length), so that the
    // reader compares it with a previous head of the same length that differs only there.
    const mutation = fc.option(fc.tuple(fc.nat(), fc.constantFrom(0x20, 0x09, 0x3a, 0x61, 0x62, 0x0d, 0x7f, 0x00)), {
      freq: 2,
    });
    const step = fc.tuple(head, fc.integer({ min: 1, max: 3 }), mutation);
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 5 }), (steps) => {
        const heads: string[] = [];
        for (const [h, times, change] of steps) {
          for (let k = 0; k < times; k++) heads.push(h);
          if (change !== null) {
            const at = change[0] % (h.length - 4);
            const near = h.slice(0, at) + String.fromCharCode(change[1]) + h.slice(at + 1);
            if (isWholeHead(near)) heads.push(near);
          }
        }
        assertReadAsAlone(heads, JSON.stringify(heads));
      }),
      { numRuns: 1500 },
    );
  });

  test('a head one byte away from the previous one, at any byte, is read as itself (a table)', () => {
    const base = 'GET /a?b HTTP/1.1\r\nHost: h:1\r\nUser-Agent: cg\r\nContent-Length: 5\r\nX: \tv \r\n\r\n';
    // Bytes that keep a head valid at some positions and break it at others.
    const bytes = [0x20, 0x09, 0x3a, 0x2f, 0x61, 0x41, 0x31, 0x0d, 0x00, 0x7f, 0x80];
    let nearMisses = 0;
    for (let at = 0; at < base.length - 4; at++) {
      for (const b of bytes) {
        const near = base.slice(0, at) + String.fromCharCode(b) + base.slice(at + 1);
        if (near === base || !isWholeHead(near)) continue;
        nearMisses++;
        // The third and fourth heads are compared with the one before them: a repeat, then the near one.
        assertReadAsAlone([base, base, base, near], `byte ${at} as ${b}`);
      }
    }
    assert.ok(nearMisses > base.length * 5, `${nearMisses} near heads`);
  });

  test('heads of one length cut across reads, at every byte, are read as themselves', () => {
    // A head that spans reads is parsed from the connection's accumulator, which the next read
    // overwrites: a repeat must be judged on a copy of the previous head's bytes, never on a view
    // of them (three heads of one length: the third would be taken for the second's repeat).
    const heads = [
      'GET /a HTTP/1.1\r\nHost: h\r\n\r\n',
      'GET /b HTTP/1.1\r\nHost: h\r\n\r\n',
      'GET /c HTTP/1.1\r\nHost: h\r\n\r\n',
    ];
    const want = expected(heads);
    const n = heads[0]!.length;
    for (let cut = 1; cut < n; cut++) {
      const reads = cutAt(heads, [cut, n, n + cut, 2 * n, 2 * n + cut]);
      assert.deepEqual(read(reads), want, `cut at ${cut}`);
    }
  });

  test('random runs of heads, with empty lines before them and bytes above 0x7F, cut anywhere into reads', () => {
    const line = fc.constantFrom(
      'GET /a HTTP/1.1',
      'GET /b HTTP/1.1',
      'GET /a HTTP/1.0',
      'POST /a HTTP/1.1',
      'GET /\xe9 HTTP/1.1',
    );
    const field = fc.constantFrom(
      'Host: h',
      'Host: k',
      'X: \xe9',
      'X: \xe8',
      'X: a',
      'Content-Length: 5',
      'Content-Length: 6',
      'Transfer-Encoding: chunked',
      'Connection: close',
      'Connection: upgrade',
      'Expect: 100-continue',
      'Upgrade: ws',
    );
    // RFC 9112 §2.2: a server ignores at least one empty line before a request line.
    const head = fc
      .tuple(fc.nat(2), line, fc.array(field, { maxLength: 3 }))
      .map(([empty, l, fs]) => `${'\r\n'.repeat(empty)}${l}\r\n${fs.map((f) => `${f}\r\n`).join('')}\r\n`);
    const runs = fc.array(fc.tuple(head, fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(runs, fc.array(fc.nat(), { maxLength: 8 }), (steps, cuts) => {
        const heads = steps.flatMap(([h, times]) => Array<string>(times).fill(h));
        assert.deepEqual(read(cutAt(heads, cuts)), expected(heads));
      }),
      { numRuns: 2000 },
    );
  });

  test('a head is compared with the one just before it, never an older one of its length', () => {
    const a = 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n';
    const b = 'PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n'; // another length
    const c = 'GET /c HTTP/1.1\r\nHost: h\r\n\r\n'; // a's length, other bytes
    // The last `a` comes after `c`, which came after a head of another length: `c` is its previous head.
    assertReadAsAlone([a, a, b, c, a], 'a a b c a');
    assertReadAsAlone([a, a, b, c, c, a], 'a a b c c a');
    assertReadAsAlone([a, b, a, a, c, a], 'a b a a c a');
  });
});
