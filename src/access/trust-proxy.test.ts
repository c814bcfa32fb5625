import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { trustProxy } from './trust-proxy.ts';

const require = createRequire(import.meta.url);
// Express's and Fastify's reference implementation of "rightmost untrusted X-Forwarded-For".
const proxyaddr = require('@fastify/proxy-addr') as (
  req: { socket: { remoteAddress: string }; headers: Record<string, string> },
  trust: string[],
) => string;

const h = (...pairs: string[]) => pairs;

describe('client address behind trusted proxies', () => {
  const resolve = trustProxy({ trust: ['10.0.0.0/8', '::1'] });

  test('takes the rightmost untrusted X-Forwarded-For entry, never the leftmost a client can forge', () => {
    const r = resolve('10.0.0.2', false, h('X-Forwarded-For', '6.6.6.6, 203.0.113.7, 10.0.0.9'));
    assert.equal(r.remoteAddress, '203.0.113.7');
  });

  test('ignores forwarding headers from a peer that is not trusted', () => {
    const r = resolve('198.51.100.4', false, h('x-forwarded-for', '1.2.3.4', 'x-forwarded-proto', 'https'));
    assert.deepEqual(r, { remoteAddress: '198.51.100.4', secure: false });
  });

  test('joins repeated X-Forwarded-For lines in order', () => {
    const r = resolve('10.0.0.2', false, h('x-forwarded-for', '6.6.6.6', 'x-forwarded-for', '203.0.113.7, 10.1.1.1'));
    assert.equal(r.remoteAddress, '203.0.113.7');
  });

  test('when every hop is trusted, the furthest one is the client', () => {
    assert.equal(resolve('10.0.0.2', false, h('x-forwarded-for', '10.9.9.9, 10.0.0.3')).remoteAddress, '10.9.9.9');
  });

  test('a malformed X-Forwarded-For is ignored and the peer stands', () => {
    for (const bad of [
      '',
      ' , ',
      'junk',
      '1.2.3.4:port',
      '[::1',
      '1.2.3.4 5.6.7.8',
      '999.1.1.1',
      '1.2.3.4:0',
      '1.2.3.4:65536',
      '[2001:db8::1]:0',
      'fe80::1%eth0',
      '1.2.3.4\u00a0',
      '\ufeff1.2.3.4',
    ]) {
      assert.equal(resolve('10.0.0.2', false, h('x-forwarded-for', bad)).remoteAddress, '10.0.0.2', bad);
    }
  });

  test('empty list elements are no hops (RFC 9110 §5.6.1), as in nginx', () => {
    for (const xff of ['1.2.3.4,', '1.2.3.4, ', ',1.2.3.4', '1.2.3.4,, 10.0.0.3', '1.2.3.4, , 10.0.0.3,,']) {
      assert.equal(resolve('10.0.0.2', false, h('x-forwarded-for', xff)).remoteAddress, '1.2.3.4', xff);
    }
  });

  test('an IPv6 client is written in its one canonical form (RFC 5952), however the proxy spelled it', () => {
    for (const spelled of ['2001:DB8:0::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '[2001:db8:0:0::1]:80']) {
      assert.equal(resolve('10.0.0.2', false, h('x-forwarded-for', spelled)).remoteAddress, '2001:db8::1', spelled);
    }
  });

  test("junk a client puts left of the proxy's entry never makes the client the proxy", () => {
    // The proxy appends the address it saw; what the client sent stays on the left. Dropping the
    // whole header for that junk would hand the client the proxy's own (trusted, allowed) address.
    const junk = ['x', '', '1.2.3.4:port', '[::1', '<script>', 'unknown', Array(70).fill('10.0.0.9').join(', ')];
    for (const left of junk) {
      const xff = `${left}, 203.0.113.7`;
      assert.equal(resolve('10.0.0.2', false, h('x-forwarded-for', xff)).remoteAddress, '203.0.113.7', xff);
      const lines = h('x-forwarded-for', left, 'x-forwarded-for', '203.0.113.7, 10.0.0.3');
      assert.equal(resolve('10.0.0.2', false, lines).remoteAddress, '203.0.113.7', `${left} / 203.0.113.7`);
    }
  });

  test('more trusted hops than are read never fall back to a forged leftmost entry', () => {
    // Past the hops read is an unreadable one: the walk stops at the last address it read (as at
    // any unreadable hop), never at the forged entry beyond them.
    const chain = ['6.6.6.6', ...Array(70).fill('10.0.0.9')].join(', ');
    assert.equal(resolve('10.0.0.2', false, h('x-forwarded-for', chain)).remoteAddress, '10.0.0.9');
  });

  test('reads IPv6 and ported forms, and IPv4-mapped peers as IPv4', () => {
    assert.equal(resolve('::1', false, h('x-forwarded-for', '2001:db8::1')).remoteAddress, '2001:db8::1');
    assert.equal(resolve('::1', false, h('x-forwarded-for', '[2001:db8::2]:443')).remoteAddress, '2001:db8::2');
    assert.equal(resolve('::ffff:10.0.0.2', false, h('x-forwarded-for', '192.0.2.1:5000')).remoteAddress, '192.0.2.1');
  });

  test("a forwarded client's port is its hop's or unknown (0), never the proxy's; a peer's own port stands", () => {
    assert.equal(resolve('::1', false, h('x-forwarded-for', '[2001:db8::2]:443')).remotePort, 443);
    assert.equal(resolve('::1', false, h('x-forwarded-for', '192.0.2.1:5000')).remotePort, 5000);
    assert.equal(resolve('::1', false, h('x-forwarded-for', '192.0.2.1')).remotePort, 0);
    assert.equal(resolve('::1', false, h('x-forwarded-for', '2001:db8::1')).remotePort, 0);
    // No forwarding header, or an untrusted peer: the address is the peer's, and so is the port.
    assert.equal(resolve('::1', false, []).remotePort, undefined);
    assert.equal(resolve('198.51.100.4', false, h('x-forwarded-for', '192.0.2.1:5000')).remotePort, undefined);
  });

  test('X-Forwarded-Proto: https from a trusted proxy marks the request secure; anything odd is ignored', () => {
    assert.equal(resolve('10.0.0.2', false, h('x-forwarded-proto', 'https')).secure, true);
    assert.equal(resolve('10.0.0.2', true, h('x-forwarded-proto', 'http')).secure, false);
    assert.equal(resolve('10.0.0.2', false, h('x-forwarded-proto', 'https, http')).secure, false);
    assert.equal(resolve('10.0.0.2', false, h('x-forwarded-proto', 'gopher')).secure, false);
    assert.equal(resolve('8.8.8.8', false, h('x-forwarded-proto', 'https')).secure, false);
    // Whitespace is SP and HTAB only (RFC 9110 §5.6.3): JavaScript's trim() also took U+00A0.
    assert.equal(resolve('10.0.0.2', false, h('x-forwarded-proto', '\u00a0https')).secure, false);
    assert.equal(resolve('10.0.0.2', false, h('x-forwarded-proto', '\thttps ')).secure, true);
  });

  test('agrees with @fastify/proxy-addr on well-formed X-Forwarded-For chains', () => {
    const trusted = ['10.0.0.1', '10.0.0.2', '10.200.3.4', '::1'];
    const others = ['203.0.113.9', '198.51.100.1', '2001:db8::7', '192.0.2.33'];
    const ip = fc.constantFrom(...trusted, ...others);
    fc.assert(
      fc.property(
        fc.constantFrom(...trusted, ...others),
        fc.array(ip, { minLength: 1, maxLength: 6 }),
        (peer, hops) => {
          const xff = hops.join(', ');
          const ours = resolve(peer, false, h('x-forwarded-for', xff)).remoteAddress;
          const theirs = proxyaddr({ socket: { remoteAddress: peer }, headers: { 'x-forwarded-for': xff } }, [
            '10.0.0.0/8',
            '::1',
          ]);
          assert.equal(ours, theirs, `${peer} ← ${xff}`);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('client address from RFC 7239 Forwarded', () => {
  const resolve = trustProxy({ trust: ['loopback'], header: 'forwarded' });

  test('reads for= and proto= of the client hop, quoted IPv6 with a port included', () => {
    const r = resolve('127.0.0.1', false, h('Forwarded', 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https'));
    assert.deepEqual(r, { remoteAddress: '2001:db8:cafe::17', remotePort: 4711, secure: true });
  });

  test('parameter names are case-insensitive and elements may span lines', () => {
    const r = resolve(
      '127.0.0.1',
      false,
      h('forwarded', 'For=192.0.2.60;Proto=http;By=203.0.113.43', 'forwarded', 'for=127.0.0.5'),
    );
    assert.equal(r.remoteAddress, '192.0.2.60');
  });

  test('X-Forwarded-For is not read when the proxies write Forwarded (the client could have written it)', () => {
    assert.equal(resolve('127.0.0.1', false, h('x-forwarded-for', '6.6.6.6')).remoteAddress, '127.0.0.1');
  });

  test('malformed or unknown Forwarded values are ignored', () => {
    for (const bad of [
      'for=',
      'for="[::1"',
      'for=1.2.3.4;for=5.6.7.8',
      'nonsense',
      'for=unknown',
      'for=_hidden',
      'for="1.2.3.4',
    ]) {
      assert.equal(resolve('127.0.0.1', false, h('forwarded', bad)).remoteAddress, '127.0.0.1', bad);
    }
  });
});

describe('client address from RFC 7239 Forwarded', () => {
  const resolve = trustProxy({ trust: ['10.0.0.0/8'], header: 'forwarded' });
  const ask = (...values: string[]) =>
    resolve(
      '10.0.0.2',
      false,
      values.flatMap((v) => ['forwarded', v]),
    );

  test('takes the rightmost untrusted element, with its proto', () => {
    const r = ask('for=6.6.6.6, for="203.0.113.7:4711";proto=https, for=10.0.0.3');
    assert.deepEqual(r, { remoteAddress: '203.0.113.7', remotePort: 4711, secure: true });
    assert.equal(ask('for="[2001:db8::1]:80"').remoteAddress, '2001:db8::1');
  });

  test("the client's port is the one its hop named, else unknown (0); never the proxy's", () => {
    assert.equal(ask('for="[2001:db8::1]:80"').remotePort, 80);
    assert.equal(ask('for=203.0.113.7').remotePort, 0);
    assert.equal(ask('for=unknown, for="203.0.113.7:4711"').remotePort, 4711);
    // Not a port a socket can have: the hop is unreadable, so the peer stands, with its own port.
    assert.deepEqual(ask('for="203.0.113.7:0"'), { remoteAddress: '10.0.0.2', secure: false });
    assert.deepEqual(ask('for="203.0.113.7:99999"'), { remoteAddress: '10.0.0.2', secure: false });
    // Every hop trusted: the leftmost is the client, with its own port.
    assert.equal(ask('for="10.1.1.1:1234", for=10.0.0.3').remotePort, 1234);
  });

  test("junk a client puts left of the proxy's element never makes the client the proxy", () => {
    const junk = ['for="', 'junk', 'for=1.2.3.4;for=5.6.7.8', 'proto=https', 'for="a\\"', '=,=', 'for=1.2.3.4 x'];
    for (const left of junk) {
      assert.equal(ask(`${left}, for=203.0.113.7`).remoteAddress, '203.0.113.7', left);
      assert.equal(ask(left, 'for=203.0.113.7').remoteAddress, '203.0.113.7', `${left} / for=203.0.113.7`);
    }
    const many = Array(70).fill('for=10.0.0.9').join(', ');
    assert.equal(ask(`${many}, for=203.0.113.7`).remoteAddress, '203.0.113.7');
  });

  test('an element that cannot be read where the client should be leaves the peer', () => {
    for (const bad of ['for="', 'junk', 'for=_hidden', 'for=unknown', 'for=203.0.113.7, for="']) {
      assert.equal(ask(bad).remoteAddress, '10.0.0.2', bad);
    }
    // RFC 7239 §6: a node has no whitespace, quoted or not.
    for (const bad of [
      'for=" 203.0.113.7"',
      'for="203.0.113.7\t"',
      'for="[2001:db8::1] :80"',
      'for="203.0.113.7 :80"',
    ]) {
      assert.equal(ask(bad).remoteAddress, '10.0.0.2', bad);
      assert.equal(ask(`for=6.6.6.6, ${bad}`).remoteAddress, '10.0.0.2', `6.6.6.6 left of ${bad}`);
    }
  });
});

describe('client address decided request by request', () => {
  test('a resolver reused over many requests answers each as a fresh one would', () => {
    const addr = fc.constantFrom(
      '10.0.0.2',
      '::ffff:10.0.0.2',
      '127.0.0.1',
      '::1',
      '203.0.113.9',
      '2001:db8::7',
      'junk',
    );
    // Few distinct lines, so that a request often repeats the last one's, alone or among others.
    const line = fc.constantFrom(
      '203.0.113.9',
      '203.0.113.9, 10.0.0.3',
      '10.9.9.9, 10.0.0.3',
      '2001:db8::7',
      'for=203.0.113.9;proto=https',
      'for="[2001:db8::7]:443", for=10.0.0.3',
      'for=unknown',
      'junk',
    );
    const request = fc.record({
      peer: addr,
      secure: fc.boolean(),
      headers: fc.array(
        fc.tuple(fc.constantFrom('x-forwarded-for', 'X-Forwarded-For', 'forwarded', 'x-forwarded-proto'), line),
        { maxLength: 3 },
      ),
    });
    for (const header of ['x-forwarded-for', 'forwarded'] as const) {
      const options = { trust: ['10.0.0.0/8', 'loopback'], header };
      fc.assert(
        fc.property(fc.array(request, { maxLength: 12 }), (seq) => {
          const reused = trustProxy(options);
          for (const r of seq) {
            const pairs = r.headers.flat();
            assert.deepEqual(reused(r.peer, r.secure, pairs), trustProxy(options)(r.peer, r.secure, pairs));
          }
        }),
        { numRuns: 300 },
      );
    }
  });
});
