import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { splitTarget } from '../analysis/target-path.ts';
import { escapeHtml } from './escape-html.ts';
import { pathOf } from './url-path.ts';

// Paths and queries as a client may send them: reserved characters, escapes, dots, non-ASCII.
const pathChar = fc.constantFrom('a', 'Z', '/', '.', '%', '2', 'f', ';', '=', '@', ':', '~', 'é', '+', '!');
const segmentText = fc.string({ unit: pathChar, maxLength: 20 });
const queryText = fc.string({ unit: fc.constantFrom('a', '=', '&', '/', '?', '%', '2', 'é', ':'), maxLength: 12 });
const fragment = fc.string({ unit: fc.constantFrom('a', '#', '?', '/'), maxLength: 6 });

const nasty = [
  'http://h',
  'http://h/',
  'http://h:8080',
  'http://h/#f',
  'http://h/a?b#c',
  'http://h/a#b?c',
  'http://h/a??b',
  'http://[::1]:80/p?q',
  'http://h//double//slash',
  '/origin/form?x=1#y',
];

test('pathOf and splitTarget read the path and query of an absolute URL as new URL does', () => {
  const check = (url: string) => {
    const split = splitTarget(url);
    assert.equal(pathOf(url), split.rawPath, url);
    if (!url.startsWith('/')) {
      const parsed = new URL(url);
      assert.equal(split.rawPath, parsed.pathname, url);
      // An empty query stays '?' here (the raw target had one); new URL's search drops it.
      assert.equal(split.search === '?' ? '' : split.search, parsed.search, url);
    }
  };
  for (const url of nasty) check(url);
  fc.assert(
    fc.property(segmentText, fc.option(queryText), fc.option(fragment), (p, q, f) => {
      // new URL percent-encodes what a client would have sent encoded: compare on its serialisation.
      const url = new URL(`http://h/${p}${q === null ? '' : `?${q}`}${f === null ? '' : `#${f}`}`).href;
      check(url);
    }),
    { numRuns: 500 },
  );
});

test('an origin-form target keeps its path and query', () => {
  assert.deepEqual(splitTarget('/a/b?c=d#e'), { rawPath: '/a/b', search: '?c=d' });
  assert.equal(pathOf('/a/b?c=d'), '/a/b');
  assert.equal(pathOf('/a/b'), '/a/b');
});

test('escapeHtml escapes the five characters that end text or an attribute value', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&amp;</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
  );
  assert.equal(escapeHtml(42), '42');
  assert.equal(escapeHtml('plain é'), 'plain é');
});
