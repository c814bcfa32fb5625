// PHP through Foyer against PHP through nginx, the front most php-fpm sites run behind: the same
// php-fpm pool, the same docroot, nginx configured as Debian ships it (snippets/fastcgi-php.conf,
// which includes fastcgi.conf), and the same raw requests to both. What PHP sees ($_SERVER, $_GET,
// $_POST, $_COOKIE, the body) and what the client gets (status, headers, body) must agree, except
// for the deviations listed below, each with its reason. A table of nasty requests, then random
// queries and PATH_INFO from fast-check.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type FastCgiMiddleware, fastcgi } from '../../src/handlers/fastcgi/index.ts';
import type { PhpFpmProcess } from '../../src/handlers/fastcgi/php-fpm.ts';
import { type Server, serve } from '../../src/server.ts';
import { type RunningNginx, skipWithoutNginx, startNginx } from '../helpers/nginx.ts';
import { docroot, skipWithoutPhpFpm, startPhpFpm } from './helpers.ts';

const SNIPPET = '/etc/nginx/snippets/fastcgi-php.conf';
const FASTCGI_CONF = '/etc/nginx/fastcgi.conf';
const skip =
  skipWithoutPhpFpm ||
  skipWithoutNginx ||
  (existsSync(SNIPPET) && existsSync(FASTCGI_CONF) ? false : `${SNIPPET} missing (apt-get install nginx-common)`);

/**
 * $_SERVER entries left out of the comparison, and why. Anything else must be equal.
 * - REMOTE_PORT, SERVER_PORT, REQUEST_TIME*: differ by nature (two listeners, two moments).
 * - SERVER_SOFTWARE: names the front.
 * - HTTP_CONNECTION: hop-by-hop (RFC 9110 §7.6.1); Foyer does not hand it on, nginx does.
 * - HTTP_CONTENT_LENGTH, HTTP_CONTENT_TYPE: RFC 3875 §4.1.18 says not to repeat the header
 *   fields CONTENT_LENGTH and CONTENT_TYPE already carry; nginx 1.22 repeats them.
 * - PATH_TRANSLATED: Foyer sets it with PATH_INFO (RFC 3875 §4.1.6); Debian's config does not.
 * - DOCUMENT_URI: nginx's own variable, which its try_files turns into the script's name; Foyer
 *   gives the decoded request path.
 * - REMOTE_USER: nginx passes the name in any Basic Authorization header, checked or not; Foyer
 *   only a name its Basic auth verified (tested below), so an app trusting it is not fooled.
 * Elsewhere: Foyer refuses a name starting with `.` anywhere in the path, PATH_INFO included
 * (403; its dotfile rule), and an escaped `/` or a malformed escape in the path (400: one path
 * decision for every layer, and a path it cannot decode has none), where nginx hands
 * `/info.php/.x`, `/info.php/a%2Fb` and `/info.php/%zz` to PHP; the random paths avoid them. A
 * target with dot segments (`/sub/../info.php`) gets a 308 to its one name, where nginx runs the
 * script with that raw REQUEST_URI: an app guard and the access rules saw the name without them.
 */
const NOT_COMPARED = new Set([
  'REMOTE_PORT',
  'SERVER_PORT',
  'REQUEST_TIME',
  'REQUEST_TIME_FLOAT',
  'SERVER_SOFTWARE',
  'HTTP_CONNECTION',
  'HTTP_CONTENT_LENGTH',
  'HTTP_CONTENT_TYPE',
  'PATH_TRANSLATED',
  'DOCUMENT_URI',
  'REMOTE_USER',
]);

interface Seen {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function ask(port: number, method: string, target: string, headers: Record<string, string | string[]>, body?: string) {
  return new Promise<Seen>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: target,
        headers: { host: 'example.test', ...headers },
        setHost: false,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('latin1');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * What PHP saw, comparable across the two fronts. nginx's fastcgi.conf sends CONTENT_TYPE,
 * CONTENT_LENGTH, REMOTE_USER and PATH_INFO empty when there is none; Foyer leaves them out:
 * RFC 3875 §4.1.2 allows either, so an empty value counts as absent.
 */
function phpView(body: string): Record<string, unknown> {
  const dump = JSON.parse(body) as { server?: Record<string, string> } & Record<string, unknown>;
  // The front controller's own answer: its `path_info` is `$_SERVER['PATH_INFO'] ?? null`.
  if (dump.server === undefined) return { ...dump, path_info: dump.path_info === '' ? null : dump.path_info };
  const server: Record<string, string> = {};
  for (const [k, v] of Object.entries(dump.server)) if (!NOT_COMPARED.has(k) && v !== '') server[k] = v;
  return { ...dump, server };
}

/** What the client got: status, the headers a PHP app sets, and the body (or what PHP saw). */
function clientView(r: Seen): Record<string, unknown> {
  const h = r.headers;
  const json = (h['content-type'] ?? '').startsWith('application/json');
  return {
    status: r.status,
    type: h['content-type'],
    location: h.location,
    cookies: h['set-cookie'],
    custom: [h['x-custom'], h['x-multi']],
    body: json ? phpView(r.body) : r.body,
  };
}

type Case = [method: string, target: string, headers?: Record<string, string | string[]>, body?: string];

const TABLE: Case[] = [
  ['GET', '/info.php'],
  ['GET', '/info.php?a=1&b=2'],
  ['GET', '/info.php?a[]=1&a[]=2&c=%20x+y&d=%ZZ&e'],
  ['GET', '/info.php?'],
  ['GET', '/info.php/extra/path'],
  ['GET', '/info.php/x%20y/%C3%A9?q=%2F'],
  ['GET', '/info.php/a;b/c=d'],
  ['GET', '/info.php', { cookie: 'a=1; b=2; a=3' }],
  ['GET', '/info.php', { cookie: ['a=1', 'b=2'] }],
  ['GET', '/info.php', { authorization: 'Basic dTpw', 'x-forwarded-for': '10.0.0.1', proxy: 'http://evil' }],
  ['GET', '/info.php', { 'content-length': '0', 'user-agent': 'ua "quoted" \\', referer: '/r' }],
  // A browser's fields of 128 bytes and more (four-byte lengths in the params), and a long name.
  [
    'GET',
    '/info.php?q=1',
    {
      'user-agent': `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 ${'x'.repeat(30)}`,
      accept:
        'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
      cookie: `session=${'a'.repeat(300)}; theme=dark`,
      [`x-${'n'.repeat(130)}`]: 'long name',
    },
  ],
  ['POST', '/info.php', { 'content-type': 'application/x-www-form-urlencoded' }, 'x=1&y=%C3%A9&z[]=2'],
  ['POST', '/info.php?q=1', { 'content-type': 'application/json' }, '{"a":1}'],
  ['POST', '/info.php', {}, 'raw'],
  ['PUT', '/info.php', { 'content-type': 'text/plain' }, 'put body'],
  ['DELETE', '/info.php'],
  ['OPTIONS', '/info.php'],
  ['GET', '/index.php'],
  ['GET', '/'],
  ['GET', '/status.php'],
  ['GET', '/redirect.php'],
  ['GET', '/headers.php'],
  ['GET', '/nocontent.php'],
  ['HEAD', '/hello.php'],
  ['GET', '/hello.php'],
];

describe('PHP through Foyer and through nginx (Debian config) agree', { skip }, () => {
  let fpm: PhpFpmProcess;
  let php: FastCgiMiddleware;
  let server: Server;
  let nginx: RunningNginx;

  before(async () => {
    fpm = await startPhpFpm({ children: 2 });
    php = fastcgi({ upstream: fpm.upstream, root: docroot });
    server = await serve({
      port: 0,
      logLevel: 'silent',
      fetch: (req, ctx) => php(req, ctx, async () => new Response('not found', { status: 404 })),
    });
    nginx = await startNginx(
      (port) => `  access_log off;
  server {
    listen 127.0.0.1:${port};
    server_name example.test;
    root ${docroot};
    index index.php;
    location ~ [^/]\\.php(/|$) {
      include ${SNIPPET};
      fastcgi_pass ${fpm.upstream};
    }
  }`,
      { 'fastcgi.conf': readFileSync(FASTCGI_CONF, 'utf8') },
    );
  });
  after(async () => {
    await server?.close();
    php?.close();
    await nginx?.stop();
    await fpm?.stop();
  });

  async function both(c: Case): Promise<[Record<string, unknown>, Record<string, unknown>]> {
    const [method, target, headers = {}, body] = c;
    const viaNginx = await ask(nginx.port, method, target, headers, body);
    const viaFoyer = await ask(server.address.port, method, target, headers, body);
    return [clientView(viaNginx), clientView(viaFoyer)];
  }

  test('a table of requests: PHP sees the same request and the client the same answer', async () => {
    for (const c of TABLE) {
      const [want, got] = await both(c);
      assert.deepEqual(got, want, `${c[0]} ${c[1]} ${JSON.stringify(c[2] ?? {})}`);
    }
  });

  test('random queries and PATH_INFO: the same QUERY_STRING, REQUEST_URI, PATH_INFO, SCRIPT_NAME and $_GET', async () => {
    // RFC 3986 pchar and query characters, escapes (valid, invalid, UTF-8) and PHP's array syntax.
    const common = [..."abcXYZ019-._~!$&'()*+,;=:@/".split(''), '%20', '%25', '%C3%A9', '%E2%82%AC', '[]', '[k]', '+'];
    const text = (pieces: string[]) => fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((a) => a.join(''));
    await fc.assert(
      fc.asyncProperty(text(common), text([...common, '%2F', '%zz', '?', '%3F', '%23']), async (info, query) => {
        // No empty or dot segments (both fronts redirect or refuse those: the table has them) and no
        // names starting with `.` (Foyer's dotfile rule, above).
        const pathInfo = info
          .replace(/\/+/g, '/')
          .replace(/^\//, '')
          .replace(/(^|\/)\./g, '$1x');
        const target = `/info.php${pathInfo.length > 0 ? `/${pathInfo}` : ''}?${query}`;
        const [want, got] = await both(['GET', target]);
        assert.deepEqual(got, want, target);
      }),
      { numRuns: 40 },
    );
  });

  test('REMOTE_USER is never taken from an unchecked Authorization header', async () => {
    const r = await ask(server.address.port, 'GET', '/info.php', { authorization: 'Basic YWRtaW46eA==' });
    assert.equal((JSON.parse(r.body) as { server: Record<string, string> }).server.REMOTE_USER, undefined);
  });

  test('a header sent twice reaches PHP as one comma-joined value (RFC 9110 §5.3), as nginx ≥ 1.23 does', async () => {
    const r = await ask(server.address.port, 'GET', '/info.php', { 'x-foo': ['a', 'b'] });
    assert.equal((JSON.parse(r.body) as { server: Record<string, string> }).server.HTTP_X_FOO, 'a, b');
  });
});
