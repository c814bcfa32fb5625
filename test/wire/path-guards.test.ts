// Access checks in apps see the same path every other layer serves: a guard on `/admin/*` in an
// unmodified Hono app (basicAuth) and in a Foyer App holds for every spelling of that path, sent
// as raw bytes (a URL library would normalise them away before the server saw them).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { App } from '../../src/handlers/app/app.ts';
import { compose } from '../../src/handlers/app/compose.ts';
import { staticFiles } from '../../src/handlers/static/index.ts';
import type { Middleware } from '../../src/types.ts';
import type { Server } from '../../src/server.ts';
import { exchange, firstResponse } from '../helpers/raw-client.ts';
import { start } from '../helpers/loopback-server.ts';

/** Spellings of /admin/secret that a server which normalises only in its file layer would serve. */
const SPELLINGS = [
  '/admin/secret',
  '/x/../admin/secret',
  '/%2e%2e/admin/secret',
  '/x/%2e%2e/admin/secret',
  '/x/%2E%2e/admin/secret',
  '/x/.%2e/admin/secret',
  '/./admin/secret',
  '/admin/./secret',
  '/admin/x/../secret',
  '/admin/secret/.',
  '/admin/%2e/secret',
  'http://127.0.0.1/x/../admin/secret',
  '/a/b/../../admin/secret',
  '/admin//secret',
  '/%61dmin/secret',
];

function honoGuarded(): Hono {
  const app = new Hono();
  app.use('/admin/*', basicAuth({ username: 'u', password: 'p' }));
  // A catch-all stands for what the file layers would serve under the same name.
  app.get('*', (c) => c.text(`served ${new URL(c.req.url).pathname}`));
  return app;
}

function foyerGuarded(): App {
  const app = new App();
  const served = (req: Request) => new Response(`served ${new URL(req.url).pathname}`);
  app.all('/admin/*', () => new Response('no', { status: 401 }));
  app.get('/*', served);
  return app;
}

for (const [name, make] of [
  ['an unmodified Hono app', () => honoGuarded().fetch],
  ['a Foyer App', () => foyerGuarded().fetch],
] as const) {
  describe(`a guard on /admin/* in ${name}`, () => {
    let server: Server;
    before(async () => {
      server = await start(make() as never);
    });
    after(() => server.close());

    for (const target of SPELLINGS) {
      test(`holds for ${target}`, async () => {
        const r = await exchange(
          server.address.port,
          `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
          { quietMs: 10_000 },
        );
        const res = firstResponse(r.text);
        // Refused by the parser (400), or reached the guard (401): never served unguarded.
        assert.ok(res.status === 401 || res.status === 400, `${target} → ${res.status} ${res.body}`);
      });
    }

    test('the guard lets the right credentials through, on the normalised path', async () => {
      const auth = Buffer.from('u:p').toString('base64');
      const r = await exchange(
        server.address.port,
        `GET /x/../admin/secret HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${auth}\r\nConnection: close\r\n\r\n`,
        { quietMs: 10_000 },
      );
      const res = firstResponse(r.text);
      if (name === 'an unmodified Hono app') {
        assert.equal(res.status, 200);
        assert.match(res.body, /served \/admin\/secret/);
      }
    });
  });
}

describe('a guard written on new URL(req.url).pathname, in front of static files', () => {
  // The guard sees exactly what WHATWG makes of the target; the file layer must not serve a file
  // under a spelling the guard could not recognise (an escaped letter: `/%61dmin` is `/admin`).
  let server: Server;
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'foyer-guard-'));
    mkdirSync(join(root, 'admin'));
    writeFileSync(join(root, 'admin', 'secret.txt'), 'the secret\n');
    const guard: Middleware = (req, _ctx, next) =>
      new URL(req.url).pathname.startsWith('/admin') ? new Response('no', { status: 401 }) : next();
    server = await start(compose(guard, staticFiles(root)));
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  for (const target of [...SPELLINGS.map((s) => `${s}.txt`), '/admin/secre%74.txt', '/%41dmin/secret.txt']) {
    test(`the file is never served for ${target}`, async () => {
      const r = await exchange(
        server.address.port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
        { quietMs: 10_000 },
      );
      const res = firstResponse(r.text);
      assert.doesNotMatch(res.body, /the secret/, `${target} → ${res.status}`);
      if (res.status === 308) assert.match(r.text, /\r\nlocation: \/admin\/secret\.txt\r\n/i);
    });
  }
});
