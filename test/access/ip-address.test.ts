// Addresses in every spelling a socket, a header or an operator may use. IPv4-mapped IPv6 was
// recognised only in its dotted spelling: `--deny ::ffff:7f00:1` was accepted and never matched,
// `::ffff:10.0.0.0/8` was read as the IPv4 /8, and `::ffff:0.0.0.0/96` was refused (found in review).
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { CidrError, canonicalIp, cidrList, clientKey, listHas, normaliseIp } from '../../src/access/ip-address.ts';

test('an IPv4-mapped address is its IPv4 address, in any spelling', () => {
  for (const a of [
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:0001',
    '::FFFF:7F00:1',
    '0::ffff:127.0.0.1',
  ])
    assert.equal(normaliseIp(a), '127.0.0.1', a);
  assert.equal(normaliseIp('::ffff:0:0'), '0.0.0.0');
  // Not mapped: kept as IPv6.
  for (const a of ['::1', '2001:db8::1', '::ffff:1:2:3', '1:2:3:4:5:ffff:7f00:1', '64:ff9b::7f00:1'])
    assert.equal(normaliseIp(a), a, a);
});

test('mapped spellings agree with the dotted one on random addresses', () => {
  fc.assert(
    fc.property(fc.ipV4(), (v4) => {
      const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
      const hex = `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
      assert.ok(isIPv6(hex) && isIPv4(v4));
      assert.equal(normaliseIp(hex), v4);
      assert.equal(normaliseIp(`::ffff:${v4}`), v4);
    }),
  );
});

test('an IPv4-mapped CIDR counts its 96 mapping bits; shorter prefixes are refused', () => {
  // The whole mapped block (in IPv6 bogon lists) would be every IPv4 client: refused, naming why.
  assert.throws(() => cidrList(['::ffff:0:0/96']), /would cover every IPv4 client/);
  assert.throws(() => cidrList(['::ffff:0.0.0.0/96']), /would cover every IPv4 client/);
  const half = cidrList(['::ffff:0:0/97']);
  assert.equal(listHas(half, '8.8.8.8'), true);
  assert.equal(listHas(half, '200.0.0.1'), false);
  assert.equal(listHas(half, '::1'), false);
  const ten = cidrList(['::ffff:10.0.0.0/104']);
  assert.equal(listHas(ten, '10.1.2.3'), true);
  assert.equal(listHas(ten, '11.0.0.1'), false);
  const one = cidrList(['::ffff:7f00:2']);
  assert.equal(listHas(one, '127.0.0.2'), true);
  assert.equal(listHas(one, '127.0.0.1'), false);
  for (const bad of ['::ffff:10.0.0.0/8', '::ffff:127.0.0.1/129', '::ffff:0:0/95'])
    assert.throws(() => cidrList([bad]), CidrError, bad);
});

test('an IPv6 client is keyed by its /64, a dotted tail included', () => {
  assert.equal(clientKey('2001:db8:1:4::1.2.3.4'), '2001:db8:1:4::/64');
  assert.equal(clientKey('2001:db8:1:4::1'), '2001:db8:1:4::/64');
  assert.equal(clientKey('2001:0db8:0001:0004:0:0:0:1'), '2001:db8:1:4::/64');
  assert.equal(clientKey('1.2.3.4'), '1.2.3.4');
});

/** The WHATWG URL serialiser's IPv6 host, which follows RFC 5952's compression: the reference. */
const urlForm = (ip: string): string => new URL(`http://[${ip}]/`).hostname.slice(1, -1);

test('canonicalIp writes IPv6 as the URL serialiser does (RFC 5952), from any spelling', () => {
  // Groups with many zeros, so that runs of every length and their ties come up.
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  const spelled = fc
    .tuple(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), fc.boolean(), fc.nat(7), fc.nat(8))
    .map(([groups, upper, padded, from, length]) => {
      let parts = groups.map((g) => (padded ? g.toString(16).padStart(4, '0') : g.toString(16)));
      // Compress some run of zero groups, not necessarily the longest (a proxy may).
      const end = Math.min(8, from + length);
      if (length >= 1 && groups.slice(from, end).every((g) => g === 0))
        parts = [
          ...parts.slice(0, from),
          ...(from === 0 ? [''] : []),
          '',
          ...(end === 8 ? [''] : []),
          ...parts.slice(end),
        ];
      const text = parts.join(':').replace(/:{3,}/, '::');
      return upper ? text.toUpperCase() : text;
    })
    .filter((t) => isIPv6(t) && !/^::ffff:/i.test(urlForm(t)));
  fc.assert(
    fc.property(spelled, (t) => {
      assert.equal(canonicalIp(t), urlForm(t), t);
    }),
    { numRuns: 2000 },
  );
  for (const [t, want] of [
    ['2001:DB8:0::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::0:1', '::1'],
    ['1::', '1::'],
    ['::1.2.3.4', '::102:304'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['203.0.113.7', '203.0.113.7'],
  ]) {
    assert.equal(canonicalIp(t as string), want, t);
  }
});
