// Offload and task workers: the public surface (re-exported by src/index.ts).
export { offload } from './offload.ts';
export type { OffloadMiddleware, OffloadOptions } from './offload.ts';
export type { PoolOptions } from './thread-pool.ts';
export { taskQueue } from './task-queue.ts';
export type { FinishListener, TaskFailure, TaskQueue, TaskQueueOptions } from './task-types.ts';
export { events } from './events.ts';
export type { Events, EventsOptions, Listener } from './events.ts';
