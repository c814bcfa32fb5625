// Configuration: `defineConfig` for typed config files, loading and validation for the CLI.
export { defineConfig } from './schema.ts';
export type { FoyerConfig } from './schema.ts';
export { ConfigError, findConfig, loadConfig, validateConfig, CONFIG_NAMES } from './load.ts';
