// The access log names the client the access layer decided on (trusted proxies) and the user
// authentication set ($remote_user), and keeps only a trusted proxy's X-Request-Id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFormatter } from '../../src/log/access-format.ts';
import type { Transaction } from '../../src/reception/transaction.ts';
import { exchange, firstResponse } from '../helpers/raw-client.ts';
import { sleep, start } from '../helpers/loopback-server.ts';

test('behind a trusted proxy: the forwarded client, the authenticated user, the proxy’s request id', async () => {
  const lines: string[] = [];
  const f = createFormatter('combined');
  const server = await start(
    (req, ctx) => {
      if (new URL(req.url).pathname === '/private') ctx.remoteUser = 'alice "a"';
      return new Response('ok');
    },
    { trustProxy: ['127.0.0.1'], onTransaction: (tx: Transaction) => lines.push(f(tx, Date.now())), requestId: true },
  );
  try {
    const r = firstResponse(
      (
        await exchange(
          server.address.port,
          'GET /private HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\nX-Request-Id: lb-42\r\n\r\n',
        )
      ).text,
    );
    await sleep(50);
    assert.equal(r.headers.get('x-request-id'), 'lb-42');
    assert.match(lines[0]!, /^203\.0\.113\.9 - alice \\x22a\\x22 \[/);
  } finally {
    await server.close();
  }
  const direct = await start(() => new Response('ok'), { requestId: true });
  try {
    const r = firstResponse(
      (await exchange(direct.address.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: forged\r\n\r\n')).text,
    );
    assert.notEqual(r.headers.get('x-request-id'), 'forged');
  } finally {
    await direct.close();
  }
});
