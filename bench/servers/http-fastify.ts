// Fastify with its defaults (no logger), routes declared as its documentation shows.
import Fastify from 'fastify';
import { jsonBody, PLAINTEXT, port, ready } from './ready.ts';

const app = Fastify({ logger: false, keepAliveTimeout: 30_000 });
app.get('/plaintext', (_req, reply) => {
  reply.type('text/plain').send(PLAINTEXT);
});
app.get('/json', () => jsonBody());
await app.listen({ port, host: '127.0.0.1' });
const addr = app.server.address();
ready(typeof addr === 'object' && addr ? addr.port : port);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
