// The offload benchmark's server. MODE=inline runs the heavy work and the trivial middleware on
// the main thread; MODE=offload runs them in worker threads. /cheap is always inline.
import { loadFoyer } from '../lib/foyer.ts';
import { heavy } from './offload-work.ts';
import { port, ready } from './ready.ts';

const { serve, App, offload } = await loadFoyer();
const offloaded = process.env.MODE === 'offload';
const passThrough = (_req: Request, _ctx: unknown, next: () => Promise<Response>) => next();
const heavyLayer = offloaded ? offload(new URL('./offload-heavy.ts', import.meta.url)) : () => new Response(heavy());
const trivialLayer = offloaded ? offload(new URL('./offload-trivial.ts', import.meta.url)) : passThrough;

const app = new App()
  .get('/cheap', () => new Response('cheap'))
  .get('/heavy', heavyLayer)
  .get('/trivial', trivialLayer, () => new Response('trivial'));
const server = await serve({ port, host: '127.0.0.1', logLevel: 'warn', fetch: (req, ctx) => app.fetch(req, ctx) });
ready(server.address.port);
process.once('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
