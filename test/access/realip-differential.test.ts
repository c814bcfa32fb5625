// The client decision behind trusted proxies, compared with nginx's realip module (`real_ip_header
// X-Forwarded-For; real_ip_recursive on`) on the same forwarding headers: random chains of trusted,
// untrusted, ported, oddly spelled and unreadable hops, and a table of the inputs where Foyer
// decides otherwise on purpose. Both answer with the client's address and port.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { serve } from '../../src/index.ts';
import type { Server } from '../../src/server.ts';
import { type RunningNginx, skipWithoutNginx, startNginx } from '../helpers/nginx.ts';
import { exchange, firstResponse } from '../helpers/raw-client.ts';

const TRUSTED = ['127.0.0.0/8', '10.0.0.0/8', '::1'];

/** `address|port`, the port empty when unknown, or `peer` for the test client itself. */
async function clientOf(port: number, xff: string | string[]): Promise<string> {
  const fields = (typeof xff === 'string' ? [xff] : xff).map((v) => `X-Forwarded-For: ${v}\r\n`).join('');
  const r = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\n${fields}Connection: close\r\n\r\n`);
  const [address, clientPort] = firstResponse(r.text).body.split('|') as [string, string];
  // The ports hops name here are all below 10000; the test client's own is an ephemeral one.
  if (address === '127.0.0.1' && Number(clientPort) >= 10000) return 'peer';
  return `${address}|${clientPort === '0' ? '' : clientPort}`;
}

describe('client address and port against nginx realip', { skip: skipWithoutNginx }, () => {
  let nginx: RunningNginx;
  let foyer: Server;
  before(async () => {
    nginx = await startNginx(
      (port) => `
  ${TRUSTED.map((t) => `set_real_ip_from ${t};`).join(' ')}
  real_ip_header X-Forwarded-For;
  real_ip_recursive on;
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "$remote_addr|$remote_port"; }
  }`,
    );
    foyer = await serve({
      port: 0,
      logLevel: 'silent',
      trustProxy: TRUSTED,
      fetch: (_req: Request, ctx: { remoteAddress: string; remotePort: number }) =>
        new Response(`${ctx.remoteAddress}|${ctx.remotePort}`),
    });
  });
  after(async () => {
    await foyer?.close(1000);
    await nginx?.stop();
  });

  const both = async (xff: string | string[]) => ({
    foyer: await clientOf(foyer.address.port, xff),
    nginx: await clientOf(nginx.port, xff),
  });

  const port = fc.constantFrom(1, 80, 99, 4711, 8080, 0, 65536, 99999);
  const hop = fc.oneof(
    fc.constantFrom('10.0.0.1', '10.9.8.7', '127.0.0.5', '::1'),
    fc.constantFrom('203.0.113.7', '198.51.100.4', '0.0.0.0'),
    fc.constantFrom('2001:db8::1', '2001:DB8:0:0::1', '2001:0db8:0000:0000:0000:0000:0000:0002', '2001:db8:1:0:0:1::'),
    fc.tuple(fc.constantFrom('203.0.113.7', '10.0.0.1', '127.0.0.5'), port).map(([a, p]) => `${a}:${p}`),
    fc.tuple(fc.constantFrom('2001:db8::1', '::1'), port).map(([a, p]) => `[${a}]:${p}`),
    fc.constantFrom('junk', 'unknown', '1.2.3', '999.1.1.1', '<x>', 'a:b', '1.2.3.4:', '[::1', 'fe80::1%eth0'),
  );
  // Separators with empty elements between hops; never before the first (see the table below).
  const separator = fc.constantFrom(',', ', ', ',,', ', , ');

  test('random chains: the same client, address and port', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(hop, separator), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (hops, trailing) => {
          let xff = hops.map(([h, s]) => `${h}${s}`).join('');
          if (!trailing) xff = xff.replace(/[, ]+$/, '');
          const r = await both(xff);
          assert.equal(r.foyer, r.nginx, xff);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('random chains over two header lines: the same client', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hop, { minLength: 2, maxLength: 6 }), fc.nat(), async (hops, cut) => {
        const at = 1 + (cut % (hops.length - 1));
        const lines = [hops.slice(0, at).join(', '), hops.slice(at).join(', ')];
        const r = await both(lines);
        assert.equal(r.foyer, r.nginx, lines.join(' / '));
      }),
      { numRuns: 100 },
    );
  });

  test('the nasty table: the same client', async () => {
    for (const xff of [
      '203.0.113.7',
      '203.0.113.7:5000',
      '[2001:db8::1]:4711',
      '2001:DB8:0::1',
      'junk, 203.0.113.7',
      '203.0.113.7, junk',
      '203.0.113.7, 10.0.0.1:77',
      '10.0.0.1, 10.0.0.2',
      '203.0.113.7,,10.0.0.1',
      '203.0.113.7, , 10.0.0.1,,',
      '203.0.113.7:0',
      '203.0.113.7:65536',
      '[2001:db8::1]:0',
      '203.0.113.7:080',
      '127.0.0.1:99',
      'fe80::1%eth0',
      ' 203.0.113.7 ',
      '203.0.113.7, [::1]:5',
    ]) {
      const r = await both(xff);
      assert.equal(r.foyer, r.nginx, xff);
    }
  });

  test('where Foyer decides otherwise, on purpose', async () => {
    // [input, Foyer, nginx, why]
    const table: Array<[string, string, string]> = [
      // An IPv4-mapped address is its IPv4 address everywhere in Foyer (peers, rules, logs).
      ['::ffff:203.0.113.7', '203.0.113.7|', '::ffff:203.0.113.7|'],
      // An empty first element is ignored (RFC 9110 §5.6.1); nginx's scan keeps the comma in the token.
      [',203.0.113.7', '203.0.113.7|', 'peer'],
      // A bracketed IPv6 address without a port is a plain IPv6 literal; nginx wants a port after it.
      ['[2001:db8::1]', '2001:db8::1|', 'peer'],
      // Leading zeros in IPv4 are refused (inet_aton would read some as octal); nginx drops them.
      ['01.2.3.4', 'peer', '1.2.3.4|'],
      // Entries are separated by commas; nginx also splits at a space.
      ['1.2.3.4 5.6.7.8', 'peer', '5.6.7.8|'],
      // A port is at most five digits.
      ['1.2.3.4:000080', 'peer', '1.2.3.4|80'],
      // Embedded IPv4 other than mapped is written in hex, as the URL serialiser writes it.
      ['::1.2.3.4', '::102:304|', '::1.2.3.4|'],
    ];
    for (const [xff, ours, theirs] of table) {
      const r = await both(xff);
      assert.deepEqual(r, { foyer: ours, nginx: theirs }, xff);
    }
    // An empty line is an empty element, skipped; nginx takes the last line for the proxy's.
    assert.deepEqual(await both(['5.6.7.8', '']), { foyer: '5.6.7.8|', nginx: 'peer' });
  });
});
