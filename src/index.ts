// The public API, the package's root entry. Nothing else is public but the subpath entries
// package.json exports: foyer/php, foyer/static, foyer/testing.
export type { AttributeKey, Context, FetchApp, Handler, Middleware, Next, MaybePromise } from './types.ts';
export { attribute } from './types.ts';
export { HttpError, FoyerError, errors, statusText } from './util/errors.ts';
export type { ErrorCode } from './util/errors.ts';
export { FoyerConfigError, isHttpError } from './util/errors.ts';
export type { ConfigErrorCode } from './util/errors.ts';
export type { Limits } from './reception/limits.ts';
export type { ServeOptions, Server, TlsOptions } from './server.ts';
export type { UpgradeHandler } from './reception/connection.ts';
export { serve } from './server.ts';
export { rawTarget } from './reception/incoming-request.ts';
export { createLogger } from './log/logger.ts';
export type { Logger, LogLevel } from './log/logger.ts';
export * from './handlers/app/index.ts';
export { defineConfig } from './config/index.ts';
export type { FoyerConfig } from './config/index.ts';
// The file-system seam (nodeFs, StaticFs, …) is in 'foyer/static'; PHP in 'foyer/php'; in-process
// testing in 'foyer/testing' (package.json exports).
export { staticFiles } from './handlers/static/index.ts';
export type { CacheControlRule, StaticMiddleware, StaticOptions } from './handlers/static/index.ts';
export { offload, taskQueue, events } from './handlers/worker/index.ts';
export type {
  Events,
  EventsOptions,
  FinishListener,
  Listener,
  OffloadMiddleware,
  OffloadOptions,
  PoolOptions,
  TaskFailure,
  TaskQueue,
  TaskQueueOptions,
} from './handlers/worker/index.ts';
export * from './access/index.ts';
