#!/usr/bin/env node
// The `foyer` command line. Settings come from defaults < foyer.config.* < flags; everything is
// checked before anything listens, and a bad flag or config exits with code 2 and a message that
// names the problem. Ready means one line on stdout: `foyer listening on http://HOST:PORT`.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveSettings, UsageError } from './config/flags.ts';
import { ConfigError } from './config/load.ts';
import { buildPipeline, type LoadedApp, loadApp, type PipelineParts } from './config/pipeline.ts';
import type { FoyerConfig } from './config/schema.ts';
import { closest } from './config/validate.ts';
import { createLogger } from './log/logger.ts';
import { defaultLimits } from './reception/limits.ts';
import { serve } from './server.ts';
import { FoyerError } from './util/errors.ts';
import { HELP, SERVE_HELP } from './config/help.ts';
import { EXIT_INTERRUPTED, untilShutdown } from './os/signals.ts';
import { installCrashGuard } from './os/crash-guard.ts';
import { createSecureContext } from 'node:tls';
import { accessLayers } from './access/from-config.ts';
import { startPrimaryServices } from './config/primary-services.ts';
import type { PhpFpmProcess } from './handlers/fastcgi/index.ts';
import type { Logger } from './log/logger.ts';

const VERSION = '0.1.0';

/** Paths in a config file are relative to the directory it was started from. */
function readTls(config: FoyerConfig, cwd: string) {
  if (config.tls === undefined) return undefined;
  const read = (p: string, what: string) => {
    try {
      return readFileSync(resolve(cwd, p));
    } catch {
      throw new UsageError(`cannot read TLS ${what} file ${p}`);
    }
  };
  const out = {
    cert: read(config.tls.cert, 'certificate'),
    key: read(config.tls.key, 'key'),
    passphrase: config.tls.passphrase,
  };
  try {
    createSecureContext(out);
  } catch (err) {
    // One clear line naming the files, never OpenSSL's stack.
    const swapped =
      /PRIVATE KEY-----/.test(out.cert.toString('latin1')) && /CERTIFICATE-----/.test(out.key.toString('latin1'));
    const why = swapped
      ? `${config.tls.cert} holds a private key and ${config.tls.key} a certificate: are --tls-cert and --tls-key swapped?`
      : `cannot use TLS certificate ${config.tls.cert} with key ${config.tls.key} (${(err as { reason?: string }).reason ?? 'not a matching PEM certificate and key'})`;
    throw new UsageError(why);
  }
  return out;
}

interface FastcgiModule {
  fastcgi: NonNullable<PipelineParts['fastcgi']>;
  spawnPhpFpm: (options: { children?: number; user?: string; log?: Logger }) => Promise<PhpFpmProcess>;
}

/** The FastCGI gateway is loaded only when --php is used: plain static or app servers never pay for it. */
async function loadFastcgi(): Promise<FastcgiModule> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return (await import(new URL(`./handlers/fastcgi/index${ext}`, import.meta.url).href)) as FastcgiModule;
}

/** Children of a php-fpm that `--php spawn` starts; the pool uses as many connections (one pins one child). */
const SPAWNED_PHP_CHILDREN = 4;

async function serveCommand(argv: string[]): Promise<number> {
  const cwd = process.cwd();
  const config = await resolveSettings(argv, cwd);
  if (config === 'help') {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  if (config.root !== undefined) config.root = resolve(cwd, config.root);
  const tls = readTls(config, cwd);
  let app: LoadedApp | undefined;
  if (config.app !== undefined) {
    const file = resolve(cwd, config.app);
    if (!/\.(?:ts|mts|js|mjs)$/.test(file))
      throw new UsageError(`--app expects a .ts, .mts, .js or .mjs file, got ${config.app}`);
    try {
      readFileSync(file);
    } catch {
      throw new UsageError(`--app: cannot read ${config.app}`);
    }
    app = await loadApp(file);
  }
  const fcgi = config.php === undefined ? undefined : await loadFastcgi();
  const log = createLogger(config.logLevel ?? 'info');
  installCrashGuard(log);
  let phpFpm: PhpFpmProcess | undefined;
  if (fcgi !== undefined && config.php === 'spawn') {
    if (config.root === undefined) throw new UsageError('--php spawn needs a document root');
    // A root Foyer must not run PHP as root: Debian's www-data, as its stock pool does.
    const user = process.getuid?.() === 0 ? 'www-data' : undefined;
    phpFpm = await fcgi.spawnPhpFpm({ children: SPAWNED_PHP_CHILDREN, user, log });
    config.php = phpFpm.upstream;
  }
  const primaryServices = await startPrimaryServices(config, log);
  const access = accessLayers(config, log);
  const fetch = buildPipeline({
    config,
    app,
    fastcgi: fcgi?.fastcgi,
    phpConnections: phpFpm?.children,
    access: access.layers,
  });
  if (app === undefined && config.root === undefined)
    log.warn('no root and no --app: every request will be answered 404');
  const server = await serve({
    fetch,
    port: config.port ?? 8080,
    host: config.host ?? '127.0.0.1',
    tls,
    limits: config.limits,
    logger: log,
    trustProxy:
      config.trustProxy === undefined ? undefined : { trust: config.trustProxy, header: config.forwardedHeader },
  }).catch(async (err: unknown) => {
    await phpFpm?.stop();
    await access.close();
    await primaryServices.close();
    throw err;
  });
  process.stdout.write(`foyer listening on ${server.url}\n`);
  await untilShutdown({
    graceful: (signal) => {
      log.info({ signal }, 'closing: finishing in-flight requests');
      return server
        .close(config.shutdownTimeout ?? defaultLimits.closeTimeout)
        .catch((err: unknown) => log.error({ err }, 'close failed'))
        .then(() => phpFpm?.stop())
        .then(() => access.close())
        .then(() => primaryServices.close());
    },
    // A second signal means "now": skip the graceful wait.
    immediate: () => process.exit(EXIT_INTERRUPTED),
  });
  log.flush?.();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest);
      case undefined:
        process.stderr.write(HELP);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(rest[0] === 'serve' ? SERVE_HELP : HELP);
        return 0;
      case '-v':
      case '--version':
      case 'version':
        process.stdout.write(`foyer ${VERSION}\n`);
        return 0;
      default: {
        const guess = closest(command, ['serve', 'help', 'version']);
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}${guess ? ` (did you mean "${guess}"?)` : ''}; see foyer --help`,
        );
      }
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`foyer: ${err.message}\n`);
      return 2;
    }
    // Handlers check their own options at construction (a missing static root, a bad php address).
    if (err instanceof FoyerError && err.code === 'FOYER_BAD_CONFIG') {
      process.stderr.write(`foyer: ${err.message}${err.detail ? `: ${err.detail}` : ''}\n`);
      return 2;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(`foyer: cannot listen: ${(err as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`foyer: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Listening sockets are closed by now; anything left (a stray timer in a user app) must not keep
  // a stopped server alive.
  if (code !== 0 || process.argv[2] === 'serve') setImmediate(() => process.exit(code));
});
