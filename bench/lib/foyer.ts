// Foyer as the bench's server entries load it. By default the harness compiles src/ with tsc
// (what `npm run build` ships and `npm start` runs) and passes the result in FOYER_BENCH_INDEX:
// running the TypeScript sources through tsx instead costs Foyer up to a third of its throughput
// (esbuild's keepNames wraps every closure the hot path creates), which no user of the package pays.
import { pathToFileURL } from 'node:url';
import type * as FoyerIndex from '../../src/index.ts';

export type Foyer = typeof FoyerIndex;

/** The public API of Foyer: the compiled build when the harness made one, the sources otherwise. */
export async function loadFoyer(): Promise<Foyer> {
  const built = process.env.FOYER_BENCH_INDEX;
  return (await import(built ? pathToFileURL(built).href : '../../src/index.ts')) as Foyer;
}
