// Foyer in front of php-fpm (bench/scenarios/php.ts): $PHP_ROOT through $PHP_UPSTREAM, a pool of
// $PHP_CONNECTIONS keep-alive connections (the php-fpm pool's size).
import { fastcgi } from '../../src/handlers/fastcgi/index.ts';
import { serve } from '../../src/server.ts';
import { port, ready } from './ready.ts';

const php = fastcgi({
  upstream: process.env.PHP_UPSTREAM!,
  root: process.env.PHP_ROOT!,
  maxConnections: Number(process.env.PHP_CONNECTIONS ?? 4),
  keepAlive: process.env.PHP_KEEPALIVE !== '0',
});
const notFound = async () => new Response('not found', { status: 404 });
const server = await serve({
  port,
  host: '127.0.0.1',
  logLevel: 'silent',
  fetch: (req, ctx) => php(req, ctx, notFound),
});
ready(server.address.port);
process.once('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
