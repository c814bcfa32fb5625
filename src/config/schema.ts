// The shape of `foyer.config.{ts,mjs,js,json}`: the TypeScript type users write against (through
// `defineConfig`) and the runtime spec the loaded value is checked with. Keep the two in step.
import type { BasicAuthOptions } from '../access/basic-auth.ts';
import type { IpFilterOptions } from '../access/ip-filter.ts';
import type { RateLimitOptions } from '../access/rate-limit.ts';
import type { FastCgiOptions } from '../handlers/fastcgi/options.ts';
import type { StaticOptions } from '../handlers/static/index.ts';
import type { AccessLogFormat } from '../log/access-format.ts';
import { parseAdminAddress } from '../log/admin-address.ts';
import type { LogFormat, LogLevel } from '../log/logger.ts';
import { defaultLimits, type Limits } from '../reception/limits.ts';
import type { Spec } from './validate.ts';

export interface FoyerConfig {
  /** TCP port. Default 8080. */
  port?: number;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Directory of static files (the CLI's positional `root`). */
  root?: string;
  /** Application module (.ts, .mts, .js, .mjs) default-exporting a fetch handler or `{ fetch }`. */
  app?: string;
  /** php-fpm address (`127.0.0.1:9000`, `unix:/run/php/php-fpm.sock`), or `spawn` for a private supervised php-fpm: `.php` under `root` runs through FastCGI. */
  php?: string;
  /** TLS certificate and key files (PEM). */
  tls?: { cert: string; key: string; passphrase?: string };
  /** Reception limits and timeouts; see the README's table. */
  limits?: Partial<Limits>;
  /** Server log level. Default 'info'. */
  logLevel?: LogLevel;
  /** Compress application responses (gzip/deflate/br by Accept-Encoding). Default true. */
  compress?: boolean;
  /** Options of the static file handler. */
  static?: Omit<StaticOptions, 'fs'>;
  /**
   * Graceful shutdown deadline on SIGINT/SIGTERM (and for a retiring worker), ms. Default 10000.
   * The same deadline as `limits.closeTimeout` (the engine's name for it): set either, or both alike.
   */
  shutdownTimeout?: number;
  /** Access log file, '-' for standard output, false for none. Default: standard output on a terminal, else none. */
  accessLog?: string | false;
  /** Access log line format. Default 'combined' (nginx's). */
  accessLogFormat?: AccessLogFormat;
  /** Server log: human lines on a terminal and JSON otherwise ('auto', the default), or always one. */
  logFormat?: LogFormat;
  /** Admin listener (/metrics, /status, /health), e.g. '127.0.0.1:2019'. Off by default. */
  admin?: string;
  /** Send X-Request-Id on responses. Default: true when a json access log (whose lines carry the id) is written. */
  requestId?: boolean;
  // Process model (src/os/): workers, reload, recycling, privileges.
  /** Worker processes under a supervising primary; `auto` = one per core. Default 1 (a single process). */
  workers?: number | 'auto';
  /** How workers share the listening socket: they accept from it (`shared`, default: measured cheaper) or the primary deals connections (`round-robin`). */
  balance?: 'round-robin' | 'shared';
  /** Replace a worker after about this many requests (+0-10% jitter). Default 0: never. */
  maxRequests?: number;
  /** Replace a worker whose resident memory is over this many bytes. Default 0: never. */
  maxMemory?: number;
  /** Workers switch to this user (and group) before loading the app; the primary binds as root. */
  user?: string;
  group?: string;
  /** Reload the workers when files change: `true` watches the app's folder, or a list of paths. */
  watch?: boolean | string[];
  /** Write the primary's pid here (for `foyer reload`). */
  pidFile?: string;
  /** Proxies (CIDRs, `loopback`, `private`) whose X-Forwarded-For / Forwarded and X-Forwarded-Proto are believed. */
  trustProxy?: string[];
  /** The header the trusted proxies write. Default 'x-forwarded-for'. */
  forwardedHeader?: 'x-forwarded-for' | 'forwarded';
  /** Address rules: `allow`, `deny` (CIDRs; deny wins) and per-path `rules`. */
  access?: Pick<IpFilterOptions, 'allow' | 'deny' | 'rules'>;
  /** Basic auth from an htpasswd file: `{ file, realm?, paths?, cacheSize? }`. */
  basicAuth?: Omit<BasicAuthOptions, 'log'>;
  /** Rate limit: `{ rate: '20r/s', burst?, dryRun?, headers?, key?, rules? }`. */
  rateLimit?: Omit<RateLimitOptions, 'store'>;
  /** Redis shared by every instance (rate limits): `redis://host:6379`. */
  redis?: string;
  /** PHP gateway buffering and its limits (the `fastcgi()` options of the same names). */
  fastcgi?: FastCgiConfig;
}

/** The `fastcgi()` options a configuration file may set: their types and docs are the handler's. */
export type FastCgiConfig = Pick<
  FastCgiOptions,
  | 'requestBuffering'
  | 'spoolMemory'
  | 'maxSpoolSize'
  | 'responseBuffering'
  | 'responseMemory'
  | 'maxTempFileSize'
  | 'maxTempTotal'
  | 'responseMemoryTotal'
  | 'spoolDir'
>;

/**
 * The graceful shutdown deadline: `shutdownTimeout`, else `limits.closeTimeout` (one deadline under the
 * CLI's and the engine's names; validateConfig refuses the two set apart), else the engine's default.
 */
export function shutdownTimeoutOf(c: FoyerConfig): number {
  return c.shutdownTimeout ?? c.limits?.closeTimeout ?? defaultLimits.closeTimeout;
}

/** Identity with a type: `export default defineConfig({ port: 3000 })` gets completion and checks. */
export function defineConfig(config: FoyerConfig): FoyerConfig {
  return config;
}

const string: Spec = { kind: 'string' };
const nonEmpty: Spec = { kind: 'string', nonEmpty: true };
const bool: Spec = { kind: 'bool' };
const uint: Spec = { kind: 'int', min: 0 };
const strings: Spec = { kind: 'array', of: string };

const limitFields: Record<string, Spec> = {};
for (const k of Object.keys(defaultLimits)) limitFields[k] = uint;

const cacheRule: Spec = {
  kind: 'object',
  fields: {
    match: {
      kind: 'custom',
      expected: 'a RegExp, a glob string or a function',
      test: (v) => typeof v === 'string' || v instanceof RegExp || typeof v === 'function',
    },
    value: string,
  },
  required: ['match', 'value'],
};

const staticSpec: Spec = {
  kind: 'object',
  fields: {
    index: { kind: 'union', of: [strings, { kind: 'custom', expected: 'false', test: (v) => v === false }] },
    dotfiles: { kind: 'enum', values: ['deny', 'ignore', 'allow'] },
    symlinks: { kind: 'enum', values: ['contain', 'follow'] },
    extensions: strings,
    types: { kind: 'record', of: string },
    defaultType: string,
    cacheControl: { kind: 'union', of: [string, { kind: 'array', of: cacheRule }] },
    precompressed: { kind: 'union', of: [bool, { kind: 'array', of: { kind: 'enum', values: ['br', 'gzip'] } }] },
    compress: {
      kind: 'union',
      of: [
        { kind: 'custom', expected: 'false', test: (v) => v === false },
        {
          kind: 'object',
          fields: {
            minSize: uint,
            brotliQuality: { kind: 'int', min: 0, max: 11 },
            gzipLevel: { kind: 'int', min: 0, max: 9 },
          },
        },
      ],
    },
    ranges: bool,
    maxRanges: uint,
    cache: {
      kind: 'union',
      of: [
        { kind: 'custom', expected: 'false', test: (v) => v === false },
        { kind: 'object', fields: { maxFileSize: uint, maxBytes: uint, revalidateMs: uint } },
      ],
    },
    listing: bool,
    typos: { kind: 'union', of: [bool, { kind: 'enum', values: ['choices'] }] },
    fallthrough: bool,
    headers: { kind: 'record', of: string },
    chunkSize: { kind: 'int', min: 1 },
  },
};

const pathMatch: Spec = {
  kind: 'custom',
  expected: 'a path, a glob, a RegExp or a function',
  test: (v) => (typeof v === 'string' && v.startsWith('/')) || v instanceof RegExp || typeof v === 'function',
};
const rate: Spec = {
  kind: 'custom',
  expected: 'a rate such as "20r/s" or "300r/m"',
  test: (v) =>
    (typeof v === 'number' && v > 0) || (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*(r\/(s|m))?\s*$/.test(v)),
};
// An empty allow list would be no rule at all, letting everyone in where the user meant "only
// these": refused, to be said by leaving the key out. An empty deny or trust list denies or trusts
// nobody, which is what it says.
const allowList: Spec = { kind: 'array', of: nonEmpty, nonEmpty: true };
const cidrs: Spec = { kind: 'array', of: nonEmpty };
const accessSpec: Spec = {
  kind: 'object',
  fields: {
    allow: allowList,
    deny: cidrs,
    rules: {
      kind: 'array',
      of: { kind: 'object', fields: { path: pathMatch, allow: allowList, deny: cidrs }, required: ['path'] },
    },
  },
};
const basicAuthSpec: Spec = {
  kind: 'object',
  fields: {
    file: nonEmpty,
    realm: string,
    paths: { kind: 'array', of: pathMatch },
    cacheSize: uint,
    checkInterval: uint,
    maxPendingChecks: { kind: 'int', min: 1 },
    maxPendingChecksPerClient: { kind: 'int', min: 1 },
    passwordThreads: { kind: 'int', min: 1 },
  },
  required: ['file'],
};
const rateLimitSpec: Spec = {
  kind: 'object',
  fields: {
    rate,
    burst: uint,
    dryRun: bool,
    headers: bool,
    name: nonEmpty,
    key: {
      kind: 'custom',
      expected: '"ip" or a function (req, ctx) => string',
      test: (v) => v === 'ip' || typeof v === 'function',
    },
    rules: {
      kind: 'array',
      of: { kind: 'object', fields: { path: pathMatch, rate, burst: uint }, required: ['path', 'rate'] },
    },
  },
  required: ['rate'],
};

export const configSpec: Spec = {
  kind: 'object',
  fields: {
    port: { kind: 'int', min: 0, max: 65535 },
    host: nonEmpty,
    root: nonEmpty,
    app: nonEmpty,
    php: nonEmpty,
    tls: { kind: 'object', fields: { cert: nonEmpty, key: nonEmpty, passphrase: string }, required: ['cert', 'key'] },
    limits: { kind: 'object', fields: limitFields },
    logLevel: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    compress: bool,
    static: staticSpec,
    shutdownTimeout: uint,
    accessLog: { kind: 'union', of: [nonEmpty, { kind: 'custom', expected: 'false', test: (v) => v === false }] },
    accessLogFormat: { kind: 'enum', values: ['combined', 'common', 'json'] },
    logFormat: { kind: 'enum', values: ['auto', 'pretty', 'json'] },
    admin: {
      kind: 'custom',
      expected: 'HOST:PORT such as "127.0.0.1:2019"',
      test: (v) => {
        try {
          return typeof v === 'string' && parseAdminAddress(v) !== undefined;
        } catch {
          return false;
        }
      },
    },
    requestId: bool,
    workers: {
      kind: 'union',
      of: [
        { kind: 'int', min: 1, max: 1024 },
        { kind: 'enum', values: ['auto'] },
      ],
    },
    balance: { kind: 'enum', values: ['round-robin', 'shared'] },
    maxRequests: uint,
    maxMemory: uint,
    user: nonEmpty,
    group: nonEmpty,
    watch: { kind: 'union', of: [bool, { kind: 'array', of: nonEmpty }] },
    pidFile: nonEmpty,
    trustProxy: cidrs,
    forwardedHeader: { kind: 'enum', values: ['x-forwarded-for', 'forwarded'] },
    access: accessSpec,
    basicAuth: basicAuthSpec,
    rateLimit: rateLimitSpec,
    redis: nonEmpty,
    fastcgi: {
      kind: 'object',
      fields: {
        requestBuffering: bool,
        spoolMemory: uint,
        maxSpoolSize: uint,
        responseBuffering: bool,
        responseMemory: uint,
        maxTempFileSize: uint,
        maxTempTotal: uint,
        responseMemoryTotal: uint,
        spoolDir: nonEmpty,
      } satisfies Record<keyof FastCgiConfig, Spec>,
    },
  },
};
