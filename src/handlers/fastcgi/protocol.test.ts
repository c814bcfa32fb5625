// Unit tests of the protocol layers: records and padding, name-value pairs, the request writer,
// the incremental decoder under arbitrary splits, and the CGI head parser.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, test } from 'node:test';
import { parseUpstream } from './address.ts';
import { findHeadEnd, forgetCgiHead, parseCgiHead } from './cgi-headers.ts';
import { decodeParams, encodeParams } from './name-value.ts';
import {
  BEGIN_REQUEST,
  decodeEndRequest,
  encodeAbortRequest,
  encodeBeginRequest,
  encodeRecords,
  END_REQUEST,
  MAX_CONTENT,
  PARAMS,
  paddingFor,
  STDIN,
  STDOUT,
} from './record.ts';
import { FastCgiProtocolError, RecordDecoder } from './record-decoder.ts';
import { encodeRequestHead } from './request-writer.ts';

type Seen = Array<[number, number, string]>;

function collect(bytes: Uint8Array, splits: number[]): Seen {
  const out: Seen = [];
  const streams = new Map<number, string>();
  const dec = new RecordDecoder({
    onStream(type, id, frag) {
      if (frag.length === 0) {
        out.push([type, id, streams.get(type) ?? '']);
        streams.delete(type);
      } else streams.set(type, (streams.get(type) ?? '') + Buffer.from(frag).toString('latin1'));
    },
    onRecord(type, id, content) {
      out.push([type, id, Buffer.from(content).toString('hex')]);
    },
  });
  let at = 0;
  for (const s of [...splits, bytes.length]) {
    dec.push(bytes.subarray(at, Math.min(s, bytes.length)));
    at = Math.min(s, bytes.length);
  }
  assert.ok(dec.atBoundary);
  return out;
}

describe('records', () => {
  test('pads content to a multiple of 8 and zeroes the padding', () => {
    assert.deepEqual([0, 1, 7, 8, 9, 65535].map(paddingFor), [0, 7, 1, 0, 7, 1]);
    const r = encodeRecords(STDOUT, 1, Buffer.from('abc'));
    assert.deepEqual([...r], [1, STDOUT, 0, 1, 0, 3, 5, 0, 97, 98, 99, 0, 0, 0, 0, 0]);
  });

  test('splits content over 65535 bytes into several records', () => {
    const content = Buffer.alloc(MAX_CONTENT + 10, 0x61);
    const r = encodeRecords(STDIN, 1, content);
    assert.equal(r.readUInt16BE(4), MAX_CONTENT);
    const second = 8 + MAX_CONTENT + paddingFor(MAX_CONTENT);
    assert.equal(r[second + 1], STDIN);
    assert.equal(r.readUInt16BE(second + 4), 10);
    assert.equal(r.length, second + 8 + 16);
  });

  test('BEGIN_REQUEST carries the responder role and KEEP_CONN; ABORT_REQUEST is empty', () => {
    assert.deepEqual([...encodeBeginRequest(1, true)], [1, BEGIN_REQUEST, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    assert.equal(encodeBeginRequest(1, false)[10], 0);
    assert.deepEqual([...encodeAbortRequest(1)], [1, 2, 0, 1, 0, 0, 0, 0]);
  });

  test('END_REQUEST decodes appStatus and protocolStatus', () => {
    assert.deepEqual(decodeEndRequest(Uint8Array.from([0xff, 0, 0, 2, 2, 0, 0, 0])), {
      appStatus: 0xff000002,
      protocolStatus: 2,
    });
  });

  test('decodes the same records whatever the split of the input, byte by byte included', () => {
    const bytes = Buffer.concat([
      encodeRecords(STDOUT, 1, Buffer.from('Status: 200\r\n\r\nhello')),
      encodeRecords(7, 1, Buffer.from('warn')),
      encodeRecords(STDOUT, 1, Buffer.alloc(0)),
      // Management records: one with content, one empty (whole, split or assembled alike).
      encodeRecords(10, 0, Buffer.from('ab')),
      encodeRecords(11, 0, Buffer.alloc(0)),
      encodeRecords(END_REQUEST, 1, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])),
    ]);
    const whole = collect(bytes, []);
    assert.deepEqual(whole, [
      [STDOUT, 1, 'Status: 200\r\n\r\nhello'],
      [10, 0, '6162'],
      [11, 0, ''],
      [END_REQUEST, 1, '0000000000000000'],
    ]);
    const everyByte = Array.from({ length: bytes.length }, (_, i) => i + 1);
    assert.deepEqual(collect(bytes, everyByte), whole);
    for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(collect(bytes, [cut]), whole, `cut at ${cut}`);
  });

  test('refuses a record of another protocol version', () => {
    const dec = new RecordDecoder({ onStream() {}, onRecord() {} });
    assert.throws(() => dec.push(Uint8Array.from([2, 6, 0, 1, 0, 0, 0, 0])), FastCgiProtocolError);
  });
});

describe('name-value pairs', () => {
  test('uses 1-byte lengths below 128 and 4-byte lengths from 128', () => {
    const short = encodeParams([['A', 'b']]);
    assert.deepEqual([...short], [1, 1, 65, 98]);
    const long = encodeParams([['N', 'v'.repeat(128)]]);
    assert.deepEqual([...long.subarray(0, 5)], [1, 0x80, 0, 0, 128]);
    const longName = encodeParams([['n'.repeat(300), '']]);
    assert.deepEqual([...longName.subarray(0, 5)], [0x80, 0, 1, 44, 0]);
  });

  test('round-trips UTF-8 and long values', () => {
    const pairs: Array<[string, string]> = [
      ['REQUEST_URI', '/é?x=1'],
      ['EMPTY', ''],
      ['BIG', 'x'.repeat(70_000)],
    ];
    assert.deepEqual(decodeParams(encodeParams(pairs)), pairs);
  });

  test('rejects truncated input', () => {
    assert.throws(() => decodeParams(Uint8Array.from([5, 1, 65])), RangeError);
    assert.throws(() => decodeParams(Uint8Array.from([0x80, 0])), RangeError);
  });
});

describe('request writer', () => {
  test('writes BEGIN_REQUEST, PARAMS, the empty PARAMS and, without a body, the empty STDIN', () => {
    const head = encodeRequestHead(1, true, [['A', 'b']], true);
    const seen: Array<[number, string]> = [];
    const dec = new RecordDecoder({
      onStream() {},
      onRecord(type, _id, content) {
        seen.push([type, Buffer.from(content).toString('hex')]);
      },
    });
    dec.push(head);
    assert.deepEqual(seen, [
      [BEGIN_REQUEST, '0001010000000000'],
      [PARAMS, '01014162'],
      [PARAMS, ''],
      [STDIN, ''],
    ]);
    assert.equal(head.length % 8, 0);
  });
});

describe('CGI response head', () => {
  test('finds the end with CRLF or bare LF', () => {
    assert.deepEqual(findHeadEnd(Buffer.from('A: b\r\n\r\nbody')), [6, 8]);
    assert.deepEqual(findHeadEnd(Buffer.from('A: b\n\nbody')), [5, 6]);
    assert.equal(findHeadEnd(Buffer.from('A: b\r\n')), undefined);
  });

  test('accepts and refuses the lines of the httpd cgi_response_header cases', () => {
    const accept = ['Foo: bar', 'Foo:', 'Foo: b\tar'];
    const refuse = [': bar', 'F\x00oo: bar', 'F\x01oo: bar', 'F\noo: bar', 'Foo: b\x01ar', 'Foo : bar', ' folded'];
    for (const line of accept) assert.equal(parseCgiHead(Buffer.from(`${line}\r\n`)).status, 200, JSON.stringify(line));
    for (const line of refuse)
      assert.throws(() => parseCgiHead(Buffer.from(`X: y\r\n${line}\r\n`)), JSON.stringify(line));
  });

  test('reads Status, defaults a Location to 302, keeps several Set-Cookie, drops hop-by-hop fields', () => {
    const h = parseCgiHead(
      Buffer.from(
        'Status: 404 Not Found\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n',
      ),
    );
    assert.equal(h.status, 404);
    assert.deepEqual(h.headers, [
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
    ]);
    assert.equal(parseCgiHead(Buffer.from('Location: /x\r\n')).status, 302);
    assert.throws(() => parseCgiHead(Buffer.from('Status: 99\r\n')));
    assert.throws(() => parseCgiHead(Buffer.from('Status: 101 Switching\r\n')));
    assert.throws(() => parseCgiHead(Buffer.from('Content-Length: 1x\r\n')));
  });
});

describe('CGI response head, lines remembered', () => {
  test('a line seen before gives the same field again, a refused line is refused again, similar lines stay apart', () => {
    const lines = fc.array(
      fc.oneof(
        fc.constantFrom(
          'Content-type: text/html; charset=UTF-8',
          'Status: 404 Not Found',
          'Vary: 1',
          'Vary: 2',
          'vary:  2 ',
          'X-A: 1',
        ),
        fc.string({ unit: fc.constantFrom('V', 'a', 'r', 'y', '-', ':', ' ', '\t', '1', '\x01', '\r'), maxLength: 12 }),
      ),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(lines, (ls) => {
        const head = Buffer.from(ls.map((l) => `${l}\r\n`).join(''), 'latin1');
        const outcome = () => {
          try {
            return parseCgiHead(head);
          } catch (err) {
            return (err as Error).message;
          }
        };
        assert.deepEqual(outcome(), outcome());
      }),
      { numRuns: 300 },
    );
    assert.deepEqual(parseCgiHead(Buffer.from('Vary: 1\r\n')).headers, [['Vary', '1']]);
    assert.deepEqual(parseCgiHead(Buffer.from('Vary: 2\r\n')).headers, [['Vary', '2']]);
    assert.throws(() => parseCgiHead(Buffer.from('X-A: 1\r\nF\x01oo: bar\r\n')));
  });
});

describe('paths and addresses', () => {
  test('parses upstream addresses', () => {
    assert.deepEqual(parseUpstream('127.0.0.1:9000'), { kind: 'tcp', host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseUpstream('tcp://localhost:9001'), { kind: 'tcp', host: 'localhost', port: 9001 });
    assert.deepEqual(parseUpstream('[::1]:9000'), { kind: 'tcp', host: '::1', port: 9000 });
    assert.deepEqual(parseUpstream('unix:/run/php/fpm.sock'), { kind: 'unix', path: '/run/php/fpm.sock' });
    assert.throws(() => parseUpstream('unix:relative.sock'), TypeError);
    assert.throws(() => parseUpstream('localhost'), TypeError);
    assert.throws(() => parseUpstream('127.0.0.1:70000'), TypeError);
  });
});

describe('CGI response head, the last head kept whole', () => {
  const line = fc.constantFrom(
    'X-Powered-By: PHP/8.2.7',
    'Content-type: text/html; charset=UTF-8',
    'Content-Type: application/json',
    'Status: 404 Not Found',
    'Status: 201',
    'Set-Cookie: session=abc',
    'Location: /next',
    'Cache-Control: no-store',
    'Connection: close',
    'X-App: 1',
    'Vary: Accept',
  );
  const outcome = (head: Buffer): unknown => {
    try {
      const h = parseCgiHead(head);
      return { status: h.status, headers: h.headers.map((p) => [...p]), lower: [...h.lower] };
    } catch (err) {
      return (err as Error).message;
    }
  };

  test('heads in a row each parse as from nothing, whatever came before', () => {
    fc.assert(
      fc.property(fc.array(fc.array(line, { maxLength: 5 }), { minLength: 1, maxLength: 8 }), (heads) => {
        for (const ls of heads) {
          const head = Buffer.from(ls.map((l) => `${l}\r\n`).join(''), 'latin1');
          const got = outcome(head);
          forgetCgiHead();
          assert.deepEqual(got, outcome(head), JSON.stringify(ls));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('only a head of remembered lines is shared, and it cannot be changed', () => {
    forgetCgiHead();
    const php = Buffer.from('X-Powered-By: PHP/8.2.7\r\nContent-type: text/html; charset=UTF-8\r\n');
    const a = parseCgiHead(php);
    assert.equal(parseCgiHead(Buffer.from(php)), a);
    assert.ok(
      Object.isFrozen(a) && Object.isFrozen(a.headers) && Object.isFrozen(a.headers[0]) && Object.isFrozen(a.lower),
    );
    assert.deepEqual(a.lower, ['x-powered-by', 'content-type']);
    // A user's cookie or URL never stays in memory after its response.
    for (const text of ['Set-Cookie: session=abc\r\n', 'Location: /next\r\n', 'X-App: 1\r\n']) {
      const b = Buffer.from(text);
      assert.notEqual(parseCgiHead(b), parseCgiHead(b), text);
    }
    assert.equal(parseCgiHead(Buffer.from(php)), a, 'a head that is not kept leaves the kept one');
  });
});
