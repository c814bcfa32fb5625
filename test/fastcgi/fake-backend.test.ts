// The client, pool and gateway against an in-memory FastCGI backend: protocol statuses, malformed
// responses and lifecycle cases that php-fpm cannot be made to produce on demand.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { kKeptUrl } from '../../src/handlers/fastcgi/gateway.ts';
import { fastcgi } from '../../src/handlers/fastcgi/index.ts';
import { decodeParams } from '../../src/handlers/fastcgi/name-value.ts';
import {
  ABORT_REQUEST,
  BEGIN_REQUEST,
  encodeRecords,
  END_REQUEST,
  PARAMS,
  STDIN,
  STDOUT,
} from '../../src/handlers/fastcgi/record.ts';
import { RecordDecoder } from '../../src/handlers/fastcgi/record-decoder.ts';
import { joinSegments } from '../../src/analysis/target-path.ts';
import { nodeFs } from '../../src/os/file-system.ts';
import { createContext } from '../../src/testing.ts';
import { call, text } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'foyer-fcgi-fake-'));
writeFileSync(join(root, 'app.php'), '<?php');
writeFileSync(join(root, 'b.php'), '<?php');
mkdirSync(join(root, 'dir'));
writeFileSync(join(root, 'dir', 'index.php'), '<?php');
mkdirSync(join(root, '.git'));
writeFileSync(join(root, '.git', 'x.php'), '<?php');
after(() => rmSync(root, { recursive: true, force: true }));

function pair(): [Duplex, Duplex] {
  let a!: Duplex;
  let b!: Duplex;
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        const o = other();
        if (o.destroyed) return cb(Object.assign(new Error('EPIPE'), { code: 'EPIPE' }));
        o.push(chunk);
        cb();
      },
      final(cb) {
        other().push(null);
        cb();
      },
      destroy(err, cb) {
        const o = other();
        if (!o.destroyed) o.push(null);
        cb(err);
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}

interface Seen {
  params: Map<string, string>;
  stdin: Buffer;
  keepConn: boolean;
}

type Script = (seen: Seen, reply: (bytes: Uint8Array) => void, end: () => void) => void;

const stdout = (s: string | Uint8Array) => encodeRecords(STDOUT, 1, typeof s === 'string' ? Buffer.from(s) : s);
const endRequest = (protocolStatus = 0) =>
  encodeRecords(END_REQUEST, 1, Uint8Array.from([0, 0, 0, 0, protocolStatus, 0, 0, 0]));

/** A backend that answers each request on a connection with `script`; counts connections and aborts. */
function fakeBackend(script: Script) {
  const stats = { connections: 0, aborts: 0, requests: 0 };
  const connect = async (): Promise<Duplex> => {
    const [client, server] = pair();
    stats.connections++;
    let params: Buffer[] = [];
    let stdin: Buffer[] = [];
    let keepConn = false;
    const dec = new RecordDecoder({
      onStream() {},
      onRecord(type, _id, content) {
        if (type === BEGIN_REQUEST) keepConn = (content[2]! & 1) === 1;
        else if (type === PARAMS) params.push(Buffer.from(content));
        else if (type === ABORT_REQUEST) stats.aborts++;
        else if (type === STDIN) {
          if (content.length > 0) return void stdin.push(Buffer.from(content));
          stats.requests++;
          const seen = { params: new Map(decodeParams(Buffer.concat(params))), stdin: Buffer.concat(stdin), keepConn };
          params = [];
          stdin = [];
          script(
            seen,
            (bytes) => server.write(bytes),
            () => server.destroy(),
          );
        }
      },
    });
    server.on('data', (d: Buffer) => dec.push(d));
    return client;
  };
  return { connect, stats };
}

describe('fastcgi gateway against a scripted backend', () => {
  test("a directory's redirect to its slash form is encoded as a URL path", async () => {
    // The resolved path is decoded: put in Location as it was, `日本` was a 500 (no valid field
    // value), `a b` an invalid URL, and `100%` or `q?x` named other resources.
    const names: Array<[string, string]> = [
      ['a b', '/a%20b/'],
      ['100%', '/100%25/'],
      ['q?x', '/q%3Fx/'],
      ['日本', '/%E6%97%A5%E6%9C%AC/'],
    ];
    for (const [name] of names) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, 'index.php'), '<?php');
    }
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fakeBackend(() => {}).connect });
    try {
      for (const [name, location] of names) {
        const r = await call(php, `${joinSegments([name], false)}?x=1`);
        assert.equal(r.status, 308, name);
        assert.equal(r.headers.get('location'), `${location}?x=1`, name);
      }
    } finally {
      php.close();
    }
  });

  test('OVERLOADED is a 503 with Retry-After; CANT_MPX_CONN and UNKNOWN_ROLE are 502', async () => {
    for (const [status, expected] of [
      [2, 503],
      [1, 502],
      [3, 502],
    ] as const) {
      const fake = fakeBackend((_s, reply) => reply(endRequest(status)));
      const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect });
      const a = await call(php, '/app.php');
      assert.equal(a.status, expected, `protocolStatus ${status}`);
      if (expected === 503) assert.equal(a.headers.get('retry-after'), '1');
      php.close();
    }
  });

  test('upstream failures are counted by kind; a success counts nothing', async () => {
    const overloaded = fastcgi({
      upstream: '127.0.0.1:9',
      root,
      connect: fakeBackend((_s, reply) => reply(endRequest(2))).connect,
    });
    await call(overloaded, '/app.php');
    await call(overloaded, '/app.php');
    assert.equal(overloaded.upstreamErrors.overloaded, 2);
    overloaded.close();
    const bad = fastcgi({
      upstream: '127.0.0.1:9',
      root,
      connect: fakeBackend((_s, reply) => reply(Buffer.concat([stdout(': bar\r\n\r\n'), endRequest()]))).connect,
    });
    await call(bad, '/app.php');
    assert.equal(bad.upstreamErrors.protocol, 1);
    assert.equal(bad.upstreamErrors.overloaded, 0);
    bad.close();
    const fine = fastcgi({
      upstream: '127.0.0.1:9',
      root,
      connect: fakeBackend((_s, reply) => reply(Buffer.concat([stdout('\r\nok'), endRequest()]))).connect,
    });
    assert.equal((await call(fine, '/app.php')).status, 200);
    assert.deepEqual(Object.values(fine.upstreamErrors), [0, 0, 0, 0, 0, 0, 0, 0]);
    fine.close();
    // A real refused connection: a port that was just free.
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const refused = fastcgi({ upstream: `127.0.0.1:${port}`, root });
    assert.equal((await call(refused, '/app.php')).status, 502);
    assert.equal(refused.upstreamErrors.connect, 1);
    refused.close();
  });

  test('an invalid header from the backend is a 502, never passed on', async () => {
    const fake = fakeBackend((_s, reply) =>
      reply(Buffer.concat([stdout('X-Ok: 1\r\n: bar\r\n\r\nbody'), endRequest()])),
    );
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect });
    assert.equal((await call(php, '/app.php')).status, 502);
    php.close();
  });

  test('a response head larger than maxHeadSize is a 502', async () => {
    const fake = fakeBackend((_s, reply) =>
      reply(Buffer.concat([stdout(`X-Big: ${'a'.repeat(5000)}\r\n`), endRequest()])),
    );
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect, maxHeadSize: 1024 });
    assert.equal((await call(php, '/app.php')).status, 502);
    php.close();
  });

  test('records split at every byte still make one response; the connection is kept and reused', async () => {
    const fake = fakeBackend((s, reply) => {
      const bytes = Buffer.concat([
        stdout(`Content-Type: text/plain\r\n\r\nkeep=${s.keepConn}`),
        stdout(''),
        endRequest(),
      ]);
      for (const b of bytes) reply(Uint8Array.of(b));
    });
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect });
    for (let i = 0; i < 3; i++) assert.equal(await text(await call(php, '/app.php')), 'keep=true');
    assert.equal(fake.stats.connections, 1);
    php.close();
  });

  test('a large request body arrives whole on STDIN, in records of at most 65535 bytes', async () => {
    const body = Buffer.alloc(200_000);
    for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
    const fake = fakeBackend((s, reply) =>
      reply(
        Buffer.concat([
          stdout(`X-Len: ${s.stdin.length}\r\nX-Cl: ${s.params.get('CONTENT_LENGTH')}\r\n\r\n`),
          endRequest(),
        ]),
      ),
    );
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect });
    const a = await call(php, '/app.php', { method: 'POST', body, headers: { 'content-length': String(body.length) } });
    assert.equal(a.headers.get('x-len'), '200000');
    assert.equal(a.headers.get('x-cl'), '200000');
    php.close();
  });

  test('death mid-body errors the body stream instead of ending it', async () => {
    const fake = fakeBackend((_s, reply, end) => {
      reply(stdout('Content-Type: text/plain\r\n\r\npartial'));
      // Well after the head was handed on (a 1 ms hold, late on a loaded machine).
      setTimeout(end, 200);
    });
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect });
    const a = await call(php, '/app.php');
    assert.equal(a.status, 200);
    await assert.rejects(a.res!.text());
    php.close();
  });

  test('a body shorter than its Content-Length is a 502, or errors the stream once started', async () => {
    const whole = fakeBackend((_s, reply) =>
      reply(Buffer.concat([stdout('Content-Length: 10\r\n\r\nabc'), endRequest()])),
    );
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: whole.connect });
    assert.equal((await call(php, '/app.php')).status, 502);
    php.close();
    const split = fakeBackend((_s, reply) => {
      reply(stdout('Content-Length: 10\r\n\r\nabc'));
      setTimeout(() => reply(endRequest()), 10);
    });
    const php2 = fastcgi({ upstream: '127.0.0.1:9', root, connect: split.connect });
    const a = await call(php2, '/app.php');
    assert.equal(a.status, 200);
    await assert.rejects(a.res!.text());
    php2.close();
  });

  test('backend stderr is logged line by line and bounded per request', async () => {
    const stderr = (text: string) => encodeRecords(7, 1, Buffer.from(text));
    const fake = fakeBackend((_s, reply) => {
      reply(stderr('first warning\nsecond'));
      reply(stderr(' half\n'));
      for (let i = 0; i < 50; i++) reply(stderr(`${'x'.repeat(1000)}\n`));
      reply(Buffer.concat([stdout('Content-Type: text/plain\r\n\r\nok'), endRequest()]));
    });
    const lines: Array<Record<string, unknown>> = [];
    const { createLogger } = await import('../../src/log/logger.ts');
    const log = createLogger('warn', { write: (l: string) => void lines.push(JSON.parse(l)) });
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect, stderrLimit: 4096 });
    const a = await call(php, '/app.php', {}, { log });
    assert.equal(await text(a), 'ok');
    const logged = lines.filter((l) => l.stderr !== undefined).map((l) => l.stderr as string);
    assert.deepEqual(logged.slice(0, 2), ['first warning', 'second half']);
    const bytes = logged.reduce((n, l) => n + l.length, 0);
    assert.ok(bytes <= 4096, `${bytes} bytes of stderr logged`);
    const truncated = lines.find((l) => l.msg === 'php-fpm stderr truncated');
    assert.ok(truncated && (truncated.droppedBytes as number) > 40_000);
    php.close();
  });

  test('a client abort sends ABORT_REQUEST and drops the connection', async () => {
    const fake = fakeBackend(() => {});
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect });
    const ctx = createContext();
    const p = php(new Request('http://localhost/app.php'), ctx, async () => new Response(null));
    setTimeout(() => ctx.abort(), 20);
    await assert.rejects(Promise.resolve(p));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.stats.aborts, 1);
    assert.equal(php.stats.open, 0);
    php.close();
  });

  test('a reused connection closed by the backend is retried once on a fresh connection', async () => {
    let n = 0;
    const fake = fakeBackend((_s, reply, end) => {
      n++;
      // The second request lands on the kept connection of a child that is going away: it is
      // closed without a byte of response, like a recycled php-fpm child.
      if (n === 2) return end();
      reply(Buffer.concat([stdout(`X-N: ${n}\r\n\r\n`), endRequest()]));
    });
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect });
    assert.equal((await call(php, '/app.php')).status, 200);
    const second = await call(php, '/app.php');
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-n'), '3');
    assert.equal(fake.stats.connections, 2);
    php.close();
  });

  test('a POST whose connection closes without a response is not replayed when nothing proves it was never read', async () => {
    // An in-memory socket cannot say whether the backend read the request (a real unix socket
    // can: recycled-child.test.ts), so however soon the close comes, the POST is a 502, run once.
    let n = 0;
    let closeAfterMs = 0;
    let received = 0;
    const fake = fakeBackend((s, reply, end) => {
      n++;
      received++;
      if (n === 2) {
        setTimeout(end, closeAfterMs);
        return;
      }
      reply(Buffer.concat([stdout(`X-N: ${n}\r\nX-Body: ${s.stdin.toString()}\r\n\r\n`), endRequest()]));
    });
    const post = () => call(php, '/app.php', { method: 'POST', body: 'x=1', headers: { 'content-length': '3' } });
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect });
    for (const after of [0, 120]) {
      n = 0;
      received = 0;
      closeAfterMs = after;
      assert.equal((await post()).status, 200);
      assert.equal((await post()).status, 502, `closed after ${after} ms`);
      assert.equal(received, 2);
    }
    php.close();
  });
  test('concurrent requests for a script not yet resolved share one resolution', async () => {
    const fake = fakeBackend((_s, reply) => reply(Buffer.concat([stdout('X-A: 1\r\n\r\nok'), endRequest()])));
    let stats = 0;
    const fs = {
      ...nodeFs,
      stat: (path: string) => {
        if (path.endsWith('app.php')) stats++;
        return nodeFs.stat(path);
      },
    };
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fake.connect, fs });
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(php, '/app.php?x=1')));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(8).fill(200),
    );
    assert.equal(stats, 1);
    php.close();
  });

  test('URLs in any order reach the same script, path and query as each would from a fresh gateway', async () => {
    // The gateway keeps the last query-less URL's analysis (gateway.ts): it must never answer one
    // URL with another's script, or let a URL skip the dotfile, escape or redirect rules.
    const echo = (s: Seen, reply: (b: Uint8Array) => void) => {
      const vars = ['SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'REQUEST_URI'].map(
        (k) => `${k}=${s.params.get(k) ?? ''}`,
      );
      reply(Buffer.concat([stdout(`Content-Type: text/plain\r\n\r\n${vars.join('&')}`), stdout(''), endRequest()]));
    };
    const urls = fc.constantFrom(
      '/app.php',
      '/b.php',
      '/app.php?x=1',
      '/app.php?',
      '/app.php/extra/path',
      '/%61pp.php',
      '/app%2ephp',
      '/dir/',
      '/dir',
      '/dir/index.php',
      '/.git/x.php',
      '/x/../app.php',
      '/missing.php',
      '/app.php%2fx',
    );
    const outcome = async (php: ReturnType<typeof fastcgi>, url: string) => {
      const a = await call(php, url);
      return `${a.status} ${a.headers.get('location') ?? ''} ${a.res ? await a.res.text() : ''}`;
    };
    const kept = fastcgi({ upstream: '127.0.0.1:9', root, connect: fakeBackend(echo).connect });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(urls, { minLength: 1, maxLength: 6 }), async (seq) => {
          for (const url of seq) {
            const fresh = fastcgi({ upstream: '127.0.0.1:9', root, connect: fakeBackend(echo).connect });
            try {
              assert.equal(await outcome(kept, url), await outcome(fresh, url), url);
            } finally {
              fresh.close();
            }
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      kept.close();
    }
  });

  test('the URL memo never holds a query, a fragment, a long URL, or anything when paths are not cached', async () => {
    const echo = (_s: Seen, reply: (b: Uint8Array) => void) =>
      reply(Buffer.concat([stdout('Content-Type: text/plain\r\n\r\nok'), stdout(''), endRequest()]));
    const kept = (php: ReturnType<typeof fastcgi>) => (php as unknown as Record<symbol, unknown>)[kKeptUrl];
    const php = fastcgi({ upstream: '127.0.0.1:9', root, connect: fakeBackend(echo).connect });
    try {
      await call(php, '/app.php');
      assert.equal(kept(php), 'http://localhost/app.php');
      // An app's own Request may carry a fragment; either part may carry a token.
      for (const url of ['/app.php?token=secret', '/app.php#access_token=secret', `/app.php/${'x'.repeat(3000)}`]) {
        await call(php, url);
        assert.equal(kept(php), 'http://localhost/app.php', url.slice(0, 40));
      }
    } finally {
      php.close();
    }
    const uncached = fastcgi({ upstream: '127.0.0.1:9', root, connect: fakeBackend(echo).connect, cacheTtl: 0 });
    try {
      await call(uncached, '/app.php');
      assert.equal(kept(uncached), undefined);
    } finally {
      uncached.close();
    }
  });
});
