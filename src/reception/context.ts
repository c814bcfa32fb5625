// The per-request Context (see types.ts). One instance per request; nothing here is shared.
import type { Logger } from '../log/logger.ts';
import { silentLogger } from '../log/logger.ts';
import type { AttributeKey, Context } from '../types.ts';

export interface ContextInit {
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  secure?: boolean;
  log?: Logger;
}

/** The client as the access layer decided it (see access/trust-proxy.ts). */
export interface ClientInfo {
  remoteAddress: string;
  secure: boolean;
}

export class RequestContext implements Context {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly secure: boolean;
  readonly log: Logger;
  params: Record<string, string> = {};
  /** The user Basic auth (or the app) authenticated, for the access log and PHP's REMOTE_USER. */
  remoteUser: string | undefined = undefined;
  #attributes: Map<string, unknown> | undefined;
  #abort: AbortController | undefined;
  #aborted = false;
  #pending: Promise<unknown>[] | undefined;

  constructor(init: ContextInit = {}) {
    this.remoteAddress = init.remoteAddress ?? '127.0.0.1';
    this.remotePort = init.remotePort ?? 0;
    this.localAddress = init.localAddress ?? '127.0.0.1';
    this.localPort = init.localPort ?? 0;
    this.secure = init.secure ?? false;
    this.log = init.log ?? silentLogger;
  }

  // Created on first use: most requests never look at their signal.
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#aborted) this.#abort.abort(new Error('client disconnected'));
    }
    return this.#abort.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Called by the connection when the client goes away before the response is written. */
  abort(reason: unknown = new Error('client disconnected')): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abort?.abort(reason);
  }

  waitUntil(promise: Promise<unknown>): void {
    const tracked = Promise.resolve(promise).catch((err: unknown) => {
      this.log.error({ err }, 'waitUntil task failed');
    });
    (this.#pending ??= []).push(tracked);
  }

  /** Resolves when every waitUntil task has settled (used by graceful close and tests). */
  settled(): Promise<void> {
    return this.#pending === undefined ? Promise.resolve() : Promise.all(this.#pending).then(() => undefined);
  }

  get<T>(key: AttributeKey<T>): T | undefined {
    return this.#attributes?.get(key.name) as T | undefined;
  }

  set<T>(key: AttributeKey<T>, value: T): void {
    (this.#attributes ??= new Map()).set(key.name, value);
  }

  has(key: AttributeKey<unknown>): boolean {
    return this.#attributes?.has(key.name) ?? false;
  }

  /** Every attribute as [name, value]: what offload() copies to a worker thread. */
  attributeEntries(): [string, unknown][] {
    return this.#attributes === undefined ? [] : [...this.#attributes];
  }
}

/** A context for calling a handler in-process (tests, embedding). */
export function createContext(init: ContextInit = {}): RequestContext {
  return new RequestContext(init);
}
