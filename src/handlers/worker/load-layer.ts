// Loads an offloaded module inside a worker thread, once per thread: TypeScript through tsx as
// `--app` does, JavaScript with import(). The cache holds modules, never request state.
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultExport, importModule } from '../../config/load.ts';
import type { Middleware } from '../../types.ts';
import { isMountable } from '../app/mount.ts';

const TS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/**
 * TypeScript through tsx's isolated tsImport() in a worker thread: the loader hooks a process
 * registers (`--import tsx`, or importModule's register()) do not reach worker threads on Node 20,
 * so the main thread's way of loading `--app` fails here. JavaScript is imported as usual.
 */
async function importInThread(file: string): Promise<Record<string, unknown>> {
  if (!TS.has(extname(file))) return importModule(file);
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
}

const loaded = new Map<string, Promise<Record<string, unknown>>>();

/** The module at `moduleUrl` (a file: URL), imported once per thread. A failed import is retried next time. */
export function loadModule(moduleUrl: string): Promise<Record<string, unknown>> {
  let mod = loaded.get(moduleUrl);
  if (mod === undefined) {
    mod = importInThread(fileURLToPath(moduleUrl));
    loaded.set(moduleUrl, mod);
    mod.catch(() => loaded.delete(moduleUrl));
  }
  return mod;
}

/**
 * The layer an offload module default-exports: a middleware, a Foyer App (its `handle` keeps
 * `next()`), or anything with `fetch` (a Hono app; it answers every request itself).
 */
export async function loadLayer(moduleUrl: string): Promise<Middleware> {
  const exported = defaultExport(await loadModule(moduleUrl));
  if (typeof exported === 'function') return exported as Middleware;
  if (exported !== null && typeof exported === 'object') {
    const obj = exported as { fetch?: (req: Request, ctx: unknown) => Response };
    if (isMountable(obj)) return obj.handle.bind(obj);
    if (typeof obj.fetch === 'function')
      return (req, ctx) => (obj.fetch as (r: Request, c: unknown) => Response)(req, ctx);
  }
  throw new TypeError(`${moduleUrl} must default-export a middleware (req, ctx, next) => Response`);
}
