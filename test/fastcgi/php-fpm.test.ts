// The gateway against a real php-fpm (its own pool, private unix socket), called in-process.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type FastCgiMiddleware, fastcgi, parseUpstream } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { call, docroot, json, privateDir, skipWithoutPhpFpm, startPhpFpm, text } from './helpers.ts';

type Dump = {
  server: Record<string, string>;
  get: Record<string, unknown>;
  post: Record<string, unknown>;
  cookie: Record<string, string>;
  files: Record<string, { name: string; size: number; error: number; md5: string }>;
  input_md5: string;
  input_length: number;
  php_self: string;
};

const md5 = (b: Uint8Array | string) => createHash('md5').update(b).digest('hex');

describe('fastcgi gateway against php-fpm', { skip: skipWithoutPhpFpm }, () => {
  let fpm: PhpFpmProcess;
  let php: FastCgiMiddleware;
  let received = 0;
  let connects = 0;
  let countingConnect: () => Promise<Duplex>;

  before(async () => {
    fpm = await startPhpFpm({ children: 4 });
    const up = parseUpstream(fpm.upstream);
    // Counts bytes coming from php-fpm, to prove backpressure bounds what is read ahead.
    countingConnect = () =>
      new Promise<Duplex>((resolve, reject) => {
        const s = connect(up.kind === 'unix' ? { path: up.path } : { host: up.host, port: up.port });
        s.once('connect', () => {
          connects++;
          resolve(s);
        });
        s.once('error', reject);
        s.on('data', (d: Buffer) => {
          received += d.length;
        });
      });
    php = fastcgi({
      upstream: fpm.upstream,
      root: docroot,
      maxConnections: 4,
      params: { APP_ENV: 'test' },
      sendfile: { root: privateDir },
      connect: countingConnect,
    });
  });
  after(async () => {
    php?.close();
    await fpm?.stop();
  });

  test('passes the CGI/1.1 variables PHP expects, one by one', async () => {
    const a = await call(
      php,
      '/info.php/extra/path?x=1&y=two',
      {
        headers: {
          host: 'app.example:8443',
          'x-custom': 'v',
          proxy: 'http://evil.example',
          x_forwarded_for: '6.6.6.6',
          'x-forwarded-for': '198.51.100.7',
          authorization: 'Basic dTpw',
        },
      },
      { remoteAddress: '203.0.113.5', remotePort: 54321, localAddress: '127.0.0.1', localPort: 8443, secure: true },
    );
    assert.equal(a.status, 200);
    const s = (await json<Dump>(a)).server;
    const expected: Record<string, string> = {
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_SOFTWARE: 'Foyer',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: 'GET',
      REQUEST_SCHEME: 'https',
      HTTPS: 'on',
      REQUEST_URI: '/info.php/extra/path?x=1&y=two',
      DOCUMENT_URI: '/info.php/extra/path',
      DOCUMENT_ROOT: docroot,
      SCRIPT_NAME: '/info.php',
      SCRIPT_FILENAME: `${docroot}/info.php`,
      PATH_INFO: '/extra/path',
      PATH_TRANSLATED: `${docroot}/extra/path`,
      QUERY_STRING: 'x=1&y=two',
      REMOTE_ADDR: '203.0.113.5',
      REMOTE_PORT: '54321',
      SERVER_ADDR: '127.0.0.1',
      SERVER_PORT: '8443',
      SERVER_NAME: 'app.example',
      REDIRECT_STATUS: '200',
      HTTP_HOST: 'app.example:8443',
      HTTP_X_CUSTOM: 'v',
      HTTP_X_FORWARDED_FOR: '198.51.100.7',
      HTTP_AUTHORIZATION: 'Basic dTpw',
      PHP_SELF: '/info.php/extra/path',
      APP_ENV: 'test',
    };
    for (const [name, value] of Object.entries(expected)) assert.equal(s[name], value, name);
    assert.equal(s.HTTP_PROXY, undefined, 'httpoxy: Proxy header never becomes HTTP_PROXY');
    assert.equal(s.CONTENT_LENGTH ?? '', '', 'no body, no CONTENT_LENGTH');
  });

  test('keeps connections to php-fpm alive between requests', async () => {
    const before = connects;
    for (let i = 0; i < 10; i++) assert.equal(await text(await call(php, '/hello.php')), 'Hello, World!');
    assert.ok(connects - before <= 1, `${connects - before} connections for 10 sequential requests`);
  });

  test('GET with a query string fills $_GET', async () => {
    const d = await json<Dump>(await call(php, '/info.php?a=1&b[]=x&b[]=y&c=%C3%A9'));
    assert.deepEqual(d.get, { a: '1', b: ['x', 'y'], c: 'é' });
  });

  test('POST urlencoded fills $_POST', async () => {
    const body = 'name=Ada&lang=fr%20en';
    const a = await call(php, '/info.php', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) },
    });
    const d = await json<Dump>(a);
    assert.deepEqual(d.post, { name: 'Ada', lang: 'fr en' });
    assert.equal(d.server.CONTENT_LENGTH, String(body.length));
    assert.equal(d.server.CONTENT_TYPE, 'application/x-www-form-urlencoded');
  });

  test('multipart upload reaches $_FILES intact', async () => {
    const file = Buffer.alloc(300_000);
    for (let i = 0; i < file.length; i++) file[i] = (i * 7) & 0xff;
    const form = new FormData();
    form.set('title', 'hello');
    form.set('upload', new Blob([file]), 'data.bin');
    const d = await json<Dump>(await call(php, '/info.php', { method: 'POST', body: form }));
    assert.deepEqual(d.post, { title: 'hello' });
    assert.equal(d.files.upload?.name, 'data.bin');
    assert.equal(d.files.upload?.size, file.length);
    assert.equal(d.files.upload?.md5, md5(file));
  });

  test('JSON body reaches php://input', async () => {
    const body = JSON.stringify({ hello: 'world', n: [1, 2, 3] });
    const d = await json<Dump>(
      await call(php, '/info.php', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      }),
    );
    assert.equal(d.input_md5, md5(body));
    assert.equal(d.server.CONTENT_TYPE, 'application/json');
  });

  test('a chunked request body (no Content-Length) is spooled and announced with its length', async () => {
    const parts = [Buffer.alloc(700_000, 1), Buffer.alloc(900_000, 2)]; // crosses the 1 MiB memory bound
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(p);
        c.close();
      },
    });
    const d = await json<Dump>(
      await call(php, '/info.php', {
        method: 'PUT',
        body: stream,
        duplex: 'half',
        headers: { 'content-type': 'application/octet-stream' },
      }),
    );
    assert.equal(d.input_length, 1_600_000);
    assert.equal(d.server.CONTENT_LENGTH, '1600000');
    assert.equal(d.input_md5, md5(Buffer.concat(parts)));
  });

  test('cookies in, several Set-Cookie out, header() and http_response_code()', async () => {
    const d = await json<Dump>(await call(php, '/info.php', { headers: { cookie: 'sid=abc; theme=dark' } }));
    assert.deepEqual(d.cookie, { sid: 'abc', theme: 'dark' });
    const a = await call(php, '/headers.php');
    assert.equal(a.status, 418);
    assert.deepEqual(a.headers.getSetCookie(), ['a=1', 'b=2; path=/; HttpOnly', 'c=3']);
    assert.equal(a.headers.get('x-custom'), 'one');
    assert.equal(a.headers.get('x-multi'), 'a, b');
    assert.equal(await text(a), 'teapot');
  });

  test('Status and Location: explicit status wins, a bare Location is a 302', async () => {
    const created = await call(php, '/status.php');
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/created/7');
    const moved = await call(php, '/redirect.php');
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.get('location'), 'https://example.com/elsewhere?x=1');
    const empty = await call(php, '/nocontent.php');
    assert.equal(empty.status, 204);
    assert.equal(empty.res?.body, null);
  });

  test('10 MB of output past the response buffer bounds streams with backpressure', async () => {
    const bounded = fastcgi({
      upstream: fpm.upstream,
      root: docroot,
      responseMemory: 256 * 1024,
      maxTempFileSize: 512 * 1024,
      connect: countingConnect,
    });
    after(() => bounded.close());
    const before = received;
    const a = await call(bounded, '/big.php?mb=10');
    assert.equal(a.status, 200);
    const reader = a.res!.body!.getReader();
    let got = (await reader.read()).value!.length;
    await new Promise((r) => setTimeout(r, 400));
    const readAhead = received - before;
    assert.ok(readAhead < 2 * 1024 * 1024, `read ahead ${readAhead} bytes while the client was stalled`);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.length;
    }
    assert.equal(got, 10 * 1024 * 1024);
  });

  test('flush() in PHP reaches the client before the script ends', async () => {
    const t0 = Date.now();
    const a = await call(php, '/flush.php?ms=1500');
    const reader = a.res!.body!.getReader();
    const first = Buffer.from((await reader.read()).value!).toString();
    const t1 = Date.now() - t0;
    assert.equal(first, 'first\n');
    assert.ok(t1 < 1200, `first part after ${t1} ms`);
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += Buffer.from(value).toString();
    }
    assert.equal(rest, 'second\n');
    assert.ok(Date.now() - t0 >= 1400);
  });

  test('PATH_INFO is split at the real script', async () => {
    const d = await json<Dump>(await call(php, '/info.php/a/b%20c/'));
    assert.equal(d.server.SCRIPT_NAME, '/info.php');
    assert.equal(d.server.PATH_INFO, '/a/b c/');
  });

  test('front controller: unknown paths run /index.php with the original REQUEST_URI', async () => {
    const d = await json(await call(php, '/blog/2024/hello-world?page=2'));
    assert.deepEqual(d, { front: true, uri: '/blog/2024/hello-world?page=2', script: '/index.php', path_info: null });
  });

  test('a directory runs its index.php after a redirect to the slash form', async () => {
    const r = await call(php, '/sub?x=1');
    assert.equal(r.status, 308);
    assert.equal(r.headers.get('location'), '/sub/?x=1');
    assert.equal(await text(await call(php, '/sub/')), 'sub index /sub/index.php');
  });

  test('split-path attack: /uploads/a.jpg/x.php never executes a.jpg', async () => {
    const a = await call(php, '/uploads/a.jpg/x.php');
    const body = await text(a);
    assert.doesNotMatch(body, /PWNED/);
    assert.equal((JSON.parse(body) as { script: string }).script, '/index.php');
    const noFront = fastcgi({ upstream: fpm.upstream, root: docroot, frontController: false });
    try {
      const b = await call(noFront, '/uploads/a.jpg/x.php');
      assert.equal(b.status, 404);
      assert.doesNotMatch(await text(b), /PWNED/);
    } finally {
      noFront.close();
    }
  });

  test('PHP source is never served: scripts run, look-alikes are refused, static files are static', async () => {
    assert.equal(await text(await call(php, '/hello.php')), 'Hello, World!');
    const caps = await call(php, '/CAPS.PHP');
    assert.equal(caps.status, 403);
    assert.doesNotMatch(await text(caps), /<\?php/);
    const txt = await call(php, '/static.txt');
    assert.equal(txt.status, 200);
    assert.equal(await text(txt), 'plain text file\n');
    const dir = await call(php, '/static-dir/');
    assert.match(await text(dir), /static dir/);
  });

  test('scripts follow the dotfile rule of static files: a dot-directory is 403, /.well-known/ runs', async () => {
    const hidden = await call(php, '/.private/run.php');
    assert.equal(hidden.status, 403);
    assert.doesNotMatch(await text(hidden), /ran/);
    assert.equal(await text(await call(php, '/.well-known/probe.php')), 'well-known script ran');
    const ignoring = fastcgi({ upstream: fpm.upstream, root: docroot, static: { dotfiles: 'ignore' } });
    try {
      assert.equal((await call(ignoring, '/.private/run.php')).headers.get('x-next'), '1');
    } finally {
      ignoring.close();
    }
  });

  test('a script writing to stderr is logged, and the response is unaffected', async () => {
    const lines: string[] = [];
    const { createLogger } = await import('../../src/log/logger.ts');
    const log = createLogger('warn', { write: (s: string) => lines.push(s) });
    const a = await call(php, '/warn.php', {}, { log });
    assert.equal(await text(a), 'ok');
    assert.ok(
      lines.some((l) => l.includes('a warning from the script')),
      lines.join('\n'),
    );
  });

  test('backend header validation: bad names and control characters are a 502, valid ones pass', async () => {
    const cases: Array<[string, number]> = [
      ['Foo: bar', 200],
      ['Foo: b\tar', 200],
      ['Foo: b\x01ar', 502],
    ];
    for (const [line, status] of cases) {
      const a = await call(php, `/send_hdr.php?${Buffer.from(line).toString('base64')}`);
      assert.equal(a.status, status, JSON.stringify(line));
      if (a.res) await a.res.arrayBuffer();
    }
  });

  test('X-Sendfile and X-Accel-Redirect serve the file, never the header, contained to the sendfile root', async () => {
    const a = await call(php, `/sendfile.php?path=${encodeURIComponent(`${privateDir}/secret.txt`)}`);
    assert.equal(a.status, 200);
    assert.equal(await text(a), 'secret file contents\n');
    assert.equal(a.headers.get('x-sendfile'), null);
    assert.equal(a.headers.get('content-disposition'), 'attachment; filename="secret.txt"');
    const b = await call(php, '/sendfile.php?mode=accel&f=secret.txt', { headers: { range: 'bytes=0-5' } });
    assert.equal(b.status, 206);
    assert.equal(await text(b), 'secret');
    const c = await call(php, `/sendfile.php?path=${encodeURIComponent('/etc/passwd')}`);
    assert.equal(c.status, 404);
    const d = await call(php, '/sendfile.php?mode=accel&f=../docroot/hello.php');
    assert.equal(d.status, 404);
  });
});

describe('fastcgi gateway failures against php-fpm', { skip: skipWithoutPhpFpm }, () => {
  test('a slow script is a 504 after readTimeout', async () => {
    const fpm = await startPhpFpm({ children: 2 });
    const php = fastcgi({ upstream: fpm.upstream, root: docroot, readTimeout: 300 });
    try {
      const t0 = Date.now();
      const a = await call(php, '/slow.php?ms=2000');
      assert.equal(a.status, 504);
      assert.ok(Date.now() - t0 < 1500);
      assert.equal(await text(await call(php, '/hello.php')), 'Hello, World!');
    } finally {
      php.close();
      await fpm.stop();
    }
  });

  test('php-fpm down is a quick 502, and service recovers when it is back', async () => {
    const fpm = await startPhpFpm({ children: 2 });
    const php = fastcgi({ upstream: fpm.upstream, root: docroot });
    try {
      assert.equal((await call(php, '/hello.php')).status, 200);
      await fpm.kill();
      const t0 = Date.now();
      const down = await call(php, '/hello.php');
      assert.equal(down.status, 502);
      assert.ok(Date.now() - t0 < 1000);
      await fpm.start();
      assert.equal(await text(await call(php, '/hello.php')), 'Hello, World!');
    } finally {
      php.close();
      await fpm.stop();
    }
  });

  test('a connection recycled by php-fpm (pm.max_requests) is retried on a fresh one', async () => {
    const fpm = await startPhpFpm({ children: 1, maxRequests: 1 });
    const php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const a = await call(php, '/hello.php');
        assert.equal(a.status, 200, `request ${i}`);
        assert.equal(await text(a), 'Hello, World!');
      }
    } finally {
      php.close();
      await fpm.stop();
    }
  });

  test('POSTs survive php-fpm recycling its children (pm.max_requests)', async () => {
    const fpm = await startPhpFpm({ children: 1, maxRequests: 1 });
    const php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: 1 });
    try {
      for (let i = 0; i < 10; i++) {
        const a = await call(php, '/info.php', {
          method: 'POST',
          body: `n=${i}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(`n=${i}`.length) },
        });
        assert.equal(a.status, 200, `POST ${i}`);
        assert.deepEqual((await json<Dump>(a)).post, { n: String(i) });
      }
    } finally {
      php.close();
      await fpm.stop();
    }
  });

  test('php-fpm dying mid-response errors the body: never a truncated body presented as complete', async () => {
    const fpm = await startPhpFpm({ children: 2 });
    const php = fastcgi({ upstream: fpm.upstream, root: docroot });
    try {
      const a = await call(php, '/die-mid.php');
      assert.equal(a.status, 200);
      await assert.rejects(a.res!.arrayBuffer());
      assert.equal((await call(php, '/hello.php')).status, 200);
    } finally {
      php.close();
      await fpm.stop();
    }
  });

  test('a full wait queue is a 503 with Retry-After', async () => {
    const fpm = await startPhpFpm({ children: 1 });
    const php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: 1, maxQueue: 1, retryAfter: 2 });
    try {
      const until = async (cond: () => boolean) => {
        for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
      };
      const slow = call(php, '/slow.php?ms=600');
      await until(() => php.stats.open === 1);
      const queued = call(php, '/hello.php');
      await until(() => php.stats.waiting === 1);
      const refused = await call(php, '/hello.php');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '2');
      assert.equal((await slow).status, 200);
      assert.equal(await text(await queued), 'Hello, World!');
    } finally {
      php.close();
      await fpm.stop();
    }
  });

  test('a client that goes away aborts the request and frees the connection', async () => {
    const fpm = await startPhpFpm({ children: 1 });
    const php = fastcgi({ upstream: fpm.upstream, root: docroot, maxConnections: 1 });
    try {
      const { createContext } = await import('../../src/testing.ts');
      const ctx = createContext();
      const pending = php(
        new Request('http://localhost/slow.php?ms=500'),
        ctx,
        async () => new Response(null, { status: 404 }),
      );
      setTimeout(() => ctx.abort(), 50);
      await assert.rejects(Promise.resolve(pending));
      assert.equal(php.stats.open, 0);
      const a = await call(php, '/hello.php');
      assert.equal(await text(a), 'Hello, World!');
    } finally {
      php.close();
      await fpm.stop();
    }
  });
});
