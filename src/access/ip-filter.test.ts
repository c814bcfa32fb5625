import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientKey } from './ip-address.ts';
import { ipDecider, ipFilter } from './ip-filter.ts';
import { compileMatch } from './path-rules.ts';
import { createContext } from '../testing.ts';

const U = 'http://h';

describe('address rules', () => {
  test('deny wins over allow, for IPv4 and IPv6', () => {
    const d = ipDecider({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24', '2001:db8:bad::/48'] });
    assert.equal(d('10.1.2.3', `${U}/`), true);
    assert.equal(d('10.6.6.6', `${U}/`), false);
    assert.equal(d('2001:db8:1::5', `${U}/`), true);
    assert.equal(d('2001:db8:bad::5', `${U}/`), false);
  });

  test('once an allow rule exists, addresses it does not cover are refused', () => {
    const d = ipDecider({ allow: ['192.0.2.0/24'] });
    assert.equal(d('192.0.2.200', `${U}/`), true);
    assert.equal(d('198.51.100.1', `${U}/`), false);
    assert.equal(d('::1', `${U}/`), false);
  });

  test('deny alone lets everything else in', () => {
    const d = ipDecider({ deny: ['::/0'] });
    assert.equal(d('2001:db8::1', `${U}/`), false);
    assert.equal(d('203.0.113.1', `${U}/`), true);
  });

  test('an IPv4-mapped IPv6 peer meets the IPv4 rules', () => {
    const d = ipDecider({ deny: ['203.0.113.0/24'] });
    assert.equal(d('::ffff:203.0.113.9', `${U}/`), false);
  });

  test('a path rule narrows access below its path, matched on the decoded normalised path', () => {
    const d = ipDecider({ rules: [{ path: '/admin', allow: ['127.0.0.1'] }] });
    assert.equal(d('203.0.113.1', `${U}/public`), true);
    assert.equal(d('203.0.113.1', `${U}/administrator`), true);
    for (const p of [
      '/admin',
      '/admin/',
      '/admin/x',
      '/%61dmin/x',
      '//admin',
      '/./admin',
      '/x/../admin',
      '/%2561dmin',
    ]) {
      const refused = !d('203.0.113.1', `${U}${p}`);
      // %2561 decodes once to "%61dmin", a different file: only that one is not /admin.
      assert.equal(refused, p !== '/%2561dmin', p);
    }
    assert.equal(d('127.0.0.1', `${U}/admin/x`), true);
  });

  test('a path that cannot be analysed meets every rule (fail closed)', () => {
    const d = ipDecider({ rules: [{ path: '/admin', deny: ['*'] }] });
    assert.equal(d('127.0.0.1', `${U}/%zz`), false);
    assert.equal(d('127.0.0.1', `${U}/ok`), true);
  });

  test('globs and RegExps name paths', () => {
    const d = ipDecider({
      rules: [
        { path: '/api/*.json', deny: ['*'] },
        { path: /^\/private\//, deny: ['*'] },
      ],
    });
    assert.equal(d('127.0.0.1', `${U}/api/a.json`), false);
    assert.equal(d('127.0.0.1', `${U}/api/x/a.json`), true);
    assert.equal(d('127.0.0.1', `${U}/private/a`), false);
  });

  test('path rules use the one glob syntax of static files; a string not starting with / is refused', () => {
    const d = ipDecider({ rules: [{ path: '/v?/admin/**', deny: ['*'] }] });
    assert.equal(d('127.0.0.1', `${U}/v1/admin/x`), false);
    assert.equal(d('127.0.0.1', `${U}/v12/admin/x`), true);
    // A RegExp with the g or y flag kept its lastIndex between requests: the rule applied to every other one.
    for (const flags of ['g', 'y', 'gi']) {
      const re = new RegExp('^/admin', flags);
      const g = ipDecider({ rules: [{ path: re, deny: ['*'] }] });
      const verdicts = Array.from({ length: 4 }, () => g('127.0.0.1', `${U}/admin/x`));
      assert.deepEqual(verdicts, [false, false, false, false], flags);
      assert.equal(re.lastIndex, 0, "the caller's RegExp is left alone");
    }
    // `admin/**` named no request path (they all start with /): a rule that silently applied to nothing.
    for (const bad of ['admin/**', '', 'admin']) {
      assert.throws(() => ipDecider({ rules: [{ path: bad, deny: ['*'] }] }), /must start with "\/"/, bad);
      // The same compiler serves Basic auth's `paths` and rate-limit rules.
      assert.throws(() => compileMatch(bad), /must start with "\/"/, bad);
    }
  });

  test('bad CIDRs are refused when the rules are built', () => {
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', 'nope', '10.0.0/8', '1.2.3.4/-1']) {
      assert.throws(() => ipDecider({ allow: [bad] }), /CIDR|prefix/, bad);
    }
  });

  test('the middleware answers 403 without calling the handler', async () => {
    const mw = ipFilter({ deny: ['203.0.113.0/24'] });
    let called = 0;
    const next = async () => {
      called++;
      return new Response('ok');
    };
    await assert.rejects(async () => mw(new Request(`${U}/`), createContext({ remoteAddress: '203.0.113.5' }), next), {
      status: 403,
    });
    const res = await mw(new Request(`${U}/`), createContext({ remoteAddress: '198.51.100.5' }), next);
    assert.equal(res.status, 200);
    assert.equal(called, 1);
  });
});

describe('rate-limit keys', () => {
  test('IPv6 clients are grouped by /64, IPv4 by address', () => {
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), clientKey('2001:db8:1:2:ffff:1:2:3'));
    assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
    assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('192.0.2.1'), '192.0.2.1');
  });
});
