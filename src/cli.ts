#!/usr/bin/env node
// The `foyer` command line. Settings come from defaults < foyer.config.* < flags; everything is
// checked before anything listens, and a bad flag or config exits with code 2 and a message that
// names the problem. Ready means one line on stdout: `foyer listening on http://HOST:PORT`.
import process from 'node:process';
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { explainParseError, resolveSettings, UsageError } from './config/flags.ts';
import { findConfig, loadConfig } from './config/load.ts';
import { type FoyerConfig, shutdownTimeoutOf } from './config/schema.ts';
import { closest } from './config/validate.ts';
import { createServerLogger } from './log/logger.ts';
import { PrimaryObservability, ServingObservability } from './config/observability.ts';
import { workerRestarts, workerSnapshot } from './os/worker-state.ts';
import { isConfigError } from './util/errors.ts';
import { HELP, SERVE_HELP } from './config/help.ts';
import { EXIT_INTERRUPTED, onReloadSignals, untilShutdown } from './os/signals.ts';
import { installCrashGuard } from './os/crash-guard.ts';
import type { PhpFpmProcess } from './handlers/fastcgi/index.ts';
import type { Logger } from './log/logger.ts';
import { appFile, loadFastcgi, startServer, watchedPaths } from './config/start-server.ts';
import { startPrimaryServices } from './config/primary-services.ts';
import { runPrimary } from './os/primary.ts';
import { countingFetch, runWorker } from './os/worker-process.ts';
import { checkIdentity, dropPrivileges, lookupIds, runningAsRoot } from './os/privileges.ts';
import { inheritedListenFd } from './os/socket-activation.ts';
import { tuneJit } from './os/jit-tuning.ts';
import { signalReload, writePidFile } from './os/pid-file.ts';

const VERSION = '0.1.0';

/** Children of a php-fpm that `--php spawn` starts for one process; the pool uses as many connections (one pins one child). */
const SPAWNED_PHP_CHILDREN = 4;
/** With workers: connections to php-fpm per worker. Up to 2 × workers are alive during a reload. */
const PHP_CONNECTIONS_PER_WORKER = 2;

function workerCount(config: FoyerConfig): number {
  return config.workers === 'auto' ? availableParallelism() : (config.workers ?? 1);
}

/** A primary is needed for more than one worker, and for what only a primary can do. */
function needsPrimary(config: FoyerConfig): boolean {
  return (
    workerCount(config) > 1 ||
    config.user !== undefined ||
    (config.maxRequests ?? 0) > 0 ||
    (config.maxMemory ?? 0) > 0 ||
    watchedPaths(config, process.cwd()) !== undefined
  );
}

async function spawnPhp(config: FoyerConfig, children: number, log: Logger): Promise<PhpFpmProcess | undefined> {
  if (config.php !== 'spawn') return undefined;
  if (config.root === undefined) throw new UsageError('--php spawn needs a document root');
  const fcgi = await loadFastcgi();
  // A root Foyer must not run PHP as root: Debian's www-data, as its stock pool does.
  const user = runningAsRoot() ? 'www-data' : undefined;
  const socketOwner = config.user === undefined ? undefined : lookupIds({ user: config.user, group: config.group });
  return fcgi.spawnPhpFpm({ children, user, log, socketOwner });
}

function warnIfRoot(config: FoyerConfig, log: Logger): void {
  if (runningAsRoot() && config.user === undefined)
    log.warn('running as root without --user: the application runs as root; add --user (e.g. --user nobody)');
}

/** One process: binds, serves, stops on SIGTERM/SIGINT. SIGHUP is logged (a reload needs a primary). */
async function serveSingle(config: FoyerConfig, cwd: string): Promise<number> {
  const log = createServerLogger(config.logLevel ?? 'info', config.logFormat ?? 'auto');
  installCrashGuard(log);
  const observe = new ServingObservability(config, log, { stdoutIsTty: process.stdout.isTTY === true });
  appFile(config, cwd);
  warnIfRoot(config, log);
  const services = await startPrimaryServices(config, log);
  const phpFpm = await spawnPhp(config, SPAWNED_PHP_CHILDREN, log);
  const server = await startServer(config, {
    cwd,
    log,
    fd: inheritedListenFd(),
    php: phpFpm === undefined ? undefined : { upstream: phpFpm.upstream, connections: phpFpm.children },
    observe,
  }).catch(async (err: unknown) => {
    await phpFpm?.stop();
    await services.close();
    throw err;
  });
  const removePid = config.pidFile === undefined ? undefined : writePidFile(resolve(cwd, config.pidFile));
  // Signal handlers first: a signal sent as soon as the ready line is read must find them.
  const offSignals = onReloadSignals(log, undefined);
  const stopped = untilShutdown({
    graceful: (signal) => {
      const deadlineMs = shutdownTimeoutOf(config);
      log.info({ signal, deadlineMs }, 'closing: finishing in-flight requests');
      observe.draining();
      return server
        .close(deadlineMs)
        .catch((err: unknown) => log.error({ err }, 'close failed'))
        .then(() => phpFpm?.stop())
        .then(() => services.close())
        .then(() => observe.close());
    },
    // A second signal means "now": skip the graceful wait.
    immediate: () => {
      removePid?.();
      process.exit(EXIT_INTERRUPTED);
    },
  });
  process.stdout.write(`foyer listening on ${server.server.url}\n`);
  await observe
    .started(server.server, { root: config.root, app: config.app, php: config.php, workers: 1 })
    .catch(async (err: unknown) => {
      await server.close(0);
      await phpFpm?.stop();
      await services.close();
      throw err;
    });
  await stopped;
  offSignals();
  removePid?.();
  log.flush?.();
  return 0;
}

/** A worker forked by the primary: the same settings, privileges dropped before the app loads. */
async function serveWorker(config: FoyerConfig, cwd: string): Promise<number> {
  const log = createServerLogger(config.logLevel ?? 'info', config.logFormat ?? 'auto');
  const observe = new ServingObservability(config, log, {
    worker: cluster.worker?.id ?? 0,
    stdoutIsTty: process.stdout.isTTY === true,
  });
  // Logged, and the worker goes on serving: replacing it for every stray rejection would drop its connections.
  installCrashGuard(log);
  const env = process.env;
  const php =
    env.FOYER_PHP_UPSTREAM === undefined
      ? undefined
      : { upstream: env.FOYER_PHP_UPSTREAM, connections: Number(env.FOYER_PHP_CONNECTIONS) || 1 };
  const user = config.user;
  const server = await startServer(config, {
    cwd,
    log,
    php,
    fd: env.FOYER_LISTEN_FD === undefined ? undefined : Number(env.FOYER_LISTEN_FD),
    beforeApp: user === undefined ? undefined : () => dropPrivileges({ user, group: config.group }),
    wrap: (fetch) => countingFetch(fetch, config),
    observe,
  });
  await observe.started(server.server, {});
  runWorker(server, server.server.url, {
    maxRequests: config.maxRequests,
    maxMemory: config.maxMemory,
    shutdownTimeout: shutdownTimeoutOf(config),
    log,
  });
  // The worker lives until the primary retires it (runWorker exits the process).
  return new Promise<number>(() => {});
}

/** The primary: binds through node:cluster, supervises the workers, runs no application code. */
async function servePrimary(config: FoyerConfig, argv: string[], cwd: string): Promise<number> {
  const log = createServerLogger(config.logLevel ?? 'info', config.logFormat ?? 'auto');
  appFile(config, cwd);
  if (config.user !== undefined) {
    const problem = checkIdentity({ user: config.user, group: config.group });
    if (problem !== undefined) throw new UsageError(problem);
  } else warnIfRoot(config, log);
  const workers = workerCount(config);
  const fd = inheritedListenFd();
  const services = await startPrimaryServices(config, log);
  // The admin listener and SIGUSR1 live in the primary, over the workers' summed figures.
  const observe = new PrimaryObservability(config, log, () => ({
    live: workerSnapshot().filter((w) => w.state !== 'starting').length,
    restarts: workerRestarts(),
  }));
  let phpFpm: PhpFpmProcess | undefined;
  try {
    await observe.start();
    phpFpm = await spawnPhp(config, PHP_CONNECTIONS_PER_WORKER * 2 * workers, log);
  } catch (err) {
    await observe.close();
    await services.close();
    throw err;
  }
  let current = workers;
  const planOf = (c: FoyerConfig) => ({
    workers: workerCount(c),
    shutdownTimeout: shutdownTimeoutOf(c),
  });
  return runPrimary({
    log,
    plan: planOf(config),
    // Measured on this project's bench (npm run bench -- workers): the shared socket costs 20-30% less
    // CPU per connection than node:cluster's round-robin, whose primary accepts and passes every one.
    balance: config.balance ?? 'shared',
    env: () => {
      const env: Record<string, string> = {};
      if (phpFpm !== undefined) {
        env.FOYER_PHP_UPSTREAM = phpFpm.upstream;
        // Old and new workers overlap during a reload: together they stay within php-fpm's children.
        env.FOYER_PHP_CONNECTIONS = String(Math.max(1, Math.floor(phpFpm.children / (2 * current))));
      }
      if (fd !== undefined) env.FOYER_LISTEN_FD = String(fd);
      return env;
    },
    reread: async () => {
      const next = await resolveSettings(argv, cwd, true);
      if (next === 'help') throw new Error('unexpected --help');
      if (next.root !== undefined) next.root = resolve(cwd, next.root);
      appFile(next, cwd);
      const plan = planOf(next);
      current = plan.workers;
      return plan;
    },
    pidFile: config.pidFile === undefined ? undefined : resolve(cwd, config.pidFile),
    watch: watchedPaths(config, cwd),
    onReady: (url) => {
      process.stdout.write(`foyer listening on ${url}\n`);
      const summary = { root: config.root, app: config.app, php: config.php, workers, pid: process.pid };
      observe.ready(url, summary, process.stdout.isTTY === true);
    },
    onStopped: async () => {
      observe.draining();
      await phpFpm?.stop();
      await observe.close();
      await services.close();
      log.flush?.();
    },
  });
}

async function serveCommand(argv: string[]): Promise<number> {
  const cwd = process.cwd();
  const config = await resolveSettings(argv, cwd);
  if (config === 'help') {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  if (config.root !== undefined) config.root = resolve(cwd, config.root);
  if (cluster.isWorker) return serveWorker(config, cwd);
  if (needsPrimary(config)) return servePrimary(config, argv, cwd);
  return serveSingle(config, cwd);
}

/** `foyer reload [--pid-file F]`: SIGHUP to the running primary. */
async function reloadCommand(argv: string[]): Promise<number> {
  let values: { 'pid-file'?: string; config?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'pid-file': { type: 'string' }, config: { type: 'string', short: 'c' } },
      strict: true,
    }));
  } catch (err) {
    throw explainParseError(err as Error);
  }
  const cwd = process.cwd();
  let file = values['pid-file'];
  if (file === undefined) {
    const configFile = values.config ?? findConfig(cwd);
    file = configFile === undefined ? undefined : (await loadConfig(resolve(cwd, configFile))).pidFile;
  }
  if (file === undefined) throw new UsageError('foyer reload needs --pid-file FILE (or pidFile in the configuration)');
  try {
    const pid = signalReload(resolve(cwd, file));
    process.stdout.write(`foyer: reload signalled to process ${pid}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`foyer: ${(err as Error).message}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest);
      case 'reload':
        return await reloadCommand(rest);
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
        const guess = closest(command, ['serve', 'reload', 'help', 'version']);
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}${guess ? ` (did you mean "${guess}"?)` : ''}; see foyer --help`,
        );
      }
    }
  } catch (err) {
    // A bad flag, configuration file or handler option (checked at construction: a missing static
    // root, a bad php address): one coded error class, one exit code.
    if (isConfigError(err)) {
      process.stderr.write(`foyer: ${err.message}\n`);
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

// The server's own process only (see jit-tuning.ts); the other commands exit at once.
if (process.argv[2] === 'serve') tuneJit();
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Listening sockets are closed by now; anything left (a stray timer in a user app) must not keep
  // a stopped server alive.
  if (code !== 0 || process.argv[2] === 'serve') setImmediate(() => process.exit(code));
});
