// An app guard in front of PHP, through the real CLI: `foyer serve root --app guard.ts --php ADDR`
// with a Hono `basicAuth('/admin/*')` and a real php-fpm. Every spelling of the guarded script
// is sent as raw bytes (a URL library would normalise it first and hide the attack); none may
// run it without credentials, whatever layer decides: the guard (401), the target analysis (400),
// or a redirect to the canonical name (308), which the guard then checks.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { exchange } from '../helpers/raw-client.ts';
import { skipWithoutPhpFpm, startPhpFpm } from './helpers.ts';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const guarded = fileURLToPath(new URL('../fixtures/php/guarded', import.meta.url));
const guard = fileURLToPath(new URL('../fixtures/php/guard.ts', import.meta.url));
const CREDENTIALS = `Basic ${Buffer.from('admin:pw').toString('base64')}`;

const SPELLINGS = [
  '/admin/secret.php',
  '/x/../admin/secret.php',
  '/%2e%2e/admin/secret.php',
  '/%2E%2e/admin/secret.php',
  '/admin/%2E/secret.php',
  '/x/%2E%2E/admin/secret.php',
  '/./admin/secret.php',
  '//admin/secret.php',
  '///admin/secret.php',
  '/admin//secret.php',
  '/admin%2fsecret.php',
  '/admin%2Fsecret.php',
  '/admin%5csecret.php',
  '/ADMIN/secret.php',
  '/admin/secret.php/',
  '/admin/secret.php/x',
  '/admin/secret.php%00',
  '/admin/secret%2ephp',
  '/%61dmin/secret.php',
  'http://a/x/../admin/secret.php',
];

interface Reply {
  status: number;
  location: string | undefined;
  /** Which script ran, from its own response header: 'secret', 'front' or ''. */
  ran: string;
  body: string;
}

/** One request as raw bytes on its own connection, half-closed; the reply is read until the server closes. */
async function send(port: number, method: string, target: string, headers = '', body = ''): Promise<Reply> {
  const raw = `${method} ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${headers}\r\n${body}`;
  const { text, closed } = await exchange(port, raw, { halfClose: true, quietMs: 10_000 });
  if (!closed) throw new Error(`no reply to ${target}`);
  const end = text.indexOf('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const head = text.slice(0, end);
  const location = /\r\nlocation: ([^\r]*)/i.exec(head)?.[1];
  const ran = /\r\nx-secret:/i.test(head) ? 'secret' : /\r\nx-front:/i.test(head) ? 'front' : '';
  return { status, location, ran, body: text.slice(end + 4) };
}

describe('an app in front of PHP through the CLI', { skip: skipWithoutPhpFpm }, () => {
  let fpm: PhpFpmProcess;
  let child: ChildProcess;
  let port: number;

  before(async () => {
    fpm = await startPhpFpm({ children: 2 });
    child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, 'serve', guarded, '--app', guard, '--php', fpm.upstream, '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    let out = '';
    let err = '';
    child.stderr?.on('data', (c) => (err += c));
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready: ${err}`)), 20_000);
      child.stdout?.on('data', (c) => {
        out += c;
        const m = /foyer listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
  });
  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await fpm?.stop();
  });

  test('the guarded script runs with credentials and is refused without', async () => {
    const ok = await send(port, 'GET', '/admin/secret.php', `Authorization: ${CREDENTIALS}\r\n`);
    assert.equal(ok.status, 200);
    assert.equal(ok.ran, 'secret');
    assert.equal(ok.body, 'SECRET /admin/secret.php');
    assert.equal((await send(port, 'GET', '/admin/secret.php')).status, 401);
  });

  for (const method of ['GET', 'HEAD', 'POST']) {
    test(`no spelling of the guarded script runs it without credentials (${method})`, async () => {
      for (const target of SPELLINGS) {
        const r = await send(port, method, target, method === 'POST' ? 'Content-Length: 0\r\n' : '');
        const what = `${method} ${target} → ${r.status} ${r.ran} ${r.body.slice(0, 60)}`;
        assert.notEqual(r.ran, 'secret', what);
        assert.doesNotMatch(r.body, /SECRET/, what);
        assert.ok([400, 401, 404, 405, 308].includes(r.status) || r.ran === 'front', what);
        if (r.status === 308) {
          // The canonical name the redirect gives is one the guard checks.
          assert.ok(r.location?.startsWith('/') && !r.location.startsWith('//'), what);
          const again = await send(port, method, r.location!);
          assert.notEqual(again.ran, 'secret', `${what} → ${r.location}`);
          assert.ok([401, 404].includes(again.status) || again.ran === 'front', `${what} → ${again.status}`);
        }
      }
    });
  }

  test('a target with dot segments is redirected to its one name before PHP could read it as REQUEST_URI', async () => {
    // WHATWG removed the dot segments from req.url, so the guard on /admin/* saw `/form` and let it
    // by; REQUEST_URI is the raw target, so a PHP router used to route `/admin/../form` as /admin.
    const cases: Array<[string, string]> = [
      ['/admin/../form', '/form'],
      ['/admin/%2e%2e/form', '/form'],
      ['/admin/.%2E/form?x=1', '/form?x=1'],
      ['/admin/./../form', '/form'],
      ['/admin/..', '/'],
    ];
    for (const [target, location] of cases) {
      const r = await send(port, 'GET', target);
      assert.deepEqual([r.status, r.location, r.ran], [308, location, ''], target);
    }
    // The canonical name itself still reaches the front controller, REQUEST_URI as sent.
    assert.equal((await send(port, 'GET', '/form?x=1')).body, 'front GET /form?x=1 ');
  });

  test('OPTIONS * (about the server, not a resource) never runs the front controller', async () => {
    const r = await send(port, 'OPTIONS', '*');
    assert.equal(r.ran, '');
    assert.doesNotMatch(r.body, /front/);
  });

  test('a request with a body the app does not route reaches PHP with its body, whatever the method', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const r = await send(port, method, '/form?x=1', 'Content-Length: 5\r\n', 'a=b&c');
      assert.equal(r.status, 200, method);
      assert.equal(r.body, `front ${method} /form?x=1 a=b&c`);
    }
  });

  test('a request whose body the app read stays with the app answer', async () => {
    const r = await send(port, 'POST', '/read-then-miss', 'Content-Length: 5\r\n', 'a=b&c');
    assert.equal(r.status, 404);
    assert.equal(r.ran, '');
  });
});
