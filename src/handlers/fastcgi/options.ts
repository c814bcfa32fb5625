// Options of `fastcgi()` with their defaults, normalised once.
import { tmpdir } from 'node:os';
import type { Context } from '../../types.ts';
import type { SocketFactory, Upstream } from './address.ts';
import type { FileSystem } from '../../os/file-system.ts';
import { FoyerConfigError } from '../../util/errors.ts';

export interface FastCgiOptions {
  /** php-fpm address: `127.0.0.1:9000`, `tcp://host:port`, `unix:/run/php/php-fpm.sock`. */
  upstream: string | Upstream;
  /** Document root: scripts and static files come from here. */
  root: string;
  /** Script extensions (case-sensitive, as php-fpm's `security.limit_extensions`). Default `['.php']`. */
  extensions?: string[];
  /** Directory index script. Default `'index.php'`; `false` for none. */
  index?: string | false;
  /** Front controller run for paths that match no file or directory (Caddy's php_server). Default `'/index.php'`; `false` to call `next()` instead. */
  frontController?: string | false;
  /**
   * Serve non-PHP files from `root` with the static handler. Default `true`; an object passes
   * options to `staticFiles`; `false` calls `next()` for them.
   */
  static?: boolean | Record<string, unknown>;
  /**
   * Most connections to php-fpm. Every idle keep-alive connection pins one php-fpm child, so keep
   * this × Foyer processes ≤ `pm.max_children`. Default 4 (Debian's pool has max_children 5).
   */
  maxConnections?: number;
  /** Keep connections open between requests (FCGI_KEEP_CONN). Default `true`. */
  keepAlive?: boolean;
  /** Close a connection idle this long, ms. Default 10 000 (php-fpm's ondemand idle timeout). */
  idleTimeout?: number;
  /** Requests that may wait for a free connection; more get 503 + Retry-After. Default 256. */
  maxQueue?: number;
  /** Longest wait for a free connection, ms, then 503 + Retry-After. Default 10 000. */
  queueTimeout?: number;
  /** Connect timeout, ms → 504. Default 5 000. */
  connectTimeout?: number;
  /** Longest silence from php-fpm once the request is sent, ms → 504 (or a closed connection mid-body). Default 60 000, like nginx's fastcgi_read_timeout. */
  readTimeout?: number;
  /** Retry-After seconds on 503. Default 1. */
  retryAfter?: number;
  /** Largest CGI response head from php-fpm, bytes → 502. Default 64 KiB. */
  maxHeadSize?: number;
  /** Response bytes read ahead of a slow client before php-fpm's socket is paused. Default 64 KiB. */
  highWaterMark?: number;
  /**
   * Read a request body whole before taking a php-fpm connection (nginx's
   * `fastcgi_request_buffering on`), so slow uploads never hold a php-fpm child. Default `true`.
   * `false` streams Content-Length bodies over 64 KiB as they arrive (chunked ones are always
   * buffered: PHP needs their length).
   */
  requestBuffering?: boolean;
  /** Buffered request bodies stay in memory up to this size, bytes. Default 1 MiB. */
  spoolMemory?: number;
  /** … then in a private temp file up to this size, bytes → 413. Default 1 GiB (the engine's body limit applies first). */
  maxSpoolSize?: number;
  /**
   * Read PHP's response as fast as PHP writes it, whatever the client's pace (nginx's
   * `fastcgi_buffering on`): the php-fpm child is released as soon as the script is done, and a
   * slow reader holds only its buffer. Default `true`; `false` applies backpressure to php-fpm.
   */
  responseBuffering?: boolean;
  /** Response bytes held in memory per request beyond the stream's own queue. Default 256 KiB. */
  responseMemory?: number;
  /** … and by all the requests of this handler together; beyond it, the temp file. Default 64 MiB. */
  responseMemoryTotal?: number;
  /** … then in a private temp file up to this size; beyond it, backpressure. `0`: no temp file. Default 1 GiB (nginx's fastcgi_max_temp_file_size). */
  maxTempFileSize?: number;
  /** Temp-file bytes of all the responses of this handler together; beyond it, backpressure. Default 1 GiB. */
  maxTempTotal?: number;
  /** Directory of temp files (request and response buffers). Default `os.tmpdir()`. */
  spoolDir?: string;
  /** Extra FastCGI params (fixed, or per request); they override computed ones. */
  params?: Record<string, string> | ((req: Request, ctx: Context) => Record<string, string>);
  /** SERVER_NAME. Default: the request's Host without port. */
  serverName?: string;
  /** SERVER_SOFTWARE. Default `'Foyer'`. */
  serverSoftware?: string;
  /** Bytes of php-fpm stderr logged per request; the rest is counted. Default 8 KiB. */
  stderrLimit?: number;
  /**
   * Let scripts hand a file back to Foyer with `X-Sendfile: /abs/path` or `X-Accel-Redirect: /rel/path`.
   * Off by default. The file must resolve inside `root`; it is served by the static handler
   * (ranges, conditionals) and the header never reaches the client.
   */
  sendfile?: { root: string };
  /** Script resolution (stat, realpath) is remembered this long, ms; new or deleted files show within it. `0` disables. Default 1000. */
  cacheTtl?: number;
  /**
   * `contain`: run a script only when its real path is under `root`; `follow`: follow symlinks
   * anywhere (nginx's default `disable_symlinks off`; Debian-packaged PHP apps link folders out of
   * their root). Default: the `static` options' `symlinks`, else `contain`.
   */
  symlinks?: 'contain' | 'follow';
  /** Socket factory (tests, custom transports). Default: node:net to `upstream`. */
  connect?: SocketFactory;
  /** File-system seam for script resolution. Default node:fs/promises. */
  fs?: FileSystem;
}

export interface ResolvedFastCgiOptions {
  extensions: string[];
  index: string;
  frontController: string;
  maxConnections: number;
  keepAlive: boolean;
  idleTimeout: number;
  maxQueue: number;
  queueTimeout: number;
  connectTimeout: number;
  readTimeout: number;
  retryAfter: number;
  maxHeadSize: number;
  highWaterMark: number;
  requestBuffering: boolean;
  responseBuffering: boolean;
  responseMemory: number;
  responseMemoryTotal: number;
  maxTempFileSize: number;
  maxTempTotal: number;
  spoolMemory: number;
  maxSpoolSize: number;
  spoolDir: string;
  serverSoftware: string;
  stderrLimit: number;
  cacheTtl: number;
}

function nonNegative(name: string, value: number | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new FoyerConfigError('FOYER_BAD_OPTION', `fastcgi: ${name} must be a non-negative number`);
  }
  return value;
}

export function resolveOptions(o: FastCgiOptions): ResolvedFastCgiOptions {
  const frontController = o.frontController === false ? '' : (o.frontController ?? '/index.php');
  if (frontController !== '' && !frontController.startsWith('/')) {
    throw new FoyerConfigError('FOYER_BAD_OPTION', 'fastcgi: frontController must be a URL path starting with /');
  }
  const index = o.index === false ? '' : (o.index ?? 'index.php');
  if (index.includes('/')) throw new FoyerConfigError('FOYER_BAD_OPTION', 'fastcgi: index must be a file name');
  const extensions = o.extensions ?? ['.php'];
  if (extensions.length === 0 || extensions.some((e) => !/^\.[A-Za-z0-9]+$/.test(e))) {
    throw new FoyerConfigError('FOYER_BAD_OPTION', 'fastcgi: extensions must look like [".php"]');
  }
  return {
    extensions,
    index,
    frontController,
    maxConnections: Math.max(1, Math.floor(nonNegative('maxConnections', o.maxConnections, 4))),
    keepAlive: o.keepAlive ?? true,
    idleTimeout: nonNegative('idleTimeout', o.idleTimeout, 10_000),
    maxQueue: nonNegative('maxQueue', o.maxQueue, 256),
    queueTimeout: nonNegative('queueTimeout', o.queueTimeout, 10_000),
    connectTimeout: nonNegative('connectTimeout', o.connectTimeout, 5_000),
    readTimeout: nonNegative('readTimeout', o.readTimeout, 60_000),
    retryAfter: nonNegative('retryAfter', o.retryAfter, 1),
    maxHeadSize: nonNegative('maxHeadSize', o.maxHeadSize, 64 * 1024),
    highWaterMark: Math.max(1, nonNegative('highWaterMark', o.highWaterMark, 64 * 1024)),
    requestBuffering: o.requestBuffering ?? true,
    responseBuffering: o.responseBuffering ?? true,
    responseMemory: nonNegative('responseMemory', o.responseMemory, 256 * 1024),
    responseMemoryTotal: nonNegative('responseMemoryTotal', o.responseMemoryTotal, 64 * 1024 * 1024),
    maxTempFileSize: nonNegative('maxTempFileSize', o.maxTempFileSize, 1024 * 1024 * 1024),
    maxTempTotal: nonNegative('maxTempTotal', o.maxTempTotal, 1024 * 1024 * 1024),
    spoolMemory: nonNegative('spoolMemory', o.spoolMemory, 1024 * 1024),
    maxSpoolSize: nonNegative('maxSpoolSize', o.maxSpoolSize, 1024 * 1024 * 1024),
    spoolDir: o.spoolDir ?? tmpdir(),
    serverSoftware: o.serverSoftware ?? 'Foyer',
    stderrLimit: nonNegative('stderrLimit', o.stderrLimit, 8 * 1024),
    cacheTtl: nonNegative('cacheTtl', o.cacheTtl, 1000),
  };
}
