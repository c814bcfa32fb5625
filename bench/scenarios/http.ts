// The engine itself: plaintext and JSON, keep-alive and 16-deep pipelining, Foyer against node:http,
// Fastify and Hono on @hono/node-server. Targets come from the engine's issue.
import { nodeServer } from '../lib/child-server.ts';
import type { BenchServer, Scenario } from '../lib/types.ts';

const entry = (name: string) => new URL(`../servers/${name}.ts`, import.meta.url);
const servers: BenchServer[] = [
  { label: 'foyer', start: () => nodeServer(entry('http-foyer')) },
  { label: 'node:http', start: () => nodeServer(entry('http-node')) },
  { label: 'fastify', start: () => nodeServer(entry('http-fastify')) },
  { label: 'hono', start: () => nodeServer(entry('http-hono')) },
  // The Hono app above, on Foyer: shows what a fetch app gains from the server alone.
  { label: 'hono on foyer', start: () => nodeServer(entry('http-foyer-hono')) },
];

// The goals: ≥ 1.3× node:http and ≥ 1.5× Fastify on keep-alive plaintext, ≥ 5× node:http
// pipelined, and p99 no worse.
const keepAliveTargets = [
  { peer: 'node:http', min: 1.3, maxP99Ratio: 1 },
  { peer: 'fastify', min: 1.5, maxP99Ratio: 1 },
];
const pipelinedTargets = [{ peer: 'node:http', min: 5, maxP99Ratio: 1 }];

export const scenarios: Scenario[] = [
  {
    name: 'plaintext',
    description: 'GET /plaintext, keep-alive',
    path: '/plaintext',
    servers,
    targets: keepAliveTargets,
  },
  {
    name: 'plaintext-pipelined',
    description: 'GET /plaintext, 16-deep pipelining',
    path: '/plaintext',
    pipelining: 16,
    servers,
    targets: pipelinedTargets,
  },
  {
    name: 'json',
    description: 'GET /json, keep-alive',
    path: '/json',
    servers,
  },
  {
    name: 'json-pipelined',
    description: 'GET /json, 16-deep pipelining',
    path: '/json',
    pipelining: 16,
    servers,
  },
];
