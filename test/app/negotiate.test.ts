import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWeightedList, preferredMediaType } from '../../src/util/negotiate.ts';
import { isWellEncoded, pathOf } from '../../src/util/url-path.ts';

const offers = ['text/plain', 'application/json'];

test('media type negotiation picks the highest q, the most specific range deciding', () => {
  assert.equal(preferredMediaType(null, offers), 'text/plain');
  assert.equal(preferredMediaType('*/*', offers), 'text/plain');
  assert.equal(preferredMediaType('application/json', offers), 'application/json');
  assert.equal(preferredMediaType('application/*, text/plain;q=0.1', offers), 'application/json');
  assert.equal(preferredMediaType('text/html, */*;q=0.8', offers), 'text/plain');
  assert.equal(preferredMediaType('application/json;q=0, */*', offers), 'text/plain');
  assert.equal(preferredMediaType('image/png', offers), undefined);
});

test('weighted lists ignore empty members and treat a malformed q as 0', () => {
  assert.deepEqual(parseWeightedList(' gzip ;q=0.5 ,, BR;level=1;q=1.0, x;q=2'), [
    { value: 'gzip', q: 0.5 },
    { value: 'br', q: 1 },
    { value: 'x', q: 0 },
  ]);
});

test('the path of a URL is found without building a URL object', () => {
  assert.equal(pathOf('http://h:1/a/b?c=d#e'), '/a/b');
  assert.equal(pathOf('http://h'), '/');
  assert.equal(pathOf('http://h?x'), '/');
  assert.equal(pathOf('/plain'), '/plain');
  assert.equal(pathOf('/p?q'), '/p');
});

test('malformed escapes and invalid UTF-8 are detected', () => {
  assert.equal(isWellEncoded('/a%20b'), true);
  assert.equal(isWellEncoded('/a%2'), false);
  assert.equal(isWellEncoded('/%C3%28'), false);
});
