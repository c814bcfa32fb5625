// Every way a request can end leaves exactly one transaction record with the right status and
// request line: a response, a handler error, parser refusals, timeouts, a client that left, a
// limit cut. Raw sockets, real engine; the records are formatted as the access log writes them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFormatter } from '../../src/log/access-format.ts';
import type { Transaction } from '../../src/reception/transaction.ts';
import type { Server } from '../../src/server.ts';
import { exchange, firstResponse, RawConnection, statuses } from '../helpers/raw-client.ts';
import { sleep, start } from '../helpers/loopback-server.ts';

const combined = createFormatter('combined');
const lines: string[] = [];
const txs: { status: number; bytes: number; id: string | undefined }[] = [];
let server: Server;
let seenId: string | undefined;

function record(tx: Transaction): void {
  lines.push(combined(tx, Date.now()));
  txs.push({ status: tx.status, bytes: tx.bytes, id: tx.ctx?.requestId });
}

/** Waits until `n` more records arrived after `from` (they come after the last byte, asynchronously). */
async function recordsAfter(from: number, n: number, ms = 3000): Promise<string[]> {
  const until = Date.now() + ms;
  while (lines.length < from + n && Date.now() < until) await sleep(10);
  await sleep(30); // and no more than that
  return lines.slice(from);
}

before(async () => {
  server = await start(
    async (req, ctx) => {
      const path = new URL(req.url).pathname;
      seenId = ctx.requestId;
      if (path === '/boom') throw new Error('handler failure');
      if (path === '/slow') await sleep(300);
      if (path === '/read') return new Response(await req.text());
      if (path === '/stream') {
        let n = 0;
        return new Response(
          new ReadableStream({
            async pull(c) {
              await sleep(20);
              c.enqueue(new Uint8Array(1000));
              if (++n === 100) c.close();
            },
          }),
        );
      }
      return new Response('hello');
    },
    {
      onTransaction: record,
      requestId: { trust: (peer) => peer === '127.0.0.1' },
      limits: { headersTimeout: 300, bodyTimeout: 300, minBodyRate: 1000, maxBodySize: 100, maxRequestLineSize: 64 },
    },
  );
});
after(() => server?.close());

describe('one transaction record per request', () => {
  test('a response: request line, status and body bytes, referer and user agent escaped as nginx does', async () => {
    const from = lines.length;
    await exchange(
      server.address.port,
      'GET /a?b=1 HTTP/1.1\r\nHost: x\r\nReferer: http://r/"q"\\\r\nUser-Agent: tab\there\r\n\r\n',
    );
    const got = await recordsAfter(from, 1);
    assert.equal(got.length, 1);
    assert.match(
      got[0]!,
      /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/a\?b=1 HTTP\/1\.1" 200 5 "http:\/\/r\/\\x22q\\x22\\x5C" "tab\\x09here"\n$/,
    );
  });

  test('pipelined requests each get their line, in order', async () => {
    const from = lines.length;
    const one = (p: string) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    await exchange(server.address.port, one('/1') + one('/2') + one('/3') + 'HEAD /4 HTTP/1.0\r\n\r\n');
    const got = await recordsAfter(from, 4);
    assert.deepEqual(
      got.map((l) => /"(.*?)" (\d+) (\d+)/.exec(l)!.slice(1).join(' ')),
      ['GET /1 HTTP/1.1 200 5', 'GET /2 HTTP/1.1 200 5', 'GET /3 HTTP/1.1 200 5', 'HEAD /4 HTTP/1.0 200 0'],
    );
  });

  test('a handler error is logged as its 500', async () => {
    const from = lines.length;
    await exchange(server.address.port, 'GET /boom HTTP/1.1\r\nHost: x\r\n\r\n');
    const got = await recordsAfter(from, 1);
    assert.equal(got.length, 1);
    assert.match(got[0]!, /"GET \/boom HTTP\/1\.1" 500 /);
  });

  const refusals: [string, string, RegExp][] = [
    ['a malformed request line (400)', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', /"GET \/a b HTTP\/1\.1" 400 /],
    ['a bad header (400)', 'GET /h HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n', /"GET \/h HTTP\/1\.1" 400 /],
    [
      'a body over the limit (413)',
      'POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n',
      /"POST \/big HTTP\/1\.1" 413 /,
    ],
    ['a target over the limit (414)', `GET /${'a'.repeat(100)}`, /"GET \/a{100}" 414 /],
    [
      'too many header bytes (431)',
      `GET /h HTTP/1.1\r\nHost: x\r\nX: ${'y'.repeat(20_000)}\r\n\r\n`,
      /"GET \/h HTTP\/1\.1" 431 /,
    ],
    [
      'an unknown expectation (417)',
      'GET /e HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n',
      /"GET \/e HTTP\/1\.1" 417 /,
    ],
    [
      'control bytes in the line, escaped',
      'GET /\x01"x HTTP/1.1\r\nHost: x\r\n\r\n',
      /"GET \/\\x01\\x22x HTTP\/1\.1" 400 /,
    ],
  ];
  for (const [name, raw, want] of refusals) {
    test(`a parser refusal: ${name}, with what could be read of the request line`, async () => {
      const from = lines.length;
      const r = await exchange(server.address.port, raw);
      const got = await recordsAfter(from, 1);
      assert.equal(got.length, 1, got.join(''));
      assert.match(got[0]!, want);
      assert.equal(txs.at(-1)!.status, firstResponse(r.text).status);
    });
  }

  test('an incomplete head times out as a 408 with its partial request line', async () => {
    const from = lines.length;
    await exchange(server.address.port, 'GET /partial HTTP/1.1\r\nHo', { quietMs: 700 });
    const got = await recordsAfter(from, 1);
    assert.equal(got.length, 1);
    assert.match(got[0]!, /"GET \/partial HTTP\/1\.1" 408 /);
  });

  test('a body too slow is a 408 logged with its request', async () => {
    const from = lines.length;
    await exchange(server.address.port, 'POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nab', {
      quietMs: 900,
    });
    const got = await recordsAfter(from, 1);
    assert.equal(got.length, 1);
    assert.match(got[0]!, /"POST \/read HTTP\/1\.1" 408 /);
  });

  test('a chunked body cut by the size limit is a 413 logged with its request', async () => {
    const from = lines.length;
    await exchange(
      server.address.port,
      `POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n${'z'.repeat(128)}\r\n0\r\n\r\n`,
    );
    const got = await recordsAfter(from, 1);
    assert.equal(got.length, 1);
    assert.match(got[0]!, /"POST \/read HTTP\/1\.1" 413 /);
  });

  test('a client that leaves before its response is logged 499', async () => {
    const from = lines.length;
    // Closes after 200 ms of silence, before the 300 ms answer (a FIN with the request would be a half-close).
    await exchange(server.address.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', { quietMs: 200 });
    const got = await recordsAfter(from, 1);
    assert.equal(got.length, 1);
    assert.match(got[0]!, /"GET \/slow HTTP\/1\.1" 499 /);
  });

  test('a client that leaves mid-stream: the status sent and the bytes that left', async () => {
    const from = lines.length;
    const s = await RawConnection.open(server.address.port);
    s.send('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await s.until((got) => got.length > 0, 5000);
    s.destroy();
    const got = await recordsAfter(from, 1);
    assert.equal(got.length, 1);
    const bytes = Number(/" 200 (\d+) /.exec(got[0]!)?.[1]);
    assert.ok(bytes > 0 && bytes < 100_000, got[0]);
  });

  test('connections that send nothing leave no line', async () => {
    const from = lines.length;
    const s = await RawConnection.open(server.address.port);
    s.end();
    await sleep(100);
    assert.equal(lines.length, from);
  });
});

describe('request ids', () => {
  test('generated: on the response, on ctx and in the record, unique', async () => {
    const from = txs.length;
    const a = firstResponse((await exchange(server.address.port, 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n')).text);
    const ctxId = seenId;
    const b = firstResponse((await exchange(server.address.port, 'GET /y HTTP/1.1\r\nHost: x\r\n\r\n')).text);
    await recordsAfter(lines.length, 0);
    const idA = a.headers.get('x-request-id');
    assert.ok(idA !== undefined && /^[a-z0-9]+-[a-z0-9]+$/.test(idA), idA);
    assert.notEqual(idA, b.headers.get('x-request-id'));
    assert.equal(ctxId, idA);
    assert.equal(txs[from]!.id, idA);
  });

  test('a trusted peer’s X-Request-Id is kept; an unsafe one is replaced', async () => {
    const kept = firstResponse(
      (await exchange(server.address.port, 'GET /x HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-123\r\n\r\n')).text,
    );
    assert.equal(kept.headers.get('x-request-id'), 'abc-123');
    const replaced = firstResponse(
      (await exchange(server.address.port, 'GET /x HTTP/1.1\r\nHost: x\r\nX-Request-Id: a"b c\r\n\r\n')).text,
    );
    assert.notEqual(replaced.headers.get('x-request-id'), 'a"b c');
    assert.match(replaced.headers.get('x-request-id') ?? '', /^[a-z0-9]+-[a-z0-9]+$/);
  });
});

describe('requests pipelined behind a response that closes the connection', () => {
  test('are logged (as 499) and their handlers told, though never answered', async () => {
    // The POST's client was never sent its 100 (its body came at once): the connection cannot be
    // reused after it (RFC 9110 §10.1.1), so the GET behind it, whose handler already ran, is not answered.
    const ran: string[] = [];
    const aborted: string[] = [];
    const logged: string[] = [];
    const s = await start(
      async (req, ctx) => {
        const path = new URL(req.url).pathname;
        ran.push(path);
        ctx.signal.addEventListener('abort', () => aborted.push(path));
        if (path === '/p') await sleep(100);
        return new Response('ok');
      },
      { onTransaction: (tx) => void logged.push(`${tx.target} ${tx.status}`) },
    );
    try {
      const r = await exchange(
        s.address.port,
        'POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nokGET /z HTTP/1.1\r\nHost: x\r\n\r\n',
        { quietMs: 1000 },
      );
      assert.deepEqual(statuses(r.text), [200]);
      assert.deepEqual(ran, ['/p', '/z']);
      for (let waited = 0; logged.length < 2 && waited < 2000; waited += 10) await sleep(10);
      assert.deepEqual(logged.sort(), ['/p 200', '/z 499']);
      assert.deepEqual(aborted, ['/z']);
    } finally {
      await s.close();
    }
  });
});

describe('an onTransaction hook that writes into the fields it is given', () => {
  test("changes nothing for the connection's next request: a value it wrote there is still checked", async () => {
    let told = 0;
    let keys: string[] = [];
    const s = await start(() => new Response('ok'), {
      onTransaction: (tx) => {
        keys = Object.keys(tx); // the whole record, as a plain object a hook may list or serialise
        // `readonly` is only a type: a hook can write. Its write must not reach the list the
        // parser compares the next head with (a repeated field is not checked again).
        const f = tx.fields as string[];
        for (let i = 0; i < f.length; i += 2) if (f[i] === 'X-Note') f[i + 1] = 'a\x01';
        told++;
      },
    });
    const c = await RawConnection.open(s.address.port);
    try {
      c.send('GET /1 HTTP/1.1\r\nHost: h\r\nX-Note: a\r\n\r\n');
      assert.ok(await c.until((t) => statuses(t).length === 1));
      for (let waited = 0; told < 1 && waited < 2000; waited += 10) await sleep(10);
      assert.equal(told, 1);
      for (const k of ['status', 'method', 'target', 'fields', 'ctx']) assert.ok(keys.includes(k), k);
      c.send('GET /2 HTTP/1.1\r\nHost: h\r\nX-Note: a\x01\r\n\r\n'); // a control: not a field value
      assert.ok(await c.until((t) => statuses(t).length === 2));
      assert.deepEqual(statuses(c.text), [200, 400]);
    } finally {
      c.destroy();
      await s.close();
    }
  });

  test('nor does a handler that changes its request’s headers: the same head again is read as sent', async () => {
    // A head whose bytes repeat the previous one's is that head's copy, not parsed again
    // (request-reader.ts): anything written into the first would be the second's fields.
    const seen: string[][] = [];
    let wrote = 0;
    const s = await start(
      (req) => {
        seen.push([...req.headers].flat());
        req.headers.set('x-note', 'evil');
        req.headers.append('x-admin', '1');
        req.headers.delete('host');
        return new Response('ok');
      },
      {
        onTransaction: (tx) => {
          const f = tx.fields as string[];
          f.push('X-Admin', '1');
          f[1] = 'evil';
          wrote++; // not reached if the write threw (fields given frozen)
        },
      },
    );
    const c = await RawConnection.open(s.address.port);
    try {
      // The second is compared with the first (same length), the third and fourth are its repeats.
      for (let n = 1; n <= 4; n++) {
        c.send('GET /same HTTP/1.1\r\nHost: h\r\nX-Note: a\r\n\r\n');
        assert.ok(await c.until((t) => statuses(t).length === n));
      }
      assert.deepEqual(statuses(c.text), [200, 200, 200, 200]);
      for (const fields of seen) assert.deepEqual(fields, ['host', 'h', 'x-note', 'a']);
      assert.equal(seen.length, 4);
      for (let waited = 0; wrote < 4 && waited < 2000; waited += 10) await sleep(10);
      assert.equal(wrote, 4);
    } finally {
      c.destroy();
      await s.close();
    }
  });
});
