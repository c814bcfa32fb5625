import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createContext } from '../testing.ts';
import { basicAuth, challenge, parseBasicAuth } from './basic-auth.ts';
import { HtpasswdError, parseHtpasswd, verifyPassword } from './htpasswd.ts';

let htpasswdBin: string | undefined;
try {
  execFileSync('htpasswd', ['-nbB', 'x', 'y'], { stdio: 'ignore' });
  htpasswdBin = 'htpasswd';
} catch {
  htpasswdBin = undefined;
}
const skip = htpasswdBin === undefined ? 'htpasswd not installed (apt-get install apache2-utils)' : false;

const dir = mkdtempSync(join(tmpdir(), 'foyer-htpasswd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the real htpasswd: -b (password on the command line) plus the hash flag. */
function htpasswd(file: string, flag: string, user: string, password: string, create = false): void {
  execFileSync('htpasswd', [create ? '-cb' : '-b', flag, file, user, password], { stdio: 'ignore' });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('htpasswd files written by the real htpasswd', { skip }, () => {
  const file = join(dir, 'users');
  const kinds = [
    ['-B', 'bcrypt', 'bea', 'pa:ss:word'],
    ['-m', 'apr1', 'abe', 'één wachtwoord'],
    ['-s', 'sha1', 'sam', 'sh:a€'],
  ] as const;

  test('bcrypt ($2y$), apr1 and {SHA} entries verify, with colons and UTF-8 in passwords', async () => {
    kinds.forEach(([flag, , user, pw], i) => {
      htpasswd(file, flag, user, pw, i === 0);
    });
    const users = parseHtpasswd(readFileSync(file, 'utf8'), file);
    for (const [, kind, user, pw] of kinds) {
      const entry = users.get(user)!;
      assert.equal(entry.kind, kind);
      assert.equal(await verifyPassword(entry, pw), true, kind);
      assert.equal(await verifyPassword(entry, `${pw}x`), false, kind);
      assert.equal(await verifyPassword(entry, ''), false, kind);
    }
    assert.match(users.get('bea')!.hash, /^\$2y\$/);
  });

  test('plaintext and crypt(3) entries are refused, naming the line', () => {
    for (const flag of ['-p', '-d']) {
      const f = join(dir, `refused${flag}`);
      htpasswd(f, '-B', 'ok', 'x', true);
      htpasswd(f, flag, 'weak', 'secret');
      assert.throws(
        () => parseHtpasswd(readFileSync(f, 'utf8'), f),
        (e: unknown) =>
          e instanceof HtpasswdError && e.line === 2 && /weak/.test(e.message) && !/secret/.test(e.message),
      );
    }
  });

  test('the middleware asks with 401 and the realm, and lets a valid user through as ctx.remoteUser', async () => {
    const f = join(dir, 'mw');
    htpasswd(f, '-B', 'bea', 'pa:ss', true);
    const mw = basicAuth({ file: f, realm: 'Staff "only"' });
    const next = async () => new Response('in');
    const ctx = createContext();
    const res = await mw(new Request('http://h/', { headers: { authorization: basic('bea', 'pa:ss') } }), ctx, next);
    assert.equal(res.status, 200);
    assert.equal(ctx.remoteUser, 'bea');
    for (const auth of [undefined, basic('bea', 'nope'), basic('nobody', 'pa:ss')]) {
      const c = createContext();
      await assert.rejects(
        async () => mw(new Request('http://h/', { headers: auth ? { authorization: auth } : {} }), c, next),
        (e: { status: number; headers: Record<string, string> }) =>
          e.status === 401 && e.headers['www-authenticate'] === 'Basic realm="Staff \\"only\\"", charset="UTF-8"',
      );
      assert.equal(c.remoteUser, undefined);
    }
  });

  test('a changed file is reloaded and the cache of verified credentials forgets the old password', async () => {
    const f = join(dir, 'reload');
    htpasswd(f, '-B', 'bea', 'old', true);
    const mw = basicAuth({ file: f, checkInterval: 0 });
    const next = async () => new Response('in');
    const ask = (pw: string) =>
      Promise.resolve(
        mw(new Request('http://h/', { headers: { authorization: basic('bea', pw) } }), createContext(), next),
      ).then(
        (r) => r.status,
        (e: { status: number }) => e.status,
      );
    assert.equal(await ask('old'), 200);
    assert.equal(await ask('old'), 200); // now from the cache
    htpasswd(f, '-B', 'bea', 'new');
    assert.equal(await ask('old'), 401);
    assert.equal(await ask('new'), 200);
    // A broken edit keeps the users that were loaded.
    writeFileSync(f, 'bea:plaintext\n');
    assert.equal(await ask('new'), 200);
  });

  test('paths limit what is protected', async () => {
    const f = join(dir, 'paths');
    htpasswd(f, '-s', 'u', 'p', true);
    const mw = basicAuth({ file: f, paths: ['/private'] });
    const next = async () => new Response('in');
    assert.equal((await mw(new Request('http://h/public'), createContext(), next)).status, 200);
    await assert.rejects(async () => mw(new Request('http://h/%70rivate/x'), createContext(), next), { status: 401 });
  });
});

describe('Authorization: Basic parsing', () => {
  test('reads the scheme case-insensitively and splits at the first colon', () => {
    assert.deepEqual(parseBasicAuth(basic('a', 'b:c')), { user: 'a', password: 'b:c' });
    assert.deepEqual(parseBasicAuth(`bAsIc ${Buffer.from('a:').toString('base64')}`), { user: 'a', password: '' });
    assert.deepEqual(parseBasicAuth(basic('zoë', 'ü')), { user: 'zoë', password: 'ü' });
  });

  test('malformed headers are undefined (a 401), never an exception', () => {
    const bad = [
      null,
      '',
      'Basic',
      'Basic ',
      'Bearer abc',
      'Basic !!!!',
      'Basic YWJj', // no colon
      'Basic YWI6Y', // not a multiple of 4
      `Basic ${Buffer.from('a:b\x00').toString('base64')}`,
      `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`, // not UTF-8
      `Basic ${'A'.repeat(10_000)}`,
      `Basic ${Buffer.from('a:b').toString('base64')} extra`,
    ];
    for (const h of bad) assert.equal(parseBasicAuth(h), undefined, String(h));
  });

  test('the challenge quotes the realm', () => {
    assert.equal(challenge('a"b\\c'), 'Basic realm="a\\"b\\\\c", charset="UTF-8"');
  });
});
