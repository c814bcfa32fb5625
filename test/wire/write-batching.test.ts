// How responses reach the socket: bytes produced together leave together.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { drive } from './memory-socket.ts';

const enc = new TextEncoder();

describe('write batching', () => {
  test('a streamed body that is ready leaves with its head, framed by its length, in one write', async () => {
    const d = drive(
      () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(enc.encode('one '));
              c.enqueue(enc.encode('two'));
              c.close();
            },
          }),
        ),
    );
    await d.feed([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    assert.match(d.socket.text(), /content-length: 7\r\n[\s\S]*\r\n\r\none two$/);
    assert.doesNotMatch(d.socket.text(), /transfer-encoding/);
    assert.equal(d.socket.writes, 1);
  });

  test('a slow first chunk does not hold back the head', async () => {
    let release: () => void = () => {};
    const d = drive(
      () =>
        new Response(
          new ReadableStream({
            async pull(c) {
              await new Promise<void>((r) => {
                release = r;
              });
              c.enqueue(enc.encode('late'));
              c.close();
            },
          }),
        ),
    );
    await d.feed([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    assert.match(d.socket.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/, 'the head went out alone');
    release();
    await d.feed([]);
    assert.match(d.socket.text(), /4\r\nlate\r\n0\r\n\r\n$/);
  });

  test('sixteen pipelined responses leave in one write', async () => {
    const d = drive(() => new Response('ok'));
    await d.feed([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(16))]);
    assert.equal(d.socket.text().split('HTTP/1.1 200').length - 1, 16);
    assert.equal(d.socket.writes, 1);
  });
});
