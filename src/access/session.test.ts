import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countMapSteps } from '../../test/helpers/map-steps.ts';
import { createContext } from '../testing.ts';
import type { Context } from '../types.ts';
import { getSession, session } from './session.ts';
import { MAX_SESSION_COOKIES, MAX_SESSION_LOOKUPS } from './session-cookie.ts';
import { type SessionStore, SessionTable } from './session-store.ts';

const SECRET = 'unit-test-secret-0123456789abcdefghijklmnop';

function tableStore(table = new SessionTable()): SessionStore & { table: SessionTable; ops: string[] } {
  const ops: string[] = [];
  return {
    table,
    ops,
    get: async (id) => {
      ops.push('get');
      return table.get(id);
    },
    save: async (id, p, ttl) => {
      ops.push('save');
      table.save(id, p, ttl);
    },
    touch: async (id, ttl) => {
      ops.push('touch');
      table.touch(id, ttl);
    },
    destroy: async (id) => {
      ops.push('destroy');
      table.destroy(id);
    },
  };
}

async function call(
  mw: ReturnType<typeof session>,
  cookie: string | undefined,
  handler: (ctx: Context) => void,
): Promise<{ cookie: string | undefined; setCookie: string | undefined }> {
  const ctx = createContext();
  const res = await mw(new Request('http://h/', { headers: cookie ? { cookie } : {} }), ctx, async () => {
    handler(ctx);
    return new Response('ok');
  });
  const set = res.headers.getSetCookie()[0];
  return { cookie: set?.split(';')[0], setCookie: set };
}

describe('session lifecycle', () => {
  test('destroy then write in one request: the old session is gone and a new one is issued', async () => {
    const store = tableStore();
    const mw = session({ secret: SECRET, store });
    const first = await call(mw, undefined, (ctx) => getSession(ctx).set('n', 1));
    assert.equal(store.table.size, 1);
    const second = await call(mw, first.cookie, (ctx) => {
      const s = getSession(ctx);
      s.destroy();
      s.set('flash', 'bye');
    });
    assert.ok(second.cookie && second.cookie !== first.cookie);
    assert.equal(store.table.size, 1);
    const third = await call(mw, first.cookie, (ctx) => assert.equal(getSession(ctx).get('n'), undefined));
    assert.match(third.setCookie ?? '', /Max-Age=0/);
  });

  test("a cookie of the same name that does not verify (a parent domain's, another path's) does not hide the session's own", async () => {
    const store = tableStore();
    const mw = session({ secret: SECRET, store });
    const first = await call(mw, undefined, (ctx) => getSession(ctx).set('n', 1));
    const [name, value] = (first.cookie as string).split('=') as [string, string];
    // Browsers send the more specific path first; a tossed cookie may come before or after ours.
    for (const header of [
      `${name}=tossed; ${name}=${value}`,
      `${name}="${'A'.repeat(24)}.${'b'.repeat(43)}"; other=1; ${name}=${value}`,
      `${name}=${value}; ${name}=tossed`,
      ` \t${name}=${value}`,
    ]) {
      const again = await call(mw, header, (ctx) => assert.equal(getSession(ctx).get('n'), 1, header));
      assert.equal(again.setCookie, undefined, header);
    }
    // Bounded: past MAX_SESSION_COOKIES of that name, no more signatures are checked.
    const decoy = `${name}=${'A'.repeat(24)}.${'b'.repeat(43)}`;
    const many = `${Array(MAX_SESSION_COOKIES).fill(decoy).join('; ')}; ${name}=${value}`;
    const cut = await call(mw, many, (ctx) => assert.equal(getSession(ctx).get('n'), undefined));
    // Not all were looked at: the session's own cookie may be among those left, so it is not expired.
    assert.equal(cut.setCookie, undefined);
    const fewer = `${Array(MAX_SESSION_COOKIES - 1)
      .fill(decoy)
      .join('; ')}; ${name}=${value}`;
    await call(mw, fewer, (ctx) => assert.equal(getSession(ctx).get('n'), 1));
    // Malformed ones cost no HMAC and do not count toward the bound.
    const junk = `${Array(2 * MAX_SESSION_COOKIES)
      .fill(`${name}=junk`)
      .join('; ')}; ${name}=${value}`;
    await call(mw, junk, (ctx) => assert.equal(getSession(ctx).get('n'), 1));
    // Signed by us but its session ended (an attacker's own, after logging out), tossed in first.
    const ended = await call(mw, undefined, (ctx) => getSession(ctx).set('n', 2));
    await call(mw, ended.cookie, (ctx) => getSession(ctx).destroy());
    const behind = await call(mw, `${ended.cookie}; ${name}=${value}`, (ctx) =>
      assert.equal(getSession(ctx).get('n'), 1),
    );
    assert.equal(behind.setCookie, undefined);
    // Store lookups: one per distinct id, at most MAX_SESSION_LOOKUPS of them.
    const gets = () => store.ops.filter((o) => o === 'get').length;
    const lookups = async (header: string) => {
      const before = gets();
      await call(mw, header, () => {});
      return gets() - before;
    };
    assert.equal(await lookups(Array(8).fill(ended.cookie).join('; ')), 1);
    const dead: string[] = [];
    for (let i = 0; i < MAX_SESSION_LOOKUPS; i++) {
      const d = await call(mw, undefined, (ctx) => getSession(ctx).set('n', i));
      await call(mw, d.cookie, (ctx) => getSession(ctx).destroy());
      dead.push(d.cookie as string);
    }
    assert.equal(await lookups(`${dead.join('; ')}; ${name}=${value}`), MAX_SESSION_LOOKUPS);
    // Whitespace is SP and HTAB only: a name behind U+00A0 is another name.
    await call(mw, `\u00a0${name}=${value}`, (ctx) => assert.equal(getSession(ctx).get('n'), undefined));
    // None verifies: a fresh session, and the stale cookie is expired.
    const stale = await call(mw, `${name}=tossed`, () => {});
    assert.match(stale.setCookie ?? '', /Max-Age=0/);
  });

  test('a session past its absolute timeout starts over', async () => {
    const store = tableStore();
    const mw = session({ secret: SECRET, store, absoluteTimeout: 50 });
    const first = await call(mw, undefined, (ctx) => getSession(ctx).set('n', 1));
    await new Promise((r) => setTimeout(r, 80));
    await call(mw, first.cookie, (ctx) => assert.equal(getSession(ctx).get('n'), undefined));
  });

  test('a read soon after a write does not touch the store', async () => {
    const store = tableStore();
    const mw = session({ secret: SECRET, store, idleTimeout: 60_000 });
    const first = await call(mw, undefined, (ctx) => getSession(ctx).set('n', 1));
    store.ops.length = 0;
    await call(mw, first.cookie, (ctx) => assert.equal(getSession(ctx).get('n'), 1));
    assert.deepEqual(store.ops, ['get']);
  });

  test('a session idle past its timeout starts over', async () => {
    const store = tableStore();
    const mw = session({ secret: SECRET, store, idleTimeout: 50 });
    const first = await call(mw, undefined, (ctx) => getSession(ctx).set('n', 1));
    await new Promise((r) => setTimeout(r, 120));
    await call(mw, first.cookie, (ctx) => assert.equal(getSession(ctx).get('n'), undefined));
  });

  test('values are copied: changing an object after set() does not change the stored session', async () => {
    const store = tableStore();
    const mw = session({ secret: SECRET, store });
    const value = { a: 1 };
    const first = await call(mw, undefined, (ctx) => getSession(ctx).set('v', value));
    value.a = 2;
    await call(mw, first.cookie, (ctx) => assert.deepEqual(getSession(ctx).get('v'), { a: 1 }));
  });

  test('a failing store answers 503, not a crash', async () => {
    const broken: SessionStore = {
      get: async () => Promise.reject(new Error('down')),
      save: async () => {},
      touch: async () => {},
      destroy: async () => {},
    };
    const mw = session({ secret: SECRET, store: broken });
    const good = await call(session({ secret: SECRET, store: tableStore() }), undefined, (ctx) =>
      getSession(ctx).set('n', 1),
    );
    await assert.rejects(() => call(mw, good.cookie, () => {}), { status: 503 });
  });

  test('a full table stores a new session without walking the table, dropping the least recently saved', () => {
    // Anonymous visitors that each get a session (a CSRF token) fill the table; each further one
    // must cost a few steps, not a sweep over every live session.
    const table = new SessionTable(2000);
    const patch = (n: number) => ({ set: { csrf: n }, delete: [], createdAt: 0, replace: true });
    for (let i = 0; i < 2000; i++) table.save(`s${i}`, patch(i), 1_800_000, 0);
    const steps = countMapSteps(() => {
      for (let i = 2000; i < 2100; i++) table.save(`s${i}`, patch(i), 1_800_000, 1);
    });
    assert.equal(table.size, 2000);
    // One periodic sweep of expired sessions (every 1024 saves) may fall in this window.
    assert.ok(steps <= 2000 + 200, `100 saves walked ${steps} entries`);
    assert.equal(table.get('s0', 2), undefined);
    assert.deepEqual(table.get('s2099', 2)?.data, { csrf: 2099 });
  });

  test('expired sessions are swept from a table that is not full', () => {
    const table = new SessionTable();
    const patch = { set: { a: 1 }, delete: [], createdAt: 0, replace: true };
    for (let i = 0; i < 1000; i++) table.save(`old${i}`, patch, 1000, 0);
    for (let i = 0; i < 24; i++) table.save(`new${i}`, patch, 1000, 5000);
    assert.equal(table.size, 24);
  });

  test('getSession without the middleware is a programming error', () => {
    assert.throws(() => getSession(createContext()), /no session\(\) middleware/);
  });
});
