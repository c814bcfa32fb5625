// Settings → a listening server: what the single process and each worker do. Privileged files (the
// TLS key) are read first, then `beforeApp` runs (a worker drops root there), and only then is the
// application module loaded: app code never runs with privileges it does not need.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { accessLayers } from '../access/from-config.ts';
import type { PhpFpmProcess } from '../handlers/fastcgi/index.ts';
import type { Logger } from '../log/logger.ts';
import { serve, type Server } from '../server.ts';
import type { Handler } from '../types.ts';
import { UsageError } from './flags.ts';
import { buildPipeline, type LoadedApp, loadApp, type PipelineParts } from './pipeline.ts';
import type { FoyerConfig } from './schema.ts';
import type { ServingObservability } from './observability.ts';

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

export interface FastcgiModule {
  fastcgi: NonNullable<PipelineParts['fastcgi']>;
  spawnPhpFpm: (options: {
    children?: number;
    user?: string;
    log?: Logger;
    socketOwner?: { uid: number; gid: number };
  }) => Promise<PhpFpmProcess>;
}

/** The FastCGI gateway is loaded only when --php is used: plain static or app servers never pay for it. */
export async function loadFastcgi(): Promise<FastcgiModule> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return (await import(new URL(`../handlers/fastcgi/index${ext}`, import.meta.url).href)) as FastcgiModule;
}

/** Resolves and checks `--app` (extension, readable) without running it: the primary checks too. */
export function appFile(config: FoyerConfig, cwd: string): string | undefined {
  if (config.app === undefined) return undefined;
  const file = resolve(cwd, config.app);
  if (!/\.(?:ts|mts|js|mjs)$/.test(file))
    throw new UsageError(`--app expects a .ts, .mts, .js or .mjs file, got ${config.app}`);
  try {
    readFileSync(file);
  } catch {
    throw new UsageError(`--app: cannot read ${config.app}`);
  }
  return file;
}

/** What `--watch` watches: the given paths, or the app's folder (else the document root). */
export function watchedPaths(config: FoyerConfig, cwd: string): string[] | undefined {
  if (config.watch === undefined || config.watch === false) return undefined;
  if (Array.isArray(config.watch)) return config.watch.map((p) => resolve(cwd, p));
  const app = appFile(config, cwd);
  if (app !== undefined) return [dirname(app)];
  return config.root === undefined ? [cwd] : [resolve(cwd, config.root)];
}

export interface StartOptions {
  cwd: string;
  log: Logger;
  /** php-fpm address and connections to it, when the caller (or the primary) spawned it. */
  php?: { upstream: string; connections: number };
  /** Listen on an inherited socket (systemd) instead of port and host. */
  fd?: number;
  /** Runs after privileged files are read and before the app is loaded (privilege drop). */
  beforeApp?: () => void;
  /** Wraps the request pipeline (a worker counts requests). */
  wrap?: (fetch: Handler) => Handler;
  /** The access log and metrics of this serving process. */
  observe?: ServingObservability;
}

/** A server and the access layers' resources (a Redis link), closed after it. */
export interface Started {
  server: Server;
  close(timeout?: number, options?: { keepIdle?: boolean }): Promise<void>;
}

/** `config.root` must already be absolute. */
export async function startServer(config: FoyerConfig, o: StartOptions): Promise<Started> {
  const tls = readTls(config, o.cwd);
  const file = appFile(config, o.cwd);
  o.beforeApp?.();
  const app: LoadedApp | undefined = file === undefined ? undefined : await loadApp(file);
  const fcgi = config.php === undefined ? undefined : await loadFastcgi();
  const settings = o.php === undefined ? config : { ...config, php: o.php.upstream };
  const access = accessLayers(config, o.log);
  const fetch = buildPipeline({
    config: settings,
    app,
    fastcgi: fcgi?.fastcgi,
    onLayer: o.observe?.watchLayer,
    phpConnections: o.php?.connections,
    access: access.layers,
  });
  if (app === undefined && config.root === undefined)
    o.log.warn('no root and no --app: every request will be answered 404');
  const server = await serve({
    fetch: o.wrap === undefined ? fetch : o.wrap(fetch),
    port: config.port ?? 8080,
    host: config.host ?? '127.0.0.1',
    fd: o.fd,
    tls,
    limits: config.limits,
    logger: o.log,
    ...o.observe?.serveOptions(),
    trustProxy:
      config.trustProxy === undefined ? undefined : { trust: config.trustProxy, header: config.forwardedHeader },
  }).catch(async (err: unknown) => {
    await access.close();
    throw err;
  });
  return {
    server,
    close: (timeout, options) =>
      server
        .close(timeout, options)
        .catch((err: unknown) => o.log.error({ err }, 'close failed'))
        .then(() => access.close()),
  };
}
