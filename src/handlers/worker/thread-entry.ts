// Runs inside a pool thread: one call per offloaded request (piscina's task). Several calls may be
// in flight on one thread at once when their middleware awaits (next(), I/O); each has its own
// port, context and streams, and nothing request-scoped lives in this module.
import { type MessagePort, threadId, workerData } from 'node:worker_threads';
import type { Middleware, Next } from '../../types.ts';
import { FoyerError } from '../../util/errors.ts';
import { deferred } from './deferred.ts';
import { loadLayer } from './load-layer.ts';
import { PortStreams } from './port-streams.ts';
import { ThreadContext, unserialisable, unserialisableError } from './thread-context.ts';
import {
  errorFields,
  fromErrorFields,
  type FromWorker,
  requestHead,
  responseHead,
  type ToWorker,
  toRequest,
  toResponse,
} from './wire.ts';

export interface OffloadTask {
  port: MessagePort;
  module: string;
}

// The pool's module starts loading as the thread starts, not when the first request arrives. (No
// top-level await: from the sources, piscina loads this file through tsx's require hook.)
const preload = (workerData as { preload?: string } | null)?.preload;
if (typeof preload === 'string') loadLayer(preload).catch(() => {});

export default async function runOffloaded({ port, module }: OffloadTask): Promise<void> {
  const streams = new PortStreams(port, 1);
  const post = (msg: FromWorker) => port.postMessage(msg);
  let ctx: ThreadContext | undefined;
  let nextReply: { resolve: (r: Response) => void; reject: (e: Error) => void } | undefined;
  let aborted = false;
  const init = deferred<Extract<ToWorker, { k: 'init' }>>();

  port.on('message', (msg: ToWorker) => {
    if (streams.handle(msg)) return;
    if (msg.k === 'init') init.resolve(msg);
    else if (msg.k === 'abort') {
      aborted = true;
      ctx?.abort();
    } else if (msg.k === 'next-res') nextReply?.resolve(toResponse(msg.res, streams));
    else if (msg.k === 'next-err') nextReply?.reject(fromErrorFields(msg.err));
  });
  const { req: head, ctx: view } = await init.promise;
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
  ctx = new ThreadContext(view, post);
  const req = toRequest(head, streams, ctx.signal);

  let called = false;
  const next: Next = (nextReq = req) => {
    if (called) return Promise.reject(new FoyerError('FOYER_NEXT_CALLED_TWICE', 'offloaded layer'));
    called = true;
    const c = ctx as ThreadContext;
    const bad = unserialisable(c.attributes);
    if (bad.length > 0) return Promise.reject(unserialisableError('next() from an offloaded layer', bad));
    const reply = deferred<Response>();
    nextReply = reply;
    post({ k: 'next', req: requestHead(nextReq, streams), params: c.params, attributes: [...c.attributes] });
    return reply.promise;
  };

  try {
    const res = await layer(req, ctx, next);
    if (res === null || typeof res !== 'object' || typeof res.status !== 'number') {
      throw new FoyerError('FOYER_NO_RESPONSE', 'offloaded layer');
    }
    const bad = unserialisable(ctx.attributes);
    if (bad.length > 0) throw unserialisableError('response of an offloaded layer', bad);
    const done = bodyDone(port);
    post({ k: 'res', res: responseHead(res, streams), attributes: [...ctx.attributes] });
    await done;
  } catch (err) {
    post({ k: 'err', err: errorFields(err) });
  }
  await ctx.settled();
  port.close();
}

/**
 * Resolves when the main thread says it is done with this request (the response body was read or
 * cancelled): the task, and the thread's slot, stay busy until then, so the pool's count of busy
 * threads includes those still streaming.
 */
function bodyDone(port: MessagePort): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (msg: ToWorker) => {
      if (msg.k === 'done') {
        port.off('message', onMessage);
        resolve();
      }
    };
    port.on('message', onMessage);
  });
}
