// The Context an offloaded middleware sees inside its worker thread: a copy of the main thread's
// serialisable view, a signal the main thread aborts when the client goes away, a logger that
// forwards to the server's, and waitUntil that keeps the task (and its thread) busy until settled.
import type { Logger } from '../../log/logger.ts';
import type { AttributeKey, Context } from '../../types.ts';
import { FoyerError } from '../../util/errors.ts';
import type { ContextView, FromWorker } from './wire.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** Attribute names whose values structured clone refuses (a function, a socket, a class with private state …). */
export function unserialisable(entries: Iterable<[string, unknown]>): string[] {
  const bad: string[] = [];
  for (const [name, value] of entries) {
    try {
      structuredClone(value);
    } catch {
      bad.push(name);
    }
  }
  return bad;
}

export function unserialisableError(where: string, names: string[]): FoyerError {
  return new FoyerError(
    'FOYER_OFFLOAD_UNSERIALISABLE',
    `${where}: ctx attribute(s) ${names.map((n) => JSON.stringify(n)).join(', ')} cannot cross to another thread (structured clone refuses them)`,
  );
}

/**
 * A pino-shaped logger that posts each record to the main thread, where the request's own logger
 * writes it. Values structured clone refuses are sent as their string form.
 */
function forwardingLogger(post: (msg: FromWorker) => void): Logger {
  const log: Record<string, unknown> = {};
  for (const level of LEVELS) {
    log[level] = (objOrMsg: unknown, msg?: string) => {
      const [obj, text] = typeof objOrMsg === 'string' ? [undefined, objOrMsg] : [objOrMsg, msg];
      try {
        post({ k: 'log', level, obj, msg: text });
      } catch {
        post({ k: 'log', level, obj: String(obj), msg: text });
      }
    };
  }
  log.child = () => log;
  log.isLevelEnabled = () => true;
  log.level = 'trace';
  return log as unknown as Logger;
}

export class ThreadContext implements Context {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly secure: boolean;
  readonly log: Logger;
  params: Record<string, string>;
  readonly attributes: Map<string, unknown>;
  readonly #abort = new AbortController();
  readonly #pending: Promise<unknown>[] = [];

  constructor(view: ContextView, post: (msg: FromWorker) => void) {
    this.remoteAddress = view.remoteAddress;
    this.remotePort = view.remotePort;
    this.localAddress = view.localAddress;
    this.localPort = view.localPort;
    this.secure = view.secure;
    this.params = view.params;
    this.attributes = new Map(view.attributes);
    this.log = forwardingLogger(post);
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  abort(): void {
    this.#abort.abort(new Error('client disconnected'));
  }

  waitUntil(promise: Promise<unknown>): void {
    this.#pending.push(
      Promise.resolve(promise).catch((err: unknown) => this.log.error({ err }, 'waitUntil task failed')),
    );
  }

  settled(): Promise<unknown> {
    return Promise.all(this.#pending);
  }

  get<T>(key: AttributeKey<T>): T | undefined {
    return this.attributes.get(key.name) as T | undefined;
  }

  set<T>(key: AttributeKey<T>, value: T): void {
    this.attributes.set(key.name, value);
  }

  has(key: AttributeKey<unknown>): boolean {
    return this.attributes.has(key.name);
  }
}
