// toResponse: the kept CGI head's responses (one sealed field list, made once) against the same
// head taken the general way (a fresh list per response), with the engine's light Response.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { after, before, test } from 'node:test';
import { installGlobals, uninstallGlobals } from '../../reception/globals.ts';
import { planResponse } from '../../reception/response-head.ts';
import { createContext } from '../../testing.ts';
import { forgetCgiHead, keptHeadFields, parseCgiHead } from './cgi-headers.ts';
import { toResponse } from './response.ts';

before(installGlobals);
after(uninstallGlobals);

const LINES = [
  'X-Powered-By: PHP/8.2.7',
  'Content-type: text/html; charset=UTF-8',
  'Content-Type: application/json',
  'Cache-Control: no-store',
  'Vary: Accept',
  'Vary: Cookie',
  'X-Frame-Options: DENY',
  'Pragma: no-cache',
  'Status: 404 Not Found',
  'Status: 201 Created',
  'Status: 204 No Content',
];

const wire = (res: Response, isHead: boolean) => {
  const p = planResponse(res, isHead, 1, true);
  return (
    p.head.replace(/date: [^\r]*\r\n/, '') + (p.bytes === null ? '' : Buffer.from(p.bytes as Uint8Array).toString())
  );
};

test('a response of the kept head is the one the general path makes, whatever the head and the request', () => {
  fc.assert(
    fc.property(
      fc.subarray(LINES, { minLength: 1, maxLength: 6 }),
      fc.constantFrom('GET', 'HEAD', 'POST'),
      fc.boolean(),
      (lines, method, change) => {
        forgetCgiHead();
        const text = Buffer.from(`${lines.join('\r\n')}`, 'latin1');
        let head: ReturnType<typeof parseCgiHead>;
        try {
          head = parseCgiHead(text);
          head = parseCgiHead(text); // the second parse is the kept one, when the head is keepable
        } catch {
          return;
        }
        const req = new Request('http://x/a.php', { method });
        const make = (headers: typeof head.headers) =>
          toResponse(
            { status: head.status, headers, lower: head.lower, body: Buffer.from('hello') },
            req,
            createContext(),
            undefined,
          );
        const kept = make(head.headers) as Response;
        const general = make(head.headers.map((p) => [p[0], p[1]] as const)) as Response;
        if (change) {
          kept.headers.set('x-app', '1');
          general.headers.set('x-app', '1');
        }
        assert.equal(kept.status, general.status);
        assert.equal(wire(kept, method === 'HEAD'), wire(general, method === 'HEAD'));
        // The next response of the same head has none of this one's changes.
        const next = make(head.headers) as Response;
        assert.equal(next.headers.get('x-app'), null);
      },
    ),
    { numRuns: 400 },
  );
});

test('the kept head is used only while it is the kept one; a head with a cookie or a length is never kept', () => {
  forgetCgiHead();
  const php = Buffer.from('X-Powered-By: PHP\r\nContent-type: text/html');
  parseCgiHead(php);
  const kept = parseCgiHead(php);
  assert.equal(keptHeadFields(), kept.headers);
  for (const line of ['Set-Cookie: a=1', 'Content-Length: 5', 'Location: /x', 'X-Sendfile: /etc/passwd']) {
    forgetCgiHead();
    const h = Buffer.from(`Content-type: text/html\r\n${line}`);
    parseCgiHead(h);
    assert.notEqual(keptHeadFields(), parseCgiHead(h).headers, line);
  }
});
