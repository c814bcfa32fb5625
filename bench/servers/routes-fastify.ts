// The routed JSON API (see bench/scenarios/routes.ts) in Fastify, as its documentation shows:
// an onRequest hook sets the header, handlers return objects that Fastify serialises.
import Fastify from 'fastify';
import { port, ready } from './ready.ts';

type P = { Params: Record<string, string> };
const app = Fastify({ logger: false, keepAliveTimeout: 30_000 });
app.addHook('onRequest', (_req, reply, done) => {
  reply.header('x-bench', 'routes');
  done();
});
app.get('/api/health', async () => ({ ok: true }));
app.get('/api/users', async () => [{ id: '1' }, { id: '2' }]);
app.post('/api/users', async (_req, reply) => reply.code(201).send({ id: '3' }));
app.get<P>('/api/users/:id', async (req) => ({ id: req.params.id }));
app.put<P>('/api/users/:id', async (req) => ({ id: req.params.id, updated: true }));
app.delete<P>('/api/users/:id', async (_req, reply) => reply.code(204).send());
app.get<P>('/api/users/:id/posts', async (req) => ({ userId: req.params.id, posts: [] }));
app.get<P>('/api/users/:id/posts/:postId', async (req) => ({ userId: req.params.id, postId: req.params.postId }));
app.get<P>('/api/products/:sku', async (req) => ({ sku: req.params.sku }));
app.get<P>('/api/orders/:orderId/items/:itemId', async (req) => ({
  orderId: req.params.orderId,
  itemId: req.params.itemId,
}));
await app.listen({ port, host: '127.0.0.1' });
const addr = app.server.address();
ready(typeof addr === 'object' && addr ? addr.port : port);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
