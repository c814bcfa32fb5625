import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileMatch, requestPath } from '../../src/access/path-rules.ts';
import { globToRegExp } from '../../src/analysis/glob.ts';
import { isContained, resolveInside } from '../../src/analysis/containment.ts';
import { analysePath, canonicalLocation, joinSegments, splitTarget } from '../../src/analysis/target-path.ts';
import { typoCandidates, withinOneEdit } from '../../src/analysis/typo-correction.ts';

describe('request-target splitting', () => {
  test('keeps the raw path of an absolute URL without normalising dot segments', () => {
    assert.deepEqual(splitTarget('http://h:8080/a/../b?x=1'), { rawPath: '/a/../b', search: '?x=1' });
  });
  test('accepts an origin-form target and drops a fragment', () => {
    assert.deepEqual(splitTarget('/a%20b?q#frag'), { rawPath: '/a%20b', search: '?q' });
  });
  test('gives / for an authority without a path', () => {
    assert.deepEqual(splitTarget('http://h'), { rawPath: '/', search: '' });
  });
});

describe('path analysis', () => {
  const ok = (raw: string) => {
    const r = analysePath(raw);
    assert.equal(typeof r, 'object', `${raw} should be accepted, got ${String(r)}`);
    return r as Exclude<typeof r, string>;
  };
  test('decodes percent-escapes exactly once', () => {
    assert.deepEqual(ok('/%252e%252e/x').segments, ['%2e%2e', 'x']);
    assert.deepEqual(ok('/caf%C3%A9.txt').segments, ['café.txt']);
  });
  test('resolves dot segments inside the root', () => {
    assert.deepEqual(ok('/a/b/../c/./d').segments, ['a', 'c', 'd']);
    assert.deepEqual(ok('/a/%2e%2e/b').segments, ['b']);
  });
  test('collapses repeated slashes', () => {
    assert.deepEqual(ok('//a///b').segments, ['a', 'b']);
  });
  test('marks a path with empty or dot segments as a second name, to redirect to its canonical one', () => {
    for (const raw of ['//a/b', '/a//b', '/a/./b', '/x/../a/b', '/a/%2E/b', '/x/%2e%2E/a/b', '/a/b/.']) {
      const r = ok(raw);
      assert.equal(r.canonical, false, raw);
      assert.equal(canonicalLocation(r, '?q'), raw === '/a/b/.' ? '/a/b/?q' : '/a/b?q', raw);
    }
    for (const raw of ['/', '/a/b', '/a/b/', '/a%20b/c.php', '/.well-known/x'])
      assert.equal(ok(raw).canonical, true, raw);
  });
  test('marks an escaped unreserved character as a second name, redirected to the plain one', () => {
    // WHATWG keeps `%61` in req.url, so an app guard on /admin never sees /%61dmin as /admin.
    const cases: Array<[string, string]> = [
      ['/%61dmin/secret', '/admin/secret'],
      ['/admin/secre%74', '/admin/secret'],
      ['/%41%5A%7a%30%39', '/AZz09'],
      ['/a%2Db%5fc%7Ed', '/a-b_c~d'],
      ['/x%2ephp', '/x.php'],
    ];
    for (const [raw, location] of cases) {
      const r = ok(raw);
      assert.equal(r.canonical, false, raw);
      assert.equal(canonicalLocation(r, ''), location, raw);
      assert.equal(ok(location).canonical, true, location);
    }
    // Escapes of reserved or non-ASCII characters are the only spelling: they stay canonical.
    for (const raw of ['/a%20b', '/caf%C3%A9', '/a%3Bb', '/a%40b', '/a%25b', '/%21', '/a%2Bb'])
      assert.equal(ok(raw).canonical, true, raw);
  });
  test('rejects dot-dot that climbs above the root, encoded or not', () => {
    for (const raw of ['/..', '/../etc/passwd', '/%2e%2e/x', '/a/../../x', '/.%2e/x']) {
      assert.equal(analysePath(raw), 'bad-path', raw);
    }
  });
  test('rejects encoded slashes, backslashes and NUL', () => {
    for (const raw of ['/..%2fetc', '/a%2Fb', '/a%5cb', '/a\\b', '/..%5c..%5cwin.ini', '/a%00.txt', '/a\0b']) {
      assert.equal(analysePath(raw), 'bad-path', raw);
    }
  });
  test('rejects escaped control characters: no file is named with them, and every layer would have to expect them', () => {
    for (const raw of ['/admin/%0A/users', '/admin/users%0d', '/a%0D%0Ab', '/%1b[31m', '/a%7Fb', '/%09', '/%01'])
      assert.equal(analysePath(raw), 'bad-path', raw);
    // Unicode line separators are characters of names, not controls: kept.
    assert.deepEqual(ok('/admin/users%E2%80%A8').segments, ['admin', 'users\u2028']);
  });
  test('rejects malformed escapes and invalid UTF-8 such as overlong dots', () => {
    for (const raw of ['/%zz', '/%', '/%4', '/%c0%ae%c0%ae/x', '/%e0%80%ae', '/%ff']) {
      assert.equal(analysePath(raw), 'bad-escape', raw);
    }
  });
  test('notes a trailing slash, including after dot segments', () => {
    assert.equal(ok('/a/').trailingSlash, true);
    assert.equal(ok('/a').trailingSlash, false);
    assert.equal(ok('/a/b/..').trailingSlash, true);
    assert.equal(ok('/').trailingSlash, true);
  });
  test('re-encodes segments for a Location that can never start with two slashes', () => {
    assert.equal(joinSegments(['evil.com', 'x y#?%'], true), '/evil.com/x%20y%23%3F%25/');
    assert.equal(joinSegments([], true), '/');
  });
});

describe('access path rules', () => {
  // The path is decoded: a `**` compiled to `.*` did not match a line terminator, and `/admin/**`
  // let `/admin/users%E2%80%A8` (U+2028) and, before controls were refused, `/admin/%0A/x` through.
  test('`**` matches every character, line terminators included', () => {
    const admin = compileMatch('/admin/**');
    for (const p of ['/admin/x', '/admin/\n/x', '/admin/x\r', '/admin/x\u2028', '/admin/\u2029y', '/admin/a/b'])
      assert.equal(admin(p), true, JSON.stringify(p));
    assert.equal(admin('/public/x'), false);
    assert.equal(compileMatch('/api/*.json')('/api/a\u2028.json'), true);
    // The static handler's Cache-Control globs too.
    assert.equal(globToRegExp('/assets/**').test('/assets/a\u2028/b.css'), true);
  });
  test('a path with an escaped control character cannot be analysed, so every rule applies to it (fail closed)', () => {
    assert.equal(requestPath('http://h/admin/%0A/users'), undefined);
    assert.equal(requestPath('http://h/admin/users%E2%80%A8'), '/admin/users\u2028');
  });
});

describe('containment', () => {
  test('accepts the root itself and paths beneath it', () => {
    assert.equal(isContained('/srv/pub', '/srv/pub'), true);
    assert.equal(isContained('/srv/pub', '/srv/pub/a/b'), true);
  });
  test('refuses a sibling directory that shares the root as a prefix', () => {
    assert.equal(isContained('/srv/pub', '/srv/pub-secret/key'), false);
    assert.equal(isContained('/srv/pub', '/srv/pubx'), false);
  });
  test('handles a root of / without doubling the separator', () => {
    assert.equal(isContained('/', '/etc/passwd'), true);
  });
  test('refuses segments that would resolve outside even if analysis were bypassed', () => {
    assert.equal(resolveInside('/srv/pub', ['..', 'pub-secret']), undefined);
    assert.equal(resolveInside('/srv/pub', ['a', 'b']), '/srv/pub/a/b');
  });
});

describe('typo correction', () => {
  test('counts one substitution, insertion, deletion or transposition as one edit', () => {
    assert.equal(withinOneEdit('index.html', 'indx.html'), true);
    assert.equal(withinOneEdit('index.html', 'indexx.html'), true);
    assert.equal(withinOneEdit('index.html', 'inedx.html'), true);
    assert.equal(withinOneEdit('index.html', 'index.htnl'), true);
    assert.equal(withinOneEdit('index.html', 'idnex.htlm'), false);
    assert.equal(withinOneEdit('abc', 'abcde'), false);
  });
  test('prefers a case-only match over one-edit matches', () => {
    assert.deepEqual(typoCandidates('README.MD', ['readme.md', 'readme.me', 'other']), ['readme.md']);
  });
  test('returns every one-edit candidate when several exist', () => {
    assert.deepEqual(typoCandidates('fole.txt', ['file.txt', 'fold.txt', 'zzz']).sort(), ['file.txt', 'fold.txt']);
  });
  test('returns nothing when no entry is close', () => {
    assert.deepEqual(typoCandidates('abc.txt', ['xyz.txt']), []);
  });
});
