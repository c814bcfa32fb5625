// req.url against the reference: for every request the parser accepts, the URL the engine builds is
// exactly what `new URL()` (WHATWG, as @hono/node-server's `new Request(url)` sees it) makes of the
// same target and Host; a target or Host the reference refuses never reaches a handler.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ParsedHead, parseHead } from './head-parser.ts';
import { defaultLimits } from './limits.ts';
import { climbsAboveRoot, RequestUrls } from './request-url.ts';

const ORIGIN = 'http://';

/** The engine's answer: the URL, 'parser' when the head parser refuses, 'refused' when the URL step does. */
function engineUrl(target: string, host: string | undefined, origin = ORIGIN): string {
  const head = new ParsedHead();
  const raw = `GET ${target} HTTP/1.1\r\n${host === undefined ? '' : `Host: ${host}\r\n`}\r\n`;
  const buf = Buffer.from(raw, 'latin1');
  if (parseHead(buf, 0, buf.length, defaultLimits, head) < 0) return 'parser';
  return new RequestUrls(origin, '127.0.0.1:8080').build(head) ?? 'refused';
}

/** What the URL parser makes of the target; an absolute-form target keeps its authority, and the scheme is the connection's. */
function reference(target: string, host: string, origin = ORIGIN): string {
  try {
    if (!target.startsWith('/')) return new URL(origin + target.slice(target.indexOf('//') + 2)).href;
    return new URL(origin + host + target).href;
  } catch {
    return 'refused';
  }
}

function check(target: string, host: string, origin = ORIGIN): void {
  const got = engineUrl(target, host, origin);
  if (got === 'parser') return; // refused before any URL exists: never reaches a handler
  const want = reference(target, host, origin);
  if (got === 'refused' && want !== 'refused') {
    // The one deliberate difference: dot segments that climb above the root are an attack (nginx: 400).
    const path = target.startsWith('/') ? 0 : target.indexOf('/', target.indexOf('//') + 2);
    assert.ok(path >= 0 && climbsAboveRoot(target, path), `${host} ${target}: refused, reference ${want}`);
    return;
  }
  assert.equal(got, want, `Host ${JSON.stringify(host)}, target ${JSON.stringify(target)}`);
}

const NASTY_TARGETS = [
  '/',
  '/x/../admin/secret.php',
  '/%2e%2e/admin/x',
  '/%2E%2e/admin/x',
  '/.%2e/admin',
  '/./admin/x',
  '//admin/x',
  '/admin/./x/.',
  '/admin/x/..',
  '/admin%2fsecret.php',
  '/a/%2e/b',
  '/a%2eb/c',
  '/.well-known/x',
  '/a/b?x=/../y',
  "/a?b='c'",
  '/a"b<c>d`e{f}g^h|i',
  '/q?"<>`{}^|',
  '/%zz/%',
  '/a;b,c=d@e:f',
  '/[]',
  '/sub/..',
  '/../x',
  '/a/../../x',
  '//../x',
  'http://Example.COM/a/../b',
  'http://example.com:80/x',
  'https://example.com:443/x',
  'http://example.com',
  'http://example.com?q',
  'http://example.com/../x',
];

const NASTY_HOSTS = [
  'example.com',
  'Example.COM',
  'example.com:80',
  'example.com:080',
  'example.com:8080',
  'example.com:',
  'example.com.',
  '127.0.0.1',
  '127.0.0.1.',
  '[::1]',
  '[0:0::1]:8080',
  '[v1.x:y]',
  'xn--a',
  'a.xn--a',
  'xn--nxasmq6b',
  'a_b.c',
  'a~b',
  "a!$&'()*+,;=b",
  '-a-.b',
];

describe('req.url against new URL()', () => {
  test('a table of nasty targets and hosts', () => {
    for (const target of NASTY_TARGETS) for (const host of NASTY_HOSTS) check(target, host);
    for (const target of NASTY_TARGETS) check(target, 'example.com', 'https://');
  });

  test('dot segments are removed and the raw spelling never reaches the handler', () => {
    assert.equal(engineUrl('/x/../admin/secret.php', 'h'), 'http://h/admin/secret.php');
    assert.equal(engineUrl('/%2e%2e/admin/x', 'h'), 'refused');
    assert.equal(engineUrl('/a/%2E/b', 'h'), 'http://h/a/b');
    assert.equal(engineUrl('/admin/.', 'H:80'), 'http://h/admin/');
  });

  test('a refusal says whether the Host or the target was refused (the 400 names the right one)', () => {
    const urls = new RequestUrls(ORIGIN, '127.0.0.1:8080');
    const head = (raw: string) => {
      const h = new ParsedHead();
      const b = Buffer.from(raw, 'latin1');
      assert.ok(parseHead(b, 0, b.length, defaultLimits, h) > 0);
      return h;
    };
    assert.equal(urls.build(head('GET /../x HTTP/1.1\r\nHost: h\r\n\r\n')), undefined);
    assert.equal(urls.refused, 'target');
    assert.equal(urls.build(head('GET / HTTP/1.1\r\nHost: [v1.x:y]\r\n\r\n')), undefined);
    assert.equal(urls.refused, 'host');
  });

  test('hosts the URL parser refuses are refused', () => {
    assert.equal(engineUrl('/', '[v1.x:y]'), 'refused');
    // Punycode validation differs between Node lines (ada versions): follow the running reference.
    assert.equal(engineUrl('/', 'xn--a'), reference('/', 'xn--a'));
  });

  test('random targets and hosts', () => {
    const piece = fc.constantFrom(
      ...'/ a B z 0 9 . .. %2e %2E %2f %41 %zz %c3%a9 ? & = \' " < > ` { } ^ | [ ] @ : ; , ~ ! $ ( ) * + % - _'.split(
        ' ',
      ),
    );
    const target = fc.array(piece, { maxLength: 14 }).map((p) => `/${p.join('')}`);
    const hostPiece = fc.constantFrom(
      ...'a Z 0 1 . - xn-- _ ~ :80 :8080 :0 :443 :01 127.0.0.1 1.2.3.4. 0x7f.1 255.255.255.255'.split(' '),
    );
    const host = fc.oneof(
      fc.array(hostPiece, { minLength: 1, maxLength: 5 }).map((p) => p.join('')),
      fc.constantFrom('[::1]', '[v1.a:b]', '[::ffff:1.2.3.4]:80'),
    );
    fc.assert(
      fc.property(target, host, fc.constantFrom('http://', 'https://'), (t, h, o) => check(t, h, o)),
      { numRuns: 3000 },
    );
  });

  test('one connection builds each URL as a fresh one would, whatever came before on it', () => {
    const target = fc.constantFrom('/', '/a', '/a/../b', '/%2e%2e/x', '/../x', '/a?q', '*', 'http://h.example/p', '/a');
    const host = fc.constantFrom('a.example', 'A.example', 'a.example:80', 'b.example:8080', 'bad host', undefined);
    fc.assert(
      fc.property(fc.array(fc.tuple(target, host), { minLength: 1, maxLength: 8 }), (seq) => {
        const urls = new RequestUrls(ORIGIN, '127.0.0.1:8080');
        for (const [t, h] of seq) {
          const head = new ParsedHead();
          const buf = Buffer.from(
            `GET ${t} HTTP/1.${h === undefined ? 0 : 1}\r\n${h === undefined ? '' : `Host: ${h}\r\n`}\r\n`,
            'latin1',
          );
          if (parseHead(buf, 0, buf.length, defaultLimits, head) < 0) continue;
          const fresh = new RequestUrls(ORIGIN, '127.0.0.1:8080');
          const want = fresh.build(head);
          assert.equal(urls.build(head), want, `${h} ${t}`);
          assert.equal(urls.refused, fresh.refused);
        }
      }),
      { numRuns: 500 },
    );
  });
});
