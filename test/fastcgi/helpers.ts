// Shared by the FastCGI tests: a private php-fpm per test file, the fixture docroot, and a way
// to call the middleware in-process.
import { fileURLToPath } from 'node:url';
import type { FastCgiMiddleware } from '../../src/handlers/fastcgi/index.ts';
import { findPhpFpm, type PhpFpmOptions, type PhpFpmProcess, spawnPhpFpm } from '../../src/handlers/fastcgi/php-fpm.ts';
import type { ContextInit } from '../../src/testing.ts';
import { createContext } from '../../src/testing.ts';
import { isHttpError } from '../../src/util/errors.ts';

export const docroot = fileURLToPath(new URL('../fixtures/php/docroot', import.meta.url));
export const privateDir = fileURLToPath(new URL('../fixtures/php/private', import.meta.url));

export const phpFpmBinary = findPhpFpm();
/** Pass as `{ skip }` to tests that need a real php-fpm. */
export const skipWithoutPhpFpm = phpFpmBinary === undefined ? 'php-fpm not installed (apt-get install php-fpm)' : false;

export function startPhpFpm(options: PhpFpmOptions = {}): Promise<PhpFpmProcess> {
  return spawnPhpFpm({ children: 4, supervise: false, ...options });
}

export interface Answer {
  status: number;
  headers: Headers;
  res: Response | undefined;
  /** The error thrown by the middleware (rendered as a response by the server). */
  error: unknown;
}

/** Calls the middleware like the server would; an HttpError becomes its status. */
export async function call(
  mw: FastCgiMiddleware,
  path: string,
  init: RequestInit & { duplex?: 'half' } = {},
  ctxInit: ContextInit = {},
): Promise<Answer> {
  const req = new Request(`http://localhost${path}`, init);
  const ctx = createContext(ctxInit);
  try {
    const res = await mw(req, ctx, async () => new Response('next', { status: 404, headers: { 'x-next': '1' } }));
    return { status: res.status, headers: res.headers, res, error: undefined };
  } catch (error) {
    if (!isHttpError(error)) throw error;
    return { status: error.status, headers: new Headers(error.headers ?? {}), res: undefined, error };
  }
}

export async function text(a: Answer): Promise<string> {
  return a.res ? await a.res.text() : '';
}

export async function json<T = Record<string, unknown>>(a: Answer): Promise<T> {
  return JSON.parse(await text(a)) as T;
}

/** What the fixture's info.php reports (JSON). */
export type Dump = {
  server: Record<string, string>;
  get: Record<string, unknown>;
  post: Record<string, unknown>;
  cookie: Record<string, string>;
  files: Record<string, { name: string; size: number; error: number; md5: string }>;
  input_md5: string;
  input_length: number;
  php_self: string;
};
