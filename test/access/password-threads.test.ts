// bcrypt off the event loop (access/password-threads.ts): wrong passwords must not stall other
// requests, and the checks waiting for a thread are bounded. No durations are asserted: the first
// test compares how busy the event loop was (event-loop utilisation, a ratio) while bcrypt ran.
import assert from 'node:assert/strict';
import process from 'node:process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { basicAuth, basicAuthChecker } from '../../src/access/basic-auth.ts';
import { closePasswordThreads, passwordPoolForTests, passwordThreadsFor } from '../../src/access/password-threads.ts';
import { buildPipeline, toLoadedApp } from '../../src/config/pipeline.ts';
import type { Context } from '../../src/types.ts';
import { createContext } from '../../src/testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'foyer-pwthreads-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await closePasswordThreads();
});

// Cost 12: about 4 × 70 ms of CPU per check in bcryptjs, long enough for the loop's share to show.
const slow = join(dir, 'slow');
writeFileSync(slow, `carol:${bcrypt.hashSync('right', 12)}\n`);
// Cost 4 for the HTTP tests: quick, still a real hash; {SHA} for a user who needs no thread.
const quick = join(dir, 'quick');
writeFileSync(
  quick,
  `bob:${bcrypt.hashSync('pw', 4)}\nalice:{SHA}${createHash('sha1').update('secret').digest('base64')}\n`,
);
const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

/** A logger that keeps `level message {fields}` lines. */
function recording() {
  const lines: string[] = [];
  const at = (level: string) => (o: unknown, msg?: string) =>
    lines.push(`${level} ${typeof o === 'string' ? o : `${msg} ${JSON.stringify(o)}`}`);
  return { lines, log: { error: at('error'), info: at('info'), warn: at('warn') } };
}

test('bcrypt checks leave the event loop idle: wrong passwords and unknown users alike', async () => {
  const auth = basicAuthChecker({ file: slow, cacheSize: 0 });
  // The first check starts the thread; measure from the second round on.
  assert.equal(await auth.verify({ user: 'carol', password: 'right' }), true);
  const start = performance.eventLoopUtilization();
  const verdicts = await Promise.all([
    auth.verify({ user: 'carol', password: 'wrong' }),
    auth.verify({ user: 'carol', password: 'wrong2' }),
    auth.verify({ user: 'nobody', password: 'x' }),
    auth.verify({ user: 'carol', password: 'right' }),
  ]);
  const elu = performance.eventLoopUtilization(start).utilization;
  assert.deepEqual(verdicts, [false, false, false, true]);
  // On the event loop (bcryptjs's async compare, as before) this was 0.95–1.0: the loop ran bcrypt.
  assert.ok(elu < 0.5, `event loop busy ${(elu * 100).toFixed(0)}% of the time while bcrypt ran`);
});

test('past maxPendingChecks every uncached login gets 503 with Retry-After, whatever its hash; a cached user passes', async () => {
  const app = toLoadedApp((_req: Request, ctx: Context) => new Response(`hello ${ctx.remoteUser}`));
  const handler = buildPipeline({ config: {}, app, access: [basicAuth({ file: quick, maxPendingChecks: 2 })] });
  const call = async (authorization: string) => {
    const res = await handler(
      new Request('http://127.0.0.1/', { headers: { authorization } }),
      createContext({ remoteAddress: '192.0.2.1' }),
    );
    return { status: res.status, retry: res.headers.get('retry-after'), body: await res.text() };
  };
  // bob verified once: cached from now on.
  assert.equal((await call(basic('bob:pw'))).status, 200);
  const burst = await Promise.all([
    call(basic('bob:wrong1')),
    call(basic('mallory:x')),
    call(basic('bob:wrong2')),
    call(basic('nobody:y')),
    call(basic('bob:pw')),
    call(basic('alice:secret')),
  ]);
  const statuses = burst.map((r) => r.status);
  // Two checks fit; past them every check that needs work is refused alike: a bcrypt user, an
  // unknown one, and a {SHA} user too (answered 401 or 200 while unknown names got 503, the status
  // told which names exist). Only the cached user passes.
  assert.deepEqual(statuses, [401, 401, 503, 503, 200, 503]);
  for (const i of [2, 3, 5]) assert.equal(burst[i]?.retry, '1');
  assert.equal(burst[4]?.body, 'hello bob');
  // The bound counts checks in flight, not ever: once they are done, a login is checked again.
  assert.equal((await call(basic('bob:wrong3'))).status, 401);
});

test('one client holds at most maxPendingChecksPerClient checks; others still get theirs', async () => {
  const app = toLoadedApp((_req: Request, ctx: Context) => new Response(`hello ${ctx.remoteUser}`));
  const handler = buildPipeline({
    config: {},
    app,
    access: [basicAuth({ file: quick, maxPendingChecks: 8, maxPendingChecksPerClient: 2 })],
  });
  const call = async (remoteAddress: string, authorization: string) =>
    (await handler(new Request('http://127.0.0.1/', { headers: { authorization } }), createContext({ remoteAddress })))
      .status;
  const statuses = await Promise.all([
    call('192.0.2.7', basic('bob:w1')),
    call('192.0.2.7', basic('bob:w2')),
    call('192.0.2.7', basic('nobody:w3')),
    // The same /64: the same client.
    call('2001:db8:1:2::1', basic('bob:w4')),
    call('2001:db8:1:2::2', basic('bob:w5')),
    call('2001:db8:1:2:ffff::3', basic('nobody:w6')),
    // Another client, meanwhile: checked, not refused.
    call('198.51.100.1', basic('bob:pw')),
    // IPv4 clients of a dual-stack listener (`--host ::`) arrive as ::ffff:a.b.c.d: each is its own
    // client. Before, they all shared one /64, so one of them refused every other's logins.
    call('::ffff:203.0.113.1', basic('bob:w7')),
    call('::ffff:203.0.113.1', basic('bob:w8')),
    call('::ffff:203.0.113.2', basic('alice:secret')),
  ]);
  assert.deepEqual(statuses, [401, 401, 503, 401, 401, 503, 200, 401, 401, 200]);
  // The log says which bound refused, and for which client (it named the global bound for both).
  const auth = basicAuthChecker({ file: quick, maxPendingChecks: 8, maxPendingChecksPerClient: 1 });
  const held = auth.verify({ user: 'bob', password: 'a' }, '192.0.2.9');
  await assert.rejects(Promise.resolve(auth.verify({ user: 'bob', password: 'b' }, '192.0.2.9')), {
    code: 'FOYER_AUTH_BUSY',
    detail: 'client 192.0.2.9 holds 1 password checks (maxPendingChecksPerClient)',
  });
  assert.equal(await held, false);
});

test('the same credentials in flight are checked once: a page and its subresources all get in', async () => {
  const auth = basicAuthChecker({ file: quick, maxPendingChecks: 1 });
  // Six parallel requests of one browser, before the first check ended: one check, one answer.
  const verdicts = await Promise.all(Array.from({ length: 6 }, () => auth.verify({ user: 'bob', password: 'pw' })));
  assert.deepEqual(verdicts, [true, true, true, true, true, true]);
  // An unknown user's the same way: joined only for names in the file, a burst of one unknown
  // name got 503s where a known name's got 401s, which told the names apart (found in review).
  const unknown = await Promise.allSettled(
    Array.from({ length: 6 }, () => auth.verify({ user: 'nobody', password: 'pw' })),
  );
  assert.deepEqual(
    unknown.map((r) => (r.status === 'fulfilled' ? r.value : 'refused')),
    [false, false, false, false, false, false],
  );
});

test('password threads that cannot start: checks run on the event loop, logged once, none hangs', {
  timeout: 60_000,
}, async () => {
  const lines: string[] = [];
  const log = { error: (o: unknown, msg: string) => lines.push(`${msg} ${JSON.stringify(o)}`) };
  for (const missing of [new URL('./no-such-entry.js', import.meta.url).href, 'relative/entry.js']) {
    lines.length = 0;
    await closePasswordThreads(missing);
    const auth = basicAuthChecker({ file: quick, maxPendingChecks: 2, cacheSize: 0 }, log as never);
    // Before: piscina kept the checks queued for a thread that never came, and the bound filled for good.
    for (let round = 0; round < 3; round++) {
      const verdicts = await Promise.all([
        auth.verify({ user: 'bob', password: 'pw' }),
        auth.verify({ user: 'bob', password: 'no' }),
      ]);
      assert.deepEqual(verdicts, [true, false], missing);
    }
    assert.equal(await auth.verify({ user: 'nobody', password: 'x' }), false);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /password threads cannot start/);
  }
  await closePasswordThreads(new URL('../../src/access/bcrypt-entry.ts', import.meta.url).href);
});

test('a password thread that dies under a check: the check is made again on the threads, the others go on', {
  timeout: 60_000,
}, async () => {
  // The thread checking the password "die" ends itself (dying-bcrypt-entry.ts), on both tries.
  await closePasswordThreads(new URL('./dying-bcrypt-entry.ts', import.meta.url).href);
  const { log, lines } = recording();
  const auth = basicAuthChecker({ file: quick, cacheSize: 0, passwordThreads: 2 }, log as never);
  assert.equal(await auth.verify({ user: 'bob', password: 'pw' }), true);
  const pool = passwordPoolForTests();
  assert.ok(pool !== undefined);
  const verdicts = await Promise.all([
    auth.verify({ user: 'bob', password: 'die' }),
    auth.verify({ user: 'bob', password: 'pw' }),
    auth.verify({ user: 'nobody', password: 'x' }),
  ]);
  assert.deepEqual(verdicts, [false, true, false]);
  // Before: the pool was destroyed, and every check in it (the healthy threads' too) redone on the loop.
  assert.equal(passwordPoolForTests(), pool, 'the same pool: piscina replaces a dead thread');
  assert.equal(await auth.verify({ user: 'bob', password: 'pw' }), true);
  assert.equal(passwordPoolForTests(), pool);
  assert.match(lines.join('\n'), /warn a password thread died/);
  assert.equal(lines.filter((l) => /thread died/.test(l)).length, 1, 'logged at most once a minute');
  assert.doesNotMatch(lines.join('\n'), /error/);
  await closePasswordThreads(new URL('../../src/access/bcrypt-entry.ts', import.meta.url).href);
});

test('a pool whose new threads cannot start any more falls back to the event loop, without spinning', {
  timeout: 60_000,
}, async () => {
  await closePasswordThreads(new URL('./dying-bcrypt-entry.ts', import.meta.url).href);
  const { log, lines } = recording();
  const auth = basicAuthChecker({ file: quick, cacheSize: 0, passwordThreads: 1 }, log as never);
  assert.equal(await auth.verify({ user: 'bob', password: 'pw' }), true);
  // From now on a new thread fails as it starts (EMFILE, say); then the one thread dies.
  process.env.FOYER_TEST_ENTRY_FAILS = '1';
  try {
    // Before: the replacement's failure counted as a death of a working pool's thread, so the pool
    // was woken again and again, each new thread failing, and the checks waited.
    const verdicts = await Promise.all([
      auth.verify({ user: 'bob', password: 'die' }),
      auth.verify({ user: 'bob', password: 'pw' }),
      auth.verify({ user: 'nobody', password: 'x' }),
    ]);
    assert.deepEqual(verdicts, [false, true, false]);
    assert.equal(await auth.verify({ user: 'bob', password: 'pw' }), true);
    assert.equal(passwordPoolForTests(), undefined, 'the pool is gone for the retry period');
    assert.equal(lines.filter((l) => /cannot start/.test(l)).length, 1, lines.join('\n'));
  } finally {
    delete process.env.FOYER_TEST_ENTRY_FAILS;
    await closePasswordThreads(new URL('../../src/access/bcrypt-entry.ts', import.meta.url).href);
  }
});

test('checks queued when the last thread dies are still made (piscina starts no thread for them by itself)', {
  timeout: 60_000,
}, async () => {
  await closePasswordThreads();
  const auth = basicAuthChecker({ file: quick, cacheSize: 0, passwordThreads: 1 });
  assert.equal(await auth.verify({ user: 'bob', password: 'pw' }), true);
  const pool = passwordPoolForTests();
  const thread = pool?.piscina.threads[0];
  assert.ok(pool !== undefined && thread !== undefined);
  // Killed while idle: the next check is queued (the dying thread is the one allowed), and when the
  // thread is gone, nothing but a new task would make piscina start one. Before: this hung for good.
  pool.kill(thread.threadId);
  assert.deepEqual(
    await Promise.all([auth.verify({ user: 'bob', password: 'pw' }), auth.verify({ user: 'bob', password: 'x' })]),
    [true, false],
  );
});

test('maxPendingChecks and passwordThreads must be positive integers; workers share the threads', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => basicAuthChecker({ file: quick, maxPendingChecks: bad }), /maxPendingChecks/);
    assert.throws(() => basicAuthChecker({ file: quick, passwordThreads: bad }), /passwordThreads/);
  }
  const half = Math.max(1, Math.floor(availableParallelism() / 2));
  assert.equal(passwordThreadsFor(), half);
  for (const workers of [1, 2, 3, 8, 64]) {
    const each = passwordThreadsFor(workers);
    assert.ok(each >= 1 && each * workers <= Math.max(workers, half), `${workers} workers × ${each} threads`);
  }
});
