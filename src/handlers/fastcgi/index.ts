// PHP (or any FastCGI responder) through php-fpm: the public face of the FastCGI gateway, the
// package's `foyer/php` entry (package.json exports).
import type { FastCgiMiddleware } from './gateway.ts';
import { createGateway } from './gateway.ts';
import type { FastCgiOptions } from './options.ts';

export type { Upstream, SocketFactory } from './address.ts';
export { parseUpstream } from './address.ts';
export type { FastCgiMiddleware } from './gateway.ts';
export type { FastCgiOptions } from './options.ts';

/**
 * Runs `.php` files under `root` through php-fpm, serves the other files statically, and sends
 * paths that match nothing to the front controller (`/index.php`), like Caddy's `php_server`.
 *
 * ```ts
 * const php = fastcgi({ upstream: 'unix:/run/php/php8.2-fpm.sock', root: '/srv/app/public' });
 * await serve({ fetch: compose(php, notFound) });
 * ```
 *
 * Size the pool below php-fpm: every kept-alive connection pins one php-fpm child, so
 * `maxConnections` × Foyer processes must not exceed `pm.max_children`.
 *
 * @throws FoyerConfigError FOYER_BAD_CONFIG when `root` does not exist; TypeError for a bad address or option.
 */
export function fastcgi(options: FastCgiOptions): FastCgiMiddleware {
  return createGateway(options);
}

export type { PhpFpmOptions, PhpFpmProcess } from './php-fpm.ts';
export { findPhpFpm, spawnPhpFpm } from './php-fpm.ts';
