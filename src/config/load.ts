// Finding, loading and checking the configuration file. TypeScript configs are loaded with tsx's
// ESM API (a runtime dependency), so `foyer.config.ts` works under plain `node dist/cli.js`.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FoyerConfigError } from '../util/errors.ts';
import { configSpec, type FoyerConfig } from './schema.ts';
import { check, isPlainObject } from './validate.ts';

export const CONFIG_NAMES = ['foyer.config.ts', 'foyer.config.mjs', 'foyer.config.js', 'foyer.config.json'] as const;

/** A configuration problem: the CLI prints `problems` one per line and exits with code 2. */
export class ConfigError extends FoyerConfigError {
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super('FOYER_BAD_CONFIG', `invalid configuration in ${file}:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/** The first `foyer.config.*` in `dir`, or undefined. */
export function findConfig(dir: string): string | undefined {
  for (const name of CONFIG_NAMES) {
    const p = resolve(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

let tsxRegistered = false;
let generation = 0;

/**
 * Imports a TypeScript or JavaScript module, TypeScript through tsx. Built Foyer registers tsx's
 * hooks for the whole process once, ESM and CommonJS: a .ts file in a CommonJS package (what
 * `npm init` makes) is compiled to CommonJS, and its `require('foyer')` must then reach this running
 * copy through Node's own require(esm). tsx's isolated tsImport() would instead transform Foyer's
 * ES modules into a second copy (two engines, two loggers; pino breaks outright). Under tsx (the
 * tests, `--source` benchmarks) the hooks are already on. `fresh`: bypass the ES module cache (a
 * reload reads the file again).
 */
export async function importModule(file: string, fresh = false): Promise<Record<string, unknown>> {
  let url = pathToFileURL(resolve(file)).href;
  const ext = extname(file);
  const self = extname(fileURLToPath(import.meta.url));
  if (!tsxRegistered && self === '.js' && (ext === '.ts' || ext === '.mts' || ext === '.cts' || ext === '.tsx')) {
    tsxRegistered = true;
    (await import('tsx/esm/api')).register();
    (await import('tsx/cjs/api')).register();
  }
  if (fresh) url += `?reload=${++generation}`;
  return (await import(url)) as Record<string, unknown>;
}

/**
 * The default export of a loaded module. A .ts file outside an ES-module package is compiled as
 * CommonJS by tsx, and then arrives wrapped once more (`{ default: { default: value } }`).
 */
export function defaultExport(mod: Record<string, unknown>): unknown {
  const value = mod.default;
  if (value !== null && typeof value === 'object' && 'default' in value) {
    const inner = value as Record<string, unknown>;
    if (inner.__esModule === true || Object.keys(inner).every((k) => k === 'default' || k === '__esModule')) {
      return inner.default;
    }
  }
  return value;
}

/** Loads and validates a config file; throws ConfigError with every problem found. */
export async function loadConfig(file: string, fresh = false): Promise<FoyerConfig> {
  const ext = extname(file);
  if (!CONFIG_NAMES.some((n) => n.endsWith(ext)) && ext !== '.mts' && ext !== '.cjs') {
    throw new ConfigError(file, [`unsupported config file type "${ext}"; use .ts, .mjs, .js or .json`]);
  }
  let value: unknown;
  try {
    if (ext === '.json') {
      value = JSON.parse(await readFile(file, 'utf8'));
    } else {
      value = defaultExport(await importModule(file, fresh));
      if (typeof value === 'function') value = await (value as () => unknown)();
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError(file, [`could not load: ${reason}`]);
  }
  return validateConfig(value, file);
}

export function validateConfig(value: unknown, source = 'configuration'): FoyerConfig {
  if (!isPlainObject(value)) {
    throw new ConfigError(source, ['expected the default export to be an object (use defineConfig({ ... }))']);
  }
  const problems = check(value, configSpec, '');
  const c = value as FoyerConfig;
  const closeTimeout = c.limits?.closeTimeout;
  if (
    problems.length === 0 &&
    c.shutdownTimeout !== undefined &&
    closeTimeout !== undefined &&
    c.shutdownTimeout !== closeTimeout
  ) {
    problems.push(
      `shutdownTimeout (${c.shutdownTimeout}) and limits.closeTimeout (${closeTimeout}) name one deadline: set one of them`,
    );
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return c;
}
