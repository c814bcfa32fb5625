import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LightHeaders } from '../../reception/light-headers.ts';
import type { Context } from '../../types.ts';
import { buildParams, headerVariable, rememberedVariables } from './params.ts';

// The HTTP_* variables of received fields, against a reference written the plain way: every field
// joined per lower-case name in a Map (Cookie with "; ", the rest with ", ", RFC 9110 §5.3), and a
// value beyond ASCII passed as its bytes. buildParams skips the Map when no name repeats, and
// counts UTF-8 natively: neither may change a variable.
function reference(raw: string[]): Array<[string, string | Uint8Array]> {
  const joined = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const seen = joined.get(name);
    joined.set(name, seen === undefined ? raw[i + 1]! : `${seen}${name === 'cookie' ? '; ' : ', '}${raw[i + 1]}`);
  }
  const out: Array<[string, string | Uint8Array]> = [];
  for (const [name, value] of joined) {
    const variable = headerVariable(name);
    if (variable === undefined) continue;
    const high = [...value].some((c) => c.charCodeAt(0) > 0x7f);
    out.push([variable, high ? Buffer.from(value, 'latin1') : value]);
  }
  return out;
}

const ctx = {
  secure: false,
  localAddress: '127.0.0.1',
  localPort: 8080,
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  remoteUser: undefined,
} as unknown as Context;

function httpVariables(raw: string[]): Array<[string, string | Uint8Array]> {
  const req = {
    method: 'GET',
    url: 'http://example.test/a.php',
    headers: LightHeaders.fromRaw(raw),
  } as unknown as Request;
  const params = buildParams({
    req,
    ctx,
    search: '',
    documentRoot: '/srv',
    scriptName: '/a.php',
    scriptFilename: '/srv/a.php',
    pathInfo: '',
    contentLength: undefined,
    serverName: 'example.test',
    serverSoftware: 'foyer',
    extra: undefined,
  });
  return params.filter(([name]) => name.startsWith('HTTP_'));
}

const names = fc.constantFrom(
  'Cookie',
  'cookie',
  'COOKIE',
  'X-A',
  'x-a',
  'Host',
  'User_Agent',
  'Proxy',
  'Accept',
  'te',
);
const latin1 = fc.string({
  unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});
const value = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x')),
  latin1,
  fc.constant(''),
);

test('HTTP_* variables are the plain join of the received fields (repeated names, cases, bytes beyond ASCII)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(names, value), { maxLength: 40 }), (fields) => {
      const raw = fields.flat();
      assert.deepEqual(httpVariables(raw), reference(raw));
    }),
    { numRuns: 1000 },
  );
  // No name twice (the path without a Map), one of them past ASCII; and the same list with
  // more fields than the pair-by-pair scan looks at.
  const distinct = ['Host', 'a.test', 'Accept', '*/*', 'X-Name', 'caf\xe9', 'Cookie', 'a=1'];
  assert.deepEqual(httpVariables(distinct), reference(distinct));
  const many = Array.from({ length: 40 }, (_, i) => [`X-F${i}`, `v${i}`]).flat();
  assert.deepEqual(httpVariables(many), reference(many));
});

test('names a client makes up, in any spelling, keep the table of variables within its bound', () => {
  for (let round = 0; round < 3; round++) {
    const junk = Array.from({ length: 300 }, (_, i) => [`X-Junk-${round}-${i}`, 'v']).flat();
    assert.equal(httpVariables(junk).length, 300);
    assert.ok(rememberedVariables() <= 256);
  }
  const spellings = ['Host', 'HOST', 'hOsT', 'host'].flatMap((n) => [n, 'a.test']);
  assert.deepEqual(httpVariables(spellings), [['HTTP_HOST', 'a.test, a.test, a.test, a.test']]);
});
