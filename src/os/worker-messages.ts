// The messages the primary and its workers exchange over node:cluster's IPC channel, beside
// primary-rpc's calls. Tagged with `foyerWorker` so that nothing else on the channel is mistaken
// for them.

export type ToPrimary =
  /** Listening and ready to serve; `url` is what the ready line prints. */
  | { foyerWorker: 'ready'; url: string }
  /** Asks to be replaced (request count or memory over its bound); keeps serving until retired. */
  | { foyerWorker: 'recycle'; reason: string }
  /** Requests answered so far (sent about once a second while it changes). */
  | { foyerWorker: 'stats'; requests: number };

export type ToWorker =
  /** Stop accepting, finish in-flight requests, close connections when idle, then exit. */
  { foyerWorker: 'retire' };

export function isToPrimary(m: unknown): m is ToPrimary {
  return m !== null && typeof m === 'object' && typeof (m as { foyerWorker?: unknown }).foyerWorker === 'string';
}

export function isToWorker(m: unknown): m is ToWorker {
  return isToPrimary(m);
}
