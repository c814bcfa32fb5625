// Response splitting: a header value that is not a valid field-value must never reach the wire.
// Values with code points above 0xFF are the subtle ones: written as latin1, U+010D and U+010A
// would become CR and LF. Every shape a handler can give headers in, every status whose framing
// differs (redirect, 204, 304, HEAD), must end in one 500 and keep the connection's next request.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { redirect } from '../../src/handlers/app/respond.ts';
import type { Server } from '../../src/server.ts';
import { exchange, firstResponse, statuses } from '../helpers/raw-client.ts';
import { start } from '../helpers/loopback-server.ts';

const EVIL = [
  '/x\u010d\u010aSet-Cookie: evil=1',
  '/x\r\nSet-Cookie: evil=1',
  '/x\u0000',
  '/x\u2028Set-Cookie: evil=1',
  '/x\ud800',
  '/x\u007f',
];
const SHAPES = ['object', 'array', 'headers', 'set', 'append'] as const;
const STATUSES = [200, 204, 302, 304];

function respond(shape: (typeof SHAPES)[number], status: number, value: string): Response {
  switch (shape) {
    case 'object':
      return new Response(null, { status, headers: { location: value } });
    case 'array':
      return new Response(null, { status, headers: [['location', value]] });
    case 'headers':
      return new Response(null, { status, headers: new Headers({ location: value }) });
    case 'set': {
      const r = new Response(null, { status });
      r.headers.set('location', value);
      return r;
    }
    case 'append': {
      const r = new Response(null, { status });
      r.headers.append('location', value);
      return r;
    }
  }
}

describe('response splitting through header values', () => {
  let server: Server;
  before(async () => {
    server = await start((req) => {
      const u = new URL(req.url);
      if (u.pathname === '/next') return new Response('next');
      const value = EVIL[Number(u.searchParams.get('v'))]!;
      if (u.pathname === '/redirect') return redirect(value);
      return respond(u.searchParams.get('shape') as (typeof SHAPES)[number], Number(u.searchParams.get('s')), value);
    });
  });
  after(() => server.close(500));

  test('a value outside field-value from any header path is a 500, one response, connection kept', async () => {
    for (const shape of SHAPES)
      for (const s of STATUSES)
        for (const method of ['GET', 'HEAD'])
          for (let v = 0; v < EVIL.length; v++) {
            const r = await exchange(
              server.address.port,
              `${method} /h?shape=${shape}&s=${s}&v=${v} HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n`,
              { halfClose: true, quietMs: 5000 }, // the server answers both, then closes
            );
            const where = `${method} ${shape} ${s} ${JSON.stringify(EVIL[v])}`;
            assert.deepEqual(statuses(r.text), [500, 200], where);
            assert.doesNotMatch(r.text, /evil|\u010d|\u010a/i, where);
            assert.ok(r.text.endsWith('next'), where);
          }
  });

  test('redirect() percent-encodes a non-ASCII location and refuses CR, LF and NUL', async () => {
    for (let v = 0; v < EVIL.length; v++) {
      const r = await exchange(
        server.address.port,
        `GET /redirect?v=${v} HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      assert.equal(statuses(r.text).length, 2, JSON.stringify(EVIL[v]));
      assert.doesNotMatch(r.text, /^set-cookie/im);
    }
    const first = firstResponse(
      (await exchange(server.address.port, 'GET /redirect?v=0 HTTP/1.1\r\nHost: x\r\n\r\n')).text,
    );
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('location'), '/x%C4%8D%C4%8ASet-Cookie: evil=1');
  });
});
