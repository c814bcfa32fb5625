// A real PHP application we did not write, from Debian's packages: Adminer (apt-get install
// adminer) on an SQLite database, through Foyer over the wire: browse, log in, post forms.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FastCgiMiddleware, fastcgi } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { type Server, serve } from '../../src/server.ts';
import { skipWithoutPhpFpm, startPhpFpm } from './helpers.ts';

const ADMINER = '/usr/share/adminer';
const skip =
  skipWithoutPhpFpm ||
  (existsSync(join(ADMINER, 'adminer.php')) && existsSync(join(ADMINER, 'plugins/login-password-less.php'))
    ? false
    : 'adminer not installed (apt-get install adminer php-sqlite3)');

/** A browser's minimum: a cookie jar and manual redirects. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string }> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(new URL(path, this.base), { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === 'deleted' || /expires=Thu, 01[- ]Jan[- ]1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  /** Follows redirects like a browser (303/302 → GET). */
  async go(path: string, init: RequestInit = {}) {
    let r = await this.request(path, init);
    for (let i = 0; i < 5 && r.status >= 300 && r.status < 400; i++) r = await this.request(r.headers.get('location')!);
    return r;
  }
}

function hidden(html: string, name: string): string {
  const m = new RegExp(`name=["']${name.replace(/[[\]]/g, '\\$&')}["'] value=["']([^"']*)["']`).exec(html);
  assert.ok(m, `hidden field ${name} in page`);
  return m[1]!;
}

describe('Adminer (Debian package) through Foyer', { skip }, () => {
  let fpm: PhpFpmProcess;
  let php: FastCgiMiddleware;
  let server: Server;
  let dir: string;
  let db: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'foyer-adminer-'));
    db = join(dir, 'data.sqlite');
    writeFileSync(db, ''); // an empty file is an empty SQLite database; Adminer answers 404 for a missing one
    // Adminer's documented plugin setup: allow a password-less SQLite database behind a login password.
    writeFileSync(
      join(dir, 'index.php'),
      `<?php
function adminer_object() {
  include_once '${ADMINER}/plugins/plugin.php';
  include_once '${ADMINER}/plugins/login-password-less.php';
  return new AdminerPlugin([new AdminerLoginPasswordLess(password_hash('letmein', PASSWORD_DEFAULT))]);
}
include '${ADMINER}/adminer.php';
`,
    );
    fpm = await startPhpFpm({ children: 2, ini: { 'session.save_path': dir } });
    php = fastcgi({ upstream: fpm.upstream, root: dir, maxConnections: 2 });
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
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('shows the login page, refuses a wrong password, logs in, creates and reads a table', async () => {
    const b = new Browser(server.url);
    const login = await b.go('/?sqlite=');
    assert.equal(login.status, 200);
    assert.match(login.body, /<title>Login - Adminer<\/title>/);
    const form = (password: string) =>
      new URLSearchParams({
        'auth[driver]': 'sqlite',
        'auth[server]': '',
        'auth[username]': '',
        'auth[password]': password,
        'auth[db]': db,
      });
    const wrong = await b.go('/?sqlite=', { method: 'POST', body: form('nope') });
    assert.doesNotMatch(wrong.body, /Create table/);

    const loggedIn = await b.go('/?sqlite=', { method: 'POST', body: form('letmein') });
    assert.equal(loggedIn.status, 200);
    assert.match(loggedIn.body, /Logout/);
    assert.ok(b.cookies.has('adminer_sid'), 'session cookie set');

    const base = `/?sqlite=&username=&db=${encodeURIComponent(db)}`;
    const sqlPage = await b.go(`${base}&sql=`);
    const token = hidden(sqlPage.body, 'token');
    const run = await b.go(`${base}&sql=`, {
      method: 'POST',
      body: new URLSearchParams({
        query:
          "CREATE TABLE greetings (id INTEGER PRIMARY KEY, word TEXT); INSERT INTO greetings (word) VALUES ('bonjour-from-foyer');",
        limit: '',
        token,
      }),
    });
    assert.equal(run.status, 200);
    assert.match(run.body, /Query executed OK/);

    const select = await b.go(`${base}&select=greetings`);
    assert.equal(select.status, 200);
    assert.match(select.body, /bonjour-from-foyer/);

    const logout = await b.go(base, {
      method: 'POST',
      body: new URLSearchParams({ logout: 'Logout', token: hidden(select.body, 'token') }),
    });
    assert.match(logout.body, /Logout successful|Login - Adminer/);
  });

  test('serves Adminer static assets and never its PHP source', async () => {
    const b = new Browser(server.url);
    const page = await b.go('/?file=default.css&version=4.8.1');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/css/);
    const src = await b.request('/index.php');
    assert.doesNotMatch(src.body, /adminer_object/);
  });
});
