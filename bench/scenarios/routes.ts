// A routed JSON API: 10 routes with parameters and a middleware that sets a response header,
// the same in Foyer (App), Fastify and Hono. The request hits a two-parameter route so that
// routing, parameter extraction, the middleware and JSON serialisation are all measured.
import { nodeServer } from '../lib/child-server.ts';
import type { BenchServer, Scenario } from '../lib/types.ts';

const entry = (name: string) => new URL(`../servers/${name}.ts`, import.meta.url);
const servers: BenchServer[] = [
  { label: 'foyer', start: () => nodeServer(entry('routes-foyer')) },
  { label: 'fastify', start: () => nodeServer(entry('routes-fastify')) },
  { label: 'hono', start: () => nodeServer(entry('routes-hono')) },
];

export const scenarios: Scenario[] = [
  {
    name: 'routes',
    description: 'GET /api/users/:id/posts/:postId among 10 routes, header middleware, keep-alive',
    path: '/api/users/42/posts/7',
    servers,
    targets: [{ peer: 'fastify', min: 1.3 }],
  },
  {
    name: 'routes-pipelined',
    description: 'GET /api/users/:id/posts/:postId among 10 routes, header middleware, 16-deep pipelining',
    path: '/api/users/42/posts/7',
    pipelining: 16,
    servers,
  },
];
