// `foyer serve` flags: parsing with node:util parseArgs, friendly messages for mistakes, and the
// merge of defaults < config file < flags into one validated FoyerConfig.
import process from 'node:process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FoyerConfigError } from '../util/errors.ts';
import { ConfigError, findConfig, loadConfig, validateConfig } from './load.ts';
import type { FoyerConfig } from './schema.ts';
import { closest } from './validate.ts';

/** A mistake on the command line: the CLI prints the message and exits with code 2. */
export class UsageError extends FoyerConfigError {
  constructor(message: string) {
    super('FOYER_BAD_FLAG', message);
  }
}

export const SERVE_OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string', short: 'H' },
  app: { type: 'string', short: 'a' },
  config: { type: 'string', short: 'c' },
  php: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'max-body-size': { type: 'string' },
  limit: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  'no-compress': { type: 'boolean' },
  symlinks: { type: 'string' },
  'php-request-buffering': { type: 'string' },
  'no-config': { type: 'boolean' },
  'access-log': { type: 'string' },
  'no-access-log': { type: 'boolean' },
  'access-log-format': { type: 'string' },
  'log-format': { type: 'string' },
  admin: { type: 'string' },
  workers: { type: 'string', short: 'w' },
  balance: { type: 'string' },
  'max-requests': { type: 'string' },
  'max-memory': { type: 'string' },
  user: { type: 'string' },
  group: { type: 'string' },
  watch: { type: 'boolean' },
  'watch-path': { type: 'string', multiple: true },
  'pid-file': { type: 'string' },
  'trust-proxy': { type: 'string', multiple: true },
  'forwarded-header': { type: 'string' },
  allow: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
  'basic-auth': { type: 'string' },
  realm: { type: 'string' },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  'rate-limit-dry-run': { type: 'boolean' },
  redis: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `10mb`, `512k`, `1048576` → bytes. */
export function parseSize(raw: string, flag: string): number {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(raw.trim());
  if (m === null)
    throw new UsageError(`${flag} expects a size such as 1048576, 512k or 10mb, got ${JSON.stringify(raw)}`);
  const unit = (m[2] ?? 'b').toLowerCase()[0] as 'b' | 'k' | 'm' | 'g';
  const n = Number(m[1]) * { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit];
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} is too large`);
  return n;
}

function parsePort(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new UsageError(`--port expects an integer from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export function explainParseError(err: Error): UsageError {
  const unknown = /Unknown option '([^']+)'/.exec(err.message);
  if (unknown) {
    const name = (unknown[1] as string).replace(/^-+/, '');
    const guess = closest(name, Object.keys(SERVE_OPTIONS));
    return new UsageError(
      `unknown option ${unknown[1]}${guess ? ` (did you mean --${guess}?)` : ''}; see foyer serve --help`,
    );
  }
  const missing = /Option '([^']+)' argument missing/.exec(err.message);
  if (missing) return new UsageError(`${missing[1]?.replace(/^-\w, /, '').replace(/ <value>$/, '')} needs a value`);
  return new UsageError(err.message.split('. ')[0] ?? err.message);
}

const FLAG_OF: Record<string, string> = {
  root: 'root',
  port: '--port',
  host: '--host',
  app: '--app',
  php: '--php',
  logLevel: '--log-level',
  'limits.maxBodySize': '--max-body-size',
  'tls.cert': '--tls-cert',
  'tls.key': '--tls-key',
  accessLog: '--access-log',
  accessLogFormat: '--access-log-format',
  logFormat: '--log-format',
  admin: '--admin',
  workers: '--workers',
  balance: '--balance',
  maxRequests: '--max-requests',
  maxMemory: '--max-memory',
  user: '--user',
  group: '--group',
  pidFile: '--pid-file',
  trustProxy: '--trust-proxy',
  forwardedHeader: '--forwarded-header',
  'basicAuth.file': '--basic-auth',
  'basicAuth.realm': '--realm',
  'rateLimit.rate': '--rate-limit',
  'rateLimit.burst': '--rate-burst',
  redis: '--redis',
};

function flagName(problem: string): string {
  const colon = problem.indexOf(':');
  const path = problem.slice(0, colon);
  const flag = FLAG_OF[path] ?? (path.startsWith('limits.') ? `--limit ${path.slice(7)}` : undefined);
  return flag === undefined ? problem : flag + problem.slice(colon);
}

type ServeValues = ReturnType<typeof parseArgs<{ options: typeof SERVE_OPTIONS; allowPositionals: true }>>['values'];

/** --trust-proxy, --allow/--deny, --basic-auth/--realm, --rate-limit/--rate-burst/--rate-limit-dry-run, --redis. */
function readAccessFlags(values: ServeValues, flags: FoyerConfig): void {
  // For --allow and --deny every comma-separated item must say something: an empty one (`--allow
  // "$UNSET"`, `--deny ,`) would leave an empty list, which is no rule, silently replacing the
  // file's list. An empty --trust-proxy trusts nobody, which is what it says.
  const list = (flag: string, items: string[] | undefined, strict = true) =>
    items?.flatMap((i) =>
      i.split(',').flatMap((x) => {
        const item = x.trim();
        if (item !== '') return [item];
        if (strict) throw new UsageError(`${flag} expects addresses or CIDRs (a,b,…), got ${JSON.stringify(i)}`);
        return [];
      }),
    );
  if (values['trust-proxy'] !== undefined) flags.trustProxy = list('--trust-proxy', values['trust-proxy'], false);
  if (values['forwarded-header'] !== undefined) {
    flags.forwardedHeader = values['forwarded-header'].toLowerCase() as FoyerConfig['forwardedHeader'];
  }
  if (values.allow !== undefined || values.deny !== undefined) {
    flags.access = {};
    if (values.allow !== undefined) flags.access.allow = list('--allow', values.allow);
    if (values.deny !== undefined) flags.access.deny = list('--deny', values.deny);
  }
  if (values['basic-auth'] !== undefined) flags.basicAuth = { file: values['basic-auth'] };
  if (values.realm !== undefined)
    flags.basicAuth = { ...flags.basicAuth, realm: values.realm } as FoyerConfig['basicAuth'];
  const rate = values['rate-limit'];
  const burst = values['rate-burst'];
  if (rate !== undefined || burst !== undefined || values['rate-limit-dry-run']) {
    const r: Record<string, unknown> = {};
    if (rate !== undefined) r.rate = rate;
    if (burst !== undefined) {
      if (!/^\d{1,9}$/.test(burst))
        throw new UsageError(`--rate-burst expects an integer ≥ 0, got ${JSON.stringify(burst)}`);
      r.burst = Number(burst);
    }
    if (values['rate-limit-dry-run']) r.dryRun = true;
    flags.rateLimit = r as unknown as FoyerConfig['rateLimit'];
  }
  if (values.redis !== undefined) flags.redis = values.redis;
}

/** --realm alone or --rate-burst alone may complete a file's settings: check them as if completed. */
function completedForCheck(flags: FoyerConfig): FoyerConfig {
  const out = { ...flags };
  if (out.basicAuth !== undefined && out.basicAuth.file === undefined) out.basicAuth = { ...out.basicAuth, file: '-' };
  if (out.rateLimit !== undefined && out.rateLimit.rate === undefined) out.rateLimit = { ...out.rateLimit, rate: 1 };
  return out;
}

/** Access settings merge field by field: `--allow` replaces the file's allow list but keeps its per-path rules. */
function mergeAccess(base: FoyerConfig, flags: FoyerConfig, config: FoyerConfig): void {
  if (base.access !== undefined && flags.access !== undefined) config.access = { ...base.access, ...flags.access };
  if (base.basicAuth !== undefined && flags.basicAuth !== undefined) {
    config.basicAuth = { ...base.basicAuth, ...flags.basicAuth };
  }
  if (base.rateLimit !== undefined && flags.rateLimit !== undefined) {
    config.rateLimit = { ...base.rateLimit, ...flags.rateLimit };
  }
  if (config.basicAuth !== undefined && config.basicAuth.file === undefined) {
    throw new UsageError('--realm needs --basic-auth FILE (or basicAuth.file in the configuration)');
  }
  if (config.rateLimit !== undefined && config.rateLimit.rate === undefined) {
    throw new UsageError(
      '--rate-burst and --rate-limit-dry-run need --rate-limit RATE (or rateLimit.rate in the configuration)',
    );
  }
}

/** Merges flags over the config file; returns the validated settings. */
export async function resolveSettings(
  argv: string[],
  cwd = process.cwd(),
  fresh = false,
): Promise<FoyerConfig | 'help'> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof SERVE_OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: SERVE_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw explainParseError(err as Error);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`foyer serve takes one root directory, got ${positionals.length}`);
  const flags: FoyerConfig = {};
  if (positionals[0] !== undefined) flags.root = positionals[0];
  if (values.port !== undefined) flags.port = parsePort(values.port);
  if (values.host !== undefined) flags.host = values.host;
  if (values.app !== undefined) flags.app = values.app;
  if (values.php !== undefined) flags.php = values.php;
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level'] as FoyerConfig['logLevel'];
  if (values['no-compress']) flags.compress = false;
  const buffering = values['php-request-buffering'];
  if (buffering !== undefined) {
    if (buffering !== 'on' && buffering !== 'off')
      throw new UsageError(`--php-request-buffering expects on or off, got ${JSON.stringify(buffering)}`);
    flags.fastcgi = { requestBuffering: buffering === 'on' };
  }
  if (values.symlinks !== undefined) {
    if (values.symlinks !== 'contain' && values.symlinks !== 'follow')
      throw new UsageError(`--symlinks expects contain or follow, got ${JSON.stringify(values.symlinks)}`);
    flags.static = { symlinks: values.symlinks };
  }
  if (values['access-log'] !== undefined && values['no-access-log'])
    throw new UsageError('--access-log and --no-access-log contradict each other');
  if (values['access-log'] !== undefined) flags.accessLog = values['access-log'];
  if (values['no-access-log']) flags.accessLog = false;
  if (values['access-log-format'] !== undefined)
    flags.accessLogFormat = values['access-log-format'] as FoyerConfig['accessLogFormat'];
  if (values['log-format'] !== undefined) flags.logFormat = values['log-format'] as FoyerConfig['logFormat'];
  if (values.admin !== undefined) flags.admin = values.admin;
  for (const item of values.limit ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`--limit expects NAME=VALUE (e.g. headersTimeout=5000), got ${JSON.stringify(item)}`);
    const name = item.slice(0, eq);
    flags.limits = { ...flags.limits, [name]: parseSize(item.slice(eq + 1), `--limit ${name}`) };
  }
  if (values['max-body-size'] !== undefined) {
    flags.limits = { ...flags.limits, maxBodySize: parseSize(values['max-body-size'], '--max-body-size') };
  }
  if (values.workers !== undefined) {
    const w = values.workers;
    if (w !== 'auto' && !/^\d{1,4}$/.test(w))
      throw new UsageError(`--workers expects a number or auto, got ${JSON.stringify(w)}`);
    flags.workers = w === 'auto' ? 'auto' : Number(w);
  }
  if (values.balance !== undefined) flags.balance = values.balance as FoyerConfig['balance'];
  if (values['max-requests'] !== undefined) {
    if (!/^\d{1,12}$/.test(values['max-requests']))
      throw new UsageError(`--max-requests expects a count, got ${JSON.stringify(values['max-requests'])}`);
    flags.maxRequests = Number(values['max-requests']);
  }
  if (values['max-memory'] !== undefined) flags.maxMemory = parseSize(values['max-memory'], '--max-memory');
  if (values.user !== undefined) flags.user = values.user;
  if (values.group !== undefined) flags.group = values.group;
  if (values['watch-path'] !== undefined) flags.watch = values['watch-path'];
  else if (values.watch) flags.watch = true;
  if (values['pid-file'] !== undefined) flags.pidFile = values['pid-file'];
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (cert !== undefined && key !== undefined) flags.tls = { cert, key };
  readAccessFlags(values, flags);
  // Flags go through the same checks as the file; problems are named by their flag.
  try {
    validateConfig(completedForCheck(flags), 'the command line');
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.problems.map(flagName).join('\n'));
    throw err;
  }
  const configFile = values.config ?? (values['no-config'] ? undefined : findConfig(cwd));
  const base: FoyerConfig = configFile === undefined ? {} : await loadConfig(resolve(cwd, configFile), fresh);
  const config: FoyerConfig = { ...base, ...flags };
  if (base.limits !== undefined || flags.limits !== undefined) config.limits = { ...base.limits, ...flags.limits };
  // `--limit closeTimeout` is also the shutdown deadline (shutdownTimeoutOf): like any flag, it wins
  // over the file, whichever of the deadline's two names the file used.
  if (flags.limits?.closeTimeout !== undefined) delete config.shutdownTimeout;
  if (base.tls !== undefined && flags.tls !== undefined) config.tls = { ...base.tls, ...flags.tls };
  mergeAccess(base, flags, config);
  if (base.static !== undefined && flags.static !== undefined) config.static = { ...base.static, ...flags.static };
  if (base.fastcgi !== undefined && flags.fastcgi !== undefined) config.fastcgi = { ...base.fastcgi, ...flags.fastcgi };
  return validateConfig(config, 'flags and configuration');
}
