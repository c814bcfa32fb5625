// The app's logic on Fastify with its defaults: one catch-all route parsing the URL as the fetch app does.
import Fastify from 'fastify';
import { answer } from '../fixtures/app/app.mjs';
import { port, ready } from './ready.ts';

const app = Fastify({ logger: false, keepAliveTimeout: 30_000 });
app.get('/*', (req, reply) => {
  const url = new URL(req.url, `http://${req.host}`);
  const found = answer(url.pathname);
  if (found === undefined) return reply.code(404).type('text/plain;charset=UTF-8').send('not found');
  return reply.type(found.type).send(found.body);
});
await app.listen({ port, host: '127.0.0.1' });
const addr = app.server.address();
ready(typeof addr === 'object' && addr ? addr.port : port);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
