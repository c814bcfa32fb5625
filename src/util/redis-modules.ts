// ioredis and BullMQ are loaded when Redis is first used (a `--redis` store, a Redis task queue),
// not when Foyer is imported: the two were most of Foyer's import time (about 1 s of 1.1 s on a
// busy 2-core machine) and about 40 MB of memory, paid by every worker process that never talks to
// Redis. Both are CommonJS packages, so a synchronous require keeps their callers' constructors
// synchronous.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export const ioredis = (): typeof import('ioredis') => load('ioredis') as typeof import('ioredis');
export const bullmq = (): typeof import('bullmq') => load('bullmq') as typeof import('bullmq');
