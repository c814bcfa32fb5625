import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHmac } from 'node:crypto';
import { memorySessionStore, type SessionStore, serve } from '../../src/index.ts';
import type { Server } from '../../src/server.ts';
import { body, SECRET, sessionApp, sidCookie } from './session-app.ts';

/** The default store, counting writes: "saved only when changed" must be observable. */
function countingStore(): SessionStore & { saves: number; touches: number } {
  const inner = memorySessionStore();
  const s = {
    saves: 0,
    touches: 0,
    get: (id: string) => inner.get(id),
    save: (id: string, p: Parameters<SessionStore['save']>[1], ttl: number) => {
      s.saves++;
      return inner.save(id, p, ttl);
    },
    touch: (id: string, ttl: number) => {
      s.touches++;
      return inner.touch(id, ttl);
    },
    destroy: (id: string) => inner.destroy(id),
  };
  return s;
}

describe('sessions over a real socket', () => {
  let server: Server;
  const store = countingStore();
  const get = (path: string, cookie?: string, headers: Record<string, string> = {}) =>
    fetch(server.url + path, { headers: cookie ? { cookie, ...headers } : headers });

  before(async () => {
    const app = sessionApp(store);
    server = await serve({
      fetch: (req, ctx) => app.fetch(req, ctx),
      port: 0,
      logLevel: 'silent',
      trustProxy: ['loopback'],
    });
  });
  after(() => server.close(1000));

  test('an empty new session is neither stored nor sent', async () => {
    const saves = store.saves;
    const res = await get('/me');
    assert.equal(sidCookie(res), undefined);
    assert.equal(store.saves, saves);
  });

  test('the cookie is HttpOnly, SameSite=Lax, Path=/, Secure only behind a trusted https proxy', async () => {
    const plain = (await get('/set/a/1')).headers.getSetCookie()[0] as string;
    assert.match(plain, /^foyer\.sid=[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const proxied = (await get('/set/a/1', undefined, { 'x-forwarded-proto': 'https' })).headers.getSetCookie()[0];
    assert.match(proxied as string, /; Secure$/);
  });

  test('a session is written only when it changed', async () => {
    const cookie = sidCookie(await get('/set/a/1'))!;
    const saves = store.saves;
    const r1 = await get('/all', cookie);
    assert.deepEqual((await body(r1)).a, '1');
    assert.equal(r1.headers.getSetCookie().length, 0);
    await get('/all', cookie);
    assert.equal(store.saves, saves);
    await get('/set/b/2', cookie);
    assert.equal(store.saves, saves + 1);
  });

  test('log-in regenerates the id: a planted session id gives the attacker nothing (fixation)', async () => {
    // The attacker gets a real session and plants its cookie in the victim's browser.
    const planted = sidCookie(await get('/set/x/1'))!;
    const login = await get('/login/victim', planted);
    const victim = sidCookie(login)!;
    assert.ok(victim);
    assert.notEqual(victim, planted);
    assert.equal((await body(await get('/me', victim))).user, 'victim');
    assert.equal((await body(await get('/me', planted))).user, null);
  });

  test('an id the client made up, even correctly signed, is never adopted', async () => {
    const id = 'A'.repeat(24);
    const forged = `foyer.sid=${id}.${createHmac('sha256', SECRET).update(id).digest('base64url')}`;
    const res = await get('/set/a/1', forged);
    const issued = sidCookie(res)!;
    assert.notEqual(issued, forged);
    assert.ok(!issued.includes(id));
  });

  test('tampered cookies get a fresh empty session and an expired cookie, never an error', async () => {
    const good = sidCookie(await get('/login/alice'))!;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const bad = [
      flip(good, good.length - 1),
      flip(good, 12),
      `${good}x`,
      good.slice(0, -5),
      'foyer.sid=',
      'foyer.sid=%zz',
    ];
    for (const cookie of bad) {
      const res = await get('/me', cookie);
      assert.equal(res.status, 200, cookie);
      assert.equal((await body(res)).user, null, `${good} → ${cookie}`);
    }
    const expired = (await get('/me', bad[0])).headers.getSetCookie()[0] as string;
    assert.match(expired, /Max-Age=0/);
  });

  test('log-out destroys the session and expires the cookie', async () => {
    const cookie = sidCookie(await get('/login/bob'))!;
    const out = await get('/logout', cookie);
    assert.match(out.headers.getSetCookie()[0] as string, /^foyer\.sid=; .*Max-Age=0/);
    assert.equal((await body(await get('/me', cookie))).user, null);
  });

  test('100 concurrent sessions never see each other’s data', async () => {
    const users = Array.from({ length: 100 }, (_, i) => `user${i}`);
    const cookies = await Promise.all(users.map(async (u) => sidCookie(await get(`/login/${u}`))!));
    assert.equal(new Set(cookies).size, 100);
    const seen = await Promise.all(cookies.map(async (c) => (await body(await get('/me', c))).user));
    assert.deepEqual(seen, users);
  });

  test('two concurrent requests of one session writing different keys both keep their writes', async () => {
    const cookie = sidCookie(await get('/set/a/0'))!;
    await Promise.all([get('/set/a/1', cookie), get('/set/b/2', cookie)]);
    const all = await await body(get('/all', cookie));
    assert.deepEqual([all.a, all.b], ['1', '2']);
  });
});

describe('secret rotation', () => {
  test('a cookie signed with a previous secret is accepted and re-signed with the current one', async () => {
    const store = memorySessionStore();
    const oldApp = sessionApp(store, SECRET);
    const newApp = sessionApp(store, [`new-${SECRET}`, SECRET]);
    const { createContext } = await import('../../src/testing.ts');
    const res = await oldApp.fetch(new Request('http://h/login/carol'), createContext());
    const cookie = sidCookie(res)!;
    const again = await newApp.fetch(new Request('http://h/me', { headers: { cookie } }), createContext());
    assert.equal((await body(again)).user, 'carol');
    const resigned = sidCookie(again)!;
    assert.ok(resigned && resigned !== cookie);
    assert.equal(resigned.slice(0, 34), cookie.slice(0, 34)); // same id, new signature
    const only = sessionApp(store, `new-${SECRET}`);
    const withNew = await only.fetch(new Request('http://h/me', { headers: { cookie: resigned } }), createContext());
    assert.equal((await body(withNew)).user, 'carol');
  });

  test('short secrets are refused', async () => {
    const { session } = await import('../../src/index.ts');
    const tooShort = (e: { code?: string; message: string }) =>
      e.code === 'FOYER_BAD_CONFIG' && /32 characters/.test(e.message);
    assert.throws(() => session({ secret: 'short' }), tooShort);
    assert.throws(() => session({ secret: [] }), tooShort);
  });
});
