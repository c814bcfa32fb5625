// The routed JSON API (see bench/scenarios/routes.ts) as a Foyer App: 10 routes with
// parameters and a middleware that sets a header on the way out.
import { App, json } from '../../src/index.ts';
import { serve } from '../../src/server.ts';
import { port, ready } from './ready.ts';

const app = new App()
  .use(async (_req, _ctx, next) => {
    const res = await next();
    res.headers.set('x-bench', 'routes');
    return res;
  })
  .get('/api/health', () => json({ ok: true }))
  .get('/api/users', () => json([{ id: '1' }, { id: '2' }]))
  .post('/api/users', () => json({ id: '3' }, 201))
  .get('/api/users/:id', (_req, ctx) => json({ id: ctx.params.id }))
  .put('/api/users/:id', (_req, ctx) => json({ id: ctx.params.id, updated: true }))
  .delete('/api/users/:id', () => new Response(null, { status: 204 }))
  .get('/api/users/:id/posts', (_req, ctx) => json({ userId: ctx.params.id, posts: [] }))
  .get('/api/users/:id/posts/:postId', (_req, ctx) => json({ userId: ctx.params.id, postId: ctx.params.postId }))
  .get('/api/products/:sku', (_req, ctx) => json({ sku: ctx.params.sku }))
  .get('/api/orders/:orderId/items/:itemId', (_req, ctx) =>
    json({ orderId: ctx.params.orderId, itemId: ctx.params.itemId }),
  );

const server = await serve({ port, host: '127.0.0.1', fetch: app.fetch, logLevel: 'silent' });
ready(server.address.port);
process.once('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
