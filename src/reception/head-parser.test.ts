import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { findHeadEnd, ParsedHead, parseHead } from './head-parser.ts';
import { defaultLimits } from './limits.ts';

function parse(raw: string, limits = defaultLimits) {
  const buf = Buffer.from(raw, 'latin1');
  const end = findHeadEnd(buf, 0, 0, buf.length);
  const out = new ParsedHead();
  if (end <= 0) return { end, out };
  return { end: parseHead(buf, 0, end, limits, out), out };
}

const ok = (raw: string) => {
  const r = parse(raw);
  assert.ok(r.end > 0, `expected ${JSON.stringify(raw)} to parse, got ${r.out.error}`);
  return r.out;
};
const err = (raw: string) => {
  const r = parse(raw);
  assert.equal(r.end, -1, `expected ${JSON.stringify(raw)} to be rejected`);
  return r.out.error;
};

describe('head parser', () => {
  test('keeps field names and the Host value exactly as received, in common spellings or not', () => {
    const raw =
      'GET / HTTP/1.1\r\nHOST: a.example\r\nuser-agent: x\r\nUser-Agenu: y\r\nAccept: */*\r\nACCEPT: z\r\n\r\n';
    assert.deepEqual(ok(raw).headers, [
      'HOST',
      'a.example',
      'user-agent',
      'x',
      'User-Agenu',
      'y',
      'Accept',
      '*/*',
      'ACCEPT',
      'z',
    ]);
    // The connection's last Host is reused only when the bytes are the same.
    for (const [sent, known] of [
      ['a.example', 'a.example'],
      ['a.exampld', 'a.example'],
      ['b.example:8080', 'b.example:8081'],
    ]) {
      const buf = Buffer.from(`GET / HTTP/1.1\r\nHost: ${sent}\r\n\r\n`, 'latin1');
      const out = new ParsedHead();
      assert.equal(parseHead(buf, 0, buf.length, defaultLimits, out, known), buf.length);
      assert.equal(out.host, sent);
    }
  });

  test('parses method, target, version and headers', () => {
    const h = ok('POST /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nX-Two:  spaced value \t\r\nContent-Length: 3\r\n\r\n');
    assert.equal(h.method, 'POST');
    assert.equal(h.target, '/a/b?c=d');
    assert.equal(h.minor, 1);
    assert.deepEqual(h.headers, ['Host', 'example.com', 'X-Two', 'spaced value', 'Content-Length', '3']);
    assert.equal(h.contentLength, 3);
  });

  test('finds the end of a head only at CRLF CRLF', () => {
    const b = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\nrest');
    assert.equal(findHeadEnd(b, 0, 0, b.length), b.length - 4);
    assert.equal(findHeadEnd(b, 0, 0, 20), 0);
    assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\nHost: x\n\n'), 0, 0, 24), -1);
    const bareCr = Buffer.from('GET / HTTP/1.1\r\nHost: x\rZ');
    assert.equal(findHeadEnd(bareCr, 0, 0, bareCr.length), -1, 'a bare CR is refused before the head ends');
    const lastCr = Buffer.from('GET / HTTP/1.1\r\nHost: x\r');
    assert.equal(findHeadEnd(lastCr, 0, 0, lastCr.length), 0, 'a CR at the end may still be followed by LF');
  });

  const rejected: [string, string, string][] = [
    ['lowercase HTTP name', 'GET / http/1.1\r\nHost: x\r\n\r\n', 'FOYER_BAD_VERSION'],
    ['two-digit minor version', 'GET / HTTP/1.11\r\nHost: x\r\n\r\n', 'FOYER_BAD_VERSION'],
    ['HTTP/2.0 in HTTP/1 syntax', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 'FOYER_VERSION_NOT_SUPPORTED'],
    ['HTTP/0.9', 'GET / HTTP/0.9\r\n\r\n', 'FOYER_VERSION_NOT_SUPPORTED'],
    ['space in method', 'G ET / HTTP/1.1\r\nHost: x\r\n\r\n', 'FOYER_BAD_VERSION'],
    ['two spaces before target', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n', 'FOYER_BAD_TARGET'],
    ['fragment in target', 'GET /#x HTTP/1.1\r\nHost: x\r\n\r\n', 'FOYER_BAD_TARGET'],
    ['backslash in path', 'GET /a\\b HTTP/1.1\r\nHost: x\r\n\r\n', 'FOYER_BAD_TARGET'],
    ['non-ASCII in target', 'GET /\xe9 HTTP/1.1\r\nHost: x\r\n\r\n', 'FOYER_BAD_TARGET'],
    ['asterisk-form for GET', 'GET * HTTP/1.1\r\nHost: x\r\n\r\n', 'FOYER_BAD_TARGET'],
    ['unknown well-formed method', 'BREW / HTTP/1.1\r\nHost: x\r\n\r\n', 'FOYER_METHOD_NOT_IMPLEMENTED'],
    ['lowercase method', 'get / HTTP/1.1\r\nHost: x\r\n\r\n', 'FOYER_METHOD_NOT_IMPLEMENTED'],
    ['missing Host on 1.1', 'GET / HTTP/1.1\r\n\r\n', 'FOYER_BAD_HOST'],
    ['two Host fields', 'GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n', 'FOYER_BAD_HOST'],
    ['empty Host', 'GET / HTTP/1.1\r\nHost:\r\n\r\n', 'FOYER_BAD_HOST'],
    ['userinfo in absolute-form', 'GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n', 'FOYER_BAD_TARGET'],
    ['octal IPv4 host', 'GET http://0177.0.0.1/ HTTP/1.1\r\nHost: a\r\n\r\n', 'FOYER_BAD_TARGET'],
    ['unbracketed IPv6 Host', 'GET / HTTP/1.1\r\nHost: ::1\r\n\r\n', 'FOYER_BAD_HOST'],
    ['port with letters', 'GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n', 'FOYER_BAD_HOST'],
    ['space before colon', 'GET / HTTP/1.1\r\nHost: x\r\nFoo : bar\r\n\r\n', 'FOYER_BAD_HEADER'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nFoo: a\r\n b\r\n\r\n', 'FOYER_BAD_HEADER'],
    ['NUL in value', 'GET / HTTP/1.1\r\nHost: x\r\nFoo: a\x00b\r\n\r\n', 'FOYER_BAD_HEADER'],
    ['bare CR in value', 'GET / HTTP/1.1\r\nHost: x\r\nFoo: a\rb\r\n\r\n', 'FOYER_BAD_HEADER'],
    ['empty field name', 'GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n', 'FOYER_BAD_HEADER'],
    [
      'Content-Length with sign',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n',
      'FOYER_BAD_CONTENT_LENGTH',
    ],
    ['Content-Length list', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n', 'FOYER_BAD_CONTENT_LENGTH'],
    [
      'differing Content-Length fields',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n',
      'FOYER_BAD_CONTENT_LENGTH',
    ],
    [
      'TE and CL together',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
      'FOYER_AMBIGUOUS_FRAMING',
    ],
    [
      'TE not ending in chunked',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n',
      'FOYER_BAD_TRANSFER_ENCODING',
    ],
    [
      'chunked twice',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
      'FOYER_BAD_TRANSFER_ENCODING',
    ],
    [
      'unknown coding before chunked',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
      'FOYER_CODING_NOT_IMPLEMENTED',
    ],
    ['TE on HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 'FOYER_BAD_TRANSFER_ENCODING'],
  ];
  for (const [name, raw, code] of rejected) {
    test(`rejects ${name} with ${code}`, () => assert.equal(err(raw), code));
  }

  test('accepts the same Content-Length twice', () => {
    assert.equal(ok('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n').contentLength, 5);
  });

  test('accepts IPv6, IPvFuture and reg-name hosts with ports', () => {
    ok('GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n');
    ok('GET / HTTP/1.1\r\nHost: [v1.fe80::a+en1]\r\n\r\n');
    ok('GET / HTTP/1.1\r\nHost: foo_bar.example.com.\r\n\r\n');
    ok('GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n');
  });

  test('reads Connection tokens case-insensitively', () => {
    const h = ok('GET / HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\nUpgrade: websocket\r\n\r\n');
    assert.equal(h.connectionKeepAlive, true);
    assert.equal(h.connectionUpgrade, true);
    assert.equal(h.upgrade, 'websocket');
    assert.equal(h.minor, 0);
  });

  test('rejects more header fields than the limit', () => {
    const r = parse(`GET / HTTP/1.1\r\nHost: x\r\n${'A: b\r\n'.repeat(3)}\r\n`, {
      ...defaultLimits,
      maxHeaderCount: 3,
    });
    assert.equal(r.out.error, 'FOYER_HEADERS_TOO_LARGE');
  });

  test('rejects a request line over the limit with 414', () => {
    const r = parse(`GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: x\r\n\r\n`, {
      ...defaultLimits,
      maxRequestLineSize: 50,
    });
    assert.equal(r.out.error, 'FOYER_URI_TOO_LONG');
  });
});

describe('host validation across requests', () => {
  test('skips re-validating a Host the connection already validated, and still checks a new one', () => {
    const good = Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
    assert.ok(parseHead(good, 0, good.length, defaultLimits, new ParsedHead(), 'example.com') > 0);
    const bad = Buffer.from('GET / HTTP/1.1\r\nHost: exa mple\r\n\r\n');
    const out = new ParsedHead();
    assert.equal(parseHead(bad, 0, bad.length, defaultLimits, out, 'example.com'), -1);
  });

  test('optional whitespace is SP and HTAB only: no other byte is trimmed from a field (RFC 9110 §5.6.3)', () => {
    // JavaScript's trim() would strip U+00A0 and read `\xa0chunked` as chunked: a smuggling gadget.
    for (const ws of ['\xa0', '\x0b', '\x0c', '\x85']) {
      for (const te of [`${ws}chunked`, `chunked${ws}`, `gzip,${ws}chunked`]) {
        const code = err(`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\n`);
        assert.ok(
          code === 'FOYER_BAD_TRANSFER_ENCODING' || code === 'FOYER_BAD_HEADER',
          `${JSON.stringify(te)} → ${code}`,
        );
      }
      if (ws.charCodeAt(0) < 0x80) continue; // a control byte is refused as a whole field
      const h = ok(`GET / HTTP/1.1\r\nHost: x\r\nConnection: ${ws}close\r\n\r\n`);
      assert.equal(h.connectionClose, false, `Connection: ${JSON.stringify(ws)}close is not close`);
    }
    assert.equal(ok('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \t chunked \t\r\n\r\n').chunked, true);
  });

  test("parses a head exactly the same with or without the connection's previous head", () => {
    // Heads from a small alphabet, so that the previous head often repeats a target, a name or a
    // value at the same position, and often nearly does (one byte or one length apart).
    const word = fc.constantFrom(
      'a',
      'ab',
      'aB',
      'Host',
      'host',
      'User-Agent',
      'x',
      'X',
      '1',
      '12',
      'close',
      'chunked',
      '100-continue',
      'keep-alive',
    );
    const value = fc.array(word, { maxLength: 3 }).map((w) => w.join(' '));
    const field = fc.tuple(
      fc.constantFrom(
        'Host',
        'host',
        'Hast',
        'User-Agent',
        'X-A',
        'X-A2', // a name that begins with another one: a repeat must end where the name does
        'X',
        'X-B',
        'x-a',
        'Hosts',
        'Content-Length',
        'Connection',
        'Transfer-Encoding',
        'Expect',
        'Upgrade',
      ),
      value,
    );
    // Whole fields that make a head valid, or decide its framing, often enough to be repeated.
    const decisive = fc.constantFrom<[string, string]>(
      ['Host', 'h'],
      ['Transfer-Encoding', 'chunked'],
      ['Content-Length', '5'],
      ['Connection', 'upgrade'],
      ['Connection', 'close, keep-alive'],
    );
    const anyField = fc.oneof(field, decisive);
    const head = fc.record({
      method: fc.constantFrom('GET', 'POST', 'OPTIONS', 'CONNECT', 'BREW'),
      target: fc.constantFrom('/', '/a', '/b', '/a?x', '/A', '*', 'h:1', '/a/../b'),
      minor: fc.constantFrom(0, 1),
      fields: fc.array(anyField, { maxLength: 5 }),
      // Same field lines written differently (whitespace around the value): other bytes, same fields.
      ows: fc.constantFrom('', ' ', '\t '),
    });
    type Head = typeof head extends fc.Arbitrary<infer H> ? H : never;
    const bytes = (h: Head) =>
      Buffer.from(
        `${h.method} ${h.target} HTTP/1.${h.minor}\r\n${h.fields.map(([n, v]) => `${n}:${h.ows}${v}${h.ows}\r\n`).join('')}\r\n`,
        'latin1',
      );
    // The next head often repeats the previous one's request line, its field lines, or both (the
    // parser then reuses the previous head's strings), or nearly does: that must change nothing.
    const pair = fc
      .tuple(head, head, fc.constantFrom('none', 'line', 'fields', 'both', 'more', 'fewer', 'version'), anyField)
      .map(([a, b, keep, extra]) => {
        const line = keep !== 'none' && keep !== 'fields';
        const fields =
          keep === 'fields' || keep === 'both'
            ? a.fields
            : keep === 'more'
              ? [...a.fields, extra]
              : keep === 'fewer'
                ? a.fields.slice(0, -1)
                : b.fields;
        return [
          a,
          {
            ...b,
            ...(line
              ? { method: a.method, target: a.target, minor: (keep === 'version' ? 1 - a.minor : a.minor) as 0 | 1 }
              : {}),
            fields,
            ...(keep !== 'none' ? { ows: a.ows } : {}),
          },
        ] as const;
      });
    // …and sometimes one byte of it is changed: a near repeat (another separator, a space, a CR, a
    // version digit) must be parsed as itself.
    const mutation = fc.option(
      fc.tuple(fc.nat(), fc.constantFrom(0x20, 0x09, 0x3a, 0x3b, 0x61, 0x0d, 0x0a, 0x7f, 0x80, 0x30, 0x31, 0x32, 0x00)),
      { freq: 3 },
    );
    fc.assert(
      fc.property(pair, mutation, ([before, now], change) => {
        const prev = new ParsedHead();
        const pb = bytes(before);
        const prevOk = parseHead(pb, 0, pb.length, defaultLimits, prev) > 0;
        const buf = bytes(now);
        // Not the final CRLF CRLF: the parser is only ever given a complete head (findHeadEnd).
        if (change !== null && buf.length > 4) buf[change[0] % (buf.length - 4)] = change[1];
        if (findHeadEnd(buf, 0, 0, buf.length) !== buf.length) return; // not a head the parser is given
        const plain = new ParsedHead();
        const reused = new ParsedHead();
        const a = parseHead(buf, 0, buf.length, defaultLimits, plain);
        const b = prevOk
          ? parseHead(buf, 0, buf.length, defaultLimits, reused, prev.host, prev)
          : parseHead(buf, 0, buf.length, defaultLimits, reused);
        assert.equal(b, a);
        assert.deepEqual({ ...reused }, { ...plain });
        // A repeat gives the new head its own list of fields.
        if (prevOk && b > 0) assert.notEqual(reused.headers, prev.headers);
      }),
      { numRuns: 4000 },
    );
  });

  test('a near repeat of the previous head is parsed as itself (a table of one-byte differences)', () => {
    // Y's value is long enough to be compared natively (bytesAre), its name and the others byte by byte.
    const long = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131';
    const prevHead = `GET /a HTTP/1.1\r\nHost: h\r\nX: a \r\nY:\tb\r\nZ: ${long}\r\n\r\n`;
    const near = [
      `GET /a HTTP/1.1\r\nHost: h\r\nX: a \r\nY:\tb\r\nZ: ${long}\r\n\r\n`, // the same
      `GET /a HTTP/1.1\r\nHost: h\r\nX: a \r\nY:\tb\r\nZ: ${long.slice(0, -1)}2\r\n\r\n`, // its last byte
      `GET /a HTTP/1.1\r\nHost: h\r\nX: a \r\nY:\tb\r\nZ: N${long.slice(1)}\r\n\r\n`,
      `GET /a HTTP/1.1\r\nHost: h\r\nX: a \r\nY:\tb\r\nZ: ${long.slice(0, 10)}\x01${long.slice(11)}\r\n\r\n`,
      'GET /a HTTP/1.1\r\nHost: h\r\nX: a;\r\nY:\tb\r\n\r\n', // a byte where whitespace was
      'GET /a HTTP/1.1\r\nHost: h\r\nX : a\r\nY:\tb\r\n\r\n', // whitespace before the colon
      'GET /a HTTP/1.1\r\nHost: h\r\nX; a\r\nY:\tb\r\n\r\n', // no colon
      'GET /a HTTP/1.0\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n', // another version
      'GET /a HTTP/1.2\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n', // read as 1.1
      'GET  /a HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n', // two spaces
      'GET /a  HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n',
      'GET /a HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb\r\nZ: c\r\n\r\n', // one field more
      'GET /a HTTP/1.1\r\nHost: h\r\nX: a\r\n\r\n', // one field fewer
      'GET /a HTTP/1.1\r\nHost: h\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n', // Host twice
      'GET /a HTTP/1.1\r\nhost: h\r\nX: a\r\nY:\tb\r\n\r\n', // the name in another case
      'GET /a HTTP/1.1\r\nHost: h\r\nX: a\x80\r\nY:\tb\r\n\r\n', // obs-text
      'GET /a HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\nY:\tb\r\n\r\n', // DEL: not a field value
      'GET /a HTTP/1.1\r\nHost: h\r\nX: a\x00\r\nY:\tb\r\n\r\n', // NUL
      'GET /a HTTP/1.1\r\nHost: h\r\nX:  \t a \t \r\nY: b\r\n\r\n', // the same fields, other whitespace
      'GET /a?x HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n',
      'POST /a HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n',
      'GET /a HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET /ab HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n', // the target, one byte longer
      'GET /a\\ HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb\r\n\r\n', // …by a byte it refuses
      'GET /a HTTP/1.1\r\nHosts: h\r\nX: a\r\nY:\tb\r\n\r\n', // a name, one byte longer
      'GET /a HTTP/1.1\r\nHost: h\r\nX\x7f: a\r\nY:\tb\r\n\r\n', // …by a byte no name has
      'GET /a HTTP/1.1\r\nHost: hh\r\nX: a\r\nY:\tb\r\n\r\n', // a value, one byte longer
      'GET /a HTTP/1.1\r\nHost: h\x01\r\nX: a\r\nY:\tb\r\n\r\n', // …by a control
      'GET /a HTTP/1.1\r\nHost: h\rX: a\r\nY:\tb\r\n\r\n', // a CR without its LF after a value
      'GET /a HTTP/1.1\r\nHost: h\r\nX: a\r\nY:\tb \x01\r\n\r\n', // whitespace, then a control
    ];
    const prev = new ParsedHead();
    const pb = Buffer.from(prevHead, 'latin1');
    assert.ok(parseHead(pb, 0, pb.length, defaultLimits, prev) > 0);
    for (const text of near) {
      const buf = Buffer.from(text, 'latin1');
      const plain = new ParsedHead();
      const reused = new ParsedHead();
      const a = parseHead(buf, 0, buf.length, defaultLimits, plain);
      const b = parseHead(buf, 0, buf.length, defaultLimits, reused, prev.host, prev);
      assert.equal(b, a, JSON.stringify(text));
      assert.deepEqual({ ...reused }, { ...plain }, JSON.stringify(text));
    }
  });

  test("reuses the previous head's strings only where the bytes are the same", () => {
    const first = new ParsedHead();
    const b1 = Buffer.from('GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: one\r\nX-Y: v\r\n\r\n', 'latin1');
    assert.ok(parseHead(b1, 0, b1.length, defaultLimits, first) > 0);
    const second = new ParsedHead();
    const b2 = Buffer.from('GET /b HTTP/1.1\r\nHost: h\r\nUser-Agent: onf\r\nX-Y: v\r\n\r\n', 'latin1');
    assert.ok(parseHead(b2, 0, b2.length, defaultLimits, second, first.host, first) > 0);
    assert.equal(second.target, '/b');
    assert.deepEqual(second.headers, ['Host', 'h', 'User-Agent', 'onf', 'X-Y', 'v']);
  });
});
