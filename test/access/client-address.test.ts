// The client decision on the wire: raw requests with forged, repeated and malformed forwarding
// headers, through serve({ trustProxy }), seen by the handler as ctx.remoteAddress and ctx.secure.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serve } from '../../src/index.ts';
import type { Server } from '../../src/server.ts';
import { exchange, firstResponse } from '../helpers/raw-client.ts';

const echo = (req: Request, ctx: { remoteAddress: string; secure: boolean }) =>
  Response.json({ remote: ctx.remoteAddress, secure: ctx.secure, url: req.url });

async function ask(port: number, headers: string): Promise<{ remote: string; secure: boolean }> {
  const r = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`);
  return JSON.parse(firstResponse(r.text).body);
}

describe('client address on the wire', () => {
  let trusting: Server;
  let plain: Server;
  let elsewhere: Server;
  let loopback: Server;
  let loopbackForwarded: Server;
  before(async () => {
    // Clients inside the trusted range too (a neighbour container under `private`, here loopback).
    loopback = await serve({ port: 0, logLevel: 'silent', fetch: echo, trustProxy: ['loopback'] });
    loopbackForwarded = await serve({
      port: 0,
      logLevel: 'silent',
      fetch: echo,
      trustProxy: { trust: ['loopback'], header: 'forwarded' },
    });
    trusting = await serve({ port: 0, logLevel: 'silent', fetch: echo, trustProxy: ['127.0.0.1'] });
    plain = await serve({ port: 0, logLevel: 'silent', fetch: echo });
    // Trusts a proxy the test client is not: headers from 127.0.0.1 are the client's own.
    elsewhere = await serve({ port: 0, logLevel: 'silent', fetch: echo, trustProxy: ['10.0.0.0/8'] });
  });
  after(async () => {
    await Promise.all([
      trusting.close(1000),
      plain.close(1000),
      elsewhere.close(1000),
      loopback.close(1000),
      loopbackForwarded.close(1000),
    ]);
  });

  test('from a trusted proxy, the rightmost untrusted hop and the forwarded scheme', async () => {
    const r = await ask(
      trusting.address.port,
      'X-Forwarded-For: 6.6.6.6\r\nx-forwarded-for: 192.0.2.7, 127.0.0.1\r\nX-Forwarded-Proto: https\r\n',
    );
    assert.equal(r.remote, '192.0.2.7');
    assert.equal(r.secure, true);
  });

  test('forged headers change nothing without --trust-proxy, or from a peer that is not trusted', async () => {
    const forged = 'X-Forwarded-For: 192.0.2.7\r\nForwarded: for=192.0.2.8;proto=https\r\nX-Forwarded-Proto: https\r\n';
    for (const s of [plain, elsewhere]) {
      const r = await ask(s.address.port, forged);
      assert.equal(r.remote, '127.0.0.1');
      assert.equal(r.secure, false);
    }
  });

  test('malformed forwarding headers are ignored: the request is served, from the peer', async () => {
    for (const h of ['X-Forwarded-For: ,,,\r\n', 'X-Forwarded-For: <script>\r\n', 'X-Forwarded-For: 1.2.3.4.5\r\n']) {
      const r = await ask(trusting.address.port, h);
      assert.equal(r.remote, '127.0.0.1', h);
    }
  });

  test("junk left of the proxy's entry does not turn the client into the proxy", async () => {
    // A proxy that appends to what the client sent: the client must stay the entry it added.
    for (const left of ['x', '1.2.3.4:port', Array(70).fill('1.1.1.1').join(',')]) {
      const r = await ask(trusting.address.port, `X-Forwarded-For: ${left}, 192.0.2.7\r\n`);
      assert.equal(r.remote, '192.0.2.7', left.slice(0, 20));
    }
  });

  test('an unreadable hop stops the walk at the hop to its right: a trusted client cannot pose as its proxy', async () => {
    // The proxy (127.0.0.1) appended the address it saw, 127.0.0.2, to what that client sent. Both
    // are trusted, so the walk goes on to the client's own entry, which cannot be read: the client
    // is 127.0.0.2 (nginx's real_ip_recursive agrees). It used to be the proxy, past a deny on .2.
    for (const sent of ['junk', 'unknown', '1.2.3.4:0', '<x>']) {
      const r = await ask(loopback.address.port, `X-Forwarded-For: ${sent}, 127.0.0.2\r\n`);
      assert.equal(r.remote, '127.0.0.2', sent);
    }
    for (const sent of ['for=_hidden', 'for=unknown', 'for="x']) {
      const r = await ask(loopbackForwarded.address.port, `Forwarded: ${sent}, for=127.0.0.2\r\n`);
      assert.equal(r.remote, '127.0.0.2', sent);
    }
    // Every hop trusted and readable: the leftmost is the client, as before.
    assert.equal((await ask(loopback.address.port, 'X-Forwarded-For: 127.0.0.3, 127.0.0.2\r\n')).remote, '127.0.0.3');
    // The entry the peer wrote unreadable: nothing can be believed, the peer is the client.
    assert.equal((await ask(loopback.address.port, 'X-Forwarded-For: 127.0.0.3, junk\r\n')).remote, '127.0.0.1');
  });
});
