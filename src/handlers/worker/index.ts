// Offload and task workers: the public surface (re-exported by src/index.ts).
export { offload } from './offload.ts';
export type { OffloadMiddleware, OffloadOptions } from './offload.ts';
export type { PoolOptions } from './thread-pool.ts';
