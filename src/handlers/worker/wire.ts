// What crosses the thread boundary for one offloaded request: request and response heads as plain
// data (bodies travel separately as port streams), the context's serialisable view, and errors as
// their fields, so that an HttpError thrown in a worker is the same HttpError on the main thread.
import { HttpError } from '../../util/errors.ts';
import type { PortStreams, StreamMessage } from './port-streams.ts';

export interface RequestHead {
  method: string;
  url: string;
  /** Flat name/value pairs, repeated names kept (Set-Cookie). */
  headers: string[];
  /** Port stream id of the body, or 0 for none (or for an inline body). */
  body: number;
  /** A body complete in memory, sent with the head. */
  bytes?: Uint8Array;
}

export interface ResponseHead {
  status: number;
  statusText: string;
  headers: string[];
  body: number;
  bytes?: Uint8Array;
}

/** The context as the worker sees it: everything except the logger, the signal and waitUntil. */
export interface ContextView {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  secure: boolean;
  params: Record<string, string>;
  attributes: [string, unknown][];
}

export interface ErrorFields {
  name: string;
  message: string;
  stack: string | undefined;
  status: number | undefined;
  code: string | undefined;
  expose: boolean | undefined;
  headers: Record<string, string> | undefined;
  detail: string | undefined;
}

/** Main thread → worker. */
export type ToWorker =
  | { k: 'next-res'; res: ResponseHead }
  | { k: 'next-err'; err: ErrorFields }
  | { k: 'abort' }
  /** The response body was read to its end or cancelled: the task may finish. */
  | { k: 'done' }
  | StreamMessage;

/** Worker → main thread. */
export type FromWorker =
  | { k: 'start'; threadId: number }
  | { k: 'next'; req: RequestHead; params: Record<string, string>; attributes: [string, unknown][] }
  | { k: 'res'; res: ResponseHead; attributes: [string, unknown][] }
  | { k: 'err'; err: ErrorFields }
  | { k: 'log'; level: string; obj: unknown; msg: string | undefined }
  | StreamMessage;

function flatHeaders(headers: Headers): string[] {
  const flat: string[] = [];
  for (const [name, value] of headers) flat.push(name, value);
  return flat;
}

export function toHeaders(flat: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < flat.length; i += 2) headers.append(flat[i] as string, flat[i + 1] as string);
  return headers;
}

const BODYLESS_METHODS = new Set(['GET', 'HEAD']);

/** What to transfer with a message carrying `head`: its inline body's buffer. */
export function transferOf(head: { bytes?: Uint8Array }): ArrayBuffer[] {
  return head.bytes === undefined ? [] : [head.bytes.buffer as ArrayBuffer];
}

export async function requestHead(req: Request, streams: PortStreams): Promise<RequestHead> {
  const head: RequestHead = { method: req.method, url: req.url, headers: flatHeaders(req.headers), body: 0 };
  if (req.body !== null && !BODYLESS_METHODS.has(req.method)) {
    const { id, bytes } = await streams.sendOrInline(req.body);
    head.body = id;
    if (bytes !== undefined) head.bytes = bytes;
  }
  return head;
}

export function toRequest(head: RequestHead, streams: PortStreams, signal?: AbortSignal): Request {
  const init: RequestInit & { duplex?: 'half' } = { method: head.method, headers: toHeaders(head.headers) };
  if (head.body !== 0) {
    init.body = streams.receive(head.body);
    init.duplex = 'half';
  } else if (head.bytes !== undefined) {
    init.body = head.bytes;
  }
  if (signal !== undefined) init.signal = signal;
  return new Request(head.url, init);
}

// RFC 9110 §6.4.1: these never carry content, whatever the handler attached.
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export async function responseHead(res: Response, streams: PortStreams): Promise<ResponseHead> {
  const head: ResponseHead = {
    status: res.status,
    statusText: res.statusText,
    headers: flatHeaders(res.headers),
    body: 0,
  };
  if (res.body === null) return head;
  if (NULL_BODY_STATUS.has(res.status)) {
    void res.body.cancel().catch(() => {});
    return head;
  }
  const { id, bytes } = await streams.sendOrInline(res.body);
  head.body = id;
  if (bytes !== undefined) head.bytes = bytes;
  return head;
}

/** `onSettle` runs once a streamed body has been read to its end, failed or was cancelled. */
export function toResponse(head: ResponseHead, streams: PortStreams, onSettle?: () => void): Response {
  const body = head.body !== 0 ? streams.receive(head.body, onSettle) : (head.bytes ?? null);
  return new Response(body, { status: head.status, statusText: head.statusText, headers: toHeaders(head.headers) });
}

export function errorFields(err: unknown): ErrorFields {
  const e = (err !== null && typeof err === 'object' ? err : { message: String(err) }) as Partial<
    HttpError & { detail: string }
  >;
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(err),
    stack: typeof e.stack === 'string' ? e.stack : undefined,
    status: typeof e.status === 'number' ? e.status : undefined,
    code: typeof e.code === 'string' ? e.code : undefined,
    expose: typeof e.expose === 'boolean' ? e.expose : undefined,
    headers: plainHeaders(e.headers),
    detail: typeof e.detail === 'string' ? e.detail : undefined,
  };
}

function plainHeaders(h: unknown): Record<string, string> | undefined {
  if (h === null || typeof h !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Rebuilds a worker's error: an HttpError (status, code, headers kept) or a plain Error with its stack. */
export function fromErrorFields(f: ErrorFields): Error {
  let err: Error;
  if (f.status !== undefined && f.expose !== undefined) {
    const http = new HttpError(f.status, f.message, {
      code: f.code ?? 'FOYER_HTTP_ERROR',
      headers: f.headers,
      expose: f.expose,
    });
    if (f.detail !== undefined) Object.assign(http, { detail: f.detail });
    err = http;
  } else {
    err = new Error(f.message);
    err.name = f.name;
  }
  if (f.stack !== undefined) err.stack = `${f.stack}\n    (in an offload worker thread)`;
  return err;
}
