import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LightHeaders } from './light-headers.ts';
import { kHeaders, LightResponse } from './light-response.ts';
import { planResponse, ResponseHeaderError } from './response-head.ts';

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
});
