import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { LightHeaders } from './light-headers.ts';
import { kHeaders, LightResponse } from './light-response.ts';
import { forgetFixedHead, planResponse, ResponseHeaderError } from './response-head.ts';

const Light = LightResponse as unknown as typeof Response;

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
    // Few distinct responses, so that most repeat one planned before (the kept head is used) or
    // nearly do (one status, field, body size or kind apart); the request's side varies freely.
    const response = fc.record({
      status: fc.constantFrom(200, 200, 204, 304, 404),
      statusText: fc.constantFrom('', '', 'Fine'),
      fields: fc.constantFrom<[string, string][]>(
        [],
        [['content-type', 'text/plain']],
        [['content-type', 'text/html']],
        [['Content-Type', 'text/plain']],
        [['content-length', '5']],
        [['connection', 'close']],
        [['date', 'Mon, 01 Jan 2024 00:00:00 GMT']],
        [['x-request-id', 'mine']],
        [['x-a', 'caf\u00e9']],
        [['x-a', 'a\u0001b']],
        [
          ['transfer-encoding', 'chunked'],
          ['x-b', '1'],
        ],
      ),
      body: fc.constantFrom<string | null | Uint8Array>(
        'hello',
        'hellp',
        'h\u00e9llo',
        'hello!',
        '',
        null,
        new Uint8Array(5),
      ),
    });
    const request = fc.record({
      isHead: fc.boolean(),
      minor: fc.constantFrom(0, 1),
      keepAlive: fc.boolean(),
      requestId: fc.option(fc.constantFrom('r-1', 'r-2'), { nil: undefined }),
    });
    const plan = (
      r: { status: number; statusText: string; fields: [string, string][]; body: string | null | Uint8Array },
      q: { isHead: boolean; minor: number; keepAlive: boolean; requestId: string | undefined },
    ) => {
      let res: Response;
      try {
        res = new Light(r.body, { status: r.status, statusText: r.statusText, headers: r.fields });
      } catch {
        return 'not a response';
      }
      try {
        const p = planResponse(res, q.isHead, q.minor, q.keepAlive, q.requestId);
        // The date may be another second's when planned again.
        return { ...p, head: p.head.replace(/date: [^\r]*/, 'date: D') };
      } catch (err) {
        assert.ok(err instanceof ResponseHeaderError, String(err));
        return 'refused';
      }
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(response, fc.array(request, { minLength: 1, maxLength: 3 })), {
          minLength: 1,
          maxLength: 20,
        }),
        (runs) => {
          // Each response is answered to one to three requests in a row.
          const steps = runs.flatMap(([r, qs]) => qs.map((q) => [r, q] as const));
          forgetFixedHead();
          const live = steps.map(([r, q]) => plan(r, q));
          const fresh = steps.map(([r, q]) => {
            forgetFixedHead();
            return plan(r, q);
          });
          assert.deepEqual(live, fresh);
        },
      ),
      { numRuns: 1000 },
    );
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
});
