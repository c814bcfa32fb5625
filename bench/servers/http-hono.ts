// A Hono app on @hono/node-server, the usual way to run a fetch-style app on node:http.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { jsonBody, PLAINTEXT, port, ready } from './ready.ts';

const app = new Hono();
app.get('/plaintext', (c) => c.text(PLAINTEXT));
app.get('/json', (c) => c.json(jsonBody()));
const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => ready(info.port));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
