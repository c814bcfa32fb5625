import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FieldFinder } from './transaction.ts';

// The reference: the first field whose name, ASCII-lowercased, is the name looked up.
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
function reference(fields: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (asciiLower(fields[i]!) === lower) return fields[i + 1];
  return undefined;
}

test('a field finder answers what a case-folding scan answers, request after request (its remembered spelling never misleads it)', () => {
  // Spellings of the looked-up name, and other names of its length (a remembered spelling must not
  // match them), including non-ASCII letters that case-fold to ASCII in Unicode but not in HTTP.
  const names = fc.constantFrom(
    'User-Agent',
    'user-agent',
    'USER-AGENT',
    'uSeR-aGeNt',
    'User_Agent',
    'User-Agenz',
    'User-Agen\u212a', // KELVIN SIGN: lowercases to 'k' in Unicode, not a token character
    'Referer',
    'referer',
    'REFERER',
    'Referrr',
    'Host',
    'x-request-id',
    'X-Request-ID',
    'x-request-ie',
  );
  const request = fc.array(fc.tuple(names, fc.string({ maxLength: 3 })), { maxLength: 6 }).map((pairs) => pairs.flat());
  fc.assert(
    fc.property(
      fc.constantFrom('user-agent', 'referer', 'x-request-id'),
      fc.array(request, { maxLength: 10 }),
      (lower, requests) => {
        const finder = new FieldFinder(lower);
        for (const fields of requests)
          assert.equal(finder.value(fields), reference(fields, lower), JSON.stringify(fields));
      },
    ),
    { numRuns: 3000 },
  );
});

test('a field finder returns the first of repeated fields, whichever spelling it remembers', () => {
  const finder = new FieldFinder('user-agent');
  assert.equal(finder.value(['User-Agent', 'a']), 'a');
  assert.equal(finder.value(['user-agent', 'first', 'User-Agent', 'second']), 'first');
  assert.equal(finder.value(['Host', 'h', 'USER-AGENT', 'x', 'User-Agent', 'y']), 'x');
  assert.equal(finder.value(['Host', 'h']), undefined);
  assert.equal(finder.value([]), undefined);
});
