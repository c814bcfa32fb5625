// Foyer serving $STATIC_ROOT with staticFiles as the whole application (bench/scenarios/static.ts).
import { staticFiles } from '../../src/handlers/static/index.ts';
import { serve } from '../../src/server.ts';
import { port, ready } from './ready.ts';

const server = await serve({
  port,
  host: '127.0.0.1',
  logLevel: 'silent',
  fetch: staticFiles(process.env.STATIC_ROOT!),
});
ready(server.address.port);
process.once('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
