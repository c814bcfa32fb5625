import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FoyerError, HttpError } from './errors.ts';
import { errorResponse, renderError } from './render-error.ts';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8';

test('text is the default: the public message and a newline, for no Accept, */* or an unknown type', () => {
  for (const accept of [null, '', '*/*', 'image/png', 'text/*', 'garbage;;;,']) {
    const r = renderError(new FoyerError('FOYER_NOT_FOUND'), accept);
    assert.equal(r.status, 404);
    assert.equal(r.body, 'Not Found\n', String(accept));
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  }
});

test('JSON when Accept prefers application/json, by q-value', () => {
  for (const accept of [
    'application/json',
    'text/plain;q=0.5, application/json',
    'application/*',
    '*/*;q=0.1, application/json;q=0.2',
  ]) {
    const r = renderError(new FoyerError('FOYER_FORBIDDEN', 'user 17 lacks admin'), accept);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8', accept);
    assert.deepEqual(JSON.parse(r.body), { error: { status: 403, code: 'FOYER_FORBIDDEN', message: 'Forbidden' } });
  }
  // A JSON client that ranks text higher gets text.
  assert.match(
    renderError(new FoyerError('FOYER_FORBIDDEN'), 'application/json;q=0.4, text/plain').headers['content-type']!,
    /^text\/plain/,
  );
  // q=0 means "not acceptable" (RFC 9110 §12.4.2).
  assert.match(
    renderError(new FoyerError('FOYER_FORBIDDEN'), 'application/json;q=0').headers['content-type']!,
    /^text\/plain/,
  );
});

test('an HTML page when a browser asks for HTML, text for text/* and ties', () => {
  const page = renderError(new FoyerError('FOYER_NOT_FOUND'), BROWSER);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(page.body, /^<!doctype html>/);
  assert.match(page.body, /<title>404 Not Found<\/title>/);
  assert.match(page.body, /<p>Not Found<\/p>/);
  assert.match(
    renderError(new FoyerError('FOYER_NOT_FOUND'), 'text/plain, text/html').headers['content-type']!,
    /^text\/plain/,
  );
  assert.match(
    renderError(new FoyerError('FOYER_NOT_FOUND'), 'text/html;q=0.9, text/plain').headers['content-type']!,
    /^text\/plain/,
  );
});

test('a hostile exposed message is escaped in HTML, quoted in JSON and inert in text', () => {
  const nasty = `<script>alert("x")</script><img src=x onerror='y'>&amp;`;
  const err = new HttpError(422, nasty);
  const page = renderError(err, 'text/html').body;
  assert.doesNotMatch(page, /<script|<img|onerror='/);
  assert.match(
    page,
    /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt;&amp;amp;/,
  );
  assert.equal(JSON.parse(renderError(err, 'application/json').body).error.message, nasty);
  const text = renderError(err, null);
  assert.equal(text.headers['x-content-type-options'], 'nosniff');
  assert.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (message) => {
      const html = renderError(new HttpError(400, message), 'text/html').body;
      const p = /<p>([\s\S]*)<\/p>/.exec(html)![1]!;
      assert.doesNotMatch(p, /[<>"']/);
      assert.equal(
        p.replace(
          /&lt;|&gt;|&quot;|&#39;|&amp;/g,
          (e) => ({ '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&amp;': '&' })[e]!,
        ),
        message,
      );
    }),
  );
});

test('a non-exposed error shows only its status text; the detail stays out of every format', () => {
  const plain = new Error('password=hunter2 at /srv/db.ts');
  for (const accept of [null, 'application/json', 'text/html']) {
    const r = renderError(plain, accept);
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.body, /hunter2|db\.ts/);
    assert.match(r.body, /Internal Server Error/);
    assert.equal(r.error.cause, plain);
  }
  const hidden = renderError(new HttpError(503, 'upstream 10.0.0.3 refused'), null);
  assert.equal(hidden.body, 'Service Unavailable\n');
  const coded = renderError(new FoyerError('FOYER_NEXT_CALLED_TWICE', 'layer 3'), 'application/json');
  assert.deepEqual(JSON.parse(coded.body).error, {
    status: 500,
    code: 'FOYER_NEXT_CALLED_TWICE',
    message: 'Internal Server Error',
  });
});

test("the error's own headers are kept: Retry-After, WWW-Authenticate, Allow, RateLimit", () => {
  const cases: [HttpError, Record<string, string>][] = [
    [new FoyerError('FOYER_UPSTREAM_OVERLOADED', 'pool full', { 'retry-after': '5' }), { 'retry-after': '5' }],
    [
      new FoyerError('FOYER_UNAUTHORIZED', undefined, { 'WWW-Authenticate': 'Basic realm="x", charset="UTF-8"' }),
      { 'www-authenticate': 'Basic realm="x", charset="UTF-8"' },
    ],
    [new FoyerError('FOYER_METHOD_NOT_ALLOWED', undefined, { allow: 'GET, HEAD' }), { allow: 'GET, HEAD' }],
    [
      new FoyerError('FOYER_TOO_MANY_REQUESTS', undefined, {
        ratelimit: '"default";r=0;t=3',
        'ratelimit-policy': '"default";q=20;w=1',
        'retry-after': '3',
      }),
      { ratelimit: '"default";r=0;t=3', 'ratelimit-policy': '"default";q=20;w=1', 'retry-after': '3' },
    ],
  ];
  for (const [err, want] of cases) {
    const r = renderError(err, 'application/json');
    for (const [k, v] of Object.entries(want)) assert.equal(r.headers[k], v, k);
  }
});

test('headers the body decides or the wire cannot carry are dropped, never thrown', () => {
  const r = renderError(
    new HttpError(400, 'x', {
      headers: {
        'content-type': 'text/html',
        'content-length': '1',
        'x-split': 'a\r\nset-cookie: b',
        'bad name': 'v',
        'x-high': 'é',
        'x-ok': ' fine ',
      },
    }),
    null,
  );
  assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(r.headers['content-length'], undefined);
  assert.equal(r.headers['x-split'], undefined);
  assert.equal(r.headers['bad name'], undefined);
  assert.equal(r.headers['x-high'], undefined);
  assert.equal(r.headers['x-ok'], 'fine');
  assert.doesNotThrow(() =>
    errorResponse(new HttpError(400, 'x', { headers: { 'x-split': 'a\nb' } }), new Request('http://h/')),
  );
});

test('a status that is not an error becomes a 500 without its message', () => {
  for (const status of [200, 302, 600, 99, Number.NaN, 404.5]) {
    const r = renderError(new HttpError(status, 'moved along'), null);
    assert.equal(r.status, 500);
    assert.equal(r.body, 'Internal Server Error\n');
  }
});

test('an error from another copy of Foyer keeps its status, message and headers (brand or shape)', () => {
  const branded = Object.assign(new Error('Teapot here'), {
    [Symbol.for('foyer.HttpError')]: true,
    status: 418,
    code: 'APP_TEAPOT',
    expose: true,
    headers: { 'x-kettle': 'on' },
  });
  const r = renderError(branded, 'application/json');
  assert.equal(r.status, 418);
  assert.deepEqual(JSON.parse(r.body).error, { status: 418, code: 'APP_TEAPOT', message: 'Teapot here' });
  assert.equal(r.headers['x-kettle'], 'on');
  // The shape older copies had, without the brand.
  const shaped = Object.assign(new Error('Slow down'), { name: 'HttpError', status: 429, code: 'X', expose: true });
  assert.equal(renderError(shaped, null).status, 429);
  // A lookalike without the brand or the name is a plain error: 500.
  assert.equal(renderError({ status: 404, expose: true, code: 'X', message: 'm' }, null).status, 500);
});

test("Vary: Accept when the body was negotiated, merged with the error's own Vary", () => {
  assert.equal(renderError(new FoyerError('FOYER_NOT_FOUND'), undefined).headers.vary, undefined);
  assert.equal(renderError(new FoyerError('FOYER_NOT_FOUND'), null).headers.vary, 'Accept');
  assert.equal(
    renderError(new HttpError(400, 'x', { headers: { vary: 'Origin' } }), '*/*').headers.vary,
    'Origin, Accept',
  );
});

test('errorResponse answers HEAD without a body but with the length GET would have', async () => {
  const get = errorResponse(new FoyerError('FOYER_NOT_FOUND'), new Request('http://h/x'));
  const head = errorResponse(new FoyerError('FOYER_NOT_FOUND'), new Request('http://h/x', { method: 'HEAD' }));
  assert.equal(await get.text(), 'Not Found\n');
  assert.equal(head.body, null);
  assert.equal(head.headers.get('content-length'), '10');
  assert.equal(head.headers.get('cache-control'), 'no-store');
});
