// The static handler behind the real engine, driven with raw request bytes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeSegment } from '../../src/analysis/target-path.ts';
import { staticFiles } from '../../src/handlers/static/index.ts';
import type { Server } from '../../src/server.ts';
import { serve } from '../../src/server.ts';
import type { Tree } from './helpers.ts';
import { HOSTILE_NAMES, makeTree, TRAVERSAL_BATTERY } from './helpers.ts';
import { parseResponses, rawExchange, rawGet } from '../helpers/raw-client.ts';

let t: Tree;
let server: Server;
let port: number;

before(async () => {
  t = makeTree();
  server = await serve({ fetch: staticFiles(t.root), port: 0, host: '127.0.0.1', logLevel: 'silent' });
  port = server.address.port;
});
after(async () => {
  await server.close();
  t.cleanup();
});

describe('path traversal battery over a raw socket', () => {
  for (const [target, statuses] of TRAVERSAL_BATTERY) {
    test(`refuses ${JSON.stringify(target)} without leaking`, async () => {
      const r = await rawGet(port, target);
      assert.ok(statuses.includes(r.status), `${target} → ${r.status}`);
      assert.doesNotMatch(r.body.toString('latin1'), /secret/i);
    });
  }
  test('a raw NUL byte in the target never reaches the disk', async () => {
    const buf = await rawExchange(
      port,
      Buffer.from('GET /a.txt\0.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1'),
    );
    const r = parseResponses(buf)[0];
    assert.equal(r?.status ?? 400, 400);
  });
  test('a second spelling of a file redirects to its canonical path, query kept', async () => {
    // Dot segments are gone from req.url already (WHATWG); empty segments are left to the files.
    for (const target of ['//a.txt?q=1', '///a.txt?q=1', '/.//a.txt?q=1', '/sub/..//a.txt?q=1']) {
      const r = await rawGet(port, target);
      assert.equal(r.status, 308, target);
      assert.equal(r.headers['location'], '/a.txt?q=1', target);
    }
  });
});

describe('files over the wire', () => {
  test('hostile names are served when requested percent-encoded', async () => {
    for (const name of HOSTILE_NAMES) {
      const r = await rawGet(port, `/${encodeSegment(name)}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.body.toString(), `content of ${name}\n`);
    }
  });
  test('a raw # or ? in the target is not part of the name', async () => {
    // A raw `#` is not allowed in a request-target at all: the engine may refuse it first.
    assert.ok([400, 404].includes((await rawGet(port, '/hash#tag.txt')).status));
    assert.equal((await rawGet(port, '/what?.txt')).status, 404);
  });
  test('a large file streams intact with its Content-Length', async () => {
    const r = await rawGet(port, '/big.bin');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(t.bigBin.length));
    assert.ok(r.body.equals(t.bigBin));
  });
  test('HEAD of a large file sends headers only', async () => {
    const buf = await rawExchange(port, 'HEAD /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const text = buf.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, new RegExp(`content-length: ${t.bigBin.length}`, 'i'));
    assert.ok(text.endsWith('\r\n\r\n'));
  });
  test('pipelined requests for cached, streamed and ranged files come back in order', async () => {
    const reqs = ['/a.txt', '/big.bin', '/style.css', '/a.txt'];
    let raw = reqs.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
    raw += 'GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1-2\r\nConnection: close\r\n\r\n';
    const rs = parseResponses(await rawExchange(port, raw));
    assert.deepEqual(
      rs.map((r) => r.status),
      [200, 200, 200, 200, 206],
    );
    assert.ok(rs[1]!.body.equals(t.bigBin));
    assert.equal(rs[2]!.body.toString(), t.css);
    assert.equal(rs[4]!.body.toString(), 'el');
  });
  test('a directory redirect keeps the query and a 304 carries no body', async () => {
    const r = await rawGet(port, '/docs?x=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/docs/?x=1');
    const first = await rawGet(port, '/a.txt');
    const nm = await rawGet(port, '/a.txt', `If-None-Match: ${first.headers.etag}\r\n`);
    assert.equal(nm.status, 304);
    assert.equal(nm.body.length, 0);
  });
  test('a malformed escape is a 400, not a 500', async () => {
    assert.equal((await rawGet(port, '/%zz')).status, 400);
    assert.equal((await rawGet(port, '/%')).status, 400);
  });
});

describe("a file's shared headers behind the engine", () => {
  test("a layer that changes one response's headers changes no other response of the file (200, HEAD, 304)", async () => {
    const files = staticFiles(t.root);
    const tagged = await serve({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      fetch: async (req, ctx) => {
        const res = await files(req, ctx, () => Promise.resolve(new Response('none', { status: 404 })));
        if (new URL(req.url).searchParams.has('tag')) {
          res.headers.set('x-tag', 'one');
          res.headers.delete('etag');
        }
        return res;
      },
    });
    try {
      const p = tagged.address.port;
      const first = await rawGet(p, '/a.txt');
      const etag = first.headers['etag'];
      assert.ok(etag);
      const changed = await rawGet(p, '/a.txt?tag');
      assert.equal(changed.headers['x-tag'], 'one');
      assert.equal(changed.headers['etag'], undefined);
      for (const [method, extra] of [
        ['GET', ''],
        ['HEAD', ''],
        ['GET', `If-None-Match: ${etag}\r\n`],
      ] as const) {
        await rawGet(p, '/a.txt?tag', extra, method);
        const r = await rawGet(p, '/a.txt', extra, method);
        assert.equal(r.status, extra === '' ? 200 : 304);
        assert.equal(r.headers['x-tag'], undefined, `${method} ${extra}`);
        assert.equal(r.headers['etag'], etag, `${method} ${extra}`);
      }
    } finally {
      await tagged.close();
    }
  });
});
