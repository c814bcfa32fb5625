import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageChannel } from 'node:worker_threads';
import { PortStreams, WINDOW } from './port-streams.ts';

function pair() {
  const { port1, port2 } = new MessageChannel();
  const a = new PortStreams(port1, 0);
  const b = new PortStreams(port2, 1);
  port1.on('message', (m) => a.handle(m));
  port2.on('message', (m) => b.handle(m));
  const close = () => {
    port1.close();
    port2.close();
  };
  return { a, b, close };
}

/** Sends and releases at once (the head naming the stream is "posted" synchronously here). */
function sent(a: PortStreams, body: ReadableStream<Uint8Array>): number {
  const id = a.send(body);
  a.release(id);
  return id;
}

/** A source of 64 KiB chunks (bounded, so that a broken window fails rather than hangs) that counts pulls. */
function counting() {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (state.pulled === 200) return c.close();
        state.pulled++;
        c.enqueue(new Uint8Array(64 * 1024).fill(state.pulled & 255));
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

test('a sender stops at the window while its reader does not read, and resumes as it reads', async () => {
  const { a, b, close } = pair();
  const { stream, state } = counting();
  const received = b.receive(sent(a, stream));
  await sleep(200);
  const window = WINDOW / (64 * 1024);
  assert.ok(state.pulled <= window + 1, `pulled ${state.pulled} chunks ahead of a reader that read none`);
  const reader = received.getReader();
  for (let i = 0; i < 3 * window; i++) {
    const { value } = await reader.read();
    assert.equal(value?.[0], (i + 1) & 255); // in order, bytes intact
  }
  await sleep(100);
  assert.ok(state.pulled >= 3 * window, 'reading released the sender');
  assert.ok(state.pulled <= 4 * window + 1);
  await reader.cancel();
  await sleep(50);
  assert.equal(state.cancelled, true, 'cancelling the receiver cancels the source');
  close();
});

test('chunks that are views into a larger buffer arrive intact and leave the sender’s buffer usable', async () => {
  const { a, b, close } = pair();
  const shared = new Uint8Array(1000).map((_, i) => i & 255);
  const views = [shared.subarray(0, 10), shared.subarray(500, 900), shared.subarray(990)];
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      for (const v of views) c.enqueue(v);
      c.close();
    },
  });
  const received = b.receive(sent(a, source));
  const got = new Uint8Array(await new Response(received).arrayBuffer());
  assert.deepEqual([...got], [...views.flatMap((v) => [...v])]);
  assert.equal(shared.byteLength, 1000, 'the original buffer was not transferred away');
  assert.equal(shared[999], 999 & 255);
  close();
});

test('a failing source errors the receiving stream; destroy fails what is still open', async () => {
  const { a, b, close } = pair();
  const failing = new ReadableStream<Uint8Array>({
    pull() {
      throw new Error('disk on fire');
    },
  });
  await assert.rejects(new Response(b.receive(sent(a, failing))).arrayBuffer(), /disk on fire/);
  const { stream } = counting();
  const open = b.receive(sent(a, stream)).getReader();
  b.destroy(new Error('thread gone'));
  await assert.rejects(async () => {
    for (;;) if ((await open.read()).done) break;
  }, /thread gone/);
  close();
});

test('a small complete body goes inline; a large one streams, and no chunk overtakes its head', async () => {
  const { a, b, close } = pair();
  const chunks = (n: number) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < n; i++) c.enqueue(new Uint8Array(16_384).fill(i));
        c.close();
      },
    });
  const small = await a.sendOrInline(chunks(3));
  assert.equal(small.id, 0);
  assert.equal(small.bytes?.byteLength, 3 * 16_384);
  const large = await a.sendOrInline(chunks(50));
  assert.notEqual(large.id, 0);
  // The head naming the stream is posted late (after other awaits): nothing may be lost meanwhile.
  await sleep(50);
  const received = b.receive(large.id);
  a.release(large.id);
  const got = new Uint8Array(await new Response(received).arrayBuffer());
  assert.equal(got.byteLength, 50 * 16_384);
  for (let i = 0; i < 50; i++) assert.equal(got[i * 16_384], i);
  close();
});
