import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Blob } from 'node:buffer';
import { ReadableStream } from 'node:stream/web';
import { kPairs, LightHeaders } from './light-headers.ts';
import { kHeaders, LightResponse } from './light-response.ts';
import { forgetFixedHead, keptFields, planResponse, ResponseHeaderError } from './response-head.ts';

const Light = LightResponse as unknown as typeof Response;

/** Response fields every kind of head must handle: framing, connection, date, id, odd values. */
const FIELDS: [string, string][] = [
  ['content-type', 'text/plain'],
  ['Content-Type', 'text/html'],
  ['content-length', '5'],
  ['content-length', ' 6 '],
  ['content-length', 'x'],
  ['connection', 'keep-alive, close'],
  ['connection', 'Close'],
  ['connection', 'keep-alive'],
  ['date', 'Mon, 01 Jan 2024 00:00:00 GMT'],
  ['x-request-id', 'mine'],
  ['x-a', 'caf\u00e9'],
  ['x-a', 'a\u0001b'],
  ['x-a', 'a\u007fb'],
  ['x-a', 'plain'],
  ['transfer-encoding', 'chunked'],
  ['keep-alive', 'timeout=5'],
  ['set-cookie', 'a=1'],
  ['x-e', ''],
  ['x-t', 'a\tb'],
];

describe('planResponse', () => {
  test('refuses a head with a control character that Headers lets through (node:http refuses it too)', () => {
    for (const v of ['a\u0001b', 'a\u007fb', 'a\u001bb']) {
      for (const r of [new Light('x', { headers: { 'x-a': v } }), new Response('x', { headers: { 'x-a': v } })]) {
        assert.throws(() => planResponse(r, false, 1, true), ResponseHeaderError, JSON.stringify(v));
      }
    }
  });

  test('never writes a code point above 0xFF, even one that slipped past validation', () => {
    const r = new LightResponse('x') as unknown as Record<symbol, unknown>;
    // fromRaw trusts its input (it is meant for parsed fields): the serializer must still refuse.
    r[kHeaders] = LightHeaders.fromRaw(['location', '/\u010d\u010aset-cookie: a=b']);
    assert.throws(() => planResponse(r as unknown as Response, false, 1, true), ResponseHeaderError);
  });

  test('writes latin1 obs-text in values as it is', () => {
    const plan = planResponse(new Light('x', { headers: { 'x-a': 'caf\u00e9' } }), false, 1, true);
    assert.ok(plan.headLatin1);
    assert.match(plan.head, /x-a: caf\u00e9\r\n/);
  });

  // The rule the wire follows, applied to the finished head: planResponse may skip the scan only
  // where it would find nothing, so its verdict must equal this one for any mix of parts.
  test('decides latin1 and refusal exactly as a scan of the whole head would', () => {
    const ch = fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.constantFrom(0x09, 0x01, 0x1b, 0x7f, 0x80, 0xe9, 0xff),
    );
    const text = fc.array(ch, { maxLength: 6 }).map((cs) => String.fromCharCode(...cs));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('x-a', 'content-type', 'x-b'), text), { maxLength: 3 }),
        fc.oneof(fc.constant(''), text),
        fc.option(fc.constantFrom('abc-1', 'id:\u00e9'), { nil: undefined }),
        fc.boolean(),
        (fields, statusText, requestId, light) => {
          const init = { status: 200, statusText, headers: fields };
          let res: Response;
          try {
            res = light ? new Light('body', init) : new Response('body', init);
          } catch {
            return; // refused by the constructor: never reaches the serializer
          }
          let plan: ReturnType<typeof planResponse> | undefined;
          try {
            plan = planResponse(res, false, 1, true, requestId);
          } catch (err) {
            assert.ok(err instanceof ResponseHeaderError);
          }
          // The verdict of a scan over the whole finished head.
          const head = plan?.head;
          if (head === undefined) return;
          assert.equal(plan!.headLatin1, /[^\t\r\n\x20-\x7e]/.test(head), JSON.stringify(head));
          assert.equal(/[^\t\r\n\x20-\x7e\x80-\xff]/.test(head), false);
        },
      ),
      { numRuns: 400 },
    );
  });

  test('a value is judged the same whatever values came before it (the last plain value is remembered)', () => {
    const verdict = (v: string, light: boolean) => {
      const init = { headers: { 'x-a': v } };
      try {
        return planResponse(light ? new Light('x', init) : new Response('x', init), false, 1, true).headLatin1;
      } catch (err) {
        assert.ok(err instanceof ResponseHeaderError);
        return 'refused';
      }
    };
    for (const light of [true, false])
      for (const order of [
        ['caf\u00e9', 'caf\u00e9', 'ok', 'caf\u00e9'],
        ['a\u001bb', 'a\u001bb', 'ok', 'a\u001bb', 'ok', 'ok'],
        ['ok', 'caf\u00e9', 'ok', 'a\u007fb', 'a\u007fb'],
      ])
        assert.deepEqual(
          order.map((v) => verdict(v, light)),
          order.map((v) => (v === 'ok' ? false : v === 'caf\u00e9' ? true : 'refused')),
          JSON.stringify(order),
        );
  });

  test('a response like the last one is planned as it would be from scratch (the kept head)', () => {
    // Up to four distinct responses per case, each answered to one to three requests in a row, so
    // that most plans repeat an earlier response (the kept head is used) or nearly do (one status,
    // field, body size or kind apart). A response may be changed after its first plan, as an app
    // that keeps one Response and changes its headers can.
    const fields = FIELDS;
    const body = (kind: string): ConstructorParameters<typeof Response>[0] => {
      switch (kind) {
        case 'null':
          return null;
        case 'undefined':
          return undefined;
        case 'bytes':
          return new Uint8Array(5);
        case 'bytes6':
          return new Uint8Array(6);
        case 'form':
          return new URLSearchParams('a=1&b=\u00e9');
        case 'blob':
          return new Blob(['abc']);
        case 'stream':
          return new ReadableStream({
            start(c) {
              c.enqueue(new Uint8Array(3));
              c.close();
            },
          });
        default:
          return kind;
      }
    };
    const response = fc.record({
      status: fc.constantFrom(200, 200, 201, 204, 205, 304, 404),
      statusText: fc.constantFrom('', '', 'Fine', 'caf\u00e9'),
      fields: fc.subarray(fields, { maxLength: 3 }),
      body: fc.constantFrom(
        'hello',
        'hellp',
        'h\u00e9llo',
        'hello!',
        '',
        '\ud800',
        'null',
        'undefined',
        'bytes',
        'bytes',
        'bytes6',
        'form',
        'blob',
        'stream',
      ),
      // How the app makes it: Response.json, a HEAD answer built from another response (its length), headers read first.
      make: fc.constantFrom('new', 'new', 'json', 'from', 'read'),
      change: fc.option(
        fc.constantFrom<[string, string, string]>(
          ['set', 'content-type', 'x/y'],
          ['append', 'x-z', '1'],
          ['delete', 'content-type', ''],
          ['set', 'connection', 'close'],
          ['set', 'date', 'D2'],
          ['set', 'x-request-id', 'z'],
          ['set', 'content-length', '9'],
          ['set', 'x-c', 'a\u0002'],
        ),
        { nil: undefined },
      ),
    });
    const request = fc.record({
      isHead: fc.boolean(),
      minor: fc.constantFrom(0, 1),
      keepAlive: fc.boolean(),
      requestId: fc.constantFrom(undefined, 'r-1', 'r-2', 'r\u00e9', 'r\u0001'),
    });
    type R = typeof response extends fc.Arbitrary<infer T> ? T : never;
    type Q = typeof request extends fc.Arbitrary<infer T> ? T : never;
    const make = (r: R): Response | undefined => {
      try {
        const init = { status: r.status, statusText: r.statusText, headers: r.fields };
        if (r.make === 'json') return (Light as unknown as typeof Response).json({ a: r.body }, init);
        if (r.make === 'from')
          return new Light(null, new Light(body(r.body), { headers: r.fields }) as unknown as ResponseInit);
        const res = new Light(body(r.body), init);
        if (r.make === 'read') void res.headers;
        return res;
      } catch {
        return undefined; // refused by the constructor: never reaches the serializer
      }
    };
    const outcome = (res: Response, q: Q) => {
      try {
        const p = planResponse(res, q.isHead, q.minor, q.keepAlive, q.requestId);
        // The engine's date may be another second's when planned again; a stream is compared by presence.
        return {
          ...p,
          head: p.head.replace(/date: [A-Z][a-z]{2}, [^\r]*GMT\r\n(?=\r\n$)/, 'date: NOW\r\n'),
          stream: p.stream !== null,
        };
      } catch (err) {
        assert.ok(err instanceof ResponseHeaderError, String(err));
        return 'refused';
      }
    };
    const run = (steps: [R, Q[]][], scratch: boolean) => {
      forgetFixedHead();
      const out: unknown[] = [];
      for (const [r, qs] of steps) {
        const res = make(r);
        if (res === undefined) {
          out.push('not a response');
          continue;
        }
        qs.forEach((q, i) => {
          if (i === 1 && r.change !== undefined) {
            const [op, n, v] = r.change;
            try {
              (res.headers as unknown as Record<string, (n: string, v: string) => void>)[op]!(n, v);
            } catch {
              out.push('change refused');
            }
          }
          if (scratch) forgetFixedHead();
          out.push(outcome(res, q));
        });
      }
      return out;
    };
    fc.assert(
      fc.property(
        fc.array(response, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(3), fc.array(request, { minLength: 1, maxLength: 3 })), {
          minLength: 1,
          maxLength: 20,
        }),
        (responses, order) => {
          const steps = order.map(([i, qs]) => [responses[i % responses.length]!, qs] as [R, Q[]]);
          assert.deepEqual(run(steps, false), run(steps, true));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('keeps no head whose fields set a cookie or are long, and keeps a plain one', () => {
    const plan = (headers: [string, string][]) => {
      forgetFixedHead();
      planResponse(new Light('x', { headers }), false, 1, true);
      return keptFields();
    };
    assert.deepEqual(plan([['content-type', 'text/plain']]), ['content-type', 'text/plain']);
    assert.equal(plan([['set-cookie', 'session=secret']]), undefined);
    assert.equal(
      plan([
        ['Set-Cookie', 'session=secret'],
        ['x-a', '1'],
      ]),
      undefined,
    );
    // Fields the head leaves out count too.
    assert.equal(plan([['connection', `keep-alive${', x'.repeat(2100)}`]]), undefined);
    assert.equal(plan([['x-a', 'v'.repeat(5000)]]), undefined);
  });

  test('refuses exactly the heads a scan of the whole head refuses', () => {
    const values = ['ok', 'caf\u00e9', 'a\u0001b', 'a\u007fb', '\u00ff\u001b'];
    for (const v of values)
      for (const where of ['value', 'statusText'] as const)
        for (const light of [true, false]) {
          const init = where === 'value' ? { headers: { 'x-a': v } } : { statusText: v };
          let res: Response;
          try {
            res = light ? new Light('x', init) : new Response('x', init);
          } catch {
            continue;
          }
          const bad = /[^\t\x20-\x7e\x80-\xff]/.test(v);
          if (bad)
            assert.throws(
              () => planResponse(res, false, 1, true),
              ResponseHeaderError,
              `${where} ${JSON.stringify(v)}`,
            );
          else assert.equal(planResponse(res, false, 1, true).headLatin1, v !== 'ok', `${where} ${JSON.stringify(v)}`);
        }
  });
});

describe('responses that are not what they claim (a native Response with getters, look-alike headers)', () => {
  const refused = (res: Response) => assert.throws(() => planResponse(res, false, 1, true), ResponseHeaderError);
  /** A native Response whose `name` answers `get()`: what a subclass with a getter can do. */
  const withGetter = (name: string, get: () => unknown) =>
    Object.defineProperty(new globalThis.Response('x'), name, { get }) as Response;

  test('a status that is not a three-digit integer is refused', () => {
    for (const bad of ['200\u010a6.6.6.6 - x', '200 OK\r\nx: y', 99, 1000, 200.5, Number.NaN])
      refused(withGetter('status', () => bad));
  });

  test('a CR or LF in a look-alike header name or value is refused (the head scan allows CRLF between lines)', () => {
    const pairs: [unknown, unknown][] = [
      ['x-a', 'a\r\nset-cookie: sid=attacker'],
      ['x-a: b\r\nset-cookie', 'sid=attacker'],
      ['x-a', { toString: () => 'a\u0001\u010d\u010aset-cookie: sid=attacker' }],
      ['x-a', 'nul\0'],
    ];
    for (const pair of pairs) refused(withGetter('headers', () => new Map([pair])));
  });

  test('a statusText is read once: the text checked is the text written', () => {
    let n = 0;
    const text = { toString: () => (n++ === 0 ? 'Fine' : 'Fine\r\nset-cookie: x=1') };
    const plan = planResponse(
      withGetter('statusText', () => text),
      false,
      1,
      true,
    );
    assert.equal(plan.head.split('\r\n')[0], 'HTTP/1.1 200 Fine');
    assert.equal(n, 1);
  });

  test('a sealed header list is planned as the same fields unsealed, and a change through res.headers never reaches it', () => {
    const fields: [string, string][] = [...FIELDS, ['etag', '"abc"']];
    const bodies = ['hello', '', 'bytes', 'null'] as const;
    const toBody = (b: (typeof bodies)[number]) =>
      b === 'bytes' ? new Uint8Array([1, 2, 3]) : b === 'null' ? null : b;
    const plan = (res: Response, isHead: boolean, minor: number, keepAlive: boolean, id: string | undefined) => {
      try {
        const p = planResponse(res, isHead, minor, keepAlive, id);
        return { ...p, head: p.head.replace(/date: [A-Z][a-z]{2}, [^\r]*GMT\r\n(?=\r\n$)/, 'date: NOW\r\n') };
      } catch (err) {
        assert.ok(err instanceof ResponseHeaderError, String(err));
        return 'refused';
      }
    };
    fc.assert(
      fc.property(
        fc.subarray(fields, { maxLength: 6 }),
        fc.constantFrom(...bodies),
        fc.constantFrom(200, 404, 304, 204),
        fc.array(
          fc.record({
            isHead: fc.boolean(),
            minor: fc.constantFrom(0, 1),
            keepAlive: fc.boolean(),
            id: fc.constantFrom(undefined, 'r-1', 'r\u00e9'),
            change: fc.option(fc.constantFrom<[string, string]>(['x-z', '1'], ['content-type', 'x/y']), {
              nil: undefined,
            }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (given, b, status, requests) => {
          let sealed: LightHeaders;
          try {
            sealed = LightHeaders.sealed(given);
          } catch {
            return; // refused fields are refused the same by new LightHeaders (the same constructor)
          }
          const before = [...sealed[kPairs]()];
          for (const q of requests) {
            forgetFixedHead();
            let a: Response;
            let c: Response;
            try {
              a = new Light(toBody(b), { status, headers: sealed as unknown as Headers });
              c = new Light(toBody(b), { status, headers: given });
            } catch {
              continue; // a null-body status with a body: refused by both
            }
            if (q.change !== undefined) {
              a.headers.set(q.change[0], q.change[1]);
              c.headers.set(q.change[0], q.change[1]);
            }
            const fromSealed = plan(a, q.isHead, q.minor, q.keepAlive, q.id);
            forgetFixedHead();
            assert.deepEqual(fromSealed, plan(c, q.isHead, q.minor, q.keepAlive, q.id));
          }
          assert.deepEqual(sealed[kPairs](), before, 'the sealed list changed');
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('a sealed list refuses changes; a Response shares it until its headers are asked for', () => {
    const sealed = LightHeaders.sealed({ 'content-type': 'text/css', etag: '"1"' });
    assert.throws(() => sealed.set('x', '1'), TypeError);
    assert.throws(() => sealed.append('x', '1'), TypeError);
    assert.throws(() => sealed.delete('etag'), TypeError);
    assert.equal(sealed.get('ETag'), '"1"');
    const one = new Light('a', { headers: sealed as unknown as Headers });
    const two = new Light('b', { headers: sealed as unknown as Headers });
    assert.equal((one as unknown as LightResponse)[kHeaders], sealed, 'not shared');
    one.headers.set('x-one', '1');
    assert.equal(one.headers.get('x-one'), '1');
    assert.equal(two.headers.get('x-one'), null);
    assert.equal(sealed.get('x-one'), null);
    const json = (Light as unknown as typeof Response).json({}, { headers: sealed as unknown as Headers });
    assert.equal(json.headers.get('content-type'), 'text/css');
    assert.equal(sealed.has('x-one'), false);
  });

  test('the kept head of a string body is not used for bytes of the same length, nor the other way', () => {
    forgetFixedHead();
    const head = (body: string | Uint8Array) => planResponse(new Light(body), false, 1, true).head;
    for (let i = 0; i < 3; i++) assert.match(head('hello'), /content-type: text\/plain/);
    for (let i = 0; i < 3; i++) assert.doesNotMatch(head(new Uint8Array(5)), /content-type/);
    assert.match(head('hello'), /content-type: text\/plain/);
    const bytes = planResponse(new Light(new Uint8Array(5)), false, 1, true);
    assert.equal(bytes.size, 5);
    assert.ok(bytes.bytes instanceof Uint8Array);
  });
});
