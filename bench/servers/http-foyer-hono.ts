// The same Hono app as http-hono.ts, served by Foyer instead of @hono/node-server: what an
// existing fetch-style app gains by changing only its server.
import { Hono } from 'hono';
import { loadFoyer } from '../lib/foyer.ts';
import { jsonBody, PLAINTEXT, port, ready } from './ready.ts';

const app = new Hono();
app.get('/plaintext', (c) => c.text(PLAINTEXT));
app.get('/json', (c) => c.json(jsonBody()));
const { serve } = await loadFoyer();
const server = await serve({ port, host: '127.0.0.1', fetch: app.fetch, logLevel: 'warn' });
ready(server.address.port);
process.once('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
