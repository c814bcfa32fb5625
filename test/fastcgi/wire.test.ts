// The gateway behind the real engine, over raw sockets: what a client sees on the wire.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type FastCgiMiddleware, fastcgi } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { type Server, serve } from '../../src/server.ts';
import { exchange, RawConnection } from '../helpers/raw-client.ts';
import { docroot, skipWithoutPhpFpm, startPhpFpm } from './helpers.ts';

/** Writes raw bytes (then half-closes if asked), reads until the server closes or `quietMs` of silence. */
/** Raw bytes to the server; the reply until it closes or `quietMs` pass in silence. */
const raw = (server: Server, bytes: string | Buffer, quietMs = 500, halfClose = false) =>
  exchange(server.address.port, bytes, { quietMs, halfClose });

function bodyOf(text: string): string {
  const i = text.indexOf('\r\n\r\n');
  const head = text.slice(0, i);
  const rest = text.slice(i + 4);
  if (!/transfer-encoding: chunked/i.test(head)) return rest;
  let out = '';
  let at = 0;
  for (;;) {
    const eol = rest.indexOf('\r\n', at);
    if (eol < 0) return out;
    const size = Number.parseInt(rest.slice(at, eol), 16);
    if (size === 0) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

describe('fastcgi over the wire', { skip: skipWithoutPhpFpm }, () => {
  let fpm: PhpFpmProcess;
  let php: FastCgiMiddleware;
  let server: Server;

  before(async () => {
    fpm = await startPhpFpm({ children: 3 });
    php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: 3 });
    server = await serve({
      port: 0,
      logLevel: 'silent',
      fetch: (req, ctx) => php(req, ctx, async () => new Response('not found', { status: 404 })),
    });
  });
  after(async () => {
    await server?.close();
    php?.close();
    await fpm?.stop();
  });

  test('GET a script, then a static file, on one keep-alive connection', async () => {
    const r = await raw(
      server,
      'GET /hello.php HTTP/1.1\r\nHost: a\r\n\r\nGET /static.txt HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const responses = r.text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(responses.length, 2, r.text);
    assert.match(responses[0]!, /^HTTP\/1\.1 200/);
    assert.equal(bodyOf(responses[0]!), 'Hello, World!');
    assert.equal(bodyOf(responses[1]!), 'plain text file\n');
  });

  test('REQUEST_URI is the raw target, undecoded, for the front controller', async () => {
    const r = await raw(server, 'GET /a/b/c%20d?x=%41 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const d = JSON.parse(bodyOf(r.text)) as { uri: string; script: string };
    assert.equal(d.uri, '/a/b/c%20d?x=%41');
    assert.equal(d.script, '/index.php');
  });

  test('header bytes reach PHP as received, and repeated Cookie fields are joined with a semicolon', async () => {
    const head = Buffer.concat([
      Buffer.from('GET /info.php HTTP/1.1\r\nHost: a\r\nX-Name: '),
      Buffer.from('café ☕', 'utf8'),
      Buffer.from('\r\nCookie: a=1\r\nX-Two: x\r\nCookie: b=2\r\nX-Two: y\r\nConnection: close\r\n\r\n'),
    ]);
    const r = await raw(server, head);
    const d = JSON.parse(bodyOf(r.text)) as { server: Record<string, string>; cookie: Record<string, string> };
    assert.equal(d.server.HTTP_X_NAME, 'café ☕');
    assert.equal(d.server.HTTP_COOKIE, 'a=1; b=2');
    assert.deepEqual(d.cookie, { a: '1', b: '2' });
    assert.equal(d.server.HTTP_X_TWO, 'x, y');
  });

  test("a client that half-closes after a whole request gets the script's answer", async () => {
    const requests = [
      'POST /info.php HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2',
      'POST /info.php HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na=1\r\n4\r\n&b=2\r\n0\r\n\r\n',
      'POST /info.php HTTP/1.0\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2',
    ];
    for (const req of requests) {
      const r = await raw(server, req, 2000, true);
      assert.match(r.text, /^HTTP\/1\.1 200 /, req);
      const d = JSON.parse(bodyOf(r.text)) as { post: Record<string, string> };
      assert.deepEqual(d.post, { a: '1', b: '2' }, req);
    }
    const slow = await raw(server, 'GET /slow.php?ms=100 HTTP/1.1\r\nHost: a\r\n\r\n', 2000, true);
    assert.match(slow.text, /^HTTP\/1\.1 200 /);
  });

  test('a chunked request body reaches PHP with a CONTENT_LENGTH', async () => {
    const part1 = 'hello ';
    const part2 = 'chunked world';
    const req =
      'POST /info.php HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
      `${part1.length.toString(16)}\r\n${part1}\r\n${part2.length.toString(16)}\r\n${part2}\r\n0\r\n\r\n`;
    const r = await raw(server, req);
    const d = JSON.parse(bodyOf(r.text)) as { input_md5: string; server: Record<string, string> };
    assert.equal(d.server.CONTENT_LENGTH, String(part1.length + part2.length));
    assert.equal(
      d.input_md5,
      createHash('md5')
        .update(part1 + part2)
        .digest('hex'),
    );
    assert.equal(d.server.HTTP_TRANSFER_ENCODING, undefined);
  });

  test('a Content-Length body reaches PHP ($_POST filled)', async () => {
    const form = 'name=Ada&lang=fr%20en';
    const r = await raw(
      server,
      `POST /info.php HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\nConnection: close\r\n\r\n${form}`,
    );
    const d = JSON.parse(bodyOf(r.text)) as { post: Record<string, string>; server: Record<string, string> };
    assert.deepEqual(d.post, { name: 'Ada', lang: 'fr en' });
    assert.equal(d.server.CONTENT_LENGTH, String(form.length));
  });

  test('split-path attack and source requests over raw bytes never run or show the upload', async () => {
    for (const target of [
      '/uploads/a.jpg/x.php',
      '/uploads/a.jpg/.php',
      '/uploads/a.jpg%2Fx.php',
      '/uploads/a.jpg%00.php',
    ]) {
      const r = await raw(server, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      assert.doesNotMatch(r.text, /PWNED/, target);
    }
    const src = await raw(server, 'GET /CAPS.PHP HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.match(src.text, /^HTTP\/1\.1 403/);
    assert.doesNotMatch(src.text, /<\?php/);
  });

  test('php-fpm dying mid-response closes the client connection without a final chunk', async () => {
    const r = await raw(server, 'GET /die-mid.php HTTP/1.1\r\nHost: a\r\n\r\n', 3000);
    assert.match(r.text, /^HTTP\/1\.1 200/);
    assert.ok(r.closed, 'connection closed');
    assert.ok(!r.text.endsWith('0\r\n\r\n'), 'no terminating chunk');
    const cl = /content-length: (\d+)/i.exec(r.text);
    if (cl) assert.ok(bodyOf(r.text).length < Number(cl[1]));
  });

  test('HEAD runs the script and sends no body; the connection stays usable', async () => {
    const r = await raw(
      server,
      'HEAD /hello.php HTTP/1.1\r\nHost: a\r\n\r\nGET /hello.php HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    const parts = r.text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(parts.length, 2, r.text);
    assert.ok(parts[0]!.endsWith('\r\n\r\n'));
    assert.doesNotMatch(parts[0]!, /content-length: 0/i, 'HEAD does not claim an empty GET body');
    assert.equal(bodyOf(parts[1]!), 'Hello, World!');
  });

  test('a client that disconnects mid-script frees the php-fpm connection', async () => {
    const s = await RawConnection.open(server.address.port);
    s.send('GET /slow.php?ms=800 HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(php.stats.waiting, 0);
    const r = await raw(server, 'GET /hello.php HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(bodyOf(r.text), 'Hello, World!');
  });
});

describe('fastcgi over the wire with php-fpm absent', () => {
  test('answers 502 quickly', async () => {
    const php = fastcgi({ upstream: 'unix:/nonexistent/foyer-test.sock', root: docroot });
    const server = await serve({
      port: 0,
      logLevel: 'silent',
      fetch: (req, ctx) => php(req, ctx, async () => new Response(null, { status: 404 })),
    });
    try {
      const t0 = Date.now();
      const r = await raw(server, 'GET /hello.php HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      assert.match(r.text, /^HTTP\/1\.1 502/);
      assert.ok(Date.now() - t0 < 1000);
    } finally {
      await server.close();
      php.close();
    }
  });
});
