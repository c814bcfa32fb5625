// Runs inside a pool thread: one call per offloaded request (piscina's task). Several calls may be
// in flight on one thread at once when their middleware awaits (next(), I/O); each has its own
// port, context and streams, and nothing request-scoped lives in this module.
import { type MessagePort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import type { Middleware, Next } from '../../types.ts';
import { FoyerError } from '../../util/errors.ts';
import { deferred } from './deferred.ts';
import { loadLayer } from './load-layer.ts';
import { PortStreams } from './port-streams.ts';
import { ThreadContext, unserialisable, unserialisableError } from './thread-context.ts';
import {
  type ContextView,
  errorFields,
  fromErrorFields,
  type FromWorker,
  type RequestHead,
  requestHead,
  responseHead,
  type ToWorker,
  toRequest,
  toResponse,
  transferOf,
} from './wire.ts';

export interface OffloadTask {
  port: MessagePort;
  module: string;
  req: RequestHead;
  ctx: ContextView;
}

// The pool's module starts loading as the thread starts, not when the first request arrives. (No
// top-level await: from the sources, piscina loads this file through tsx's require hook.)
const preload = (workerData as { preload?: string } | null)?.preload;
if (typeof preload === 'string') loadLayer(preload).catch(() => {});

export default async function runOffloaded({ port, module, req: head, ctx: view }: OffloadTask): Promise<void> {
  const streams = new PortStreams(port, 1);
  let ctx: ThreadContext | undefined;
  let nextReply: { resolve: (r: Response) => void; reject: (e: Error) => void } | undefined;
  let aborted = false;
  let done: (() => void) | undefined;
  const onMessage = (msg: ToWorker) => {
    if (streams.handle(msg)) return;
    if (msg.k === 'abort') {
      aborted = true;
      ctx?.abort();
    } else if (msg.k === 'next-res') nextReply?.resolve(toResponse(msg.res, streams));
    else if (msg.k === 'next-err') nextReply?.reject(fromErrorFields(msg.err));
    else if (msg.k === 'done') done?.();
  };
  const post = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
  const c = new ThreadContext(view, post);
  ctx = c;
  // The request (and its body's receiving end) exists before any message is read: body chunks
  // may already be waiting on the port, with an abort posted while the task was queued.
  const req = toRequest(head, streams, c.signal);
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) onMessage(m.message);
  port.on('message', onMessage);
  try {
    // A request whose client left (or that timed out) while it waited in the queue is not started.
    if (aborted) return;
    let layer: Middleware;
    try {
      layer = await loadLayer(module);
    } catch (err) {
      post({ k: 'err', err: errorFields(err) });
      return;
    }
    post({ k: 'start', threadId });
    // Structured clone refuses some values: the post throws, and the error names the attributes.
    const postWith = (msg: FromWorker, where: string, transfer: ArrayBuffer[]) => {
      try {
        post(msg, transfer);
      } catch (err) {
        const bad = unserialisable(c.attributes);
        throw bad.length > 0 ? unserialisableError(where, bad) : err;
      }
    };

    let called = false;
    const next: Next = async (nextReq = req) => {
      if (called) throw new FoyerError('FOYER_NEXT_CALLED_TWICE', 'offloaded layer');
      called = true;
      const reply = deferred<Response>();
      nextReply = reply;
      const h = await requestHead(nextReq, streams);
      postWith(
        { k: 'next', req: h, params: c.params, attributes: [...c.attributes] },
        'next() from an offloaded layer',
        transferOf(h),
      );
      streams.release(h.body);
      return reply.promise;
    };

    try {
      const res = await layer(req, c, next);
      if (res === null || typeof res !== 'object' || typeof res.status !== 'number') {
        throw new FoyerError('FOYER_NO_RESPONSE', 'offloaded layer');
      }
      const h = await responseHead(res, streams);
      const finished = h.body === 0 ? undefined : new Promise<void>((resolve) => (done = resolve));
      postWith({ k: 'res', res: h, attributes: [...c.attributes] }, 'response of an offloaded layer', transferOf(h));
      streams.release(h.body);
      // A streamed body keeps the task (and its slot on the thread) busy until the main thread
      // has read it or given up on it.
      await finished;
    } catch (err) {
      post({ k: 'err', err: errorFields(err) });
    }
    await c.settled();
  } finally {
    port.close();
  }
}
