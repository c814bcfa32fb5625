import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { nastyChar } from '../../test/helpers/nasty-chars.ts';
import { LightHeaders, rememberedNames } from './light-headers.ts';

const NativeHeaders = globalThis.Headers;
const name = fc.constantFrom(
  'Content-Type',
  'content-type',
  'X-A',
  'x-a',
  'Set-Cookie',
  'set-cookie',
  'Vary',
  'Cookie',
  'bad name',
  '',
  'x-\u00e9',
  'x-\u010d',
);
const value = fc.oneof(
  fc.constantFrom(
    'text/plain',
    '  padded\t',
    'a=1',
    'b=2; Path=/',
    '',
    'caf\u00e9',
    'line\r\nbreak',
    'nul\u0000',
    '\u010d\u010aSet-Cookie: a=b',
    '\r\n trimmed \r\n',
  ),
  fc.string({ unit: nastyChar, maxLength: 8 }),
);
const op = fc.oneof(
  fc.tuple(fc.constant('append'), name, value),
  fc.tuple(fc.constant('set'), name, value),
  fc.tuple(fc.constant('delete'), name, fc.constant('')),
  fc.tuple(fc.constant('get'), name, fc.constant('')),
  fc.tuple(fc.constant('has'), name, fc.constant('')),
);

function apply(h: Headers, [kind, n, v]: [string, string, string]): unknown {
  try {
    switch (kind) {
      case 'append':
        return h.append(n, v);
      case 'set':
        return h.set(n, v);
      case 'delete':
        return h.delete(n);
      case 'get':
        return h.get(n);
      default:
        return h.has(n);
    }
  } catch (e) {
    return (e as Error).name;
  }
}

describe('LightHeaders', () => {
  test('behaves as the native Headers for any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const native = new NativeHeaders();
        const light = new LightHeaders() as unknown as Headers;
        for (const o of ops) assert.deepEqual(apply(light, o), apply(native, o), `after ${JSON.stringify(o)}`);
        assert.deepEqual([...light], [...native]);
        assert.deepEqual(light.getSetCookie(), native.getSetCookie());
      }),
      { numRuns: 1000 },
    );
  });

  test('reads raw fields from the parser case-insensitively and lowercases them for iteration', () => {
    const h = LightHeaders.fromRaw(['Host', 'example.com', 'Accept', 'a', 'ACCEPT', 'b']) as unknown as Headers;
    assert.equal(h.get('accept'), 'a, b');
    assert.equal(h.get('HOST'), 'example.com');
    assert.deepEqual(
      [...h],
      [
        ['accept', 'a, b'],
        ['host', 'example.com'],
      ],
    );
  });

  test('is a Headers to instanceof and to native constructors', () => {
    const h = new LightHeaders({ 'X-A': '1' }) as unknown as Headers;
    assert.ok(h instanceof Headers);
    assert.equal(new NativeHeaders(h).get('x-a'), '1');
    assert.equal(new Response('x', { headers: h }).headers.get('x-a'), '1');
    assert.equal(Object.prototype.toString.call(h), '[object Headers]');
  });

  test('a list of pairs of any shape: the same fields as Headers, or the same refusal', () => {
    // Pairs as arrays, as other iterables, of the wrong length, not iterable at all.
    const pair = fc.oneof(
      fc.tuple(name, value),
      fc.tuple(name, value).map((p) => new Set(p)),
      fc.tuple(name, value).map(([n, v]) => ({
        *[Symbol.iterator]() {
          yield n;
          yield v;
        },
      })),
      fc.array(value, { maxLength: 3 }),
      // Not sequences: a string (iterable, but not an object), a number, null.
      fc.constantFrom(7, 'ab', 'abc', '', null),
    );
    const outcome = (make: () => Headers | LightHeaders): unknown => {
      try {
        return [...make()];
      } catch (err) {
        return (err as Error).constructor.name;
      }
    };
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 5 }), (pairs) => {
        const init = pairs as unknown as [string, string][];
        assert.deepEqual(
          outcome(() => new LightHeaders(init)),
          outcome(() => new NativeHeaders(init)),
        );
      }),
      { numRuns: 500 },
    );
  });

  test('pairs whose items change their length as they are read: refused as Headers refuses them', () => {
    const growing = (): string[] => {
      const p: string[] = [];
      const get = () => {
        p.push('x');
        return 'a';
      };
      Object.defineProperty(p, 0, { get, enumerable: true, configurable: true });
      p.length = 2;
      Object.defineProperty(p, 1, { value: 'b', writable: true, enumerable: true, configurable: true });
      return p;
    };
    const shrinking = (): string[] => {
      const p = ['a', 'b', 'c'];
      const get = () => {
        p.length = 2;
        return 'a';
      };
      Object.defineProperty(p, 0, { get, enumerable: true, configurable: true });
      return p;
    };
    for (const make of [growing, shrinking]) {
      const outcome = (h: () => Headers | LightHeaders) => {
        try {
          return [...h()];
        } catch (err) {
          return (err as Error).constructor.name;
        }
      };
      const init = () => [make()] as unknown as [string, string][];
      assert.deepEqual(
        outcome(() => new LightHeaders(init())),
        outcome(() => new NativeHeaders(init())),
        make.name,
      );
    }
  });

  test('received names never fill the table of names apps write, and their own table stays bounded', () => {
    const before = rememberedNames().written;
    for (let r = 0; r < 4; r++) {
      const raw: string[] = [];
      for (let i = 0; i < 100; i++) raw.push(`X-Junk-${r}-${i}`, 'v');
      assert.equal([...LightHeaders.fromRaw(raw)].length, 100);
    }
    assert.equal(rememberedNames().written, before);
    assert.ok(rememberedNames().received <= 256);
    // Names asked for (a handler may ask for names a client chose) share the received table.
    const asked = LightHeaders.fromRaw(['X-Junk-0-1', 'v']);
    for (let i = 0; i < 400; i++) assert.equal(asked.get(`X-Asked-${i}`), null);
    assert.equal(asked.get('x-junk-0-1'), 'v');
    assert.equal(rememberedNames().written, before);
    assert.ok(rememberedNames().received <= 256);
    assert.throws(() => asked.get('X Asked'), TypeError);
    const h = new LightHeaders();
    h.append('X-Written-By-The-App', '1');
    assert.equal(rememberedNames().written, before + 1);
  });

  test('accepts the same inits as Headers: records, pairs and other Headers', () => {
    assert.equal(new LightHeaders([['a', '1']]).get('a'), '1');
    assert.equal(new LightHeaders(new NativeHeaders({ b: '2' })).get('b'), '2');
    assert.equal(new LightHeaders(new LightHeaders({ c: '3' })).get('c'), '3');
    assert.throws(() => new LightHeaders([['a']] as unknown as [string, string][]), TypeError);
  });
});

test('a sealed list or any other has no own symbols, as native Headers, and console.log shows it as native Headers', async () => {
  const { inspect } = await import('node:util');
  const sealed = LightHeaders.sealed({ 'content-type': 'text/css', vary: 'a' });
  const plain = new LightHeaders({ b: '2', a: '1' });
  for (const h of [sealed, plain, LightHeaders.fromRaw(['Host', 'x'])]) {
    assert.deepEqual(Object.getOwnPropertySymbols(h), []);
    assert.deepEqual(Object.keys(h), []);
  }
  assert.equal(inspect(plain), inspect(new Headers({ b: '2', a: '1' })));
  assert.equal(inspect(sealed), inspect(new Headers({ 'content-type': 'text/css', vary: 'a' })));
});

test('console.log of fields with repeated names and a Set-Cookie shows what native Headers shows', async () => {
  const { inspect } = await import('node:util');
  const init: [string, string][] = [
    ['vary', 'a'],
    ['x', '1'],
    ['vary', 'b'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
  ];
  assert.equal(inspect(new LightHeaders(init)), inspect(new Headers(init)));
});
