// The same fetch app on @hono/node-server, the usual adapter for fetch apps on node:http.
import { serve } from '@hono/node-server';
import app from '../fixtures/app/app.mjs';
import { port, ready } from './ready.ts';

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => ready(info.port));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
