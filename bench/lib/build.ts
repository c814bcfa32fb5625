// Compiles Foyer once per bench run, as `npm run build` does, into a cache folder inside
// node_modules (so that the output resolves the same dependencies and is never committed).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './child-server.ts';

export const buildDir = join(repoRoot, 'node_modules/.cache/foyer-bench/dist');

/** Returns the path of the compiled index.js. */
export async function buildFoyer(): Promise<string> {
  rmSync(buildDir, { recursive: true, force: true });
  const tsc = createRequire(join(repoRoot, 'package.json')).resolve('typescript/bin/tsc');
  const args = [tsc, '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', buildDir, '--declaration', 'false'];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc failed (${code}):\n${out}`))));
  });
  return join(buildDir, 'index.js');
}
