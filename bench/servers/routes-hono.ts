// The routed JSON API (see bench/scenarios/routes.ts) in Hono on @hono/node-server, with a
// middleware that sets the header after `next()` as Hono's documentation shows.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { port, ready } from './ready.ts';

const app = new Hono();
app.use(async (c, next) => {
  await next();
  c.header('x-bench', 'routes');
});
app.get('/api/health', (c) => c.json({ ok: true }));
app.get('/api/users', (c) => c.json([{ id: '1' }, { id: '2' }]));
app.post('/api/users', (c) => c.json({ id: '3' }, 201));
app.get('/api/users/:id', (c) => c.json({ id: c.req.param('id') }));
app.put('/api/users/:id', (c) => c.json({ id: c.req.param('id'), updated: true }));
app.delete('/api/users/:id', (c) => c.body(null, 204));
app.get('/api/users/:id/posts', (c) => c.json({ userId: c.req.param('id'), posts: [] }));
app.get('/api/users/:id/posts/:postId', (c) => c.json({ userId: c.req.param('id'), postId: c.req.param('postId') }));
app.get('/api/products/:sku', (c) => c.json({ sku: c.req.param('sku') }));
app.get('/api/orders/:orderId/items/:itemId', (c) =>
  c.json({ orderId: c.req.param('orderId'), itemId: c.req.param('itemId') }),
);
const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => ready(info.port));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
