// @fastify/static serving $STATIC_ROOT with its defaults (bench/scenarios/static.ts).
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import { port, ready } from './ready.ts';

const app = Fastify({ logger: false });
await app.register(fastifyStatic, { root: process.env.STATIC_ROOT! });
await app.listen({ port, host: '127.0.0.1' });
const addr = app.server.address();
ready(typeof addr === 'object' && addr ? addr.port : port);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
