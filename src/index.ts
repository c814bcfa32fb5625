// The public API. Nothing else is public.
export type { AttributeKey, Context, FetchApp, Handler, Middleware, Next, MaybePromise } from './types.ts';
export { attribute } from './types.ts';
export { HttpError, FoyerError, errors, statusText } from './util/errors.ts';
export type { ErrorCode } from './util/errors.ts';
export { FoyerConfigError, isHttpError } from './util/errors.ts';
export type { ConfigErrorCode } from './util/errors.ts';
export { createContext } from './reception/context.ts';
export type { Limits } from './reception/limits.ts';
export { defaultLimits } from './reception/limits.ts';
export type { ServeOptions, Server, TlsOptions } from './server.ts';
export type { UpgradeHandler } from './reception/connection.ts';
export { serve } from './server.ts';
export { rawTarget } from './reception/incoming-request.ts';
export { createLogger } from './log/logger.ts';
export type { Logger, LogLevel } from './log/logger.ts';
export * from './handlers/app/index.ts';
export { defineConfig } from './config/index.ts';
export type { FoyerConfig } from './config/index.ts';
export { staticFiles, nodeFs } from './handlers/static/index.ts';
export type {
  CacheControlRule,
  DirEntry,
  FileStat,
  OpenFile,
  StaticFs,
  StaticMiddleware,
  StaticOptions,
} from './handlers/static/index.ts';
export { fastcgi, parseUpstream, spawnPhpFpm, findPhpFpm } from './handlers/fastcgi/index.ts';
export type {
  FastCgiMiddleware,
  FastCgiOptions,
  PhpFpmOptions,
  PhpFpmProcess,
  SocketFactory,
  Upstream,
} from './handlers/fastcgi/index.ts';
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
