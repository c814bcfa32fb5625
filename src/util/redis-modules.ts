// ioredis and BullMQ are loaded when Redis is first used (a `--redis` store, a Redis task queue),
// not when Foyer is imported: the two were most of Foyer's import time (about 1 s of 1.1 s on a
// busy 2-core machine) and about 40 MB of memory, paid by every worker process that never talks to
// Redis. Both are CommonJS packages, so a synchronous require keeps their callers' constructors
// synchronous.
import { createRequire } from 'node:module';

// Made on first use, not at import: in a CommonJS bundle `import.meta.url` is empty, and a require
// made at import would stop Foyer from loading at all, Redis or not. Bundlers do not follow this
// require: a bundled deployment that uses Redis keeps ioredis and bullmq installed (external).
let load: NodeJS.Require | undefined;
const required = (name: string): unknown => (load ??= createRequire(import.meta.url))(name);

export const ioredis = (): typeof import('ioredis') => required('ioredis') as typeof import('ioredis');
export const bullmq = (): typeof import('bullmq') => required('bullmq') as typeof import('bullmq');
