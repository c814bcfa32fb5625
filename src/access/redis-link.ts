// One ioredis connection for the access layer's shared state (rate limits, sessions), set up to
// fail fast rather than queue: when Redis is gone, callers get an error at once and fall back;
// ioredis keeps reconnecting in the background. Losing and regaining Redis is logged once each.
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { ioredis } from '../util/redis-modules.ts';

export interface RedisLinkOptions {
  /** `redis://[:password@]host:port/db`, `rediss://…` for TLS, or `unix:/path`. */
  url: string;
  /** Longest wait for one command before it counts as a failure, ms. Default 250. */
  commandTimeout?: number;
  /** Prefix of every key Foyer writes. Default `foyer:`. */
  prefix?: string;
  log?: Logger;
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/** ioredis's message when `commandTimeout` passes without a reply. */
const COMMAND_TIMED_OUT = 'Command timed out';

export class RedisLink {
  readonly client: Redis;
  readonly prefix: string;
  readonly #log: Logger | undefined;
  readonly #where: string;
  #down = false;

  constructor(options: RedisLinkOptions) {
    this.prefix = options.prefix ?? 'foyer:';
    this.#log = options.log;
    this.#where = redactUrl(options.url);
    const common = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeout ?? 250,
      // A command left unanswered by a dropped connection is failed, never sent again later.
      autoResendUnfulfilledCommands: false,
      // Reconnect forever, at most every 2 s: Redis coming back is noticed without a restart.
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
      lazyConnect: false,
    };
    const { Redis } = ioredis();
    this.client = options.url.startsWith('unix:')
      ? new Redis({ ...common, path: options.url.slice(5) })
      : new Redis(options.url, common);
    // Without a listener ioredis reports every failed reconnection as an unhandled 'error'.
    this.client.on('error', () => this.failed());
    this.client.on('ready', () => this.succeeded());
  }

  get down(): boolean {
    return this.#down;
  }

  /** Records a failure; logs only the transition. */
  failed(err?: unknown): void {
    if (this.#down) return;
    this.#down = true;
    this.#log?.warn(
      { redis: this.#where, err: err instanceof Error ? err.message : undefined },
      'redis unavailable: falling back to local state until it returns',
    );
  }

  /**
   * A command's outcome: a timeout on a connection that still looks ready (Redis stopped with
   * SIGSTOP or swapped out, a network that drops packets) drops that connection. Otherwise every
   * caller waits the whole command timeout, and each timed-out command stays in ioredis's queue,
   * since no reply ever comes to remove it: 250 ms more per request and memory without bound (found
   * in review). Dropped, its queued commands fail at once, and until a new connection is ready
   * callers see a link that is not ready and fall back without waiting. A reply slower than the
   * timeout counts the same: on a Redis answering in 250 ms or more the link reconnects now and then.
   */
  async watch<T>(command: Promise<T>): Promise<T> {
    try {
      const value = await command;
      this.succeeded();
      return value;
    } catch (err) {
      // An error reply (WRONGTYPE, a script error) comes from a Redis that is up: not an outage.
      if (err instanceof Error && err.name === 'ReplyError') throw err;
      this.failed(err);
      if (err instanceof Error && err.message === COMMAND_TIMED_OUT && this.client.status === 'ready') {
        this.client.disconnect(true);
      }
      throw err;
    }
  }

  succeeded(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#log?.info({ redis: this.#where }, 'redis is back: shared state resumes');
  }

  async close(): Promise<void> {
    this.client.removeAllListeners('error');
    this.client.on('error', () => {});
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
